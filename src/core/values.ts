/** Small, total helpers for reading untrusted JSON values. None of them throws. */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: unknown };

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads a dot path (`a.b.c`). A key that itself contains dots (`"code.filepath"`) is tried whole first. */
export function getPath(obj: unknown, path: string): unknown {
  if (!isObject(obj)) return undefined;
  if (path in obj) return obj[path];
  let cur: unknown = obj;
  const parts = path.split('.');
  for (let i = 0; i < parts.length; i++) {
    if (!isObject(cur)) return undefined;
    // Allow the remaining parts to be one dotted key, e.g. metadata["user.id"].
    const rest = parts.slice(i).join('.');
    if (i > 0 && rest in cur) return cur[rest];
    cur = cur[parts[i]];
  }
  return cur;
}

/** The first of `keys` that is present (not undefined/null) on `obj`. */
export function first(obj: JsonObject | undefined, keys: readonly string[]): unknown {
  if (!obj) return undefined;
  for (const k of keys) {
    const v = obj[k];
    if (v !== undefined && v !== null) return v;
  }
  return undefined;
}

/** A finite number from a number or a numeric string; undefined otherwise. */
export function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** A non-empty string from a string, number or boolean; undefined otherwise. */
export function toStr(v: unknown): string | undefined {
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'boolean') return String(v);
  return undefined;
}

/**
 * Epoch ms of a date or date-time string, reading one without a zone as UTC (traces are written by servers in other
 * time zones; `Date.parse` alone would read "2025-06-01T10:00:00" in the reader's local time). Strings with a zone
 * (`Z`, `+02:00`, `+00`, `+0000`, ` UTC`, ` GMT`, with a space or a `T`) are read as `Date.parse` reads them. NaN when
 * unreadable.
 */
export function parseTimeUtc(v: string): number {
  const s = v.trim();
  if (!calendarDayExists(s)) return NaN;
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?))?$/.exec(s);
  if (m) {
    const t = Date.parse(`${m[1]}T${m[2] ?? '00:00'}${m[2] ? '' : ':00'}Z`.replace(',', '.'));
    return Number.isFinite(t) ? t : NaN;
  }
  const t = Date.parse(s);
  return Number.isFinite(t) ? t : NaN;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * False when `s` starts with a date YYYY-MM-DD that is not in the calendar (2026-02-29, 2026-04-31, month 13):
 * Date.parse rolls such days over into the next month instead of refusing them. True for anything else.
 */
function calendarDayExists(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?!\d)/.exec(s);
  if (!m) return true;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (mo < 1 || mo > 12 || d < 1) return false;
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  return d <= (mo === 2 && leap ? 29 : DAYS_IN_MONTH[mo - 1]);
}

/**
 * Epoch milliseconds from an ISO string or a number in seconds, milliseconds, microseconds or nanoseconds
 * (told apart by magnitude), or a numeric string of those. NaN when absent or unreadable.
 */
export function toEpochMs(v: unknown): number {
  if (v === undefined || v === null || v === '') return NaN;
  let n: number | undefined;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string') {
    if (/^\d+(\.\d+)?$/.test(v.trim())) {
      // Nanosecond strings exceed 2^53: keep the precision we need by cutting digits.
      const s = v.trim().split('.')[0];
      if (s.length >= 18) return Number(s.slice(0, s.length - 6)); // ns -> ms
      n = Number(v);
    } else return parseTimeUtc(v);
  }
  if (n === undefined || !Number.isFinite(n) || n <= 0) return NaN;
  if (n > 1e17) return Math.floor(n / 1e6); // ns
  if (n > 1e14) return Math.floor(n / 1e3); // µs
  if (n > 1e11) return n; // ms
  return n * 1000; // s
}
