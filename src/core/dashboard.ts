import type { CacheRow, DashboardQuery, DashboardSnapshot, Figures, GroupRow } from './dashboardModel';
import { bucketStart, type Group, groupBy, groupByWithTotal, type GroupStats, partition, rowCost, select, type Slice, stats, UNATTRIBUTED } from './analysis';
import type { CallTable } from './callTable';
import { rangeStart } from './timeRange';
import { CANONICAL_DIMS, type CostSource } from './types';

/** Groups drawn as their own stack in the cost-over-time chart; the rest are `(other)`. */
export const SERIES_TOP = 6;
/** Rows of the breakdown table sent to the webview. */
export const TABLE_MAX_ROWS = 200;
export const OTHER = '(other)';

const nullable = (v: number) => (Number.isFinite(v) ? v : null);

export function toFigures(s: GroupStats): Figures {
  return {
    costUsd: s.costUsd,
    calls: s.calls,
    pricedCalls: s.pricedCalls,
    unpricedCalls: s.unpricedCalls,
    meanUsd: nullable(s.meanUsd),
    p50Usd: nullable(s.p50Usd),
    p95Usd: nullable(s.p95Usd),
    p99Usd: nullable(s.p99Usd),
    cacheHitRatio: s.cacheHitRatio,
    cacheSavingsUsd: s.cacheSavingsUsd,
    costWithoutCacheUsd: s.costWithoutCacheUsd,
    listPricedCalls: s.listPricedCalls ?? s.pricedCalls,
    errors: s.errors,
  };
}

function row(g: Group, dim: string): GroupRow {
  return { key: g.key[dim], share: g.share, ...toFigures(g.stats) };
}

/** The time bounds of a dashboard query at `nowMs`. */
export function queryBounds(q: DashboardQuery, nowMs: number): { sinceMs?: number; untilMs?: number } {
  if (q.range === 'custom') return { sinceMs: q.sinceMs, untilMs: q.untilMs };
  return { sinceMs: rangeStart(q.range, nowMs), untilMs: undefined };
}

/** Cost per call histogram on a log scale: four buckets per decade between the cheapest and costliest call. */
export function costHistogram(slices: readonly Slice[], source: CostSource): { edgesUsd: number[]; counts: number[] } {
  let min = Infinity;
  let max = -Infinity;
  for (const { table, rows } of slices) {
    for (let k = 0; k < rows.length; k++) {
      const c = rowCost(table, rows[k], source);
      if (c > 0) {
        if (c < min) min = c;
        if (c > max) max = c;
      }
    }
  }
  if (!Number.isFinite(min)) return { edgesUsd: [], counts: [] };
  const lo = Math.floor(Math.log10(min) * 4);
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(max) * 4 + 1e-9));
  const edgesUsd: number[] = [];
  for (let e = lo; e <= hi; e++) edgesUsd.push(10 ** (e / 4));
  const counts = new Array<number>(hi - lo).fill(0);
  for (const { table, rows } of slices) {
    for (let k = 0; k < rows.length; k++) {
      const c = rowCost(table, rows[k], source);
      if (!(c > 0)) continue;
      const i = Math.min(counts.length - 1, Math.max(0, Math.floor(Math.log10(c) * 4 + 1e-9) - lo));
      counts[i]++;
    }
  }
  return { edgesUsd, counts };
}

