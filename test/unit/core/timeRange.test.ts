import * as assert from 'node:assert/strict';
import { msToNextMinute, rangeStart, rollingRangeStart } from '../../../src/core/timeRange';

describe('rolling time ranges', () => {
  const t = Date.parse('2026-11-22T10:15:42.123Z');

  it('start at the whole minute, the same value all through the minute', () => {
    const start = Date.parse('2026-11-21T10:15:00Z');
    assert.equal(rollingRangeStart('24h', t), start);
    assert.equal(rollingRangeStart('24h', Date.parse('2026-11-22T10:15:00Z')), start);
    assert.equal(rollingRangeStart('24h', Date.parse('2026-11-22T10:15:59.999Z')), start);
    assert.equal(rollingRangeStart('24h', Date.parse('2026-11-22T10:16:00Z')), start + 60_000);
    assert.equal(rollingRangeStart('7d', t), Date.parse('2026-11-15T10:15:00Z'));
    assert.equal(rollingRangeStart('all', t), undefined);
    assert.equal(rangeStart('24h', t), t - 86_400_000);
  });

  it('move on after the time to the next minute', () => {
    assert.equal(msToNextMinute(t), 60_000 - 42_123);
    assert.equal(msToNextMinute(Date.parse('2026-11-22T10:16:00Z')), 60_000);
    assert.notEqual(rollingRangeStart('30d', t + msToNextMinute(t)), rollingRangeStart('30d', t));
    assert.equal(rollingRangeStart('30d', t + msToNextMinute(t) - 1), rollingRangeStart('30d', t));
  });
});
