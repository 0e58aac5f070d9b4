/**
 * The trace ids of one table: their UTF-8 bytes one after another, not interned. A row's `traceId` is an index here
 * (1-based; 0: no trace id). A trace id equal to the one added just before gets that one's index again; seen again
 * after others, it gets a new one, so rows of one trace may hold several indexes: `TraceKeys` tells which are the same.
 *
 * Why not the string pool: a million calls carry hundreds of thousands of trace ids, and making a JavaScript string of
 * each, interning it in every range worker, merging the workers' strings and cutting them again on the extension host
 * cost about a fifth of a first load of 1M calls. Here a range worker copies bytes, and a merge concatenates.
 * Equality is decided where calls are grouped by trace (cost per task, trace outliers), off the extension host, by
 * the bytes.
 *
 * Text read by JSON.parse is stored as its UTF-8 encoding, so the same id reads the same whichever reader took its
 * line (a lone surrogate, which UTF-8 cannot hold, is stored as U+FFFD). Pure: no fs, no vscode.
 */

import { hashBytes, MAX_PROBE } from './hash';

/** A table's trace ids in a form that crosses threads: `ends[k]` is where id k ends (`ends[0]` is 0), ids 1..count. */
export interface PackedTraceIds {
  count: number;
  bytes: Uint8Array;
  ends: Uint32Array;
}

const SHARED = typeof SharedArrayBuffer === 'function';

function u8(n: number): Uint8Array {
  return SHARED ? new Uint8Array(new SharedArrayBuffer(n)) : new Uint8Array(n);
}

