import { quantile } from 'simple-statistics';
import { partition, rowCost, type Slice, UNATTRIBUTED } from './analysis';
import { FLAG_ERROR, type CallTable } from './callTable';
import { formatCount, formatPct, formatUsd, plural } from './format';
import { TraceKeys } from './traceIds';
import type { CostSource } from './types';

/** A likely cause of an outlier, read from its record: a code for machines and words for people. */
export interface Cause {
  code: 'prompt_grew' | 'long_answer' | 'cache_invalidated' | 'cache_written' | 'paid_for_error' | 'other_model' | 'reasoning' | 'loop' | 'retries';
  text: string;
}

export interface CallOutlier {
  kind: 'call';
  file: string;
  line: number;
  costUsd: number;
  /** The group it is an outlier in (its feature, by default). */
  dim: string;
  group: string;
  groupMedianUsd: number;
  /** Cost over the group median. */
  multiple: number;
  /** Robust z-score of log cost: 0.6745 (x − median) / MAD. */
  z: number;
  model: string;
  traceId?: string;
  tsMs: number;
  callsite?: { file: string; line?: number };
  causes: Cause[];
  /** One sentence: what it is and why. */
  text: string;
}

export interface TraceOutlier {
  kind: 'trace';
  traceId: string;
  dim: string;
  group: string;
  calls: number;
  costUsd: number;
  medianCalls: number;
  medianCostUsd: number;
  /** Calls over the group's median calls per trace. */
  multiple: number;
  errors: number;
  /** The trace's first call. */
  file: string;
  line: number;
  tsMs: number;
  callsite?: { file: string; line?: number };
  causes: Cause[];
  text: string;
}

export interface OutlierReport {
  calls: CallOutlier[];
  traces: TraceOutlier[];
  totalCostUsd: number;
  /** Cost of the outlier calls plus the outlier traces (each call counted once). */
  outlierCostUsd: number;
  outlierShare: number;
  /** The costliest 1% of calls and their share of the spend. */
  topPercentCalls: number;
  topPercentShare: number;
  headline: string;
}

export interface OutlierOptions {
  /** The dimension calls are compared within (default `feature`). */
  dim?: string;
  source?: CostSource;
  /** Groups smaller than this are compared with all calls instead (default 20). */
  minGroupSize?: number;
  /** Robust z-score above which a call is an outlier (default 3.5). */
  zThreshold?: number;
  /** And it must cost at least this many times the group median (default 5). */
  minMultiple?: number;
  /** A trace is a loop when it has this many times its group's median calls per trace, and at least `minTraceCalls`. */
  traceMultiple?: number;
  minTraceCalls?: number;
  /** At most this many call outliers are listed (the costliest). */
  maxCalls?: number;
}

interface Row {
  t: CallTable;
  i: number;
  cost: number;
}

const MAD_SCALE = 0.6745;

/** Median of a typed array (selection on a copy, not a sort). */
function medianOf(values: Float64Array): number {
  return values.length ? quantile(values as unknown as number[], 0.5) : NaN;
}

function madOf(values: Float64Array, med: number): number {
  const d = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) d[i] = Math.abs(values[i] - med);
  return medianOf(d);
}

function logsOf(rows: Row[]): Float64Array {
  const a = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) a[i] = Math.log(rows[i].cost);
  return a;
}

function totalInput(t: CallTable, i: number): number {
  return t.inputTokens[i] + t.cacheReadTokens[i] + t.cacheWriteTokens[i];
}

function callsiteOf(t: CallTable, i: number): CallOutlier['callsite'] {
  const f = t.callsiteFile[i];
  return f ? { file: t.pool.get(f), line: t.callsiteLine[i] || undefined } : undefined;
}

/** Baselines of a group that causes are judged against. */
interface GroupProfile {
  medianInput: number;
  medianOutput: number;
  medianCacheWrite: number;
  /** Share of calls that read from the cache. */
  cacheHitShare: number;
  dominantModel: string;
  dominantShare: number;
}

