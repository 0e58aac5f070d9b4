import { select, type Slice } from './analysis';
import type { CallTable } from './callTable';
import type { CallSiteMatch } from './callSites';

/** The filters that attribute calls to a call site by its literal tags (all of them must match). */
export function siteFilters(site: Pick<CallSiteMatch, 'tags'>): { dim: string; value: string }[] {
  return Object.entries(site.tags)
    .filter(([, v]) => typeof v === 'string' && v !== '')
    .map(([dim, value]) => ({ dim, value: value as string }));
}

/** Rows attributed to a site by its literal tags, within the time range. */
export function rowsForTags(tables: readonly CallTable[], site: Pick<CallSiteMatch, 'tags'>, sinceMs: number | undefined): Slice[] {
  const filters = siteFilters(site);
  if (!filters.length) return [];
  return select(tables, { sinceMs, filters });
}
