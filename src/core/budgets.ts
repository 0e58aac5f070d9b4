import { quantile } from 'simple-statistics';
import { partition, rowCost, select, type Slice, stats, UNATTRIBUTED } from './analysis';
import { FLAG_ERROR, type CallTable } from './callTable';
import { TraceKeys } from './traceIds';
import { formatCount, formatPct, formatUsd, plural } from './format';
import { type PriceBook, serviceTierMultiplier } from './pricing';
import type { CostSource } from './types';
import { isObject, toNumber } from './values';

// --- Budgets ---------------------------------------------------------------------------------------------------

/** A spending limit: in total, or for one value of a dimension, per UTC day or month, in USD. */
export interface Budget {
  /** `total`, or a dimension (`feature`, `agent`, `user`, or a tag key). */
  scope: string;
  /** The dimension value (not for `total`). */
  value?: string;
  period: 'day' | 'month';
  usd: number;
}

export type BudgetLevel = 'ok' | '50' | '80' | '100';

export interface BudgetStatus {
  budget: Budget;
  label: string;
  periodStartMs: number;
  periodEndMs: number;
  /** USD spent by the priced calls in scope so far; when all of them are unpriced (`calls` = `unpricedCalls` > 0) the spend is unknown, not 0. */
  spentUsd: number;
  /** Calls in scope from the period's start up to now. */
  calls: number;
  /** Of those, calls with no cost (an unknown model, or no recorded cost with `recorded`): not counted in `spentUsd`. */
  unpricedCalls: number;
  /** spent / budget. */
  usedShare: number;
  /** The elapsed share of the period, 0..1. */
  elapsedShare: number;
  /** Spent against the pro-rata allowance: 1 means on pace, 2 means spending twice as fast as the budget allows. */
  pace: number;
  /** The period's end spend if the rate so far continues. */
  forecastUsd: number;
  /** The highest threshold reached: 50%, 80% or 100% of the budget. */
  level: BudgetLevel;
  text: string;
}

/** Reads budgets from a setting's value; bad entries are reported and left out. */
export function parseBudgets(value: unknown): { budgets: Budget[]; problems: string[] } {
  const budgets: Budget[] = [];
  const problems: string[] = [];
  if (value === undefined || value === null) return { budgets, problems };
  if (!Array.isArray(value)) return { budgets, problems: ['budgets must be a list'] };
  value.forEach((v, i) => {
    if (!isObject(v)) return problems.push(`budget ${i + 1}: expected an object`);
    const scope = typeof v.scope === 'string' && v.scope.trim() ? v.scope.trim() : 'total';
    const period = v.period === 'day' || v.period === 'month' ? v.period : undefined;
    const usd = toNumber(v.usd);
    const val = typeof v.value === 'string' ? v.value : undefined;
    if (!period) return problems.push(`budget ${i + 1}: period must be "day" or "month"`);
    if (usd === undefined || usd <= 0) return problems.push(`budget ${i + 1}: usd must be a positive number`);
    if (scope !== 'total' && !val) return problems.push(`budget ${i + 1}: a ${scope} budget needs a "value"`);
    budgets.push({ scope, value: scope === 'total' ? undefined : val, period, usd });
    return undefined;
  });
  return { budgets, problems };
}

/** The UTC day or month holding `nowMs`. */
export function periodBounds(period: 'day' | 'month', nowMs: number): { startMs: number; endMs: number } {
  const d = new Date(nowMs);
  if (period === 'day') {
    const startMs = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    return { startMs, endMs: startMs + 86_400_000 };
  }
  return { startMs: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), endMs: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) };
}

/**
 * Burn of each budget in its current period at `nowMs`: spent (the calls in [period start, now)), pro-rata pace, the
 * forecast of the period's end from that rate, and the threshold reached.
 */
