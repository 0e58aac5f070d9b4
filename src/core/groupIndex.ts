import { quantile } from 'simple-statistics';
import { copyFlags, type GroupStats, rowCost, runsById, type Slice, UNATTRIBUTED } from './analysis';
import { type CallTable, FLAG_COPY, FLAG_ERROR } from './callTable';
import type { GroupNode } from './groupTree';
import type { ReplacedRows } from './replacedRows';
import type { CostSource } from './types';

/**
 * An incremental cost tree: the calls of some tables grouped by a list of dimensions, level by level, kept up to date
 * as rows are appended. Each node holds its rows and running sums, so appending k rows costs O(k × materialised
 * levels), not a regrouping of everything. Levels are materialised when first asked for (a tree view expands them).
 *
 * Figures are the same as `stats()` over the node's rows (same sums, counts, errors, first/last time, unpriced models)
 * except the percentiles of big groups: a group keeps its priced costs exactly up to EXACT_PERCENTILE_LIMIT calls (the
 * percentiles are then exactly `stats()`'s), and beyond that a log-linear sketch whose percentiles are within
 * SKETCH_RELATIVE_ERROR (relative) of the exact order statistic. Pure: no vscode, no fs.
 */

/** Relative error of the percentiles of groups too big to keep exactly. */
export const SKETCH_RELATIVE_ERROR = 0.001;
/** Groups with up to this many priced calls keep exact percentiles. */
export const EXACT_PERCENTILE_LIMIT = 4096;

/**
 * Sketch buckets are log-linear, read straight off a double's bits: the exponent and the top SUB_BITS bits of the
 * mantissa (the high 32-bit word shifted right by 20 − SUB_BITS). A bucket [lo, lo·(1 + 2^−SUB_BITS)) is represented
 * by its midpoint, within 2^−(SUB_BITS+1) ≈ 0.098% of any value in it: under SKETCH_RELATIVE_ERROR. No logarithm.
 */
const SUB_BITS = 9;
const SHIFT = 20 - SUB_BITS;
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
/** Index of the high word of a double in `u32` (1 on little-endian machines). */
const HI = (() => {
  f64[0] = 1;
  return u32[1] === 0x3ff00000 ? 1 : 0;
})();

function bucketOf(v: number): number {
  f64[0] = v;
  return u32[HI] >>> SHIFT;
}

function bucketMid(k: number): number {
  u32[HI] = (k << SHIFT) | (1 << (SHIFT - 1));
  u32[1 - HI] = 0;
  return f64[0];
}

/**
 * The priced costs of a group, for percentiles: exact values while few, then a log-linear sketch (see bucketOf).
 * Values ≤ 0 (free calls, refunds) are kept apart and read as 0 beyond the exact limit.
 */
export class CostDigest {
  private exact: Float64Array | undefined = new Float64Array(8);
  n = 0;
  private zeros = 0;
  private counts = new Uint32Array(0);
  /** Bucket index of counts[0]. */
  private base = 0;
  min = Infinity;
  max = -Infinity;
  /** How many values equal `min` and `max`: one of them can be taken out of the sketch while others stay. */
  private atMin = 0;
  private atMax = 0;

  add(v: number): void {
    if (v < this.min) {
      this.min = v;
      this.atMin = 0;
    }
    if (v === this.min) this.atMin++;
    if (v > this.max) {
      this.max = v;
      this.atMax = 0;
    }
    if (v === this.max) this.atMax++;
    const ex = this.exact;
    if (ex) {
      if (this.n === ex.length) {
        if (this.n >= EXACT_PERCENTILE_LIMIT) {
          this.exact = undefined;
          for (let i = 0; i < this.n; i++) this.bucket(ex[i]);
          this.n++;
          this.bucket(v);
          return;
        }
        const g = new Float64Array(ex.length * 2);
        g.set(ex);
        this.exact = g;
        g[this.n++] = v;
        return;
      }
      ex[this.n++] = v;
      return;
    }
    this.n++;
    this.bucket(v);
  }

  private bucket(v: number): void {
    if (!(v > 0)) {
      this.zeros++;
      return;
    }
    const k = bucketOf(v);
    let i = k - this.base;
    if (i >= 0 && i < this.counts.length) {
      this.counts[i]++;
      return;
    }
    if (this.counts.length === 0) {
      this.counts = new Uint32Array(1 << SUB_BITS);
      this.base = k - (1 << (SUB_BITS - 1));
    } else {
      const lo = Math.min(this.base, k);
      const hi = Math.max(this.base + this.counts.length, k + 1);
      const size = Math.max(hi - lo, this.counts.length * 2);
      const grown = new Uint32Array(size);
      const newBase = k < this.base ? hi - size : lo;
      grown.set(this.counts, this.base - newBase);
      this.counts = grown;
      this.base = newBase;
    }
    i = k - this.base;
    this.counts[i]++;
  }

  /**
   * Takes out a value added before, leaving the digest as if it had never been added. False, and the digest left as
   * it was, when that cannot be done exactly: the value is not there, the rest would be few enough to keep exactly,
   * or it is the sketch's least or greatest value (the next one is not known); build the digest again then.
   */
  remove(v: number): boolean {
    const ex = this.exact;
    if (ex) {
      let k = this.n - 1;
      while (k >= 0 && ex[k] !== v) k--;
      if (k < 0) return false;
      ex[k] = ex[--this.n];
      if ((v === this.min && --this.atMin === 0) || (v === this.max && --this.atMax === 0)) {
        this.min = Infinity;
        this.max = -Infinity;
        for (let i = 0; i < this.n; i++) {
          const x = ex[i];
          if (x < this.min) (this.min = x), (this.atMin = 0);
          if (x === this.min) this.atMin++;
          if (x > this.max) (this.max = x), (this.atMax = 0);
          if (x === this.max) this.atMax++;
        }
      }
      return true;
    }
    // The sketch: the least or greatest value goes only while another equal to it stays (the next one is not known).
    if (this.n - 1 <= EXACT_PERCENTILE_LIMIT || (v === this.min && this.atMin < 2) || (v === this.max && this.atMax < 2)) return false;
    if (v < this.min || v > this.max) return false;
    if (!(v > 0)) {
      if (this.zeros === 0) return false;
      this.zeros--;
    } else {
      const i = bucketOf(v) - this.base;
      if (i < 0 || i >= this.counts.length || this.counts[i] === 0) return false;
      this.counts[i]--;
    }
    if (v === this.min) this.atMin--;
    if (v === this.max) this.atMax--;
    this.n--;
    return true;
  }

