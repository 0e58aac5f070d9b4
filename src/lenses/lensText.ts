// What the CodeLens says and when the call-site index is rebuilt: pure functions (no vscode), unit-tested.
import { rowCost, type Slice, stats } from '../core/analysis';
import { formatCount, formatGroupCost, formatPct, formatUsd, plural } from '../core/format';
import { rangeLabel, rangeShort, type TimeRange } from '../core/timeRange';
import type { CostSource } from '../core/types';

const DAY = 86_400_000;

/** The figures of a lens: the calls of a site in the lenses' range, and the last 7 days against the 7 before. */
export interface LensFigures {
  calls: number;
  pricedCalls: number;
  unpricedCalls: number;
  costUsd: number;
  p95Usd: number;
  cacheHitRatio: number;
  /** Calls and cost of the last 7 days, and of the 7 days before (the trend's two windows). */
  last7: { calls: number; costUsd: number };
  prev7: { calls: number; costUsd: number };
}

export function lensFigures(slices: readonly Slice[], nowMs: number, source: CostSource): LensFigures {
  const s = stats(slices, source);
  const last7 = { calls: 0, costUsd: 0 };
  const prev7 = { calls: 0, costUsd: 0 };
  const lastFrom = nowMs - 7 * DAY, prevFrom = nowMs - 14 * DAY;
  for (const { table, rows } of slices) {
    for (let k = 0; k < rows.length; k++) {
      const t = table.tsMs[rows[k]];
      const w = t >= lastFrom && t <= nowMs ? last7 : t >= prevFrom && t < lastFrom ? prev7 : undefined;
      if (!w) continue;
      w.calls++;
      const v = rowCost(table, rows[k], source);
      if (!Number.isNaN(v)) w.costUsd += v;
    }
  }
  return { calls: s.calls, pricedCalls: s.pricedCalls, unpricedCalls: s.unpricedCalls, costUsd: s.costUsd, p95Usd: s.p95Usd, cacheHitRatio: s.cacheHitRatio, last7, prev7 };
}

/**
 * The trend: the cost of the last 7 days against the 7 days before, `7d ▲12%`. Empty when the lenses' range does not
 * hold both windows (24h, 7d: the earlier window is outside it), or when either window has no call or no cost: "▼100%"
 * for a site not called lately, or a rise from nothing, say less than the figures before it.
 */
export function lensTrend(f: Pick<LensFigures, 'last7' | 'prev7'>, range: TimeRange): string {
  if (range !== '30d' && range !== 'all') return '';
  if (!f.last7.calls || !f.prev7.calls || !(f.prev7.costUsd > 0) || !(f.last7.costUsd > 0)) return '';
  const r = (f.last7.costUsd - f.prev7.costUsd) / f.prev7.costUsd;
  return `7d ${r >= 0 ? '▲' : '▼'}${formatPct(Math.abs(r))}`;
}

/** The lens line: `7d: $1.23 · 312 calls · p95 $0.0089 · cache hit 82%`, with the trend and unpriced calls when any. */
export function lensText(f: LensFigures, range: TimeRange): string {
  const parts = [`${rangeShort(range)}: ${formatGroupCost(f)}`, plural(f.calls, 'call')];
  if (Number.isFinite(f.p95Usd) && f.pricedCalls > 0) parts.push(`p95 ${formatUsd(f.p95Usd)}`);
  parts.push(`cache hit ${formatPct(f.cacheHitRatio)}`);
  const trend = lensTrend(f, range);
  if (trend) parts.push(trend);
  if (f.unpricedCalls) parts.push(`${formatCount(f.unpricedCalls)} unpriced`);
  return parts.join(' · ');
}

/** What a lens knows of its site when it is drawn or clicked. */
export interface LensState {
  /** How the calls are attributed: by the recorded call site, or by the call's literal tags; none: no literal tag. */
  by: 'callsite' | 'tags' | 'none';
  /** The figures' text; empty when no call is attributed to the site in the range. */
  text: string;
  pending?: boolean;
  /** The call's tags that are not literals (so not matched). */
  dynamic?: readonly string[];
  /** The literal tags the calls are matched by (`feature=search`). */
  filters?: readonly { dim: string; value: string }[];
}

/**
 * A lens's title, or undefined for no lens: a site with no call in the range has a lens only with `showEmpty` (whether
 * its tags are literal or not).
 */
export function lensTitle(s: LensState, range: TimeRange, showEmpty: boolean): string | undefined {
  if (s.pending) return '$(sync~spin) LLM Cost Lens: adding up the calls of this site…';
  const dynamic = s.dynamic?.length ? ` (${s.dynamic.join(', ')} dynamic)` : '';
  if (s.text) return `$(graph-line) ${s.text}${s.by === 'callsite' ? ' · recorded at this line' : dynamic}`;
  if (!showEmpty) return undefined;
  if (s.by === 'none') return `$(question) ${rangeShort(range)}: no calls recorded at this line (tags are dynamic: ${s.dynamic?.join(', ') || 'none literal'})`;
  return `$(circle-slash) ${rangeShort(range)}: no calls recorded${dynamic}`;
}

