import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandInputs, globBase, globFiles, globFilesAsync, isExcluded } from '../../../src/node/files';

describe('expandInputs', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lcl-files-'));
    mkdirSync(join(dir, 'elsewhere', 'run-7'), { recursive: true });
    mkdirSync(join(dir, 'traces'));
    writeFileSync(join(dir, 'elsewhere', 'a.jsonl'), '{}\n');
    writeFileSync(join(dir, 'elsewhere', 'run-7', 'b.jsonl'), '{}\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('follows a symlink to a file and one to a folder in a folder argument, and stops at a link back up the tree', () => {
    symlinkSync(join(dir, 'elsewhere', 'a.jsonl'), join(dir, 'traces', 'linked.jsonl'));
    symlinkSync(join(dir, 'elsewhere', 'run-7'), join(dir, 'traces', 'run'));
    symlinkSync(dir, join(dir, 'traces', 'loop'));
    symlinkSync(join(dir, 'traces', 'self'), join(dir, 'traces', 'self'));
    symlinkSync(join(dir, 'missing.jsonl'), join(dir, 'traces', 'dangling.jsonl'));
    const r = expandInputs(['traces'], dir);
    // The loop link also leads to elsewhere/ (traces/loop/elsewhere/...): each real file is listed once, under its
    // shortest name, and the walk does not go round the loop again.
    assert.deepEqual(r.files, [join(dir, 'traces', 'linked.jsonl'), join(dir, 'traces', 'run', 'b.jsonl')]);
    assert.deepEqual(r.errors, []);
  });

  it('finds a symlinked file in a folder with nothing else in it, and through a glob', () => {
    symlinkSync(join(dir, 'elsewhere', 'a.jsonl'), join(dir, 'traces', 'linked.jsonl'));
    assert.deepEqual(expandInputs(['traces'], dir), { files: [join(dir, 'traces', 'linked.jsonl')], errors: [] });
    assert.deepEqual(expandInputs(['traces/*.jsonl'], dir), { files: [join(dir, 'traces', 'linked.jsonl')], errors: [] });
  });

  it('lists a file reached by a link and by its own path once, under its own path', () => {
    symlinkSync(join(dir, 'elsewhere', 'a.jsonl'), join(dir, 'elsewhere', 'latest.jsonl'));
    assert.deepEqual(expandInputs(['elsewhere/*.jsonl'], dir).files, [join(dir, 'elsewhere', 'a.jsonl')]);
  });
});

describe('isExcluded', () => {
  const ws = join('/', 'ws');
  it('matches folder-relative paths against the exclude globs, like the workspace search', () => {
    const globs = ['**/node_modules/**', 'traces/old/**', '**/*.tmp.jsonl'];
    assert.equal(isExcluded(join(ws, 'node_modules', 'x', 'traces', 'a.jsonl'), ws, globs), true);
    assert.equal(isExcluded(join(ws, 'pkg', 'node_modules', 'traces', 'a.jsonl'), ws, globs), true);
    assert.equal(isExcluded(join(ws, 'traces', 'old', 'a.jsonl'), ws, globs), true);
    assert.equal(isExcluded(join(ws, 'traces', 'run.tmp.jsonl'), ws, globs), true);
    assert.equal(isExcluded(join(ws, 'traces', 'a.jsonl'), ws, globs), false);
    assert.equal(isExcluded(join(ws, 'sub', 'traces', 'old', 'a.jsonl'), ws, globs), false);
  });

  it('never excludes a file outside the folder, or with no globs', () => {
    assert.equal(isExcluded(join('/', 'other', 'node_modules', 'a.jsonl'), ws, ['**/node_modules/**']), false);
    assert.equal(isExcluded(join(ws, 'node_modules', 'a.jsonl'), ws, []), false);
  });
});

describe('globFiles (an absolute glob in llmCostLens.traceFiles, as for Claude Code transcripts)', () => {
  it('finds the files an absolute glob matches, walking from the folder before its glob syntax', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lcl-glob-'));
    try {
      const projects = join(dir, '.claude', 'projects');
      mkdirSync(join(projects, '-home-me-app'), { recursive: true });
      mkdirSync(join(projects, '-home-me-other'), { recursive: true });
      writeFileSync(join(projects, '-home-me-app', 's1.jsonl'), '{}\n');
      writeFileSync(join(projects, '-home-me-app', 's2.jsonl'), '{}\n');
      writeFileSync(join(projects, '-home-me-app', 'notes.txt'), 'x');
      writeFileSync(join(projects, '-home-me-other', 's3.jsonl'), '{}\n');
      assert.deepEqual(globBase(`${projects}/-home-me-app/*.jsonl`, '/'), { base: join(projects, '-home-me-app'), rest: '*.jsonl' });
      assert.deepEqual(globFiles(`${projects}/-home-me-app/*.jsonl`, '/').sort(), [join(projects, '-home-me-app', 's1.jsonl'), join(projects, '-home-me-app', 's2.jsonl')]);
      assert.deepEqual(globFiles(`${projects}/**/*.jsonl`, '/').map((p) => p.slice(projects.length + 1)).sort(), ['-home-me-app/s1.jsonl', '-home-me-app/s2.jsonl', '-home-me-other/s3.jsonl']);
      assert.deepEqual(globFiles(`${projects}/-home-me-none/*.jsonl`, '/'), [], 'a folder that is not there: none');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('globFilesAsync (the extension host\'s walk of an absolute glob)', () => {
  it('finds what globFiles finds, in slices of the event loop, each real file once, leaving out excluded paths', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lcl-glob-async-'));
    try {
      const project = join(dir, 'projects', '-home-me-app');
      mkdirSync(join(project, 'sess-1', 'subagents'), { recursive: true });
      mkdirSync(join(project, 'node_modules'), { recursive: true });
      writeFileSync(join(project, 's1.jsonl'), '{}\n');
      writeFileSync(join(project, 'sess-1', 'subagents', 'agent-a.jsonl'), '{}\n');
      writeFileSync(join(project, 'node_modules', 'x.jsonl'), '{}\n');
      mkdirSync(join(project, 'skipped'));
      writeFileSync(join(project, 'skipped', 'y.jsonl'), '{}\n');
      symlinkSync(join(project, 'sess-1'), join(project, 'link-to-sess-1'));
      const glob = `${join(dir, 'projects')}/**/*.jsonl`;
      // Counts turns of the event loop by an immediate that queues itself again: a walk that never yields resolves in
      // microtasks before the first immediate runs, so this stays 0 (a 0 ms interval timer needs 1 ms to pass, which a
      // quick machine's walk of these few folders may not take: that made this test flaky in CI).
      let turns = 0;
      let walking = true;
      const turn = () => { if (walking) { turns++; setImmediate(turn); } };
      setImmediate(turn);
      const got = await globFilesAsync(glob, '/', (p) => isExcluded(p, join(dir, 'projects'), ['**/skipped/**']), 0);
      walking = false;
      const rel = (ps: string[]) => ps.map((p) => p.slice(dir.length + 1)).sort();
      // The subagent transcript once (not again through the link), node_modules never walked, skipped/ excluded.
      assert.deepEqual(rel(got), ['projects/-home-me-app/s1.jsonl', 'projects/-home-me-app/sess-1/subagents/agent-a.jsonl']);
      assert.ok(turns > 0, 'the event loop turned during the walk');
      // The synchronous walk (the CLI's) finds the same files, the linked one under both names.
      assert.deepEqual(rel(globFiles(glob, '/').filter((p) => !p.includes('skipped'))), ['projects/-home-me-app/link-to-sess-1/subagents/agent-a.jsonl', ...rel(got)].sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
