import * as assert from 'node:assert/strict';
import { matchRecordedPath, PathSuffixIndex } from '../../../src/core/callSiteMatch';

describe('matchRecordedPath', () => {
  const files = [
    '/home/me/proj/src/app.py',
    '/home/me/proj/tests/app.py',
    '/home/me/proj/src/api/handlers.py',
    '/home/me/proj/web/src/review.ts',
    '/home/me/proj/lib/utils.py',
    '/home/me/proj/pkg/a/utils.py',
  ];

  it('maps a container path to the workspace file with the longest common suffix', () => {
    assert.equal(matchRecordedPath('/srv/app/src/app.py', files), '/home/me/proj/src/app.py');
    assert.equal(matchRecordedPath('/srv/app/tests/app.py', files), '/home/me/proj/tests/app.py');
    assert.equal(matchRecordedPath('/build/api/handlers.py', files), '/home/me/proj/src/api/handlers.py');
  });

  it('matches on the file name alone when it is unique', () => {
    assert.equal(matchRecordedPath('/elsewhere/handlers.py', files), '/home/me/proj/src/api/handlers.py');
    assert.equal(matchRecordedPath('review.ts', files), '/home/me/proj/web/src/review.ts');
  });

  it('returns undefined for a tie and for a file name not in the workspace', () => {
    assert.equal(matchRecordedPath('/srv/app.py', files), undefined);
    assert.equal(matchRecordedPath('/srv/x/utils.py', files), undefined);
    assert.equal(matchRecordedPath('/srv/src/missing.py', files), undefined);
    assert.equal(matchRecordedPath('/srv/src/', files), undefined);
  });

  it('compares whole segments, not characters', () => {
    assert.equal(matchRecordedPath('/srv/xsrc/app.py', files), undefined);
    assert.equal(matchRecordedPath('/srv/myapp.py', files), undefined);
  });

  it('handles backslashes, ./ prefixes, repeated separators and file:// URIs on both sides', () => {
    assert.equal(matchRecordedPath('C:\\build\\proj\\src\\app.py', files), '/home/me/proj/src/app.py');
    assert.equal(matchRecordedPath('./src/app.py', files), '/home/me/proj/src/app.py');
    assert.equal(matchRecordedPath('src//./app.py', files), '/home/me/proj/src/app.py');
    assert.equal(matchRecordedPath('file:///srv/web/src/review.ts', files), '/home/me/proj/web/src/review.ts');
    const win = ['C:\\work\\proj\\src\\app.py', 'C:\\work\\proj\\tests\\app.py'];
    assert.equal(matchRecordedPath('/srv/src/app.py', win), 'C:\\work\\proj\\src\\app.py');
  });

  it('prefers an exact-case match and falls back to ignoring case', () => {
    const cased = ['/w/src/App.py', '/w/lib/app.py'];
    assert.equal(matchRecordedPath('/srv/src/App.py', cased), '/w/src/App.py');
    assert.equal(matchRecordedPath('/srv/lib/app.py', cased), '/w/lib/app.py');
    assert.equal(matchRecordedPath('/srv/SRC/APP.PY', cased), '/w/src/App.py');
    assert.equal(matchRecordedPath('/srv/other/APP.PY', cased), undefined, 'a tie ignoring case is still a tie');
    // Exact case on the name beats a longer match ignoring case.
    assert.equal(matchRecordedPath('/srv/lib/App.py', cased), '/w/src/App.py');
  });

  it('lets an identical path win over a longer path with the same suffix', () => {
    assert.equal(matchRecordedPath('src/app.py', ['src/app.py', 'vendor/src/app.py']), 'src/app.py');
  });

  it('never throws on bad input', () => {
    assert.equal(matchRecordedPath('', files), undefined);
    assert.equal(matchRecordedPath(undefined as never, files), undefined);
    assert.equal(matchRecordedPath('/a/app.py', undefined as never), undefined);
    assert.equal(matchRecordedPath('/a/app.py', [null as never, '', 'app.py']), 'app.py');
    assert.equal(matchRecordedPath('file:///a/%E0%A4%A/app.py', ['x/app.py']), 'x/app.py');
  });
});

describe('PathSuffixIndex', () => {
  it('answers many lookups from one index, the same as matchRecordedPath', () => {
    const files: string[] = [];
    for (let i = 0; i < 2000; i++) files.push(`/repo/pkg${i % 40}/mod${i}/handler.py`, `/repo/pkg${i % 40}/mod${i}/util_${i}.py`);
    const index = new PathSuffixIndex(files);
    assert.equal(index.match('/srv/mod7/handler.py'), '/repo/pkg7/mod7/handler.py');
    assert.equal(index.match('/srv/util_1234.py'), '/repo/pkg34/mod1234/util_1234.py');
    assert.equal(index.match('/srv/handler.py'), undefined);
    for (const r of ['/x/pkg3/mod3/handler.py', '/x/mod99/util_99.py', 'handler.py']) assert.equal(index.match(r), matchRecordedPath(r, files));
  });
});
