import { createHash } from 'node:crypto';
import type { Anomaly } from '../core/anomalies';
import type { BudgetLevel, BudgetStatus } from '../core/budgets';
import { notificationText, truncate } from '../core/format';

/**
 * What the notifications already announced, kept in the workspace state so that reopening a window does not announce
 * it again: the decisions are here, free of `vscode`, and the services keep the results.
 */

/** workspaceState keys. */
export const ANNOUNCED_ANOMALIES_KEY = 'llmCostLens.announced.anomalies';
export const ANNOUNCED_BUDGETS_KEY = 'llmCostLens.announced.budgets';
export const ANNOUNCED_MODELS_KEY = 'llmCostLens.announced.unpricedModels';

/** At most this many anomalies and unpriced models are remembered (the newest). */
export const MAX_ANNOUNCED_KEYS = 500;
/** At most this many budget periods are remembered. */
export const MAX_ANNOUNCED_BUDGETS = 100;

/** The label of the "Don't Show Again" action of every notification. */
export const DONT_SHOW_AGAIN = "Don't Show Again";

/** Long trace values (user ids, tag values) are kept as a digest so the stored keys stay small. */
export function shortKey(s: string): string {
  return s.length <= 100 ? s : `#${createHash('sha256').update(s).digest('base64url').slice(0, 22)}`;
}

/** The stored strings, or none when the stored value is not a string array (an older or damaged state). */
export function storedKeys(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** The key an anomaly is announced under: the same anomaly (same kind, group and start) keeps it as its hours go by. */
export function anomalyKey(a: Pick<Anomaly, 'kind' | 'dim' | 'key' | 'startMs'>): string {
  return `${a.kind}|${shortKey(a.dim)}|${a.startMs}|${shortKey(a.key)}`;
}

/**
 * Splits `keys` into those not announced before (`fresh`, in their order, without repeats) and returns the keys to
 * store: the known ones with the fresh ones added last, the oldest dropped beyond `max`.
 */
export function announce(known: readonly string[], keys: Iterable<string>, max = MAX_ANNOUNCED_KEYS): { fresh: string[]; known: string[] } {
  const seen = new Set(known);
  const fresh: string[] = [];
  for (const k of keys) {
    if (seen.has(k)) continue;
    seen.add(k);
    fresh.push(k);
  }
  const all = fresh.length ? [...known, ...fresh] : [...known];
  return { fresh, known: all.length > max ? all.slice(all.length - max) : all };
}

/** The text of the notification about the first of `count` new anomalies. */
export function anomalyNotice(a: Pick<Anomaly, 'kind' | 'dim' | 'key' | 'text'>, count: number): string {
  const kind = a.kind === 'spike' ? 'cost spike' : a.kind === 'rate' ? 'cost per call up' : a.kind === 'cache_drop' ? 'prompt cache drop' : 'model switch';
  // The texts start with the group ("feature search: …", "feature search moved from …"): a long value is clipped there.
  const group = `${a.dim} ${a.key}`;
  const text = a.text.startsWith(group) && a.key.length > 40 ? `${a.dim} ${truncate(a.key, 40)}${a.text.slice(group.length)}` : a.text;
  const clipped = truncate(text, 300);
  const more = count > 1 ? ` (and ${count - 1} more ${count === 2 ? 'anomaly' : 'anomalies'})` : '';
  return `LLM Cost Lens: ${kind}: ${notificationText(clipped)}${more}.`;
}

/** A budget period's remembered threshold, kept until the period ends. */
export interface AnnouncedBudget {
  level: Exclude<BudgetLevel, 'ok'>;
  untilMs: number;
}
export type AnnouncedBudgets = Record<string, AnnouncedBudget>;

const LEVELS: readonly BudgetLevel[] = ['ok', '50', '80', '100'];
const rank = (l: BudgetLevel) => LEVELS.indexOf(l);

/** The stored budget thresholds, leaving out malformed entries. */
export function storedBudgets(value: unknown): AnnouncedBudgets {
  const out: AnnouncedBudgets = {};
  if (!value || typeof value !== 'object' || Array.isArray(value)) return out;
  for (const [id, v] of Object.entries(value as Record<string, unknown>)) {
    const e = v as Partial<AnnouncedBudget> | null;
    if (e && typeof e === 'object' && (e.level === '50' || e.level === '80' || e.level === '100') && typeof e.untilMs === 'number') out[id] = { level: e.level, untilMs: e.untilMs };
  }
  return out;
}

/**
 * A budget period's id: its scope and value, period, limit and period start. A changed limit is a new budget (its
 * thresholds are announced again); so is the next day or month.
 */
export function budgetId(s: Pick<BudgetStatus, 'budget' | 'periodStartMs'>): string {
  const b = s.budget;
  return `${shortKey(b.scope)}|${shortKey(b.value ?? '')}|${b.period}|${b.usd}@${s.periodStartMs}`;
}

/**
 * The budgets to warn about, those past a threshold higher than any announced for the same period, and the thresholds
 * to store: the highest reached per period (a lower reading, e.g. while the traces are still loading, does not make the
 * same threshold be announced again), periods over by `nowMs` dropped, the nearest to ending dropped beyond `max`.
 */
export function budgetsToAnnounce<S extends Pick<BudgetStatus, 'budget' | 'periodStartMs' | 'periodEndMs' | 'level'>>(
  statuses: readonly S[],
  stored: AnnouncedBudgets,
  nowMs: number,
  max = MAX_ANNOUNCED_BUDGETS,
): { announce: S[]; stored: AnnouncedBudgets } {
  const next: AnnouncedBudgets = {};
  for (const [id, e] of Object.entries(stored)) if (e.untilMs > nowMs) next[id] = e;
  const out: S[] = [];
  for (const s of statuses) {
    if (s.level === 'ok') continue;
    const id = budgetId(s);
    const before = next[id]?.level ?? 'ok';
    if (rank(s.level) <= rank(before)) continue;
    next[id] = { level: s.level, untilMs: s.periodEndMs };
    out.push(s);
  }
  const ids = Object.keys(next);
  if (ids.length > max) for (const id of ids.sort((a, b) => next[a].untilMs - next[b].untilMs).slice(0, ids.length - max)) delete next[id];
  return { announce: out, stored: next };
}

/** The settings level a "Don't Show Again" turns a notification setting off at: the workspace when it sets the value
 * (else the user setting would not win), the user settings otherwise. */
export function dontShowAgainTarget(inspected: { workspaceValue?: unknown } | undefined): 'workspace' | 'global' {
  return inspected?.workspaceValue !== undefined ? 'workspace' : 'global';
}

/** Where the announced keys are kept: the extension's `workspaceState` (a `vscode.Memento`). */
export interface NoticeState {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): PromiseLike<void>;
}

/** A state kept in memory only: what is announced is announced again in the next window. */
export function memoryState(): NoticeState {
  const m = new Map<string, unknown>();
  return {
    get: <T>(key: string) => m.get(key) as T | undefined,
    update: (key, value) => {
      if (value === undefined) m.delete(key);
      else m.set(key, value);
      return Promise.resolve();
    },
  };
}