/** The lens's hover: what it counts, over which range, and what the short words stand for. */
export function lensTooltip(s: LensState, range: TimeRange): string {
  const what =
    s.by === 'callsite'
      ? 'the calls whose record names this line as their call site'
      : s.by === 'tags'
        ? `the calls tagged ${(s.filters ?? []).map((f) => `${f.dim}=${f.value}`).join(', ')}`
        : 'no calls: this call has no literal tag to match records by, and no record names this line as its call site';
  const trend = range === '30d' || range === 'all' ? ' "7d ▲/▼": the cost of the last 7 days against the 7 days before.' : '';
  return `LLM Cost Lens, ${rangeLabel(range)} (setting llmCostLens.codeLens.range): ${what}. "cache hit": cache hit ratio, the share of input tokens read from the prompt cache.${trend} Click for details.`;
}

/**
 * The details quick pick's placeholder: which calls, over which range, and where that range is set, in the words of
 * the Settings editor, not its id (`Calls recorded at this line, all time (the Code Lens: Range setting)`).
 */
export function lensDetailsPlaceholder(by: LensState['by'], range: TimeRange): string {
  const what = by === 'callsite' ? 'Calls recorded at this line' : 'Calls with the tags of this call';
  return `${what}, ${rangeLabel(range)} (the Code Lens: Range setting)`;
}

/**
 * What clicking a lens with no figures says (an information message): still adding up, or why no call is attributed
 * to this site in the range. Undefined when the site has figures (the details quick pick opens).
 */
export function emptyLensMessage(s: LensState | undefined, range: TimeRange): string | undefined {
  if (!s) return 'LLM Cost Lens: the calls changed since this lens was drawn; its figures are being updated, try again in a moment.';
  if (s.pending) return 'LLM Cost Lens: still adding up the calls of this site; the lens updates when they are ready.';
  if (s.text) return undefined;
  const where = range === 'all' ? 'in the trace files' : `in the ${rangeLabel(range)}`;
  if (s.by === 'none') {
    return (
      `LLM Cost Lens: no call recorded at this site ${where}. Its tags (${s.dynamic?.join(', ') || 'none'}) are not literals, so records cannot be matched by them, ` +
      'and no record names this line as its call site. Record the call site (file and line) in the trace, or pass a literal feature.'
    );
  }
  const tags = (s.filters ?? []).map((f) => `${f.dim}=${f.value}`).join(', ');
  return `LLM Cost Lens: no call recorded ${where} with the tags of this call (${tags}). The lenses' range is the setting llmCostLens.codeLens.range.`;
}

/** A group of the details quick pick: `$1.23 · 3 calls`, `unpriced · 1 call` (never $0.00 for unpriced calls). */
export function groupDescription(s: { calls: number; pricedCalls: number; unpricedCalls: number; costUsd: number }): string {
  const unpriced = s.unpricedCalls && s.pricedCalls ? ` · ${formatCount(s.unpricedCalls)} unpriced` : '';
  return `${formatGroupCost(s)} · ${plural(s.calls, 'call')}${unpriced}`;
}

/**
 * Whether the workspace must be searched again to resolve recorded call sites: when a site names a file not resolved
 * before (the set of files named by call sites changes rarely; appends of calls at known sites do not need a search).
 */
export function needsFileSearch(resolved: ReadonlyMap<string, unknown> | undefined, names: Iterable<string>): boolean {
  if (!resolved) return true;
  for (const n of names) if (!resolved.has(n)) return true;
  return false;
}

/** The file name at the end of a recorded path, lower case (`/srv/app/src/App.py` → `app.py`). */
export function baseName(path: string): string {
  const segs = path.split(/[\\/]/);
  return (segs[segs.length - 1] ?? '').toLowerCase();
}

/**
 * Whether a workspace file created or deleted may change how call sites resolve: its name is the name of a file
 * recorded as a call site (resolved or not). Files under node_modules are never searched.
 */
export function touchesCallSites(path: string, names: ReadonlySet<string>): boolean {
  if (/[\\/]node_modules[\\/]/.test(path)) return false;
  return names.has(baseName(path));
}

/** Whether a store change should rebuild the call-site index now: only when lenses are on and can be seen. */
export function rebuildNow(o: { enabled: boolean; editorVisible: boolean }): boolean {
  return o.enabled && o.editorVisible;
}

export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: Timers = { set: (fn, ms) => setTimeout(fn, ms), clear: (h) => clearTimeout(h as NodeJS.Timeout) };

/**
 * Runs `fn` once `delayMs` after the first of a burst of requests: requests while one is pending join it, so a steady
 * stream of appends rebuilds at most once per `delayMs` (never starved as a trailing debounce would be).
 */
export class Coalescer {
  private handle: unknown;
  constructor(
    private readonly delayMs: number,
    private readonly fn: () => void,
    private readonly timers: Timers = realTimers,
  ) {}

  request(): void {
    if (this.handle !== undefined) return;
    this.handle = this.timers.set(() => {
      this.handle = undefined;
      this.fn();
    }, this.delayMs);
  }

  get pending(): boolean {
    return this.handle !== undefined;
  }

  cancel(): void {
    if (this.handle !== undefined) this.timers.clear(this.handle);
    this.handle = undefined;
  }
}