  /** Whether the percentiles are exact (few values) or from the sketch. */
  get isExact(): boolean {
    return this.exact !== undefined;
  }

  /** p-quantiles (0..1) with simple-statistics' `quantile` rule; NaN when empty. */
  quantiles(ps: readonly number[]): number[] {
    if (this.n === 0) return ps.map(() => NaN);
    if (this.exact) return quantile(this.exact.slice(0, this.n) as unknown as number[], ps as number[]) as unknown as number[];
    // simple-statistics' quantileSorted: order statistic ceil(n·p)−1, or the mean of the two around n·p when n·p is
    // an integer and n is even; p = 1 is the maximum.
    const need: number[] = [];
    const plan = ps.map((p) => {
      const idx = this.n * p;
      if (p >= 1) return { max: true, ranks: [] as number[] };
      if (p <= 0) return { min: true, ranks: [] as number[] };
      const ranks = idx % 1 !== 0 ? [Math.ceil(idx) - 1] : this.n % 2 === 0 ? [idx - 1, idx] : [idx];
      need.push(...ranks);
      return { ranks };
    });
    const values = this.orderStats(need);
    return plan.map((q) => {
      if ('max' in q) return this.max;
      if ('min' in q) return this.min;
      let s = 0;
      for (const r of q.ranks) s += values.get(r)!;
      return s / q.ranks.length;
    });
  }

  /** Approximate order statistics (0-based ranks), in one pass over the buckets. */
  private orderStats(ranks: number[]): Map<number, number> {
    const out = new Map<number, number>();
    const want = [...new Set(ranks)].sort((a, b) => a - b);
    let w = 0;
    let seen = this.zeros;
    while (w < want.length && want[w] < seen) out.set(want[w++], Math.max(0, Math.min(this.min, 0)));
    for (let i = 0; i < this.counts.length && w < want.length; i++) {
      const c = this.counts[i];
      if (c === 0) continue;
      seen += c;
      if (want[w] < seen) {
        const v = Math.min(this.max, Math.max(this.min, bucketMid(this.base + i)));
        while (w < want.length && want[w] < seen) out.set(want[w++], v);
      }
    }
    while (w < want.length) out.set(want[w++], this.max);
    return out;
  }
}

/** Rows of one table in a node, in a growable buffer. */
interface Part {
  table: CallTable;
  rows: Int32Array;
  n: number;
}

/** Values of the row being added, read once for every level it goes into. */
interface RowValues {
  inTok: number;
  outTok: number;
  crTok: number;
  cwTok: number;
  rsTok: number;
  ts: number;
  cost: number;
  err: boolean;
  /** A copy of a call counted in another file (FLAG_COPY): in no group. */
  copy: boolean;
  saved: number;
  /** A priced call whose model has a list price (its savings are known: see GroupStats.listPricedCalls). */
  listed: boolean;
  model: string;
}

/** One group of the incremental tree. Implements the tree's GroupNode (stats computed when read, then cached). */
export class IndexNode implements GroupNode {
  readonly id: string;
  /** The index build this node belongs to (a rebuild makes new nodes). */
  generation = 0;
  /**
   * The index, to take in rows replaced in place since its last sync before this node reads rows from the tables
   * (percentiles, extremes, a level): what is read then and what the next sync takes out must agree.
   */
  owner: { catchUp(): void } | undefined;
  shareOfParent = 0;
  private readonly parts: Part[] = [];
  private lastPart: Part | undefined;
  calls = 0;
  private priced = 0;
  /** Priced calls with a list price (GroupStats.listPricedCalls). */
  private listed = 0;
  private cost = 0;
  private saved = 0;
  private inTok = 0;
  private outTok = 0;
  private crTok = 0;
  private cwTok = 0;
  private rsTok = 0;
  private errors = 0;
  private errorCost = 0;
  /**
   * Priced calls with a cost other than 0, calls with a cache saving other than 0, errors with a cost other than 0:
   * when rows are taken out (`removeSums`) and one of these reaches 0, its sum is exactly 0, not a rounding remainder.
   */
  private costly = 0;
  private saving = 0;
  private costlyErrors = 0;
  private first = Infinity;
  private last = -Infinity;
  private unpriced: Record<string, number> = {};
  private max = -Infinity;
  /** A row holding the first or last time or the greatest cost was taken out: they are found again when read. */
  private staleExtremes = false;
  /**
   * Whether the node keeps its full figures. A level is built with the figures the tree shows only (calls, priced
   * calls, cost, greatest cost, unpriced models): the rest (tokens, errors, savings, time span) is summed from the
   * node's rows when first read (`stats`: a tooltip), then kept up to date as rows come and go.
   */
  private full = false;
  /** Rows of each table moving out of and into this node (rows replaced in place), until `applyMoves`. */
  private movesOut: Map<CallTable, number[]> | undefined;
  private movesIn: Map<CallTable, number[]> | undefined;
  /**
   * The priced costs for percentiles: built from the node's rows when first asked for (a tooltip, a copy), then kept
   * up to date as rows are added. Building a level does not pay for it.
   */
  private digest: CostDigest | undefined;
  private cached: GroupStats | undefined;
  /** Children by the next dimension, once materialised. */
  kids: { dim: string; byValue: Map<string, IndexNode>; byId: Map<CallTable, (IndexNode | undefined)[]> } | undefined;

  constructor(
    readonly dim: string,
    readonly value: string,
    readonly path: { dim: string; value: string }[],
    /** The cost source the index was built with (for the percentiles' costs). */
    readonly source: CostSource = 'auto',
  ) {
    this.id = path.map((p) => `${p.dim}=${p.value}`).join('\u001f');
  }

