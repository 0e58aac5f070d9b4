import type { GroupStats } from './analysis';
import type { Report, ReportFigures } from './report';

/**
 * Dollars with a precision that fits the amount: `$1,234.56`, `$12.34`, `$0.0123`, `$0.00045`.
 * NaN/null (no price) prints as `unpriced`, never as $0.
 */
export function formatUsd(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return 'unpriced';
  const sign = v < 0 ? '-' : '';
  const a = Math.abs(v);
  if (a === 0) return '$0.00';
  if (a >= 1) return `${sign}$${a.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  if (a >= 0.01) return `${sign}$${a.toFixed(4)}`;
  const digits = Math.min(10, Math.ceil(-Math.log10(a)) + 1);
  // Below the last digit shown: not $0.0000000000, which would read as free.
  if (a < 5e-11) return v < 0 ? '>-$0.0000000001' : '<$0.0000000001';
  return `${sign}$${a.toFixed(digits)}`;
}

/**
 * The cost of a group of calls for display: `unpriced` when it has calls and none of them has a cost (an unknown
 * model, or no recorded cost with the `recorded` source), so such a group never reads as $0.00; else `formatUsd`.
 * Takes `GroupStats`, a report group or a dashboard row.
 */
export function formatGroupCost(s: { calls: number; pricedCalls: number; costUsd: number | null }): string {
  return s.calls > 0 && s.pricedCalls === 0 ? 'unpriced' : formatUsd(s.costUsd);
}

/**
 * Whether a group's cache savings (and cost without cache) are known: every priced call has a list price. A call priced
 * only by its recorded cost has none, and a partial sum would pass for the whole.
 */
export function savingsKnown(s: { pricedCalls: number; listPricedCalls?: number }): boolean {
  return s.listPricedCalls === undefined || s.listPricedCalls === s.pricedCalls;
}

/**
 * A group's prompt-cache savings for display: `$0.68 (without cache $2.10)`; `unpriced` when it has calls and none
 * priced; `unknown` with the reason when some priced calls have no list price (priced by their recorded cost only).
 */
export function formatCacheSavings(s: Pick<GroupStats, 'calls' | 'pricedCalls' | 'listPricedCalls' | 'cacheSavingsUsd' | 'costWithoutCacheUsd'>): string {
  if (s.calls > 0 && s.pricedCalls === 0) return 'unpriced';
  if (!savingsKnown(s)) {
    const recordedOnly = s.pricedCalls - (s.listPricedCalls ?? 0);
    return `unknown (${formatCount(recordedOnly)} of ${formatCount(s.pricedCalls)} priced calls have only a recorded cost: no list price for their model)`;
  }
  return `${formatUsd(s.cacheSavingsUsd)} (without cache ${formatUsd(s.costWithoutCacheUsd)})`;
}

/** A ratio 0..1 as a percentage with one decimal below 10%. */
export function formatPct(r: number): string {
  if (!Number.isFinite(r)) return '–';
  const p = r * 100;
  if (p === 0) return '0%';
  if (Math.abs(p) < 0.05) return p < 0 ? '>-0.1%' : '<0.1%'; // not 0.0%, which reads as none
  if (Math.abs(p) < 10) return `${p.toFixed(1)}%`;
  return `${Math.round(p)}%`;
}

/** Token counts as `950`, `12.3k`, `4.5M`, `1.2B`. */
export function formatTokens(n: number): string {
  const a = Math.abs(n);
  if (a < 1000) return String(Math.round(n));
  if (a < 1e6) return `${(n / 1e3).toFixed(a < 1e4 ? 1 : 0)}k`;
  if (a < 1e9) return `${(n / 1e6).toFixed(a < 1e7 ? 1 : 0)}M`;
  return `${(n / 1e9).toFixed(1)}B`;
}

/** One formatter for every count: `toLocaleString` makes one per call (~10 µs; a tree of 2,000 files' rows took ~24 ms). */
const COUNT = new Intl.NumberFormat('en-US');

/** A count with thousands separators: `1,234`. */
export function formatCount(n: number): string {
  return COUNT.format(n);
}

/** A count with its noun, singular for 1: `1 call`, `2 calls`, `1,234 lines`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

/**
 * Why a report holds no call, printed by the table and Markdown instead of totals over 0 calls: the files read, then
 * the reasons known (a time range or filters that left every call out, records that are not LLM calls, bad lines).
 * `inline` is the whole reason when nothing was read at all (empty files); else `reasons` lists them.
 */
function noCalls(r: Report, name: (file: string) => string, mappingHint: string): { where: string; inline?: string; reasons: string[] } {
  const names = r.files.map((f) => name(f.file));
  const where = names.length <= 3 ? names.join(', ') : `${names.slice(0, 3).join(', ')} and ${plural(names.length - 3, 'more file')}`;
  const read = r.files.reduce((a, f) => a + f.calls, 0);
  const ignored = r.files.reduce((a, f) => a + f.ignored, 0);
  const reasons: string[] = [];
  if (read > 0) {
    reasons.push(
      r.range.since || r.range.until
        ? `none in the time range ${r.range.since ?? 'the start'} – ${r.range.until ?? 'now'} (${plural(read, 'call')} read)`
        : `${plural(read, 'call')} read, none matching the filters`,
    );
  } else if (ignored) reasons.push(`${plural(ignored, 'line')} ignored: JSON records that are not LLM calls (${mappingHint})`);
  if (r.skippedTotal) reasons.push(`${plural(r.skippedTotal, 'bad line or record', 'bad lines or records')} skipped (listed below)`);
  const inline = reasons.length ? undefined : `${names.length === 1 ? 'it holds' : 'they hold'} no JSON record (empty or blank lines only)`;
  return { where, inline, reasons };
}

function keyLabel(key: Record<string, string>, by: string[]): string[] {
  return by.map((d) => key[d] ?? '');
}

function rowCells(f: ReportFigures): string[] {
  return [
    formatUsd(f.costUsd),
    formatPct(f.share),
    formatCount(f.calls),
    formatUsd(f.p50),
    formatUsd(f.p95),
    formatUsd(f.p99),
    formatPct(f.cacheHitRatio),
    // Priced, but by recorded costs only: what the cache saved is not known (not "unpriced").
    f.cacheSavingsUsd === null && f.pricedCalls > 0 ? 'unknown' : formatUsd(f.cacheSavingsUsd),
    f.errors ? formatCount(f.errors) : '0',
  ];
}

const FIG_HEADERS = ['cost', 'share', 'calls', 'p50/call', 'p95/call', 'p99/call', 'cache hit', 'cache saved', 'errors'];

/**
 * Replaces control characters, so that trace text cannot move the cursor or recolour a terminal, and the marks that
 * change the direction of text (U+202E...), so that it cannot make the table read otherwise than it is.
 */
export function terminalSafe(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '?');
}

/** `s` cut to at most `n` characters, ending with an ellipsis when cut. */
export function truncate(s: string, n: number): string {
  if (s.length <= n) return s;
  // Cut between code points, never inside a surrogate pair (an emoji).
  const cps = Array.from(s);
  return cps.length > n ? cps.slice(0, n - 1).join('') + '…' : s;
}

/**
 * Cuts a long name of more than `n` characters (graphemes: an emoji with its skin tone, a flag, a letter with its
 * marks) in its middle, between characters: its start and its end both stay
 * (`/home/USER/proj…es/spotter-dov`, `customer-support-esc…ary-for-tier-two-v2`), where a project's folder, a version
 * or the distinguishing part of an id often is.
 */
export function truncateMiddle(s: string, n: number): string {
  if (s.length <= n) return s;
  const chars = Array.from(graphemes().segment(s), (g) => g.segment);
  if (chars.length <= n) return s;
  const tail = Math.floor((n - 1) / 2);
  return chars.slice(0, n - 1 - tail).join('') + '…' + chars.slice(chars.length - tail).join('');
}

/** How many skipped lines the table and Markdown list, with file, line and reason (the JSON report lists more). */
const SKIPPED_LISTED = 10;

/** The aligned table for people (the CLI's default format). */
export function renderTable(r: Report): string {
  const lines: string[] = [];
  const t = r.total;
  if (t.calls === 0) {
    const none = noCalls(r, terminalSafe, 'for another record shape, use --mapping FILE; see the README');
    lines.push(`No LLM calls found in ${none.where}${none.inline ? `: ${none.inline}.` : ':'}`, ...none.reasons.map((s) => `  ${s}`));
    if (r.previous) lines.push('', `Previous period${periodText(r.previous)}: ${formatUsd(r.previous.costUsd)} over ${plural(r.previous.calls, 'call')}`);
  } else renderTotalsAndGroups(r, lines);
  return renderTableNotes(r, lines);
}

/**
 * Columns a text takes in a terminal, by grapheme (what the eye sees as one character): two for emoji shown as
 * pictures (with U+FE0F, joined with U+200D, skin tones, keycaps, flags) and for East Asian wide and fullwidth
 * characters (CJK, Hangul, fullwidth forms); none for zero-width characters; one for the rest (a base character with
 * its combining marks).
 */
export function displayWidth(text: string): number {
  if (PRINTABLE_ASCII.test(text)) return text.length; // (most cells: figures and plain names)
  let w = 0;
  // Code point by code point, unless some may join into one grapheme (the segmenter is ~20 µs a call).
  if (!JOINING.test(text)) for (const ch of text) w += graphemeWidth(ch);
  else for (const { segment: g } of graphemes().segment(text)) w += graphemeWidth(g);
  return w;
}

let segmenter: Intl.Segmenter | undefined;
const graphemes = () => (segmenter ??= new Intl.Segmenter('en', { granularity: 'grapheme' }));

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
/** Code points that join the ones around them into one grapheme: marks, ZWJ, variation selectors, keycaps, skin tones, flags, Hangul jamo. */
const JOINING = /[\p{M}\u200D\uFE0E\uFE0F\u20E3\u{1F3FB}-\u{1F3FF}\p{Regional_Indicator}\u1100-\u11FF]/u;
const PICTURE = /\p{Extended_Pictographic}/u;
const SHOWN_AS_PICTURE = /\p{Emoji_Presentation}|\uFE0F|\u200D|\u20E3|[\u{1F3FB}-\u{1F3FF}]|\p{Regional_Indicator}/u;

function graphemeWidth(g: string): number {
  if (PICTURE.test(g) ? SHOWN_AS_PICTURE.test(g) : /\u20E3|\p{Regional_Indicator}/u.test(g)) return 2;
  const c = g.codePointAt(0)!;
  if ((c >= 0x200b && c <= 0x200f) || c === 0x2060 || c === 0xfeff || c < 32 || (c >= 0x7f && c < 0xa0)) return 0;
  const wide =
    (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0x303e) || (c >= 0x3041 && c <= 0xa4cf) || (c >= 0xac00 && c <= 0xd7a3) ||
    (c >= 0xf900 && c <= 0xfaff) || (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) || (c >= 0xffe0 && c <= 0xffe6) ||
    (c >= 0x20000 && c <= 0x3fffd);
  return wide ? 2 : 1;
}

/** A time to the minute, UTC, without the zone's name: `2026-11-18 18:06`, from epoch ms or an ISO string. */
export function utcMinute(t: number | string): string {
  return (typeof t === 'number' ? new Date(t).toISOString() : t).slice(0, 16).replace('T', ' ');
}

/** ` (2026-10-30 20:14 to 2026-11-16 00:00 UTC)`: the previous period's bounds, to the minute (empty without them). */
function periodText(p: { since: string | null; until: string | null }): string {
  return p.since && p.until ? ` (${utcMinute(p.since)} to ${utcMinute(p.until)} UTC)` : '';
}

/** The table's header lines (total, per call, cache, unattributed, previous period) and its groups. */
function renderTotalsAndGroups(r: Report, lines: string[]) {
  const t = r.total;
  const range = r.range.since || r.range.until ? ` from ${r.range.since ?? 'the start'} to ${r.range.until ?? 'now'}` : '';
  lines.push(
    `Total ${formatUsd(t.costUsd)} over ${plural(t.calls, 'call')}${range}` +
      (t.firstCallAt
        ? ` (calls ${utcMinute(t.firstCallAt)} to ${utcMinute(t.lastCallAt!)} UTC${t.undatedCalls ? `; ${undatedInTotal(t.undatedCalls, t.calls)}` : ''})`
        : t.undatedCalls ? ` (${undatedInTotal(t.undatedCalls, t.calls)})` : ''),
  );
  lines.push(
    `Per call: mean ${formatUsd(t.meanUsd)}, p50 ${formatUsd(t.p50)}, p95 ${formatUsd(t.p95)}, p99 ${formatUsd(t.p99)}, max ${formatUsd(t.maxUsd)}`,
  );
  lines.push(
    `Prompt cache: ${formatPct(t.cacheHitRatio)} of input tokens read from cache, ` +
      (t.cacheSavingsUsd === null ? `savings unknown (${t.pricedCalls ? 'calls priced by their recorded cost only, with no list price for their model' : 'no call is priced'})` : `saved ${formatUsd(t.cacheSavingsUsd)} (${formatUsd(t.costWithoutCacheUsd)} without cache)`),
  );
  if (r.by.length) lines.push(`Unattributed (no ${r.by[0]}): ${formatPct(r.unattributedShare)} of the cost`);
  lines.push('');

  const cmp = !!r.previous;
  if (r.previous) lines.splice(lines.length - 1, 0, `Previous period${periodText(r.previous)}: ${formatUsd(r.previous.costUsd)} over ${plural(r.previous.calls, 'call')} (${formatChange(t.costUsd, r.previous.costUsd)})`);
  const headers = [...r.by, ...FIG_HEADERS, ...(cmp ? ['change'] : [])];
  const rows = r.groups.map((g) => [...keyLabel(g.key, r.by).map((s) => truncateMiddle(terminalSafe(s), 40)), ...rowCells(g), ...(cmp ? [formatChange(g.costUsd, g.previousCostUsd)] : [])]);
  if (r.otherGroups.count) rows.push(otherGroupsCells(r));
  const widths = headers.map((h, c) => Math.max(displayWidth(h), ...rows.map((row) => displayWidth(row[c]))));
  const numeric = (c: number) => c >= r.by.length;
  const fmt = (cells: string[]) =>
    cells
      .map((s, c) => {
        const fill = ' '.repeat(Math.max(0, widths[c] - displayWidth(s)));
        return numeric(c) ? fill + s : s + fill;
      })
      .join('  ')
      .trimEnd();
  lines.push(fmt(headers));
  lines.push(widths.map((w) => '─'.repeat(w)).join('  '));
  for (const row of rows) lines.push(fmt(row));
}

/** The note on calls recorded at $0 that have a price (Report.zeroRecorded). */
function zeroRecordedNote(z: Report['zeroRecorded']): string {
  const [record, its] = z.calls === 1 ? ['1 call records', 'its tokens cost'] : [`${formatCount(z.calls)} calls record`, 'their tokens cost'];
  return `${record} a cost of $0, counted as such, though ${its} ${formatUsd(z.computedUsd)} at list prices (--cost-source computed prices them)`;
}

/** What the table prints under the groups: undated calls, unpriced models, skipped lines, warnings. */
function renderTableNotes(r: Report, lines: string[]): string {
  if (r.undatedCalls) {
    lines.push('');
    lines.push(undatedNote(r.undatedCalls));
  }
  if (r.unpriced.length) {
    lines.push('');
    const n = r.unpriced.reduce((a, u) => a + u.calls, 0);
    const [has, is] = n === 1 ? ['1 call has', 'is'] : [`${formatCount(n)} calls have`, 'are'];
    // With the recorded source a call is unpriced for want of a cost in its record: a price would not change that.
    lines.push(
      r.costSource === 'recorded'
        ? `Unpriced: ${has} no recorded cost and ${is} NOT in the totals (--cost-source recorded counts only costs written in the records; prices apply with --cost-source auto or computed):`
        : `Unpriced: ${has} no price and ${is} NOT in the totals (add ${n === 1 ? 'its model' : 'their models'} to .llm-cost-lens/prices.json):`,
    );
    // Input as in the JSON report (uncached), cache reads and writes apart.
    const tokens = (u: Report['unpriced'][number]) =>
      [`${formatTokens(u.inputTokens)} input`, ...(u.cacheReadTokens ? [`${formatTokens(u.cacheReadTokens)} cache-read`] : []), ...(u.cacheWriteTokens ? [`${formatTokens(u.cacheWriteTokens)} cache-write`] : [])].join(', ') +
      ` and ${formatTokens(u.outputTokens)} output tokens`;
    for (const u of r.unpriced) lines.push(`  ${truncate(terminalSafe(u.model), 60)}: ${plural(u.calls, 'call')}, ${tokens(u)}${u.reason ? ` (${u.reason})` : ''}`);
  }
  if (r.zeroRecorded?.calls) {
    lines.push('');
    lines.push(zeroRecordedNote(r.zeroRecorded));
  }
  const errors = r.skipped;
  if (r.skippedTotal) {
    lines.push('');
    lines.push(`Skipped ${plural(r.skippedTotal, 'bad line or record', 'bad lines or records')}:`);
    for (const s of errors.slice(0, SKIPPED_LISTED)) lines.push(`  ${terminalSafe(s.file)}:${s.line}: ${terminalSafe(s.message)}`);
    if (r.skippedTotal > SKIPPED_LISTED) lines.push(`  … and ${formatCount(r.skippedTotal - SKIPPED_LISTED)} more (see --format json)`);
  }
  if (r.warningsTotal) {
    lines.push('');
    lines.push(`Warnings (${formatCount(r.warningsTotal)}):`);
    for (const s of r.warnings.slice(0, 5)) lines.push(`  ${terminalSafe(s.file)}:${s.line}: ${terminalSafe(s.message)}`);
  }
  return lines.join('\n') + '\n';
}

/** The cells of the row of the groups `--top` left out (table and Markdown): cost, share, calls, and the change with --compare. */
function otherGroupsCells(r: Report): string[] {
  const o = r.otherGroups;
  const share = formatPct(r.total.costUsd && o.costUsd ? o.costUsd / r.total.costUsd : 0);
  return [`(${o.count} more)`, ...r.by.slice(1).map(() => ''), formatUsd(o.costUsd), share, formatCount(o.calls), '', '', '', '', '', '', ...(r.previous ? [formatChange(o.costUsd, o.previousCostUsd)] : [])];
}

/** `3 without a timestamp` / `none has a timestamp`: undated calls within a total (in it, in no time chart). */
function undatedInTotal(undated: number, calls: number): string {
  return undated === calls ? (calls === 1 ? 'it has no timestamp' : 'none has a timestamp') : `${formatCount(undated)} without a timestamp`;
}

/** `12 calls without a timestamp are not in this time range` (for a time-bounded view; see `countUndated`). */
export function undatedNote(calls: number): string {
  return `${plural(calls, 'call')} without a timestamp ${calls === 1 ? 'is' : 'are'} not in this time range`;
}

function csvCell(s: string): string {
  // Quote always-risky cells; neutralise spreadsheet formulas from untrusted text.
  const v = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** CSV with raw numbers (USD, ratios 0..1), one row per group, and one for the groups `--top` left out. */
export function renderCsv(r: Report): string {
  const head = [...r.by, 'cost_usd', 'share', 'calls', 'priced_calls', 'unpriced_calls', 'mean_usd', 'p50_usd', 'p95_usd', 'p99_usd', 'max_usd', 'cache_hit_ratio', 'cache_savings_usd', 'cost_without_cache_usd', 'errors', 'input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_tokens', 'reasoning_tokens', ...(r.previous ? ['previous_cost_usd'] : [])];
  // Null stands for a USD figure of a group with no priced call (unpriced), or for cache savings of calls priced by
  // recorded costs only (unknown): never written as 0 or left blank.
  const num = (v: number | null) => (v === null ? 'unpriced' : String(v));
  const saving = (v: number | null, g: ReportFigures) => (v === null && g.pricedCalls > 0 ? 'unknown' : num(v));
  const lines = [head.join(',')];
  for (const g of r.groups) {
    lines.push(
      [
        ...keyLabel(g.key, r.by).map(csvCell),
        num(g.costUsd), num(g.share), num(g.calls), num(g.pricedCalls), num(g.unpricedCalls), num(g.meanUsd), num(g.p50), num(g.p95), num(g.p99), num(g.maxUsd),
        num(g.cacheHitRatio), saving(g.cacheSavingsUsd, g), saving(g.costWithoutCacheUsd, g), num(g.errors),
        num(g.tokens.input), num(g.tokens.output), num(g.tokens.cacheRead), num(g.tokens.cacheWrite), num(g.tokens.reasoning),
        ...(r.previous ? [num(g.previousCostUsd === undefined ? 0 : g.previousCostUsd)] : []),
      ].join(','),
    );
  }
  const o = r.otherGroups;
  if (o.count) {
    // The groups --top left out, in one row so that the rows add up to the total: their cost and calls, and the
    // counts that add up (the total's less the groups shown); figures per call and of the cache are left empty.
    const t = r.total;
    const rest = (f: (x: ReportFigures) => number) => f(t) - r.groups.reduce((a, g) => a + f(g), 0);
    lines.push(
      [
        csvCell(`(${plural(o.count, 'more group')})`), ...r.by.slice(1).map(() => ''),
        num(o.costUsd), num(t.costUsd && o.costUsd ? o.costUsd / t.costUsd : 0), num(o.calls), num(rest((x) => x.pricedCalls)), num(rest((x) => x.unpricedCalls)),
        '', '', '', '', '', '', '', '', num(rest((x) => x.errors)),
        num(rest((x) => x.tokens.input)), num(rest((x) => x.tokens.output)), num(rest((x) => x.tokens.cacheRead)), num(rest((x) => x.tokens.cacheWrite)), num(rest((x) => x.tokens.reasoning)),
        ...(r.previous ? [num(o.previousCostUsd ?? 0)] : []),
      ].join(','),
    );
  }
  return lines.join('\n') + '\n';
}

function mdCell(s: string): string {
  return terminalSafe(s).replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/[<>*_`[\]]/g, (c) => `\\${c}`);
}

