import * as assert from 'node:assert/strict';
import { quantile } from 'simple-statistics';
import { countUndated, groupBy, groupByWithTotal, modelsInUse, rowCost, runsById, select, stats, timeSeries, UNATTRIBUTED, undatedMatching, unpricedModelCounts } from '../../../src/core/analysis';
import { StringPool } from '../../../src/core/callTable';
import { assertUsd, loadText } from '../helpers';

const call = (o: Record<string, unknown>) => JSON.stringify({ model: 'gpt-4o', input_tokens: 1000, output_tokens: 100, timestamp: '2026-11-20T10:00:00Z', ...o });

describe('analysis', () => {
  // gpt-4o: $2.50 in, $1.25 cache read, $10 out per Mtok. 1000 in + 100 out = $0.0035.
  const text = [
    call({ metadata: { feature: 'a', user_id: 'u1' } }),
    call({ metadata: { feature: 'a', user_id: 'u2' }, input_tokens: 0, cache_read_tokens: 1000 }),
    call({ metadata: { feature: 'b', user_id: 'u1' }, cost_usd: 1 }),
    call({ metadata: { user_id: 'u3' }, timestamp: '2026-11-21T10:00:00Z' }),
    call({ metadata: { feature: 'b' }, model: 'acme-internal-llm-v1', error: 'timeout' }),
  ].join('\n');

  it('groups by feature with an explicit (unattributed) group, sorted by cost', () => {
    const s = loadText(text);
    const groups = groupBy(select([s.table]), ['feature']);
    assert.deepEqual(groups.map((g) => [g.key.feature, g.stats.calls]), [['b', 2], ['a', 2], [UNATTRIBUTED, 1]]);
    assertUsd(groups[0].stats.costUsd, 1, 'recorded cost wins under auto');
    // a: 0.0035 + (1000×1.25 + 100×10)/1e6 = 0.0035 + 0.00225
    assertUsd(groups[1].stats.costUsd, 0.00575);
    assertUsd(groups.reduce((a, g) => a + g.share, 0), 1);
  });

  it('reports an unpriced model with its calls and never counts it as $0', () => {
    const s = loadText(text);
    const b = groupBy(select([s.table]), ['feature']).find((g) => g.key.feature === 'b')!;
    assert.equal(b.stats.unpricedCalls, 1);
    assert.equal(b.stats.pricedCalls, 1);
    assert.deepEqual(b.stats.unpricedModels, { 'acme-internal-llm-v1': 1 });
    assert.equal(b.stats.errors, 1);
    assert.equal(b.stats.p50Usd, 1, 'percentiles are over priced calls only');
  });

  it('switches cost source: recorded, computed', () => {
    const s = loadText(text);
    const rec = stats(select([s.table]), 'recorded');
    assert.equal(rec.pricedCalls, 1);
    assertUsd(rec.costUsd, 1);
    const comp = stats(select([s.table]), 'computed');
    assert.equal(comp.pricedCalls, 4);
    assertUsd(comp.costUsd, 0.0035 * 3 + 0.00225);
  });

  it('computes cache hit ratio, savings and the cost without cache', () => {
    const s = loadText(text);
    const a = groupBy(select([s.table]), ['feature']).find((g) => g.key.feature === 'a')!.stats;
    assert.equal(a.cacheHitRatio, 0.5);
    assertUsd(a.cacheSavingsUsd, 0.00125); // 1000 tokens at 2.50 instead of 1.25
    assertUsd(a.costWithoutCacheUsd, 0.007);
  });

  it('percentiles agree with simple-statistics on the same costs', () => {
    const lines = [];
    for (let i = 1; i <= 250; i++) lines.push(call({ input_tokens: i * 37, output_tokens: (i * 13) % 97 }));
    const s = loadText(lines.join('\n'));
    const st = stats(select([s.table]));
    const costs = Array.from({ length: 250 }, (_, k) => ((k + 1) * 37 * 2.5 + (((k + 1) * 13) % 97) * 10) / 1e6);
    assertUsd(st.p50Usd, quantile(costs, 0.5));
    assertUsd(st.p95Usd, quantile(costs, 0.95));
    assertUsd(st.p99Usd, quantile(costs, 0.99));
    assertUsd(st.maxUsd, Math.max(...costs));
  });

  it('filters by time (since inclusive, until exclusive) and by dimension value', () => {
    const s = loadText(text);
    const day2 = Date.parse('2026-11-21T00:00:00Z');
    assert.equal(stats(select([s.table], { sinceMs: day2 })).calls, 1);
    assert.equal(stats(select([s.table], { untilMs: day2 })).calls, 4);
    assert.equal(stats(select([s.table], { filters: [{ dim: 'feature', value: UNATTRIBUTED }] })).calls, 1);
    assert.equal(stats(select([s.table], { filters: [{ dim: 'user', value: 'u1' }, { dim: 'feature', value: 'a' }] })).calls, 1);
    assert.equal(stats(select([s.table], { filters: [{ dim: 'feature', value: 'nope' }] })).calls, 0);
  });

  it('counts the calls without a timestamp that a time range leaves out (3 of 5 here), with the same filters', () => {
    const s = loadText(
      [
        call({ metadata: { feature: 'a' } }),
        call({ metadata: { feature: 'a' }, timestamp: undefined }),
        call({ metadata: { feature: 'b' }, timestamp: undefined }),
        call({ timestamp: 'not a time' }),
        call({ metadata: { feature: 'b' }, timestamp: '2026-11-21T10:00:00Z' }),
      ].join('\n'),
    );
    const day2 = Date.parse('2026-11-21T00:00:00Z');
    assert.equal(stats(select([s.table], { sinceMs: day2 })).calls, 1);
    assert.equal(countUndated([s.table], { sinceMs: day2 }), 3);
    assert.equal(countUndated([s.table], { untilMs: day2 }), 3);
    assert.equal(countUndated([s.table], { sinceMs: day2, filters: [{ dim: 'feature', value: 'b' }] }), 1);
    assert.equal(countUndated([s.table], { sinceMs: day2, filters: [{ dim: 'feature', value: UNATTRIBUTED }] }), 1);
    assert.equal(countUndated([s.table], { sinceMs: day2, filters: [{ dim: 'feature', value: 'nope' }] }), 0);
    // Without a time range every call is selected, so none is left out.
    assert.equal(stats(select([s.table])).calls, 5);
    assert.equal(countUndated([s.table]), 0);
  });

  it('buckets cost by UTC hour and day', () => {
    const s = loadText(text);
    const days = timeSeries(select([s.table]), 'day');
    assert.deepEqual(days.map((d) => [new Date(d.startMs).toISOString(), d.calls]), [['2026-11-20T00:00:00.000Z', 4], ['2026-11-21T00:00:00.000Z', 1]]);
    const hours = timeSeries(select([s.table]), 'hour');
    assert.equal(new Date(hours[0].startMs).toISOString(), '2026-11-20T10:00:00.000Z');
  });

  it('groups by a custom tag key', () => {
    const s = loadText([call({ metadata: { team: 'x' } }), call({ metadata: { team: 'y' } }), call({})].join('\n'));
    const g = groupBy(select([s.table]), ['team']);
    assert.deepEqual(g.map((x) => x.key.team).sort(), [UNATTRIBUTED, 'x', 'y']);
  });
});

