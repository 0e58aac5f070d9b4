import * as assert from 'node:assert/strict';
import { CallTable, joinStrings, packedStrings, StringPool } from '../../../src/core/callTable';
import { PriceBook } from '../../../src/core/pricing';
import type { CallRecord } from '../../../src/core/types';

describe('StringPool', () => {
  it('adopts the strings of another pool with their ids, only when empty, and builds its lookup in slices or at once', () => {
    const values = ['', 'a', 'b', 'a', 'c'];
    const used = new StringPool();
    used.id('x');
    assert.equal(used.adopt(values), false, 'a pool with strings keeps them');
    const p = new StringPool();
    assert.equal(p.adopt(values), true);
    assert.equal(p.get(2), 'b');
    let steps = 0;
    while (!p.buildLookupStep(2)) steps++;
    assert.equal(steps, 1, "four strings to index ('' never is), two per step");
    assert.equal(p.peek('a'), 1, 'the first id of a repeated string');
    assert.equal(p.id('c'), 4);
    assert.equal(p.id('d'), 5);
    const q = new StringPool();
    q.adopt(['', 'z']);
    assert.equal(q.id('z'), 1, 'the lookup is built at once when needed');
    assert.equal(q.id('y'), 2);
  });

  it('interns many strings through its typed index as a Map would: growth, odd characters, strings held twice', () => {
    const p = new StringPool();
    const ref = new Map<string, number>([['', 0]]);
    const odd = ['é', '✓', '𝄞', '\ud800', 'a\u0000b', ' ', '0', 'constructor', '__proto__'];
    let seed = 7;
    for (let i = 0; i < 60000; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const s = i % 10 === 0 ? odd[seed % odd.length] : `t_${seed % 30000}`;
      const id = p.id(s);
      if (!ref.has(s)) ref.set(s, ref.size);
      assert.equal(id, ref.get(s), s);
    }
    assert.equal(p.values.length, ref.size);
    for (const [s, id] of ref) {
      assert.equal(p.peek(s), id);
      assert.equal(p.get(id), s);
    }
    assert.equal(p.peek('missing'), undefined);
    // A string pushed twice (as the signals worker mirrors a host pool that holds one twice): lookups find the first.
    p.values.push('t_1');
    assert.equal(p.id('t_1'), ref.get('t_1'));
    assert.equal(p.id('new'), ref.size + 1);
  });

  it('gives up its typed index for a Map when strings collide (crafted trace text), and keeps every id', () => {
    const collide = () => 42;
    const check = (p: StringPool, strings: string[], what: string) => {
      const ref = new Map<string, number>();
      strings.forEach((s) => {
        if (!ref.has(s)) ref.set(s, ref.size + 1);
      });
      for (const [s, id] of ref) {
        assert.equal(p.peek(s), id, `${what}: peek ${s}`);
        assert.equal(p.id(s), id, `${what}: id ${s}`);
      }
      const n = p.values.length;
      assert.equal(p.id('one more'), n, what);
      assert.equal(p.peek('never'), undefined, what);
    };
    const strings = Array.from({ length: 300 }, (_, i) => `t_${i}`);
    // Interned one by one.
    const a = new StringPool(collide);
    for (let i = 0; i < 60; i++) a.id(strings[i]);
    assert.equal(a.degraded, false, 'a run of 60 is still probed');
    for (const s of strings) a.id(s);
    assert.equal(a.degraded, true);
    check(a, strings, 'interned');
    // Taken over, then indexed in slices (the switch happens mid-slice).
    const b = new StringPool(collide);
    b.adopt(['', ...strings, 't_5']);
    while (!b.buildLookupStep(7));
    assert.equal(b.degraded, true);
    check(b, strings, 'adopted');
    assert.equal(b.peek('t_5'), 6, 'a string held twice keeps its first id');
    // With the real hash, the same strings stay in the typed index.
    const c = new StringPool();
    for (const s of strings) c.id(s);
    assert.equal(c.degraded, false);
  });

  it('packs strings as one string with lengths, and unpacks them the same, odd characters included', () => {
    const strings = ['', 'é', '\u0000', 'a|b', '\ud800', '🚀'];
    const j = joinStrings(strings);
    assert.deepEqual(packedStrings({ strings: [], joinedStrings: j }), strings);
  });
});

