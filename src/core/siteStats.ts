import { rowCost, select, type Slice, stats } from './analysis';
import type { CallTable } from './callTable';
import type { CallSiteMatch } from './callSites';
import { formatCount, formatPct, formatUsd } from './format';
import type { CostSource } from './types';

const DAY = 86_400_000;

/** The filters that attribute calls to a call site by its literal tags (all of them must match). */
export function siteFilters(site: Pick<CallSiteMatch, 'tags'>): { dim: string; value: string }[] {
  return Object.entries(site.tags)
    .filter(([, v]) => typeof v === 'string' && v !== '')
    .map(([dim, value]) => ({ dim, value: value as string }));
}

export interface SiteFigures {
  calls: number;
  costUsd: number;
  p95Usd: number;
  cacheHitRatio: number;
  unpricedCalls: number;
  /** Cost of the last 7 days and of the 7 days before, for the trend. */
  last7Usd: number;
  prev7Usd: number;
}

/** Figures of the calls attributed to a site. */
export function siteFigures(slices: readonly Slice[], nowMs: number, source: CostSource): SiteFigures {
  const s = stats(slices, source);
  const sub = (since: number, until: number) => {
    let c = 0;
    for (const { table, rows } of slices) {
      for (let k = 0; k < rows.length; k++) {
        const t = table.tsMs[rows[k]];
        if (t >= since && t < until) {
          const v = rowCost(table, rows[k], source);
          if (!Number.isNaN(v)) c += v;
        }
      }
    }
    return c;
  };
  return {
    calls: s.calls,
    costUsd: s.costUsd,
    p95Usd: s.p95Usd,
    cacheHitRatio: s.cacheHitRatio,
    unpricedCalls: s.unpricedCalls,
    last7Usd: sub(nowMs - 7 * DAY, nowMs + 1),
    prev7Usd: sub(nowMs - 14 * DAY, nowMs - 7 * DAY),
  };
}

/** The lens line: `$1.23 · 312 calls · p95 $0.0089 · cache 82% · 7d ▲12%`. */
export function lensText(f: SiteFigures): string {
  const parts = [formatUsd(f.costUsd), `${formatCount(f.calls)} call${f.calls === 1 ? '' : 's'}`];
  if (Number.isFinite(f.p95Usd)) parts.push(`p95 ${formatUsd(f.p95Usd)}`);
  parts.push(`cache ${formatPct(f.cacheHitRatio)}`);
  if (f.prev7Usd > 0) {
    const r = (f.last7Usd - f.prev7Usd) / f.prev7Usd;
    parts.push(`7d ${r >= 0 ? '▲' : '▼'}${formatPct(Math.abs(r))}`);
  } else if (f.last7Usd > 0) parts.push('7d new');
  if (f.unpricedCalls) parts.push(`${formatCount(f.unpricedCalls)} unpriced`);
  return parts.join(' · ');
}

/** Rows attributed to a site by its literal tags, within the time range. */
export function rowsForTags(tables: readonly CallTable[], site: Pick<CallSiteMatch, 'tags'>, sinceMs: number | undefined): Slice[] {
  const filters = siteFilters(site);
  if (!filters.length) return [];
  return select(tables, { sinceMs, filters });
}
