// Texts of the cost tree and the status bar: pure functions (no vscode), unit-tested.
import { formatCount, formatGroupCost, formatPct, formatUsd, plural, utcMinute } from '../core/format';
import { rangeLabel, type TimeRange } from '../core/timeRange';

/** A group's figures as the tree shows them. */
export interface GroupFigures {
  calls: number;
  pricedCalls: number;
  unpricedCalls: number;
  costUsd: number;
  shareOfParent: number;
}

/** The figures of a whole range (the status bar's). */
export type TotalFigures = Omit<GroupFigures, 'shareOfParent'>;

/**
 * A group's row: `$15.37 · 35% · 320 calls · 2 unpriced`, most important first (the view cuts it at its width). The
 * share is of the cost of the parent (the tooltip names it) or of the range's total at the top level; a group whose
 * calls are all unpriced has none (it would read 0%).
 */
export function groupRowText(g: GroupFigures): string {
  const unpricedOnly = g.calls > 0 && g.pricedCalls === 0;
  const share = unpricedOnly ? '' : ` · ${formatPct(g.shareOfParent)}`;
  const unpriced = g.unpricedCalls && !unpricedOnly ? ` · ${formatCount(g.unpricedCalls)} unpriced` : '';
  return `${formatGroupCost(g)}${share} · ${plural(g.calls, 'call')}${unpriced}`;
}

/** A group node's icon by dimension: codicons with no colour of their own (a `symbol-*` one is tinted by the theme). */
export const DIM_ICONS: Readonly<Record<string, string>> = {
  feature: 'layers',
  user: 'account',
  model: 'chip',
  agent: 'robot',
  template: 'note',
  tool: 'tools',
  provider: 'cloud',
};

/** A codicon and the theme colour it is drawn in (none: the view's foreground). */
export interface IconChoice {
  id: string;
  color?: 'list.warningForeground' | 'list.errorForeground';
}

/**
 * A group node's icon: its dimension's, uncoloured, unless something needs a look; colours mean warnings only. The
 * most pressing shows: a budget spent (error) or past half (warning), then a recent anomaly (`pulse`), then calls with
 * no price (`warning`: the cost shown leaves them out). The row's text and tooltip say which.
 */
export function groupIcon(dim: string, marks: { budgetLevel?: string; anomalies: number; unpricedCalls: number }): IconChoice {
  if (marks.budgetLevel === '100') return { id: 'error', color: 'list.errorForeground' };
  if (marks.budgetLevel && marks.budgetLevel !== 'ok') return { id: 'warning', color: 'list.warningForeground' };
  if (marks.anomalies > 0) return { id: 'pulse', color: 'list.warningForeground' };
  if (marks.unpricedCalls > 0) return { id: 'warning', color: 'list.warningForeground' };
  return { id: DIM_ICONS[dim] ?? 'tag' };
}

/** The tooltip's line on a group's unpriced calls (after a warning sign). */
export function unpricedTooltip(n: number): string {
  return `${unpricedLine(n)} in the cost above: add ${n === 1 ? 'its' : 'their'} model's price with Open Prices File (in the view's … menu).`;
}

/** The tooltip's errors cell: `9 ($0.2326 spent on failed calls)`, `0`. */
export function errorsText(errors: number, errorCostUsd: number): string {
  if (!errors) return '0';
  return `${formatCount(errors)} (${formatUsd(errorCostUsd)} spent on ${errors === 1 ? 'the failed call' : 'failed calls'})`;
}

/**
 * A call's time as its row shows it: `Nov 18 18:06 UTC`, with the year when it is not the current one (`Nov 18 2025
 * 18:06 UTC`); `no time` for a call without a timestamp.
 */
