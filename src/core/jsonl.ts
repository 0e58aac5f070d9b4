import { ignorableClaudeCodeLine } from './ignorableLine';
import type { Problem } from './types';

/** Where the next read of a trace file starts: a byte offset and the 1-based line number at that offset. */
export interface ReadPosition {
  offset: number;
  line: number;
}

/** One JSON document found in the bytes, with the 1-based line it starts on. */
export interface JsonDocument {
  value: unknown;
  line: number;
}

export interface ScanResult {
  docs: JsonDocument[];
  problems: Problem[];
  /** Lines left unparsed because the normalizer would only count them as ignored (`ScanOptions.skipIgnorable`). */
  ignored: number;
  /** Where the next scan must start: after the last complete document or skipped line. Bytes after it were held back. */
  next: ReadPosition;
}

export interface ScanOptions {
  /** File name used in problems. */
  file: string;
  /**
   * True when the bytes end at the end of a finished file (the CLI): an unterminated last line is then parsed or
   * reported. False while a file is being written (the watcher): an incomplete last line or document is held back
   * until more bytes arrive.
   */
  final: boolean;
  /**
   * Count the lines `normalizeDocument` would only ignore (Claude Code entries other than `assistant`:
   * ignorableClaudeCodeLine) in `ignored` instead of decoding and parsing them. Not with a field mapping (which reads
   * any line first).
   */
  skipIgnorable?: boolean;
}

const NL = 10;
const CR = 13;
const decoder = new TextDecoder('utf-8');

/** True when the document is a JSON object or array (records are objects; OTLP exports or dumps may be arrays). */
function isContainer(v: unknown): boolean {
  return typeof v === 'object' && v !== null;
}

/** How many bytes at the start of a file `notTextReason` looks at. */
export const TEXT_SNIFF_BYTES = 8192;

const startsWith = (b: Uint8Array, sig: readonly number[]): boolean => b.length >= sig.length && sig.every((x, i) => b[i] === x);
const hex = (sig: readonly number[]): string => sig.map((x) => x.toString(16).toUpperCase().padStart(2, '0')).join(' ');

/** Byte order marks of text that is not UTF-8 (the longer UTF-32 marks first: FF FE 00 00 begins with FF FE). */
const OTHER_BOMS: [readonly number[], string][] = [
  [[0xff, 0xfe, 0x00, 0x00], 'UTF-32'],
  [[0x00, 0x00, 0xfe, 0xff], 'UTF-32'],
  [[0xff, 0xfe], 'UTF-16'],
  [[0xfe, 0xff], 'UTF-16'],
];

const COMPRESSED: [readonly number[], string][] = [
  [[0x1f, 0x8b], 'gzip'],
  [[0x50, 0x4b, 0x03, 0x04], 'zip'],
  [[0x50, 0x4b, 0x05, 0x06], 'zip'],
  [[0x28, 0xb5, 0x2f, 0xfd], 'zstd'],
  [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 'xz'],
  [[0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], '7z'],
  [[0x52, 0x61, 0x72, 0x21, 0x1a, 0x07], 'rar'],
];

const ascii = (t: string) => Array.from(t, (c) => c.charCodeAt(0));

/**
 * Binary formats told by their magic bytes (a trace file is sometimes picked by a too-wide glob): those with no NUL in
 * their first line would otherwise give a "Not JSON" line for every line of the file.
 */
