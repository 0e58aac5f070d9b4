/** The typed `acquireVsCodeApi()` of the dashboard webview, and the UI state it keeps across reloads. */
import type { DashboardCommandMessage } from '../core/dashboardMessages';
import type { DashboardQuery, FromWebview } from '../shared/protocol';

export type SortKey = 'key' | 'costUsd' | 'share' | 'calls' | 'p50Usd' | 'p95Usd' | 'p99Usd' | 'cacheHitRatio';
export const SORT_KEYS: readonly SortKey[] = ['key', 'costUsd', 'share', 'calls', 'p50Usd', 'p95Usd', 'p99Usd', 'cacheHitRatio'];

export interface SortState {
  key: SortKey;
  dir: 'asc' | 'desc';
}

/** What survives the panel being hidden or the window reloading (`getState`/`setState`). */
export interface UiState {
  /** The last query the user asked for. */
  query?: DashboardQuery;
  sort?: SortState;
  /** Page scroll offset, px. */
  scrollY?: number;
}

export interface VsCodeApi {
  postMessage(message: FromWebview | DashboardCommandMessage): void;
  getState(): unknown;
  setState(state: UiState): UiState;
}

declare global {
  /** Injected by VS Code into webviews; may be called once. */
  function acquireVsCodeApi(): VsCodeApi;
}

/** Reads a persisted state defensively (it may come from an older version of the webview). */
export function readUiState(raw: unknown): UiState {
  if (typeof raw !== 'object' || raw === null) return {};
  const r = raw as Record<string, unknown>;
  const out: UiState = {};
  const s = r.sort as Record<string, unknown> | undefined;
  if (s && typeof s === 'object' && SORT_KEYS.includes(s.key as SortKey) && (s.dir === 'asc' || s.dir === 'desc')) {
    out.sort = { key: s.key as SortKey, dir: s.dir };
  }
  if (typeof r.scrollY === 'number' && Number.isFinite(r.scrollY) && r.scrollY >= 0) out.scrollY = r.scrollY;
  const q = r.query as Record<string, unknown> | undefined;
  if (q && typeof q === 'object' && typeof q.range === 'string' && typeof q.groupBy === 'string' && Array.isArray(q.filters)) {
    out.query = q as unknown as DashboardQuery;
  }
  return out;
}
