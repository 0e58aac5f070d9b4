import { mean, standardDeviation } from 'simple-statistics';
import { partition, rowCost, type Slice, UNATTRIBUTED } from './analysis';
import { formatPct, formatUsd, plural, utcMinute } from './format';
import type { CostSource } from './types';

const HOUR = 3_600_000;
const DAY = 86_400_000;

/** Days of history a spike needs before the hour it judges: the same hour on at least this many earlier days. */
export const SPIKE_MIN_HISTORY_DAYS = 3;
/** Days of a full baseline: the same hour on the previous 7 days. */
export const FULL_BASELINE_DAYS = 7;

export interface Anomaly {
  kind: 'spike' | 'rate' | 'cache_drop' | 'model_switch';
  dim: string;
  key: string;
  /** The flagged period, epoch ms (an hour or a run of hours; a day for model switches). */
  startMs: number;
  endMs: number;
  costUsd: number;
  /** What the period usually costs (same hours of the previous days, or the trailing mean). */
  baselineUsd: number;
  /** costUsd / baselineUsd (for `rate`: cost per call over its baseline). */
  multiple: number;
  text: string;
}

export interface AnomalyOptions {
  dims?: string[];
  source?: CostSource;
  /** Flag an hour at this multiple of its baseline (default 2). */
  multiple?: number;
  /** Or beyond this many standard deviations of the trailing 14-day hourly mean (default 3). */
  sigmas?: number;
  /** Hours with fewer calls are not judged (default 5; `minCallsByDim` per dimension, default 40 for users, whose
   * traffic comes in sessions). */
  minCalls?: number;
  minCallsByDim?: Record<string, number>;
  /** Nor hours costing less than this, USD (default 0.01). */
  minCostUsd?: number;
  /** Only report anomalies that start at or after this time. */
  sinceMs?: number;
}

interface Hourly {
  cost: Map<number, number>;
  calls: Map<number, number>;
  /** Cache-read tokens and all input tokens per hour. */
  cacheRead: Map<number, number>;
  input: Map<number, number>;
  /** Calls × the median cost per call of each hour: the hour's cost without the pull of a few heavy calls. */
  robust: Map<number, number>;
}

function hourly(slices: readonly Slice[], source: CostSource): Hourly {
  const cost = new Map<number, number>();
  const calls = new Map<number, number>();
  const cacheRead = new Map<number, number>();
  const input = new Map<number, number>();
  const perHour = new Map<number, number[]>();
  for (const { table: t, rows } of slices) {
    for (let k = 0; k < rows.length; k++) {
      const i = rows[k];
      const ts = t.tsMs[i];
      if (Number.isNaN(ts)) continue;
      const h = Math.floor(ts / HOUR);
      calls.set(h, (calls.get(h) ?? 0) + 1);
      cacheRead.set(h, (cacheRead.get(h) ?? 0) + t.cacheReadTokens[i]);
      input.set(h, (input.get(h) ?? 0) + t.inputTokens[i] + t.cacheReadTokens[i] + t.cacheWriteTokens[i]);
      const c = rowCost(t, i, source);
      if (!Number.isNaN(c)) {
        cost.set(h, (cost.get(h) ?? 0) + c);
        let a = perHour.get(h);
        if (!a) perHour.set(h, (a = []));
        a.push(c);
      }
    }
  }
  const robust = new Map<number, number>();
  for (const [h, a] of perHour) {
    a.sort((x, y) => x - y);
    const mid = a.length >> 1;
    const med = a.length % 2 ? a[mid] : (a[mid - 1] + a[mid]) / 2;
    robust.set(h, med * a.length);
  }
  return { cost, calls, cacheRead, input, robust };
}

/**
 * Hourly cost per feature (and user, agent) against its own baseline. An hour is a spike when it costs `multiple`× or
 * more of the same hour on the previous 7 days (at least 3 of them seen) AND lies beyond `sigmas` standard deviations
 * of the trailing 14-day hourly mean — both, so that the noise of a busy hour does not raise alarms. A rate change is
 * an hour whose cost per call is `multiple`× the trailing 7-day cost per call (prices or prompts changed, not volume);
 * a cache drop is an hour whose cache hit ratio fell below a third of its 7-day ratio. Flagged hours less than three
 * hours apart (twelve for a cache drop, which lasts) merge into one anomaly.
 */
