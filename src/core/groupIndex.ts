import { quantile } from 'simple-statistics';
import { type GroupStats, rowCost, runsById, type Slice, UNATTRIBUTED } from './analysis';
import { type CallTable, FLAG_ERROR } from './callTable';
import type { GroupNode } from './groupTree';
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

  add(v: number): void {
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
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
  saved: number;
  model: string;
}

/** One group of the incremental tree. Implements the tree's GroupNode (stats computed when read, then cached). */
export class IndexNode implements GroupNode {
  readonly id: string;
  /** The index build this node belongs to (a rebuild makes new nodes). */
  generation = 0;
  shareOfParent = 0;
  private readonly parts: Part[] = [];
  private lastPart: Part | undefined;
  calls = 0;
  private priced = 0;
  private cost = 0;
  private saved = 0;
  private inTok = 0;
  private outTok = 0;
  private crTok = 0;
  private cwTok = 0;
  private rsTok = 0;
  private errors = 0;
  private errorCost = 0;
  private first = Infinity;
  private last = -Infinity;
  private unpriced: Record<string, number> = {};
  private max = -Infinity;
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
    return this.parts.filter((p) => p.n > 0).map((p) => ({ table: p.table, rows: p.rows.subarray(0, p.n) }));
  }

  /** All the figures, percentiles included (which builds the percentile digest the first time). */
  get stats(): GroupStats {
    if (this.cached) return this.cached;
    const [p50, p95, p99] = this.costDigest().quantiles([0.5, 0.95, 0.99]);
    const allInput = this.inTok + this.crTok + this.cwTok;
    this.cached = {
      calls: this.calls,
      pricedCalls: this.priced,
      unpricedCalls: this.calls - this.priced,
      costUsd: this.cost,
      costWithoutCacheUsd: this.cost + this.saved,
      cacheSavingsUsd: this.saved,
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

  /** Whether the percentiles in `stats` are exact or from the sketch. */
  get exactPercentiles(): boolean {
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
   * over the columns.
   */
  addRows(t: CallTable, rows: Int32Array, source: CostSource, sumsOnly = false): void {
    if (rows.length === 0) return;
    if (!sumsOnly) this.keepRows(t, rows);
    this.cached = undefined;
    const inT = t.inputTokens, outT = t.outputTokens, crT = t.cacheReadTokens, cwT = t.cacheWriteTokens, rsT = t.reasoningTokens;
    const tsC = t.tsMs, flags = t.flags, rec = t.recordedUsd, comp = t.computedUsd, noC = t.noCacheUsd;
    const digest = sumsOnly ? undefined : this.digest;
    let inTok = 0, outTok = 0, crTok = 0, cwTok = 0, rsTok = 0, errors = 0, priced = 0;
    let cost = 0, saved = 0, errorCost = 0, first = this.first, last = this.last, max = this.max;
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
      const c = source === 'recorded' ? r : source === 'computed' ? computed : Number.isNaN(r) ? computed : r;
      if (Number.isNaN(c)) {
        const m = t.pool.get(t.dims.model[i]) || '(no model)';
        this.unpriced[m] = (this.unpriced[m] ?? 0) + 1;
        continue;
      }
      priced++;
      cost += c;
      if (c > max) max = c;
      if (err) errorCost += c;
      if (!Number.isNaN(computed)) saved += noC[i] - computed;
      if (digest) digest.add(c);
    }
    this.calls += rows.length;
    this.inTok += inTok;
    this.outTok += outTok;
    this.crTok += crTok;
    this.cwTok += cwTok;
    this.rsTok += rsTok;
    this.errors += errors;
    this.priced += priced;
    this.cost += cost;
    this.saved += saved;
    this.errorCost += errorCost;
    this.first = first;
    this.last = last;
    this.max = max;
  }

  /** Adds another node's sums (the root from its children). */
  addSumsOf(o: IndexNode): void {
    this.cached = undefined;
    this.calls += o.calls;
    this.priced += o.priced;
    this.cost += o.cost;
    this.saved += o.saved;
    this.inTok += o.inTok;
    this.outTok += o.outTok;
    this.crTok += o.crTok;
    this.cwTok += o.cwTok;
    this.rsTok += o.rsTok;
    this.errors += o.errors;
    this.errorCost += o.errorCost;
    if (o.first < this.first) this.first = o.first;
    if (o.last > this.last) this.last = o.last;
    if (o.max > this.max) this.max = o.max;
    for (const [m, n] of Object.entries(o.unpriced)) this.unpriced[m] = (this.unpriced[m] ?? 0) + n;
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
    this.inTok += v.inTok;
    this.outTok += v.outTok;
    this.crTok += v.crTok;
    this.cwTok += v.cwTok;
    this.rsTok += v.rsTok;
    if (v.ts < this.first) this.first = v.ts;
    if (v.ts > this.last) this.last = v.ts;
    if (v.err) this.errors++;
    if (Number.isNaN(v.cost)) {
      this.unpriced[v.model] = (this.unpriced[v.model] ?? 0) + 1;
      return;
    }
    this.priced++;
    this.cost += v.cost;
    if (v.cost > this.max) this.max = v.cost;
    if (v.err) this.errorCost += v.cost;
    this.saved += v.saved;
  }
}

export interface GroupIndexOptions {
  /** The tree's levels, e.g. feature, user, model. */
  dims: readonly string[];
  source: CostSource;
  sinceMs?: number;
  untilMs?: number;
}

/** What `sync` did. */
export type SyncResult = 'rebuilt' | 'appended' | 'unchanged';

export class GroupIndex {
  private opts: GroupIndexOptions | undefined;
  private root: IndexNode | undefined;
  private generation = 0;
  /** Calls left out of a time-bounded range because they have no timestamp. */
  undated = 0;
  /** Per table: rows already taken in, and its in-place edit count then. */
  private readonly seen = new Map<CallTable, { length: number; edits: number }>();
  private readonly scratch: RowValues = { inTok: 0, outTok: 0, crTok: 0, cwTok: 0, rsTok: 0, ts: 0, cost: 0, err: false, saved: 0, model: '' };

  /**
   * Brings the index up to date with `tables`: rows appended since the last call are added to every materialised
   * node; anything else (other options, a table gone, shrunk or edited in place, e.g. repriced) rebuilds it.
   */
  sync(tables: readonly CallTable[], opts: GroupIndexOptions): SyncResult {
    if (this.wouldRebuild(tables, opts)) {
      const steps = this.rebuildSteps(tables, opts);
      while (!steps.next().done);
      return 'rebuilt';
    }
    let appended = false;
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
    const bounded = o.sinceMs !== undefined || o.untilMs !== undefined;
    const seen = new Map<CallTable, { length: number; edits: number }>();
    let undated = 0;
    for (const t of tables) {
      seen.set(t, { length: t.length, edits: t.edits });
      if (bounded) for (let i = 0; i < t.length; i++) if (Number.isNaN(t.tsMs[i])) undated++;
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
    } else for (const t of tables) root.addRows(t, selectedRows(t, o, seen.get(t)!.length), o.source, true);
    this.opts = o;
    this.root = root;
    this.seen.clear();
    for (const [t, v] of seen) this.seen.set(t, v);
    this.undated = undated;
  }

  private needsRebuild(tables: readonly CallTable[]): boolean {
    const now = new Set(tables);
    for (const [t, s] of this.seen) if (!now.has(t) || t.length < s.length || t.edits !== s.edits) return true;
    return false;
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
    }
    kids.byId.get(t)![id] = kid;
    return kid;
  }

  private read(t: CallTable, i: number, source: CostSource): void {
    const v = this.scratch;
    v.inTok = t.inputTokens[i];
    v.outTok = t.outputTokens[i];
    v.crTok = t.cacheReadTokens[i];
    v.cwTok = t.cacheWriteTokens[i];
    v.rsTok = t.reasoningTokens[i];
    v.ts = t.tsMs[i];
    v.err = (t.flags[i] & FLAG_ERROR) !== 0;
    const c = rowCost(t, i, source);
    v.cost = c;
    if (Number.isNaN(c)) {
      v.model = t.pool.get(t.dims.model[i]) || '(no model)';
      v.saved = 0;
    } else {
      const computed = t.computedUsd[i];
      v.saved = Number.isNaN(computed) ? 0 : t.noCacheUsd[i] - computed;
    }
  }

  /** Adds rows `from`.. of a table to the root and every materialised level below it. */
  private take(t: CallTable, from: number): void {
    const opts = this.opts!;
    const root = this.root!;
    const since = opts.sinceMs ?? -Infinity;
    const until = opts.untilMs ?? Infinity;
    const bounded = opts.sinceMs !== undefined || opts.untilMs !== undefined;
    const ts = t.tsMs;
    for (let i = from; i < t.length; i++) {
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

/** The rows < `length` of a table within the options' time range (the root's rows). */
function selectedRows(t: CallTable, opts: GroupIndexOptions, length: number): Int32Array {
  if (opts.sinceMs === undefined && opts.untilMs === undefined) {
    const all = new Int32Array(length);
    for (let i = 0; i < length; i++) all[i] = i;
    return all;
  }
  const since = opts.sinceMs ?? -Infinity;
  const until = opts.untilMs ?? Infinity;
  const ts = t.tsMs;
  const out = new Int32Array(length);
  let n = 0;
  for (let i = 0; i < length; i++) if (ts[i] >= since && ts[i] < until) out[n++] = i;
  return out.subarray(0, n);
}

function sameOptions(a: GroupIndexOptions, b: GroupIndexOptions): boolean {
  return a.source === b.source && a.sinceMs === b.sinceMs && a.untilMs === b.untilMs && a.dims.length === b.dims.length && a.dims.every((d, i) => d === b.dims[i]);
}
