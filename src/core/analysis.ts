import { quantile } from 'simple-statistics';
import { type CallTable, FLAG_COPY, FLAG_ERROR, type StringPool } from './callTable';
import { type CostSource, UNATTRIBUTED } from './types';

// (Defined with the shared types, so that modules a range reader loads need not load this one and simple-statistics.)
export { UNATTRIBUTED };

/** Rows of one table picked by a query. */
export interface Slice {
  table: CallTable;
  rows: Int32Array;
}

export interface QueryOptions {
  /** Keep calls at or after this time, epoch ms. Calls without a timestamp are dropped when a bound is set (`countUndated` counts them). */
  sinceMs?: number;
  /** Keep calls strictly before this time, epoch ms. */
  untilMs?: number;
  costSource?: CostSource;
  /** Keep calls whose dimension equals the value (`(unattributed)` matches calls without one). */
  filters?: { dim: string; value: string }[];
}

/** Figures for a group of calls. Money in USD; tokens as counts; ratios in 0..1. */
export interface GroupStats {
  calls: number;
  /** Calls that have a cost (recorded or computed, as the cost source says). */
  pricedCalls: number;
  /** Calls with no cost: a model without a price (or, with `recorded`, no recorded cost). Never counted as $0. */
  unpricedCalls: number;
  costUsd: number;
  /** What the priced calls would have cost without the prompt cache (cache reads and writes billed as input). */
  costWithoutCacheUsd: number;
  /** costWithoutCacheUsd - costUsd; negative when cache writes cost more than reads saved. */
  cacheSavingsUsd: number;
  /**
   * Priced calls whose model has a list price, from which the savings are computed (a call priced only by its recorded
   * cost has none): when some priced calls are not among them, the report gives the savings as unknown, not as the
   * part it knows. Set by `stats`/`groupBy`.
   */
  listPricedCalls?: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  /** Cache-read tokens over all input tokens (uncached + cache read + cache write). */
  cacheHitRatio: number;
  meanUsd: number;
  p50Usd: number;
  p95Usd: number;
  p99Usd: number;
  maxUsd: number;
  errors: number;
  errorCostUsd: number;
  firstTsMs: number;
  lastTsMs: number;
  /** Unpriced model names with their call counts. */
  unpricedModels: Record<string, number>;
}

/**
 * Models with no price (computed cost NaN) among rows `from`..`to` of a table, with their call counts (copies of calls
 * counted in another file left out).
 */
export function unpricedModelCounts(t: CallTable, from = 0, to = t.length): Map<string, number> {
  const counts = new Map<number, number>();
  const cost = t.computedUsd;
  const model = t.dims.model;
  const copies = copyFlags(t);
  for (let i = from; i < to; i++) {
    if (Number.isNaN(cost[i]) && !(copies && (copies[i] & FLAG_COPY) !== 0)) counts.set(model[i], (counts.get(model[i]) ?? 0) + 1);
  }
  const out = new Map<string, number>();
  for (const [id, n] of counts) out.set(t.pool.get(id) || '(no model)', n);
  return out;
}

/** The model ids the tables' calls use, sorted (one pass over the model column, no string per row). */
export function modelsInUse(tables: readonly CallTable[]): string[] {
  // One mark per string of each pool, however many tables share it (2,000 transcripts share one pool of ~400,000
  // strings: a mark array per table zeroed ~800 MB, 1.4 s on the extension host each time the dashboard asked).
  const marks = new Map<StringPool, Uint8Array>();
  for (const t of tables) {
    let mark = marks.get(t.pool);
    if (!mark || mark.length < t.pool.values.length) {
      const grown = new Uint8Array(t.pool.values.length);
      if (mark) grown.set(mark);
      marks.set(t.pool, (mark = grown));
    }
    const col = t.dims.model;
    for (let i = 0; i < t.length; i++) mark[col[i]] = 1;
  }
  const seen = new Set<string>();
  for (const [pool, mark] of marks) for (let id = 1; id < mark.length; id++) if (mark[id]) seen.add(pool.get(id));
  return [...seen].sort();
}

/**
 * The latest timestamp of the tables' calls (copies left out) up to `untilMs` (a call dated later, a clock ahead, is
 * left out), epoch ms; undefined when none is dated.
 */
