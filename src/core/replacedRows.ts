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
    if (seq !== this.base + this.n + 1) this.forget(seq - 1);
    if (this.n === this.rows.length) this.makeRoom();
    const j = this.n++;
    this.rows[j] = row;
    return j;
  }

  /** Sets the old value of `column` in slot `j` (columns never set read 0: a tag the table did not have then). */
  set(j: number, column: string, v: number): void {
    let c = this.cols.get(column);
    if (!c) this.cols.set(column, (c = new Float64Array(this.rows.length)));
    c[j] = v;
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

  private makeRoom(): void {
    const size = this.rows.length;
    if (size < this.limit) {
      const to = Math.min(this.limit, Math.max(16, size * 2));
      const rows = new Int32Array(to);
      rows.set(this.rows);
      this.rows = rows;
      for (const [k, c] of this.cols) {
        const g = new Float64Array(to);
        g.set(c);
        this.cols.set(k, g);
      }
      return;
    }
    // Full: the oldest half goes, and with it the views that had not seen those replacements yet.
    const drop = Math.max(1, size >> 1);
    this.rows.copyWithin(0, drop, this.n);
    for (const c of this.cols.values()) c.copyWithin(0, drop, this.n);
    this.base += drop;
    this.n -= drop;
  }
}
