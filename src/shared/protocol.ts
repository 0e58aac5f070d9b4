/**
 * Messages between the extension host and the dashboard webview. The host sends aggregates only (never raw records);
 * every message the webview sends is untrusted and checked with `parseFromWebview` before use.
 */

import { type DashboardFilter, type DashboardQuery, type DashboardRange, type DashboardSnapshot, DASHBOARD_RANGES, type WhatIfAnswer } from '../core/dashboardModel';
import type { DashboardCommandMessage, DashboardFailure } from '../core/dashboardMessages';

export * from '../core/dashboardModel';

/** Host → webview. */
export type ToWebview =
  | { type: 'snapshot'; snapshot: DashboardSnapshot }
  | { type: 'loading'; loading: boolean }
  /** The answer to a `whatIf` request, or why there is none. */
  | { type: 'whatIf'; answer?: WhatIfAnswer; error?: string }
  /** A request of the page failed (src/core/dashboardMessages.ts). */
  | DashboardFailure;

/** Webview → host. */
export type FromWebview =
  | { type: 'ready' }
  | { type: 'setQuery'; query: DashboardQuery }
  | { type: 'revealInTree'; filters: DashboardFilter[] }
  | { type: 'openCostliest'; filters: DashboardFilter[] }
  | { type: 'export'; format: 'csv' | 'markdown' }
  /** Re-price the calls of the current view under another model. */
  | { type: 'whatIf'; model: string }
  /** Run one of the extension's commands the page offers (src/core/dashboardMessages.ts). */
  | DashboardCommandMessage;

const MAX_TEXT = 500;

function isStr(v: unknown, max = MAX_TEXT): v is string {
  return typeof v === 'string' && v.length <= max;
}

function parseFilters(v: unknown): DashboardFilter[] | undefined {
  if (!Array.isArray(v) || v.length > 10) return undefined;
  const out: DashboardFilter[] = [];
  for (const f of v) {
    if (typeof f !== 'object' || f === null) return undefined;
    const { dim, value } = f as Record<string, unknown>;
    if (!isStr(dim, 100) || !isStr(value)) return undefined;
    out.push({ dim, value });
  }
  return out;
}

function parseQuery(v: unknown): DashboardQuery | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const q = v as Record<string, unknown>;
  if (!isStr(q.range) || !(DASHBOARD_RANGES as readonly string[]).includes(q.range)) return undefined;
  if (!isStr(q.groupBy, 100) || q.groupBy === '') return undefined;
  const filters = parseFilters(q.filters);
  if (!filters) return undefined;
  const num = (x: unknown) => (x === undefined ? undefined : typeof x === 'number' && Number.isFinite(x) ? x : NaN);
  const sinceMs = num(q.sinceMs);
  const untilMs = num(q.untilMs);
  if (Number.isNaN(sinceMs) || Number.isNaN(untilMs)) return undefined;
  return { range: q.range as DashboardRange, groupBy: q.groupBy, filters, sinceMs, untilMs };
}

/** Checks a message from the webview; returns it typed, or undefined when it is not one we accept. */
export function parseFromWebview(m: unknown): FromWebview | undefined {
  if (typeof m !== 'object' || m === null) return undefined;
  const msg = m as Record<string, unknown>;
  switch (msg.type) {
    case 'ready':
      return { type: 'ready' };
    case 'setQuery': {
      const query = parseQuery(msg.query);
      return query ? { type: 'setQuery', query } : undefined;
    }
    case 'revealInTree':
    case 'openCostliest': {
      const filters = parseFilters(msg.filters);
      return filters ? { type: msg.type, filters } : undefined;
    }
    case 'export':
      return msg.format === 'csv' || msg.format === 'markdown' ? { type: 'export', format: msg.format } : undefined;
    case 'whatIf':
      return isStr(msg.model, 200) && msg.model.trim() ? { type: 'whatIf', model: msg.model.trim() } : undefined;
    default:
      return undefined;
  }
}