export function latestCallMs(tables: readonly CallTable[], untilMs = Infinity): number | undefined {
  let latest = -Infinity;
  for (const t of tables) {
    const ts = t.tsMs;
    const copies = copyFlags(t);
    for (let i = 0; i < t.length; i++) if (ts[i] > latest && ts[i] <= untilMs && !(copies && (copies[i] & FLAG_COPY) !== 0)) latest = ts[i];
  }
  return Number.isFinite(latest) ? latest : undefined;
}

/**
 * The flags of a table that marks rows as copies of calls counted in another file (FLAG_COPY), which every figure
 * leaves out; undefined when it marks none (loops then need not look).
 */
export function copyFlags(t: CallTable): Uint8Array | undefined {
  return t.copies > 0 ? t.flags : undefined;
}

/** Effective cost of row `i` under a cost source; NaN when it has none. */
export function rowCost(t: CallTable, i: number, source: CostSource): number {
  if (source === 'recorded') return t.recordedUsd[i];
  if (source === 'computed') return t.computedUsd[i];
  const r = t.recordedUsd[i];
  return Number.isNaN(r) ? t.computedUsd[i] : r;
}

/** The filters of a query as column/id pairs of one table; undefined when no row of the table can match. */
function filterConds(table: CallTable, filters: QueryOptions['filters']): { col: Int32Array | undefined; id: number }[] | undefined {
  const conds: { col: Int32Array | undefined; id: number }[] = [];
  for (const f of filters ?? []) {
    const col = table.column(f.dim);
    const id = f.value === UNATTRIBUTED ? 0 : table.pool.peek(f.value);
    if (id === undefined || (col === undefined && id !== 0)) return undefined;
    conds.push({ col, id });
  }
  return conds;
}

/** Picks the rows of every table that match the time range and filters (never a copy of a call counted in another file). */
export function select(tables: readonly CallTable[], opts: QueryOptions = {}): Slice[] {
  const since = opts.sinceMs ?? -Infinity;
  const until = opts.untilMs ?? Infinity;
  const timeBound = opts.sinceMs !== undefined || opts.untilMs !== undefined;
  const out: Slice[] = [];
  for (const table of tables) {
    const conds = filterConds(table, opts.filters);
    if (!conds) continue;
    const rows = new Int32Array(table.length);
    const n = conds.length || timeBound || table.copies > 0 ? selectRows(table, timeBound, since, until, conds, rows) : allRows(rows);
    if (n > 0) out.push({ table, rows: rows.subarray(0, n) });
  }
  return out;
}

/** Every row (a query without a time range or filters); how many. */
function allRows(rows: Int32Array): number {
  for (let i = 0; i < rows.length; i++) rows[i] = i;
  return rows.length;
}

/** The rows in the time range that match the conditions, copies left out, into `rows`; how many. */
function selectRows(table: CallTable, timeBound: boolean, since: number, until: number, conds: { col: Int32Array | undefined; id: number }[], rows: Int32Array): number {
  let n = 0;
  const ts = table.tsMs;
  const copies = copyFlags(table);
  outer: for (let i = 0; i < table.length; i++) {
    if (copies && (copies[i] & FLAG_COPY) !== 0) continue;
    if (timeBound) {
      const t = ts[i];
      if (!(t >= since && t < until)) continue;
    }
    for (const c of conds) if ((c.col ? c.col[i] : 0) !== c.id) continue outer;
    rows[n++] = i;
  }
  return n;
}

/**
 * Calls that match the query's filters but have no timestamp, so that `select` leaves them out of a time-bounded
 * query (`sinceMs` or `untilMs` set); 0 when the query has no time bound (they are all in it then). For a note
 * such as "12 calls without a timestamp are not in this time range".
 */
export function countUndated(tables: readonly CallTable[], opts: QueryOptions = {}): number {
  if (opts.sinceMs === undefined && opts.untilMs === undefined) return 0;
  return undatedMatching(tables, opts.filters);
}

