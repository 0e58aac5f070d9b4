import { hashRange, MAX_PROBE, type StringPool } from './callTable';

/**
 * Merging the strings of tables read in parallel into one pool without the pool's lookup map: strings are found by a
 * 32-bit hash (computed by the threads that read them) in a typed-array table, and compared only on equal hashes.
 * The map a pool needs for later interning is then built when first needed (or in slices), not on the load's path.
 * Pure: no fs, no vscode.
 */

/** hashRange (FNV-1a, as the pool hashes) of each string of joined strings (see PackedColumns.joinedStrings). */
export function hashJoined(j: { text: string; lengths: Uint32Array }): Int32Array {
  const out = new Int32Array(j.lengths.length);
  let at = 0;
  for (let i = 0; i < out.length; i++) {
    const end = at + j.lengths[i];
    out[i] = hashRange(j.text, at, end);
    at = end;
  }
  return out;
}

/** Thrown when strings collide past MAX_PROBE (crafted text): the caller interns through the pool instead. */
export class TooManyCollisions extends Error {
  constructor() {
    super('StringMerger: too many strings share a hash');
  }
}

export class StringMerger {
  private readonly table: Int32Array;
  private readonly mask: number;
  private readonly hashOf: Int32Array;
  /** The pool's size after the last merge: strings added meanwhile by anything else would not be in the table. */
  private size: number;

  /**
   * `pool` holds strings whose hashes are `hashes` (by id; e.g. the strings of the first part, adopted). `capacity`:
   * at least the number of strings the pool will hold after all merges.
   */
  constructor(private readonly pool: StringPool, hashes: Int32Array, capacity: number) {
    if (hashes.length !== pool.values.length) throw new Error('StringMerger: one hash per pool string is needed');
    const n = Math.max(capacity, hashes.length, 16);
    let size = 1;
    while (size < n * 2) size <<= 1;
    this.table = new Int32Array(size);
    this.mask = size - 1;
    this.hashOf = new Int32Array(n);
    for (let id = 0; id < hashes.length; id++) this.insert(id, hashes[id]);
    this.size = pool.values.length;
  }

  private insert(id: number, h: number) {
    this.hashOf[id] = h;
    let i = h & this.mask;
    for (let step = 0; this.table[i] !== 0; step++) {
      if (step >= MAX_PROBE) throw new TooManyCollisions();
      i = (i + 1) & this.mask;
    }
    this.table[i] = id + 1;
  }

  /**
   * Merges strings `from`..`to` of joined strings `j` (the first starting at character `at`, hashes `hashes`) into the
   * pool, writing each one's pool id to `map`; returns where the next string starts (so a caller can work in slices).
   */
  merge(j: { text: string; lengths: Uint32Array }, hashes: Int32Array, map: Int32Array, from: number, to: number, at: number): number {
    if (this.pool.values.length !== this.size) throw new Error('StringMerger: the pool took strings from elsewhere during the merge');
    const values = this.pool.values;
    const t = this.table;
    const mask = this.mask;
    for (let k = from; k < to; k++) {
      const n = j.lengths[k];
      const s = j.text.slice(at, at + n);
      at += n;
      if (n === 0) {
        map[k] = 0;
        continue;
      }
      const h = hashes[k];
      let i = h & mask;
      let id = -1;
      for (let step = 0; ; step++) {
        const e = t[i];
        if (e === 0) break;
        if (this.hashOf[e - 1] === h && values[e - 1] === s) {
          id = e - 1;
          break;
        }
        if (step >= MAX_PROBE) {
          this.size = -1; // strings merged so far stay in the pool: the caller interns the rest through it
          throw new TooManyCollisions();
        }
        i = (i + 1) & mask;
      }
      if (id < 0) {
        id = this.pool.appendNew(s);
        if (id >= this.hashOf.length) throw new Error('StringMerger: more strings than the stated capacity');
        this.hashOf[id] = h;
        t[i] = id + 1;
      }
      map[k] = id;
    }
    this.size = this.pool.values.length;
    return at;
  }
}

/** Joined strings with their hashes (hashJoined), as a range worker sends them. */
export interface HashedJoined {
  text: string;
  lengths: Uint32Array;
  hashes: Int32Array;
}

/** Bits of the hash filter mergeJoined uses (1 MiB): fits a core's cache, unlike an index of every string. */
const FILTER_BITS = 23;