function profile(rows: Row[]): GroupProfile {
  const inputs = new Float64Array(rows.length);
  const outputs = new Float64Array(rows.length);
  const writes = new Float64Array(rows.length);
  const models = new Map<string, number>();
  let hits = 0;
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k];
    inputs[k] = totalInput(r.t, r.i);
    outputs[k] = r.t.outputTokens[r.i];
    writes[k] = r.t.cacheWriteTokens[r.i];
    if (r.t.cacheReadTokens[r.i] > 0) hits++;
    const m = r.t.pool.get(r.t.dims.model[r.i]);
    models.set(m, (models.get(m) ?? 0) + 1);
  }
  let dominantModel = '';
  let best = 0;
  for (const [m, n] of models) if (n > best) [dominantModel, best] = [m, n];
  return {
    medianInput: inputs.length ? medianOf(inputs) : 0,
    medianOutput: outputs.length ? medianOf(outputs) : 0,
    medianCacheWrite: writes.length ? medianOf(writes) : 0,
    cacheHitShare: rows.length ? hits / rows.length : 0,
    dominantModel,
    dominantShare: rows.length ? best / rows.length : 0,
  };
}

const times = (x: number) => (x >= 10 ? `×${Math.round(x)}` : `×${x.toFixed(1)}`);

/** Reads the likely causes of an expensive call from its record against its group's profile. */
export function causesOf(t: CallTable, i: number, p: GroupProfile): Cause[] {
  const causes: Cause[] = [];
  const input = totalInput(t, i);
  if (p.medianInput > 0 && input >= 5 * p.medianInput) causes.push({ code: 'prompt_grew', text: `input tokens ${times(input / p.medianInput)} the group median: the prompt grew` });
  const out = t.outputTokens[i];
  if (p.medianOutput > 0 && out >= 5 * p.medianOutput) causes.push({ code: 'long_answer', text: `output tokens ${times(out / p.medianOutput)} the usual: a long answer` });
  if (t.reasoningTokens[i] > 0 && t.reasoningTokens[i] >= 0.5 * out && out >= 5 * p.medianOutput)
    causes.push({ code: 'reasoning', text: `${formatCount(t.reasoningTokens[i])} reasoning tokens` });
  if (t.cacheReadTokens[i] === 0 && p.cacheHitShare >= 0.5 && input > 0)
    causes.push({ code: 'cache_invalidated', text: `a cache miss where this group usually hits (${formatPct(p.cacheHitShare)} of calls): the cache was invalidated` });
  // Cache writes are billed above the input rate (1.25x for 5 minutes, 2x for an hour): a big one is a cost of its own.
  const written = t.cacheWriteTokens[i];
  if (written >= 1000 && written >= 5 * p.medianCacheWrite && written >= 0.25 * input)
    causes.push({
      code: 'cache_written',
      text: `${formatCount(written)} tokens written to the prompt cache (${p.medianCacheWrite > 0 ? `${times(written / p.medianCacheWrite)} the usual` : 'usually none'}): the cache was (re)built`,
    });
  const model = t.pool.get(t.dims.model[i]);
  if (p.dominantShare >= 0.6 && model && model !== p.dominantModel) causes.push({ code: 'other_model', text: `ran on ${model} where this group usually uses ${p.dominantModel}` });
  if ((t.flags[i] & FLAG_ERROR) !== 0) causes.push({ code: 'paid_for_error', text: 'an error with tokens spent: paid for nothing' });
  return causes;
}

/**
 * Finds calls that are outliers within their own group (robust: median and MAD of log cost, plus a multiple of the
 * group median, so an expensive feature does not hide the outliers of a cheap one), and traces (tasks) with far more
 * calls than their group's traces usually have (loops). Says why, in words, from the records.
 */
