import * as assert from 'node:assert/strict';
import { countUndated, select, stats, type GroupStats } from '../../../src/core/analysis';
import { StringPool } from '../../../src/core/callTable';
import { CostDigest, EXACT_PERCENTILE_LIMIT, GroupIndex, type IndexNode, SKETCH_RELATIVE_ERROR } from '../../../src/core/groupIndex';
import { childGroups } from '../../../src/core/groupTree';
import { PriceBook } from '../../../src/core/pricing';
import { ingestBytes, newTraceFileState, type TraceFileState } from '../../../src/core/traceFile';
import { quantile } from 'simple-statistics';

/** Deterministic records: a few features/users/models, some unpriced, errors, recorded costs, tags, no-time calls. */
function lines(n: number, seed: number): string {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r: Record<string, unknown> = {
      model: ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4-5', 'no-such-model-x'][Math.floor(rnd() ** 2 * 4)],
      input_tokens: Math.floor(rnd() * 5000),
      output_tokens: Math.floor(rnd() * 800),
      cache_read_tokens: rnd() < 0.3 ? Math.floor(rnd() * 3000) : 0,
      timestamp: rnd() < 0.05 ? undefined : new Date(Date.UTC(2026, 10, 1) + Math.floor(rnd() * 20 * 86_400_000)).toISOString(),
      metadata: { feature: rnd() < 0.1 ? undefined : ['search', 'chat', 'summarize'][Math.floor(rnd() * 3)], user_id: `u${Math.floor(rnd() * 7)}` },
    };
    if (rnd() < 0.1) r.cost_usd = Math.round(rnd() * 1e4) / 1e6;
    if (rnd() < 0.05) r.error = 'rate_limited';
    if (rnd() < 0.2) r.team = ['a', 'b'][Math.floor(rnd() * 2)];
    out.push(JSON.stringify(r));
  }
  return out.join('\n') + '\n';
}

const enc = (t: string) => new TextEncoder().encode(t);

function sameStats(got: GroupStats, want: GroupStats, what: string, exact: boolean) {
  for (const k of ['calls', 'pricedCalls', 'unpricedCalls', 'inputTokens', 'outputTokens', 'cacheReadTokens', 'cacheWriteTokens', 'reasoningTokens', 'errors', 'firstTsMs', 'lastTsMs'] as const) {
    assert.equal(got[k], want[k], `${what}: ${k}`);
  }
  for (const k of ['costUsd', 'costWithoutCacheUsd', 'cacheSavingsUsd', 'errorCostUsd', 'meanUsd', 'maxUsd', 'cacheHitRatio'] as const) {
    if (Number.isNaN(want[k])) assert.ok(Number.isNaN(got[k]), `${what}: ${k}`);
    else assert.ok(Math.abs(got[k] - want[k]) <= 1e-9 * Math.max(1, Math.abs(want[k])), `${what}: ${k} ${got[k]} != ${want[k]}`);
  }
  for (const k of ['p50Usd', 'p95Usd', 'p99Usd'] as const) {
    if (Number.isNaN(want[k])) assert.ok(Number.isNaN(got[k]), `${what}: ${k}`);
    else if (exact) assert.ok(Math.abs(got[k] - want[k]) <= 1e-12, `${what}: ${k} ${got[k]} != ${want[k]}`);
    else assert.ok(Math.abs(got[k] - want[k]) <= SKETCH_RELATIVE_ERROR * want[k] + 1e-15, `${what}: ${k} ${got[k]} vs ${want[k]} beyond the sketch's error`);
  }
  assert.deepEqual(got.unpricedModels, want.unpricedModels, `${what}: unpriced models`);
}

