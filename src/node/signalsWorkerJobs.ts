// The jobs of the signals worker (outliers, anomalies and budgets, cost per task, what-if, the dashboard) as plain data, and the one
// function that runs them over tables: in the worker thread (signalsWorker.ts) and inline (tests, fallback) alike, so
// both give the same results. No vscode, no threads here.
import { latestCallMs, select, type QueryOptions } from '../core/analysis';
import { type Anomaly, findAnomalies, findModelSwitches } from '../core/anomalies';
import { type Budget, type BudgetStatus, budgetStatus, type TaskCost, taskCosts, type WhatIfResult, whatIf } from '../core/budgets';
import type { CallTable, SharedColumns } from '../core/callTable';
import { buildDashboardSnapshot } from '../core/dashboard';
import type { DashboardQuery, DashboardSnapshot } from '../core/dashboardModel';
import { type OutlierOptions, type OutlierReport, findOutliers } from '../core/outliers';
import { costOfTokens, PriceBook, type ResolvedPrice, tableAt } from '../core/pricing';
import type { CostSource, TokenCounts } from '../core/types';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** Which rows a job reads: a time range and dimension filters (as `select` takes them). */
export type RowQuery = Pick<QueryOptions, 'sinceMs' | 'untilMs' | 'filters'>;

/** The background signals: anomalies in the last `windowDays` (against `historyDays` of history) and budget burn. */
export interface SignalsRequest {
  kind: 'signals';
  /** Epoch ms the windows and budget periods are measured from. */
  nowMs: number;
  windowDays: number;
  historyDays: number;
  /** Dimensions whose values get hourly baselines (spikes, rate changes, cache drops). */
  dims: string[];
  source: CostSource;
  budgets: Budget[];
  /**
   * When no call is in the anomaly window (the latest is older than `windowDays`: a trace of last week opened today),
   * anomalies are looked for in the `windowDays` up to the latest call instead (`anomaliesAtMs` in the result); budgets
   * always burn at `nowMs`.
   */
  anchorToLatestCall?: boolean;
}

export type SignalsJob =
  | { kind: 'outliers'; query: RowQuery; options: OutlierOptions }
  | SignalsRequest
  | { kind: 'taskCosts'; query: RowQuery; options: { dim?: string; source?: CostSource } }
  /** `price` is the target model's price as the caller's PriceBook resolves it (undefined: no price, no result). */
  | { kind: 'whatIf'; query: RowQuery; model: string; price: ResolvedPrice | undefined; options: { label?: string; source?: CostSource } }
  /** The dashboard's figures for a query (a million calls take about half a second: not on the extension host). */
  | { kind: 'dashboard'; query: DashboardQuery; nowMs: number; source: CostSource };

export interface SignalsJobResults {
  outliers: OutlierReport;
  /** Newest first. */
  signals: { anomalies: Anomaly[]; budgets: BudgetStatus[]; anomaliesAtMs?: number };
  taskCosts: TaskCost[];
  whatIf: WhatIfResult | undefined;
  dashboard: DashboardSnapshot;
}

export type SignalsJobResult<J extends SignalsJob> = SignalsJobResults[J['kind']];

/**
 * A table of a job: one the worker holds (`tables`), with the rows, copies and trace ids it has now, or, when its
 * columns are not in shared memory (nothing to keep), its columns.
 */
export type JobTable = { pool: number; table: number; length: number; copies: number; traces: number } | { pool: number; columns: SharedColumns };

/**
 * Host → worker. Strings extend the worker's copy of pool `pool` from id `from` on (pools only grow). `tables` gives
 * the worker tables' shared columns to keep by id (again when a table's columns moved: grown, a new tag); `forget` lets
 * them go. A job names the tables it reads.
 */
export type ToSignalsWorker =
  | { type: 'strings'; pool: number; from: number; strings: string[] }
  | { type: 'tables'; tables: { table: number; columns: SharedColumns }[] }
  | { type: 'forget'; tables: number[] }
  | { type: 'run'; id: number; tables: JobTable[]; job: SignalsJob };

/** Worker → host. */
export type FromSignalsWorker = { type: 'done'; id: number; result: unknown } | { type: 'error'; id: number; message: string };

/** A PriceBook that knows only the what-if target's resolved price: all `whatIf` asks of one, and plain data to send. */
class TargetPrice extends PriceBook {
  constructor(
    private readonly model: string,
    private readonly resolved: ResolvedPrice | undefined,
  ) {
    super();
  }

  override resolve(model: string | undefined): ResolvedPrice | undefined {
    return model === this.model ? this.resolved : undefined;
  }

  override price(model: string | undefined, _provider: string | undefined, tokens: TokenCounts, tsMs: number) {
    const p = this.resolve(model);
    return p ? costOfTokens(tableAt(p, tsMs), tokens) : undefined;
  }
}

/** Runs a job over `tables` (rows < each table's `length`) and returns its plain-data result. */
export function runSignalsJob<J extends SignalsJob>(tables: readonly CallTable[], job: J): SignalsJobResult<J> {
  return run(tables, job) as SignalsJobResult<J>;
}

function run(tables: readonly CallTable[], job: SignalsJob): SignalsJobResults[SignalsJob['kind']] {
  switch (job.kind) {
    case 'outliers':
      return findOutliers(select(tables, job.query), job.options);
    case 'taskCosts':
      return taskCosts(select(tables, job.query), job.options);
    case 'whatIf':
      return whatIf(select(tables, job.query), job.model, new TargetPrice(job.model, job.price), job.options);
    case 'dashboard':
      return buildDashboardSnapshot(tables, job.query, job.nowMs, job.source);
    case 'signals': {
      const latest = job.anchorToLatestCall ? latestCallMs(tables, job.nowMs) : undefined;
      // Anomalies as of the end of the latest call's hour when no call is in the window that ends now.
      const at = latest !== undefined && latest < job.nowMs - job.windowDays * DAY_MS ? Math.floor(latest / HOUR_MS) * HOUR_MS + HOUR_MS : undefined;
      const end = at ?? job.nowMs;
      const since = end - job.windowDays * DAY_MS;
      const slices = select(tables, { sinceMs: end - job.historyDays * DAY_MS, ...(at !== undefined ? { untilMs: at } : {}) });
      const anomalies = [
        ...findAnomalies(slices, { dims: job.dims, source: job.source, sinceMs: since }),
        ...findModelSwitches(slices, { source: job.source, sinceMs: since }),
      ].sort((a, b) => b.startMs - a.startMs);
      return { anomalies, budgets: budgetStatus(tables, job.budgets, job.nowMs, job.source), ...(at !== undefined ? { anomaliesAtMs: at } : {}) };
    }
  }
}
