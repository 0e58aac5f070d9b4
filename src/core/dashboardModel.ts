/** The data the dashboard draws, built by `buildDashboardSnapshot` and sent to the webview (src/shared/protocol.ts). */

export const DASHBOARD_RANGES = ['24h', '7d', '30d', 'all', 'custom'] as const;
export type DashboardRange = (typeof DASHBOARD_RANGES)[number];

/** Keep calls whose dimension equals the value (`(unattributed)` matches calls with none). */
export interface DashboardFilter {
  dim: string;
  value: string;
}

/** What the dashboard shows: a time range, the dimension to break down by, and filters. */
export interface DashboardQuery {
  range: DashboardRange;
  /** Custom range bounds, epoch ms (used when range is `custom`). */
  sinceMs?: number;
  untilMs?: number;
  groupBy: string;
  filters: DashboardFilter[];
}

/** Figures of a set of calls. USD amounts; ratios 0..1; null where no call is priced. */
export interface Figures {
  costUsd: number;
  calls: number;
  pricedCalls: number;
  unpricedCalls: number;
  meanUsd: number | null;
  p50Usd: number | null;
  p95Usd: number | null;
  p99Usd: number | null;
  cacheHitRatio: number;
  cacheSavingsUsd: number;
  costWithoutCacheUsd: number;
  /** Priced calls with a list price: when fewer than pricedCalls, the savings and cost without cache are unknown. */
  listPricedCalls: number;
  errors: number;
}

export interface GroupRow extends Figures {
  /** The dimension value, or `(unattributed)`. */
  key: string;
  /** Share of the total cost of the view, 0..1. */
  share: number;
}

export interface CacheRow {
  key: string;
  hitRatio: number;
  savingsUsd: number;
  costUsd: number;
  costWithoutCacheUsd: number;
  /** Calls of the feature, and those priced: with calls and none priced, the USD figures are unknown, not 0. */
  calls: number;
  pricedCalls: number;
  /** Priced calls with a list price: when fewer than pricedCalls, the savings and cost without cache are unknown. */
  listPricedCalls: number;
}

/** Everything the dashboard draws, for one query. */
export interface DashboardSnapshot {
  query: DashboardQuery;
  /** The bounds actually used, epoch ms (null: open). */
  sinceMs: number | null;
  untilMs: number | null;
  generatedAtMs: number;
  total: Figures;
  /** The previous period of the same length (null for `all`). */
  previous: { costUsd: number; calls: number } | null;
  /** Share of the cost with no value for the group-by dimension, 0..1. */
  unattributedShare: number;
  /** `reason`: set by the host where the catalogue knows the model yet cannot price it (PriceBook.unpricedReason). */
  unpriced: { model: string; calls: number; reason?: string }[];
  bucket: 'hour' | 'day';
  /** Cost over time, stacked by the group-by dimension: the top groups plus `(other)`. */
  series: { startsMs: number[]; stacks: { key: string; costUsd: number[] }[] };
  byModel: GroupRow[];
  /** Top 10 users (or `topDim` values) by spend. */
  topDim: string;
  top: GroupRow[];
  /** Prompt-cache efficiency per feature. */
  cacheByFeature: CacheRow[];
  /** Cost per call on a log scale: bucket edges (USD, length counts+1), counts, and the percentiles. */
  histogram: { edgesUsd: number[]; counts: number[]; p50Usd: number | null; p95Usd: number | null; p99Usd: number | null };
  /** The breakdown table by the group-by dimension (all groups, costliest first). */
  table: GroupRow[];
  /** Dimensions the user can group by: canonical ones and tag keys seen. */
  dims: string[];
  files: number;
  /**
   * Only when the view holds no call: the calls matching the filters over all time, and when the latest of them was
   * (epoch ms; null when none has a timestamp). For the empty state ("latest call was …", "All time").
   */
  allTime?: { calls: number; latestMs: number | null };
  /** The latest call of the view, epoch ms (else, for an empty view, `allTime.latestMs`; null when none is dated). */
  latestMs?: number | null;
  /** Set by the host: where the calls and the prices come from, for the empty states and the unpriced banner. */
  env?: DashboardEnv;
  /** Signals for the view: anomalies in the range (newest first), budgets' burn, and models to try in a what-if. */
  signals?: DashboardSignals;
}

/** The settings the dashboard's notes name (the host reads them; the page only shows them, as text). */
export interface DashboardEnv {
  /** `llmCostLens.traceFiles`: the globs or paths read. */
  traceFiles: string[];
  /** The prices file in use, as the user would write it (workspace-relative when inside it); null without a folder. */
  pricesFile: string | null;
  /** `llmCostLens.costSource`. */
  costSource: 'auto' | 'recorded' | 'computed';
}

export interface DashboardSignals {
  anomalies: { kind: string; dim: string; key: string; startMs: number; text: string }[];
  budgets: { label: string; level: 'ok' | '50' | '80' | '100'; usedShare: number; text: string }[];
  /** Priced models a what-if can re-price under. */
  whatIfModels: string[];
  /** Anomalies are looked for in this many days before now (for "No anomalies in the last 3 days"). */
  anomalyWindowDays?: number;
  /** Set when no call is that recent: the anomalies are those of the days up to this time (the latest call's hour's end). */
  anomaliesAtMs?: number;
}

/** The answer to a what-if asked from the dashboard. */
export interface WhatIfAnswer {
  model: string;
  currentUsd: number;
  whatIfUsd: number;
  monthlySavingsUsd: number;
  text: string;
}