/** Calls without a timestamp that match `filters` (with no time bound, they are in the totals but in no time chart). */
export function undatedMatching(tables: readonly CallTable[], filters?: QueryOptions['filters']): number {
  let n = 0;
  for (const table of tables) {
    const conds = filterConds(table, filters);
    if (!conds) continue;
    const ts = table.tsMs;
    const copies = copyFlags(table);
    outer: for (let i = 0; i < table.length; i++) {
      if (!Number.isNaN(ts[i]) || (copies && (copies[i] & FLAG_COPY) !== 0)) continue;
      for (const c of conds) if ((c.col ? c.col[i] : 0) !== c.id) continue outer;
      n++;
    }
  }
  return n;
}

/** Computes the figures of a set of rows. Percentiles are exact (linear interpolation, as simple-statistics' `quantile`), over priced calls only. */
export function stats(slices: readonly Slice[], source: CostSource = 'auto'): GroupStats {
  let calls = 0;
  for (const s of slices) calls += s.rows.length;
  const acc = new StatsAcc(calls);
  for (const { table: t, rows } of slices) for (let k = 0; k < rows.length; k++) acc.add(t, rows[k], source);
  return acc.finish();
}

/** The largest of the first n values (-Infinity for none). */
function maxOf(values: Float64Array, n: number): number {
  let max = -Infinity;
  for (let k = 0; k < n; k++) if (values[k] > max) max = values[k];
  return max;
}

/** The running figures of a group, rows added in order (one implementation for `stats` and the one-pass grouping). */
class StatsAcc {
  calls = 0;
  priced = 0;
  cost = 0;
  saved = 0;
  listPriced = 0;
  inTok = 0;
  outTok = 0;
  crTok = 0;
  cwTok = 0;
  rsTok = 0;
  errors = 0;
  errorCost = 0;
  first = Infinity;
  last = -Infinity;
  readonly unpricedModels: Record<string, number> = {};
  /** Costs of the priced rows, for the percentiles; room for `capacity` rows. */
  readonly costs: Float64Array;

  constructor(capacity: number) {
    this.costs = new Float64Array(capacity);
  }

  add(t: CallTable, i: number, source: CostSource): void {
    this.calls++;
    this.inTok += t.inputTokens[i];
    this.outTok += t.outputTokens[i];
    this.crTok += t.cacheReadTokens[i];
    this.cwTok += t.cacheWriteTokens[i];
    this.rsTok += t.reasoningTokens[i];
    const ts = t.tsMs[i];
    if (ts < this.first) this.first = ts;
    if (ts > this.last) this.last = ts;
    const c = rowCost(t, i, source);
    const isErr = (t.flags[i] & FLAG_ERROR) !== 0;
    if (isErr) this.errors++;
    if (Number.isNaN(c)) {
      const m = t.pool.get(t.dims.model[i]) || '(no model)';
      this.unpricedModels[m] = (this.unpricedModels[m] ?? 0) + 1;
      return;
    }
    this.costs[this.priced++] = c;
    this.cost += c;
    if (isErr) this.errorCost += c;
    const computed = t.computedUsd[i];
    if (!Number.isNaN(computed)) {
      this.saved += t.noCacheUsd[i] - computed;
      this.listPriced++;
    }
  }

  /** Adds another accumulator's counts, token sums (whole numbers: exact in any order) and first and last times (not its sums of costs). */
  addCounts(a: StatsAcc): void {
    this.calls += a.calls;
    this.priced += a.priced;
    this.listPriced += a.listPriced;
    this.inTok += a.inTok;
    this.outTok += a.outTok;
    this.crTok += a.crTok;
    this.cwTok += a.cwTok;
    this.rsTok += a.rsTok;
    this.errors += a.errors;
    if (a.first < this.first) this.first = a.first;
    if (a.last > this.last) this.last = a.last;
  }