/** Walks the index and the reference (childGroups over select) side by side, down every level. */
function compare(index: GroupIndex, states: TraceFileState[], dims: string[], sinceMs?: number) {
  const slices = select(states.map((s) => s.table), { sinceMs });
  let visited = 0;
  const walk = (node: IndexNode | undefined, refSlices: typeof slices, path: string[], parentCost: number | undefined) => {
    const depth = path.length;
    if (depth >= dims.length) return;
    const got = index.children(node);
    const want = childGroups(refSlices, dims[depth], node ? { path: node.path, costUsd: parentCost! } : undefined, 'auto');
    assert.deepEqual(got.map((g) => g.value).sort(), want.map((g) => g.value).sort(), `children of ${path.join('/') || 'root'}`);
    for (const w of want) {
      const g = got.find((x) => x.value === w.value)!;
      sameStats(g.stats, w.stats, [...path, w.value].join('/'), g.exactPercentiles);
      assert.ok(Math.abs(g.shareOfParent - w.shareOfParent) < 1e-9);
      assert.equal(g.id, w.id);
      assert.deepEqual(stats(g.slices).calls, w.stats.calls);
      visited++;
      walk(g, w.slices, [...path, w.value], w.stats.costUsd);
    }
  };
  walk(undefined, slices, [], undefined);
  // The root's figures (the status bar's) are those of the whole selection, percentiles aside.
  const all = stats(slices);
  const root = index.total!.stats;
  for (const k of ['calls', 'pricedCalls', 'inputTokens', 'outputTokens', 'cacheReadTokens', 'errors', 'firstTsMs', 'lastTsMs'] as const) assert.equal(root[k], all[k], `root ${k}`);
  assert.ok(Math.abs(root.costUsd - all.costUsd) < 1e-9 && Math.abs(root.cacheSavingsUsd - all.cacheSavingsUsd) < 1e-9);
  assert.deepEqual(root.unpricedModels, all.unpricedModels);
  return visited;
}

