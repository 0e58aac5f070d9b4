import * as assert from 'node:assert/strict';
import { hashString, joinStrings, packedStrings, StringPool } from '../../../src/core/callTable';
import { hashJoined, mergeJoined, StringMerger, TooManyCollisions } from '../../../src/core/stringMerge';

/** Merges parts of strings as parallelLoad does: the first adopted, the others merged; returns each part's id map. */
function mergeParts(parts: string[][], hash: (j: { text: string; lengths: Uint32Array }) => Int32Array, slice = 3): { pool: StringPool; maps: Int32Array[] } {
  const pool = new StringPool();
  const first = [...parts[0]];
  assert.ok(pool.adopt(first));
  const merger = new StringMerger(pool, hash(joinStrings(first)), parts.reduce((a, p) => a + p.length, 0));
  const maps = [Int32Array.from(first, (_, i) => i)];
  for (const part of parts.slice(1)) {
    const j = joinStrings(part);
    const map = new Int32Array(part.length);
    let at = 0;
    for (let i = 0; i < part.length; i += slice) at = merger.merge(j, hash(j), map, i, Math.min(part.length, i + slice), at);
    maps.push(map);
  }
  return { pool, maps };
}

describe('StringMerger: strings of parts read in parallel, merged by hash without a lookup map', () => {
  const parts = [
    ['', 'extraction', 't_1', 't_2', 'gpt-4o', 'é✓𝄞'],
    ['', 't_2', 't_3', 'extraction', '', 'summarization', 'é✓𝄞', 't_30'],
    ['', 't_3', 't_4', 'gpt-4o', 'summarization', 'classification'],
  ];
  for (const [what, hash] of [
    ['real hashes', hashJoined],
    // Every string colliding: found only by comparing the strings themselves.
    ['every hash equal', (j: { lengths: Uint32Array }) => new Int32Array(j.lengths.length)],
  ] as const) {
    it(`gives each distinct string one id, as interning does (${what})`, () => {
      const { pool, maps } = mergeParts(parts, hash);
      const ref = new StringPool();
      const all = new Set(parts.flat());
      assert.equal(pool.values.length, all.size, 'no string twice');
      parts.forEach((part, k) => part.forEach((s, i) => {
        assert.equal(pool.get(maps[k][i]), s, `part ${k} string ${i}`);
        ref.id(s);
      }));
      assert.deepEqual([...pool.values].sort(), [...ref.values].sort());
      // The lookup map, built afterwards, knows every merged string with its id, and new strings get new ids.
      for (const s of all) assert.equal(pool.peek(s), pool.values.indexOf(s));
      assert.equal(pool.id('t_999'), all.size);
    });
  }

  it('hashes UTF-16 code units (FNV-1a) and refuses a capacity below the strings merged', () => {
    const h = hashJoined(joinStrings(['', 'a', 'ab', 'a']));
    assert.equal(h[1], h[3]);
    assert.notEqual(h[1], h[2]);
    assert.equal(h[0], 0x811c9dc5 | 0);
    const pool = new StringPool();
    const held = Array.from({ length: 20 }, (_, i) => (i ? `s${i}` : ''));
    pool.adopt(held);
    const m = new StringMerger(pool, hashJoined(joinStrings(held)), 20);
    const j = joinStrings(['b', 'c', 'd']);
    assert.throws(() => m.merge(j, hashJoined(j), new Int32Array(3), 0, 3, 0), /capacity/);
    // Strings interned by anything else between two slices of a merge would be missed: refused, not duplicated.
    const q = new StringPool();
    q.adopt(['', 'a']);
    const mq = new StringMerger(q, hashJoined(joinStrings(['', 'a'])), 10);
    q.id('b');
    assert.throws(() => mq.merge(j, hashJoined(j), new Int32Array(3), 0, 3, 0), /from elsewhere/);
  });

  it('gives up (TooManyCollisions) rather than probe a long run of strings sharing a hash', () => {
    const many = ['', ...Array.from({ length: 100 }, (_, i) => `s${i}`)];
    const zeros = (j: { lengths: Uint32Array }) => new Int32Array(j.lengths.length);
    const pool = new StringPool();
    pool.adopt([...many]);
    assert.throws(() => new StringMerger(pool, zeros(joinStrings(many)), 300), TooManyCollisions);
    const few = ['', 'a', 'b'];
    const p2 = new StringPool();
    p2.adopt([...few]);
    const m = new StringMerger(p2, zeros(joinStrings(few)), 300);
    const j = joinStrings(many.slice(1));
    assert.throws(() => m.merge(j, zeros(j), new Int32Array(100), 0, 100, 0), TooManyCollisions);
    // What it merged before giving up is in the pool once; the rest is interned through the pool.
    for (const s of many.slice(1)) p2.id(s);
    assert.equal(new Set(p2.values).size, p2.values.length, 'no string twice');
    assert.equal(p2.values.length, 103);
  });

  it('builds the lookup map between turns', async () => {
    const pool = new StringPool();
    const values = [''];
    for (let i = 0; i < 1000; i++) values.push(`s${i}`);
    pool.adopt(values);
    let turns = 0;
    await pool.buildLookupInTurns(async () => void turns++, 100);
    assert.equal(turns, 9, '1,000 strings, 100 per turn');
    assert.equal(pool.peek('s999'), 1000);
  });
});

describe('mergeJoined: strings of parts merged in joined form', () => {
  const part = (strings: string[]) => {
    const j = joinStrings(['', ...strings]);
    return { ...j, hashes: hashJoined(j) };
  };

  it('gives the ids and the joined strings a pool gives, adopting the first part and merging the others in order', () => {
    // Random parts over a small alphabet: many strings shared between parts, runs of new ones, unicode, empty parts.
    let seed = 7;
    const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    for (let round = 0; round < 40; round++) {
      const parts: string[][] = [];
      for (let p = 0, n = 1 + rnd(5); p < n; p++) {
        const set = new Set<string>();
        for (let k = 0, m = rnd(60); k < m; k++) set.add(['t', 'u', 'é', '🚀', 'model-'][rnd(5)] + rnd(rnd(2) ? 30 : 3000));
        parts.push([...set]);
      }
      const pool = new StringPool();
      const want = parts.map((strings) => Int32Array.from(['', ...strings], (s) => pool.id(s)));
      const { joined, idMaps } = mergeJoined(parts.map(part));
      assert.deepEqual(idMaps, want);
      assert.deepEqual(packedStrings({ strings: [], joinedStrings: joined }), pool.values);
    }
  });

  it('gives up on strings crafted to share a hash, for the caller to merge through a pool', () => {
    const fnv = (x: string) => hashString(x);
    const same: string[] = [];
    for (let i = 0; same.length < 300; i++) if ((fnv(`t${i}`) & 0xfff) === 0x123) same.push(`t${i}`);
    assert.throws(() => mergeJoined([part(same.slice(0, 200)), part(same.slice(100))]), TooManyCollisions);
  });
});