describe('groupBy one dimension in one pass', () => {
  it('gives exactly the figures of partition + stats (the multi-level path), across tables, unpriced and errors included', () => {
    let seed = 5;
    const rnd = (n: number) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
    const lines = (n: number, withTeam: boolean) =>
      Array.from({ length: n }, (_, k) =>
        call({
          model: ['gpt-4o', 'o3', 'acme-unknown'][rnd(3)],
          input_tokens: rnd(5000),
          output_tokens: rnd(500),
          cache_read_tokens: rnd(3) ? 0 : rnd(2000),
          timestamp: `2026-11-${10 + rnd(9)}T${10 + rnd(9)}:00:00Z`,
          ...(rnd(10) ? {} : { cost_usd: rnd(1000) / 1e4 }),
          ...(rnd(20) ? {} : { error: 'timeout' }),
          metadata: { ...(rnd(7) ? { feature: `f${rnd(9)}` } : {}), ...(withTeam && rnd(4) ? { team: `t${rnd(3)}` } : {}), k },
        }),
      ).join('\n');
    const tables = [loadText(lines(3000, true)).table, loadText(lines(2000, false)).table];
    // A long range (ids dense among the rows) and one hour (a few rows among many ids: the sparse reading).
    const ranges = [{ sinceMs: Date.parse('2026-11-12T00:00:00Z') }, { sinceMs: Date.parse('2026-11-13T12:00:00Z'), untilMs: Date.parse('2026-11-13T13:00:00Z') }];
    for (const [dim, range, source] of ['feature', 'team', 'model', 'k'].flatMap((d) => ranges.flatMap((r) => (['auto', 'computed', 'recorded'] as const).map((c) => [d, r, c] as const)))) {
      const slices = select(tables, range);
      const one = groupBy(slices, [dim], source);
      // The reference: the same dimension then one no table has (every group has the single value "unattributed").
      const two = groupBy(slices, [dim, 'no_such_key'], source).map((g) => ({ ...g, key: { [dim]: g.key[dim] } }));
      assert.deepEqual(one, two, `${dim} ${source} ${JSON.stringify(range)}`);
      assert.ok(one.length >= 2, `${dim}: ${one.length} groups`);
    }
  });
});

