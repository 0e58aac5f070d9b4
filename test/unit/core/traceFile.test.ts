import * as assert from 'node:assert/strict';
import { StringPool } from '../../../src/core/callTable';
import { type FileFingerprint, mustReload, newTraceFileState } from '../../../src/core/traceFile';

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
