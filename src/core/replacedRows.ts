import { CANONICAL_DIMS } from './types';

/** How many in-place replacements a table keeps the old values of (at least half as many after the oldest are dropped). */
export const REPLACED_ROWS_KEPT = 1024;

/**
 * The values rows of a table had before they were replaced in place (`CallTable.store`: a later streaming line of a
 * Claude Code message), for the table's last replacements. A view built when the table's edit count was `k` takes the
 * old values of the rows replaced since (`range(k, table.edits)`) out and the rows' current values in, instead of
 * starting over; when the log no longer holds them all (too many, or an edit it did not see, such as a reprice),
 * `range` says so and the view starts over.
 *
 * Entries are columns of doubles (exact for every column type of the table), grown as replacements come, up to
 * `limit` entries; then the oldest half is dropped.
 */
export class ReplacedRows {
  /** Slot j holds the replacement that brought the table's edit count to base + j + 1. */
  private base = 0;
  private n = 0;
  private rows = new Int32Array(0);
  /** Old values by column: the table's numeric and id columns by name, canonical dims by name, tags as `tag:<key>`. */
  private readonly cols = new Map<string, Float64Array>();

  constructor(readonly limit = REPLACED_ROWS_KEPT) {}

  /**
   * Starts the entry of the edit that brings the table's edit count to `seq`, replacing row `row`; returns its slot,
   * for `set`. An edit count that does not follow the last one logged forgets everything before it.
   */
  begin(seq: number, row: number): number {
    return this.beginRun(seq, [row]);
  }

  /**
   * Starts the entries of `rows.length` edits at once, the first bringing the table's edit count to `seq` (one per
   * row, in order): returns the first one's slot, the others follow it. Room is made once for them all (a run of more
   * than `limit` is not kept: callers count such a run as one edit and `forget`). Their values are written through
   * `column` or `set`.
   */
  beginRun(seq: number, rows: readonly number[]): number {
    if (seq !== this.base + this.n + 1) this.forget(seq - 1);
    const n = rows.length;
    if (n > this.limit) throw new RangeError(`a run of ${n} replacements is more than the ${this.limit} kept`);
    if (this.n + n > this.rows.length) this.makeRoom(n);
    const j = this.n;
    for (let k = 0; k < n; k++) this.rows[j + k] = rows[k];
    this.n += n;
    return j;
  }

  /** Sets the old value of `column` in slot `j` (columns never set read 0: a tag the table did not have then). */
  set(j: number, column: string, v: number): void {
    this.column(column)[j] = v;
  }

  /** The old values of `column`, by slot, to write those of entries just begun (valid until the next `begin`). */
  column(column: string): Float64Array {
    let c = this.cols.get(column);
    if (!c) this.cols.set(column, (c = new Float64Array(this.rows.length)));
    return c;
  }

  /** Forgets every replacement up to the edit count `seq` (e.g. a reprice, which changes every row). */
  forget(seq: number): void {
    this.base = seq;
    this.n = 0;
  }

  /**
   * The slots of the replacements after edit count `since` up to `now` (the table's edit count), oldest first;
   * undefined when the log does not hold them all.
   */
  range(since: number, now: number): { from: number; to: number } | undefined {
    if (!(since >= this.base) || since > now || now !== this.base + this.n) return undefined;
    return { from: since - this.base, to: this.n };
  }

  /** The row slot `j` replaced. */
  row(j: number): number {
    return this.rows[j];
  }

  /** The old value of a column (`tsMs`, `computedUsd`, `inputTokens`, `flags`...) in slot `j`. */
  value(j: number, column: string): number {
    return this.cols.get(column)?.[j] ?? 0;
  }

  /** The old interned id of a dimension (as `CallTable.column` names them: canonical, `team` or `tag:team`) in slot `j`. */
  id(j: number, dim: string): number {
    if ((CANONICAL_DIMS as readonly string[]).includes(dim)) return this.value(j, dim);
    return this.value(j, dim.startsWith('tag:') ? dim : `tag:${dim}`);
  }

  /** Makes room for `more` entries (at most `limit`): grows up to `limit`, then drops the oldest half or more. */
  private makeRoom(more: number): void {
    const size = this.rows.length;
    if (size < this.limit) {
      let to = Math.max(16, size * 2);
      while (to < this.n + more) to *= 2;
      to = Math.min(this.limit, to);
      const rows = new Int32Array(to);
      rows.set(this.rows);
      this.rows = rows;
      for (const [k, c] of this.cols) {
        const g = new Float64Array(to);
        g.set(c);
        this.cols.set(k, g);
      }
      if (this.n + more <= to) return;
    }
    // Full: the oldest half (or more, for a run) goes, and with it the views that had not seen those replacements yet.
    const drop = Math.min(this.n, Math.max(1, this.rows.length >> 1, this.n + more - this.rows.length));
    this.rows.copyWithin(0, drop, this.n);
    for (const c of this.cols.values()) c.copyWithin(0, drop, this.n);
    this.base += drop;
    this.n -= drop;
  }
}