export function callTime(tsMs: number, nowMs: number): string {
  if (!Number.isFinite(tsMs)) return 'no time';
  const d = new Date(tsMs);
  const month = MONTHS[d.getUTCMonth()];
  const year = d.getUTCFullYear() === new Date(nowMs).getUTCFullYear() ? '' : ` ${d.getUTCFullYear()}`;
  const hm = d.toISOString().slice(11, 16);
  return `${month} ${d.getUTCDate()}${year} ${hm} UTC`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The last part of a path (`/` or `\\` separated). */
export function fileName(path: string): string {
  return path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
}

/** A call listed under a leaf, as the tree needs it. */
export interface CallRow {
  costUsd: number;
  model: string;
  tsMs: number;
  error: boolean;
  file: string;
  line: number;
}

/**
 * A call's row under a leaf: `$0.1030` and `Nov 18 18:06 UTC · app.jsonl:2130`, without what its parents already say
 * (the model, unless no parent is a model), the full path and time in the tooltip.
 */
export function callRowText(c: CallRow, o: { modelShown: boolean; nowMs: number }): { label: string; description: string; tooltip: string } {
  const model = c.model || '(no model)';
  const label = o.modelShown ? formatUsd(c.costUsd) : `${formatUsd(c.costUsd)} · ${model}`;
  const description = `${callTime(c.tsMs, o.nowMs)}${c.error ? ' · error' : ''} · ${fileName(c.file)}:${c.line}`;
  const when = Number.isFinite(c.tsMs) ? new Date(c.tsMs).toISOString().slice(0, 19).replace('T', ' ') + ' UTC' : 'no timestamp';
  const tooltip = `${formatUsd(c.costUsd)} · ${model} · ${when}${c.error ? ' · failed' : ''}\nOpen the record at line ${c.line} of ${c.file}`;
  return { label, description, tooltip };
}

/** The item after a leaf's calls when it has more than it lists: `39 more calls` / `the 10 costliest are shown`. */
export function moreCallsText(calls: number, shown: number): { text: string; detail: string } | undefined {
  if (calls <= shown) return undefined;
  return { text: `${plural(calls - shown, 'more call')}`, detail: `the ${formatCount(shown)} costliest are shown` };
}

/**
 * The tooltip's share line: `35% of the cost of feature search` or `35% of the total cost`, for the time range; none
 * when the group's calls are all unpriced.
 */
export function shareLine(g: GroupFigures, parent: { dim: string; value: string } | undefined): string | undefined {
  if (g.calls > 0 && g.pricedCalls === 0) return undefined;
  return parent ? `${formatPct(g.shareOfParent)} of the cost of ${parent.dim} ${parent.value}` : `${formatPct(g.shareOfParent)} of the total cost`;
}

/** The "N more" row: `$1.20 · 42 calls`. */
export function moreRowText(m: { calls: number; pricedCalls: number; costUsd: number }): string {
  return `${formatGroupCost(m)} · ${plural(m.calls, 'call')}`;
}

/** The tree's one line when the range holds no call; `rangeHint`: choosing another range could change it. */
export function noCallsMessage(range: TimeRange, latestMs: number | undefined): { text: string; detail: string; rangeHint: boolean } {
  if (range === 'all') return { text: 'No calls in the trace files', detail: 'they hold no LLM call yet', rangeHint: false };
  const detail = latestMs !== undefined ? `latest call ${utcMinute(latestMs)} UTC: choose a longer time range` : 'the trace files hold no dated call';
  return { text: `No calls in the ${rangeLabel(range)}`, detail, rangeHint: true };
}

/** Files found but not read, as the store lists them. */
export interface Unread {
  file: string;
  reason: string;
  cancelled: boolean;
}

/**
 * How many files are not read and why (`loading cancelled, 1 read error`), with a line per file (`a.jsonl: EACCES…`),
 * for the tree's item and the status bar. Undefined when all were read.
 */
export function unreadText(unread: readonly Unread[], shown = 5): { text: string; detail: string; lines: string[] } | undefined {
  if (!unread.length) return undefined;
  const cancelled = unread.filter((u) => u.cancelled).length;
  const failed = unread.length - cancelled;
  const detail = [cancelled ? 'loading cancelled' : '', failed ? plural(failed, 'read error') : ''].filter(Boolean).join(', ');
  const lines = unread.slice(0, shown).map((u) => `${u.file}: ${u.reason}`);
  if (unread.length > shown) lines.push(`… and ${plural(unread.length - shown, 'more file')}`);
  return { text: `${plural(unread.length, 'trace file')} not read`, detail, lines };
}

/** The status bar's text with a warning sign when files were not read (one sign, even when unpriced calls put one). */
export function statusWithUnread(text: string, unread: number): string {
  return unread > 0 && !text.includes('$(warning)') ? `${text} $(warning)` : text;
}

/** The status bar tooltip's line on unpriced calls: `1 call has no price and is not counted`. */
export function unpricedLine(n: number): string {
  return `${plural(n, 'call')} ${n === 1 ? 'has no price and is' : 'have no price and are'} not counted`;
}

/**
 * The tree view's message while big files are read: how far through their bytes (all of them when several), then (all
 * read) that their calls are being taken in; none when nothing is being read.
 */
export function loadingMessage(l: { file: string; files: number; fraction: number } | undefined): string | undefined {
  if (!l) return undefined;
  const what = l.files > 1 ? `${l.files} trace files` : l.file;
  if (l.fraction >= 0.999) return `Read ${what}; taking the calls in…`;
  return `Reading ${what}… ${Math.floor(l.fraction * 100)}%${l.files > 1 ? ` (${l.file})` : ''}`;
}