  get costUsd(): number {
    return this.cost;
  }

  get pricedCalls(): number {
    return this.priced;
  }

  get unpricedCalls(): number {
    return this.calls - this.priced;
  }

  private costDigest(): CostDigest {
    if (!this.digest) {
      const d = new CostDigest();
      for (const p of this.parts) {
        for (let k = 0; k < p.n; k++) {
          const c = rowCost(p.table, p.rows[k], this.source);
          if (!Number.isNaN(c)) d.add(c);
        }
      }
      this.digest = d;
    }
    return this.digest;
  }

  get slices(): Slice[] {
    this.owner?.catchUp();
    return this.parts.filter((p) => p.n > 0).map((p) => ({ table: p.table, rows: p.rows.subarray(0, p.n) }));
  }

  /** All the figures, percentiles included (which builds the percentile digest the first time). */
  get stats(): GroupStats {
    if (this.cached) return this.cached;
    this.owner?.catchUp();
    this.ensureFull();
    if (this.staleExtremes) this.findExtremes();
    const [p50, p95, p99] = this.costDigest().quantiles([0.5, 0.95, 0.99]);
    const allInput = this.inTok + this.crTok + this.cwTok;
    this.cached = {
      calls: this.calls,
      pricedCalls: this.priced,
      unpricedCalls: this.calls - this.priced,
      costUsd: this.cost,
      costWithoutCacheUsd: this.cost + this.saved,
      cacheSavingsUsd: this.saved,
      listPricedCalls: this.listed,
      inputTokens: this.inTok,
      outputTokens: this.outTok,
      cacheReadTokens: this.crTok,
      cacheWriteTokens: this.cwTok,
      reasoningTokens: this.rsTok,
      cacheHitRatio: allInput > 0 ? this.crTok / allInput : 0,
      meanUsd: this.priced ? this.cost / this.priced : NaN,
      p50Usd: p50,
      p95Usd: p95,
      p99Usd: p99,
      maxUsd: this.priced ? this.max : NaN,
      errors: this.errors,
      errorCostUsd: this.errorCost,
      firstTsMs: this.first,
      lastTsMs: this.last,
      unpricedModels: { ...this.unpriced },
    };
    return this.cached;
  }

  /**
   * Keeps the full figures from now on, for a node with no calls yet: a root without levels, which keeps no rows to sum
   * them from later.
   */
  keepFull(): void {
    if (this.calls !== 0) throw new Error('keepFull on a node with calls');
    this.full = true;
  }

  /** Whether the node keeps its full figures now, or only the tree's (see `full`). */
  get keepsFullFigures(): boolean {
    return this.full;
  }

  /** Whether the percentiles in `stats` are exact or from the sketch. */
  get exactPercentiles(): boolean {
    this.owner?.catchUp();
    return this.costDigest().isExact;
  }

  add(table: CallTable, row: number, v: RowValues): void {
    let p = this.lastPart;
    if (!p || p.table !== table) {
      p = this.parts.find((x) => x.table === table);
      if (!p) {
        p = { table, rows: new Int32Array(16), n: 0 };
        this.parts.push(p);
      }
      this.lastPart = p;
    }
    if (p.n === p.rows.length) {
      const g = new Int32Array(p.rows.length * 2);
      g.set(p.rows);
      p.rows = g;
    }
    p.rows[p.n++] = row;
    this.addSums(v);
    if (!Number.isNaN(v.cost)) this.digest?.add(v.cost);
  }

  private keepRows(t: CallTable, rows: Int32Array): void {
    let p = this.parts.find((x) => x.table === t);
    if (!p) {
      p = { table: t, rows: new Int32Array(Math.max(16, rows.length)), n: 0 };
      this.parts.push(p);
    } else if (p.n + rows.length > p.rows.length) {
      const g = new Int32Array(Math.max(p.rows.length * 2, p.n + rows.length));
      g.set(p.rows.subarray(0, p.n));
      p.rows = g;
    }
    p.rows.set(rows, p.n);
    p.n += rows.length;
    this.lastPart = p;
  }

  /**
   * Adds many rows of one table at once (building a level): the same figures as `add` row by row, in one tight loop
   * over the columns; only those the tree shows unless the node keeps its full figures (see `full`). `sumsOnly`: the
   * rows are not kept (a root without levels, which keeps its full figures from the start: `keepFull`).
   */
  addRows(t: CallTable, rows: Int32Array, source: CostSource, sumsOnly = false): void {
    if (rows.length === 0) return;
    if (!sumsOnly) this.keepRows(t, rows);
    this.cached = undefined;
    const rec = t.recordedUsd, comp = t.computedUsd;
    const digest = sumsOnly ? undefined : this.digest;
    let priced = 0, costly = 0;
    let cost = 0, max = this.max;
    for (let k = 0; k < rows.length; k++) {
      const i = rows[k];
      const r = rec[i];
      const c = source === 'recorded' ? r : source === 'computed' ? comp[i] : r === r ? r : comp[i];
      if (c !== c) {
        const m = t.pool.get(t.dims.model[i]) || '(no model)';
        this.unpriced[m] = (this.unpriced[m] ?? 0) + 1;
        continue;
      }
      priced++;
      cost += c;
      if (c !== 0) costly++;
      if (c > max) max = c;
      if (digest) digest.add(c);
    }
    this.calls += rows.length;
    this.priced += priced;
    this.cost += cost;
    this.costly += costly;
    this.max = max;
    if (this.full) this.addFullSums(t, rows, source);
  }