  /** The figures; `costs`: the priced rows' costs in any order (the percentiles and maximum do not depend on it), where this accumulator kept none. */
  finish(costs: Float64Array = this.costs): GroupStats {
    const { calls, priced, cost, saved, inTok, outTok, crTok, cwTok, rsTok } = this;
    // Exact percentiles by selection (simple-statistics' multi-quantile select, linear interpolation), not a full sort.
    const [p50, p95, p99] = priced ? quantile(costs.subarray(0, priced) as unknown as number[], [0.5, 0.95, 0.99]) : [NaN, NaN, NaN];
    const max = maxOf(costs, priced);
    const allInput = inTok + crTok + cwTok;
    return {
      calls,
      pricedCalls: priced,
      unpricedCalls: calls - priced,
      costUsd: cost,
      costWithoutCacheUsd: cost + saved,
      cacheSavingsUsd: saved,
      listPricedCalls: this.listPriced,
      inputTokens: inTok,
      outputTokens: outTok,
      cacheReadTokens: crTok,
      cacheWriteTokens: cwTok,
      reasoningTokens: rsTok,
      cacheHitRatio: allInput > 0 ? crTok / allInput : 0,
      meanUsd: priced ? cost / priced : NaN,
      p50Usd: p50,
      p95Usd: p95,
      p99Usd: p99,
      maxUsd: priced ? max : NaN,
      errors: this.errors,
      errorCostUsd: this.errorCost,
      firstTsMs: this.first,
      lastTsMs: this.last,
      unpricedModels: this.unpricedModels,
    };
  }
}

/**
 * Splits slices by the value of one dimension. Key '' stands for "no value". A counting sort over the interned ids:
 * two passes over the rows and one typed array per slice, no per-group JS arrays.
 */
export function partition(slices: readonly Slice[], dim: string): Map<string, Slice[]> {
  const out = new Map<string, Slice[]>();
  for (const { table, rows } of slices) {
    const col = table.column(dim);
    if (!col) {
      push(out, '', { table, rows });
      continue;
    }
    const { sorted, runs } = runsById(col, rows, table.pool.values.length);
    for (const r of runs) push(out, table.pool.get(r.id), { table, rows: sorted.subarray(r.start, r.end) });
  }
  return out;
}

/** Pools up to this many strings are counted whole by `runsById` (256 KB of counts). */
const SMALL_POOL = 1 << 16;

/** The smallest and largest id of `rows` in an id column ([start, -1] when there are no rows). */
function idSpan(col: Int32Array, rows: Int32Array, start: number): [number, number] {
  let lo = start;
  let hi = -1;
  for (let k = 0; k < rows.length; k++) {
    const id = col[rows[k]];
    if (id < lo) lo = id;
    if (id > hi) hi = id;
  }
  return [lo, hi];
}

/**
 * Rows ordered by their value in an id column (a counting sort: two passes, one typed array), with the run of each id
 * present, in id order. `n`: one more than the largest id. The counts span only the ids present (their smallest to
 * largest): a column of a few features among half a million pooled strings counts in a few slots, not in 500,000.
 */
export function runsById(col: Int32Array, rows: Int32Array, n: number): { sorted: Int32Array; runs: { id: number; start: number; end: number }[] } {
  // A small pool (the common case: a few hundred strings) is counted whole, without a pass to find the span.
  const [lo, hi] = n <= SMALL_POOL && n <= rows.length * 8 ? [0, n - 1] : idSpan(col, rows, n);
  if (hi < lo) return { sorted: new Int32Array(0), runs: [] };
  const span = hi - lo + 1;
  if (rows.length * 8 < span) return runsByIdSparse(col, rows);
  const counts = new Int32Array(span);
  for (let k = 0; k < rows.length; k++) counts[col[rows[k]] - lo]++;
  const next = new Int32Array(span);
  const runs: { id: number; start: number; end: number }[] = [];
  let off = 0;
  for (let d = 0; d < span; d++) {
    if (counts[d] === 0) continue;
    runs.push({ id: d + lo, start: off, end: off + counts[d] });
    next[d] = off;
    off += counts[d];
  }
  const sorted = new Int32Array(rows.length);
  for (let k = 0; k < rows.length; k++) sorted[next[col[rows[k]] - lo]++] = rows[k];
  return { sorted, runs };
}