export function findAnomalies(slices: readonly Slice[], opts: AnomalyOptions = {}): Anomaly[] {
  const dims = opts.dims ?? ['feature', 'user', 'agent'];
  const source = opts.source ?? 'auto';
  const k = opts.multiple ?? 2;
  const sig = opts.sigmas ?? 3;
  const minCost = opts.minCostUsd ?? 0.01;
  const out: Anomaly[] = [];
  for (const dim of dims) {
    const minCalls = opts.minCallsByDim?.[dim] ?? (dim === 'user' ? 40 : opts.minCalls ?? 5);
    for (const [value, s] of partition(slices, dim)) {
      if (value === '') continue;
      const key = value;
      const hs = hourly(s, source);
      const { cost, calls } = hs;
      if (!cost.size) continue;
      const hours = [...calls.keys()].sort((a, b) => a - b);
      const firstHour = hours[0];
      const flags: { h: number; kind: 'spike' | 'rate' | 'cache_drop'; cost: number; base: number; multiple: number; note?: string }[] = [];
      for (const h of hours) {
        const c = cost.get(h) ?? 0;
        const n = calls.get(h) ?? 0;
        if (n < minCalls) continue;
        if (opts.sinceMs !== undefined && h * HOUR < opts.sinceMs) continue;
        const same: number[] = [];
        const sameCalls: number[] = [];
        const sameMedRate: number[] = [];
        for (let d = 1; d <= 7; d++) {
          const hh = h - 24 * d;
          if (hh >= firstHour) {
            same.push(cost.get(hh) ?? 0);
            const nn = calls.get(hh) ?? 0;
            sameCalls.push(nn);
            if (nn) sameMedRate.push((hs.robust.get(hh) ?? 0) / nn);
          }
        }
        const trail: number[] = [];
        let weekCost = 0, weekCalls = 0, weekRead = 0, weekInput = 0;
        for (let hh = Math.max(firstHour, h - 14 * 24); hh < h; hh++) {
          trail.push(cost.get(hh) ?? 0);
          if (hh >= h - 7 * 24) {
            weekCost += cost.get(hh) ?? 0;
            weekCalls += calls.get(hh) ?? 0;
            weekRead += hs.cacheRead.get(hh) ?? 0;
            weekInput += hs.input.get(hh) ?? 0;
          }
        }
        if (c >= minCost && same.length >= SPIKE_MIN_HISTORY_DAYS && trail.length >= SPIKE_MIN_HISTORY_DAYS * 24) {
          const base = mean(same);
          const m = mean(trail);
          const sd = standardDeviation(trail);
          // Not a few heavy calls in a busy hour (the outlier finder reports those): the volume or the median cost per
          // call must have risen `multiple`× as well.
          // Volume: beyond 4 standard deviations of a Poisson count with the same hours' mean, so quiet hours stay quiet.
          const lambda = mean(sameCalls);
          const volumeUp = n >= k * lambda && n >= lambda + 4 * Math.sqrt(lambda);
          const medRateUp = n >= 10 && sameMedRate.length > 0 && (hs.robust.get(h) ?? 0) / n >= k * mean(sameMedRate);
          if (base > 0 && c >= k * base && c > m + sig * sd && (volumeUp || medRateUp)) {
            flags.push({ h, kind: 'spike', cost: c, base, multiple: c / base, note: plural(n, 'call') });
            continue;
          }
        }
        if (n >= 20 && weekCalls >= 100 && weekCost > 0 && c >= minCost) {
          const baseRate = weekCost / weekCalls;
          const rate = c / n;
          if (rate >= k * baseRate) {
            flags.push({ h, kind: 'rate', cost: c, base: baseRate * n, multiple: rate / baseRate });
            continue;
          }
        }
        const inp = hs.input.get(h) ?? 0;
        if (n >= 10 && weekInput > 0 && inp > 0) {
          const weekRatio = weekRead / weekInput;
          const ratio = (hs.cacheRead.get(h) ?? 0) / inp;
          if (weekRatio >= 0.3 && ratio < weekRatio / 3) flags.push({ h, kind: 'cache_drop', cost: c, base: weekRatio, multiple: ratio, note: `cache hit ratio ${formatPct(ratio)}, usually ${formatPct(weekRatio)}` });
        }
      }
      for (const kind of ['spike', 'rate', 'cache_drop'] as const) {
        const fk = flags.filter((f) => f.kind === kind);
        for (let a = 0; a < fk.length; ) {
          let b = a;
          const gap = kind === 'cache_drop' ? 12 : 3;
          while (b + 1 < fk.length && fk[b + 1].h - fk[b].h <= gap) b++;
          const run = fk.slice(a, b + 1);
          a = b + 1;
          const c = run.reduce((x, f) => x + f.cost, 0);
          const start = run[0].h * HOUR;
          const end = (run[run.length - 1].h + 1) * HOUR;
          const when = run.length === 1 && end - start === HOUR
            ? `the hour from ${new Date(start).toISOString().slice(0, 13).replace('T', ' ')}:00 UTC`
            : `${Math.round((end - start) / HOUR)} hours from ${new Date(start).toISOString().slice(0, 13).replace('T', ' ')}:00 UTC`;
          if (kind === 'cache_drop') {
            const ratio = Math.max(...run.map((f) => f.multiple));
            out.push({ kind, dim, key, startMs: start, endMs: end, costUsd: c, baselineUsd: 0, multiple: ratio, text: `${dim} ${key}: the prompt cache stopped hitting in ${when} (${run[0].note}): the cache was invalidated` });
            continue;
          }
          const base = run.reduce((x, f) => x + f.base, 0);
          const multiple = Math.max(...run.map((f) => f.multiple));
          const mult = multiple >= 10 ? `${Math.round(multiple)}×` : `${multiple.toFixed(1)}×`;
          out.push({
            kind,
            dim,
            key,
            startMs: start,
            endMs: end,
            costUsd: c,
            baselineUsd: base,
            multiple,
            text: kind === 'spike' ? `${dim} ${key}: ${formatUsd(c)} in ${when}, ${mult} its usual ${formatUsd(base)}` : `${dim} ${key}: cost per call ${mult} its 7-day rate in ${when} (${formatUsd(c)})`,
          });
        }
      }
    }
  }
  out.sort((x, y) => y.startMs - x.startMs || y.costUsd - x.costUsd);
  return out;
}

