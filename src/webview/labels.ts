/** Short labels for axes, ticks and headings (UTC dates, compact money). */
import type { DashboardQuery, DashboardRange, DashboardSnapshot } from '../shared/protocol';

const dayFmt = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', month: 'short', day: 'numeric' });
const dayYearFmt = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', month: 'short', day: 'numeric', year: 'numeric' });
const weekdayFmt = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', weekday: 'short', month: 'short', day: 'numeric' });

const pad = (n: number) => String(n).padStart(2, '0');

/** `Nov 14` for a day bucket; `13:00` (with the date under it at midnight and on the first bar) for an hour bucket. */
export function bucketTick(ms: number, bucket: 'hour' | 'day', first: boolean): string | string[] {
  const d = new Date(ms);
  if (bucket === 'day') return dayFmt.format(d);
  const hh = `${pad(d.getUTCHours())}:00`;
  return first || d.getUTCHours() === 0 ? [hh, dayFmt.format(d)] : hh;
}

/** `Fri, Nov 14` or `Nov 14, 13:00` (tooltips and tables). */
export function bucketLong(ms: number, bucket: 'hour' | 'day'): string {
  const d = new Date(ms);
  return bucket === 'day' ? weekdayFmt.format(d) : `${dayFmt.format(d)}, ${pad(d.getUTCHours())}:00–${pad((d.getUTCHours() + 1) % 24)}:00`;
}

/** `2026-11-14` (UTC) for a date input. */
export function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function dateTimeUtc(ms: number): string {
  const d = new Date(ms);
  return `${dayYearFmt.format(d)}, ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
}

/** Axis ticks: `$0`, `$0.25`, `$2.50`, `$10`, `$1.2k`, `$0.0005`. */
export function usdTick(v: number): string {
  if (!Number.isFinite(v)) return '';
  const a = Math.abs(v);
  const sign = v < 0 ? '-' : '';
  if (a === 0) return '$0';
  if (a >= 1000) return `${sign}$${+(a / 1000).toFixed(1)}k`;
  if (a >= 1) return Number.isInteger(a) ? `${sign}$${a}` : `${sign}$${a.toFixed(2)}`;
  if (a >= 0.01) return `${sign}$${a.toFixed(2)}`;
  return `${sign}$${+a.toPrecision(2)}`;
}

/** A compact money amount for bucket edges: `$0.0001`, `$0.0018`, `$0.056`, `$1.8`. */
export function usdEdge(v: number): string {
  if (!Number.isFinite(v)) return '';
  if (v >= 100) return `$${Math.round(v)}`;
  return `$${+v.toPrecision(2)}`;
}

export function truncate(s: string, n = 32): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

export const RANGE_LABEL: Record<DashboardRange, string> = {
  '24h': 'Last 24 hours',
  '7d': 'Last 7 days',
  '30d': 'Last 30 days',
  all: 'All time',
  custom: 'Custom range',
};

const PREVIOUS_LABEL: Record<DashboardRange, string> = {
  '24h': 'the previous 24 hours',
  '7d': 'the previous 7 days',
  '30d': 'the previous 30 days',
  all: 'the previous period',
  custom: 'the previous period of the same length',
};

export function previousLabel(q: DashboardQuery): string {
  return PREVIOUS_LABEL[q.range] ?? 'the previous period';
}

/** `Nov 15, 2026, 14:00 UTC → now` */
export function boundsLabel(s: DashboardSnapshot): string {
  if (s.sinceMs === null && s.untilMs === null) return 'every call recorded';
  const from = s.sinceMs === null ? 'the first call' : dateTimeUtc(s.sinceMs);
  const to = s.untilMs === null ? 'now' : dateTimeUtc(s.untilMs);
  return `${from} → ${to}`;
}

/** `less than an hour ago`, `5 hours ago` (under two days), `10 days ago`; `in the future` for a later time. */
export function timeAgo(ms: number, nowMs: number): string {
  const h = (nowMs - ms) / 3_600_000;
  if (h < 0) return 'in the future';
  if (h < 1) return 'less than an hour ago';
  if (h < 48) return `${Math.floor(h)} hour${Math.floor(h) === 1 ? '' : 's'} ago`;
  return `${Math.floor(h / 24)} days ago`;
}
