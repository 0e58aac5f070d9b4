import * as assert from 'node:assert/strict';
import { select } from '../../../src/core/analysis';
import { taskCosts } from '../../../src/core/budgets';
import { CallTable, StringPool } from '../../../src/core/callTable';
import { PriceBook } from '../../../src/core/pricing';
import { ingestBytes, newTraceFileState } from '../../../src/core/traceFile';
import { TraceIds, TraceKeys } from '../../../src/core/traceIds';
import type { CallRecord } from '../../../src/core/types';

const enc = new TextEncoder();

describe('TraceIds: a table\'s trace ids as bytes', () => {
  it('gives the last index again for the same id, a new one after another id, and reads every id back', () => {
    const t = new TraceIds();
    const ids = ['t_1', 't_1', 't_2', 't_1', '', undefined, 'é🚀', 'é🚀', 'x'.repeat(300)];
    const got = ids.map((s) => t.addString(s));
    assert.deepEqual(got, [1, 1, 2, 3, 0, 0, 4, 4, 5]);
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map((k) => t.text(k)), ['', 't_1', 't_2', 't_1', 'é🚀', 'x'.repeat(300), '']);
    // Bytes: the same rule, and the same bytes as the text's UTF-8.
    const b = enc.encode('..t_9..t_9..é🚀');
    assert.equal(t.addBytes(b, 2, 5), 6);
    assert.equal(t.addBytes(b, 7, 10), 6);
    assert.equal(t.addBytes(b, 12, b.length), 7);
    assert.equal(t.addString('é🚀'), 7, 'text equal to the last id added as bytes');
    assert.equal(t.addBytes(b, 2, 5), 8, 't_9 again after another id: a new index');
    assert.equal(t.text(8), 't_9');
  });

  it('keeps one copy of a long trace id repeated on consecutive lines, whichever reader takes them', () => {
    // Longer than the 256 bytes the WebAssembly loop remembers: it says "new" for each; the bytes are compared here.
    const long = `trace-${'x'.repeat(300)}`;
    const text = Array.from({ length: 2000 }, (_, i) => JSON.stringify({ trace_id: long, model: 'gpt-4o', input_tokens: i + 1, output_tokens: 1 })).join('\n') + '\n';
    for (const fast of [true, false]) {
      const state = newTraceFileState('t.jsonl', new StringPool());
      ingestBytes(state, new TextEncoder().encode(text), true, new PriceBook(), { fast });
      assert.equal(state.table.length, 2000);
      if (fast) assert.equal(state.scanned?.wasmLines, 2000, 'read by the WebAssembly loop');
      assert.equal(state.table.traces.count, 1, fast ? 'fast' : 'exact');
      assert.equal(state.table.traces.text(state.table.traceId[1999]), long);
    }
  });

  it('stores a lone surrogate as U+FFFD (what UTF-8 can hold), the same whichever reader adds it', () => {
    const t = new TraceIds();
    const k = t.addString('a\ud800b');
    assert.equal(t.text(k), 'a\ufffdb');
    const bytes = enc.encode('a\ufffdb');
    assert.equal(t.addBytes(bytes, 0, bytes.length), k);
  });

  it('grows without changing what views taken before read, and appends another table\'s ids shifted', () => {
    const t = new TraceIds();
    for (let i = 0; i < 5000; i++) t.addString(`trace-${i}`);
    const before = t.pack();
    const old = TraceIds.fromPacked(before);
    for (let i = 5000; i < 20000; i++) t.addString(`trace-${i}`);
    assert.notEqual(t.bytes.buffer, before.bytes.buffer, 'grew into new memory');
    assert.equal(old.count, 5000);
    assert.equal(old.text(4999), 'trace-4998');
    assert.equal(t.text(20000), 'trace-19999');
    const u = new TraceIds();
    u.addString('first');
    const shift = u.appendAll(t.exportPacked());
    assert.equal(shift, 1);
    assert.equal(u.count, 20001);
    assert.equal(u.text(1), 'first');
    assert.equal(u.text(2), 'trace-0');
    assert.equal(u.text(20001), 'trace-19999');
    const copy = u.exportPacked();
    assert.equal(copy.ends.length, 20002);
    assert.equal(copy.bytes.length, copy.ends[20001]);
  });

  it('reserves a trace id for each of the rows a reader reserved, at the mean id length (+10%): no buffer copied while it holds', () => {
    const t = new TraceIds();
    // (As the fast scanner adds them: bytes.)
    const add = (i: number) => {
      const b = enc.encode(`trace-${String(i).padStart(6, '0')}`);
      t.addBytes(b, 0, b.length);
    };
    for (let i = 0; i < 3000; i++) add(i);
    // Room for 12,000 more rows: an id on each, as long as those so far.
    t.reserveForRows(12000);
    const { bytes, ends } = t.pack();
    for (let i = 3000; i < 15000; i++) add(i);
    assert.equal(t.pack().bytes, bytes, 'the bytes were not copied');
    assert.equal(t.pack().ends, ends, 'nor the ends');
    assert.equal(t.count, 15000);
    assert.equal(t.text(15000), 'trace-014999');
    // One id more than rows reserved: the ends grow.
    add(15000);
    assert.notEqual(t.pack().ends, ends);
    // Nothing to go by (no ids yet) or no rows: nothing reserved.
    const u = new TraceIds();
    u.reserveForRows(10);
    u.addString('x');
    u.reserveForRows(0);
    u.reserveForRows(Number.NaN);
    assert.equal(u.text(1), 'x');
  });
});