function u32(n: number): Uint32Array {
  return SHARED ? new Uint32Array(new SharedArrayBuffer(n * 4)) : new Uint32Array(n);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

export class TraceIds {
  count = 0;
  /** Bytes used (`ends[count]`). */
  used = 0;
  /** Text of the last id added from a string (readers that decode compare strings, not bytes). */
  private lastText: string | undefined;

  constructor(
    public bytes: Uint8Array = u8(0),
    public ends: Uint32Array = u32(1),
  ) {}

  /** Trace ids taken over from packed form (their memory as it is: shared memory stays shared). */
  static fromPacked(p: PackedTraceIds): TraceIds {
    const t = new TraceIds(p.bytes, p.ends);
    t.count = p.count;
    t.used = p.count > 0 ? p.ends[p.count] : 0;
    return t;
  }

  /** The ids and their bytes over this object's own memory (no copy; only ids <= count and bytes < used count). */
  pack(): PackedTraceIds {
    return { count: this.count, bytes: this.bytes, ends: this.ends };
  }

  /** A trimmed copy in plain memory (transferable, serializable). */
  exportPacked(): PackedTraceIds {
    return { count: this.count, bytes: this.bytes.slice(0, this.used), ends: this.ends.slice(0, this.count + 1) };
  }

  /** Makes room for `ids` more ids of `bytes` more bytes. Memory given out before (pack, views) keeps its content. */
  reserve(ids: number, bytes: number): void {
    if (this.count + ids + 1 > this.ends.length) {
      const n = Math.max(this.count + ids + 1, this.ends.length * 2, 64);
      const ends = u32(n);
      ends.set(this.ends.subarray(0, this.count + 1));
      this.ends = ends;
    }
    if (this.used + bytes > this.bytes.length) {
      const n = Math.max(this.used + bytes, this.bytes.length * 2, 1024);
      const b = u8(n);
      b.set(this.bytes.subarray(0, this.used));
      this.bytes = b;
    }
  }

  /**
   * Room for a trace id on each of `rows` more rows (a row adds at most one), at the mean length of the ids so far
   * (+10%): a reader that reserved its table's rows for the rest of a file reserves this with them, so the buffers are
   * not copied as they double, and the growing branch of pushBytes is not taken (taken once its code was optimized, it
   * threw that code away, and the code of the loop it is inlined into: ~10 ms of compiling again per reader).
   */
  reserveForRows(rows: number): void {
    if (!(rows > 0) || this.count === 0) return;
    this.reserve(Math.ceil(rows), Math.ceil((rows * this.used * 1.1) / this.count));
  }

  /** True when id k holds bytes [s, e) of `src`. */
  equals(k: number, src: Uint8Array, s: number, e: number): boolean {
    const a = this.ends[k - 1];
    const n = this.ends[k] - a;
    if (n !== e - s) return false;
    const b = this.bytes;
    for (let i = 0; i < n; i++) if (b[a + i] !== src[s + i]) return false;
    return true;
  }

  /** Adds the trace id whose UTF-8 bytes are [s, e) of `src` (not empty): the last id's index when it is the same. */
  addBytes(src: Uint8Array, s: number, e: number): number {
    if (this.count > 0 && this.equals(this.count, src, s, e)) return this.count;
    return this.pushBytes(src, s, e);
  }

  /** Adds bytes [s, e) of `src` (not empty) as a new id, without comparing them with the last one (they differ). */
  pushBytes(src: Uint8Array, s: number, e: number): number {
    let u = this.used;
    if (u + (e - s) > this.bytes.length || this.count + 2 > this.ends.length) this.reserve(1, e - s);
    // Trace ids are short: a loop beats a subarray view and set() per id.
    const b = this.bytes;
    for (let i = s; i < e; i++) b[u++] = src[i];
    this.used = u;
    this.ends[++this.count] = u;
    this.lastText = undefined;
    return this.count;
  }

  /** Adds a trace id given as text: 0 for none or empty; the last id's index when it is the same. */
  addString(text: string | undefined): number {
    if (text === undefined || text === '') return 0;
    if (this.count > 0 && this.lastText === text) return this.count;
    const max = text.length * 3;
    this.reserve(1, max);
    const { written } = encoder.encodeInto(text, this.bytes.subarray(this.used, this.used + max));
    const s = this.used;
    if (this.count > 0 && this.equals(this.count, this.bytes, s, s + written)) {
      this.lastText = text;
      return this.count;
    }
    this.used += written;
    this.ends[++this.count] = this.used;
    this.lastText = text;
    return this.count;
  }

  /** Id k's bytes as one character each: a distinct string for distinct bytes, valid UTF-8 or not. */
  rawText(k: number): string {
    let out = '';
    for (let i = this.ends[k - 1]; i < this.ends[k]; i++) out += String.fromCharCode(this.bytes[i]);
    return out;
  }

  /** The text of id k ('' for 0 or an id it does not have). */
  text(k: number): string {
    if (k <= 0 || k > this.count) return '';
    return decoder.decode(this.bytes.subarray(this.ends[k - 1], this.ends[k]));
  }

  /** Appends another table's ids (in order): id k there is id k + (the count before) here; returns that count. */
  appendAll(p: PackedTraceIds): number {
    const shift = this.count;
    const used = p.count > 0 ? p.ends[p.count] : 0;
    this.reserve(p.count, used);
    this.bytes.set(p.bytes.subarray(0, used), this.used);
    const ends = this.ends;
    for (let k = 1; k <= p.count; k++) ends[shift + k] = this.used + p.ends[k];
    this.used += used;
    this.count += p.count;
    this.lastText = undefined;
    return shift;
  }
}

/**
 * Which trace ids of several tables are the same: `keysOf(t)[k]` is one number per distinct trace id across the
 * tables added (from 1; `keysOf(t)[0]` is 0), so calls are grouped by trace with integer keys. Built by hashing the
 * bytes of each id once and comparing bytes, never by making strings.
 */
export class TraceKeys {
  private slots = new Int32Array(1024);
  /** Per key (1-based): the source and id holding its bytes, and its hash. */
  private keySrc: TraceIds[] = [];
  private keyId = new Int32Array(512);
  private keyHash = new Int32Array(512);
  private size = 0;
  private readonly maps = new Map<TraceIds, Int32Array>();
  /** The lookup once a probe ran too long (ids crafted to collide): by text, for every key. */
  private byText: Map<string, number> | undefined;

  /** Distinct trace ids seen so far. */
  get distinct(): number {
    return this.size;
  }

  /** The key of each id of `t` (computed on first call). */
  keysOf(t: TraceIds): Int32Array {
    let m = this.maps.get(t);
    if (m && m.length === t.count + 1) return m;
    const from = m ? m.length : 1;
    const next = new Int32Array(t.count + 1);
    if (m) next.set(m);
    m = next;
    this.grow(this.size + (t.count + 1 - from));
    for (let k = from; k <= t.count; k++) m[k] = this.keyOf(t, k);
    this.maps.set(t, m);
    return m;
  }

  private grow(keys: number) {
    if (keys + 1 > this.keyId.length) {
      const n = Math.max(keys + 1, this.keyId.length * 2);
      const id = new Int32Array(n);
      id.set(this.keyId);
      this.keyId = id;
      const h = new Int32Array(n);
      h.set(this.keyHash);
      this.keyHash = h;
    }
    if (this.byText || keys * 2 <= this.slots.length) return;
    let size = this.slots.length;
    while (size < keys * 2) size *= 2;
    const slots = new Int32Array(size);
    const mask = size - 1;
    for (let key = 1; key <= this.size; key++) {
      let j = this.keyHash[key] & mask;
      while (slots[j] !== 0) j = (j + 1) & mask;
      slots[j] = key;
    }
    this.slots = slots;
  }

  private keyOf(t: TraceIds, k: number): number {
    const s = t.ends[k - 1];
    const e = t.ends[k];
    const b = t.bytes;
    const h = hashBytes(b, s, e);
    if (!this.byText) {
      const slots = this.slots;
      const mask = slots.length - 1;
      // Linear probing with a full byte compare.
      for (let step = 0, j = h & mask; step <= MAX_PROBE; step++, j = (j + 1) & mask) {
        const key = slots[j];
        if (key === 0) {
          slots[j] = this.newKey(t, k, h);
          return this.size;
        }
        if (this.keyHash[key] === h && this.keySrc[key].equals(this.keyId[key], b, s, e)) return key;
      }
      // Ids crafted to collide (FNV is not a keyed hash): a Map of every key's text from now on, not a slow walk.
      this.byText = new Map();
      // By bytes (one character each), not by decoded text: two invalid byte strings may decode alike.
      for (let key = this.size; key >= 1; key--) this.byText.set(this.keySrc[key].rawText(this.keyId[key]), key);
    }
    const text = t.rawText(k);
    const found = this.byText.get(text);
    if (found !== undefined) return found;
    const nk = this.newKey(t, k, h);
    this.byText.set(text, nk);
    return nk;
  }

  private newKey(t: TraceIds, k: number, h: number): number {
    const nk = ++this.size;
    this.keySrc[nk] = t;
    this.keyId[nk] = k;
    this.keyHash[nk] = h;
    return nk;
  }
}
