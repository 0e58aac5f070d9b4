import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringPool } from '../../../src/core/callTable';
import { GroupIndex, type GroupIndexOptions } from '../../../src/core/groupIndex';
import { type LevelPreview, MAX_PREVIEW_GROUPS, previewGroups, previewLevel, previewMatches, type PreviewRequest, tablePart } from '../../../src/core/levelPreview';
import { PriceBook } from '../../../src/core/pricing';
import { loadParallelPacked } from '../../../src/node/parallelLoad';
import { readTraceFile } from '../../../src/node/traceReader';
import { traceLines } from '../helpers';

/** The tree's first level of a table, as the Cost view builds it. */
function treeLevel(path: string, req: PreviewRequest) {
  const t = readTraceFile(path, { pool: new StringPool(), prices: new PriceBook(), final: true, displayName: 't.jsonl' }).state.table;
  const index = new GroupIndex();
  const opts: GroupIndexOptions = { dims: [req.dim], source: req.source, sinceMs: req.sinceMs, untilMs: req.untilMs };
  index.sync([t], opts);
  return { table: t, groups: index.children().map((n) => ({ value: n.value, calls: n.calls, pricedCalls: n.pricedCalls, costUsd: n.costUsd })) };
}

function sameGroups(got: { value: string; calls: number; pricedCalls: number; costUsd: number }[], want: typeof got, what: string) {
  assert.deepEqual(got.map((g) => [g.value, g.calls, g.pricedCalls]), want.map((g) => [g.value, g.calls, g.pricedCalls]), what);
  got.forEach((g, k) => assert.ok(Math.abs(g.costUsd - want[k].costUsd) <= 1e-9 * Math.max(1, Math.abs(want[k].costUsd)), `${what}: ${g.value} ${g.costUsd} vs ${want[k].costUsd}`));
}

