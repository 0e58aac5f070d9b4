import * as assert from 'node:assert/strict';
import { buildDashboardSnapshot, costHistogram, topDimension } from '../../../src/core/dashboard';
import { select, stats } from '../../../src/core/analysis';
import { sampleTrace } from '../../../src/core/sampleTrace';
import { assertUsd, loadText } from '../helpers';

const NOW = Date.parse('2026-11-22T18:00:00Z');

describe('buildDashboardSnapshot', () => {
  const state = loadText(sampleTrace(NOW, 3000, 3));
  const snap = buildDashboardSnapshot([state.table], { range: '7d', groupBy: 'feature', filters: [] }, NOW);

  it('totals agree with the analysis of the same range', () => {
    const s = stats(select([state.table], { sinceMs: NOW - 7 * 86_400_000 }));
    assertUsd(snap.total.costUsd, s.costUsd);
    assert.equal(snap.total.calls, s.calls);
    assert.equal(snap.bucket, 'day');
  });

  it('the stacks of cost over time add up to the total', () => {
    let sum = 0;
    for (const st of snap.series.stacks) for (const v of st.costUsd) sum += v;
    assertUsd(sum, snap.total.costUsd);
    assert.ok(snap.series.stacks.every((s) => s.costUsd.length === snap.series.startsMs.length));
  });

  it('the breakdown table, the model chart and the cache chart add up to the total', () => {
    assertUsd(snap.table.reduce((a, r) => a + r.costUsd, 0), snap.total.costUsd);
    assertUsd(snap.byModel.reduce((a, r) => a + r.costUsd, 0), snap.total.costUsd);
    assertUsd(snap.cacheByFeature.reduce((a, r) => a + r.costUsd, 0), snap.total.costUsd);
    assert.ok(snap.table.some((r) => r.key === '(unattributed)'));
    assert.equal(snap.top.length <= 10, true);
    assert.equal(snap.topDim, 'user');
  });

  it('the histogram counts every priced call once', () => {
    assert.equal(snap.histogram.counts.reduce((a, b) => a + b, 0), snap.total.pricedCalls);
    assert.equal(snap.histogram.edgesUsd.length, snap.histogram.counts.length + 1);
  });

  it('uses hourly buckets for 24 h and compares with the previous period', () => {
    const day = buildDashboardSnapshot([state.table], { range: '24h', groupBy: 'model', filters: [] }, NOW);
    assert.equal(day.bucket, 'hour');
    const prev = stats(select([state.table], { sinceMs: NOW - 2 * 86_400_000, untilMs: NOW - 86_400_000 }));
    assertUsd(day.previous!.costUsd, prev.costUsd);
    assert.equal(buildDashboardSnapshot([state.table], { range: 'all', groupBy: 'model', filters: [] }, NOW).previous, null);
  });

  it('applies filters and a custom range', () => {
    const f = buildDashboardSnapshot([state.table], { range: 'custom', sinceMs: NOW - 2 * 86_400_000, untilMs: NOW - 86_400_000, groupBy: 'user', filters: [{ dim: 'feature', value: 'search' }] }, NOW);
    assert.ok(f.table.length > 0);
    const s = stats(select([state.table], { sinceMs: NOW - 2 * 86_400_000, untilMs: NOW - 86_400_000, filters: [{ dim: 'feature', value: 'search' }] }));
    assertUsd(f.total.costUsd, s.costUsd);
    // Grouped by user and filtered by feature: neither makes a top 10, the next dimension does.
    assert.equal(f.topDim, 'agent');
  });

  it('draws the top 10 of a dimension the view is neither grouped nor filtered by', () => {
    const q = (groupBy: string, ...dims: string[]) => ({ range: '7d' as const, groupBy, filters: dims.map((dim) => ({ dim, value: 'x' })) });
    assert.equal(topDimension(q('feature')), 'user');
    assert.equal(topDimension(q('user')), 'feature');
    assert.equal(topDimension(q('user', 'feature')), 'agent');
    assert.equal(topDimension(q('feature', 'user')), 'agent');
    assert.equal(topDimension(q('agent', 'user')), 'feature');
    assert.equal(topDimension(q('model', 'model')), 'user');
  });

  it('says when the latest call of the view was, and of all time for an empty range', () => {
    const s = stats(select([state.table], { sinceMs: NOW - 7 * 86_400_000 }));
    assert.equal(snap.latestMs, s.lastTsMs);
    const empty = buildDashboardSnapshot([state.table], { range: 'custom', sinceMs: NOW + 86_400_000, untilMs: NOW + 2 * 86_400_000, groupBy: 'feature', filters: [] }, NOW);
    assert.equal(empty.total.calls, 0);
    assert.equal(empty.latestMs, stats(select([state.table], {})).lastTsMs);
  });

  it('stays small: the message for 3,000 calls is a few kB', () => {
    assert.ok(JSON.stringify(snap).length < 50_000);
  });

  it('says nothing of all time while the view has calls', () => {
    assert.equal(snap.allTime, undefined);
  });

  it('for an empty range, counts the calls matching the filters over all time and gives the latest one', () => {
    const filters = [{ dim: 'feature', value: 'search' }];
    const future = buildDashboardSnapshot([state.table], { range: '24h', groupBy: 'feature', filters }, NOW + 400 * 86_400_000);
    assert.equal(future.total.calls, 0);
    const all = select([state.table], { filters });
    let latest = -Infinity;
    for (const { table, rows } of all) for (const r of rows) latest = Math.max(latest, table.tsMs[r]);
    assert.deepEqual(future.allTime, { calls: stats(all).calls, latestMs: latest });
    assert.ok(future.allTime!.calls > 0);

    const none = buildDashboardSnapshot([state.table], { range: '24h', groupBy: 'feature', filters: [{ dim: 'feature', value: 'no-such-feature' }] }, NOW);
    assert.deepEqual(none.allTime, { calls: 0, latestMs: null });
    assert.deepEqual(buildDashboardSnapshot([], { range: 'all', groupBy: 'feature', filters: [] }, NOW).allTime, { calls: 0, latestMs: null });
  });

  it('for calls without a timestamp, all time counts them with no latest call', () => {
    const undated = loadText('{"model":"gpt-4o","input_tokens":10,"output_tokens":5}\n{"model":"gpt-4o","input_tokens":20,"output_tokens":5}\n');
    const s = buildDashboardSnapshot([undated.table], { range: '7d', groupBy: 'feature', filters: [] }, NOW);
    assert.deepEqual(s.allTime, { calls: 2, latestMs: null });
  });

  it('makes an empty histogram when nothing is priced', () => {
    assert.deepEqual(costHistogram([], 'auto'), { edgesUsd: [], counts: [] });
  });
});