export function budgetStatus(tables: readonly CallTable[], budgets: readonly Budget[], nowMs: number, source: CostSource = 'auto'): BudgetStatus[] {
  return budgets.map((b) => {
    const { startMs, endMs } = periodBounds(b.period, nowMs);
    const filters = b.scope === 'total' ? [] : [{ dim: b.scope, value: b.value! }];
    // Spent is what was called in [period start, now): calls after `nowMs` (a past --now) are not spent yet.
    const st = stats(select(tables, { sinceMs: startMs, untilMs: nowMs, filters }), source);
    const spent = st.costUsd;
    const elapsed = Math.min(1, Math.max(1e-6, (nowMs - startMs) / (endMs - startMs)));
    const used = spent / b.usd;
    const level: BudgetLevel = used >= 1 ? '100' : used >= 0.8 ? '80' : used >= 0.5 ? '50' : 'ok';
    const forecast = spent / elapsed;
    const label = `${b.scope === 'total' ? 'total' : `${b.scope} ${b.value}`} per ${b.period}`;
    const unpriced = st.unpricedCalls ? `${plural(st.unpricedCalls, 'call')} unpriced, not counted` : '';
    const gone = `${formatPct(elapsed)} of the ${b.period} gone`;
    return {
      budget: b,
      label,
      periodStartMs: startMs,
      periodEndMs: endMs,
      spentUsd: spent,
      calls: st.calls,
      unpricedCalls: st.unpricedCalls,
      usedShare: used,
      elapsedShare: elapsed,
      pace: used / elapsed,
      forecastUsd: forecast,
      level,
      // Every call unpriced: the spend is unknown, so no "$0.00 of $x" (unpriced is never 0).
      text: st.calls > 0 && st.pricedCalls === 0
        ? `${label}: spend unknown: ${unpriced} (budget ${formatUsd(b.usd)}, ${gone})`
        : `${label}: ${formatUsd(spent)} of ${formatUsd(b.usd)} (${formatPct(used)}) with ${gone}; forecast ${formatUsd(forecast)}${forecast > b.usd ? ` (${formatPct(forecast / b.usd - 1)} over)` : ''}${unpriced ? `; ${unpriced}` : ''}`,
    };
  });
}

/** Whether a budget's spend is unknown: it has calls in scope and none of them is priced. */
export const budgetSpendUnknown = (s: Pick<BudgetStatus, 'calls' | 'unpricedCalls'>): boolean => s.calls > 0 && s.unpricedCalls === s.calls;

/** A budget's short burn for a status bar or tree row: `85%`, `25% + 1 unpriced`, or `unpriced` when no call in scope is priced. */
export function budgetBadge(s: Pick<BudgetStatus, 'calls' | 'unpricedCalls' | 'usedShare'>): string {
  if (budgetSpendUnknown(s)) return 'unpriced';
  return `${formatPct(s.usedShare)}${s.unpricedCalls ? ` + ${formatCount(s.unpricedCalls)} unpriced` : ''}`;
}

/** A budget's line for the CLI's table: a 5-character mark (`  ok `, `50%! `, `80%! `, `OVER `, or `  ?? ` when its spend is unknown), then its text. */
export function budgetLine(s: BudgetStatus): string {
  const mark = s.level === '100' ? 'OVER ' : s.level !== 'ok' ? `${s.level}%! ` : budgetSpendUnknown(s) ? '  ?? ' : '  ok ';
  return `${mark} ${s.text}`;
}

// --- What-if ---------------------------------------------------------------------------------------------------

/** Models offered for a what-if besides those seen in the traces. */
export const WHAT_IF_MODELS = ['gpt-4o-mini', 'gpt-4.1-mini', 'gpt-4.1-nano', 'gpt-4o', 'claude-haiku-4-5', 'claude-sonnet-4-5', 'gemini-2.5-flash', 'gemini-2.5-pro', 'o4-mini'];

export interface WhatIfResult {
  targetModel: string;
  calls: number;
  /** Calls priced under both the current and the target model. */
  comparedCalls: number;
  /** Calls left out because their current cost is unknown (an unpriced model, or no recorded cost with `recorded`). */
  unpricedCalls: number;
  currentUsd: number;
  whatIfUsd: number;
  savingsUsd: number;
  /** Days covered by the calls (at least 1). */
  spanDays: number;
  /** Savings scaled to 30 days at the observed rate. */
  monthlySavingsUsd: number;
  text: string;
}

