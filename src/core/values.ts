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
  // The form most tracers write (`YYYY-MM-DDTHH:MM:SS(.sss)?Z`): read by arithmetic, as the fast scanner reads it.
  if (s.length === 20 || s.length === 24) {
    let ascii = true;
    for (let i = 0; i < s.length && ascii; i++) ascii = (ISO_SCRATCH[i] = s.charCodeAt(i)) < 128;
    const t = ascii ? parseIsoUtc(ISO_SCRATCH, 0, s.length) : NaN;
    if (!Number.isNaN(t)) return t;
  }
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

/** The characters of a timestamp string, for parseIsoUtc. */
const ISO_SCRATCH = new Uint8Array(24);

const d2 = (b: Uint8Array, i: number) => (b[i] - 48) * 10 + (b[i + 1] - 48);
const isDigit = (c: number) => c >= 48 && c <= 57;

/**
 * Epoch ms of `YYYY-MM-DDTHH:MM:SS(.sss)?Z` (the form most tracers write), or NaN when the bytes are not exactly that
 * form with valid fields (the caller then uses Date.parse through toEpochMs).
 */
export function parseIsoUtc(b: Uint8Array, s: number, e: number): number {
  const n = e - s;
  if (n !== 20 && n !== 24) return NaN;
  for (const i of [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]) if (!isDigit(b[s + i])) return NaN;
  if (b[s + 4] !== 45 || b[s + 7] !== 45 || b[s + 10] !== 84 || b[s + 13] !== 58 || b[s + 16] !== 58 || b[e - 1] !== 90) return NaN;
  let ms = 0;
  if (n === 24) {
    if (b[s + 19] !== 46 || !isDigit(b[s + 20]) || !isDigit(b[s + 21]) || !isDigit(b[s + 22])) return NaN;
    ms = (b[s + 20] - 48) * 100 + d2(b, s + 21);
  }
  const y = d2(b, s) * 100 + d2(b, s + 2);
  const mo = d2(b, s + 5);
  const d = d2(b, s + 8);
  const h = d2(b, s + 11);
  const mi = d2(b, s + 14);
  const sec = d2(b, s + 17);
  if (mi > 59 || sec > 59) return NaN;
  // Consecutive records are mostly in the same hour: its start is computed (and checked) once.
  const hourKey = ((y * 100 + mo) * 100 + d) * 100 + h;
  if (hourKey !== lastHourKey) {
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h > 23) return NaN;
    const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
    if (d > (mo === 2 && leap ? 29 : DAYS_IN_MONTH[mo - 1])) return NaN;
    lastHourKey = hourKey;
    lastHourMs = Date.UTC(y, mo - 1, d, h);
  }
  return lastHourMs + mi * 60_000 + sec * 1000 + ms;
}

let lastHourKey = -1;
let lastHourMs = 0;

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