export function findOutliers(slices: readonly Slice[], opts: OutlierOptions = {}): OutlierReport {
  const dim = opts.dim ?? 'feature';
  const source = opts.source ?? 'auto';
  const minGroup = opts.minGroupSize ?? 20;
  const zMax = opts.zThreshold ?? 3.5;
  const minMultiple = opts.minMultiple ?? 5;
  const traceMultiple = opts.traceMultiple ?? 10;
  const minTraceCalls = opts.minTraceCalls ?? 20;

  const all: Row[] = [];
  const groups = new Map<string, Row[]>();
  for (const [value, s] of partition(slices, dim)) {
    const rows: Row[] = [];
    for (const { table: t, rows: idx } of s) {
      for (let k = 0; k < idx.length; k++) {
        const c = rowCost(t, idx[k], source);
        if (!(c > 0)) continue;
        rows.push({ t, i: idx[k], cost: c });
      }
    }
    groups.set(value === '' ? UNATTRIBUTED : value, rows);
    for (const r of rows) all.push(r);
  }
  let total = 0;
  for (const r of all) total += r.cost;

  // --- calls ---
  const calls: CallOutlier[] = [];
  const flagged = new Set<Row>();
  const allLogs = logsOf(all);
  const allMed = allLogs.length ? medianOf(allLogs) : 0;
  const allMad = allLogs.length ? madOf(allLogs, allMed) : 0;
  const allProfile = profile(all);
  for (const [group, rows] of groups) {
    if (!rows.length) continue;
    // Within a group, compare each call with the calls of the same model when there are enough of them, so a feature
    // that mixes a cheap and a premium model does not flag every premium call.
    const byModel = new Map<number, Row[]>();
    for (const r of rows) {
      const m = r.t.dims.model[r.i];
      let a = byModel.get(m);
      if (!a) byModel.set(m, (a = []));
      a.push(r);
    }
    const subgroups = [...byModel.values()].every((a) => a.length >= minGroup) ? [...byModel.values()] : [rows];
    const groupProfile = rows.length >= minGroup ? profile(rows) : allProfile;
    for (const sub of subgroups) {
      const small = sub.length < minGroup;
      const logs = small ? allLogs : logsOf(sub);
      const med = small ? allMed : medianOf(logs);
      const mad = small ? allMad : madOf(logs, med);
      const medianUsd = Math.exp(med);
      const prof = small ? allProfile : { ...profile(sub), dominantModel: groupProfile.dominantModel, dominantShare: groupProfile.dominantShare };
      for (const r of sub) {
        const lx = Math.log(r.cost);
        const z = mad > 0 ? (MAD_SCALE * (lx - med)) / mad : lx > med ? Infinity : 0;
        const multiple = r.cost / medianUsd;
        if (z < zMax || multiple < minMultiple) continue;
        flagged.add(r);
        const causes = causesOf(r.t, r.i, prof);
        const tid = r.t.traceId[r.i];
        const model = r.t.pool.get(r.t.dims.model[r.i]);
        const of = subgroups.length > 1 ? `${group} ${model}` : group;
        calls.push({
          kind: 'call',
          file: r.t.file,
          line: r.t.line[r.i],
          costUsd: r.cost,
          dim,
          group,
          groupMedianUsd: medianUsd,
          multiple,
          z,
          model,
          traceId: (tid && r.t.traces.text(tid)) || undefined,
          tsMs: r.t.tsMs[r.i],
          callsite: callsiteOf(r.t, r.i),
          causes,
          text: `${formatUsd(r.cost)}, ${times(multiple)} the ${of} median (${formatUsd(medianUsd)}): ${causes.length ? causes.map((c) => c.text).join('; ') : 'no single cause in its record (its tokens, cache use, model and status are each within the usual range)'}`,
        });
      }
    }
  }
  calls.sort((a, b) => b.costUsd - a.costUsd);
  const listedCalls = calls.slice(0, opts.maxCalls ?? 200);

  // --- traces ---
  const traces: TraceOutlier[] = [];
  // Calls of one trace id, across rows and files, share a key (trace ids are not interned: see TraceIds).
  const traceKeys = new TraceKeys();
  for (const [group, rows] of groups) {
    const byTrace = new Map<number, Row[]>();
    for (const r of rows) {
      const tid = traceKeys.keysOf(r.t.traces)[r.t.traceId[r.i]];
      if (!tid) continue;
      let a = byTrace.get(tid);
      if (!a) byTrace.set(tid, (a = []));
      a.push(r);
    }
    if (byTrace.size < 5) continue;
    const counts = new Float64Array(byTrace.size);
    const costs = new Float64Array(byTrace.size);
    let j = 0;
    for (const a of byTrace.values()) {
      counts[j] = a.length;
      let c = 0;
      for (const r of a) c += r.cost;
      costs[j++] = c;
    }
    const medCalls = medianOf(counts);
    const medCost = medianOf(costs);
    for (const a of byTrace.values()) {
      const n = a.length;
      const errs = a.filter((r) => (r.t.flags[r.i] & FLAG_ERROR) !== 0).length;
      const loop = n >= minTraceCalls && n >= traceMultiple * medCalls;
      const retried = errs >= 3 && errs >= 0.3 * n;
      if (!loop && !retried) continue;
      const cost = a.reduce((s, r) => s + r.cost, 0);
      const errors = a.filter((r) => (r.t.flags[r.i] & FLAG_ERROR) !== 0).length;
      a.sort((x, y) => x.t.tsMs[x.i] - y.t.tsMs[y.i] || x.t.line[x.i] - y.t.line[y.i]);
      const first = a[0];
      const causes: Cause[] = [];
      if (loop) causes.push({ code: 'loop', text: `${formatCount(n)} calls in one trace (usually ${formatCount(medCalls)}): a loop` });
      if (retried) causes.push({ code: 'retries', text: `${formatCount(errors)} of ${formatCount(n)} calls failed and were retried: paid for nothing` });
      const id = first.t.traces.text(first.t.traceId[first.i]);
      for (const r of a) flagged.add(r);
      traces.push({
        kind: 'trace',
        traceId: id,
        dim,
        group,
        calls: n,
        costUsd: cost,
        medianCalls: medCalls,
        medianCostUsd: medCost,
        multiple: n / medCalls,
        errors,
        file: first.t.file,
        line: first.t.line[first.i],
        tsMs: first.t.tsMs[first.i],
        callsite: callsiteOf(first.t, first.i),
        causes,
        text: `trace ${id}: ${formatUsd(cost)} (${times(medCost > 0 ? cost / medCost : n / medCalls)} a usual ${group} task): ${causes.map((c) => c.text).join('; ')}`,
      });
    }
  }
  traces.sort((a, b) => b.costUsd - a.costUsd);

  let outlierCost = 0;
  for (const r of flagged) outlierCost += r.cost;
  const sorted = new Float64Array(all.length);
  for (let k = 0; k < all.length; k++) sorted[k] = all[k].cost;
  sorted.sort();
  const topN = Math.max(1, Math.ceil(sorted.length * 0.01));
  let topCost = 0;
  for (let k = sorted.length - 1; k >= Math.max(0, sorted.length - topN); k--) topCost += sorted[k];
  const topShare = total > 0 ? topCost / total : 0;
  const outlierShare = total > 0 ? outlierCost / total : 0;
  const headline =
    `The top 1% of calls (${formatCount(Math.min(topN, sorted.length))}) are ${formatPct(topShare)} of the spend. ` +
    `${plural(calls.length, 'outlier call')} and ${plural(traces.length, 'runaway trace')} cost ${formatUsd(outlierCost)} (${formatPct(outlierShare)}).`;
  return { calls: listedCalls, traces, totalCostUsd: total, outlierCostUsd: outlierCost, outlierShare, topPercentCalls: Math.min(topN, sorted.length), topPercentShare: topShare, headline };
}
