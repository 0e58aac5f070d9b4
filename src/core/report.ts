import { countUndated, undatedMatching, type GroupStats, groupBy, groupByWithTotal, type QueryOptions, select, stats, UNATTRIBUTED, unpricedModels, zeroRecordedPriced } from './analysis';
import { savingsKnown } from './format';
import type { CallTable } from './callTable';
import type { TraceFileState } from './traceFile';
import type { CostSource } from './types';

/**
 * Figures of a group in the report's JSON contract (README: "JSON report"). Every USD figure is null when the group
 * has calls but none of them is priced: its cost is unknown, not $0.
 */
export interface ReportFigures {
  costUsd: number | null;
  share: number;
  calls: number;
  pricedCalls: number;
  unpricedCalls: number;
  meanUsd: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  maxUsd: number | null;
  cacheHitRatio: number;
  cacheSavingsUsd: number | null;
  costWithoutCacheUsd: number | null;
  errors: number;
  errorCostUsd: number | null;
  tokens: { input: number; output: number; cacheRead: number; cacheWrite: number; reasoning: number };
}

export interface Report {
  version: 1;
  costSource: CostSource;
  range: { since: string | null; until: string | null };
  by: string[];
  /** `undatedCalls`: calls in the total without a timestamp (in no time chart); 0 with --since/--until, which leave them out. */
  total: ReportFigures & { firstCallAt: string | null; lastCallAt: string | null; undatedCalls: number };
  /** Calls (matching the filters) left out of the time range because they have no timestamp; 0 without --since/--until. */
  undatedCalls: number;
  /** Share of the cost in calls with no value for the first grouping dimension, 0..1. */
  unattributedShare: number;
  /**
   * Each group; `previousCostUsd` is its cost in the previous period of the same length when asked for (0 when it had
   * no call then, null when it had calls and none priced).
   */
  groups: (ReportFigures & { key: Record<string, string>; previousCostUsd?: number | null })[];
  /** The previous period compared with, when asked for; costUsd null when it had calls and none priced. */
  previous?: { since: string | null; until: string | null; costUsd: number | null; calls: number };
  /** Groups left out by --top: how many, and their cost (null when none of their calls is priced) and calls. */
  /** The groups `top` left out, summed; `previousCostUsd` with `compareToPrevious` (null when none of it was priced). */
  otherGroups: { count: number; costUsd: number | null; calls: number; previousCostUsd?: number | null };
  /** Lines or records left out, with why. */
  skipped: { file: string; line: number; message: string }[];
  skippedTotal: number;
  /** Records kept with a caveat (e.g. a token convention guessed). */
  warnings: { file: string; line: number; message: string }[];
  /** All warnings, those beyond the per-file cap included (`warnings` lists the kept ones). */
  warningsTotal: number;
  /** `reason`: why a model the catalogue knows has no price (priced per audio hour...), where the caller knows it. */
  unpriced: { model: string; calls: number; inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheWriteTokens: number; reason?: string }[];
  /**
   * Each file read: its calls counted, lines skipped and records ignored; `copies` (when any): its calls left out as
   * copies of calls another file holds (Claude Code messages a resumed or forked session copied), counted there.
   */
  files: { file: string; calls: number; skipped: number; ignored: number; copies?: number }[];
  /**
   * With the `auto` cost source: calls whose record says $0 while the price book prices their tokens, and what it makes
   * of them (`--cost-source computed` counts that instead). 0 calls with the other sources.
   */
  zeroRecorded: { calls: number; computedUsd: number };
}

export interface ReportOptions extends QueryOptions {
  by: string[];
  top?: number;
  /** Add each group's cost in the previous period of the same length (needs `sinceMs`). */
  compareToPrevious?: boolean;
  /** End of an open range, for the previous period's length; default: now. */
  nowMs?: number;
}

const finiteOrNull = (v: number) => (Number.isFinite(v) ? v : null);

/** A sum of call costs, or null when there were calls and none had a cost (never a silent 0). */
const costOrNull = (costUsd: number, calls: number, pricedCalls: number) => (calls > 0 && pricedCalls === 0 ? null : costUsd);

/**
 * False when some priced calls have no list price (priced by their recorded cost only, a model the catalogue does not
 * know): what the cache saved them is not known, so neither is the sum (never a part shown as the whole).
 */

function figures(s: GroupStats, share: number): ReportFigures {
  const usd = (v: number) => costOrNull(v, s.calls, s.pricedCalls);
  return {
    costUsd: usd(s.costUsd),
    share,
    calls: s.calls,
    pricedCalls: s.pricedCalls,
    unpricedCalls: s.unpricedCalls,
    meanUsd: finiteOrNull(s.meanUsd),
    p50: finiteOrNull(s.p50Usd),
    p95: finiteOrNull(s.p95Usd),
    p99: finiteOrNull(s.p99Usd),
    maxUsd: finiteOrNull(s.maxUsd),
    cacheHitRatio: s.cacheHitRatio,
    cacheSavingsUsd: savingsKnown(s) ? usd(s.cacheSavingsUsd) : null,
    costWithoutCacheUsd: savingsKnown(s) ? usd(s.costWithoutCacheUsd) : null,
    errors: s.errors,
    errorCostUsd: usd(s.errorCostUsd),
    tokens: { input: s.inputTokens, output: s.outputTokens, cacheRead: s.cacheReadTokens, cacheWrite: s.cacheWriteTokens, reasoning: s.reasoningTokens },
  };
}

const sum = <T>(xs: readonly T[], f: (x: T) => number) => xs.reduce((a, x) => a + f(x), 0);

