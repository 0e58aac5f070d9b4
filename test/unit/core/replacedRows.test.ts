import * as assert from 'node:assert/strict';
import { CallTable, StringPool } from '../../../src/core/callTable';
import { PriceBook } from '../../../src/core/pricing';
import { ReplacedRows } from '../../../src/core/replacedRows';
import type { CallRecord } from '../../../src/core/types';

const call = (id: string, out: number, extra: Partial<CallRecord> = {}): CallRecord => ({
  id,
  tsMs: Date.UTC(2026, 0, 1),
  model: 'claude-sonnet-4-5',
  provider: 'anthropic',
  inputTokens: 10,
  outputTokens: out,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  cacheWrite1hTokens: 0,
  reasoningTokens: 0,
  dims: { agent: 'main' },
  tags: {},
  source: { file: 't.jsonl', line: 1 },
  ...extra,
});

describe('ReplacedRows (old values of rows replaced in place)', () => {
  it('keeps what a streamed message row held before each later line replaced it, by edit count', () => {
    const t = new CallTable('t.jsonl', new StringPool());
    const prices = new PriceBook();
    const messages = new Map<string, { out: number; row: number }>();
    for (const id of ['a', 'b']) {
      messages.set(id, { out: 1, row: -1 });
      t.store(call(id, 1), prices, messages);
    }
    const costBefore = t.computedUsd[1];
    t.store(call('b', 50, { supersedes: 'b', tags: { gitBranch: 'main' }, dims: { agent: 'sub' }, source: { file: 't.jsonl', line: 3 } }), prices, messages);
    t.store(call('b', 80, { supersedes: 'b', source: { file: 't.jsonl', line: 4 } }), prices, messages);
    assert.equal(t.edits, 2);
    const log = t.replaced;
    const r = log.range(0, t.edits)!;
    assert.deepEqual(r, { from: 0, to: 2 });
    assert.deepEqual([log.row(0), log.row(1)], [1, 1]);
    assert.deepEqual([log.value(0, 'outputTokens'), log.value(0, 'line'), log.value(0, 'computedUsd')], [1, 1, costBefore]);
    assert.equal(t.pool.get(log.id(0, 'agent')), 'main');
    assert.equal(log.id(0, 'gitBranch'), 0, 'the tag came with the replacement');
    assert.equal(t.pool.get(log.id(1, 'tag:gitBranch')), 'main');
    assert.equal(t.pool.get(log.id(1, 'agent')), 'sub');
    assert.equal(log.value(1, 'outputTokens'), 50);
    assert.deepEqual(log.range(1, t.edits), { from: 1, to: 2 });
    assert.deepEqual(log.range(2, t.edits), { from: 2, to: 2 });
    // A reprice changes every row: nothing before it can be replayed.
    t.reprice(prices);
    assert.equal(log.range(2, t.edits), undefined);
    assert.deepEqual(log.range(3, t.edits), { from: 0, to: 0 });
    t.store(call('a', 9, { supersedes: 'a' }), prices, messages);
    assert.deepEqual(log.range(3, t.edits), { from: 0, to: 1 });
    assert.equal(log.row(0), 0);
  });

  it('holds at most its limit, dropping the oldest half, and refuses edit counts it never saw', () => {
    const log = new ReplacedRows(8);
    for (let seq = 1; seq <= 8; seq++) log.set(log.begin(seq, seq * 10), 'tsMs', seq);
    assert.deepEqual(log.range(0, 8), { from: 0, to: 8 });
    log.set(log.begin(9, 90), 'tsMs', 9);
    assert.equal(log.range(3, 9), undefined, 'edits 4 and 5 were dropped');
    const r = log.range(4, 9)!;
    assert.deepEqual([log.row(r.from), log.value(r.from, 'tsMs'), r.to - r.from], [50, 5, 5]);
    assert.equal(log.range(4, 10), undefined, 'an edit not logged');
    assert.equal(log.range(-1, 9), undefined);
    log.begin(12, 7); // edits 10 and 11 were not logged
    assert.equal(log.range(9, 12), undefined);
    assert.deepEqual(log.range(11, 12), { from: 0, to: 1 });
  });

  it('takes a run of edits at once (copies marked together), in consecutive slots, dropping the oldest to make room', () => {
    const log = new ReplacedRows(16);
    for (let seq = 1; seq <= 5; seq++) log.set(log.begin(seq, seq), 'tsMs', seq);
    const rows = [40, 41, 42, 43, 44, 45];
    const j = log.beginRun(6, rows);
    const c = log.column('tsMs');
    rows.forEach((_, k) => (c[j + k] = 100 + k));
    assert.deepEqual(log.range(0, 11), { from: 0, to: 11 }, 'edits 1-11 all kept');
    const r = log.range(5, 11)!;
    assert.deepEqual(Array.from({ length: r.to - r.from }, (_, k) => [log.row(r.from + k), log.value(r.from + k, 'tsMs')]), rows.map((row, k) => [row, 100 + k]));
    // A run past the room left: the oldest go (at least half), the run is kept whole, and later single edits follow it.
    const run = Array.from({ length: 12 }, (_, k) => 200 + k);
    const j2 = log.beginRun(12, run);
    assert.equal(log.range(0, 23), undefined, 'the oldest were dropped');
    const kept = log.range(11, 23)!;
    assert.deepEqual([kept.to - kept.from, log.row(j2), log.row(j2 + 11)], [12, 200, 211]);
    log.set(log.begin(24, 300), 'tsMs', 1);
    assert.deepEqual(log.range(23, 24)!.to - log.range(23, 24)!.from, 1);
    assert.throws(() => log.beginRun(25, Array.from({ length: 17 }, (_, k) => k)), /more than the 16 kept/);
  });
});