const BINARY: [readonly number[], string][] = [
  [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG image'],
  [[0xff, 0xd8, 0xff], 'a JPEG image'],
  [ascii('GIF87a'), 'a GIF image'],
  [ascii('GIF89a'), 'a GIF image'],
  [ascii('%PDF-'), 'a PDF document'],
  [[0x7f, 0x45, 0x4c, 0x46], 'an ELF executable'],
  [[0xcf, 0xfa, 0xed, 0xfe], 'a Mach-O executable'],
  [[0xce, 0xfa, 0xed, 0xfe], 'a Mach-O executable'],
  [[0xca, 0xfe, 0xba, 0xbe], 'a Mach-O or Java class file'],
  [ascii('MZ'), 'a Windows executable'],
  [ascii('PAR1'), 'a Parquet file'],
  [ascii('ARROW1'), 'an Arrow file'],
  [[0x4f, 0x62, 0x6a, 0x01], 'an Avro file'],
  [ascii('SQLite format 3\u0000'), 'an SQLite database'],
  [[0x00, 0x61, 0x73, 0x6d], 'a WebAssembly module'],
];

/** bzip2: "BZh", a block size digit, then the magic of a block or of the end of the stream. */
function isBzip2(b: Uint8Array): boolean {
  if (b.length < 10 || !startsWith(b, [0x42, 0x5a, 0x68]) || b[3] < 0x31 || b[3] > 0x39) return false;
  const rest = b.subarray(4, 10);
  return startsWith(rest, [0x31, 0x41, 0x59, 0x26, 0x53, 0x59]) || startsWith(rest, [0x17, 0x72, 0x45, 0x38, 0x50, 0x90]);
}

/** True when `head` looks like UTF-16 text without a byte order mark: ASCII with a NUL byte beside each character. */
function looksLikeBomlessUtf16(head: Uint8Array, nulFirst: boolean): boolean {
  const n = Math.min(head.length, 16) & ~1;
  if (n < 4) return false;
  for (let i = 0; i < n; i += 2) {
    const [zero, ch] = nulFirst ? [head[i], head[i + 1]] : [head[i + 1], head[i]];
    if (zero !== 0 || ch === 0 || ch > 0x7e) return false;
  }
  return true;
}

/**
 * Why the first bytes of a file (up to TEXT_SNIFF_BYTES of them) show it is not UTF-8 text, so not a trace file to
 * read line by line; undefined when they may be. UTF-16/UTF-32 text is told by its byte order mark (or, without one,
 * by a NUL beside each ASCII character), compressed files and common binary formats (images, PDF, executables,
 * Parquet, SQLite...) by their magic bytes, other binary data by a NUL byte in the
 * first line: JSON text never holds a raw NUL (control characters must be escaped in strings and are not allowed outside them). A UTF-8
 * byte order mark is fine (the scanner skips it).
 */
export function notTextReason(head: Uint8Array): string | undefined {
  const b = head.subarray(0, TEXT_SNIFF_BYTES);
  for (const [sig, enc] of OTHER_BOMS) {
    if (startsWith(b, sig)) return `${enc} text (byte order mark ${hex(sig)}): save it as UTF-8; not read`;
  }
  const compressed = (kind: string, sig: readonly number[]) => `Not a text file: looks compressed (${kind}, magic bytes ${hex(sig)}); decompress it first; not read`;
  for (const [sig, kind] of COMPRESSED) if (startsWith(b, sig)) return compressed(kind, sig);
  if (isBzip2(b)) return compressed('bzip2', [...b.subarray(0, 4)]);
  for (const [sig, what] of BINARY) if (startsWith(b, sig)) return `Not a text file: looks like ${what} (magic bytes ${hex(sig)}); not read`;
  // NULs are looked for in the first line only: its bytes are the same however the file is read (whole, or as it grows:
  // the reader only moves past offset 0 once the first line is complete). A NUL further on (a crash can leave a run of
  // them in a log that then goes on) is that line's problem, not the file's.
  const nl = b.indexOf(10);
  const first = nl >= 0 ? b.subarray(0, nl) : b;
  const nul = first.indexOf(0);
  if (nul < 0) return undefined;
  if (looksLikeBomlessUtf16(b, false)) return 'UTF-16 text (little-endian, no byte order mark): save it as UTF-8; not read';
  if (looksLikeBomlessUtf16(b, true)) return 'UTF-16 text (big-endian, no byte order mark): save it as UTF-8; not read';
  return `Not a text file (binary data — a NUL byte at offset ${nul}); not read`;
}

/** Tracks bracket depth across lines, aware of strings and escapes. */
class DepthScanner {
  depth = 0;
  private inString = false;
  private escaped = false;

  feed(text: string): void {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 92 /* \ */) this.escaped = true;
        else if (c === 34 /* " */) this.inString = false;
      } else if (c === 34) this.inString = true;
      else if (c === 123 /* { */ || c === 91 /* [ */) this.depth++;
      else if (c === 125 /* } */ || c === 93 /* ] */) this.depth--;
    }
  }
}

/**
 * A JSON.parse error in words for the Problems panel, at most 160 characters. With `lead` (the spaces before a line's
 * trimmed text, which is what was parsed), V8's position becomes the column of the file's line, from 1.
 */
export function describeJsonError(err: unknown, lead?: number): string {
  let msg = err instanceof Error ? err.message : String(err);
  // V8 counts from the trimmed text and (Node 22 on) adds "(line 1 column N)": a line 1 that is not the file's.
  if (lead !== undefined) msg = msg.replace(/\bat position (\d+)(?: \(line \d+ column \d+\))?/, (_, p: string) => `at column ${Number(p) + lead + 1}`);
  // Keep messages short: V8 may quote a long excerpt of the input.
  return msg.length > 160 ? msg.slice(0, 157) + '...' : msg;
}

