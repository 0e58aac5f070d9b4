/**
 * Lines the normalizer would only count as ignored, found from their bytes without decoding or parsing them. Claude
 * Code transcripts are mostly such lines: a user's turn (with the tools' output, often kilobytes of file content), a
 * progress or system entry; only `assistant` lines carry usage. `JSON.parse` and the UTF-8 decoding of those lines
 * took most of a transcript's reading time.
 *
 * A line is ignorable when it is one valid JSON object (checked here byte by byte, as strictly as `JSON.parse`) whose
 * top level holds `type`, `sessionId` and `uuid` once each, all three strings, `type` not `assistant`, and no
 * `resourceSpans`: `normalizeDocument` then takes it for a Claude Code entry and counts it as ignored, touching no
 * state. Anything unusual (a top-level key or `type` with an escape, a key twice, bytes outside the grammar, deep
 * nesting) says "not ignorable", and the line takes the usual path, which reports whatever is wrong with it. Pure.
 */

const Q = 34; // "
const BS = 92; // \
const MAX_DEPTH = 512;

/** The top-level keys that matter, as bytes. */
const KEY_TYPE = bytesOf('type');
const KEY_SESSION = bytesOf('sessionId');
const KEY_UUID = bytesOf('uuid');
const KEY_SPANS = bytesOf('resourceSpans');
const ASSISTANT = bytesOf('assistant');