  /** Adds the rows' figures beyond the tree's (see `full`): tokens, errors, their cost, savings, time span. */
  private addFullSums(t: CallTable, rows: Int32Array, source: CostSource): void {
    const inT = t.inputTokens, outT = t.outputTokens, crT = t.cacheReadTokens, cwT = t.cacheWriteTokens, rsT = t.reasoningTokens;
    const tsC = t.tsMs, flags = t.flags, rec = t.recordedUsd, comp = t.computedUsd, noC = t.noCacheUsd;
    let inTok = 0, outTok = 0, crTok = 0, cwTok = 0, rsTok = 0, errors = 0, listed = 0, saving = 0, costlyErrors = 0;
    let saved = 0, errorCost = 0, first = this.first, last = this.last;
    for (let k = 0; k < rows.length; k++) {
      const i = rows[k];
      inTok += inT[i];
      outTok += outT[i];
      crTok += crT[i];
      cwTok += cwT[i];
      rsTok += rsT[i];
      const ts = tsC[i];
      if (ts < first) first = ts;
      if (ts > last) last = ts;
      const err = (flags[i] & FLAG_ERROR) !== 0;
      if (err) errors++;
      const r = rec[i];
      const computed = comp[i];
      const c = source === 'recorded' ? r : source === 'computed' ? computed : r === r ? r : computed;
      if (c !== c) continue;
      if (err) {
        errorCost += c;
        if (c !== 0) costlyErrors++;
      }
      if (computed === computed) {
        listed++;
        if (noC[i] - computed !== 0) {
          saved += noC[i] - computed;
          saving++;
        }
      }
    }
    this.inTok += inTok;
    this.outTok += outTok;
    this.crTok += crTok;
    this.cwTok += cwTok;
    this.rsTok += rsTok;
    this.errors += errors;
    this.listed += listed;
    this.saved += saved;
    this.errorCost += errorCost;
    this.saving += saving;
    this.costlyErrors += costlyErrors;
    this.first = first;
    this.last = last;
  }

  /**
   * Sums the full figures (see `full`) when the node does not keep them yet: from its rows, or the root (which keeps
   * none) from its children. Rows replaced in place are taken in first (the owner's catch-up), as for a level.
   */
  private ensureFull(): void {
    if (this.full) return;
    this.owner?.catchUp();
    this.cached = undefined;
    this.inTok = this.outTok = this.crTok = this.cwTok = this.rsTok = 0;
    this.errors = this.listed = this.saving = this.costlyErrors = 0;
    this.saved = this.errorCost = 0;
    this.first = Infinity;
    this.last = -Infinity;
    if (this.parts.length === 0 && this.kids) {
      for (const k of this.kids.byValue.values()) {
        k.ensureFull();
        this.inTok += k.inTok;
        this.outTok += k.outTok;
        this.crTok += k.crTok;
        this.cwTok += k.cwTok;
        this.rsTok += k.rsTok;
        this.errors += k.errors;
        this.listed += k.listed;
        this.saved += k.saved;
        this.errorCost += k.errorCost;
        this.saving += k.saving;
        this.costlyErrors += k.costlyErrors;
        if (k.staleExtremes) k.findExtremes();
        if (k.first < this.first) this.first = k.first;
        if (k.last > this.last) this.last = k.last;
      }
    } else for (const p of this.parts) this.addFullSums(p.table, p.rows.subarray(0, p.n), this.source);
    // Exactly 0 where no call adds to a sum (as removeSums keeps it).
    if (this.saving === 0) this.saved = 0;
    if (this.costlyErrors === 0) this.errorCost = 0;
    this.full = true;
  }

  /**
   * The first and last time and the greatest cost again: from the node's rows, or the root's (which keeps none) from
   * its children (which then keep their full figures, as the root's stats need anyway).
   */
  private findExtremes(): void {
    let first = Infinity;
    let last = -Infinity;
    let max = -Infinity;
    if (this.parts.length === 0 && this.kids) {
      for (const k of this.kids.byValue.values()) {
        k.ensureFull();
        if (k.staleExtremes) k.findExtremes();
        if (k.first < first) first = k.first;
        if (k.last > last) last = k.last;
        if (k.max > max) max = k.max;
      }
    } else {
      for (const p of this.parts) {
        const ts = p.table.tsMs;
        for (let k = 0; k < p.n; k++) {
          const i = p.rows[k];
          if (ts[i] < first) first = ts[i];
          if (ts[i] > last) last = ts[i];
          const c = rowCost(p.table, i, this.source);
          if (c > max) max = c;
        }
      }
    }
    this.first = first;
    this.last = last;
    this.max = max;
    this.staleExtremes = false;
  }

  /**
   * A row replaced in place that stays in this node: its new values in, its old ones out (in that order, so a grown
   * cost or a later time does not make the extremes stale). `digest` false for sums only (the root).
   */
  replaceRow(now: RowValues, old: RowValues, digest: boolean): void {
    this.addSums(now);
    this.removeSums(old, now);
    if (digest && now.cost !== old.cost) {
      if (!Number.isNaN(now.cost)) this.digest?.add(now.cost);
      this.dropFromDigest(old);
    }
  }

  /** A row replaced in place that moves into this node (kept in order by `applyMoves`). */
  moveIn(t: CallTable, row: number, v: RowValues): void {
    this.pendingMoves('in', t).push(row);
    this.addSums(v);
    if (!Number.isNaN(v.cost)) this.digest?.add(v.cost);
  }

  /** A row replaced in place that moves out of this node, with the values it had here (removed by `applyMoves`). */
  moveOut(t: CallTable, row: number, v: RowValues): void {
    this.pendingMoves('out', t).push(row);
    this.removeSums(v);
    this.dropFromDigest(v);
  }

  private pendingMoves(way: 'in' | 'out', t: CallTable): number[] {
    const m = way === 'in' ? (this.movesIn ??= new Map()) : (this.movesOut ??= new Map());
    let list = m.get(t);
    if (!list) m.set(t, (list = []));
    return list;
  }

  private dropFromDigest(v: RowValues): void {
    // A value the digest cannot take out exactly: it is built again from the rows when next read.
    if (!Number.isNaN(v.cost) && this.digest && !this.digest.remove(v.cost)) this.digest = undefined;
  }