describe('groupBy with its total (a report\'s figures)', function () {
  // (36 combinations of 5,000 calls: ~1 s here, more on a busy machine.)
  this.timeout(30000);
  it('gives exactly groupBy, stats, the undated calls and the unpriced models\' tokens, across tables, sources and ranges', () => {
    let seed = 11;
    const rnd = (n: number) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
    const lines = (n: number) =>
      Array.from({ length: n }, (_, k) => {
        const o: Record<string, unknown> = {
          model: ['gpt-4o', 'o3', 'acme-unknown', 'acme-other', ''][rnd(5)],
          input_tokens: rnd(5000),
          output_tokens: rnd(500),
          cache_read_tokens: rnd(3) ? 0 : rnd(2000),
          cache_write_tokens: rnd(4) ? 0 : rnd(900),
          timestamp: `2026-11-${10 + rnd(9)}T${10 + rnd(9)}:${10 + rnd(49)}:00Z`,
          ...(rnd(6) ? {} : { cost_usd: rnd(1000) / 1e4 + 1e-7 * rnd(7) }),
          ...(rnd(15) ? {} : { error: 'timeout' }),
          metadata: { ...(rnd(7) ? { feature: `f${rnd(9)}` } : {}), k },
        };
        const line = JSON.parse(call(o));
        if (k === 0 || !rnd(12)) delete line.timestamp;
        if (line.model === '') delete line.model;
        return JSON.stringify(line);
      }).join('\n');
    const tables = [loadText(lines(3000)).table, loadText(lines(2000)).table];
    const ranges = [{}, { sinceMs: Date.parse('2026-11-12T00:00:00Z') }, { filters: [{ dim: 'model', value: 'o3' }] }, { sinceMs: Date.parse('2030-01-01T00:00:00Z') }];
    let undatedSeen = 0;
    for (const dim of ['feature', 'model', 'k', 'no_such_key']) {
      for (const range of ranges) {
        for (const source of ['auto', 'computed', 'recorded'] as const) {
          const slices = select(tables, range);
          const got = groupByWithTotal(slices, dim, source);
          const total = stats(slices, source);
          const what = `${dim} ${source} ${JSON.stringify(range)}`;
          // Bit for bit: the same sums in the same order, the same percentiles.
          assert.deepEqual(got.total, total, what);
          assert.deepEqual(got.groups, groupBy(slices, [dim], source, total.costUsd), what);
          // The undated calls among the slices: with no time bound, every undated call the filters keep.
          if (range.sinceMs === undefined) assert.equal(got.undatedCalls, undatedMatching(tables, range.filters), what);
          else assert.equal(got.undatedCalls, 0, what);
          undatedSeen += got.undatedCalls;
          const unpriced = new Map<string, { model: string; calls: number; inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheWriteTokens: number }>();
          for (const { table: t, rows } of slices) {
            for (const i of rows) {
              if (!Number.isNaN(rowCost(t, i, source))) continue;
              const model = t.pool.get(t.dims.model[i]) || '(no model)';
              const u = unpriced.get(model) ?? { model, calls: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
              unpriced.set(model, u);
              u.calls++;
              u.inputTokens += t.inputTokens[i];
              u.outputTokens += t.outputTokens[i];
              u.cacheReadTokens += t.cacheReadTokens[i];
              u.cacheWriteTokens += t.cacheWriteTokens[i];
            }
          }
          assert.deepEqual(got.unpriced, [...unpriced.values()].sort((a, b) => b.calls - a.calls), what);
          assert.ok(got.unpriced.length >= 2 || source === 'recorded' || range.filters || slices.length === 0, `${what}: ${got.unpriced.length} unpriced models`);
        }
      }
    }
    assert.ok(undatedSeen > 0, 'undated calls were counted');
  });
});

describe('unpricedModelCounts', () => {
  it('counts the calls of models with no price, in a row range', () => {
    const text = ['gpt-4o', 'no-such-model', 'no-such-model', undefined, 'gpt-4o-mini', 'no-such-model']
      .map((model) => JSON.stringify({ model, input_tokens: 10, output_tokens: 1 }))
      .join('\n');
    const t = loadText(text + '\n').table;
    assert.deepEqual([...unpricedModelCounts(t)], [['no-such-model', 3], ['(no model)', 1]]);
    assert.deepEqual([...unpricedModelCounts(t, 3)], [['(no model)', 1], ['no-such-model', 1]]);
  });
});

describe('modelsInUse', () => {
  it('lists each model once, sorted, over tables sharing a pool, tables of other pools and a pool grown after a table', () => {
    const lines = (models: string[]) => models.map((model) => JSON.stringify({ model, input_tokens: 10, output_tokens: 1 })).join('\n') + '\n';
    const shared = new StringPool();
    const a = loadText(lines(['gpt-4o', 'claude-sonnet-4-5']), 'a.jsonl', undefined, shared).table;
    const b = loadText(lines(['gpt-4o-mini', 'gpt-4o']), 'b.jsonl', undefined, shared).table;
    const other = loadText(lines(['gemini-2.5-flash', 'gpt-4o']), 'c.jsonl').table;
    const later = loadText(lines(['o3']), 'd.jsonl', undefined, shared).table;
    assert.deepEqual(modelsInUse([a, other, b, later]), ['claude-sonnet-4-5', 'gemini-2.5-flash', 'gpt-4o', 'gpt-4o-mini', 'o3']);
    assert.deepEqual(modelsInUse([b]), ['gpt-4o', 'gpt-4o-mini']);
    assert.deepEqual(modelsInUse([]), []);
  });
});

describe('runsById', () => {
  it('orders rows by id (stable) with each id\'s run, the same with a dense or a sparse count', () => {
    const col = new Int32Array([5, 2, 5, 0, 2, 9, 5]);
    const rows = new Int32Array([0, 1, 2, 3, 4, 5, 6]);
    const want = { sorted: [3, 1, 4, 0, 2, 6, 5], runs: [{ id: 0, start: 0, end: 1 }, { id: 2, start: 1, end: 3 }, { id: 5, start: 3, end: 6 }, { id: 9, start: 6, end: 7 }] };
    for (const n of [10, 1000]) {
      const r = runsById(col, rows, n);
      assert.deepEqual({ sorted: [...r.sorted], runs: r.runs }, want, `n=${n}`);
    }
    const sub = runsById(col, new Int32Array([6, 2, 1]), 1000);
    assert.deepEqual([...sub.sorted], [1, 6, 2]);
  });

  it('counts over the ids present only, clustered high or spread, and gives what a stable sort gives', () => {
    let seed = 3;
    const rnd = (m: number) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % m;
    const n = 600_000;
    for (const [what, pick] of [
      ['clustered high ids', () => 500_000 + rnd(7)],
      ['spread ids', () => (rnd(2) ? rnd(5) : n - 1 - rnd(5))],
      ['one id', () => 123_456],
    ] as [string, () => number][]) {
      const col = Int32Array.from({ length: 5000 }, pick);
      const rows = Int32Array.from({ length: 3000 }, () => rnd(5000));
      const r = runsById(col, rows, n);
      const ref = [...rows].map((row, k) => ({ row, k })).sort((a, b) => col[a.row] - col[b.row] || a.k - b.k).map((x) => x.row);
      assert.deepEqual([...r.sorted], ref, what);
      for (const run of r.runs) for (let k = run.start; k < run.end; k++) assert.equal(col[r.sorted[k]], run.id, what);
      assert.deepEqual(r.runs.map((x) => x.id), [...new Set(ref.map((row) => col[row]))], what);
    }
    assert.deepEqual(runsById(new Int32Array([1]), new Int32Array(0), 10), { sorted: new Int32Array(0), runs: [] });
  });
});