function bytesOf(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** Whether the bytes [s, e) are `want`. */
function same(b: Uint8Array, s: number, e: number, want: Uint8Array): boolean {
  if (e - s !== want.length) return false;
  for (let i = 0; i < want.length; i++) if (b[s + i] !== want[i]) return false;
  return true;
}

/**
 * Whether the line in bytes [from, to) (no newline in it; a CR before its end allowed) is an ignorable Claude Code
 * entry (see above).
 */
export function ignorableClaudeCodeLine(b: Uint8Array, from: number, to: number): boolean {
  const v = new LineCheck(b, to);
  let p = v.ws(from);
  if (p >= to || b[p] !== 123) return false;
  // Most lines that come here are other shapes (OpenTelemetry, batch outputs): a Claude Code entry names its session.
  if (!contains(b, p, to, SESSION_KEY, SESSION_KEY_AT)) return false;
  p = v.object(p, true);
  if (p < 0) return false;
  if (v.ws(p) !== to) return false;
  return v.type === 1 && v.session === 1 && v.uuid === 1 && v.typeIsOther;
}

const SESSION_KEY = bytesOf('"sessionId"');
/** Where SESSION_KEY's rarest byte (the capital I) is in it: the search looks for that byte. */
const SESSION_KEY_AT = 8;

/** Whether the bytes [from, to) hold `lit`, found by its byte at `at` (a rare one: a quote would be found everywhere). */
function contains(b: Uint8Array, from: number, to: number, lit: Uint8Array, at: number): boolean {
  const n = lit.length;
  // Searched within the line only (a byte missing from it is not looked for through the rest of the buffer).
  const line = b.subarray(from, to);
  for (let i = line.indexOf(lit[at], at); i >= 0 && i - at + n <= line.length; i = line.indexOf(lit[at], i + 1)) {
    if (same(line, i - at, i - at + n, lit)) return true;
  }
  return false;
}

class LineCheck {
  /** How many times the top level held each key (each with a string value). */
  type = 0;
  session = 0;
  uuid = 0;
  typeIsOther = false;
  private depth = 0;

  constructor(
    private readonly b: Uint8Array,
    private readonly end: number,
  ) {}

  /** After JSON whitespace (a line holds no newline). */
  ws(p: number): number {
    const b = this.b;
    while (p < this.end) {
      const c = b[p];
      if (c !== 32 && c !== 9 && c !== 13) break;
      p++;
    }
    return p;
  }

  /** The position after the string starting at its quote p, or -1 (a control byte, a bad escape, no end). */
  string(p: number): number {
    const b = this.b;
    const end = this.end;
    p++;
    for (;;) {
      // Runs of plain bytes, then a quote, a backslash or something invalid.
      while (p < end) {
        const c = b[p];
        if (c === Q || c === BS || c < 32) break;
        p++;
      }
      if (p >= end) return -1;
      const c = b[p];
      if (c === Q) return p + 1;
      if (c < 32) return -1;
      // An escape.
      if (p + 1 >= end) return -1;
      const x = b[p + 1];
      if (x === 117 /* u */) {
        if (p + 6 > end) return -1;
        for (let k = 2; k < 6; k++) {
          const h = b[p + k];
          if (!((h >= 48 && h <= 57) || (h >= 65 && h <= 70) || (h >= 97 && h <= 102))) return -1;
        }
        p += 6;
      } else if (x === Q || x === BS || x === 47 || x === 98 || x === 102 || x === 110 || x === 114 || x === 116) p += 2;
      else return -1;
    }
  }

  /** The position after the number at p (JSON's strict grammar), or -1. */
  number(p: number): number {
    const b = this.b;
    const end = this.end;
    if (b[p] === 45) p++;
    if (p >= end) return -1;
    if (b[p] === 48) p++;
    else if (b[p] >= 49 && b[p] <= 57) while (p < end && b[p] >= 48 && b[p] <= 57) p++;
    else return -1;
    if (p < end && b[p] === 46) {
      p++;
      const d = p;
      while (p < end && b[p] >= 48 && b[p] <= 57) p++;
      if (p === d) return -1;
    }
    if (p < end && (b[p] === 101 || b[p] === 69)) {
      p++;
      if (p < end && (b[p] === 43 || b[p] === 45)) p++;
      const d = p;
      while (p < end && b[p] >= 48 && b[p] <= 57) p++;
      if (p === d) return -1;
    }
    return p;
  }

  /** The position after the value at p (whitespace before it skipped by the caller), or -1. */
  value(p: number): number {
    if (p >= this.end) return -1;
    const b = this.b;
    const c = b[p];
    if (c === Q) return this.string(p);
    if (c === 123) return this.object(p, false);
    if (c === 91) return this.array(p);
    if (c === 45 || (c >= 48 && c <= 57)) return this.number(p);
    if (c === 116) return this.word(p, 'true');
    if (c === 102) return this.word(p, 'false');
    if (c === 110) return this.word(p, 'null');
    return -1;
  }

  private word(p: number, w: string): number {
    if (p + w.length > this.end) return -1;
    for (let i = 0; i < w.length; i++) if (this.b[p + i] !== w.charCodeAt(i)) return -1;
    return p + w.length;
  }

  private array(p: number): number {
    if (++this.depth > MAX_DEPTH) return -1;
    p = this.ws(p + 1);
    if (p >= this.end) return -1;
    if (this.b[p] === 93) {
      this.depth--;
      return p + 1;
    }
    for (;;) {
      p = this.value(p);
      if (p < 0) return -1;
      p = this.ws(p);
      if (p >= this.end) return -1;
      const c = this.b[p];
      if (c === 44) p = this.ws(p + 1);
      else if (c === 93) {
        this.depth--;
        return p + 1;
      } else return -1;
    }
  }

  /** The object at p; `top`: the line's own object, whose keys are looked at. */
  object(p: number, top: boolean): number {
    const b = this.b;
    if (++this.depth > MAX_DEPTH) return -1;
    p = this.ws(p + 1);
    if (p >= this.end) return -1;
    if (b[p] === 125) {
      this.depth--;
      return p + 1;
    }
    for (;;) {
      if (p >= this.end || b[p] !== Q) return -1;
      const ks = p + 1;
      const ke = this.string(p);
      if (ke < 0) return -1;
      let key = 0;
      if (top) {
        // A top-level key with an escape might read as one of those that matter once parsed: not judged here.
        for (let i = ks; i < ke - 1; i++) if (b[i] === BS) return -1;
        key = same(b, ks, ke - 1, KEY_TYPE) ? 1 : same(b, ks, ke - 1, KEY_SESSION) ? 2 : same(b, ks, ke - 1, KEY_UUID) ? 3 : same(b, ks, ke - 1, KEY_SPANS) ? 4 : 0;
      }
      if (key === 4) return -1; // an OpenTelemetry batch: read
      p = this.ws(ke);
      if (p >= this.end || b[p] !== 58) return -1;
      p = this.ws(p + 1);
      const vs = p;
      p = this.value(p);
      if (p < 0) return -1;
      if (key !== 0) {
        const isString = b[vs] === Q;
        if (!isString) return -1; // typeof would not be 'string': not a Claude Code entry
        else if (key === 2) {
          if (++this.session > 1) return -1;
        } else if (key === 3) {
          if (++this.uuid > 1) return -1;
        } else {
          if (++this.type > 1) return -1;
          for (let i = vs + 1; i < p - 1; i++) if (b[i] === BS) return -1;
          this.typeIsOther = !same(b, vs + 1, p - 1, ASSISTANT);
          if (!this.typeIsOther) return -1; // an assistant's turn: read (whatever else the line holds)
        }
      }
      p = this.ws(p);
      if (p >= this.end) return -1;
      const c = b[p];
      if (c === 44) p = this.ws(p + 1);
      else if (c === 125) {
        this.depth--;
        return p + 1;
      } else return -1;
    }
  }
}