/**
 * Finds the JSON documents in `bytes`, which hold a trace file's content from `start.offset` on.
 * Reads JSON Lines (one document per line, CRLF or LF, blank lines ignored, a UTF-8 BOM at offset 0 skipped) and
 * also pretty-printed documents written one after another over many lines (a document starting on a line that
 * holds only `{` or `[`). Invalid UTF-8 decodes to U+FFFD and does not stop the scan.
 * Never throws on bad data: each line that is not a JSON object is reported as a problem and skipped.
 */
export function scanJsonDocuments(bytes: Uint8Array, start: ReadPosition, opts: ScanOptions): ScanResult {
  const docs: JsonDocument[] = [];
  const problems: Problem[] = [];
  const len = bytes.length;
  let pos = 0;
  let line = start.line;
  if (start.offset === 0 && len >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) pos = 3;

  const problem = (atLine: number, message: string) =>
    problems.push({ file: opts.file, line: atLine, message, severity: 'error' });
  const lineText = (from: number, to: number): string => {
    let end = to;
    if (end > from && bytes[end - 1] === CR) end--;
    return decoder.decode(bytes.subarray(from, end));
  };

  let ignored = 0;
  scan: while (pos < len) {
    const nl = bytes.indexOf(NL, pos);
    const lineEnd = nl === -1 ? len : nl;
    if (opts.skipIgnorable && ignorableClaudeCodeLine(bytes, pos, lineEnd)) {
      // A whole object (so not a half-written last line either): as the normalizer would, counted and passed over.
      ignored++;
      pos = nl === -1 ? len : nl + 1;
      if (nl === -1) break;
      line++;
      continue;
    }
    const text = lineText(pos, lineEnd);
    const trimmed = text.trim();

    if (trimmed === '') {
      if (nl === -1) {
        if (!opts.final) break; // trailing spaces of a line still being written
        pos = len;
        break;
      }
      pos = nl + 1;
      line++;
      continue;
    }

    if (trimmed === '{' || trimmed === '[') {
      // A pretty-printed document: gather lines until the brackets balance.
      const docLine = line;
      const docStart = pos;
      const depth = new DepthScanner();
      const parts: string[] = [text];
      depth.feed(text);
      let p = nl === -1 ? len : nl + 1;
      let l = line + 1;
      while (depth.depth > 0) {
        if (p >= len || nl === -1) {
          if (!opts.final) {
            pos = docStart;
            line = docLine;
            break scan; // hold back: the rest of the document is not written yet
          }
          problem(docLine, 'Unterminated JSON document (the file ends inside it)');
          pos = len;
          break scan;
        }
        const n2 = bytes.indexOf(NL, p);
        const e2 = n2 === -1 ? len : n2;
        const t2 = lineText(p, e2);
        if (n2 === -1 && !opts.final) {
          pos = docStart;
          line = docLine;
          break scan;
        }
        if (t2.startsWith('{') || t2.startsWith('[')) {
          // A new top-level document begins before this one closed: this one was cut short.
          problem(docLine, `Unterminated JSON document (a new document starts at line ${l})`);
          pos = p;
          line = l;
          continue scan;
        }
        parts.push(t2);
        depth.feed(t2);
        p = n2 === -1 ? len : n2 + 1;
        l++;
        if (n2 === -1) break;
      }
      try {
        const value: unknown = JSON.parse(parts.join('\n'));
        if (isContainer(value)) docs.push({ value, line: docLine });
        else problem(docLine, `Not a JSON object: found a ${value === null ? 'null' : typeof value}`);
      } catch (err) {
        problem(docLine, `Malformed JSON document: ${describeJsonError(err)}`);
      }
      pos = p;
      line = l;
      continue;
    }

    let value: unknown;
    let parsed = false;
    let error: unknown;
    try {
      value = JSON.parse(trimmed);
      parsed = true;
    } catch (err) {
      error = err;
    }
    if (nl === -1 && !opts.final && !(parsed && isContainer(value))) {
      break; // a half-written last line: wait for the rest of it
    }
    if (!parsed) {
      const c = trimmed.charCodeAt(0);
      problem(
        line,
        c === 123 || c === 91
          ? `Malformed JSON: ${describeJsonError(error, text.length - text.trimStart().length)}${nl === -1 ? ' (incomplete last line)' : ''}`
          : 'Not JSON: the line does not start with { or [',
      );
    } else if (!isContainer(value)) {
      problem(line, `Not a JSON object: found a ${value === null ? 'null' : typeof value}`);
    } else {
      docs.push({ value, line });
    }
    if (nl === -1) {
      pos = len;
      break;
    }
    pos = nl + 1;
    line++;
  }

  return { docs, problems, ignored, next: { offset: start.offset + pos, line } };
}
