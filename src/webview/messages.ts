/** Minimal shape checks of host messages: anything else is ignored. */
import { type DashboardFailure, parseDashboardFailure } from '../core/dashboardMessages';
import type { DashboardEnv, DashboardSignals, DashboardSnapshot, ToWebview } from '../shared/protocol';

/** What the page accepts from the host: the shared protocol, and the failure of a request. */
export type HostMessage = ToWebview | DashboardFailure;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number';

function isSnapshot(v: unknown): v is DashboardSnapshot {
  if (!isObj(v)) return false;
  const { query, total, series, histogram } = v;
  return (
    isObj(query) &&
    typeof query.range === 'string' &&
    typeof query.groupBy === 'string' &&
    Array.isArray(query.filters) &&
    isObj(total) &&
    isNum(total.costUsd) &&
    isNum(total.calls) &&
    isObj(series) &&
    Array.isArray(series.startsMs) &&
    Array.isArray(series.stacks) &&
    isObj(histogram) &&
    Array.isArray(histogram.edgesUsd) &&
    Array.isArray(histogram.counts) &&
    (v.bucket === 'hour' || v.bucket === 'day') &&
    typeof v.topDim === 'string' &&
    isNum(v.generatedAtMs) &&
    isNum(v.unattributedShare) &&
    ['byModel', 'top', 'cacheByFeature', 'table', 'unpriced', 'dims'].every((k) => Array.isArray(v[k]))
  );
}

/** Drops malformed signals rather than the whole snapshot. */
function checkSignals(v: unknown): DashboardSignals | undefined {
  if (!isObj(v)) return undefined;
  const arr = (x: unknown) => (Array.isArray(x) ? x.filter(isObj) : []);
  const str = (x: unknown) => (typeof x === 'string' ? x : '');
  return {
    anomalies: arr(v.anomalies).map((a) => ({ kind: str(a.kind), dim: str(a.dim), key: str(a.key), startMs: isNum(a.startMs) ? a.startMs : 0, text: str(a.text) })),
    budgets: arr(v.budgets).map((b) => ({
      label: str(b.label),
      level: b.level === '50' || b.level === '80' || b.level === '100' ? b.level : 'ok',
      usedShare: isNum(b.usedShare) ? b.usedShare : 0,
      text: str(b.text),
    })),
    whatIfModels: Array.isArray(v.whatIfModels) ? v.whatIfModels.filter((m): m is string => typeof m === 'string') : [],
    ...(isNum(v.anomalyWindowDays) && v.anomalyWindowDays > 0 && v.anomalyWindowDays <= 366 ? { anomalyWindowDays: v.anomalyWindowDays } : {}),
    ...(isNum(v.anomaliesAtMs) && Number.isFinite(v.anomaliesAtMs) ? { anomaliesAtMs: v.anomaliesAtMs } : {}),
  };
}

/** Calls over all time of an empty view; dropped when malformed. */
function checkAllTime(v: unknown): DashboardSnapshot['allTime'] {
  if (!isObj(v) || !isNum(v.calls) || !(v.calls >= 0)) return undefined;
  return { calls: v.calls, latestMs: isNum(v.latestMs) && Number.isFinite(v.latestMs) ? v.latestMs : null };
}

/** The settings the notes name; dropped when malformed (the notes then use the defaults' wording). */
function checkEnv(v: unknown): DashboardEnv | undefined {
  if (!isObj(v)) return undefined;
  return {
    traceFiles: Array.isArray(v.traceFiles) ? v.traceFiles.filter((g): g is string => typeof g === 'string' && g.length <= 500).slice(0, 20) : [],
    pricesFile: typeof v.pricesFile === 'string' && v.pricesFile.length <= 1000 ? v.pricesFile : null,
    costSource: v.costSource === 'recorded' || v.costSource === 'computed' ? v.costSource : 'auto',
  };
}

export function parseToWebview(data: unknown): HostMessage | undefined {
  if (!isObj(data)) return undefined;
  switch (data.type) {
    case 'snapshot': {
      if (!isSnapshot(data.snapshot)) return undefined;
      const { allTime, env, latestMs, ...rest } = data.snapshot;
      const checkedAllTime = checkAllTime(allTime);
      const checkedEnv = checkEnv(env);
      return {
        type: 'snapshot',
        snapshot: {
          ...rest,
          latestMs: isNum(latestMs) && Number.isFinite(latestMs) ? latestMs : null,
          signals: checkSignals(data.snapshot.signals),
          ...(checkedAllTime ? { allTime: checkedAllTime } : {}), ...(checkedEnv ? { env: checkedEnv } : {}) },
      };
    }
    case 'failed':
      return parseDashboardFailure(data);
    case 'loading':
      return { type: 'loading', loading: data.loading === true };
    case 'whatIf': {
      const a = data.answer;
      if (isObj(a) && typeof a.text === 'string' && typeof a.model === 'string' && isNum(a.currentUsd) && isNum(a.whatIfUsd) && isNum(a.monthlySavingsUsd)) {
        return { type: 'whatIf', answer: { model: a.model, text: a.text, currentUsd: a.currentUsd, whatIfUsd: a.whatIfUsd, monthlySavingsUsd: a.monthlySavingsUsd } };
      }
      return { type: 'whatIf', error: typeof data.error === 'string' ? data.error : 'No answer.' };
    }
    default:
      return undefined;
  }
}
