import { readSync } from 'node:fs';

/**
 * Byte ranges of one file shared by the threads that read it (in shared memory), so that a thread that finishes early
 * takes half of what another has left rather than waiting for it: on a machine whose cores are also busy with other
 * work (the editor, a build, a neighbour on the same host), two equal halves often end 0.1–0.3 s apart.
 *
 * Each party (a reading thread) owns one range [next, end) at a time. It claims its bytes a chunk at a time (`claim`):
 * what it has claimed is its own, the rest may be taken. A party with nothing left takes (`steal`) the second half of
 * the largest unclaimed rest, from its first line start on: the owner's range ends there, and the thief's is the
 * rest. Every range starts and ends at a line start (or the file's ends), so the ranges always tile the file and each
 * line is read by exactly one party. The bookkeeping is under one lock, held only for it: a steal looks for the line
 * start (reading up to 64 KB after the middle of a rest) outside the lock, then checks that the rest has not moved.
 * When a line shows the file needs one reader, `stopAll` ends every range where it is claimed up to.
 */
export class RangeClaims {
  private readonly lock: Int32Array;
  /** [1]: set when the reading is stopped (`stopAll`). */
  /** Per party: next, end, bytes read so far (over all its ranges). */
  private readonly at: Float64Array;

  /** Shared memory for `parties` parties (pass it to the other threads and make a RangeClaims over it there). */
  static memory(parties: number): SharedArrayBuffer {
    return new SharedArrayBuffer(8 + parties * 3 * 8);
  }

  constructor(readonly buffer: SharedArrayBuffer) {
    this.lock = new Int32Array(buffer, 0, 2);
    this.at = new Float64Array(buffer, 8, (buffer.byteLength - 8) / 8);
  }

  get parties(): number {
    return this.at.length / 3;
  }

  /** Sets party p's first range (before any party starts). */
  init(p: number, start: number, end: number): void {
    this.at[3 * p] = start;
    this.at[3 * p + 1] = end;
    this.at[3 * p + 2] = 0;
  }

  private acquire(): void {
    // Held for a few field updates: a wait of seconds means its holder died holding it (out of memory): give up.
    const until = Date.now() + LOCK_TIMEOUT_MS;
    while (Atomics.compareExchange(this.lock, 0, 0, 1) !== 0) {
      Atomics.wait(this.lock, 0, 1, 1);
      if (Date.now() > until) throw new Error('range claims: the lock was not released');
    }
  }

  private release(): void {
    Atomics.store(this.lock, 0, 0);
    Atomics.notify(this.lock, 0, 1);
  }

  /**
   * Party p claims its bytes from `from` (where its claimed bytes end) up to `from + want` at most: the offset claimed up
   * to, and whether that is the end of its range (nothing more will come). A range that others shortened ends earlier.
   */
  claim(p: number, from: number, want: number): { upTo: number; last: boolean } {
    this.acquire();
    try {
      const end = this.at[3 * p + 1];
      const upTo = Math.max(from, Math.min(from + want, end));
      this.at[3 * p] = upTo;
      return { upTo, last: upTo >= end };
    } finally {
      this.release();
    }
  }

  /** Where party p's range ends now (a moment's figure: others may shorten it). */
  endOf(p: number): number {
    return this.at[3 * p + 1];
  }

  /** Party p has read `bytes` more (progress). */
  addRead(p: number, bytes: number): void {
    this.at[3 * p + 2] += bytes;
  }

  /** Bytes read by all parties so far (progress; read without the lock: a moment's figure). */
  read(): number {
    let s = 0;
    for (let p = 0; p < this.parties; p++) s += this.at[3 * p + 2];
    return s;
  }

  /**
   * Ends every party's range where it has claimed up to (a line needs the file read by one reader: nobody reads on,
   * nobody takes anything); the parties finish the chunk they have.
   */
  stopAll(): void {
    this.acquire();
    try {
      Atomics.store(this.lock, 1, 1);
      for (let q = 0; q < this.parties; q++) this.at[3 * q + 1] = this.at[3 * q];
    } finally {
      this.release();
    }
  }

  /** Whether `stopAll` was called. */
  get stopped(): boolean {
    return Atomics.load(this.lock, 1) === 1;
  }

  /**
   * Party p (whose range is done) takes the second half of the largest unclaimed rest of another party's range, when
   * that rest is at least `minBytes`: the new range [start, end), now p's own; undefined when there is nothing worth
   * taking. A rest with no line start in the 64 KB after its middle (a long line) is passed over for the next largest.
   */
  steal(p: number, fd: number, minBytes: number): { start: number; end: number } | undefined {
    const buf = Buffer.allocUnsafe(64 * 1024);
    const passed = new Set<number>();
    for (let attempt = 0; attempt < 4 * this.parties; attempt++) {
      // The largest rest not passed over, and its middle, under the lock.
      let victim = -1;
      let next = 0;
      let end = 0;
      this.acquire();
      try {
        if (this.stopped) return undefined;
        let best = 0;
        for (let q = 0; q < this.parties; q++) {
          const rest = this.at[3 * q + 1] - this.at[3 * q];
          if (q !== p && !passed.has(q) && rest > best) {
            best = rest;
            victim = q;
          }
        }
        if (victim < 0 || best < minBytes) return undefined;
        next = this.at[3 * victim];
        end = this.at[3 * victim + 1];
      } finally {
        this.release();
      }
      // The first line start after the middle of the rest (the byte after a newline), which must be before `end`:
      // looked for outside the lock.
      const mid = next + Math.floor((end - next) / 2);
      const got = readSync(fd, buf, 0, Math.min(buf.length, end - mid), mid);
      const nl = buf.subarray(0, Math.max(0, got)).indexOf(10);
      const start = nl < 0 ? end : mid + nl + 1;
      if (start >= end) {
        passed.add(victim);
        continue;
      }
      // Taken if the rest has not moved past the middle meanwhile (its owner claims on; another thief may have cut it).
      this.acquire();
      try {
        if (this.stopped) return undefined;
        if (this.at[3 * victim + 1] === end && this.at[3 * victim] <= mid) {
          this.at[3 * victim + 1] = start;
          this.at[3 * p] = start;
          this.at[3 * p + 1] = end;
          return { start, end };
        }
      } finally {
        this.release();
      }
    }
    return undefined;
  }
}

/** A wait this long for the claims' lock means its holder died holding it. */
const LOCK_TIMEOUT_MS = 10_000;