/**
 * Change of a cost against a previous one: `+12%`, `-3.0%`, `new` (nothing before), `–` (nothing either time),
 * `unpriced` (no priced call now) or `unpriced before`. Null stands for a cost unknown because no call was priced.
 */
export function formatChange(now: number | null, before: number | null | undefined): string {
  if (before === undefined) return '';
  if (now === null) return 'unpriced';
  if (before === null) return 'unpriced before';
  if (before <= 0) return now > 0 ? 'new' : '–';
  const r = (now - before) / before;
  return `${r >= 0 ? '+' : ''}${formatPct(r)}`;
}

/** A Markdown report (for a PR comment or a showback page). */
export function renderMarkdown(r: Report): string {
  const t = r.total;
  const out: string[] = [];
  if (t.calls === 0) {
    const none = noCalls(r, mdCell, 'a field mapping reads another record shape: `--mapping` in the CLI, the `llmCostLens.fieldMapping` setting in VS Code; see the README');
    out.push(`**No LLM calls found** in ${none.where}${none.inline ? `: ${none.inline}.` : ':'}`);
    if (none.reasons.length) out.push('', ...none.reasons.map((s) => `- ${s}`));
    if (r.previous) out.push('', `Previous period (${r.previous.since} to ${r.previous.until}): ${formatUsd(r.previous.costUsd)} over ${plural(r.previous.calls, 'call')}.`);
  } else renderMarkdownTotalsAndGroups(r, out);
  return renderMarkdownNotes(r, out);
}

