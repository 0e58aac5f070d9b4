import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mainCli, runCli } from '../../../src/cli/main';
import { wantsRangeWorkers } from '../../../src/cli/start';
import { hugePagesWouldHelp } from '../../../src/node/hugePages';
import { assertUsd, fixture, ROOT } from '../helpers';

function run(args: string[], cwd = ROOT) {
  let out = '';
  let err = '';
  const code = runCli(args, { cwd, out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe('llm-cost-lens CLI', () => {
  it('reads big files on several threads first, with the same output as the single reader', async function () {
    this.timeout(20000);
    const big = fixture('workspace', 'app.jsonl');
    for (const args of [['report', big, '--by', 'feature,model', '--format', 'json'], ['report', fixture('shapes'), big], ['outliers', big, '--format', 'json'], ['report', big, '--mapping', 'nope.json']]) {
      const one = run(args);
      let out = '';
      let err = '';
      const code = await mainCli(args, { cwd: ROOT, out: (s) => (out += s), err: (s) => (err += s) }, { parallelBytes: 0 });
      assert.equal(code, one.code, args.join(' '));
      assert.equal(out, one.out, args.join(' '));
      assert.equal(err, one.err, args.join(' '));
    }
  });

  it('starts range workers first thing only for a file read in byte ranges, and exits the same when none is read so', function () {
    this.timeout(40000);
    const file = join(ROOT, 'samples', 'demo', 'traces', 'app.jsonl');
    const small = { ...process.env, LLM_COST_LENS_THREADS_BYTES: '1' };
    const saved = process.env.LLM_COST_LENS_THREADS_BYTES;
    try {
      process.env.LLM_COST_LENS_THREADS_BYTES = '1';
      assert.equal(wantsRangeWorkers(['report', file, '--by', 'feature']), true);
      assert.equal(wantsRangeWorkers(['report', 'samples/demo/traces/app.jsonl'], ROOT), true, 'a path relative to the folder');
      assert.equal(wantsRangeWorkers(['report', file, '--mapping', 'm.json']), false, 'a mapping: one reader');
      assert.equal(wantsRangeWorkers(['report', join(ROOT, 'samples'), '--prices', 'x.json']), false, 'folders and options are not files');
      assert.equal(wantsRangeWorkers(['--help']), false);
      process.env.LLM_COST_LENS_THREADS_BYTES = String(10 * 1024 * 1024 * 1024);
      assert.equal(wantsRangeWorkers(['report', file]), false, 'below the threads size');
    } finally {
      if (saved === undefined) delete process.env.LLM_COST_LENS_THREADS_BYTES;
      else process.env.LLM_COST_LENS_THREADS_BYTES = saved;
    }
    // The built CLI with a worker started ahead that no read takes (the file is below the size the CLI reads ahead):
    // it still exits, with the same output.
    const args = [join(ROOT, 'dist', 'cli.js'), 'report', file, '--by', 'feature', '--format', 'json'];
    const plain = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 30000 });
    const ahead = spawnSync(process.execPath, args, { encoding: 'utf8', env: small, timeout: 30000 });
    assert.equal(ahead.status, 0, ahead.stderr);
    assert.equal(ahead.stdout, plain.stdout);
  });

  it('runs a big file\'s command again in a child asking glibc for huge pages where that helps, with the same output and exit code', function () {
    this.timeout(60000);
    if (!hugePagesWouldHelp({ ...process.env, GLIBC_TUNABLES: undefined })) this.skip(); // not Linux, glibc < 2.35, or THP not `madvise`
    const dir = mkdtempSync(join(tmpdir(), 'lcl-huge-'));
    try {
      // A module every process of the command loads first (--require is passed on to the child): it says its pid and tunables.
      const probe = join(dir, 'probe.js');
      const said = join(dir, 'said.jsonl');
      writeFileSync(probe, `require('fs').appendFileSync(${JSON.stringify(said)}, JSON.stringify({ pid: process.pid, tunables: process.env.GLIBC_TUNABLES ?? null }) + '\\n');`);
      const file = join(ROOT, 'samples', 'demo', 'traces', 'app.jsonl');
      const cli = (args: string[], tunables?: string, module = probe) => {
        rmSync(said, { force: true });
        const env = { ...process.env, LLM_COST_LENS_THREADS_BYTES: '1', GLIBC_TUNABLES: tunables };
        if (tunables === undefined) delete env.GLIBC_TUNABLES;
        const r = spawnSync(process.execPath, ['--require', module, join(ROOT, 'dist', 'cli.js'), ...args], { encoding: 'utf8', env, timeout: 30000 });
        // (Its worker threads load the module too: one entry per process.)
        const all = readFileSync(said, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { pid: number; tunables: string | null });
        const procs = all.filter((p, k) => all.findIndex((q) => q.pid === p.pid) === k);
        return { ...r, procs };
      };
      const args = ['report', file, '--by', 'feature', '--format', 'json'];
      const again = cli(args);
      assert.equal(again.status, 0, again.stderr);
      assert.deepEqual(again.procs.map((p) => p.tunables), [null, 'glibc.malloc.hugetlb=1'], 'run again, asking for huge pages');
      assert.notEqual(again.procs[0].pid, again.procs[1].pid);
      const here = cli(args, 'glibc.malloc.hugetlb=0');
      assert.deepEqual(here.procs.map((p) => p.tunables), ['glibc.malloc.hugetlb=0'], 'the user\'s own setting wins: not run again');
      assert.equal(again.stdout, here.stdout);
      assert.ok(JSON.parse(again.stdout).groups.length > 0);
      // Another tunable of the user's is kept; an error's exit code and message come through once.
      const bad = cli(['report', file, '--format', 'nope'], 'glibc.malloc.arena_max=2');
      assert.deepEqual(bad.procs.map((p) => p.tunables), ['glibc.malloc.arena_max=2', 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1']);
      assert.equal(bad.status, 2);
      assert.equal(bad.stderr, 'llm-cost-lens: --format expects table, json, csv or markdown (md), got "nope"\n');
      // A C library that leaves the tunables out of a child's environment (glibc does for a program with raised
      // privileges): the child is marked all the same, and does not run again itself.
      const dropping = join(dir, 'dropping.js');
      writeFileSync(dropping, `require(${JSON.stringify(probe)}); delete process.env.GLIBC_TUNABLES;`);
      const marked = cli(args, undefined, dropping);
      assert.equal(marked.status, 0, marked.stderr);
      assert.equal(marked.procs.length, 2, JSON.stringify(marked.procs));
      assert.equal(marked.stdout, here.stdout);
      // A small file (no range workers) is read here.
      rmSync(said, { force: true });
      const small = spawnSync(process.execPath, ['--require', probe, join(ROOT, 'dist', 'cli.js'), ...args], { encoding: 'utf8', env: { ...process.env, GLIBC_TUNABLES: '' }, timeout: 30000 });
      assert.equal(small.status, 0, small.stderr);
      assert.deepEqual(new Set(readFileSync(said, 'utf8').trim().split('\n').map((l) => JSON.parse(l).pid)), new Set([small.pid]), 'no other process for a small file');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('passes a signal sent to the process that ran again on to its child, and exits as the child did', async function () {
    this.timeout(60000);
    if (!hugePagesWouldHelp({ ...process.env, GLIBC_TUNABLES: undefined })) this.skip();
    const dir = mkdtempSync(join(tmpdir(), 'lcl-huge-sig-'));
    try {
      // The child (the process asking for huge pages) says its pid, then waits 20 s before going on.
      const said = join(dir, 'child.pid');
      const probe = join(dir, 'probe.js');
      writeFileSync(probe, `if ((process.env.GLIBC_TUNABLES ?? '').includes('hugetlb=1') && require('worker_threads').isMainThread) { require('fs').writeFileSync(${JSON.stringify(said)}, String(process.pid)); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20000); }`);
      const env: NodeJS.ProcessEnv = { ...process.env, LLM_COST_LENS_THREADS_BYTES: '1' };
      delete env.GLIBC_TUNABLES;
      const parent = spawn(process.execPath, ['--require', probe, join(ROOT, 'dist', 'cli.js'), 'report', join(ROOT, 'samples', 'demo', 'traces', 'app.jsonl')], { env, stdio: 'ignore' });
      const exited = new Promise<number | null>((r) => parent.on('exit', (code) => r(code)));
      const t0 = Date.now();
      while (!existsSync(said)) {
        assert.ok(Date.now() - t0 < 20000, 'the child never started');
        await new Promise((r) => setTimeout(r, 50));
      }
      const child = Number(readFileSync(said, 'utf8'));
      assert.notEqual(child, parent.pid);
      parent.kill('SIGTERM');
      assert.equal(await exited, 128 + 15, 'the exit code of a child ended by SIGTERM');
      assert.ok(Date.now() - t0 < 15000, 'the parent did not wait for the child to end by itself');
      const alive = () => {
        try {
          process.kill(child, 0);
          return true;
        } catch {
          return false;
        }
      };
      assert.equal(alive(), false, 'the child is gone');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says the price catalogue is missing (a broken install) rather than report every model unpriced', function () {
    this.timeout(30000);
    // The built CLI alone in a folder, without dist/priceCatalogue.js beside it.
    const dir = mkdtempSync(join(tmpdir(), 'lcl-nocat-'));
    try {
      writeFileSync(join(dir, 'cli.js'), readFileSync(join(ROOT, 'dist', 'cli.js')));
      const r = spawnSync(process.execPath, [join(dir, 'cli.js'), 'report', join(ROOT, 'samples', 'demo', 'traces', 'app.jsonl')], { encoding: 'utf8', timeout: 30000 });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /the price catalogue could not be loaded \(Cannot find module '\.\/priceCatalogue\.js'/);
      assert.doesNotMatch(r.stdout, /Unpriced/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads a pipe (report /dev/stdin) to its end, as it reads the same bytes from a file', () => {
    const file = join(ROOT, 'samples', 'demo', 'traces', 'app.jsonl');
    const args = (f: string) => [join(ROOT, 'dist', 'cli.js'), 'report', f, '--by', 'feature', '--format', 'json'];
    const fromFile = spawnSync(process.execPath, args(file), { encoding: 'utf8' });
    const fromPipe = spawnSync(process.execPath, args('/dev/stdin'), { encoding: 'utf8', input: readFileSync(file) });
    assert.equal(fromPipe.status, 0, fromPipe.stderr);
    const a = JSON.parse(fromFile.stdout);
    const b = JSON.parse(fromPipe.stdout);
    assert.equal(a.total.calls, 3000);
    assert.deepEqual({ ...b, files: [] }, { ...a, files: [] });
  });

  it('stops quietly, with exit code 0, when the reader of its output goes away (`report … | head -1`)', () => {
    const cli = join(ROOT, 'dist', 'cli.js');
    const demo = join(ROOT, 'samples', 'demo', 'traces');
    // Output larger than a pipe's buffer, cut after 10 bytes.
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${cli}" report "${demo}" --by feature,user,model --format json | head -c 10 >/dev/null; echo "\${PIPESTATUS[0]}"`], { encoding: 'utf8', timeout: 30000 });
    assert.equal(r.stdout.trim(), '0', r.stderr);
    assert.doesNotMatch(r.stderr, /EPIPE|Error/);
  });

  it('reads standard input for `-`, beside files, and names it stdin', () => {
    const file = join(ROOT, 'samples', 'demo', 'traces', 'app.jsonl');
    const args = (...f: string[]) => [join(ROOT, 'dist', 'cli.js'), 'report', ...f, '--format', 'json'];
    const fromFile = spawnSync(process.execPath, args(file), { encoding: 'utf8', timeout: 30000 });
    const fromDash = spawnSync(process.execPath, args('-'), { encoding: 'utf8', input: readFileSync(file), timeout: 30000 });
    assert.equal(fromDash.status, 0, fromDash.stderr);
    const a = JSON.parse(fromFile.stdout);
    const b = JSON.parse(fromDash.stdout);
    assert.deepEqual({ ...b, files: [] }, { ...a, files: [] });
    assert.deepEqual(b.files.map((f: { file: string }) => f.file), ['stdin']);
    const both = spawnSync(process.execPath, args('-', fixture('shapes', 'flat.jsonl')), { encoding: 'utf8', input: readFileSync(file), timeout: 30000 });
    assert.equal(both.status, 0, both.stderr);
    assert.equal(JSON.parse(both.stdout).total.calls, a.total.calls + JSON.parse(run(['report', fixture('shapes', 'flat.jsonl'), '--format', 'json']).out).total.calls);
  });

  it('warns when a grouping dimension is neither a known one nor a tag key of any call (a typo), naming the tag keys there are', () => {
    const r = run(['report', fixture('shapes', 'metadata.jsonl'), '--by', 'featuer']);
    assert.equal(r.code, 0);
    assert.match(r.err, /^llm-cost-lens: warning: no call has a "featuer" tag, so every call is unattributed by it \(dimensions: feature, user, agent, template, tool, provider, model(; tag keys in these files: [^)]+)?\)\n$/);
    assert.equal(run(['report', fixture('shapes', 'metadata.jsonl'), '--by', 'feature,model']).err, '');
    // A tag named with its prefix is a tag key too.
    assert.equal(run(['report', fixture('shapes', 'metadata.jsonl'), '--by', 'tag:team']).err, '');
  });

  it('prints a JSON report with the documented contract', () => {
    const r = run(['report', fixture('shapes', 'metadata.jsonl'), '--by', 'feature,user', '--format', 'json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.version, 1);
    assert.equal(j.total.calls, 3);
    assertUsd(j.total.costUsd, 0.05917);
    assert.deepEqual(j.by, ['feature', 'user']);
    const g = j.groups[0];
    for (const k of ['key', 'costUsd', 'share', 'calls', 'p50', 'p95', 'p99', 'cacheHitRatio', 'cacheSavingsUsd', 'costWithoutCacheUsd', 'errors', 'tokens']) assert.ok(k in g, k);
    assert.deepEqual(g.key, { feature: 'search', user: 'u_1' });
    assert.deepEqual(j.skipped, []);
    assert.deepEqual(j.unpriced, []);
  });

  it('counts a Claude Code call copied into a resumed session once, whatever the order of the files, on one thread or several', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lcl-cli-cc-'));
    try {
      // The original transcript, and a session resumed from it: its first 24 lines (two messages) copied under the new
      // session id, then a message of its own.
      const lines = readFileSync(fixture('third-party', 'claude-code-subagent-transcript_spotter.jsonl'), 'utf8').split('\n').filter(Boolean);
      const resumed = (l: string) => JSON.stringify({ ...JSON.parse(l), sessionId: 'resumed' });
      const own = JSON.parse(lines[lines.length - 1]);
      own.message.id += '_own';
      own.requestId += '_own';
      const a = join(dir, 'a.jsonl');
      const b = join(dir, 'b.jsonl');
      const one = join(dir, 'one.jsonl');
      writeFileSync(a, lines.join('\n') + '\n');
      writeFileSync(b, [...lines.slice(0, 24).map(resumed), JSON.stringify(own)].join('\n') + '\n');
      writeFileSync(one, [...lines, JSON.stringify(own)].join('\n') + '\n');
      const want = JSON.parse(run(['report', one, '--format', 'json']).out);
      assert.equal(want.total.calls, 13);
      for (const args of [['report', a, b], ['report', b, a]]) {
        const j = JSON.parse(run([...args, '--format', 'json']).out);
        assert.equal(j.total.calls, 13, args.join(' '));
        assert.equal(j.total.costUsd.toFixed(2), want.total.costUsd.toFixed(2));
        assertUsd(j.total.costUsd, want.total.costUsd);
        // a.jsonl, first by path, keeps the two messages; b.jsonl counts its own one.
        assert.deepEqual(j.files.map((f: { file: string; calls: number; copies?: number }) => [f.file.slice(-7), f.calls, f.copies]), [['a.jsonl', 12, undefined], ['b.jsonl', 1, 2]]);
        // The parallel path (big files read ahead on several threads) agrees.
        let out = '';
        assert.equal(await mainCli([...args, '--format', 'json'], { cwd: ROOT, out: (s) => (out += s), err: () => undefined }, { parallelBytes: 0 }), 0);
        assert.deepEqual(JSON.parse(out).total, j.total);
      }
      const budget = JSON.parse(run(['budget', a, b, '--budget', 'total:month:100', '--now', '2026-02-20T00:00:00Z', '--format', 'json']).out);
      assert.equal(budget.budgets[0].calls, 13);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads folders and globs, and states unpriced models and skipped lines', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lcl-cli-'));
    try {
      mkdirSync(join(dir, 'traces'));
      writeFileSync(join(dir, 'traces', 'a.jsonl'), '{"model":"gpt-4o","input_tokens":1000,"output_tokens":0,"metadata":{"feature":"x"}}\n{"model":"acme-llm","input_tokens":5,"output_tokens":5}\nnot json\n');
      const table = run(['report', 'traces/**/*.jsonl'], dir);
      assert.equal(table.code, 0, table.err);
      assert.match(table.out, /Total \$0\.0025 over 2 calls/);
      assert.match(table.out, /Unpriced: 1 call has no price/);
      assert.match(table.out, /acme-llm: 1 call,/);
      assert.match(table.out, /traces\/a\.jsonl:3: Not JSON/);
      const json = JSON.parse(run(['report', 'traces', '--format', 'json'], dir).out);
      assert.deepEqual(json.unpriced.map((u: { model: string; calls: number }) => [u.model, u.calls]), [['acme-llm', 1]]);
      assert.deepEqual(json.skipped.map((s: { line: number }) => s.line), [3]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('uses a prices file that wins over the catalogue', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lcl-cli-'));
    try {
      mkdirSync(join(dir, '.llm-cost-lens'));
      writeFileSync(join(dir, '.llm-cost-lens', 'prices.json'), '{"acme-llm": {"input": 1, "output": 2}}');
      writeFileSync(join(dir, 't.jsonl'), '{"model":"acme-llm","input_tokens":1000000,"output_tokens":1000000}\n');
      const j = JSON.parse(run(['report', 't.jsonl', '--format', 'json'], dir).out);
      assertUsd(j.total.costUsd, 3);
      assert.deepEqual(j.unpriced, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints CSV and Markdown, and keeps --top groups with the rest summed', () => {
    const csv = run(['report', fixture('shapes', 'flat.jsonl'), '--by', 'model', '--format', 'csv']).out.trim().split('\n');
    assert.equal(csv.length, 4);
    assert.match(csv[0], /^model,cost_usd,share,calls/);
    const md = run(['report', fixture('shapes', 'flat.jsonl'), '--by', 'model', '--format', 'markdown', '--top', '1']).out;
    assert.match(md, /\| model \| cost \|/);
    assert.match(md, /\(2 more\)/);
  });

  it('filters by --since/--until and picks the cost source', () => {
    const j = JSON.parse(run(['report', fixture('shapes', 'flat.jsonl'), '--since', '2026-11-21', '--format', 'json']).out);
    assert.equal(j.total.calls, 1);
    assert.equal(j.range.since, '2026-11-21T00:00:00.000Z');
    const rec = JSON.parse(run(['report', fixture('shapes', 'flat.jsonl'), '--cost-source', 'recorded', '--format', 'json']).out);
    assert.equal(rec.total.unpricedCalls, 3);
  });

  it('gives a one-line error and exit code 2 for a missing file or a bad flag', () => {
    for (const args of [['report', 'nope.jsonl'], ['report', fixture('shapes', 'flat.jsonl'), '--format', 'xml'], ['report', fixture('shapes', 'flat.jsonl'), '--bogus'], ['report'], ['report', 'x', '--since', 'yesterday'], ['frobnicate', 'x']]) {
      const r = run(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
      assert.match(r.err, /^llm-cost-lens: /);
    }
  });

  it('refuses an option the command does not take, rather than ignoring it, and says which command takes it', () => {
    const flat = fixture('shapes', 'flat.jsonl');
    const cases: [string[], RegExp][] = [
      [['report', flat, '--model', 'gpt-4o'], /report does not take --model \(only whatif\): .*--by model/],
      [['report', flat, '--budget', 'total:day:5'], /report does not take --budget \(only budget\)/],
      [['report', flat, '--now', '2026-11-20'], /report does not take --now \(only budget\)/],
      [['outliers', flat, '--compare', '--since', '2026-11-01'], /outliers does not take --compare \(only report\)/],
      [['budget', flat, '--budget', 'total:day:5', '--since', '2026-11-01'], /budget does not take --since .*--now/],
      [['budget', flat, '--budget', 'total:day:5', '--by', 'user'], /budget does not take --by/],
      [['outliers', flat, '--by', 'feature,user'], /outliers groups by one dimension; --by has 2 \(feature,user\)/],
      // Refused before other checks ("--compare needs --since") and before any file is read.
      [['outliers', 'no-such-file.jsonl', '--compare'], /outliers does not take --compare \(only report\)/],
      [['report', flat, '--since', '2026-02-29'], /--since: 2026-02-29 is not a day in the calendar/],
      [['whatif', flat, '--model', 'gpt-4o-mini', '--by', 'feature,model'], /whatif groups by one dimension/],
    ];
    for (const [args, message] of cases) {
      const r = run(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.out, '');
      assert.match(r.err, message, args.join(' '));
    }
    // What each command does take still works, --option=value included.
    for (const args of [
      ['report', flat, '--by=feature,model', '--since', '2026-11-01', '--compare', '--top', '2', '--cost-source', 'computed', '--format', 'md'],
      ['outliers', flat, '--by', 'model', '--until', '2026-12-01', '--top', '3', '--format', 'json'],
      ['anomalies', flat, '--by', 'feature,user', '--since', '2026-11-01'],
      ['budget', flat, '--budget', 'total:day:5', '--now', '2026-11-20T12:00Z', '--cost-source', 'auto'],
      ['whatif', flat, '--model', 'gpt-4o-mini', '--by', 'model', '--since', '2026-11-01', '--top', '2'],
    ]) {
      const r = run(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.err}`);
    }
  });

  it('prints a group whose calls are all unpriced as unpriced, and costUsd null in JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lcl-cli-'));
    try {
      writeFileSync(
        join(dir, 't.jsonl'),
        '{"model":"gpt-4o","input_tokens":1000,"output_tokens":0,"metadata":{"feature":"search"}}\n{"model":"acme-llm","input_tokens":5,"output_tokens":5,"metadata":{"feature":"chat"}}\n{"model":"acme-llm","input_tokens":5,"output_tokens":5,"metadata":{"feature":"chat"}}\n',
      );
      const j = JSON.parse(run(['report', 't.jsonl', '--format', 'json'], dir).out);
      const chat = j.groups.find((g: { key: { feature: string } }) => g.key.feature === 'chat');
      assert.equal(chat.costUsd, null);
      assert.deepEqual([chat.calls, chat.pricedCalls, chat.unpricedCalls], [2, 0, 2]);
      assertUsd(j.groups.find((g: { key: { feature: string } }) => g.key.feature === 'search').costUsd, 0.0025);
      assert.match(run(['report', 't.jsonl'], dir).out, /^chat +unpriced +0% +2 /m);
      assert.match(run(['report', 't.jsonl', '--format', 'csv'], dir).out, /^chat,unpriced,0,2,0,2,/m);
      assert.match(run(['report', 't.jsonl', '--format', 'markdown'], dir).out, /^\| chat \| unpriced \| 0% \| 2 \|/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports models the catalogue prices per audio hour or per page as unpriced, saying why, not as $0.00', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lcl-cli-'));
    try {
      writeFileSync(
        join(dir, 'audio.jsonl'),
        '{"model":"whisper-1","provider":"openai","input_tokens":50000,"output_tokens":0,"feature":"transcribe"}\n{"model":"mistral-ocr-latest","provider":"mistral","input_tokens":50000,"output_tokens":0,"feature":"ocr"}\n',
      );
      const table = run(['report', 'audio.jsonl'], dir);
      assert.match(table.out, /^Total unpriced over 2 calls/m);
      assert.match(table.out, /whisper-1: 1 call, 50k input and 0 output tokens \(priced per audio hour in the catalogue, not per token\)/);
      assert.match(table.out, /mistral-ocr-latest: 1 call, .* \(priced per page in the catalogue, not per token\)/);
      const j = JSON.parse(run(['report', 'audio.jsonl', '--format', 'json'], dir).out);
      assert.equal(j.total.pricedCalls, 0);
      assert.deepEqual(j.unpriced.map((u: { model: string; reason?: string }) => [u.model, u.reason]), [
        ['whisper-1', 'priced per audio hour in the catalogue, not per token'],
        ['mistral-ocr-latest', 'priced per page in the catalogue, not per token'],
      ]);
      // Markdown (the dashboard's export too) says why as well; the recorded cost source does not (prices do not count).
      assert.match(run(['report', 'audio.jsonl', '--format', 'markdown'], dir).out, /whisper-1 \(1 call; priced per audio hour in the catalogue, not per token\)/);
      assert.doesNotMatch(run(['report', 'audio.jsonl', '--cost-source', 'recorded'], dir).out, /in the catalogue/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints no control character or direction mark from trace text in the signal commands (outliers, what-if)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lcl-cli-'));
    try {
      const evil = 'pay\u202egnp\u001b[31m';
      const lines: string[] = [];
      for (let i = 0; i < 60; i++) lines.push(JSON.stringify({ model: 'gpt-4o', provider: 'openai', input_tokens: i === 59 ? 900000 : 1000, output_tokens: 10, timestamp: `2026-11-20T10:${String(i % 60).padStart(2, '0')}:00Z`, metadata: { feature: evil }, callsite: `src/${evil}.py:${i + 1}` }));
      writeFileSync(join(dir, 't.jsonl'), lines.join('\n') + '\n');
      for (const args of [['outliers', 't.jsonl'], ['whatif', 't.jsonl', '--model', 'gpt-4o-mini'], ['anomalies', 't.jsonl']]) {
        const r = run(args, dir);
        assert.doesNotMatch(r.out, /[\u001b\u202e]/, args.join(' '));
      }
      assert.match(run(['outliers', 't.jsonl'], dir).out, /pay\?gnp\?\[31m/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('states how many calls without a timestamp --since/--until leave out', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lcl-cli-'));
    try {
      writeFileSync(
        join(dir, 't.jsonl'),
        '{"ts":"2026-11-20T10:00:00Z","model":"gpt-4o","input_tokens":1000,"output_tokens":0}\n{"model":"gpt-4o","input_tokens":1000,"output_tokens":0}\n{"model":"gpt-4o","input_tokens":2000,"output_tokens":0}\n',
      );
      const table = run(['report', 't.jsonl', '--since', '2026-11-01'], dir);
      assert.equal(table.code, 0, table.err);
      assert.match(table.out, /Total \$0\.0025 over 1 call /);
      assert.match(table.out, /^2 calls without a timestamp are not in this time range$/m);
      const j = JSON.parse(run(['report', 't.jsonl', '--until', '2026-12-01', '--format', 'json'], dir).out);
      assert.equal(j.undatedCalls, 2);
      const all = run(['report', 't.jsonl', '--format', 'json'], dir).out;
      assert.equal(JSON.parse(all).undatedCalls, 0);
      assert.equal(JSON.parse(all).total.undatedCalls, 2);
      const whole = run(['report', 't.jsonl'], dir).out;
      assert.doesNotMatch(whole, /not in this time range/);
      assert.match(whole, /^Total \$0\.0100 over 3 calls \(calls 2026-11-20 10:00 to 2026-11-20 10:00 UTC; 2 without a timestamp\)$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads records through a valid --mapping file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lcl-cli-'));
    try {
      writeFileSync(join(dir, 'm.json'), '{"model":"llm.name","inputTokens":"llm.in","outputTokens":"llm.out","feature":"ctx.f"}');
      writeFileSync(join(dir, 't.jsonl'), '{"llm":{"name":"gpt-4o","in":1000,"out":100},"ctx":{"f":"x"}}\n');
      const r = run(['report', 't.jsonl', '--mapping', 'm.json', '--format', 'json'], dir);
      assert.equal(r.code, 0, r.err);
      const j = JSON.parse(r.out);
      assertUsd(j.total.costUsd, 0.0035);
      assert.deepEqual(j.groups[0].key, { feature: 'x' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects a --mapping file with an unknown field, a non-string or empty path: exit code 2, one line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lcl-cli-'));
    try {
      writeFileSync(join(dir, 't.jsonl'), '{"model":"gpt-4o","input_tokens":1,"output_tokens":1}\n');
      for (const [mapping, msg] of [
        ['{"model":"m","input_tokens":"u.in"}', /^llm-cost-lens: mapping file m\.json: field mapping has an unknown field "input_tokens" \(did you mean "inputTokens"\?\)$/],
        ['{"inputTokens":42}', /^llm-cost-lens: mapping file m\.json: field mapping "inputTokens" must be a dot path string such as "usage\.input_tokens", got number 42$/],
        ['{"inputTokens":"  "}', /^llm-cost-lens: mapping file m\.json: field mapping "inputTokens" is an empty path$/],
        ['{"inputTokens":"a","inputIncludesCache":"yes"}', /"inputIncludesCache" must be true or false, got "yes"$/],
        ['{"model":"llm.name"}', /needs inputTokens, outputTokens or costUsd/],
        ['["model"]', /must be an object of dot paths, got an array$/],
        ['{"inputTokens":"","outputTokens":[],"cost":"x"}', /"inputTokens" is an empty path \(and 2 more\)$/],
      ] as [string, RegExp][]) {
        writeFileSync(join(dir, 'm.json'), mapping);
        const r = run(['report', 't.jsonl', '--mapping', 'm.json'], dir);
        assert.equal(r.code, 2, mapping);
        assert.equal(r.out, '', mapping);
        assert.equal(r.err.trim().split('\n').length, 1, r.err);
        assert.match(r.err.trim(), msg, mapping);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A temp folder with these files, removed after `f` ran in it. */
function inTempDir(files: Record<string, string | Uint8Array>, f: (dir: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'lcl-cli-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const CALL = (ts: string, feature: string, model = 'gpt-4o') => JSON.stringify({ ts, model, input_tokens: 1000, output_tokens: 100, metadata: { feature } });

describe('llm-cost-lens report: what a user test found', () => {
  it('says why there is no call instead of "Total $0.00 over 0 calls" and unpriced per-call figures (table and Markdown; exit 0)', () => {
    inTempDir(
      {
        'empty.jsonl': '',
        'bom.jsonl': new Uint8Array([0xef, 0xbb, 0xbf]),
        'foo.jsonl': '{"foo":"bar"}\n',
        'bad.jsonl': 'not json\n',
        't.jsonl': CALL('2026-11-20T10:00:00Z', 'a') + '\n' + CALL('2026-11-20T11:00:00Z', 'b') + '\n',
      },
      (dir) => {
        for (const [args, why] of [
          [['empty.jsonl'], /^No LLM calls found in empty\.jsonl: it holds no JSON record \(empty or blank lines only\)\.$/m],
          [['bom.jsonl'], /^No LLM calls found in bom\.jsonl: it holds no JSON record/m],
          [['foo.jsonl'], /^No LLM calls found in foo\.jsonl:\n {2}1 line ignored: JSON records that are not LLM calls \(.*--mapping.*README/m],
          [['bad.jsonl'], /^No LLM calls found in bad\.jsonl:\n {2}1 bad line or record skipped \(listed below\)/m],
          [['t.jsonl', '--since', '2027-01-01'], /^No LLM calls found in t\.jsonl:\n {2}none in the time range 2027-01-01T00:00:00\.000Z – now \(2 calls read\)/m],
          [['foo.jsonl', 'empty.jsonl'], /^No LLM calls found in empty\.jsonl, foo\.jsonl:\n {2}1 line ignored/m],
        ] as [string[], RegExp][]) {
          const r = run(['report', ...args], dir);
          assert.equal(r.code, 0, r.err);
          assert.match(r.out, why, args.join(' '));
          assert.doesNotMatch(r.out, /unpriced|Total|over 0 calls|p50/, args.join(' '));
          const md = run(['report', ...args, '--format', 'markdown'], dir);
          assert.equal(md.code, 0, md.err);
          assert.match(md.out, /^\*\*No LLM calls found\*\* in /m, args.join(' '));
          assert.doesNotMatch(md.out, /unpriced|Total|over 0 calls|p50/, args.join(' '));
          const j = JSON.parse(run(['report', ...args, '--format', 'json'], dir).out);
          assert.equal(j.total.calls, 0);
          assert.equal(j.total.costUsd, 0);
        }
        assert.match(run(['report', 'bad.jsonl'], dir).out, /^ {2}bad\.jsonl:1: Not JSON/m);
        assert.match(run(['report', 'foo.jsonl', '--format', 'markdown'], dir).out, /^- 1 line ignored: JSON records that are not LLM calls/m);
      },
    );
  });
});

describe('llm-cost-lens report wording: what a user test found', () => {
  it('counts one call, one line and one model in the singular', () => {
    const text = [CALL('2026-11-20T10:00:00Z', 'a'), CALL('2026-11-21T10:00:00Z', 'b', 'acme-llm'), 'not json'].join('\n') + '\n';
    inTempDir({ 't.jsonl': text }, (dir) => {
      const table = run(['report', 't.jsonl', '--since', '2026-11-21', '--compare'], dir).out;
      assert.match(table, /^Total unpriced over 1 call from /m);
      assert.match(table, /^Previous period \(\d{4}-\d\d-\d\d \d\d:\d\d to \d{4}-\d\d-\d\d \d\d:\d\d UTC\): \$0\.0035 over 1 call \(unpriced\)$/m);
      assert.match(table, /^Unpriced: 1 call has no price /m);
      assert.match(table, /^ {2}acme-llm: 1 call, /m);
      assert.match(table, /^Skipped 1 bad line or record:$/m);
      assert.doesNotMatch(table, /\b1 (calls|lines)\b|\(s\)/);
      const md = run(['report', 't.jsonl', '--since', '2026-11-21', '--compare', '--format', 'markdown'], dir).out;
      assert.match(md, /^\*\*Total unpriced\*\* over 1 call from /m);
      assert.match(md, /over 1 call \(unpriced\)\.$/m);
      assert.match(md, /acme-llm \(1 call\)/);
      assert.doesNotMatch(md, /\b1 (calls|lines)\b|\(s\)/);
      assert.match(run(['report', 't.jsonl'], dir).out, /^Total \$0\.0035 over 2 calls /m);
    });
  });
});

describe('llm-cost-lens report Markdown skipped lines: what a user test found', () => {
  it('lists the first 10 bad lines with file, line and reason, as the table does', () => {
    const text = [CALL('2026-11-20T10:00:00Z', 'a'), 'not json', ...Array.from({ length: 11 }, () => '{"broken": '), '{"model":"gpt-4o","input_tokens":-5,"output_tokens":1}'].join('\n') + '\n';
    inTempDir({ 'my_app.jsonl': text }, (dir) => {
      const json = JSON.parse(run(['report', 'my_app.jsonl', '--format', 'json'], dir).out);
      assert.equal(json.skippedTotal, 13);
      const md = run(['report', 'my_app.jsonl', '--format', 'md'], dir).out;
      assert.match(md, /^> Skipped 13 bad lines or records:$/m);
      assert.match(md, /^> - my\\_app\.jsonl:2: Not JSON/m);
      assert.match(md, /^> - my\\_app\.jsonl:3: /m);
      assert.equal(md.match(/^> - my\\_app\.jsonl:\d+: /gm)?.length, 10);
      assert.match(md, /^> … and 3 more \(see `--format json`\)$/m);
      assert.doesNotMatch(md, /bad line\(s\)/);
      const table = run(['report', 'my_app.jsonl'], dir).out;
      assert.match(table, /^ {2}my_app\.jsonl:2: Not JSON/m);
    });
  });
});

describe('llm-cost-lens report unpriced calls: what a user test found', () => {
  const text = [
    JSON.stringify({ ts: '2026-11-20T10:00:00Z', model: 'acme-llm', usage: { input_tokens: 53, cache_read_input_tokens: 675000, cache_creation_input_tokens: 2000, output_tokens: 12 }, metadata: { feature: 'a' } }),
    JSON.stringify({ ts: '2026-11-20T10:00:00Z', model: 'gpt-4o', input_tokens: 1000, output_tokens: 10, cost_usd: 0.01, metadata: { feature: 'a' } }),
    JSON.stringify({ ts: '2026-11-20T10:00:00Z', model: 'gpt-4o', input_tokens: 1000, output_tokens: 10, metadata: { feature: 'b' } }),
  ].join('\n') + '\n';

  it('words the advice for the cost source: with recorded, the calls lack a recorded cost and prices do not help', () => {
    inTempDir({ 't.jsonl': text }, (dir) => {
      const rec = run(['report', 't.jsonl', '--cost-source', 'recorded'], dir).out;
      assert.match(rec, /^Unpriced: 2 calls have no recorded cost and are NOT in the totals \(--cost-source recorded counts only costs written in the records; prices apply with --cost-source auto or computed\):$/m);
      assert.doesNotMatch(rec, /prices\.json/);
      const md = run(['report', 't.jsonl', '--cost-source', 'recorded', '--format', 'md'], dir).out;
      assert.match(md, /^> Calls without a recorded cost \(not in the totals; the cost source is recorded\): acme-llm \(1 call\), gpt-4o \(1 call\)$/m);
      for (const source of ['auto', 'computed']) {
        const out = run(['report', 't.jsonl', '--cost-source', source], dir).out;
        assert.match(out, /^Unpriced: 1 call has no price and is NOT in the totals \(add its model to \.llm-cost-lens\/prices\.json\):$/m, source);
        assert.match(run(['report', 't.jsonl', '--cost-source', source, '--format', 'md'], dir).out, /^> Unpriced models \(not in the totals\): acme-llm \(1 call\)$/m);
      }
    });
  });

  it('prints the same input tokens as the JSON (uncached), with cache reads and writes apart', () => {
    inTempDir({ 't.jsonl': text }, (dir) => {
      const j = JSON.parse(run(['report', 't.jsonl', '--format', 'json'], dir).out);
      assert.deepEqual(j.unpriced, [{ model: 'acme-llm', calls: 1, inputTokens: 53, outputTokens: 12, cacheReadTokens: 675000, cacheWriteTokens: 2000 }]);
      assert.match(run(['report', 't.jsonl'], dir).out, /^ {2}acme-llm: 1 call, 53 input, 675k cache-read, 2.0k cache-write and 12 output tokens$/m);
      assert.match(run(['report', 't.jsonl', '--cost-source', 'recorded'], dir).out, /^ {2}gpt-4o: 1 call, 1.0k input and 10 output tokens$/m);
    });
  });
});

describe('llm-cost-lens report CSV: what a user test found', () => {
  it('sums the groups --top leaves out in a last row, so the rows add up to the total', () => {
    const text = [CALL('2026-11-20T10:00:00Z', 'a'), CALL('2026-11-20T11:00:00Z', 'b'), CALL('2026-11-20T11:30:00Z', 'b'), CALL('2026-11-20T12:00:00Z', 'c', 'gpt-4o-mini'), CALL('2026-11-20T12:00:00Z', 'd', 'acme-llm')].join('\n') + '\n';
    inTempDir({ 't.jsonl': text }, (dir) => {
      const total = JSON.parse(run(['report', 't.jsonl', '--by', 'feature,model', '--format', 'json'], dir).out).total;
      const csv = run(['report', 't.jsonl', '--by', 'feature,model', '--format', 'csv', '--top', '1'], dir).out.trim().split('\n').map((l) => l.split(','));
      const head = csv[0];
      const col = (name: string) => head.indexOf(name);
      assert.equal(csv.length, 3);
      const rest = csv[2];
      assert.deepEqual(rest.slice(0, 2), ['(3 more groups)', '']);
      assert.equal(rest.length, head.length);
      const sumOf = (name: string) => csv.slice(1).reduce((a, row) => a + Number(row[col(name)]), 0);
      assertUsd(sumOf('cost_usd'), total.costUsd);
      for (const [name, v] of [['calls', total.calls], ['priced_calls', total.pricedCalls], ['unpriced_calls', total.unpricedCalls], ['errors', total.errors], ['input_tokens', total.tokens.input], ['output_tokens', total.tokens.output]] as [string, number][]) assert.equal(sumOf(name), v, name);
      assert.equal(rest[col('p50_usd')], '');
      // Without --top, or when it leaves nothing out: no such row.
      assert.equal(run(['report', 't.jsonl', '--format', 'csv'], dir).out.trim().split('\n').length, 5);
      assert.equal(run(['report', 't.jsonl', '--format', 'csv', '--top', '4'], dir).out.trim().split('\n').length, 5);
      // Left-out groups with no priced call: unpriced, never 0.
      const unpriced = run(['report', 't.jsonl', '--by', 'model', '--format', 'csv', '--top', '2'], dir).out.trim().split('\n');
      assert.match(unpriced[unpriced.length - 1], /^\(1 more group\),unpriced,0,1,0,1,/);
    });
  });
});

describe('llm-cost-lens arguments: what a user test found', () => {
  it('rejects an empty path argument (an unset shell variable) instead of reading the current folder: exit 2, one line', async () => {
    inTempDir({ 't.jsonl': CALL('2026-11-20T10:00:00Z', 'a') + '\n' }, (dir) => {
      for (const args of [['report', ''], ['report', 't.jsonl', ''], ['report', ' '], ['outliers', '']]) {
        const r = run(args, dir);
        assert.equal(r.code, 2, JSON.stringify(args));
        assert.equal(r.out, '');
        assert.match(r.err, /^llm-cost-lens: empty path argument \(an unset shell variable\?\)\n$/);
      }
    });
    let err = '';
    assert.equal(await mainCli(['report', ''], { cwd: ROOT, out: () => undefined, err: (s) => (err += s) }, { parallelBytes: 0 }), 2);
    assert.match(err, /empty path/);
  });
});

describe('llm-cost-lens --format md: what a user test found', () => {
  it('accepts md as an alias of markdown, and lists it in --help', () => {
    const md = run(['report', fixture('shapes', 'flat.jsonl'), '--by', 'model', '--format', 'md']);
    assert.equal(md.code, 0, md.err);
    assert.equal(md.out, run(['report', fixture('shapes', 'flat.jsonl'), '--by', 'model', '--format', 'markdown']).out);
    assert.equal(run(['report', fixture('shapes', 'flat.jsonl'), '--format=md']).code, 0);
    assert.match(run(['--help']).out, /--format FMT +table, json, csv or markdown \(md for short;/);
    const sig = run(['outliers', fixture('shapes', 'flat.jsonl'), '--format', 'md']);
    assert.equal(sig.code, 2);
    assert.match(sig.err, /--format markdown is for report/);
  });
});

describe('llm-cost-lens --by: what a user test found', () => {
  it('rejects an empty dimension name (feature,,model) with a clear message: exit 2, one line', () => {
    for (const [by, msg] of [
      ['feature,,model', /^llm-cost-lens: --by has an empty dimension name in "feature,,model"\n$/],
      ['feature,', /^llm-cost-lens: --by has an empty dimension name in "feature,"\n$/],
      [',model', /empty dimension name/],
      ['feature, ,model', /empty dimension name/],
      ['', /^llm-cost-lens: --by needs at least one dimension\n$/],
    ] as [string, RegExp][]) {
      for (const args of [['report', fixture('shapes', 'flat.jsonl'), '--by', by], ['report', fixture('shapes', 'flat.jsonl'), `--by=${by}`], ['outliers', fixture('shapes', 'flat.jsonl'), '--by', by]]) {
        const r = run(args);
        assert.equal(r.code, 2, args.join(' '));
        assert.equal(r.out, '');
        assert.match(r.err, msg, args.join(' '));
      }
    }
    assert.equal(run(['report', fixture('shapes', 'flat.jsonl'), '--by', ' feature , model ']).code, 0);
  });
});

describe('llm-cost-lens signal commands', () => {
  const demo = join(ROOT, 'samples', 'demo', 'traces');
  it('outliers, anomalies, budget and whatif print JSON with version 1', () => {
    const o = JSON.parse(run(['outliers', demo, '--format', 'json']).out);
    assert.equal(o.version, 1);
    assert.ok(Array.isArray(o.calls) && Array.isArray(o.traces));
    assert.match(o.headline, /top 1% of calls/);
    const a = JSON.parse(run(['anomalies', demo, '--format', 'json']).out);
    assert.ok(Array.isArray(a.anomalies) && Array.isArray(a.modelSwitches) && Array.isArray(a.estimateDrift));
    const b = JSON.parse(run(['budget', demo, '--budget', 'total:month:100', '--now', '2026-11-22T12:00:00Z', '--format', 'json']).out);
    assert.equal(b.budgets[0].label, 'total per month');
    assert.equal(b.budgets[0].level, 'ok');
    const w = JSON.parse(run(['whatif', demo, '--model', 'gpt-4o-mini', '--format', 'json']).out);
    assert.ok(w.whatIfUsd < w.currentUsd);
    assert.ok(w.groups.length > 0);
  });

  it('budget says how many calls in scope are unpriced, in the table and the JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'llm-cost-lens-unp-'));
    try {
      const f = join(dir, 'unp.jsonl');
      writeFileSync(f, JSON.stringify({ model: 'acme-x', input_tokens: 1000, output_tokens: 10, feature: 'f', timestamp: '2026-12-01T10:00:00Z' }) + '\n');
      const args = ['budget', f, '--budget', 'feature=f:day:1', '--now', '2026-12-01T12:00Z'];
      const t = run(args);
      assert.equal(t.code, 0, t.err);
      assert.doesNotMatch(t.out, /ok +feature f per day: \$0\.00/);
      assert.match(t.out, /1 call unpriced, not counted/);
      const j = JSON.parse(run([...args, '--format', 'json']).out);
      assert.equal(j.budgets[0].unpricedCalls, 1);
      assert.equal(j.budgets[0].calls, 1);
      assert.equal(j.budgets[0].spentUsd, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('whatif says which calls it leaves out because their current cost is unknown', () => {
    const dir = mkdtempSync(join(tmpdir(), 'llm-cost-lens-unp-'));
    try {
      const f = join(dir, 'unp.jsonl');
      writeFileSync(f, JSON.stringify({ model: 'acme-x', input_tokens: 1000, output_tokens: 10, feature: 'f', timestamp: '2026-12-01T10:00:00Z' }) + '\n');
      const t = run(['whatif', f, '--model', 'gpt-4o-mini']);
      assert.equal(t.code, 0, t.err);
      assert.match(t.out, /feature f on gpt-4o-mini: nothing to compare: 1 call left out, its current cost is unknown/);
      assert.match(t.out, /All on gpt-4o-mini: .*; 1 call left out/);
      const j = JSON.parse(run(['whatif', f, '--model', 'gpt-4o-mini', '--format', 'json']).out);
      assert.equal(j.unpricedCalls, 1);
      assert.deepEqual(j.groups, [], 'groups are still the groups compared');
      assert.deepEqual(j.unpricedGroups.map((g: { key: unknown; unpricedCalls: number }) => [g.key, g.unpricedCalls]), [[{ feature: 'f' }, 1]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says no LLM calls were found, with the reasons, rather than "no anomalies" or "$0.00 ok"', () => {
    const dir = mkdtempSync(join(tmpdir(), 'llm-cost-lens-none-'));
    try {
      const empty = join(dir, 'empty.jsonl');
      writeFileSync(empty, '');
      const other = join(dir, 'other.jsonl');
      writeFileSync(other, '{"hello":1}\n');
      for (const [args, msg] of [
        [['anomalies', empty], /^No LLM calls found in .*empty\.jsonl: it holds no JSON record/],
        [['outliers', empty], /^No LLM calls found in .*empty\.jsonl: it holds no JSON record/],
        [['budget', empty, '--budget', 'total:day:20'], /^No LLM calls found in .*empty\.jsonl: it holds no JSON record/],
        [['whatif', empty, '--model', 'gpt-4o-mini'], /^No LLM calls found in .*empty\.jsonl/],
        [['anomalies', other], /^No LLM calls found in .*other\.jsonl:\n {2}1 line ignored: JSON records that are not LLM calls/],
        [['outliers', demo, '--since', '2030-01-01'], /^No LLM calls found in .*\n {2}none in the time range 2030-01-01T00:00:00\.000Z – now/],
      ] as [string[], RegExp][]) {
        const r = run(args);
        assert.equal(r.code, 0, r.err);
        assert.match(r.out, msg, args.join(' '));
        assert.doesNotMatch(r.out, /No hourly anomalies|\$0\.00 of|ok /, args.join(' '));
      }
      // The JSON keeps its shape.
      const j = JSON.parse(run(['anomalies', empty, '--format', 'json']).out);
      assert.deepEqual(j.anomalies, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('anomalies says when the history is too short to judge spikes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'llm-cost-lens-short-'));
    try {
      const f = join(dir, 'two-days.jsonl');
      const rows = [];
      for (let h = 0; h < 48; h++) rows.push(JSON.stringify({ model: 'gpt-4o', input_tokens: 1000, output_tokens: 10, feature: 'f', timestamp: new Date(Date.parse('2026-11-01T00:00:00Z') + h * 3_600_000).toISOString() }));
      writeFileSync(f, rows.join('\n') + '\n');
      const r = run(['anomalies', f]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /^History too short to judge spikes: the calls span 2\.0 days/);
      const j = JSON.parse(run(['anomalies', f, '--format', 'json']).out);
      assert.equal(j.history.enough, false);
      assert.equal(j.history.neededDays, 3);
      assert.doesNotMatch(run(['anomalies', demo]).out, /History too short/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('explains what a signal command needs', () => {
    for (const [args, msg] of [
      [['whatif', demo], /needs --model/],
      [['whatif', demo, '--model', 'nope-model'], /no price for model "nope-model"/],
      [['budget', demo], /needs --budget/],
      [['budget', demo, '--budget', 'total:week:5'], /SCOPE:PERIOD:USD/],
      [['outliers', demo, '--format', 'csv'], /--format csv is for report/],
    ] as [string[], RegExp][]) {
      const r = run(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.err, msg);
    }
  });
});