/** `runsById` for few rows against many ids (a small group of a big table): no arrays the size of the pool. */
function runsByIdSparse(col: Int32Array, rows: Int32Array): { sorted: Int32Array; runs: { id: number; start: number; end: number }[] } {
  const counts = new Map<number, number>();
  for (let k = 0; k < rows.length; k++) counts.set(col[rows[k]], (counts.get(col[rows[k]]) ?? 0) + 1);
  const ids = [...counts.keys()].sort((a, b) => a - b);
  const next = new Map<number, number>();
  const runs: { id: number; start: number; end: number }[] = [];
  let off = 0;
  for (const id of ids) {
    const c = counts.get(id)!;
    runs.push({ id, start: off, end: off + c });
    next.set(id, off);
    off += c;
  }
  const sorted = new Int32Array(rows.length);
  for (let k = 0; k < rows.length; k++) {
    const id = col[rows[k]];
    const at = next.get(id)!;
    sorted[at] = rows[k];
    next.set(id, at + 1);
  }
  return { sorted, runs };
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V) {
  const a = m.get(k);
  if (a) a.push(v);
  else m.set(k, [v]);
}

export interface Group {
  /** Dimension → value; `(unattributed)` where the calls have none. */
  key: Record<string, string>;
  stats: GroupStats;
  /** Share of the total cost of the query, 0..1. */
  share: number;
}

/** Groups by a list of dimensions (combined), sorted by cost, highest first. */
export function groupBy(slices: readonly Slice[], dims: readonly string[], source: CostSource = 'auto', totalCostUsd?: number): Group[] {
  if (dims.length === 1) return sortGroups(groupByOne(slices, dims[0], source).groups, totalCostUsd ?? stats(slices, source).costUsd);
  let level: { key: Record<string, string>; slices: Slice[] }[] = [{ key: {}, slices: [...slices] }];
  for (const dim of dims) {
    const next: typeof level = [];
    for (const g of level) {
      for (const [value, s] of partition(g.slices, dim)) next.push({ key: { ...g.key, [dim]: value === '' ? UNATTRIBUTED : value }, slices: s });
    }
    level = next;
  }
  return sortGroups(
    level.map((g) => ({ key: g.key, stats: stats(g.slices, source) })),
    totalCostUsd ?? stats(slices, source).costUsd,
  );
}

/** Groups with their share of `total`, costliest first. */
function sortGroups(groups: { key: Record<string, string>; stats: GroupStats }[], total: number): Group[] {
  const out = groups.map((g) => ({ key: g.key, stats: g.stats, share: total > 0 ? g.stats.costUsd / total : 0 }));
  // Last, a plain comparison: localeCompare calls canonically equivalent texts ("café" written two ways) equal.
  out.sort((a, b) => {
    const ka = keyText(a.key);
    const kb = keyText(b.key);
    return b.stats.costUsd - a.stats.costUsd || b.stats.calls - a.stats.calls || ka.localeCompare(kb) || (ka < kb ? -1 : ka > kb ? 1 : 0);
  });
  return out;
}

/**
 * The groups of one dimension in one pass over the rows in order (the same figures as partition + stats, which read
 * every column once per group: with the groups' rows interleaved, that is the whole column memory each time).
 */
function groupByOne(slices: readonly Slice[], dim: string, source: CostSource): { groups: { key: Record<string, string>; stats: GroupStats }[]; accs: StatsAcc[] } {
  const index = new Map<string, number>();
  const values: string[] = [];
  const counts: number[] = [];
  const groupFor = (value: string) => {
    let g = index.get(value);
    if (g === undefined) {
      g = values.length;
      index.set(value, g);
      values.push(value);
      counts.push(0);
    }
    return g;
  };
  // First pass: the group of each row (through the ids present: a dense table over their span, or a map when they are
  // few among many, as runsById), and the rows per group.
  const plans: { table: CallTable; rows: Int32Array; rowGroup: Int32Array }[] = [];
  for (const { table, rows } of slices) {
    const col = table.column(dim);
    const rowGroup = new Int32Array(rows.length);
    if (!col) {
      const g = groupFor('');
      rowGroup.fill(g);
      counts[g] += rows.length;
    } else {
      const [lo, hi] = idSpan(col, rows, Infinity);
      if (hi < lo) continue;
      if (rows.length * 8 >= hi - lo + 1) {
        // Groups numbered in the order their first row comes (the sort's last resort: two groups of one label, the
        // calls without a value and those whose value is "(unattributed)", of the same cost and calls).
        groupsOfRows(col, rows, lo, new Int32Array(hi - lo + 1).fill(-1), rowGroup, counts, (id) => groupFor(table.pool.get(id)));
      } else {
        const sparse = new Map<number, number>();
        for (let k = 0; k < rows.length; k++) {
          const id = col[rows[k]];
          let g = sparse.get(id);
          if (g === undefined) sparse.set(id, (g = groupFor(table.pool.get(id))));
          rowGroup[k] = g;
          counts[g]++;
        }
      }
    }
    plans.push({ table, rows, rowGroup });
  }
  // Second pass: each row into its group's figures, in row order.
  const accs = counts.map((n) => new StatsAcc(n));
  for (const { table, rows, rowGroup } of plans) addRows(accs, table, rows, rowGroup, source);
  return { groups: values.map((v, g) => ({ key: { [dim]: v === '' ? UNATTRIBUTED : v }, stats: accs[g].finish() })), accs };
}

