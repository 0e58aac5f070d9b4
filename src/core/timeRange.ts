/** The time ranges offered in the views. */
export const TIME_RANGES = ['24h', '7d', '30d', 'all'] as const;
export type TimeRange = (typeof TIME_RANGES)[number];

const SPAN_MS: Record<Exclude<TimeRange, 'all'>, number> = { '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 };

export function isTimeRange(v: unknown): v is TimeRange {
  return typeof v === 'string' && (TIME_RANGES as readonly string[]).includes(v);
}

/** The start of a range ending at `nowMs`, or undefined for all time. */
export function rangeStart(range: TimeRange, nowMs: number): number | undefined {
  return range === 'all' ? undefined : nowMs - SPAN_MS[range];
}

/** One minute in ms: rolling ranges move by whole minutes. */
export const MINUTE_MS = 60_000;

/**
 * The start of a range ending at `nowMs` floored to the whole minute (the same value all through a minute, so views can
 * keep what they computed until it moves), or undefined for all time.
 */
export function rollingRangeStart(range: TimeRange, nowMs: number): number | undefined {
  return rangeStart(range, Math.floor(nowMs / MINUTE_MS) * MINUTE_MS);
}

/** Milliseconds from `nowMs` to the next whole minute (1 to 60,000), when `rollingRangeStart` moves on. */
export function msToNextMinute(nowMs: number): number {
  return MINUTE_MS - (((nowMs % MINUTE_MS) + MINUTE_MS) % MINUTE_MS);
}

/** Words for a range: "last 24 h", "last 7 days", "all time". */
export function rangeLabel(range: TimeRange): string {
  switch (range) {
    case '24h': return 'last 24 h';
    case '7d': return 'last 7 days';
    case '30d': return 'last 30 days';
    default: return 'all time';
  }
}

/** Short suffix for the status bar: "24h", "7d", "30d", "all". */
export function rangeShort(range: TimeRange): string {
  return range === 'all' ? 'all time' : range;
}
