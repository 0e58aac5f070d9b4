import * as assert from 'node:assert/strict';
import { countUndated, select, stats } from '../../../src/core/analysis';
import { CallTable, StringPool } from '../../../src/core/callTable';
import { CostDigest, EXACT_PERCENTILE_LIMIT, GroupIndex, type GroupIndexOptions, type IndexNode, SKETCH_RELATIVE_ERROR } from '../../../src/core/groupIndex';
import { REPLACED_ROWS_KEPT } from '../../../src/core/replacedRows';
import type { CallRecord } from '../../../src/core/types';
import { formatGroupCost } from '../../../src/core/format';
import { childGroups } from '../../../src/core/groupTree';
import { PriceBook } from '../../../src/core/pricing';
import { ingestBytes, newTraceFileState, type TraceFileState } from '../../../src/core/traceFile';
import { quantile } from 'simple-statistics';
import { sameIndex, sameStats, traceLines as lines } from '../helpers';

const enc = (t: string) => new TextEncoder().encode(t);

const seeded = (seed: number) => {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
};

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
  for (const k of ['calls', 'pricedCalls', 'listPricedCalls', 'inputTokens', 'outputTokens', 'cacheReadTokens', 'errors', 'firstTsMs', 'lastTsMs'] as const) assert.equal(root[k], all[k], `root ${k}`);
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

  it('takes values out as if they had never been added, exact or in the sketch, or says it cannot', () => {
    const rnd = seeded(17);
    const values = Array.from({ length: 12_000 }, () => (rnd() < 0.02 ? 0 : Math.exp(rnd() * 14 - 16)));
    const hi = Math.max(...values);
    // Exact: the least and greatest go too, and the digest grows into the sketch with the right bounds.
    const d = new CostDigest();
    for (const v of values.slice(0, 3000)) d.add(v);
    const first = values.slice(0, 3000);
    const top = first.indexOf(Math.max(...first));
    const out = new Set([top, 5, 77, 1000]);
    for (const i of out) assert.ok(d.remove(values[i]));
    const rest = first.filter((_, i) => !out.has(i));
    assert.deepEqual([d.n, d.min, d.max], [rest.length, Math.min(...rest), Math.max(...rest)]);
    assert.equal(d.remove(12345), false, 'a value never added');
    for (const v of values.slice(3000)) d.add(v);
    const kept = values.filter((_, i) => !out.has(i));
    const want = new CostDigest();
    for (const v of kept) want.add(v);
    assert.deepEqual([d.n, d.min, d.max, d.isExact], [want.n, want.min, want.max, false]);
    const ps = [0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999];
    assert.deepEqual(d.quantiles(ps), want.quantiles(ps));
    // Sketch: bucket counts and free calls taken out; the extremes cannot be, nor going back under the exact limit.
    const drop = [11_000, 11_001, 11_002, 11_003, values.indexOf(0, 6000)];
    assert.equal(values[drop[4]], 0);
    for (const i of drop) assert.ok(values[i] < hi && d.remove(values[i]), `value ${i}`);
    const want2 = new CostDigest();
    for (const v of values.filter((_, i) => !out.has(i) && !drop.includes(i))) want2.add(v);
    assert.deepEqual(d.quantiles(ps), want2.quantiles(ps));
    assert.equal(d.n, want2.n);
    d.add(1); // greater than all, once
    assert.equal(d.remove(1), false, 'the greatest of the sketch, with no other equal to it');
    d.add(1);
    assert.ok(d.remove(1), 'one of two equal greatest values');
    assert.equal(d.max, 1);
    const small = new CostDigest();
    for (let i = 0; i <= EXACT_PERCENTILE_LIMIT + 1; i++) small.add(1 + i);
    assert.equal(small.remove(1), false, 'the least of the sketch');
    assert.ok(small.remove(100));
    assert.equal(small.remove(101), false, 'the rest would be kept exactly');
  });
});