describe('the first level summed from the ranges as they are read (levelPreview)', function () {
  this.timeout(30000);
  let dir: string;
  let trace: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lcl-preview-'));
    trace = join(dir, 't.jsonl');
    const text = traceLines(6000, 5, ['search', 'chat', 'summarize', 'ünïcode']);
    writeFileSync(trace, text);
    writeFileSync(join(dir, 'head.jsonl'), text.split('\n').slice(0, 1000).join('\n') + '\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const requests: PreviewRequest[] = [
    { dim: 'feature', source: 'auto' },
    { dim: 'tag:team', source: 'auto' },
    { dim: 'team', source: 'computed' },
    { dim: 'model', source: 'computed' },
    { dim: 'user', source: 'recorded' },
    { dim: 'feature', source: 'auto', sinceMs: Date.UTC(2026, 10, 10), untilMs: Date.UTC(2026, 10, 15) },
    { dim: 'no-such-tag', source: 'auto' },
  ];
  for (const req of requests) {
    it(`gives the tree's first level (${JSON.stringify(req)}), read in ranges on several threads or by one reader`, async () => {
      const want = treeLevel(trace, req);
      // Small chunks: each range's level is summed a chunk at a time, tag columns appearing in a later chunk; small
      // steals: ranges taken from others.
      const ranged = [{ workers: 2, minParallelBytes: 0 }, { workers: 3, minParallelBytes: 0 }, { splitAt: [10, 20, 30, 400_000], minParallelBytes: 0 }, { workers: 2, minParallelBytes: 0, chunkBytes: 4096, minStealBytes: 8192 }];
      for (const opts of [...ranged, {}]) {
        let got: LevelPreview | undefined;
        let sent = 0;
        const r = await loadParallelPacked(trace, { pool: new StringPool(), final: true, displayName: 't.jsonl', ...opts, preview: { request: req, send: async (p) => ((got = p), sent++) } });
        assert.equal(sent, 1, 'sent once');
        assert.equal(r.calls, want.table.length);
        assert.equal(r.ranges > 1, 'splitAt' in opts || 'workers' in opts, `ranges: ${r.ranges}`);
        assert.deepEqual({ ...got!, groups: [] }, { ...req, groups: [] });
        sameGroups(previewGroups(got!), want.groups, `${JSON.stringify(opts)}`);
      }
      // From a table (what the single reader gives) the same.
      sameGroups(previewGroups(previewLevel([tablePart(want.table)], req)!), want.groups, 'from the table');
      // ...also when the table's pool holds far more strings than it has calls (a small file in a big store's pool).
      const big = new StringPool();
      for (let k = 0; k < 200_000; k++) big.id(`other-${k}`);
      const shared = readTraceFile(trace, { pool: big, prices: new PriceBook(), final: true, displayName: 't.jsonl' }).state.table;
      const head = { ...tablePart(shared), length: 1000 };
      const wantHead = new GroupIndex();
      wantHead.sync([readTraceFile(join(dir, 'head.jsonl'), { pool: new StringPool(), prices: new PriceBook(), final: true }).state.table], { dims: [req.dim], source: req.source, sinceMs: req.sinceMs, untilMs: req.untilMs });
      sameGroups(previewGroups(previewLevel([head], req)!), wantHead.children().map((n) => ({ value: n.value, calls: n.calls, pricedCalls: n.pricedCalls, costUsd: n.costUsd })), 'a table in a big pool');
    });
  }

  it('sums a tag whose column first appears in a later chunk of a range (the rows before it unattributed)', async () => {
    // Each range's first lines have no `team`, so the column is made in a later chunk of every range.
    const lines = traceLines(4000, 9).split('\n').filter(Boolean);
    const strip = (l: string) => JSON.stringify({ ...JSON.parse(l), team: undefined });
    const late = join(dir, 'late.jsonl');
    writeFileSync(late, lines.map((l, k) => (k % 2000 < 400 ? strip(l) : l)).join('\n') + '\n');
    const half = readFileSync(late, 'utf8').split('\n').slice(0, 2000).join('\n').length + 1;
    for (const req of [{ dim: 'tag:team', source: 'auto' }, { dim: 'team', source: 'computed' }] as PreviewRequest[]) {
      const want = treeLevel(late, req);
      let got: LevelPreview | undefined;
      await loadParallelPacked(late, { pool: new StringPool(), final: true, displayName: 't.jsonl', minParallelBytes: 0, splitAt: [half], chunkBytes: 4096, minStealBytes: 1e15, preview: { request: req, send: async (p) => (got = p) } });
      assert.ok(got, 'sent');
      sameGroups(previewGroups(got), want.groups, JSON.stringify(req));
    }
  });

  it('is not summed (nor sent) for a level of more groups than MAX_PREVIEW_GROUPS', async () => {
    const many = join(dir, 'many.jsonl');
    writeFileSync(many, Array.from({ length: MAX_PREVIEW_GROUPS + 1 }, (_, k) => JSON.stringify({ model: 'gpt-4o', input_tokens: 10, output_tokens: 1, metadata: { user_id: `u${k}`, feature: 'f' } })).join('\n') + '\n');
    let sent = 0;
    for (const opts of [{ workers: 2, minParallelBytes: 0 }, {}]) {
      await loadParallelPacked(many, { pool: new StringPool(), final: true, ...opts, preview: { request: { dim: 'user', source: 'auto' }, send: async () => sent++ } });
      await loadParallelPacked(many, { pool: new StringPool(), final: true, ...opts, preview: { request: { dim: 'feature', source: 'auto' }, send: async () => sent++ } });
    }
    assert.equal(sent, 2, 'by feature (one group) only');
    // More than MAX_PREVIEW_GROUPS in each of two ranges (a range's readers give up on it), or only once merged.
    const more = join(dir, 'more.jsonl');
    writeFileSync(more, Array.from({ length: 2 * MAX_PREVIEW_GROUPS + 4 }, (_, k) => JSON.stringify({ model: 'gpt-4o', input_tokens: 10, output_tokens: 1, metadata: { user_id: `u${k}`, feature: 'f' } })).join('\n') + '\n');
    sent = 0;
    await loadParallelPacked(more, { pool: new StringPool(), final: true, workers: 2, minParallelBytes: 0, preview: { request: { dim: 'user', source: 'auto' }, send: async () => sent++ } });
    await loadParallelPacked(more, { pool: new StringPool(), final: true, workers: 4, minParallelBytes: 0, preview: { request: { dim: 'user', source: 'auto' }, send: async () => sent++ } });
    await loadParallelPacked(more, { pool: new StringPool(), final: true, workers: 2, minParallelBytes: 0, preview: { request: { dim: 'feature', source: 'auto' }, send: async () => sent++ } });
    assert.equal(sent, 1, 'by feature only');
  });

  it('is shown only for the grouping, cost source and range it was summed for', () => {
    const p: PreviewRequest = { dim: 'feature', source: 'auto', sinceMs: 60_000 };
    assert.ok(previewMatches(p, { dims: ['feature', 'user'], source: 'auto', sinceMs: 60_000 }));
    assert.ok(!previewMatches(p, { dims: ['model', 'feature'], source: 'auto', sinceMs: 60_000 }), 'another grouping');
    assert.ok(!previewMatches(p, { dims: ['feature'], source: 'computed', sinceMs: 60_000 }), 'another cost source');
    assert.ok(!previewMatches(p, { dims: ['feature'], source: 'auto', sinceMs: 120_000 }), 'a rolling range moved on');
    assert.ok(!previewMatches(p, { dims: ['feature'], source: 'auto', sinceMs: undefined }), 'all time');
    assert.ok(!previewMatches(p, { dims: [], source: 'auto', sinceMs: 60_000 }), 'no grouping');
  });

  it('adds the groups of the files already loaded, the unattributed group always there, costliest first', () => {
    const preview: LevelPreview = { dim: 'feature', source: 'auto', groups: [{ value: 'chat', calls: 2, pricedCalls: 2, costUsd: 1 }, { value: 'search', calls: 1, pricedCalls: 0, costUsd: 0 }] };
    const merged = previewGroups(preview, [{ value: 'chat', calls: 1, pricedCalls: 1, costUsd: 0.5 }, { value: 'rag', calls: 3, pricedCalls: 3, costUsd: 2 }]);
    assert.deepEqual(merged, [
      { value: 'rag', calls: 3, pricedCalls: 3, costUsd: 2 },
      { value: 'chat', calls: 3, pricedCalls: 3, costUsd: 1.5 },
      { value: 'search', calls: 1, pricedCalls: 0, costUsd: 0 },
      { value: '(unattributed)', calls: 0, pricedCalls: 0, costUsd: 0 },
    ]);
    assert.deepEqual(preview.groups[0], { value: 'chat', calls: 2, pricedCalls: 2, costUsd: 1 }, 'the preview is not changed');
  });
});