  /**
   * Takes the rows that moved out of the node out of its row lists and puts those that moved in at their place (the
   * lists stay in row order). Only the tail from the first row moved is rewritten. False when a row to take out is
   * not there (the index no longer matches the tables: start over).
   */
  applyMoves(): boolean {
    const tables = new Set([...(this.movesOut?.keys() ?? []), ...(this.movesIn?.keys() ?? [])]);
    for (const t of tables) {
      const out = this.movesOut?.get(t)?.sort((a, b) => a - b) ?? [];
      const into = this.movesIn?.get(t)?.sort((a, b) => a - b) ?? [];
      let p = this.parts.find((x) => x.table === t);
      if (!p) {
        if (out.length) return false;
        this.parts.push((p = { table: t, rows: new Int32Array(Math.max(16, into.length)), n: 0 }));
      }
      let rows = p.rows;
      let n = p.n;
      if (out.length) {
        let k = lowerBound(rows, n, out[0]);
        let w = k;
        let o = 0;
        for (; k < n; k++) {
          const r = rows[k];
          if (o < out.length && r === out[o]) o++;
          else rows[w++] = r;
        }
        if (o !== out.length) return false;
        n = w;
      }
      if (into.length) {
        if (n + into.length > rows.length) {
          const g = new Int32Array(Math.max(rows.length * 2, n + into.length));
          g.set(rows.subarray(0, n));
          rows = p.rows = g;
        }
        let i = n - 1;
        let k = n + into.length - 1;
        for (let j = into.length - 1; j >= 0; ) rows[k--] = i >= 0 && rows[i] > into[j] ? rows[i--] : into[j--];
        n += into.length;
      }
      p.n = n;
    }
    this.movesOut = this.movesIn = undefined;
    return true;
  }

  /**
   * Takes a row's sums out (see `addSums`); sums of a node left without calls are exactly zero. `kept`: the values
   * the row has now, just added to this node (a time or cost it still has keeps the extremes).
   */
  removeSums(v: RowValues, kept?: RowValues): void {
    this.cached = undefined;
    this.calls--;
    if (Number.isNaN(v.cost)) {
      const left = (this.unpriced[v.model] ?? 0) - 1;
      if (left > 0) this.unpriced[v.model] = left;
      else delete this.unpriced[v.model];
    } else {
      this.priced--;
      this.cost -= v.cost;
      if (v.cost !== 0) this.costly--;
      if (v.cost >= this.max && v.cost !== kept?.cost) this.staleExtremes = true;
    }
    if (this.costly === 0) this.cost = 0;
    if (!this.full) return;
    this.inTok -= v.inTok;
    this.outTok -= v.outTok;
    this.crTok -= v.crTok;
    this.cwTok -= v.cwTok;
    this.rsTok -= v.rsTok;
    if ((v.ts <= this.first || v.ts >= this.last) && v.ts !== kept?.ts) this.staleExtremes = true;
    if (v.err) this.errors--;
    if (!Number.isNaN(v.cost)) {
      if (v.listed) this.listed--;
      if (v.err) this.errorCost -= v.cost;
      if (v.err && v.cost !== 0) this.costlyErrors--;
      this.saved -= v.saved;
      if (v.saved !== 0) this.saving--;
    }
    if (this.saving === 0) this.saved = 0;
    if (this.costlyErrors === 0) this.errorCost = 0;
  }

  /** Adds another node's figures (the root from its children, as a level is built: see `full`). */
  addSumsOf(o: IndexNode): void {
    this.cached = undefined;
    this.calls += o.calls;
    this.priced += o.priced;
    this.cost += o.cost;
    this.costly += o.costly;
    if (o.max > this.max) this.max = o.max;
    for (const [m, n] of Object.entries(o.unpriced)) this.unpriced[m] = (this.unpriced[m] ?? 0) + n;
    // The root of a level being built: its full figures are summed from its children when first read.
    this.full = false;
  }

  /** The rows of each table in this node. */
  rowsByTable(): { table: CallTable; rows: Int32Array }[] {
    return this.parts.map((p) => ({ table: p.table, rows: p.rows.subarray(0, p.n) }));
  }

  /**
   * Adds a row's sums only: the root keeps no rows (they are the tables', within the time range, read from them when
   * its children are built) and no percentiles.
   */
  addSums(v: RowValues): void {
    this.cached = undefined;
    this.calls++;
    if (Number.isNaN(v.cost)) this.unpriced[v.model] = (this.unpriced[v.model] ?? 0) + 1;
    else {
      this.priced++;
      this.cost += v.cost;
      if (v.cost !== 0) this.costly++;
      if (v.cost > this.max) this.max = v.cost;
    }
    if (!this.full) return;
    this.inTok += v.inTok;
    this.outTok += v.outTok;
    this.crTok += v.crTok;
    this.cwTok += v.cwTok;
    this.rsTok += v.rsTok;
    if (v.ts < this.first) this.first = v.ts;
    if (v.ts > this.last) this.last = v.ts;
    if (v.err) this.errors++;
    if (Number.isNaN(v.cost)) return;
    if (v.listed) this.listed++;
    if (v.err) this.errorCost += v.cost;
    if (v.err && v.cost !== 0) this.costlyErrors++;
    this.saved += v.saved;
    if (v.saved !== 0) this.saving++;
  }
}

export interface GroupIndexOptions {
  /** The tree's levels, e.g. feature, user, model. */
  dims: readonly string[];
  source: CostSource;
  sinceMs?: number;
  untilMs?: number;
}

/** What `sync` did: started over, took in rows appended or replaced in place since the last sync, or nothing. */
export type SyncResult = 'rebuilt' | 'appended' | 'unchanged';

export class GroupIndex {
  private opts: GroupIndexOptions | undefined;
  private root: IndexNode | undefined;
  private generation = 0;
  /** Calls left out of a time-bounded range because they have no timestamp. */
  undated = 0;
  /** How many times the index was built from scratch. */
  rebuilds = 0;
  /** Rows replaced in place in the tables that the index took out and in again (instead of starting over). */
  replacedRows = 0;
  /** Per table: rows already taken in, and its in-place edit count then. */
  private readonly seen = new Map<CallTable, { length: number; edits: number }>();
  private readonly scratch: RowValues = { inTok: 0, outTok: 0, crTok: 0, cwTok: 0, rsTok: 0, ts: 0, cost: 0, err: false, copy: false, saved: 0, listed: false, model: '' };
  /** The old values of a row replaced in place. */
  private readonly oldScratch: RowValues = { ...this.scratch };
  private catchingUp = false;