/** The span of the calls the anomaly detector reads, against the history it needs. */
export interface AnomalyHistory {
  /** The first and the last dated call, ISO; null when no call has a timestamp. */
  from: string | null;
  to: string | null;
  /** Days from the first dated call to the last. */
  days: number;
  /** Days of history a spike needs before the hour it judges (`SPIKE_MIN_HISTORY_DAYS`). */
  neededDays: number;
  /** Days of a full baseline (`FULL_BASELINE_DAYS`). */
  baselineDays: number;
  /** Whether any hour can be judged a spike: the calls span at least `neededDays`. */
  enough: boolean;
  /** What to tell the reader when the history is short of a full baseline; '' when it is not. */
  note: string;
}

/**
 * Whether the calls span enough time for `findAnomalies` to judge them: an hour is judged a spike only against the
 * same hour on at least 3 earlier days (and 72 trailing hours), so on less than 3 days of calls no spike can be found,
 * and "no anomalies" would say nothing. Measured over all the calls (a group with a shorter history has fewer hours judged).
 */
export function anomalyHistory(slices: readonly Slice[]): AnomalyHistory {
  let first = Infinity, last = -Infinity;
  for (const { table: t, rows } of slices) {
    for (let k = 0; k < rows.length; k++) {
      const ts = t.tsMs[rows[k]];
      if (ts < first) first = ts;
      if (ts > last) last = ts;
    }
  }
  const base = { neededDays: SPIKE_MIN_HISTORY_DAYS, baselineDays: FULL_BASELINE_DAYS };
  if (!Number.isFinite(first)) {
    const calls = slices.reduce((a, s) => a + s.rows.length, 0);
    return {
      from: null, to: null, days: 0, ...base, enough: false,
      note: calls ? `No call has a timestamp: anomalies are found hour by hour, so none can be judged (${plural(calls, 'call')} read).` : '',
    };
  }
  // A spike's hour needs the same hour 3 days before it among the calls: 72 hours between the first call's hour and it.
  const hours = Math.floor(last / HOUR) - Math.floor(first / HOUR);
  const enough = hours >= SPIKE_MIN_HISTORY_DAYS * 24;
  const days = (last - first) / DAY;
  const span = `the calls span ${days.toFixed(1)} days (${utcMinute(first)} to ${utcMinute(last)} UTC)`;
  const note = !enough
    ? `History too short to judge spikes: ${span}; a spike needs the same hour on at least ${SPIKE_MIN_HISTORY_DAYS} earlier days (a full baseline is ${FULL_BASELINE_DAYS}). Cost-per-call changes, cache drops and model switches are judged against the history there is.`
    : days < FULL_BASELINE_DAYS
      ? `Short history: ${span}; a full baseline is the same hour on the previous ${FULL_BASELINE_DAYS} days, so the first days are judged against fewer.`
      : '';
  return { from: new Date(first).toISOString(), to: new Date(last).toISOString(), days, ...base, enough, note };
}

/**
 * A feature or agent whose model mix changed: on a day, a model other than the one it used for most calls over the
 * previous 7 days carries at least half of its calls (and at least `minCalls`).
 */