describe('GroupIndex (incremental cost tree)', () => {
  const dims = ['feature', 'user', 'model'];

  it('gives the same groups and figures as regrouping from scratch, level by level, after appends in any chunks', () => {
    const prices = new PriceBook();
    const pool = new StringPool();
    const a = newTraceFileState('a.jsonl', pool);
    const b = newTraceFileState('b.jsonl', pool);
    const textA = enc(lines(3000, 1));
    const textB = enc(lines(800, 2));
    ingestBytes(a, textA.subarray(0, 200_000), false, prices);
    const index = new GroupIndex();
    assert.equal(index.sync([a.table], { dims, source: 'auto' }), 'rebuilt');
    assert.ok(compare(index, [a], dims) > 10);
    // Appends to a, then a new file b, then more of both: each sync only adds rows.
    ingestBytes(a, textA.subarray(a.position.offset), true, prices);
    assert.equal(index.sync([a.table], { dims, source: 'auto' }), 'appended');
    compare(index, [a], dims);
    ingestBytes(b, textB, true, prices);
    assert.equal(index.sync([a.table, b.table], { dims, source: 'auto' }), 'appended');
    compare(index, [a, b], dims);
    assert.equal(index.sync([a.table, b.table], { dims, source: 'auto' }), 'unchanged');
    // A new tag key in appended rows (a custom dimension created after the level was built).
    ingestBytes(b, enc(`${JSON.stringify({ model: 'gpt-4o', input_tokens: 10, output_tokens: 1, metadata: { feature: 'search' }, squad: 'x' })}\n`), true, prices);
    const d2 = ['squad', 'feature'];
    index.sync([a.table, b.table], { dims: d2, source: 'auto' });
    index.children();
    ingestBytes(b, enc(`${JSON.stringify({ model: 'gpt-4o', input_tokens: 10, output_tokens: 1, squad: 'y' })}\n`), true, prices);
    assert.equal(index.sync([a.table, b.table], { dims: d2, source: 'auto' }), 'appended');
    compare(index, [a, b], d2);
  });

  it('starts over when the options change, a file goes or is edited in place (repriced), and honours the time range', () => {
    const prices = new PriceBook();
    const a = newTraceFileState('a.jsonl', new StringPool());
    ingestBytes(a, enc(lines(1500, 3)), true, prices);
    const index = new GroupIndex();
    const since = Date.UTC(2026, 10, 10);
    index.sync([a.table], { dims, source: 'auto', sinceMs: since });
    compare(index, [a], dims, since);
    assert.equal(index.undated, countUndated([a.table], { sinceMs: since }));
    assert.ok(index.undated > 0);
    ingestBytes(a, enc(lines(300, 4)), true, prices);
    assert.equal(index.sync([a.table], { dims, source: 'auto', sinceMs: since }), 'appended');
    compare(index, [a], dims, since);
    assert.equal(index.undated, countUndated([a.table], { sinceMs: since }));
    assert.equal(index.sync([a.table], { dims, source: 'computed', sinceMs: since }), 'rebuilt');
    a.table.reprice(new PriceBook());
    assert.equal(index.sync([a.table], { dims, source: 'computed', sinceMs: since }), 'rebuilt');
    assert.equal(index.sync([], { dims, source: 'computed', sinceMs: since }), 'rebuilt');
    assert.deepEqual(index.children().map((n) => [n.value, n.calls]), [['(unattributed)', 0]]);
  });

  it('starts over in slices between turns with the same result, the old index answering until it is done', async () => {
    const prices = new PriceBook();
    const pool = new StringPool();
    const a = newTraceFileState('a.jsonl', pool);
    const b = newTraceFileState('b.jsonl', pool);
    ingestBytes(a, enc(lines(2500, 7)), true, prices);
    ingestBytes(b, enc(lines(700, 8)), true, prices);
    const since = Date.UTC(2026, 10, 5);
    const index = new GroupIndex();
    index.sync([a.table, b.table], { dims: ['model'], source: 'auto' });
    const opts = { dims, source: 'auto' as const, sinceMs: since };
    assert.ok(index.wouldRebuild([a.table, b.table], opts));
    let turns = 0;
    const done = index.rebuildAsync([a.table, b.table], opts, async () => {
      turns++;
      // Meanwhile the old index (by model) still answers, and rows keep arriving.
      assert.equal(index.children()[0].dim, 'model');
      if (turns === 2) ingestBytes(b, enc(lines(50, 9)), true, prices);
    }, 500);
    await done;
    assert.ok(turns >= 6, String(turns));
    assert.equal(index.children()[0].dim, 'feature');
    assert.equal(index.sync([a.table, b.table], opts), 'appended', 'the rows that came during the rebuild');
    compare(index, [a, b], dims, since);
    assert.equal(index.undated, countUndated([a.table, b.table], { sinceMs: since }));
  });

  it('keeps exact percentiles up to the limit, then stays within the stated relative error', () => {
    let s = 9;
    const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const d = new CostDigest();
    const values: number[] = [];
    for (let i = 0; i < 50_000; i++) {
      // Costs over six orders of magnitude, some free calls.
      const v = rnd() < 0.02 ? 0 : Math.exp(rnd() * 14 - 16);
      values.push(v);
      d.add(v);
      if (i + 1 === EXACT_PERCENTILE_LIMIT) {
        assert.ok(d.isExact);
        assert.deepEqual(d.quantiles([0.5, 0.95, 0.99]), quantile([...values], [0.5, 0.95, 0.99]));
      }
    }
    assert.ok(!d.isExact);
    const ps = [0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1];
    const want = quantile([...values], ps);
    const got = d.quantiles(ps);
    ps.forEach((p, k) => assert.ok(Math.abs(got[k] - want[k]) <= SKETCH_RELATIVE_ERROR * want[k] + 1e-18, `p${p}: ${got[k]} vs ${want[k]}`));
    assert.equal(d.quantiles([0.01])[0], 0, 'the free calls are the lowest percentile');
  });
});