  /**
   * Brings the index up to date with `tables`: rows appended since the last call are added to every materialised
   * node, rows replaced in place (`CallTable.replaced`) are taken out of their old groups and put in their new ones;
   * anything else (other options, a table gone or shrunk, an edit the table's log no longer holds, a reprice) rebuilds
   * it.
   */
  sync(tables: readonly CallTable[], opts: GroupIndexOptions): SyncResult {
    const replaced = this.wouldRebuild(tables, opts) ? -1 : this.replaceAll(tables);
    if (replaced < 0) {
      const steps = this.rebuildSteps(tables, opts);
      while (!steps.next().done);
      return 'rebuilt';
    }
    let appended = replaced > 0;
    for (const t of tables) {
      const from = this.seen.get(t)?.length ?? 0;
      if (t.length > from) {
        this.take(t, from);
        appended = true;
      } else if (!this.seen.has(t)) this.seen.set(t, { length: t.length, edits: t.edits });
    }
    return appended ? 'appended' : 'unchanged';
  }

  /** Whether `sync` with these tables and options would start over (rather than add appended rows). */
  wouldRebuild(tables: readonly CallTable[], opts: GroupIndexOptions): boolean {
    return !this.root || !this.opts || !sameOptions(this.opts, opts) || this.needsRebuild(tables);
  }

  /**
   * Starts over like `sync`, in slices of rows with `turn()` awaited between them, so a million calls do not hold the
   * caller's event loop; the old index answers until the new one is complete. Rows appended meanwhile are taken by the
   * next `sync`.
   */
  async rebuildAsync(tables: readonly CallTable[], opts: GroupIndexOptions, turn: () => Promise<void>, slice?: number): Promise<void> {
    const steps = this.rebuildSteps(tables, opts, slice);
    do await turn(); // a turn first: the caller may just have done its own long step
    while (!steps.next().done);
  }

  /** Builds a new root and its first level, a slice of rows per step, then puts it in place. */
  private *rebuildSteps(tables: readonly CallTable[], opts: GroupIndexOptions, slice = 100_000): Generator<void> {
    const o: GroupIndexOptions = { ...opts, dims: [...opts.dims] };
    const root = new IndexNode('', '', [], o.source);
    root.generation = ++this.generation;
    root.owner = this;
    const bounded = o.sinceMs !== undefined || o.untilMs !== undefined;
    const seen = new Map<CallTable, { length: number; edits: number }>();
    let undated = 0;
    for (const t of tables) {
      seen.set(t, { length: t.length, edits: t.edits });
      if (bounded) undated += undatedRows(t);
    }
    // The first level is built right away (the tree and the status bar need it); the root's sums are its children's.
    if (o.dims.length) {
      const dim = o.dims[0];
      root.kids = { dim, byValue: new Map(), byId: new Map() };
      for (const t of tables) {
        root.kids.byId.set(t, []);
        const rows = selectedRows(t, o, seen.get(t)!.length);
        const col = t.column(dim);
        for (let at = 0; at < rows.length; at += slice) {
          const part = rows.subarray(at, at + slice);
          if (!col) this.newKid(root, t, 0).addRows(t, part, o.source);
          else {
            const { sorted, runs } = runsById(col, part, t.pool.values.length);
            for (const r of runs) this.newKid(root, t, r.id).addRows(t, sorted.subarray(r.start, r.end), o.source);
          }
          yield;
        }
      }
      for (const kid of root.kids.byValue.values()) root.addSumsOf(kid);
    } else {
      root.keepFull();
      for (const t of tables) root.addRows(t, selectedRows(t, o, seen.get(t)!.length), o.source, true);
    }
    this.opts = o;
    this.root = root;
    this.seen.clear();
    // A row replaced between two slices may have been read before or after: the next sync starts over.
    for (const [t, v] of seen) this.seen.set(t, t.edits === v.edits ? v : { length: v.length, edits: -1 });
    this.undated = undated;
    this.rebuilds++;
  }

  private needsRebuild(tables: readonly CallTable[]): boolean {
    const now = new Set(tables);
    for (const [t, s] of this.seen) {
      if (!now.has(t) || t.length < s.length) return true;
      // In-place replacements are taken out and in again while the table's log holds them all (a level is needed
      // to find the extremes of the root again).
      if (t.edits !== s.edits && (!this.root?.kids || !t.replaced.range(s.edits, t.edits))) return true;
    }
    return false;
  }

  /**
   * Takes in the rows replaced in place since the last sync, before rows are read from the tables (a level built,
   * percentiles or extremes found again): otherwise those would hold the rows' new values, which the next sync would
   * add again. When the tables' logs do not hold the replacements, nothing is done here: the next sync starts over.
   */
  catchUp(): void {
    if (!this.root || this.catchingUp) return;
    let pending = false;
    for (const [t, s] of this.seen) if (t.edits !== s.edits) pending = true;
    if (!pending) return;
    const tables = [...this.seen.keys()];
    if (this.needsRebuild(tables)) return;
    this.catchingUp = true;
    try {
      if (this.replaceAll(tables) < 0) for (const [t, s] of this.seen) this.seen.set(t, { length: s.length, edits: -1 });
    } finally {
      this.catchingUp = false;
    }
  }

  /**
   * Takes the rows replaced in place in `tables` since the last sync out of the groups they were in and puts them in
   * their groups now (see `replace`). The number of rows, or −1 when the index must start over.
   */
  private replaceAll(tables: readonly CallTable[]): number {
    let n = 0;
    for (const t of tables) {
      const s = this.seen.get(t);
      if (!s || s.edits === t.edits) continue;
      const done = this.replace(t, s.length, s.edits);
      if (done < 0) return -1;
      n += done;
      this.seen.set(t, { length: s.length, edits: t.edits });
    }
    this.replacedRows += n;
    return n;
  }