export function findModelSwitches(slices: readonly Slice[], opts: { dims?: string[]; source?: CostSource; minCalls?: number; sinceMs?: number } = {}): Anomaly[] {
  const dims = opts.dims ?? ['feature', 'agent'];
  const source = opts.source ?? 'auto';
  const minCalls = opts.minCalls ?? 10;
  const out: Anomaly[] = [];
  for (const dim of dims) {
    for (const [value, s] of partition(slices, dim)) {
      if (value === '') continue;
      // day -> model -> {calls, cost}
      const days = new Map<number, Map<string, { calls: number; cost: number }>>();
      for (const { table: t, rows } of s) {
        for (let k = 0; k < rows.length; k++) {
          const i = rows[k];
          const ts = t.tsMs[i];
          if (Number.isNaN(ts)) continue;
          const d = Math.floor(ts / DAY);
          let m = days.get(d);
          if (!m) days.set(d, (m = new Map()));
          const model = t.pool.get(t.dims.model[i]) || '(no model)';
          let e = m.get(model);
          if (!e) m.set(model, (e = { calls: 0, cost: 0 }));
          e.calls++;
          const c = rowCost(t, i, source);
          if (!Number.isNaN(c)) e.cost += c;
        }
      }
      const order = [...days.keys()].sort((a, b) => a - b);
      let reported: string | undefined;
      for (const d of order) {
        if (opts.sinceMs !== undefined && d * DAY < opts.sinceMs) continue;
        const prev = new Map<string, { calls: number; cost: number }>();
        for (let p = d - 7; p < d; p++) {
          for (const [m, e] of days.get(p) ?? []) {
            const x = prev.get(m) ?? { calls: 0, cost: 0 };
            prev.set(m, { calls: x.calls + e.calls, cost: x.cost + e.cost });
          }
        }
        const prevTotal = [...prev.values()].reduce((a, e) => a + e.calls, 0);
        if (prevTotal < minCalls) continue;
        const [prevModel, prevE] = [...prev.entries()].sort((a, b) => b[1].calls - a[1].calls)[0];
        if (prevE.calls / prevTotal < 0.6) continue;
        const today = days.get(d)!;
        const todayTotal = [...today.values()].reduce((a, e) => a + e.calls, 0);
        const [topModel, topE] = [...today.entries()].sort((a, b) => b[1].calls - a[1].calls)[0];
        if (topModel === prevModel || topE.calls < minCalls || topE.calls / todayTotal < 0.5) continue;
        if (reported === topModel) continue;
        reported = topModel;
        const oldRate = prevE.cost / prevE.calls;
        const newRate = topE.cost / topE.calls;
        const multiple = oldRate > 0 ? newRate / oldRate : NaN;
        const dayTotalCost = [...today.values()].reduce((a, e) => a + e.cost, 0);
        out.push({
          kind: 'model_switch',
          dim,
          key: value,
          startMs: d * DAY,
          endMs: (d + 1) * DAY,
          costUsd: dayTotalCost,
          baselineUsd: oldRate * todayTotal,
          multiple,
          text: `${dim} ${value} moved from ${prevModel} to ${topModel} on ${new Date(d * DAY).toISOString().slice(0, 10)} (${formatPct(topE.calls / todayTotal)} of its calls${Number.isFinite(multiple) ? `; cost per call ×${multiple >= 10 ? Math.round(multiple) : multiple.toFixed(1)}` : ''})`,
        });
      }
    }
  }
  return out.sort((a, b) => b.startMs - a.startMs);
}

export interface EstimateDrift {
  key: string;
  calls: number;
  estimatedUsd: number;
  actualUsd: number;
  /** actual / estimated − 1. */
  drift: number;
  /** Share of calls whose actual cost is more than 30% away from their estimate. */
  offShare: number;
  text: string;
}

/** Pre-flight estimates against actual cost per group, for calls that carry an estimate and a cost. */
export function estimateDrift(slices: readonly Slice[], opts: { dim?: string; source?: CostSource; tolerance?: number } = {}): EstimateDrift[] {
  const dim = opts.dim ?? 'feature';
  const source = opts.source ?? 'auto';
  const tol = opts.tolerance ?? 0.3;
  const out: EstimateDrift[] = [];
  for (const [value, s] of partition(slices, dim)) {
    let calls = 0, est = 0, act = 0, off = 0;
    for (const { table: t, rows } of s) {
      for (let k = 0; k < rows.length; k++) {
        const i = rows[k];
        const e = t.estimatedUsd[i];
        const c = rowCost(t, i, source);
        if (Number.isNaN(e) || Number.isNaN(c) || e <= 0) continue;
        calls++;
        est += e;
        act += c;
        if (Math.abs(c - e) / e > tol) off++;
      }
    }
    if (!calls) continue;
    const key = value || UNATTRIBUTED;
    const drift = act / est - 1;
    out.push({
      key,
      calls,
      estimatedUsd: est,
      actualUsd: act,
      drift,
      offShare: off / calls,
      text: `${dim} ${key}: actual ${formatUsd(act)} vs estimated ${formatUsd(est)} (${drift >= 0 ? '+' : ''}${formatPct(drift)}); ${formatPct(off / calls)} of ${plural(calls, 'call')} off by more than ${formatPct(tol)}`,
    });
  }
  return out.sort((a, b) => Math.abs(b.actualUsd - b.estimatedUsd) - Math.abs(a.actualUsd - a.estimatedUsd));
}
