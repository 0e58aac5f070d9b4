// Texts of the signal commands (Show Outliers, What If): pure functions (no vscode), unit-tested.
import { formatUsd, plural } from './core/format';
import type { CallOutlier, TraceOutlier } from './core/outliers';
import { callTime, fileName } from './views/viewText';

/**
 * Who a what-if re-prices, as its result's sentence starts: `Feature summarization › user u_1`, or `fallback` (`These
 * calls`, `All calls`) with no filter. The first letter is a capital: the result is shown as a sentence.
 */
export function whatIfLabel(filters: readonly { dim: string; value: string }[], fallback: string): string {
  const label = filters.length ? filters.map((f) => `${f.dim} ${f.value}`).join(' › ') : fallback;
  return label.charAt(0).toUpperCase() + label.slice(1);
}

/** How many times the median: `6.9×`, `13×`. */
export function timesText(multiple: number): string {
  return `${multiple >= 10 ? Math.round(multiple) : multiple.toFixed(1)}×`;
}

/** Where a record's call was made (`call site agent.py:42`), else where its record is (`app.jsonl:2130`). */
function siteText(o: { file: string; line: number; callsite?: { file: string; line?: number } }): string {
  if (o.callsite) return `call site ${fileName(o.callsite.file)}${o.callsite.line ? `:${o.callsite.line}` : ''}`;
  return `${fileName(o.file)}:${o.line}`;
}

/**
 * An outlier call in the Show Outliers list: the cost and how far above its group's median in the label; the model,
 * the time (UTC), the call site and the causes in the detail line (no description: the list's group header takes the
 * right of the first row and would cut it).
 */
export function outlierCallText(c: CallOutlier, nowMs: number): { label: string; detail: string } {
  const causes = c.causes.length ? c.causes.map((x) => x.text).join('; ') : 'no single cause stands out in the record';
  return {
    label: `$(flame) ${formatUsd(c.costUsd)} · ${timesText(c.multiple)} the ${c.group} median`,
    detail: `${c.model || '(no model)'} · ${callTime(c.tsMs, nowMs)} · ${siteText(c)} · ${causes}`,
  };
}

/** A runaway or retrying trace in the Show Outliers list, laid out as the calls are. */
export function outlierTraceText(t: TraceOutlier, nowMs: number): { label: string; detail: string } {
  return {
    label: `$(debug-restart) ${formatUsd(t.costUsd)} · ${plural(t.calls, 'call')} · ${t.group}`,
    detail: `trace ${t.traceId} · from ${callTime(t.tsMs, nowMs)} · ${siteText(t)} · ${t.causes.map((c) => c.text).join('; ')}`,
  };
}