  /**
   * Rows of `t` below `length` (those the index holds) replaced after edit count `edits`: the old values of each
   * (the log's first entry for the row, which the index holds) are taken out of the root and the groups of its old
   * path, the row's values now put in the groups of its new path; groups both paths share only change their sums.
   * Time range: the old row counts only if it was in range, the new one only if it is; a row marked as a copy of a
   * call counted in another file (FLAG_COPY) counts in neither case (marking it is such a replacement). Groups left
   * without calls go.
   * The number of rows, or −1 when the log does not hold the edits or the index does not match it.
   */
  private replace(t: CallTable, length: number, edits: number): number {
    const log = t.replaced;
    const range = log.range(edits, t.edits);
    const opts = this.opts!;
    const root = this.root!;
    if (!range || !root.kids) return -1;
    const firstSlot = new Map<number, number>();
    for (let j = range.from; j < range.to; j++) {
      const row = log.row(j);
      if (row < length && !firstSlot.has(row)) firstSlot.set(row, j);
    }
    const since = opts.sinceMs ?? -Infinity;
    const until = opts.untilMs ?? Infinity;
    const bounded = opts.sinceMs !== undefined || opts.untilMs !== undefined;
    const inRange = (v: RowValues) => !v.copy && (!bounded || (v.ts >= since && v.ts < until));
    /** Nodes rows moved into or out of, with their parent. */
    const moved = new Map<IndexNode, IndexNode>();
    for (const [row, j] of firstSlot) {
      const old = this.readOld(t, log, j, opts.source);
      const now = this.read(t, row, opts.source);
      const wasIn = inRange(old);
      const isIn = inRange(now);
      if (bounded && !old.copy && Number.isNaN(old.ts)) this.undated--;
      if (bounded && !now.copy && Number.isNaN(now.ts)) this.undated++;
      if (wasIn && isIn) root.replaceRow(now, old, false);
      else if (wasIn) root.removeSums(old);
      else if (isIn) root.addSums(now);
      // Down both paths, level by level, while the levels are materialised.
      let a = wasIn ? root : undefined;
      let b = isIn ? root : undefined;
      while (a || b) {
        let na: IndexNode | undefined;
        if (a?.kids) {
          na = a.kids.byId.get(t)?.[log.id(j, a.kids.dim)];
          if (!na || na.calls < 1) return -1;
        }
        const nb = b?.kids ? this.kidOf(b, t, row) : undefined;
        if (na && na === nb) na.replaceRow(now, old, true);
        else {
          if (na) {
            na.moveOut(t, row, old);
            moved.set(na, a!);
          }
          if (nb) {
            nb.moveIn(t, row, now);
            moved.set(nb, b!);
          }
        }
        a = na;
        b = nb;
      }
    }
    for (const node of moved.keys()) if (!node.applyMoves()) return -1;
    for (const [node, parent] of moved) if (node.calls === 0) this.detach(node, parent);
    return firstSlot.size;
  }

  /** Takes a group left without calls out of the tree (a node shown before reads as gone: `children` finds its path). */
  private detach(node: IndexNode, parent: IndexNode): void {
    const kids = parent.kids!;
    if (kids.byValue.get(node.value) === node) kids.byValue.delete(node.value);
    for (const ids of kids.byId.values()) {
      for (const id in ids) if (ids[id] === node) delete ids[id];
    }
    const mark = (n: IndexNode) => {
      n.generation = -1;
      if (n.kids) for (const k of n.kids.byValue.values()) mark(k);
    };
    mark(node);
  }

  /** The whole selection (all levels' root). */
  get total(): IndexNode | undefined {
    return this.root;
  }

  /**
   * The groups under `parent` (the top level when undefined), costliest first. The top level always holds the
   * `(unattributed)` group, with zero calls if need be, so users see that it is empty.
   */
  children(parent?: IndexNode): IndexNode[] {
    this.catchUp();
    const root = this.root;
    const opts = this.opts;
    if (!root || !opts) return [];
    const node = parent && parent.generation !== root.generation ? this.find(parent.path) : parent ?? root;
    if (!node) return [];
    const depth = node.path.length;
    if (depth >= opts.dims.length) return [];
    if (!node.kids) this.materialise(node, opts.dims[depth]);
    const kids = node.kids!;
    if (node === root && !kids.byValue.has(UNATTRIBUTED)) {
      const empty = new IndexNode(kids.dim, UNATTRIBUTED, [{ dim: kids.dim, value: UNATTRIBUTED }], opts.source);
      empty.generation = root.generation;
      empty.owner = this;
      kids.byValue.set(UNATTRIBUTED, empty);
    }
    const list = [...kids.byValue.values()];
    const parentCost = node.costUsd;
    for (const k of list) k.shareOfParent = parentCost > 0 ? k.costUsd / parentCost : 0;
    list.sort((a, b) => b.costUsd - a.costUsd || b.calls - a.calls || a.value.localeCompare(b.value));
    return list;
  }

  /** The current node of a path (e.g. of a node from before a rebuild), materialising the levels on the way. */
  find(path: readonly { dim: string; value: string }[]): IndexNode | undefined {
    let node = this.root;
    for (let d = 0; node && d < path.length; d++) {
      if (this.opts?.dims[d] !== path[d].dim) return undefined;
      node = this.children(d === 0 ? undefined : node).find((k) => k.value === path[d].value);
    }
    return node;
  }

  private materialise(node: IndexNode, dim: string): void {
    node.kids = { dim, byValue: new Map(), byId: new Map() };
    const source = this.opts!.source;
    const parts = node.rowsByTable(); // the root's first level is built with the root (rebuildSteps)
    for (const { table: t, rows } of parts) {
      if (!node.kids.byId.has(t)) node.kids.byId.set(t, []);
      const col = t.column(dim);
      if (!col) {
        this.newKid(node, t, 0).addRows(t, rows, source);
        continue;
      }
      // Counting sort of the rows by the dimension's id, then each child takes its run of rows in one go.
      const { sorted, runs } = runsById(col, rows, t.pool.values.length);
      for (const r of runs) this.newKid(node, t, r.id).addRows(t, sorted.subarray(r.start, r.end), source);
    }
  }

  private kidOf(node: IndexNode, t: CallTable, i: number): IndexNode {
    const kids = node.kids!;
    let ids = kids.byId.get(t);
    if (!ids) kids.byId.set(t, (ids = []));
    const col = t.column(kids.dim);
    const id = col ? col[i] : 0;
    return ids[id] ?? this.newKid(node, t, id);
  }