describe('CallTable.fromParts', () => {
  const rec = (n: number, extra: Partial<CallRecord> = {}): CallRecord => ({
    inputTokens: 100 + n, outputTokens: n, cacheReadTokens: 0, cacheWriteTokens: 0, cacheWrite1hTokens: 0, reasoningTokens: 0,
    tsMs: 1763000000000 + n, model: 'gpt-4o', provider: 'openai', traceId: `t${n % 3}`, dims: { feature: `f${n % 2}` }, tags: {}, source: { file: 'x', line: n + 1 }, ...extra,
  });
  const prices = new PriceBook();

  function parts(reserveFirst: number) {
    const a = new CallTable('x', new StringPool());
    a.reserve(reserveFirst);
    for (let n = 0; n < 5; n++) a.append(rec(n), prices);
    const b = new CallTable('x', new StringPool());
    for (let n = 5; n < 9; n++) b.append(rec(n, n === 7 ? { tags: { team: 'core' } } : {}), prices);
    return [a.handOver(), b.handOver()] as const;
  }

  function merge(reserveFirst: number, emptyPool: boolean) {
    const [pa, pb] = parts(reserveFirst);
    const pool = new StringPool();
    if (!emptyPool) pool.id('another file');
    assert.equal(pool.adopt(packedStrings(pa)), emptyPool);
    const idMap = Int32Array.from(packedStrings(pa), (s, i) => (emptyPool ? i : pool.id(s)));
    const mapB = Int32Array.from(packedStrings(pb), (s) => pool.id(s));
    const t = CallTable.fromParts('x', pool, [{ columns: pa, lineOffset: 0, idMap }, { columns: pb, lineOffset: 5, idMap: mapB }]);
    return { t, pa };
  }

  for (const [what, reserve, emptyPool, adopted] of [
    ['adopts a first part with room for every row and its strings adopted (no copy)', 64, true, true],
    ['copies a first part whose strings were interned among others', 64, false, false],
  ] as const) {
    it(what, () => {
      const { t, pa } = merge(reserve, emptyPool);
      assert.equal(t.tsMs.buffer === pa.numeric.tsMs.buffer, adopted);
      assert.equal(t.length, 9);
      assert.deepEqual(Array.from(t.inputTokens.subarray(0, 9)), [100, 101, 102, 103, 104, 105, 106, 107, 108]);
      assert.deepEqual(Array.from(t.line.subarray(0, 9)), [1, 2, 3, 4, 5, 11, 12, 13, 14]);
      assert.deepEqual(Array.from(t.traceId.subarray(0, 9), (id) => t.traces.text(id)), ['t0', 't1', 't2', 't0', 't1', 't2', 't0', 't1', 't2']);
      assert.deepEqual(Array.from(t.dims.feature.subarray(0, 9), (id) => t.pool.get(id)), ['f0', 'f1', 'f0', 'f1', 'f0', 'f1', 'f0', 'f1', 'f0']);
      assert.deepEqual(Array.from(t.tags.get('team')!.subarray(0, 9), (id) => t.pool.get(id)), ['', '', '', '', '', '', '', 'core', '']);
      // Rows appended afterwards land after the parts (and grow the columns when needed).
      for (let n = 9; n < 80; n++) t.append(rec(n), prices);
      assert.equal(t.length, 80);
      assert.equal(t.inputTokens[79], 179);
      assert.equal(t.inputTokens[8], 108);
      assert.equal(t.pool.get(t.dims.feature[79]), 'f1');
    });
  }
});

describe('CallTable capacity', () => {
  it('keeps room for few rows in a small table (thousands of small transcripts must not each hold a thousand rows)', () => {
    const pool = new StringPool();
    const prices = new PriceBook();
    const t = new CallTable('small.jsonl', pool);
    const rec = (i: number): CallRecord => ({
      source: { file: 'small.jsonl', line: i + 1 }, tsMs: Date.parse('2026-11-20T10:00:00Z'), model: 'gpt-4o', provider: 'openai', inputTokens: 10, outputTokens: 1,
      cacheReadTokens: 0, cacheWriteTokens: 0, cacheWrite1hTokens: 0, reasoningTokens: 0, dims: { feature: 'f' }, tags: {}, traceId: `t${i}`,
    } as CallRecord);
    for (let i = 0; i < 20; i++) t.append(rec(i), prices);
    assert.equal(t.length, 20);
    assert.ok(t.tsMs.length <= 64 && t.inputTokens.length <= 64 && t.dims.feature.length <= 64, `room for ${t.tsMs.length} rows`);
    assert.ok(t.traces.ends.length <= 64 && t.traces.bytes.length <= 1024, `trace ids: ${t.traces.ends.length} ends, ${t.traces.bytes.length} bytes`);
    // Growing past it doubles, and the rows are kept.
    for (let i = 20; i < 200; i++) t.append(rec(i), prices);
    assert.equal(t.length, 200);
    assert.deepEqual([t.inputTokens[0], t.inputTokens[199], t.traces.count], [10, 10, 200]);
  });

  it('keeps its fixed columns in one block of shared memory, each in its own bytes, through growth', () => {
    const t = new CallTable('block.jsonl', new StringPool());
    const fixed = () => [
      t.tsMs, t.recordedUsd, t.computedUsd, t.noCacheUsd, t.estimatedUsd, t.latencyMs, t.inputTokens, t.outputTokens, t.cacheReadTokens, t.cacheWriteTokens,
      t.cacheWrite1hTokens, t.reasoningTokens, t.flags, t.line, t.callsiteLine, t.traceId, t.callsiteFile, ...Object.values(t.dims),
    ];
    t.reserve(70);
    const before = fixed();
    assert.equal(new Set(before.map((c) => c.buffer)).size, 1, 'one block');
    assert.ok(before[0].buffer instanceof SharedArrayBuffer);
    // A value of its own in every row of every column (the flags' bytes wrap at 256): a column that overlapped
    // another would lose some.
    const value = (c: number, r: number) => (c === 12 ? (c * 7 + r) & 0xff : c * 1000 + r);
    before.forEach((col, c) => {
      for (let r = 0; r < col.length; r++) col[r] = value(c, r);
    });
    fixed().forEach((col, c) => assert.ok(col.every((v, r) => v === value(c, r)), `column ${c}`));
    t.tagColumn('requestId')[5] = 42;
    t.reserve(1000);
    const after = fixed();
    assert.equal(new Set(after.map((c) => c.buffer)).size, 1, 'one block again');
    assert.notEqual(after[0].buffer, before[0].buffer);
    after.forEach((col, c) => {
      assert.ok(col.length >= 1000);
      for (let r = 0; r < before[c].length; r++) assert.equal(col[r], value(c, r), `column ${c} row ${r}`);
      assert.equal(col[before[c].length], 0, `column ${c}: zero past the old rows`);
    });
    assert.equal(t.tagColumn('requestId')[5], 42, 'a tag column is grown on its own');
    assert.ok(t.tagColumn('requestId').buffer !== after[0].buffer);
    assert.equal(t.columnBuffers().length, 4, 'the block, the tag, and the trace ids\' two');
  });
});
