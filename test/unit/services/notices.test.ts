import * as assert from 'node:assert/strict';
import type { Anomaly } from '../../../src/core/anomalies';
import type { BudgetLevel } from '../../../src/core/budgets';
import {
  announce,
  anomalyKey,
  anomalyNotice,
  budgetId,
  budgetsToAnnounce,
  dontShowAgainTarget,
  memoryState,
  shortKey,
  storedBudgets,
  storedKeys,
} from '../../../src/services/notices';

const anomaly = (o: Partial<Anomaly> = {}): Anomaly => ({
  kind: 'spike',
  dim: 'feature',
  key: 'search',
  startMs: Date.UTC(2026, 10, 20, 14),
  endMs: Date.UTC(2026, 10, 20, 15),
  costUsd: 12,
  baselineUsd: 3.5,
  multiple: 3.4,
  text: 'feature search: $12.00 in 14:00–15:00 UTC, ×3.4 its usual $3.50',
  ...o,
});

describe('notices: what was announced is remembered across windows', () => {
  it('announces only keys not known before, and keeps the newest up to the bound', () => {
    const first = announce([], ['a', 'b', 'a']);
    assert.deepEqual(first, { fresh: ['a', 'b'], known: ['a', 'b'] });
    // A new window with the stored keys: nothing again, but a new key is fresh.
    assert.deepEqual(announce(first.known, ['b', 'a']).fresh, []);
    const second = announce(first.known, ['a', 'c']);
    assert.deepEqual(second, { fresh: ['c'], known: ['a', 'b', 'c'] });
    // Bounded: the oldest go first.
    assert.deepEqual(announce(['a', 'b', 'c'], ['d', 'e'], 3), { fresh: ['d', 'e'], known: ['c', 'd', 'e'] });
  });

  it('reads damaged stored values as nothing stored', () => {
    assert.deepEqual(storedKeys(undefined), []);
    assert.deepEqual(storedKeys({ a: 1 }), []);
    assert.deepEqual(storedKeys(['a', 2, null, 'b']), ['a', 'b']);
    assert.deepEqual(storedBudgets(['x']), {});
    assert.deepEqual(storedBudgets({ a: { level: '80', untilMs: 5 }, b: { level: 'ok', untilMs: 5 }, c: { level: '50' }, d: null }), { a: { level: '80', untilMs: 5 } });
  });

  it('keys an anomaly by kind, group and start, so a new one (or the same group later) is announced again', () => {
    const a = anomaly();
    const grown: Anomaly = { ...a, endMs: a.endMs + 3_600_000, costUsd: 20, text: 'grown' };
    assert.equal(anomalyKey(a), anomalyKey(grown));
    assert.notEqual(anomalyKey(a), anomalyKey({ ...a, startMs: a.startMs + 86_400_000 }));
    assert.notEqual(anomalyKey(a), anomalyKey({ ...a, kind: 'rate' }));
    assert.notEqual(anomalyKey(a), anomalyKey({ ...a, key: 'chat' }));
    // Long values are stored as a digest, still one per value.
    const long = 'u'.repeat(5000);
    assert.ok(anomalyKey({ ...a, key: long }).length < 100);
    assert.notEqual(shortKey(long), shortKey(long + 'x'));
    assert.equal(shortKey('gpt-4o'), 'gpt-4o');
  });

  it('words an anomaly notification with its own text', () => {
    assert.equal(anomalyNotice(anomaly(), 1), 'LLM Cost Lens: cost spike: feature search: $12.00 in 14:00–15:00 UTC, ×3.4 its usual $3.50.');
    assert.equal(
      anomalyNotice(anomaly({ kind: 'rate', text: 'feature search: cost per call ×2.5 its 7-day rate in 14:00 UTC ($1.20)' }), 2),
      'LLM Cost Lens: cost per call up: feature search: cost per call ×2.5 its 7-day rate in 14:00 UTC ($1.20) (and 1 more anomaly).',
    );
    assert.equal(
      anomalyNotice(anomaly({ kind: 'cache_drop', text: 'feature search: the prompt cache stopped hitting in 14:00 UTC (hit ratio 80% → 2%): the cache was invalidated' }), 3),
      'LLM Cost Lens: prompt cache drop: feature search: the prompt cache stopped hitting in 14:00 UTC (hit ratio 80% → 2%): the cache was invalidated (and 2 more anomalies).',
    );
    assert.match(anomalyNotice(anomaly({ kind: 'model_switch', text: 'feature search moved from gpt-4o to o1 on 2026-11-20 (90% of its calls)' }), 1), /^LLM Cost Lens: model switch: feature search moved from gpt-4o to o1 /);
    for (const kind of ['spike', 'rate', 'cache_drop', 'model_switch'] as const) assert.doesNotMatch(anomalyNotice(anomaly({ kind }), 1), /cost rate|cache drop in|_/);
    // Trace values can neither make links nor run long.
    const key = '[click](command:x) ' + 'k'.repeat(100);
    const text = anomalyNotice(anomaly({ key, text: `feature ${key}: $12.00 in 14:00 UTC` }), 1);
    assert.ok(!text.includes('[') && !text.includes(']'), text);
    assert.match(text, /…: \$12\.00 in 14:00 UTC\.$/);
    assert.ok(text.length < 120, text);
    assert.ok(anomalyNotice(anomaly({ text: 'x'.repeat(1000) }), 1).length < 340);
  });
});