/**
 * Merges the strings of parts read in parallel into one joined list, as the pool would hold them after adopting the
 * first part and merging the others in order (the same ids, the same order), without making a JavaScript string of
 * each one. For a process that only writes the columns (the parse process): half a million trace ids cost no strings,
 * no pool and no collections. Each part's strings are distinct (a pool's); id 0 is '' in every part.
 *
 * Most strings of a part (trace ids) are in no other part: a part's hashes are first set in a bit filter, and only
 * the strings merged so far whose hash is in it go into a small index (a sequential pass, not an index of every string
 * in memory that misses the cache at each probe); the part's strings are looked up there and compared character by
 * character on equal hashes. New strings are copied in runs. Throws TooManyCollisions for strings crafted to collide
 * (the caller then merges through a pool).
 */
export function mergeJoined(parts: readonly HashedJoined[]): { joined: { text: string; lengths: Uint32Array }; idMaps: Int32Array[] } {
  let capacity = 1;
  for (const p of parts) capacity += p.lengths.length;
  // Where each merged string is: its part and its offset in that part's text; and its hash and length.
  const srcPart = new Uint16Array(capacity);
  const srcAt = new Uint32Array(capacity);
  const hashOf = new Int32Array(capacity);
  const lengths = new Uint32Array(capacity);
  let count = 1; // id 0: '', in every part
  const pieces: string[] = [];
  const idMaps: Int32Array[] = [];
  const filter = new Int32Array(1 << (FILTER_BITS - 5));
  const fmask = (1 << FILTER_BITS) - 1;
  for (let p = 0; p < parts.length; p++) {
    const { text, lengths: lens, hashes } = parts[p];
    if (lens.length === 0 || lens[0] !== 0) throw new Error("mergeJoined: a part's first string must be ''");
    const map = new Int32Array(lens.length);
    // The strings merged so far that may be in this part (their hash is in the part's filter), indexed.
    let table = new Int32Array(0);
    let mask = 0;
    if (p > 0) {
      filter.fill(0);
      for (let k = 1; k < lens.length; k++) {
        const f = hashes[k] & fmask;
        filter[f >>> 5] |= 1 << (f & 31);
      }
      const candidates: number[] = [];
      for (let id = 1; id < count; id++) {
        const f = hashOf[id] & fmask;
        if (filter[f >>> 5] & (1 << (f & 31))) candidates.push(id);
      }
      let size = 16;
      while (size < candidates.length * 2) size <<= 1;
      table = new Int32Array(size);
      mask = size - 1;
      for (const id of candidates) {
        let i = hashOf[id] & mask;
        for (let step = 0; table[i] !== 0; step++) {
          if (step >= MAX_PROBE) throw new TooManyCollisions();
          i = (i + 1) & mask;
        }
        table[i] = id + 1;
      }
    }
    let at = 0;
    let runStart = -1;
    let runEnd = -1;
    for (let k = 1; k < lens.length; k++) {
      const n = lens[k];
      const h = hashes[k];
      let id = -1;
      if (p > 0) {
        for (let i = h & mask, step = 0; ; step++) {
          const e = table[i];
          if (e === 0) break;
          const c = e - 1;
          if (hashOf[c] === h && lengths[c] === n && sameChars(parts[srcPart[c]].text, srcAt[c], text, at, n)) {
            id = c;
            break;
          }
          if (step >= MAX_PROBE) throw new TooManyCollisions();
          i = (i + 1) & mask;
        }
      }
      if (id < 0) {
        id = count++;
        srcPart[id] = p;
        srcAt[id] = at;
        hashOf[id] = h;
        lengths[id] = n;
        if (p > 0) {
          if (runEnd !== at) {
            if (runStart >= 0) pieces.push(text.slice(runStart, runEnd));
            runStart = at;
          }
          runEnd = at + n;
        }
      }
      map[k] = id;
      at += n;
    }
    if (p === 0) pieces.push(text);
    else if (runStart >= 0) pieces.push(text.slice(runStart, runEnd));
    idMaps.push(map);
  }
  return { joined: { text: pieces.join(''), lengths: lengths.slice(0, count) }, idMaps };
}

function sameChars(a: string, aAt: number, b: string, bAt: number, n: number): boolean {
  for (let q = 0; q < n; q++) if (a.charCodeAt(aAt + q) !== b.charCodeAt(bAt + q)) return false;
  return true;
}