// (The loops over rows below are small functions of their own: V8 optimizes such a function while its loop runs, soon;
// a loop inside a large one runs unoptimized for longer, which a command that reports once pays in full.)

/** The group of each row by its id (`groupOf`: each id's from `lo`, -1 until `group` gives it), counted per group. */
function groupsOfRows(col: Int32Array, rows: Int32Array, lo: number, groupOf: Int32Array, rowGroup: Int32Array, counts: number[], group: (id: number) => number): void {
  for (let k = 0; k < rows.length; k++) {
    const id = col[rows[k]];
    let g = groupOf[id - lo];
    if (g < 0) g = groupOf[id - lo] = group(id);
    rowGroup[k] = g;
    counts[g]++;
  }
}

/** Each row into its group's figures, in row order. */
function addRows(accs: StatsAcc[], table: CallTable, rows: Int32Array, rowGroup: Int32Array, source: CostSource): void {
  for (let k = 0; k < rows.length; k++) accs[rowGroup[k]].add(table, rows[k], source);
}

/** Sums of costs over rows, added in their order (as StatsAcc adds them), and the calls without a timestamp. */
interface CostSums {
  cost: number;
  saved: number;
  errorCost: number;
  undated: number;
}

/** Adds the rows' costs to `s` in row order; the rows without a cost go to `unpriced`. */
function addCosts(t: CallTable, rows: Int32Array, source: CostSource, s: CostSums, unpriced: number[]): void {
  const rec = t.recordedUsd;
  const comp = t.computedUsd;
  const noCache = t.noCacheUsd;
  const flags = t.flags;
  const ts = t.tsMs;
  let { cost, saved, errorCost, undated } = s;
  for (let k = 0; k < rows.length; k++) {
    const i = rows[k];
    if (Number.isNaN(ts[i])) undated++;
    const computed = comp[i];
    const r = rec[i];
    const c = source === 'recorded' ? r : source === 'computed' ? computed : Number.isNaN(r) ? computed : r;
    if (Number.isNaN(c)) {
      unpriced.push(i);
      continue;
    }
    cost += c;
    if ((flags[i] & FLAG_ERROR) !== 0) errorCost += c;
    if (!Number.isNaN(computed)) saved += noCache[i] - computed;
  }
  s.cost = cost;
  s.saved = saved;
  s.errorCost = errorCost;
  s.undated = undated;
}