/** The previous cost of groups summed: null only when every one of them was unpriced then. */
function previousOfRest(costs: (number | null)[]): number | null {
  return costs.length && costs.every((c) => c === null) ? null : costs.reduce<number>((a, c) => a + (c ?? 0), 0);
}

/** A group's cost in the previous period: 0 when it had no call then (null, when none was priced, is kept). */
function previousCost(prev: Map<string, number | null>, key: Record<string, string>): number | null {
  const v = prev.get(JSON.stringify(key));
  return v === undefined ? 0 : v;
}

/** Each file read, once: a state that `continues` the one before (a byte range of a big file, in the CLI) adds to its entry. */
function filesRead(files: readonly TraceFileState[]): Report['files'] {
  const out: Report['files'] = [];
  for (const f of files) {
    let e = f.continues ? out[out.length - 1] : undefined;
    if (!e) out.push((e = { file: f.file, calls: 0, skipped: 0, ignored: 0 }));
    e.calls += f.table.length - f.table.copies;
    if (f.table.copies > 0) e.copies = (e.copies ?? 0) + f.table.copies;
    e.skipped += f.problems.filter((p) => p.severity === 'error').length + f.droppedProblems;
    e.ignored += f.ctx.ignored;
  }
  return out;
}

const iso = (ms: number | undefined) => (ms !== undefined && Number.isFinite(ms) ? new Date(ms).toISOString() : null);

/** Builds the report the CLI prints (and the extension copies), from the files read. */
export function buildReport(files: readonly TraceFileState[], opts: ReportOptions): Report {
  const source = opts.costSource ?? 'auto';
  const tables: CallTable[] = files.map((f) => f.table);
  const slices = select(tables, opts);
  const timeBound = opts.sinceMs !== undefined || opts.untilMs !== undefined;
  // One dimension (the usual report): the groups, the total, the undated calls and the unpriced models in one pass.
  const one = opts.by.length === 1 ? groupByWithTotal(slices, opts.by[0], source) : undefined;
  const total = one ? one.total : stats(slices, source);
  const all = one ? one.groups : groupBy(slices, opts.by, source, total.costUsd);
  const top = opts.top && opts.top > 0 ? all.slice(0, opts.top) : all;
  const rest = all.slice(top.length);
  const firstDim = opts.by[0];
  const unattributed = firstDim ? all.filter((g) => g.key[firstDim] === UNATTRIBUTED).reduce((a, g) => a + g.stats.costUsd, 0) : 0;

  const unpriced = one ? one.unpriced : unpricedModels(slices, source);

  const pick = (sev: 'error' | 'warning') =>
    files.flatMap((f) => f.problems.filter((p) => p.severity === sev).map((p) => ({ file: p.file, line: p.line, message: p.message })));
  const skipped = pick('error');
  let previous: Report['previous'];
  const prevByKey = new Map<string, number | null>();
  if (opts.compareToPrevious && opts.sinceMs !== undefined) {
    const end = opts.untilMs ?? opts.nowMs ?? Date.now();
    const len = end - opts.sinceMs;
    const prevSlices = select(tables, { ...opts, sinceMs: opts.sinceMs - len, untilMs: opts.sinceMs });
    const prevTotal = stats(prevSlices, source);
    previous = { since: iso(opts.sinceMs - len), until: iso(opts.sinceMs), costUsd: costOrNull(prevTotal.costUsd, prevTotal.calls, prevTotal.pricedCalls), calls: prevTotal.calls };
    for (const g of groupBy(prevSlices, opts.by, source, prevTotal.costUsd)) prevByKey.set(JSON.stringify(g.key), costOrNull(g.stats.costUsd, g.stats.calls, g.stats.pricedCalls));
  }
  return {
    version: 1,
    costSource: source,
    range: { since: iso(opts.sinceMs), until: iso(opts.untilMs) },
    by: [...opts.by],
    total: {
      ...figures(total, total.costUsd > 0 ? 1 : 0),
      firstCallAt: iso(total.firstTsMs),
      lastCallAt: iso(total.lastTsMs),
      // (Without a time bound the slices are every call the filters keep.)
      undatedCalls: timeBound ? 0 : one ? one.undatedCalls : undatedMatching(tables, opts.filters),
    },
    undatedCalls: countUndated(tables, opts),
    unattributedShare: total.costUsd > 0 ? unattributed / total.costUsd : 0,
    groups: top.map((g) => ({ key: g.key, ...figures(g.stats, g.share), ...(previous ? { previousCostUsd: previousCost(prevByKey, g.key) } : {}) })),
    previous,
    otherGroups: {
      count: rest.length,
      costUsd: costOrNull(sum(rest, (g) => g.stats.costUsd), sum(rest, (g) => g.stats.calls), sum(rest, (g) => g.stats.pricedCalls)),
      calls: sum(rest, (g) => g.stats.calls),
      ...(previous ? { previousCostUsd: previousOfRest(rest.map((g) => previousCost(prevByKey, g.key))) } : {}),
    },
    skipped,
    skippedTotal: skipped.length + files.reduce((a, f) => a + f.droppedProblems, 0),
    warnings: pick('warning'),
    warningsTotal: files.reduce((a, f) => a + f.problems.filter((p) => p.severity === 'warning').length + (f.droppedWarnings ?? 0), 0),
    unpriced,
    files: filesRead(files),
    zeroRecorded: source === 'auto' ? zeroRecordedPriced(slices) : { calls: 0, computedUsd: 0 },
  };
}