/** A table fed through `store` as the normaliser does, with records that supersede earlier ones (Claude Code streaming). */
class Feed {
  readonly messages = new Map<string, { out: number; row: number }>();
  readonly records = new Map<string, CallRecord>();
  readonly table: CallTable;
  private line = 0;
  private next = 0;
  private static files = 0;
  constructor(
    pool: StringPool,
    readonly prices: PriceBook,
    private readonly rnd: () => number,
  ) {
    this.table = new CallTable(`feed${Feed.files++}.jsonl`, pool);
  }

  /** A random call: skewed features (one group beyond the exact percentile limit), unpriced models, errors, undated. */
  random(): CallRecord {
    const rnd = this.rnd;
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
    const f = rnd();
    const rec: CallRecord = {
      tsMs: rnd() < 0.04 ? NaN : Date.UTC(2026, 10, 1) + Math.floor(rnd() * 20 * 86_400_000),
      model: pick(['gpt-4o', 'gpt-4o-mini', 'gpt-4o-mini', 'claude-sonnet-4-5', 'no-such-model-x']),
      inputTokens: Math.floor(rnd() * 5000),
      outputTokens: Math.floor(rnd() * 800),
      cacheReadTokens: rnd() < 0.3 ? Math.floor(rnd() * 3000) : 0,
      cacheWriteTokens: rnd() < 0.1 ? Math.floor(rnd() * 2000) : 0,
      cacheWrite1hTokens: 0,
      reasoningTokens: rnd() < 0.1 ? 5 : 0,
      recordedCostUsd: rnd() < 0.1 ? Math.round(rnd() * 1e4) / 1e6 : undefined,
      error: rnd() < 0.05 ? 'rate_limited' : undefined,
      dims: { feature: f < 0.08 ? undefined : f < 0.7 ? 'chat' : pick(['search', 'summarize']), user: `u${Math.floor(rnd() * 5)}` },
      tags: rnd() < 0.2 ? { team: pick(['a', 'b']) } : {},
      source: { file: this.table.file, line: 0 },
    };
    return rec;
  }

  /** Appends a new call (a new message); returns its message id. */
  add(rec = this.random()): string {
    const id = `m${this.next++}`;
    rec.id = id;
    rec.source = { file: this.table.file, line: ++this.line };
    this.messages.set(id, { out: rec.outputTokens, row: -1 });
    this.records.set(id, rec);
    assert.ok(this.table.store(rec, this.prices, this.messages).added);
    return id;
  }

  /** A later line of message `id`: the same call with more output (streaming), or, with `rec`, anything else. */
  replace(id: string, rec?: CallRecord): void {
    const was = this.records.get(id)!;
    const now: CallRecord = rec ?? { ...was, outputTokens: was.outputTokens + 1 + Math.floor(this.rnd() * 300), tags: { ...was.tags } };
    now.id = id;
    now.supersedes = id;
    now.source = { file: this.table.file, line: ++this.line };
    this.records.set(id, now);
    const r = this.table.store(now, this.prices, this.messages);
    assert.equal(r.added, false);
    assert.equal(r.row, this.messages.get(id)!.row);
  }

  ids(): string[] {
    return [...this.records.keys()];
  }
}

function fresh(tables: readonly CallTable[], opts: GroupIndexOptions): GroupIndex {
  const index = new GroupIndex();
  index.sync(tables, opts);
  return index;
}