/** The Markdown report's total line, previous period and groups table. */
function renderMarkdownTotalsAndGroups(r: Report, out: string[]) {
  const t = r.total;
  const range = r.range.since || r.range.until ? ` from ${r.range.since ?? 'the start'} to ${r.range.until ?? 'now'}` : '';
  out.push(
    `**Total ${formatUsd(t.costUsd)}** over ${plural(t.calls, 'call')}${range}${t.undatedCalls ? ` (${undatedInTotal(t.undatedCalls, t.calls)})` : ''} · p50 ${formatUsd(t.p50)} · p95 ${formatUsd(t.p95)} · p99 ${formatUsd(t.p99)} per call · cache hit ${formatPct(t.cacheHitRatio)}` +
      (t.cacheSavingsUsd === null ? (t.pricedCalls ? ', savings unknown (recorded costs only)' : '') : `, saved ${formatUsd(t.cacheSavingsUsd)}`),
  );
  if (r.previous) out.push('', `Previous period (${r.previous.since} to ${r.previous.until}): ${formatUsd(r.previous.costUsd)} over ${plural(r.previous.calls, 'call')} (${formatChange(t.costUsd, r.previous.costUsd)}).`);
  out.push('');
  const headers = [...r.by, ...FIG_HEADERS, ...(r.previous ? ['change'] : [])];
  out.push(`| ${headers.join(' | ')} |`);
  out.push(`| ${headers.map((_, c) => (c < r.by.length ? '---' : '---:')).join(' | ')} |`);
  for (const g of r.groups) out.push(`| ${[...keyLabel(g.key, r.by).map(mdCell), ...rowCells(g), ...(r.previous ? [formatChange(g.costUsd, g.previousCostUsd)] : [])].join(' | ')} |`);
  if (r.otherGroups.count) out.push(`| ${otherGroupsCells(r).join(' | ')} |`);
}

