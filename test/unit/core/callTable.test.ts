import * as assert from 'node:assert/strict';
import { joinStrings, packedStrings, StringPool } from '../../../src/core/callTable';

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
    assert.deepEqual(packedStrings({ length: 0, numeric: {}, ids: {}, strings: [], joinedStrings: j }), strings);
  });
});