/** A model without a price, with the calls and tokens that went to it. */
export interface UnpricedModel {
  model: string;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

/** Row i (a call without a cost) into its model's entry; the model's name. */
function addUnpriced(unpriced: Map<string, UnpricedModel>, t: CallTable, i: number): string {
  const model = t.pool.get(t.dims.model[i]) || '(no model)';
  let u = unpriced.get(model);
  if (!u) unpriced.set(model, (u = { model, calls: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 }));
  u.calls++;
  u.inputTokens += t.inputTokens[i];
  u.outputTokens += t.outputTokens[i];
  u.cacheReadTokens += t.cacheReadTokens[i];
  u.cacheWriteTokens += t.cacheWriteTokens[i];
  return model;
}

/** The models without a price among the rows, with their calls and tokens, most calls first (as groupByWithTotal gives them). */
/**
 * Calls whose record says they cost $0 while their tokens have a price (a proxy or tracer that writes 0 for a model it
 * cannot price): how many, and what the prices make of them. The `auto` source takes the recorded $0.
 */
export function zeroRecordedPriced(slices: readonly Slice[]): { calls: number; computedUsd: number } {
  let calls = 0;
  let computedUsd = 0;
  for (const { table, rows } of slices) {
    const rec = table.recordedUsd;
    const comp = table.computedUsd;
    for (let k = 0; k < rows.length; k++) {
      const i = rows[k];
      if (rec[i] === 0 && comp[i] > 0) {
        calls++;
        computedUsd += comp[i];
      }
    }
  }
  return { calls, computedUsd };
}

export function unpricedModels(slices: readonly Slice[], source: CostSource): UnpricedModel[] {
  const unpriced = new Map<string, UnpricedModel>();
  for (const { table: t, rows } of slices) for (const i of rows) if (Number.isNaN(rowCost(t, i, source))) addUnpriced(unpriced, t, i);
  return [...unpriced.values()].sort((a, b) => b.calls - a.calls);
}

/**
 * `groupBy(slices, [dim])` with `stats(slices)` as its total (the same figures, bit for bit), the calls without a
 * timestamp and the unpriced models with their tokens (most calls first): a report's figures. The total is the groups'
 * counts, tokens and times added up, their costs for its percentiles, and one lean pass over the rows in their order
 * for its sums of costs (where `stats` is a full pass of its own, and a report took two more).
 */
export function groupByWithTotal(slices: readonly Slice[], dim: string, source: CostSource = 'auto'): { groups: Group[]; total: GroupStats; undatedCalls: number; unpriced: UnpricedModel[] } {
  const { groups, accs } = groupByOne(slices, dim, source);
  // Counts, token sums (whole numbers: exact in any order), first and last times: the groups', added up.
  const t = new StatsAcc(0);
  for (const a of accs) t.addCounts(a);
  // The sums of costs again over the rows in their order, as `stats` adds them (the same figures, bit for bit), with
  // the calls without a timestamp and the unpriced models in the order their first call came.
  const sums: CostSums = { cost: 0, saved: 0, errorCost: 0, undated: 0 };
  const unpriced = new Map<string, UnpricedModel>();
  for (const { table, rows } of slices) {
    const none: number[] = [];
    addCosts(table, rows, source, sums, none);
    for (const i of none) {
      const model = addUnpriced(unpriced, table, i);
      t.unpricedModels[model] = (t.unpricedModels[model] ?? 0) + 1;
    }
  }
  t.cost = sums.cost;
  t.saved = sums.saved;
  t.errorCost = sums.errorCost;
  // The percentiles and the maximum over the groups' costs (order statistics: any order gives them).
  const costs = new Float64Array(t.priced);
  let at = 0;
  for (const a of accs) {
    costs.set(a.costs.subarray(0, a.priced), at);
    at += a.priced;
  }
  const total = t.finish(costs);
  return { groups: sortGroups(groups, total.costUsd), total, undatedCalls: sums.undated, unpriced: [...unpriced.values()].sort((a, b) => b.calls - a.calls) };
}

function keyText(k: Record<string, string>): string {
  return Object.values(k).join('\u0000');
}

export type Bucket = 'hour' | 'day';

/** Start of the UTC hour or day holding `tsMs`. */
export function bucketStart(tsMs: number, bucket: Bucket): number {
  const size = bucket === 'hour' ? 3_600_000 : 86_400_000;
  return Math.floor(tsMs / size) * size;
}

/** Cost and calls per UTC hour or day, in time order. Calls without a timestamp are left out. */
export function timeSeries(slices: readonly Slice[], bucket: Bucket, source: CostSource = 'auto'): { startMs: number; costUsd: number; calls: number }[] {
  const m = new Map<number, { costUsd: number; calls: number }>();
  for (const { table: t, rows } of slices) {
    for (let k = 0; k < rows.length; k++) {
      const i = rows[k];
      const ts = t.tsMs[i];
      if (Number.isNaN(ts)) continue;
      const b = bucketStart(ts, bucket);
      let e = m.get(b);
      if (!e) m.set(b, (e = { costUsd: 0, calls: 0 }));
      e.calls++;
      const c = rowCost(t, i, source);
      if (!Number.isNaN(c)) e.costUsd += c;
    }
  }
  return [...m.entries()].sort((a, b) => a[0] - b[0]).map(([startMs, e]) => ({ startMs, ...e }));
}