describe('GroupIndex: rows replaced in place (streamed messages)', () => {
  const dims = ['feature', 'user', 'model'];

  it('takes replaced rows out of their old groups and into their new ones without starting over, materialised or not', () => {
    const rnd = seeded(11);
    const pool = new StringPool();
    const prices = new PriceBook();
    const a = new Feed(pool, prices, rnd);
    const b = new Feed(pool, prices, rnd);
    for (let i = 0; i < 9000; i++) a.add();
    for (let i = 0; i < 1500; i++) b.add();
    const opts: GroupIndexOptions = { dims: ['feature', 'tag:team', 'model'], source: 'auto' };
    const full = new GroupIndex();
    const lazy = new GroupIndex();
    const tables = [a.table, b.table];
    assert.equal(full.sync(tables, opts), 'rebuilt');
    assert.equal(lazy.sync(tables, opts), 'rebuilt');
    // Every level materialised, every digest built; one of them (chat) beyond the exact limit.
    sameIndex(full, fresh(tables, opts), opts.dims);
    assert.ok(full.children().some((n) => !n.exactPercentiles), 'a group in the sketch');
    for (let round = 0; round < 4; round++) {
      const ids = a.ids();
      for (let k = 0; k < 150; k++) {
        const id = ids[Math.floor(rnd() * ids.length)];
        // Half grow their output (same groups), half become another call (other groups, unpriced, undated, errors...).
        a.replace(id, rnd() < 0.5 ? undefined : a.random());
      }
      const appended = a.add(); // a row appended and replaced before the next sync
      a.replace(appended, a.random());
      b.replace(b.ids()[round], b.random());
      b.replace(b.ids()[round], b.random()); // twice between two syncs
      const edits = a.table.edits;
      assert.ok(!full.wouldRebuild(tables, opts));
      assert.equal(full.sync(tables, opts), 'appended');
      assert.equal(full.sync(tables, opts), 'unchanged');
      assert.equal(a.table.edits, edits);
      const visited = sameIndex(full, fresh(tables, opts), opts.dims);
      assert.ok(visited > 30, String(visited));
    }
    assert.equal(full.rebuilds, 1, 'never started over');
    assert.ok(full.replacedRows > 400, String(full.replacedRows));
    // The index nobody read since its first level: the moved rows are where the levels built later look for them.
    assert.equal(lazy.sync(tables, opts), 'appended');
    assert.equal(lazy.rebuilds, 1);
    sameIndex(lazy, fresh(tables, opts), opts.dims);
  });

  it('takes replacements in before a level is built or figures are read between an edit and the next sync', () => {
    const rnd = seeded(13);
    const a = new Feed(new StringPool(), new PriceBook(), rnd);
    for (let i = 0; i < 6000; i++) a.add();
    const opts: GroupIndexOptions = { dims, source: 'auto' };
    const index = new GroupIndex();
    index.sync([a.table], opts);
    const top = index.children();
    top.forEach((n) => n.stats); // first level read (percentiles built), deeper levels not yet
    const ids = a.ids();
    for (let k = 0; k < 300; k++) a.replace(ids[Math.floor(rnd() * ids.length)], rnd() < 0.5 ? undefined : a.random());
    // The tree reads before it syncs: a node's figures (percentiles, extremes), a level built from its rows.
    top.forEach((n) => n.stats);
    for (const n of top) index.children(n);
    assert.equal(index.sync([a.table], opts), 'unchanged', 'taken in by the reads');
    assert.equal(index.rebuilds, 1);
    sameIndex(index, fresh([a.table], opts), dims);
  });

  it('builds a level with the tree figures only, sums the rest when read, then keeps both up to date as rows come and go', () => {
    const rnd = seeded(17);
    const pool = new StringPool();
    const a = new Feed(pool, new PriceBook(), rnd);
    for (let i = 0; i < 7000; i++) a.add();
    const opts: GroupIndexOptions = { dims, source: 'auto' };
    const index = new GroupIndex();
    index.sync([a.table], opts);
    const top = index.children();
    assert.ok(top.every((n) => !n.keepsFullFigures), 'a level built holds the figures the tree shows only');
    assert.equal(index.total!.keepsFullFigures, false);
    // What the tree and the status bar read does not sum the rest.
    const want = stats(select([a.table]));
    assert.equal(index.total!.calls, want.calls);
    assert.equal(index.total!.unpricedCalls, want.unpricedCalls);
    assert.ok(Math.abs(index.total!.costUsd - want.costUsd) < 1e-9);
    top.forEach((n) => n.costUsd + n.calls + n.pricedCalls + n.shareOfParent);
    assert.ok(top.every((n) => !n.keepsFullFigures));
    // Mixed: one group read (a tooltip), a level under it built and one of its groups read; the rest not.
    const [first, second] = top;
    assert.ok(first.stats.inputTokens > 0 && first.keepsFullFigures);
    const users = index.children(second);
    users[0].stats;
    assert.ok(users[0].keepsFullFigures && !users[1].keepsFullFigures && !second.keepsFullFigures);
    for (let round = 0; round < 3; round++) {
      const ids = a.ids();
      for (let k = 0; k < 200; k++) a.replace(ids[Math.floor(rnd() * ids.length)], rnd() < 0.5 ? undefined : a.random());
      for (let k = 0; k < 50; k++) a.add();
      a.add({ ...a.random(), dims: { feature: `new${round}`, user: 'u0' } }); // a group created by an append
      assert.equal(index.sync([a.table], opts), 'appended');
      if (round === 1) index.total!.stats; // the root summed from its children, then kept up to date
    }
    assert.equal(index.rebuilds, 1);
    sameIndex(index, fresh([a.table], opts), dims);
  });

  it('keeps the full figures of a root without levels from the start, built empty or with every call out of range', () => {
    const rnd = seeded(19);
    const a = new Feed(new StringPool(), new PriceBook(), rnd);
    const since = Date.UTC(2026, 10, 30); // after every call the Feed makes
    for (const opts of [{ dims: [], source: 'auto' }, { dims: [], source: 'auto', sinceMs: Date.UTC(2026, 10, 1) }] as GroupIndexOptions[]) {
      const index = new GroupIndex();
      const empty = new Feed(new StringPool(), new PriceBook(), rnd);
      index.sync([empty.table], opts);
      for (let i = 0; i < 300; i++) empty.add();
      assert.equal(index.sync([empty.table], opts), 'appended');
      sameStats(index.total!.stats, fresh([empty.table], opts).total!.stats, 'root', true);
    }
    for (let i = 0; i < 200; i++) a.add();
    const out: GroupIndexOptions = { dims: [], source: 'auto', sinceMs: since };
    const index = new GroupIndex();
    index.sync([a.table], out);
    assert.equal(index.total!.calls, 0);
    for (let i = 0; i < 50; i++) a.add({ ...a.random(), tsMs: since + i * 1000 });
    assert.equal(index.sync([a.table], out), 'appended');
    const root = index.total!.stats;
    sameStats(root, fresh([a.table], out).total!.stats, 'root', true);
    assert.equal(root.calls, 50);
    assert.ok(root.inputTokens > 0 && root.firstTsMs === since);
  });

  it('moves a row between groups, finds the time span and costliest call again, and drops a group left empty', () => {
    const rnd = seeded(5);
    const a = new Feed(new StringPool(), new PriceBook(), rnd);
    const day = (d: number) => Date.UTC(2026, 10, d);
    const call = (feature: string, model: string, out: number, d: number): CallRecord => ({ ...a.random(), tsMs: day(d), model, inputTokens: 100, outputTokens: out, recordedCostUsd: undefined, error: undefined, dims: { feature, user: 'u1' }, tags: {} });
    const opts: GroupIndexOptions = { dims, source: 'auto' };
    a.add(call('search', 'gpt-4o', 10, 1));
    const x = a.add(call('search', 'gpt-4o', 900, 3)); // the costliest call of `search`, neither first nor last
    const y = a.add(call('search', 'gpt-4o-mini', 10, 4));
    a.add(call('search', 'gpt-4o', 20, 5));
    a.add(call('chat', 'gpt-4o', 10, 2));
    const index = new GroupIndex();
    index.sync([a.table], opts);
    sameIndex(index, fresh([a.table], opts), dims);
    const maxBefore = index.children().find((n) => n.value === 'search')!.stats.maxUsd;
    a.replace(x, call('chat', 'gpt-4o', 500, 3)); // feature changed
    a.replace(y, call('search', 'no-such-model-x', 10, 4)); // model changed, now unpriced
    assert.equal(index.sync([a.table], opts), 'appended');
    sameIndex(index, fresh([a.table], opts), dims);
    const search = index.children().find((n) => n.value === 'search')!;
    assert.ok(search.stats.maxUsd < maxBefore);
    assert.deepEqual([search.stats.firstTsMs, search.stats.lastTsMs], [day(1), day(5)]);
    assert.deepEqual(search.stats.unpricedModels, { 'no-such-model-x': 1 });
    // The calls of `search` leave: the group goes, and a node shown before no longer answers.
    const before = index.find([...search.path, { dim: 'user', value: 'u1' }])!;
    assert.deepEqual(index.children(before).map((n) => n.value).sort(), ['gpt-4o', 'no-such-model-x']);
    for (const id of a.ids()) if (a.records.get(id)!.dims.feature === 'search') a.replace(id, { ...a.records.get(id)!, dims: { feature: 'chat', user: 'u1' } });
    assert.equal(index.sync([a.table], opts), 'appended');
    assert.deepEqual(index.children().map((n) => [n.value, n.calls]), [['chat', 5], ['(unattributed)', 0]]);
    assert.deepEqual(index.children(before), []);
    sameIndex(index, fresh([a.table], opts), dims);
    assert.equal(index.rebuilds, 1);
  });

  it('leaves exactly $0 (not a rounding remainder, shown as -$0.0000000000) in a group whose costly calls moved out', () => {
    const a = new Feed(new StringPool(), new PriceBook(), seeded(7));
    const call = (feature: string, recorded: number, cacheRead: number): CallRecord => ({ ...a.random(), tsMs: Date.UTC(2026, 10, 2), model: 'gpt-4o', inputTokens: 1000, outputTokens: 100, cacheReadTokens: cacheRead, cacheWriteTokens: 0, reasoningTokens: 0, recordedCostUsd: recorded, error: 'rate_limited', dims: { feature, user: 'u1' }, tags: {} });
    a.add(call('search', 0, 0)); // a free call (no cache): stays
    const x = a.add(call('search', 0.01, 1000));
    const y = a.add(call('search', 0.02, 3000));
    a.add(call('chat', 0.05, 0));
    const opts: GroupIndexOptions = { dims, source: 'auto' };
    const index = new GroupIndex();
    index.sync([a.table], opts);
    a.replace(x, call('chat', 0.01, 1000));
    a.replace(y, call('chat', 0.02, 3000));
    assert.equal(index.sync([a.table], opts), 'appended');
    const search = index.children().find((n) => n.value === 'search')!.stats;
    assert.deepEqual([search.calls, search.pricedCalls, search.errors], [1, 1, 1]);
    assert.deepEqual([search.costUsd, search.cacheSavingsUsd, search.errorCostUsd], [0, 0, 0]);
    assert.equal(formatGroupCost(search), '$0.00');
    sameIndex(index, fresh([a.table], opts), dims);
  });

  it('counts a replaced row only where its time is in range: moving in, out and to no time at all', () => {
    const rnd = seeded(23);
    const a = new Feed(new StringPool(), new PriceBook(), rnd);
    for (let i = 0; i < 3000; i++) a.add();
    const since = Date.UTC(2026, 10, 6);
    const until = Date.UTC(2026, 10, 14);
    const opts: GroupIndexOptions = { dims, source: 'computed', sinceMs: since, untilMs: until };
    const index = new GroupIndex();
    index.sync([a.table], opts);
    sameIndex(index, fresh([a.table], opts), dims);
    const ids = a.ids();
    const times = [since - 1, since, until - 1, until, NaN, Date.UTC(2026, 10, 1), Date.UTC(2026, 10, 10)];
    for (let k = 0; k < 400; k++) {
      const id = ids[Math.floor(rnd() * ids.length)];
      const rec = rnd() < 0.5 ? { ...a.records.get(id)! } : a.random();
      rec.tsMs = times[k % times.length];
      a.replace(id, rec);
    }
    assert.equal(index.sync([a.table], opts), 'appended');
    sameIndex(index, fresh([a.table], opts), dims);
    assert.equal(index.undated, countUndated([a.table], { sinceMs: since, untilMs: until }));
    assert.equal(index.rebuilds, 1);
  });

  it('recomputes only the percentiles of a group that falls back to the exact limit, and stays within the sketch error', () => {
    const rnd = seeded(31);
    const a = new Feed(new StringPool(), new PriceBook(), rnd);
    const big = () => ({ ...a.random(), model: 'gpt-4o', recordedCostUsd: undefined, dims: { feature: 'big', user: 'u1' }, tags: {} });
    const ids: string[] = [];
    for (let i = 0; i < EXACT_PERCENTILE_LIMIT + 1; i++) ids.push(a.add(big()));
    a.add({ ...big(), dims: { feature: 'small', user: 'u1' } });
    const opts: GroupIndexOptions = { dims: ['feature', 'user'], source: 'auto' };
    const index = new GroupIndex();
    index.sync([a.table], opts);
    sameIndex(index, fresh([a.table], opts), opts.dims);
    assert.equal(index.children()[0].exactPercentiles, false);
    // Costs replaced inside the sketch: bucket counts taken out and put in.
    for (let k = 0; k < 200; k++) a.replace(ids[1 + Math.floor(rnd() * (ids.length - 2))]);
    assert.equal(index.sync([a.table], opts), 'appended');
    sameIndex(index, fresh([a.table], opts), opts.dims);
    // One call leaves `big`: 4096 priced calls, exact again as a fresh index has them.
    a.replace(ids[0], { ...big(), dims: { feature: 'small', user: 'u1' } });
    assert.equal(index.sync([a.table], opts), 'appended');
    const node = index.children().find((n) => n.value === 'big')!;
    assert.equal(node.exactPercentiles, true);
    sameIndex(index, fresh([a.table], opts), opts.dims);
    assert.equal(index.rebuilds, 1);
  });

  it('starts over, with the same result, after more replacements than the table keeps', () => {
    const rnd = seeded(41);
    const a = new Feed(new StringPool(), new PriceBook(), rnd);
    for (let i = 0; i < 2000; i++) a.add();
    const index = new GroupIndex();
    index.sync([a.table], { dims, source: 'auto' });
    sameIndex(index, fresh([a.table], { dims, source: 'auto' }), dims);
    const ids = a.ids();
    for (let k = 0; k < REPLACED_ROWS_KEPT + 10; k++) a.replace(ids[k % ids.length], rnd() < 0.5 ? undefined : a.random());
    assert.ok(index.wouldRebuild([a.table], { dims, source: 'auto' }));
    assert.equal(index.sync([a.table], { dims, source: 'auto' }), 'rebuilt');
    assert.equal(index.rebuilds, 2);
    sameIndex(index, fresh([a.table], { dims, source: 'auto' }), dims);
    // The log goes on from there: the next few are taken in again.
    for (let k = 0; k < 20; k++) a.replace(ids[k], a.random());
    assert.equal(index.sync([a.table], { dims, source: 'auto' }), 'appended');
    assert.equal(index.rebuilds, 2);
    sameIndex(index, fresh([a.table], { dims, source: 'auto' }), dims);
  });

  it('starts over after a reprice, even with replacements before and after it', () => {
    const rnd = seeded(43);
    const a = new Feed(new StringPool(), new PriceBook(), rnd);
    for (let i = 0; i < 1000; i++) a.add();
    const opts: GroupIndexOptions = { dims, source: 'computed' };
    const index = new GroupIndex();
    index.sync([a.table], opts);
    a.replace(a.ids()[3], a.random());
    a.table.reprice(new PriceBook());
    a.replace(a.ids()[4], a.random());
    assert.ok(index.wouldRebuild([a.table], opts));
    assert.equal(index.sync([a.table], opts), 'rebuilt');
    assert.equal(index.rebuilds, 2);
    sameIndex(index, fresh([a.table], opts), dims);
  });

  it('starts over on the next sync when rows were replaced while it was rebuilding in slices', async () => {
    const rnd = seeded(47);
    const a = new Feed(new StringPool(), new PriceBook(), rnd);
    for (let i = 0; i < 3000; i++) a.add();
    const opts: GroupIndexOptions = { dims, source: 'auto' };
    const index = new GroupIndex();
    let turns = 0;
    await index.rebuildAsync([a.table], opts, async () => {
      if (++turns === 2) a.replace(a.ids()[2999], a.random()); // read after this point, or before: unknown
    }, 500);
    assert.ok(index.wouldRebuild([a.table], opts));
    assert.equal(index.sync([a.table], opts), 'rebuilt');
    sameIndex(index, fresh([a.table], opts), dims);
  });
});