describe('TraceKeys: which trace ids are the same, across indexes and tables', () => {
  /** Keys must group as the ids' texts do: same text, same key; other text, other key. */
  function assertGroupsLikeText(keys: TraceKeys, tables: TraceIds[]) {
    const byText = new Map<string, number>();
    const seen = new Map<number, string>();
    for (const t of tables) {
      const k = keys.keysOf(t);
      assert.equal(k[0], 0);
      for (let i = 1; i <= t.count; i++) {
        const text = t.text(i);
        const want = byText.get(text);
        if (want === undefined) {
          assert.equal(seen.has(k[i]), false, `key ${k[i]} of "${text}" already names "${seen.get(k[i])}"`);
          byText.set(text, k[i]);
          seen.set(k[i], text);
        } else assert.equal(k[i], want, text);
      }
    }
    assert.equal(keys.distinct, byText.size);
  }

  it('gives one key per distinct id, across tables, and extends the keys of a table that grew', () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const a = new TraceIds();
    const b = new TraceIds();
    for (let i = 0; i < 30000; i++) (i % 3 ? a : b).addString(['t', 'é', '🚀', 'run-'][rnd(4)] + rnd(rnd(2) ? 20000 : 50));
    const keys = new TraceKeys();
    assertGroupsLikeText(keys, [a, b]);
    for (let i = 0; i < 5000; i++) a.addString(`late-${rnd(100)}`);
    assertGroupsLikeText(keys, [a, b]);
  });

  it('stays right on ids crafted to collide (past a long probe run it looks ids up by text)', () => {
    // 300 ids whose FNV-1a hashes share their low 10 bits: one slot of the key table's 1024, one probe run.
    const fnv = (s: string) => {
      let h = 0x811c9dc5 | 0;
      for (const c of enc.encode(s)) h = Math.imul(h ^ c, 0x01000193);
      return h;
    };
    const same: string[] = [];
    for (let i = 0; same.length < 300; i++) if ((fnv(`c${i}`) & 0x3ff) === 0x134) same.push(`c${i}`);
    const t = new TraceIds();
    for (let r = 0; r < 3; r++) for (const s of same) t.addString(s);
    const keys = new TraceKeys();
    assertGroupsLikeText(keys, [t]);
    assert.ok((keys as unknown as { byText?: Map<string, number> }).byText, 'gave up probing for a lookup by text');
    assert.equal(keys.distinct, 300);
  });

  it('groups calls of one trace id, apart in one file and spread over two, into one task', () => {
    const pool = new StringPool();
    const prices = new PriceBook();
    const rec = (trace: string, line: number): CallRecord => ({
      tsMs: 1763000000000 + line, model: 'gpt-4o', provider: 'openai', traceId: trace, inputTokens: 1000, outputTokens: 100, cacheReadTokens: 0,
      cacheWriteTokens: 0, cacheWrite1hTokens: 0, reasoningTokens: 0, dims: { feature: 'f' }, tags: {}, source: { file: 'x', line },
    } as CallRecord);
    const a = new CallTable('a.jsonl', pool);
    const b = new CallTable('b.jsonl', pool);
    ['t1', 't2', 't1', 't3'].forEach((t, i) => a.append(rec(t, i + 1), prices));
    ['t3', 't1'].forEach((t, i) => b.append(rec(t, i + 1), prices));
    assert.deepEqual(Array.from(a.traceId.subarray(0, 4)), [1, 2, 3, 4], 't1 twice, apart: two indexes');
    const [task] = taskCosts(select([a, b]));
    assert.equal(task.tasks, 3, 't1, t2, t3');
    assert.equal(task.callsWithoutTask, 0);
  });
});