/** What the Markdown report prints under the groups: unpriced models, undated calls, skipped lines. */
function renderMarkdownNotes(r: Report, out: string[]): string {
  if (r.unpriced.length) {
    out.push('');
    out.push(`> ${r.costSource === 'recorded' ? 'Calls without a recorded cost (not in the totals; the cost source is recorded)' : 'Unpriced models (not in the totals)'}: ${r.unpriced.map((u) => `${mdCell(u.model)} (${plural(u.calls, 'call')}${u.reason ? `; ${mdCell(u.reason)}` : ''})`).join(', ')}`);
  }
  if (r.undatedCalls) out.push('', `> ${undatedNote(r.undatedCalls)}`);
  if (r.zeroRecorded?.calls) out.push('', `> ${zeroRecordedNote(r.zeroRecorded).replace('--cost-source computed', '`--cost-source computed`')}`);
  if (r.skippedTotal) {
    out.push('', `> Skipped ${plural(r.skippedTotal, 'bad line or record', 'bad lines or records')}:`, '>');
    for (const s of r.skipped.slice(0, SKIPPED_LISTED)) out.push(`> - ${mdCell(s.file)}:${s.line}: ${mdCell(s.message)}`);
    if (r.skippedTotal > SKIPPED_LISTED) out.push(`> … and ${formatCount(r.skippedTotal - SKIPPED_LISTED)} more (see \`--format json\`)`);
  }
  return out.join('\n') + '\n';
}

/** The status bar text: `$12.34 · 7d` (and a warning sign when calls are unpriced). */
export function statusBarText(s: { calls: number; pricedCalls: number; unpricedCalls: number; costUsd: number }, rangeShort: string): string {
  return `$(graph-line) ${formatGroupCost(s)} · ${rangeShort}${s.unpricedCalls > 0 ? ' $(warning)' : ''}`;
}

/**
 * Trace text made safe for a VS Code notification, whose message renders `[label](target)` as a link (a command
 * link runs a command): brackets become look-alikes and line breaks spaces.
 */
export function notificationText(s: string): string {
  return s.replace(/\[/g, '［').replace(/\]/g, '］').replace(/[\r\n\t]+/g, ' ');
}