/** What a monthly figure is scaled from: the span of the calls, or one day when they span less (never extrapolated from minutes). */
export function rateBasis(spanMs: number, dated: boolean): string {
  if (!dated) return 'if these calls were one day of traffic (they have no timestamps)';
  if (spanMs >= 86_400_000) return `at the rate seen over ${(spanMs / 86_400_000).toFixed(1)} days`;
  const span = spanMs >= 3_600_000 ? `${(spanMs / 3_600_000).toFixed(1)} h` : spanMs >= 60_000 ? `${Math.round(spanMs / 60_000)} min` : `${Math.round(spanMs / 1000)} s`;
  return `if these calls were one day of traffic (they span ${span}; shorter spans count as a day)`;
}

/** Re-prices a group's recorded tokens under another model ("summarization on gpt-4o-mini saves $X a month"). */
export function whatIf(slices: readonly Slice[], targetModel: string, prices: PriceBook, opts: { label?: string; source?: CostSource } = {}): WhatIfResult | undefined {
  const source = opts.source ?? 'auto';
  const target = prices.resolve(targetModel);
  if (!target) return undefined;
  let calls = 0, compared = 0, unpriced = 0, cur = 0, alt = 0;
  let first = Infinity, last = -Infinity;
  for (const { table: t, rows } of slices) {
    for (let k = 0; k < rows.length; k++) {
      const i = rows[k];
      calls++;
      const c = rowCost(t, i, source);
      if (Number.isNaN(c)) {
        unpriced++;
        continue;
      }
      const p = prices.price(targetModel, undefined, t.tokensAt(i), t.tsMs[i]);
      if (!p) continue;
      compared++;
      cur += c;
      // The same service tier (a batch call stays a batch call), at the target provider's discount.
      alt += p.costUsd * serviceTierMultiplier(target.providerId, t.serviceTierAt(i));
      const ts = t.tsMs[i];
      if (ts < first) first = ts;
      if (ts > last) last = ts;
    }
  }
  const actualMs = Number.isFinite(first) ? last - first : 0;
  const spanDays = Math.max(1, actualMs / 86_400_000);
  const savings = cur - alt;
  const monthly = (savings * 30) / spanDays;
  const who = opts.label ?? 'these calls';
  const leftOut = unpricedLeftOut(unpriced);
  return {
    targetModel,
    calls,
    comparedCalls: compared,
    unpricedCalls: unpriced,
    currentUsd: cur,
    whatIfUsd: alt,
    savingsUsd: savings,
    spanDays,
    monthlySavingsUsd: monthly,
    // The period's figures first, then the same change as a monthly rate: one unit per clause.
    // Calls whose current cost is unknown are left out of both sides, and said so (unpriced is never 0).
    text: !compared && unpriced
      ? `${who} on ${targetModel}: nothing to compare: ${leftOut}`
      : `${who} on ${targetModel}: ${formatUsd(alt)} instead of ${formatUsd(cur)} (${savings >= 0 ? 'saves' : 'costs'} ${formatUsd(Math.abs(savings))}${savings >= 0 ? '' : ' more'}` +
        `${cur > 0 ? `, ${formatPct(Math.abs(savings) / cur)}` : ''}); ${savings >= 0 ? 'saving' : 'costing'} about ${formatUsd(Math.abs(monthly))}${savings >= 0 ? '' : ' more'} a month ${rateBasis(actualMs, Number.isFinite(first))}` +
        (unpriced ? `; ${leftOut}` : ''),
  };
}

/** `1 call left out, its current cost is unknown (unpriced)`: the calls a what-if could not compare. */
function unpricedLeftOut(n: number): string {
  return `${plural(n, 'call')} left out, ${n === 1 ? 'its' : 'their'} current cost is unknown (unpriced)`;
}