  /** The child of `node` for the value with id `id` in `t`'s pool, created when new. */
  private newKid(node: IndexNode, t: CallTable, id: number): IndexNode {
    const kids = node.kids!;
    const known = kids.byId.get(t)?.[id];
    if (known) return known;
    const value = id === 0 ? UNATTRIBUTED : t.pool.get(id);
    let kid = kids.byValue.get(value);
    if (!kid) {
      kids.byValue.set(value, (kid = new IndexNode(kids.dim, value, [...node.path, { dim: kids.dim, value }], node.source)));
      kid.generation = node.generation;
      kid.owner = this;
    }
    kids.byId.get(t)![id] = kid;
    return kid;
  }

  private read(t: CallTable, i: number, source: CostSource): RowValues {
    const v = this.scratch;
    v.inTok = t.inputTokens[i];
    v.outTok = t.outputTokens[i];
    v.crTok = t.cacheReadTokens[i];
    v.cwTok = t.cacheWriteTokens[i];
    v.rsTok = t.reasoningTokens[i];
    v.ts = t.tsMs[i];
    v.err = (t.flags[i] & FLAG_ERROR) !== 0;
    v.copy = (t.flags[i] & FLAG_COPY) !== 0;
    const c = rowCost(t, i, source);
    v.cost = c;
    if (Number.isNaN(c)) {
      v.model = t.pool.get(t.dims.model[i]) || '(no model)';
      v.saved = 0;
      v.listed = false;
    } else {
      const computed = t.computedUsd[i];
      v.saved = Number.isNaN(computed) ? 0 : t.noCacheUsd[i] - computed;
      v.listed = !Number.isNaN(computed);
    }
    return v;
  }

  /** `read` of the values a replaced row had (slot `j` of the table's log). */
  private readOld(t: CallTable, log: ReplacedRows, j: number, source: CostSource): RowValues {
    const v = this.oldScratch;
    v.inTok = log.value(j, 'inputTokens');
    v.outTok = log.value(j, 'outputTokens');
    v.crTok = log.value(j, 'cacheReadTokens');
    v.cwTok = log.value(j, 'cacheWriteTokens');
    v.rsTok = log.value(j, 'reasoningTokens');
    v.ts = log.value(j, 'tsMs');
    v.err = (log.value(j, 'flags') & FLAG_ERROR) !== 0;
    v.copy = (log.value(j, 'flags') & FLAG_COPY) !== 0;
    const recorded = log.value(j, 'recordedUsd');
    const computed = log.value(j, 'computedUsd');
    // As rowCost.
    const c = source === 'recorded' ? recorded : source === 'computed' ? computed : Number.isNaN(recorded) ? computed : recorded;
    v.cost = c;
    v.listed = !Number.isNaN(c) && !Number.isNaN(computed);
    if (Number.isNaN(c)) {
      v.model = t.pool.get(log.id(j, 'model')) || '(no model)';
      v.saved = 0;
    } else v.saved = Number.isNaN(computed) ? 0 : log.value(j, 'noCacheUsd') - computed;
    return v;
  }

  /** Adds rows `from`.. of a table to the root and every materialised level below it. */
  private take(t: CallTable, from: number): void {
    const opts = this.opts!;
    const root = this.root!;
    const since = opts.sinceMs ?? -Infinity;
    const until = opts.untilMs ?? Infinity;
    const bounded = opts.sinceMs !== undefined || opts.untilMs !== undefined;
    const ts = t.tsMs;
    const copies = copyFlags(t);
    for (let i = from; i < t.length; i++) {
      if (copies && (copies[i] & FLAG_COPY) !== 0) continue;
      if (bounded && !(ts[i] >= since && ts[i] < until)) {
        if (Number.isNaN(ts[i])) this.undated++;
        continue;
      }
      this.read(t, i, opts.source);
      let node = root;
      node.addSums(this.scratch);
      while (node.kids) {
        node = this.kidOf(node, t, i);
        node.add(t, i, this.scratch);
      }
    }
    this.seen.set(t, { length: t.length, edits: t.edits });
  }
}

/** The first index of `rows[0..n)` (ascending) holding a value ≥ `v`. */
function lowerBound(rows: Int32Array, n: number, v: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (rows[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The rows < `length` of a table within the options' time range (the root's rows), copies of calls counted in another file left out. */
function selectedRows(t: CallTable, opts: GroupIndexOptions, length: number): Int32Array {
  const copies = copyFlags(t);
  if (opts.sinceMs === undefined && opts.untilMs === undefined && !copies) {
    const all = new Int32Array(length);
    for (let i = 0; i < length; i++) all[i] = i;
    return all;
  }
  const bounded = opts.sinceMs !== undefined || opts.untilMs !== undefined;
  const since = opts.sinceMs ?? -Infinity;
  const until = opts.untilMs ?? Infinity;
  const ts = t.tsMs;
  const out = new Int32Array(length);
  let n = 0;
  if (!copies) {
    for (let i = 0; i < length; i++) if (ts[i] >= since && ts[i] < until) out[n++] = i;
  } else for (let i = 0; i < length; i++) if ((copies[i] & FLAG_COPY) === 0 && (!bounded || (ts[i] >= since && ts[i] < until))) out[n++] = i;
  return out.subarray(0, n);
}

/** The rows of a table without a timestamp (a time-bounded index leaves them out), copies left out. */
function undatedRows(t: CallTable): number {
  const copies = copyFlags(t);
  let n = 0;
  for (let i = 0; i < t.length; i++) if (Number.isNaN(t.tsMs[i]) && !(copies && (copies[i] & FLAG_COPY) !== 0)) n++;
  return n;
}

function sameOptions(a: GroupIndexOptions, b: GroupIndexOptions): boolean {
  return a.source === b.source && a.sinceMs === b.sinceMs && a.untilMs === b.untilMs && a.dims.length === b.dims.length && a.dims.every((d, i) => d === b.dims[i]);
}