/** Builds everything the dashboard draws for a query; aggregates only, sized for a message well under 1 MB. */
export function buildDashboardSnapshot(tables: readonly CallTable[], query: DashboardQuery, nowMs: number, source: CostSource = 'auto'): DashboardSnapshot {
  const { sinceMs, untilMs } = queryBounds(query, nowMs);
  const slices = select(tables, { sinceMs, untilMs, filters: query.filters });
  // The groups and the total in one go (the same figures as groupBy and stats).
  const { groups, total: totalStats } = groupByWithTotal(slices, query.groupBy, source);
  const total = toFigures(totalStats);

  let previous: DashboardSnapshot['previous'] = null;
  if (sinceMs !== undefined) {
    const end = untilMs ?? nowMs;
    const len = end - sinceMs;
    const prev = stats(select(tables, { sinceMs: sinceMs - len, untilMs: sinceMs, filters: query.filters }), source);
    previous = { costUsd: prev.costUsd, calls: prev.calls };
  }

  const spanStart = sinceMs ?? totalStats.firstTsMs;
  const spanEnd = untilMs ?? (sinceMs !== undefined ? nowMs : totalStats.lastTsMs);
  const bucket: 'hour' | 'day' = Number.isFinite(spanStart) && Number.isFinite(spanEnd) && spanEnd - spanStart <= 3 * 86_400_000 ? 'hour' : 'day';

  const unattributed = groups.find((g) => g.key[query.groupBy] === UNATTRIBUTED);

  // Cost over time, stacked by the top groups.
  const size = bucket === 'hour' ? 3_600_000 : 86_400_000;
  const series: DashboardSnapshot['series'] = { startsMs: [], stacks: [] };
  if (totalStats.calls > 0 && Number.isFinite(totalStats.firstTsMs)) {
    const first = bucketStart(sinceMs !== undefined ? Math.max(sinceMs, totalStats.firstTsMs) : totalStats.firstTsMs, bucket);
    const last = bucketStart(totalStats.lastTsMs, bucket);
    const n = Math.min(5000, Math.floor((last - first) / size) + 1);
    for (let i = 0; i < n; i++) series.startsMs.push(first + i * size);
    const top = groups.filter((g) => g.stats.costUsd > 0).slice(0, SERIES_TOP);
    const topKeys = new Set(top.map((g) => g.key[query.groupBy]));
    const stackOf = new Map<string, number[]>();
    for (const g of top) stackOf.set(g.key[query.groupBy], new Array<number>(n).fill(0));
    const other = new Array<number>(n).fill(0);
    for (const [value, s] of partition(slices, query.groupBy)) {
      const key = value === '' ? UNATTRIBUTED : value;
      const target = topKeys.has(key) ? stackOf.get(key)! : other;
      for (const { table, rows } of s) {
        for (let k = 0; k < rows.length; k++) {
          const i = rows[k];
          const ts = table.tsMs[i];
          const c = rowCost(table, i, source);
          if (Number.isNaN(ts) || Number.isNaN(c)) continue;
          const b = Math.floor((bucketStart(ts, bucket) - first) / size);
          if (b >= 0 && b < n) target[b] += c;
        }
      }
    }
    for (const g of top) series.stacks.push({ key: g.key[query.groupBy], costUsd: stackOf.get(g.key[query.groupBy])! });
    if (other.some((v) => v > 0)) series.stacks.push({ key: OTHER, costUsd: other });
  }

  const byModel = groupBy(slices, ['model'], source, totalStats.costUsd).slice(0, 15).map((g) => row(g, 'model'));
  const topDim = topDimension(query);
  const top = groupBy(slices, [topDim], source, totalStats.costUsd).slice(0, 10).map((g) => row(g, topDim));
  const cacheByFeature: CacheRow[] = groupBy(slices, ['feature'], source, totalStats.costUsd)
    .slice(0, 12)
    .map((g) => ({ key: g.key.feature, hitRatio: g.stats.cacheHitRatio, savingsUsd: g.stats.cacheSavingsUsd, costUsd: g.stats.costUsd, costWithoutCacheUsd: g.stats.costWithoutCacheUsd, calls: g.stats.calls, pricedCalls: g.stats.pricedCalls, listPricedCalls: g.stats.listPricedCalls ?? g.stats.pricedCalls }));

  const unpricedMap = totalStats.unpricedModels;
  const allTime = totalStats.calls === 0 ? callsAllTime(tables, query, sinceMs !== undefined || untilMs !== undefined) : undefined;
  const tagKeys = new Set<string>();
  for (const t of tables) for (const k of t.tags.keys()) tagKeys.add(k);

  return {
    query,
    sinceMs: sinceMs ?? null,
    untilMs: untilMs ?? null,
    generatedAtMs: nowMs,
    total,
    previous,
    unattributedShare: unattributed && totalStats.costUsd > 0 ? unattributed.stats.costUsd / totalStats.costUsd : 0,
    unpriced: Object.entries(unpricedMap).map(([model, calls]) => ({ model, calls })).sort((a, b) => b.calls - a.calls),
    bucket,
    series,
    byModel,
    topDim,
    top,
    cacheByFeature,
    histogram: { ...costHistogram(slices, source), p50Usd: total.p50Usd, p95Usd: total.p95Usd, p99Usd: total.p99Usd },
    table: groups.slice(0, TABLE_MAX_ROWS).map((g) => row(g, query.groupBy)),
    dims: [...CANONICAL_DIMS, ...[...tagKeys].sort()],
    files: tables.length,
    ...(allTime ? { allTime } : {}),
    latestMs: Number.isFinite(totalStats.lastTsMs) ? totalStats.lastTsMs : (allTime?.latestMs ?? null),
  };
}

/**
 * The dimension of the "Top 10 by spend" chart: users, or features when grouped by user; under a filter that fixes it
 * (one bar), the next canonical dimension neither grouped by nor filtered (the model has its own chart).
 */
export function topDimension(query: DashboardQuery): string {
  const fixed = new Set([query.groupBy, ...query.filters.map((f) => f.dim)]);
  return ['user', 'feature', ...CANONICAL_DIMS.filter((d) => d !== 'model')].find((d) => !fixed.has(d)) ?? (query.groupBy === 'user' ? 'feature' : 'user');
}

/** The calls matching the query's filters over all time and the latest timestamp among them (for an empty view). */
function callsAllTime(tables: readonly CallTable[], query: DashboardQuery, bounded: boolean): NonNullable<DashboardSnapshot['allTime']> {
  // An unbounded view with no call: all time holds none either.
  if (!bounded) return { calls: 0, latestMs: null };
  let calls = 0;
  let latest = -Infinity;
  for (const { table, rows } of select(tables, { filters: query.filters })) {
    calls += rows.length;
    for (let k = 0; k < rows.length; k++) {
      const t = table.tsMs[rows[k]];
      if (t > latest) latest = t;
    }
  }
  return { calls, latestMs: Number.isFinite(latest) ? latest : null };
}