/** The what-if's line for all groups together: compared calls' cost now and on the target, and the calls left out as unpriced. */
export function whatIfTotalText(targetModel: string, currentUsd: number, whatIfUsd: number, unpricedCalls: number): string {
  const d = currentUsd - whatIfUsd;
  return `All on ${targetModel}: ${formatUsd(whatIfUsd)} instead of ${formatUsd(currentUsd)} (${d >= 0 ? 'saves' : 'costs'} ${formatUsd(Math.abs(d))}${d >= 0 ? '' : ' more'})` + (unpricedCalls ? `; ${unpricedLeftOut(unpricedCalls)}` : '');
}

// --- Cost per task -------------------------------------------------------------------------------------------------

export interface TaskCost {
  key: string;
  /** Traces (tasks) with at least one call of the group. */
  tasks: number;
  p50Usd: number;
  p95Usd: number;
  meanUsd: number;
  /** Tasks whose last call did not fail. */
  successfulTasks: number;
  /** Total cost / successful tasks. */
  costPerSuccessUsd: number;
  /** Cost of calls that failed. */
  failedCallsUsd: number;
  /** Cost of retries: the next call on the same model after a failed call, in the same task. */
  retryUsd: number;
  /** Calls with no trace id (not counted as tasks). */
  callsWithoutTask: number;
  text: string;
}

/** Cost per task (calls grouped by trace id) per group: p50/p95, failed calls, retries, cost per successful task. */
export function taskCosts(slices: readonly Slice[], opts: { dim?: string; source?: CostSource } = {}): TaskCost[] {
  const dim = opts.dim ?? 'feature';
  const source = opts.source ?? 'auto';
  const out: TaskCost[] = [];
  // Calls of one trace id, across rows and files, share a key (trace ids are not interned: see TraceIds).
  const traceKeys = new TraceKeys();
  for (const [value, s] of partition(slices, dim)) {
    const tasks = new Map<number, { t: CallTable; i: number; cost: number }[]>();
    let noTask = 0;
    for (const { table: t, rows } of s) {
      const keys = traceKeys.keysOf(t.traces);
      for (let k = 0; k < rows.length; k++) {
        const i = rows[k];
        const tid = keys[t.traceId[i]];
        if (!tid) {
          noTask++;
          continue;
        }
        const c = rowCost(t, i, source);
        let a = tasks.get(tid);
        if (!a) tasks.set(tid, (a = []));
        a.push({ t, i, cost: Number.isNaN(c) ? 0 : c });
      }
    }
    if (!tasks.size) continue;
    const costs: number[] = [];
    let success = 0, failed = 0, retry = 0, total = 0;
    for (const calls of tasks.values()) {
      calls.sort((x, y) => x.t.tsMs[x.i] - y.t.tsMs[y.i] || x.t.line[x.i] - y.t.line[y.i]);
      let c = 0;
      const failedModels = new Set<number>();
      for (const r of calls) {
        c += r.cost;
        const err = (r.t.flags[r.i] & FLAG_ERROR) !== 0;
        const model = r.t.dims.model[r.i];
        // The next call on a model after it failed is its retry.
        if (failedModels.delete(model)) retry += r.cost;
        if (err) {
          failed += r.cost;
          failedModels.add(model);
        }
      }
      const last = calls[calls.length - 1];
      if ((last.t.flags[last.i] & FLAG_ERROR) === 0) success++;
      costs.push(c);
      total += c;
    }
    costs.sort((a, b) => a - b);
    const key = value || UNATTRIBUTED;
    const perSuccess = success ? total / success : NaN;
    out.push({
      key,
      tasks: tasks.size,
      p50Usd: quantile(costs, 0.5),
      p95Usd: quantile(costs, 0.95),
      meanUsd: total / tasks.size,
      successfulTasks: success,
      costPerSuccessUsd: perSuccess,
      failedCallsUsd: failed,
      retryUsd: retry,
      callsWithoutTask: noTask,
      text: `${dim} ${key}: ${plural(tasks.size, 'task')}, p50 ${formatUsd(quantile(costs, 0.5))}, p95 ${formatUsd(quantile(costs, 0.95))} per task; ${formatUsd(perSuccess)} per successful task; failed calls ${formatUsd(failed)}, retries ${formatUsd(retry)}`,
    });
  }
  return out.sort((a, b) => b.meanUsd * b.tasks - a.meanUsd * a.tasks);
}
