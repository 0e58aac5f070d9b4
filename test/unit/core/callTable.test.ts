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
    assert.equal(steps, 2);
    assert.equal(p.peek('a'), 1, 'the first id of a repeated string');
    assert.equal(p.id('c'), 4);
    assert.equal(p.id('d'), 5);
    const q = new StringPool();
    q.adopt(['', 'z']);
    assert.equal(q.id('z'), 1, 'the lookup is built at once when needed');
    assert.equal(q.id('y'), 2);
  });

  it('packs strings as one string with lengths, and unpacks them the same, odd characters included', () => {
    const strings = ['', 'é', '\u0000', 'a|b', '\ud800', '🚀'];
    const j = joinStrings(strings);
    assert.deepEqual(packedStrings({ length: 0, numeric: {}, ids: {}, strings: [], joinedStrings: j }), strings);
  });
});
