import * as assert from 'node:assert/strict';
import { StringPool } from '../../../src/core/callTable';
import { PriceBook } from '../../../src/core/pricing';
import { type FileFingerprint, ingestBytes, mustReload, newTraceFileState, packState, unpackState } from '../../../src/core/traceFile';

describe('mustReload', () => {
  const stateAt = (offset: number, fingerprint: FileFingerprint) => {
    const s = newTraceFileState('t.jsonl', new StringPool());
    s.position = { offset, line: 3 };
    s.fingerprint = fingerprint;
    return s;
  };
  const read: FileFingerprint = { size: 200, ino: 7, head: 'aa', tail: 'bbcc', tailEnd: 200 };

  it('reads on (no reload) when the file grew and the bytes before the offset are the same', () => {
    assert.equal(mustReload(stateAt(200, read), { size: 300, ino: 7, head: 'aa', tail: 'bbcc', tailEnd: 200 }), false);
  });

  it('reloads when the bytes before the offset changed though the head, inode and growth say append', () => {
    assert.equal(mustReload(stateAt(200, read), { size: 300, ino: 7, head: 'aa', tail: 'bbcd', tailEnd: 200 }), true);
  });

  it('compares the samples only when both end at the read offset, and falls back to the head without them', () => {
    assert.equal(mustReload(stateAt(200, read), { size: 300, ino: 7, head: 'aa', tail: 'ffff', tailEnd: 150 }), false);
    assert.equal(mustReload(stateAt(200, { size: 200, ino: 7, head: 'aa' }), { size: 300, ino: 7, head: 'aa', tail: 'ffff', tailEnd: 200 }), false);
    assert.equal(mustReload(stateAt(200, read), { size: 300, ino: 7, head: 'ab', tail: 'bbcc', tailEnd: 200 }), true);
    assert.equal(mustReload(stateAt(200, read), { size: 100, ino: 7, head: 'aa' }), true);
  });
});

describe('ingestBytes: a file that is not text', () => {
  const elf = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, ...Array.from({ length: 400 }, (_, i) => (i % 7 === 0 ? 10 : 65 + (i % 26)))]);

  for (const fast of [false, true]) {
    it(`reports it once (line 1) and skips its bytes, the following chunks too (fast=${fast})`, () => {
      const state = newTraceFileState('x.jsonl', new StringPool());
      const a = ingestBytes(state, elf.subarray(0, 200), false, new PriceBook(), { fast });
      const b = ingestBytes(state, elf.subarray(200), true, new PriceBook(), { fast });
      assert.deepEqual(state.problems, [{ file: 'x.jsonl', line: 1, message: 'Not a text file: looks like an ELF executable (magic bytes 7F 45 4C 46); not read', severity: 'error' }]);
      assert.equal(a.problems.length, 1);
      assert.equal(b.problems.length, 0);
      assert.equal(a.consumed + b.consumed, elf.length);
      assert.equal(state.table.length, 0);
      assert.equal(state.notText, state.problems[0].message);
    });
  }

  it('looks only at the bytes from offset 0: a NUL further on is a bad line as before', () => {
    const state = newTraceFileState('t.jsonl', new StringPool());
    ingestBytes(state, new TextEncoder().encode('{"model":"gpt-4o","input_tokens":1,"output_tokens":1}\n'), false, new PriceBook());
    ingestBytes(state, new Uint8Array([0x41, 0, 0x42, 10]), true, new PriceBook());
    assert.equal(state.notText, undefined);
    assert.equal(state.table.length, 1);
    assert.deepEqual(state.problems.map((p) => p.line), [2]);
  });

  it('keeps the mark through packState / unpackState', () => {
    const state = newTraceFileState('x.jsonl', new StringPool());
    ingestBytes(state, elf, true, new PriceBook());
    const back = unpackState(structuredClone(packState(state).packed), new StringPool());
    assert.equal(back.notText, state.notText);
    ingestBytes(back, new TextEncoder().encode('{"model":"gpt-4o","input_tokens":1,"output_tokens":1}\n'), true, new PriceBook());
    assert.equal(back.table.length, 0);
    assert.equal(back.problems.length, 1);
  });
});
