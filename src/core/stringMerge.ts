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