describe('notices: budget thresholds', () => {
  const DAY = 86_400_000;
  const day0 = Date.UTC(2026, 10, 20);
  const status = (level: BudgetLevel, o: { usd?: number; start?: number; value?: string } = {}) => ({
    budget: { scope: 'feature', value: o.value ?? 'search', period: 'day' as const, usd: o.usd ?? 10 },
    periodStartMs: o.start ?? day0,
    periodEndMs: (o.start ?? day0) + DAY,
    level,
  });

  it('announces each threshold once per budget and period, across windows', () => {
    const now = day0 + DAY / 2;
    const r1 = budgetsToAnnounce([status('50'), status('ok', { value: 'chat' })], {}, now);
    assert.deepEqual(r1.announce.map((s) => s.level), ['50']);
    // A new window reads the stored thresholds: the same level is not announced again, a higher one is.
    assert.deepEqual(budgetsToAnnounce([status('50')], r1.stored, now).announce, []);
    const r2 = budgetsToAnnounce([status('100')], r1.stored, now);
    assert.deepEqual(r2.announce.map((s) => s.level), ['100']);
    // A lower reading (traces still loading, a changed cost source) does not make 80% or 100% come back.
    const r3 = budgetsToAnnounce([status('50')], r2.stored, now);
    assert.deepEqual(r3.announce, []);
    assert.deepEqual(budgetsToAnnounce([status('80')], r3.stored, now).announce, []);
    assert.deepEqual(budgetsToAnnounce([status('100')], r3.stored, now).announce, []);
  });

  it('starts over with the next period or a changed limit, and forgets periods that are over', () => {
    const now = day0 + DAY / 2;
    const { stored } = budgetsToAnnounce([status('100')], {}, now);
    assert.equal(budgetsToAnnounce([status('100', { usd: 20 })], stored, now).announce.length, 1);
    const tomorrow = budgetsToAnnounce([status('50', { start: day0 + DAY })], stored, day0 + DAY + 1);
    assert.equal(tomorrow.announce.length, 1);
    assert.deepEqual(Object.keys(tomorrow.stored), [budgetId(status('50', { start: day0 + DAY }))]);
  });

  it('keeps at most the bound, dropping the periods ending first', () => {
    const now = day0;
    const many = Array.from({ length: 5 }, (_, i) => status('50', { value: `f${i}`, start: day0 + i * DAY }));
    const { stored } = budgetsToAnnounce(many, {}, now, 3);
    assert.deepEqual(Object.keys(stored).sort(), many.slice(2).map(budgetId).sort());
  });
});

describe('notices: Don\'t Show Again', () => {
  it('turns the setting off in the workspace only when the workspace sets it', () => {
    assert.equal(dontShowAgainTarget(undefined), 'global');
    assert.equal(dontShowAgainTarget({}), 'global');
    assert.equal(dontShowAgainTarget({ workspaceValue: true }), 'workspace');
  });

  it('has an in-memory state for when no workspace state is given', async () => {
    const s = memoryState();
    assert.equal(s.get('k'), undefined);
    await s.update('k', ['a']);
    assert.deepEqual(s.get('k'), ['a']);
    await s.update('k', undefined);
    assert.equal(s.get('k'), undefined);
  });
});
