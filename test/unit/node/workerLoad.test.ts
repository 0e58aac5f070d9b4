import * as assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fork, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { select, stats } from '../../../src/core/analysis';
import { StringPool } from '../../../src/core/callTable';
import { sampleTrace } from '../../../src/core/sampleTrace';
import { ingestBytes, packState, unpackState } from '../../../src/core/traceFile';
import { cacheFileFor, cacheKeyOf, earlierCacheOffset, readRegions, readStateCache, readStateCacheOf, writeStateCache } from '../../../src/node/stateCache';
import type { FileHandle } from 'node:fs/promises';
import { type LevelPreview, previewLevel, type PreviewRequest, tablePart } from '../../../src/core/levelPreview';
import { contextSliced, LoadCancelled, loadInWorker, LOADS_AT_ONCE, loadWorkersStarted, type ScanStats } from '../../../src/node/workerLoad';
import { parseProcessEnv, PROCESS_FLAGS } from '../../../src/node/handover';
import { glibcVersion, hugePagesMode } from '../../../src/node/hugePages';
import { defaultRanges } from '../../../src/node/rangeWorkers';
import { readTraceFile } from '../../../src/node/traceReader';
import { PriceBook } from '../../../src/core/pricing';
import { assertUsd, loadText, ROOT } from '../helpers';

const WORKER = join(ROOT, 'out', 'src', 'services', 'loadWorker.js');

/**
 * Where the values of a cache file's column `name` start (none: where the columns end), and the file's header (see the
 * layout in stateCache.ts: lead, prelude, header, then each column padded to 8 bytes).
 */
function cacheColumnAt(bytes: Buffer, name?: string): { at: number; header: { length: number; columns: { name: string; type: string }[]; traces: { count: number } } } {
  const headLen = bytes.readUInt32LE(8);
  const headAt = 16 + bytes.readUInt32LE(12); // after the prelude
  const header = JSON.parse(bytes.subarray(headAt, headAt + headLen).toString('utf8'));
  const sizes: Record<string, number> = { Float64Array: 8, Uint32Array: 4, Int32Array: 4, Uint8Array: 1 };
  let at = (headAt + headLen + 7) & ~7;
  for (const c of header.columns) {
    if (c.name === name) break;
    at += (header.length * sizes[c.type] + 7) & ~7;
  }
  return { at, header };
}

describe('loading in a worker thread, and the state cache', function () {
  this.timeout(20000);
  let dir: string;
  let trace: string;
  const text = sampleTrace(Date.parse('2026-11-22T00:00:00Z'), 5000, 9) + '{"model":"gpt-4o",broken\n';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lcl-worker-'));
    trace = join(dir, 't.jsonl');
    writeFileSync(trace, text);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the same calls, costs and problems as reading in the main thread', async () => {
    const pool = new StringPool();
    const w = await loadInWorker(WORKER, { path: trace, displayName: 't.jsonl', overrides: [] }, pool);
    const inline = loadText(text, 't.jsonl');
    assert.equal(w.table.length, 5000);
    const a = stats(select([w.table]));
    const b = stats(select([inline.table]));
    assertUsd(a.costUsd, b.costUsd);
    assert.equal(a.p95Usd, b.p95Usd);
    assert.deepEqual(w.problems, inline.problems);
    assert.equal(w.table.pool.get(w.table.dims.feature[10]), inline.table.pool.get(inline.table.dims.feature[10]));
  });

  /** Folders through which this process's parse processes hand columns over: in memory or the temp folder, or in a cache folder. */
  const parseTemps = (cacheDir?: string) =>
    cacheDir
      ? existsSync(cacheDir) ? readdirSync(cacheDir).filter((n) => n.startsWith('parse-')) : []
      : [tmpdir(), '/dev/shm'].filter((d) => existsSync(d)).flatMap((d) => readdirSync(d).filter((n) => n.startsWith(`llm-cost-lens-parse-${process.pid}-`)));
  /** Waits (up to 5 s) for `ok`: the parse process writes the cache after handing the columns over in memory. */
  const eventually = async (ok: () => boolean) => {
    for (let k = 0; k < 100 && !ok(); k++) await new Promise((r) => setTimeout(r, 50));
    return ok();
  };
  const memoryHandover = process.platform === 'linux' && existsSync('/dev/shm');
  /** Running parse processes started by this process (Linux: /proc). */
  const parseProcesses = () =>
    readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .filter((d) => {
        try {
          const ppid = Number(readFileSync(`/proc/${d}/stat`, 'latin1').replace(/^.*\) /s, '').split(' ')[1]);
          return ppid === process.pid && readFileSync(`/proc/${d}/cmdline`, 'latin1').includes('parseProcess.js');
        } catch {
          return false;
        }
      });

  for (const [how, ownProcess, withCache, inMemory] of [
    ['in a child process', true, false, true],
    ['in a child process, with the cache, handed over in memory', true, true, true],
    ['in a child process, with the cache, handed over on disk', true, true, false],
    ['in the load worker', false, false, false],
  ] as const) {
    it(`parses a big file in byte ranges on several threads ${how}, with the same calls, costs, problems and progress`, async () => {
      rmSync(join(dir, 'cache'), { recursive: true, force: true });
      const inline = loadText(text, 't.jsonl');
      const progress: number[] = [];
      const sources: string[] = [];
      const scans: (ScanStats | undefined)[] = [];
      const cache = withCache ? { dir: join(dir, 'cache'), settings: 'v1' } : undefined;
      const w = await loadInWorker(WORKER, { path: trace, displayName: 't.jsonl', overrides: [], parallelBytes: 0, ownProcess, cache, memoryHandover: inMemory }, new StringPool(), {
        onProgress: (f) => progress.push(f),
        onSource: (s, info) => {
          sources.push(s);
          scans.push(info.scan);
        },
      });
      assert.deepEqual(sources, [ownProcess ? 'process' : 'thread']);
      // The parse process read with the range workers it was told to start first thing (one per core but its own).
      if (ownProcess) assert.equal(scans[0]?.startedAhead, defaultRanges() - 1, JSON.stringify(scans[0]));
      assert.equal(w.table.length, inline.table.length);
      assertUsd(stats(select([w.table])).costUsd, stats(select([inline.table])).costUsd);
      assert.deepEqual(w.problems, inline.problems);
      assert.deepEqual(w.position, inline.position);
      assert.deepEqual([...w.table.line.subarray(0, w.table.length)], [...inline.table.line.subarray(0, inline.table.length)]);
      assert.ok(progress.length > 0 && progress.every((f) => f > 0 && f <= 1), JSON.stringify(progress));
      // The columns came through a private folder, now gone, and into the cache when there is one (written by the
      // process once the columns are taken, when they came through memory).
      assert.equal(await eventually(() => existsSync(cacheFileFor(join(dir, 'cache'), trace))), withCache);
      assert.equal(await eventually(() => parseTemps().length === 0), true, parseTemps().join());
      assert.deepEqual(parseTemps(join(dir, 'cache')), []);
      if (withCache) {
        const again = await loadInWorker(WORKER, { path: trace, displayName: 't.jsonl', overrides: [], parallelBytes: 0, cache }, new StringPool(), { onSource: (s) => sources.push(s) });
        assert.equal(sources[1], 'cache');
        assert.equal(again.table.length, w.table.length);
      }
    });
  }

  it('a parse process runs as a plain Node.js without the extra certificates Node.js would read at its start', () => {
    const env = { PATH: '/bin', NODE_EXTRA_CA_CERTS: '/etc/proxy-ca.pem', NODE_OPTIONS: '--max-old-space-size=4096' };
    const child = parseProcessEnv(env, 'darwin');
    assert.deepEqual(child, { PATH: '/bin', NODE_OPTIONS: '--max-old-space-size=4096', ELECTRON_RUN_AS_NODE: '1' });
    assert.equal(env.NODE_EXTRA_CA_CERTS, '/etc/proxy-ca.pem', 'the caller\'s environment is left as it was');
    assert.deepEqual(parseProcessEnv({ Path: 'C:\\Windows', Node_Extra_CA_Certs: 'C:\\ca.pem' }, 'win32'), { Path: 'C:\\Windows', ELECTRON_RUN_AS_NODE: '1' }, 'a name set in another case (Windows)');
  });

  it("on Linux a parse process asks glibc for huge pages, keeping the user's own tunables", () => {
    assert.equal(parseProcessEnv({ PATH: '/bin' }, 'linux').GLIBC_TUNABLES, 'glibc.malloc.hugetlb=1');
    assert.equal(parseProcessEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, 'linux').GLIBC_TUNABLES, 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1');
    assert.equal(parseProcessEnv({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }, 'linux').GLIBC_TUNABLES, 'glibc.malloc.hugetlb=0', 'their setting wins');
    assert.equal(parseProcessEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=0' }, 'linux').GLIBC_TUNABLES, 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=0');
  });

  it('the huge pages a parse process asks for back its big buffers where the system allows them', function () {
    // Where THP is off, glibc older than 2.35 or not Linux, the setting does nothing: nothing to see.
    const glibc = glibcVersion();
    const mode = hugePagesMode();
    if (!glibc || glibc[0] * 1000 + glibc[1] < 2035 || (mode !== 'madvise' && mode !== 'always')) this.skip();
    // A buffer as the columns are, touched page by page; the process's anonymous huge pages after it.
    const script = "const b = new Uint8Array(new SharedArrayBuffer(64 << 20)); for (let i = 0; i < b.length; i += 4096) b[i] = 1; const m = /AnonHugePages:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/smaps_rollup', 'utf8')); console.log(m ? m[1] : 'none')";
    const hugeKb = (env: NodeJS.ProcessEnv) => {
      const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env });
      assert.equal(r.status, 0, r.stderr);
      return Number(r.stdout.trim());
    };
    assert.ok(hugeKb(parseProcessEnv({ ...process.env, GLIBC_TUNABLES: undefined })) >= 32 * 1024, 'at least half the buffer in huge pages');
    if (mode === 'madvise') assert.ok(hugeKb({ ...process.env, GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }) < 32 * 1024, 'and not without the setting (else this test tests nothing)');
  });

  it("a parse process's V8 flags leave Node.js's built-in code cache usable (its threads start without compiling Node.js again)", () => {
    // V8 checks a cache against this tag (its version, flags and CPU features): --single-threaded changes it.
    const tag = (flags: string[]) => {
      const r = spawnSync(process.execPath, [...flags, '-p', "require('v8').cachedDataVersionTag()"], { encoding: 'utf8', env: parseProcessEnv(process.env) });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim();
    };
    assert.equal(tag(PROCESS_FLAGS), tag([]));
    assert.notEqual(tag(['--single-threaded']), tag([]), 'a flag that changes the tag is seen (else this test tests nothing)');
  });

  it('a parse process whose parent goes away while it writes removes what it wrote', async function () {
    const out = join(mkdtempSync(join(tmpdir(), 'lcl-handover-')), 'columns.cols');
    const child = fork(join(ROOT, 'out', 'src', 'services', 'parseProcess.js'), [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], serialization: 'advanced' });
    const exited = new Promise((r) => child.on('exit', r));
    const heard: string[] = [];
    // Held for 2 s (synchronously, as a long write) after the parse (~0.1 s for this file, after its first progress):
    // the channel closes meanwhile.
    child.send({ path: trace, displayName: 't.jsonl', overrides: [], parallelBytes: 0, out, key: cacheKeyOf(trace, ''), holdBeforeWriteMs: 2000 });
    child.on('message', (m: { type: string }) => heard.push(m.type));
    while (heard.length === 0) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 600));
    child.disconnect();
    await exited;
    assert.ok(!heard.includes('done'), heard.join());
    assert.ok(!existsSync(dirname(out)), 'the folder of the columns is still there');
  });

  it('a parse process that cannot write its hand-over (memory full) writes the columns to the cache file and says so', async () => {
    writeFileSync(join(dir, 'full'), 'x');
    const cacheFile = join(dir, 'spill', 'c.cols');
    const key = cacheKeyOf(trace, 'v1');
    const child = fork(join(ROOT, 'out', 'src', 'services', 'parseProcess.js'), [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], serialization: 'advanced' });
    const exited = new Promise((r) => child.on('exit', r));
    const done = new Promise<{ type: string; at?: string; calls?: number }>((resolve) => child.on('message', (m: { type: string }) => m.type !== 'progress' && resolve(m)));
    child.send({ path: trace, displayName: 't.jsonl', overrides: [], parallelBytes: 0, out: join(dir, 'full', 'columns.cols'), key, cacheFile });
    const m = await done;
    assert.equal(m.type, 'done');
    assert.equal(m.at, cacheFile);
    const state = await readStateCache(cacheFile, key);
    assert.equal(state?.columns.length, m.calls);
    await exited;
  });

  it('parses in the load worker when the child process cannot write the columns', async () => {
    writeFileSync(join(dir, 'not-a-dir'), 'x');
    const sources: string[] = [];
    const w = await loadInWorker(WORKER, { path: trace, displayName: 't.jsonl', overrides: [], parallelBytes: 0, cache: { dir: join(dir, 'not-a-dir'), settings: 'v1' }, memoryHandover: false }, new StringPool(), { onSource: (s) => sources.push(s) });
    assert.deepEqual(sources, ['thread']);
    assert.equal(w.table.length, 5000);
    assertUsd(stats(select([w.table])).costUsd, stats(select([loadText(text, 't.jsonl').table])).costUsd);
  });

  it('keeps the parse in the child process when only the cache cannot be written (columns handed over in memory)', async function () {
    if (!memoryHandover) this.skip();
    writeFileSync(join(dir, 'not-a-dir'), 'x');
    const sources: string[] = [];
    const w = await loadInWorker(WORKER, { path: trace, displayName: 't.jsonl', overrides: [], parallelBytes: 0, cache: { dir: join(dir, 'not-a-dir'), settings: 'v1' } }, new StringPool(), { onSource: (s) => sources.push(s) });
    assert.deepEqual(sources, ['process']);
    assert.equal(w.table.length, 5000);
    assert.equal(await eventually(() => parseTemps().length === 0), true, parseTemps().join());
    // The process is gone once it tried: nothing was written anywhere.
    await eventually(() => parseProcesses().length === 0);
    assert.deepEqual(parseProcesses(), []);
  });

  it('stops the child process and leaves no temp file when cancelled while it parses', async function () {
    if (!existsSync('/proc')) this.skip();
    // ~100,000 lines: the parse is still running when the first progress comes.
    writeFileSync(trace, text.replace(/\{"model":"gpt-4o",broken\n$/, '').repeat(20));
    assert.deepEqual(parseProcesses(), []);
    const abort = new AbortController();
    let seen = 0;
    const p = loadInWorker(WORKER, { path: trace, displayName: 't.jsonl', overrides: [], parallelBytes: 0 }, new StringPool(), {
      signal: abort.signal,
      onProgress: () => {
        if (seen++ === 0) {
          assert.equal(parseProcesses().length, 1);
          abort.abort();
        }
      },
    });
    await assert.rejects(p, LoadCancelled);
    // Both are gone within moments (the child is killed; its folder removed once it is gone).
    for (let k = 0; k < 100 && parseProcesses().length + parseTemps().length > 0; k++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(parseProcesses(), []);
    assert.deepEqual(parseTemps(), []);
  });

  it('writes a cache on the first load and uses it on the next, with the same figures', async () => {
    const cache = { dir: join(dir, 'cache'), settings: 'v1' };
    const hits: string[] = [];
    const first = await loadInWorker(WORKER, { path: trace, displayName: 't.jsonl', overrides: [], cache }, new StringPool(), { onSource: (s) => hits.push(s) });
    const second = await loadInWorker(WORKER, { path: trace, displayName: 't.jsonl', overrides: [], cache }, new StringPool(), { onSource: (s) => hits.push(s) });
    assert.deepEqual(hits, ['thread', 'cache']);
    assertUsd(stats(select([second.table])).costUsd, stats(select([first.table])).costUsd);
    assert.deepEqual(second.problems, first.problems);
    assert.deepEqual(second.position, first.position);
  });

  it('reads a cache hit on the calling thread (no worker starts), giving its event loop a turn per checked column', async () => {
    const cache = { dir: join(dir, 'cache'), settings: 'v1' };
    const first = await loadInWorker(WORKER, { path: trace, displayName: 't.jsonl', overrides: [], cache }, new StringPool());
    // A worker script that does not exist: the load can only succeed without a worker.
    const hits: string[] = [];
    const second = await loadInWorker(join(dir, 'no-such-worker.js'), { path: trace, displayName: 't.jsonl', overrides: [], cache }, new StringPool(), { onSource: (s) => hits.push(s) });
    assert.deepEqual(hits, ['cache']);
    assert.equal(second.table.length, first.table.length);
    assertUsd(stats(select([second.table])).costUsd, stats(select([first.table])).costUsd);
    // Without a cache entry the worker is needed, and its failure is reported.
    await assert.rejects(loadInWorker(join(dir, 'no-such-worker.js'), { path: trace, displayName: 't.jsonl', overrides: [], cache: { ...cache, settings: 'v2' } }, new StringPool()));
    let turns = 0;
    const file = cacheFileFor(cache.dir, trace);
    const back = await readStateCache(file, cacheKeyOf(trace, 'v1'), async () => {
      turns++;
      await new Promise<void>((r) => setImmediate(r));
    });
    assert.ok(back);
    // One check per id column, one for the trace indexes, one for the trace ids' ends, and one each for the context's
    // messages' output tokens and rows.
    assert.equal(turns, Object.keys(back.columns.ids).length + 4);
    // Cancelled while the cache was read: no state.
    const abort = new AbortController();
    const p = loadInWorker(WORKER, { path: trace, displayName: 't.jsonl', overrides: [], cache }, new StringPool(), { signal: abort.signal });
    abort.abort();
    await assert.rejects(p, LoadCancelled);
  });

  it('sums the first level asked for from a cache entry ahead of its other columns, as the tree sums it from the table', async () => {
    // Every third call with a recorded cost, for the sources to differ.
    const costed = text.split('\n').map((l, i) => (i % 3 === 0 && l.startsWith('{"') && !l.includes('broken') ? `{"cost_usd":${(i % 17) * 0.0013},${l.slice(1)}` : l)).join('\n');
    writeFileSync(trace, costed);
    const state = loadText(costed, 't.jsonl');
    const file = cacheFileFor(join(dir, 'cache'), trace);
    const key = cacheKeyOf(trace, 'v1');
    writeStateCache(file, key, packState(state).packed);
    const times = [...state.table.tsMs.subarray(0, state.table.length)].sort((a, b) => a - b);
    const mid = times[times.length >> 1];
    const requests: PreviewRequest[] = [
      { dim: 'feature', source: 'auto' },
      { dim: 'model', source: 'computed', sinceMs: mid },
      { dim: 'user', source: 'recorded', sinceMs: times[0], untilMs: mid },
      { dim: 'no-such-tag', source: 'auto' },
    ];
    const byValue = (l: LevelPreview) => [...l.groups].sort((a, b) => a.value.localeCompare(b.value));
    const plain = (await readStateCache(file, key))!;
    for (const request of requests) {
      const events: string[] = [];
      let got: LevelPreview | undefined;
      let turns = 0;
      const turn = async () => {
        turns++;
        await new Promise<void>((r) => setImmediate(r));
      };
      const back = await readStateCache(file, key, turn, { request, slice: 700, send: (l) => (events.push('level'), (got = l)) });
      events.push('read');
      assert.deepEqual(events, ['level', 'read'], 'the level comes before the columns');
      const want = previewLevel([tablePart(state.table)], request)!;
      assert.deepEqual({ ...got!, groups: byValue(got!) }, { ...want, groups: byValue(want) }, JSON.stringify(request));
      assert.ok(want.groups.length > (request.dim === 'no-such-tag' ? 0 : 1) && want.groups.some((g) => g.pricedCalls > 0), `groups with costs (else this tests little): ${JSON.stringify(want)}`);
      // Summed in slices with a turn between two, besides the checks' turns; the columns as read without a level.
      assert.equal(turns, Object.keys(plain.columns.ids).length + 4 + Math.ceil(state.table.length / 700) - 1);
      assert.deepEqual(back, plain);
    }
    // An entry of the file when it was shorter gives no level: its calls are not all the file's.
    appendFileSync(trace, costed.split('\n')[0] + '\n');
    let sent = 0;
    const grown = await readStateCacheOf(file, cacheKeyOf(trace, 'v1'), true, undefined, { request: requests[0], send: () => sent++ });
    assert.equal(grown?.earlier, true);
    assert.equal(sent, 0);
    // Nor does an entry whose level's columns fail their checks (a feature id out of range).
    const bytes = readFileSync(file);
    const evil = Buffer.from(bytes);
    evil.writeInt32LE(1e9, cacheColumnAt(bytes, 'dim:feature').at + 4 * 7);
    writeFileSync(file, evil);
    assert.equal(await readStateCache(file, key, undefined, { request: requests[0], send: () => sent++ }), undefined);
    assert.equal(sent, 0, 'no level from a corrupt entry');
  });

  it('gives the first level asked for on a cache hit through the loader, before the load ends', async () => {
    const cache = { dir: join(dir, 'cache'), settings: 'v1' };
    const first = await loadInWorker(WORKER, { path: trace, displayName: 't.jsonl', overrides: [], cache }, new StringPool());
    const events: string[] = [];
    const preview = { dim: 'feature', source: 'auto' as const };
    let level: LevelPreview | undefined;
    await loadInWorker(WORKER, { path: trace, displayName: 't.jsonl', overrides: [], cache, preview }, new StringPool(), {
      onSource: (s) => events.push(s),
      onPreview: (l) => (events.push('level'), (level = l)),
    });
    events.push('loaded');
    assert.deepEqual(events, ['level', 'cache', 'loaded']);
    assert.deepEqual(level, previewLevel([tablePart(first.table)], preview));
  });

  it('reads a grown file from the cache of when it was shorter, then only the new bytes, with the figures of a full read', async () => {
    const live = join(dir, 'live.jsonl');
    const lines = text.split('\n').filter((l) => l && !l.includes('broken'));
    writeFileSync(live, lines.slice(0, 3000).join('\n') + '\n{"model":"gpt-4o",broken\n');
    const cache = { dir: join(dir, 'grow-cache'), settings: 'v1' };
    const load = async (pool = new StringPool()) => {
      const seen: { source?: string; grownBy?: number } = {};
      const state = await loadInWorker(WORKER, { path: live, displayName: 'live.jsonl', overrides: [], cache, parallelBytes: 0 }, pool, { onSource: (s, i) => Object.assign(seen, { source: s, grownBy: i.grownBy }) });
      return { state, seen };
    };
    const same = (a: Awaited<ReturnType<typeof load>>['state']) => {
      // As the load reads it: a last line without its newline waits for it.
      const full = readTraceFile(live, { pool: new StringPool(), prices: new PriceBook(), final: false, displayName: 'live.jsonl' }).state;
      assert.equal(a.table.length, full.table.length);
      assertUsd(stats(select([a.table])).costUsd, stats(select([full.table])).costUsd);
      assert.deepEqual(a.problems, full.problems);
      assert.deepEqual(a.position, full.position);
      for (let i = 0; i < full.table.length; i++) {
        assert.equal(a.table.pool.get(a.table.dims.feature[i]), full.table.pool.get(full.table.dims.feature[i]));
        assert.equal(a.table.traces.text(a.table.traceId[i]), full.table.traces.text(full.table.traceId[i]));
      }
    };
    const first = await load();
    assert.equal(first.seen.source, 'process');
    assert.ok(await eventually(() => existsSync(cacheFileFor(cache.dir, live))));
    // Appended lines (the last one still being written): from the cache, then only them. Into a window whose pool
    // already holds other strings (its string ids are rewritten in place as the columns are taken in).
    appendFileSync(live, lines.slice(3000, 4000).join('\n') + '\n{"model":"gpt-4o","input_tok');
    const busy = new StringPool();
    for (let k = 0; k < 500; k++) busy.id(`other file's string ${k}`);
    const grown = await load(busy);
    assert.deepEqual(grown.seen, { source: 'cache', grownBy: 1000 });
    same(grown.state);
    // The cache was written for the grown file before the columns were handed over: a new window reads it as it is,
    // with the figures of a full read (not ids of the other window's pool).
    assert.ok(await readStateCache(cacheFileFor(cache.dir, live), cacheKeyOf(live, 'v1')));
    const again = await load();
    assert.deepEqual(again.seen, { source: 'cache', grownBy: undefined });
    same(again.state);
    // The bytes just before the cached end changed (first 4 KB kept), and more appended: read again from the start.
    const bytes = readFileSync(live);
    const end = again.state.position.offset;
    let d = end - 2;
    while (d > end - 60 && !(bytes[d] >= 0x30 && bytes[d] <= 0x39)) d--;
    assert.ok(d > end - 60, 'a digit near the cached end');
    bytes[d] = bytes[d] === 0x39 ? 0x38 : bytes[d] + 1;
    writeFileSync(live, Buffer.concat([bytes.subarray(0, end), Buffer.from(lines.slice(4000, 4200).join('\n') + '\n')]));
    const changed = await load();
    assert.notEqual(changed.seen.source, 'cache');
    same(changed.state);
    // Other first lines, the same size and more: read again from the start.
    writeFileSync(live, lines.slice(1, 4500).join('\n') + '\n');
    const rewritten = await load();
    assert.notEqual(rewritten.seen.source, 'cache');
    same(rewritten.state);
  });

  it('ignores a cache when the size, modification time, first bytes or settings changed, or when it is corrupt', async () => {
    const state = loadText(text, 't.jsonl');
    const file = cacheFileFor(join(dir, 'cache'), trace);
    const key = cacheKeyOf(trace, 's');
    writeStateCache(file, key, packState(state).packed);
    assert.ok(await readStateCache(file, key), 'a matching cache is used');
    assert.equal(await readStateCache(file, { ...key, settings: 'other prices' }), undefined);
    appendFileSync(trace, '\n');
    assert.equal(await readStateCache(file, cacheKeyOf(trace, 's')), undefined, 'size changed');
    writeFileSync(trace, text);
    utimesSync(trace, new Date(), new Date(Date.now() + 5000));
    assert.equal(await readStateCache(file, cacheKeyOf(trace, 's')), undefined, 'mtime changed');
    writeFileSync(trace, 'X' + text.slice(1));
    const k2 = cacheKeyOf(trace, 's');
    assert.notEqual(k2.headSha1, key.headSha1);
    // Corrupt: cut in half, or garbage.
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, bytes.length >> 1));
    assert.equal(await readStateCache(file, key), undefined);
    writeFileSync(file, Buffer.from('not a cache'));
    assert.equal(await readStateCache(file, key), undefined);
  });

  it('caches strings as one string with lengths: tricky strings survive, ids are kept in an empty pool and remapped in a used one', async () => {
    const odd = ['feature\u0000nul', 'émoji 🚀', '', 'a|b', 'x'.repeat(150)];
    const recs = odd.map((f, i) => JSON.stringify({ model: 'gpt-4o', input_tokens: 10 + i, output_tokens: 1, trace_id: `t${i}`, metadata: { feature: f || undefined, user_id: `u${i}` } }));
    writeFileSync(trace, recs.join('\n') + '\n');
    const cache = { dir: join(dir, 'cache'), settings: 'v1' };
    const first = await loadInWorker(WORKER, { path: trace, displayName: 't.jsonl', overrides: [], cache }, new StringPool());
    // A new window: an empty pool takes the cached strings with their ids.
    const fresh = new StringPool();
    const hits: string[] = [];
    const again = await loadInWorker(WORKER, { path: trace, displayName: 't.jsonl', overrides: [], cache }, fresh, { onSource: (s) => hits.push(s) });
    assert.deepEqual(hits, ['cache']);
    const features = (st: typeof first) => [...st.table.dims.feature.subarray(0, st.table.length)].map((id) => st.table.pool.get(id));
    assert.deepEqual(features(again), features(first));
    assert.deepEqual(features(again), odd);
    // The adopted pool still interns and finds strings (its lookup is built when first needed).
    assert.equal(fresh.peek('émoji 🚀'), again.table.dims.feature[1]);
    const n = fresh.values.length;
    assert.equal(fresh.id('new value'), n);
    assert.equal(fresh.id('a|b'), again.table.dims.feature[3]);
    // A pool that already holds strings gets them re-interned, same values.
    const used = new StringPool();
    used.id('something else');
    const third = await loadInWorker(WORKER, { path: trace, displayName: 't.jsonl', overrides: [], cache }, used);
    assert.deepEqual(features(third), odd);
    assert.equal(third.table.traces.text(third.table.traceId[4]), 't4');
  });

  it('caches strings one byte per unit when they allow it, UTF-16 otherwise, and rejects an unknown encoding', async () => {
    const file = cacheFileFor(join(dir, 'cache'), trace);
    const key = cacheKeyOf(trace, 's');
    const headerOf = () => {
      const b = readFileSync(file);
      const at = 16 + b.readUInt32LE(12); // after the prelude
      return JSON.parse(b.subarray(at, at + b.readUInt32LE(8)).toString('utf8'));
    };
    for (const [feature, encoding] of [['café \u00ff nul\u0000', 'latin1'], ['émoji 🚀', undefined], ['\u0100', undefined]] as const) {
      const rec = JSON.stringify({ model: 'gpt-4o', input_tokens: 1, output_tokens: 1, metadata: { feature } });
      const state = loadText(`${text}${rec}\n`, 't.jsonl');
      writeStateCache(file, key, packState(state).packed);
      assert.equal(headerOf().strings.encoding, encoding, feature);
      const pool = new StringPool();
      const t = unpackState((await readStateCache(file, key))!, pool).table;
      assert.equal(pool.get(t.dims.feature[t.length - 1]), feature);
      assert.deepEqual(pool.values, state.table.pool.values.slice(0, pool.values.length), 'every string the same');
    }
    const bytes = readFileSync(file);
    const headLen = bytes.readUInt32LE(8);
    const headAt = 16 + bytes.readUInt32LE(12);
    const head = bytes.subarray(headAt, headAt + headLen).toString('utf8');
    const forged = head.replace('"units":', '"encoding":"ascii","units":');
    assert.notEqual(forged, head);
    const lead = Buffer.from(bytes.subarray(0, 16));
    lead.writeUInt32LE(Buffer.byteLength(forged), 8);
    const body = bytes.subarray((headAt + headLen + 7) & ~7);
    const pad = Buffer.alloc(((headAt + Buffer.byteLength(forged) + 7) & ~7) - headAt - Buffer.byteLength(forged));
    writeFileSync(file, Buffer.concat([lead, bytes.subarray(16, headAt), Buffer.from(forged), pad, body]));
    assert.equal(await readStateCache(file, key), undefined, 'unknown encoding');
  });

  it('removes temp files that a stopped writer left behind, and only old ones', () => {
    const state = loadText(text, 't.jsonl');
    const file = cacheFileFor(join(dir, 'cache'), trace);
    const key = cacheKeyOf(trace, 's');
    writeStateCache(file, key, packState(state).packed);
    const old = `${file}.999991.tmp`;
    const recent = `${file}.999992.tmp`;
    const other = join(dir, 'cache', 'someone-else.cols.999993.tmp');
    for (const f of [old, recent, other]) writeFileSync(f, 'half written');
    const longAgo = new Date(Date.now() - 3600_000);
    utimesSync(old, longAgo, longAgo);
    utimesSync(other, longAgo, longAgo);
    writeStateCache(file, key, packState(state).packed);
    assert.equal(existsSync(old), false, 'an hour-old temp file of this cache is removed');
    assert.equal(existsSync(recent), true, 'a temp file another window may be writing now is kept');
    assert.equal(existsSync(other), true, "another cache file's temp files are its own writer's business");
    rmSync(recent);
    rmSync(other);
  });

  it('caches a table with more trace ids than rows (Claude Code messages completed later, sessions interleaved)', async () => {
    const line = (session: string, id: string, out: number, uuid: string) =>
      JSON.stringify({ type: 'assistant', sessionId: session, uuid, timestamp: '2025-06-01T10:00:00.000Z', message: { id, model: 'claude-sonnet-4-5-20250929', usage: { input_tokens: 10, output_tokens: out } } });
    const lines: string[] = [];
    for (let m = 0; m < 3; m++) for (const [s, pass] of [['s1', 0], ['s2', 0], ['s1', 1], ['s2', 1]] as const) lines.push(line(s, `${s}_m${m}`, pass ? 50 : 1, `${s}-${m}-${pass}`));
    const state = loadText(lines.join('\n') + '\n', 'cc.jsonl');
    assert.equal(state.table.length, 6);
    assert.ok(state.table.traces.count > state.table.length, `${state.table.traces.count} trace ids`);
    const file = cacheFileFor(join(dir, 'cache'), trace);
    const key = cacheKeyOf(trace, 's');
    writeStateCache(file, key, packState(state).packed);
    const back = await readStateCache(file, key);
    assert.ok(back, 'the cache is read back, not rejected');
    const t = unpackState(back, new StringPool()).table;
    const texts = (x: typeof t) => Array.from(x.traceId.subarray(0, x.length), (k) => x.traces.text(k));
    assert.deepEqual(texts(t), texts(state.table));
    assert.deepEqual(texts(t), ['s1', 's2', 's1', 's2', 's1', 's2']);
  });

  it('keeps the reading context (seen ids, Claude Code messages) out of the header, reads it back whole, and takes it in between event-loop turns', async () => {
    const cc = (id: string, out: number) =>
      JSON.stringify({ type: 'assistant', sessionId: 's', uuid: `u-${id}-${out}`, timestamp: '2025-06-01T10:00:00.000Z', message: { id, model: 'claude-sonnet-4-5-20250929', usage: { input_tokens: 10, output_tokens: out } } });
    const ids = Array.from({ length: 50_000 }, (_, i) => `msg_${i}${i % 1000 === 0 ? '_é🚀' : ''}`);
    const p = join(dir, 'cc.jsonl');
    writeFileSync(p, ids.map((id, i) => cc(id, 1 + (i % 7))).join('\n') + '\n');
    const cache = { dir: join(dir, 'cache'), settings: 'v1' };
    const first = await loadInWorker(WORKER, { path: p, displayName: 'cc.jsonl', overrides: [], cache }, new StringPool());
    assert.equal(first.ctx.messages.size, ids.length);
    const file = cacheFileFor(cache.dir, p);
    const bytes = readFileSync(file);
    const header = bytes.subarray(16 + bytes.readUInt32LE(12), 16 + bytes.readUInt32LE(12) + bytes.readUInt32LE(8)).toString('utf8');
    assert.ok(!header.includes('msg_1'), 'no message id in the header');
    assert.ok(bytes.readUInt32LE(8) < 10_000, `header ${bytes.readUInt32LE(8)} bytes`);
    // Read back on this thread: the same messages, with their output tokens and rows.
    const again = await loadInWorker(join(dir, 'no-such-worker.js'), { path: p, displayName: 'cc.jsonl', overrides: [], cache }, new StringPool());
    assert.deepEqual([...again.ctx.messages], [...first.ctx.messages]);
    assert.deepEqual([...again.ctx.seenIds], [...first.ctx.seenIds]);
    assert.equal(first.ctx.claudeCode, true, 'the load worker says the file holds Claude Code messages');
    assert.equal(again.ctx.claudeCode, true, 'and so does the cache (copies in other files are matched with them)');
    assert.equal(again.ctx.ignored, first.ctx.ignored);
    // Taken in between event-loop turns: at most 20,000 ids per turn; a cancel stops it at the next turn.
    const packed = (await readStateCache(cacheFileFor(cache.dir, p), cacheKeyOf(p, 'v1')))!;
    let turns = 0;
    const sliced = await contextSliced(packed, undefined, undefined, async () => {
      turns++;
    });
    assert.ok(turns >= 3, `${turns} turns for 50,000 ids`);
    assert.deepEqual([...sliced.messages], [...first.ctx.messages]);
    const abort = new AbortController();
    let cut = 0;
    const partial = await contextSliced(packed, undefined, abort.signal, async () => {
      if (++cut === 2) abort.abort();
    });
    assert.equal(cut, 2);
    assert.ok(partial.messages.size < ids.length);
    // A context whose lengths do not add up: rejected.
    const key = cacheKeyOf(p, 'v1');
    const h = JSON.parse(header);
    let at = cacheColumnAt(bytes).at;
    at += ((h.traces.count + 1) * 4 + 7) & ~7;
    at += (h.traces.bytes + 7) & ~7;
    assert.equal(h.ctx.count, ids.length);
    assert.equal(bytes.readUInt32LE(at), ids[0].length, 'the context ids\' lengths come after the trace ids');
    const evil = Buffer.from(bytes);
    evil.writeUInt32LE(ids[0].length + 1, at);
    writeFileSync(file, evil);
    assert.equal(await readStateCache(file, key), undefined, 'context lengths that do not add up');
    // Messages' output tokens and rows: a count, and -1 or a row of the table held by one message only.
    const outAt = (at + h.ctx.count * 4 + 7) & ~7;
    const msgs = h.ctx.count - h.ctx.seen;
    const rowAt = (outAt + msgs * 8 + 7) & ~7;
    assert.equal(bytes.readInt32LE(rowAt), 0, 'the first message holds row 0');
    for (const [what, spoil] of [
      ['output tokens NaN', (b: Buffer) => b.writeDoubleLE(NaN, outAt)],
      ['output tokens negative', (b: Buffer) => b.writeDoubleLE(-1, outAt)],
      ['a row past the table', (b: Buffer) => b.writeInt32LE(h.length, rowAt)],
      ['a row below -1', (b: Buffer) => b.writeInt32LE(-2, rowAt)],
      ['a row held twice', (b: Buffer) => b.writeInt32LE(bytes.readInt32LE(rowAt + 4), rowAt)],
    ] as const) {
      const spoilt = Buffer.from(bytes);
      spoil(spoilt);
      writeFileSync(file, spoilt);
      assert.equal(await readStateCache(file, key), undefined, what);
    }
    const unstored = Buffer.from(bytes);
    unstored.writeInt32LE(-1, rowAt);
    writeFileSync(file, unstored);
    assert.ok(await readStateCache(file, key), 'a message not stored yet (-1) is fine');
    writeFileSync(file, bytes);
    assert.ok(await readStateCache(file, key));
  });

  it('keeps a Codex rollout\'s running total in the cache, so a repeated token_count appended after a reopen is no new call', async () => {
    const total = { input_tokens: 1000, cached_input_tokens: 200, output_tokens: 500, reasoning_output_tokens: 300, total_tokens: 1500 };
    const event = JSON.stringify({ timestamp: '2026-05-01T10:00:05Z', type: 'event_msg', payload: { type: 'token_count', info: { total_token_usage: total, last_token_usage: total } } });
    const p = join(dir, 'rollout.jsonl');
    writeFileSync(p, JSON.stringify({ timestamp: '2026-05-01T10:00:01Z', type: 'turn_context', payload: { model: 'gpt-5' } }) + '\n' + event + '\n');
    const cache = { dir: join(dir, 'cache-codex'), settings: 'v1' };
    const first = await loadInWorker(WORKER, { path: p, displayName: 'rollout.jsonl', overrides: [], cache }, new StringPool());
    assert.equal(first.table.length, 1);
    assert.equal(typeof first.ctx.codexTotal, 'string');
    const again = await loadInWorker(join(dir, 'no-such-worker.js'), { path: p, displayName: 'rollout.jsonl', overrides: [], cache }, new StringPool());
    assert.equal(again.ctx.codexTotal, first.ctx.codexTotal);
    ingestBytes(again, new TextEncoder().encode(event + '\n'), true, new PriceBook());
    assert.equal(again.table.length, 1, 'the repeat is ignored');
  });

  it('decides from the prelude alone whether an entry is of use (the header, tens of MB for a transcript, is not parsed), and rejects a prelude that disagrees with its header', async () => {
    const state = loadText(text, 't.jsonl');
    const file = cacheFileFor(join(dir, 'cache'), trace);
    const key = cacheKeyOf(trace, 's');
    writeStateCache(file, key, packState(state).packed);
    const bytes = readFileSync(file);
    const headLen = bytes.readUInt32LE(8);
    const headAt = 16 + bytes.readUInt32LE(12);
    // The header made unreadable: what the prelude decides does not need it.
    const broken = Buffer.from(bytes);
    broken.fill(0x7b, headAt, headAt + headLen);
    writeFileSync(file, broken);
    const grown = { ...key, size: key.size + 100, mtimeMs: key.mtimeMs + 1 };
    assert.equal(earlierCacheOffset(file, grown), state.position.offset, 'an earlier entry, from its prelude');
    assert.equal(earlierCacheOffset(file, key), undefined, 'the same file is not an earlier entry');
    assert.equal(earlierCacheOffset(file, { ...grown, settings: 'other' }), undefined, 'other settings');
    assert.equal(await readStateCacheOf(file, { ...key, settings: 'other' }), undefined);
    assert.equal(await readStateCache(file, key), undefined, 'a matching prelude, an unreadable header');
    // A prelude that says another key or offset than its header: rejected.
    for (const [what, forge] of [
      ['key', (p: { key: { size: number }; offset: number }) => (p.key.size += 1)],
      ['offset', (p: { key: { size: number }; offset: number }) => (p.offset -= 1)],
    ] as const) {
      const pl = bytes.readUInt32LE(12);
      const prelude = JSON.parse(bytes.subarray(16, 16 + pl).toString('utf8'));
      forge(prelude);
      const text2 = Buffer.from(JSON.stringify(prelude).padEnd(pl, ' '));
      assert.equal(text2.length, pl, 'the forged prelude keeps its length');
      const forged = Buffer.from(bytes);
      text2.copy(forged, 16);
      writeFileSync(file, forged);
      assert.equal(await readStateCache(file, prelude.key), undefined, `prelude ${what} forged`);
    }
    writeFileSync(file, bytes);
    assert.ok(await readStateCache(file, key));
  });

  it('rejects a cache whose string lengths do not add up', async () => {
    const state = loadText(text, 't.jsonl');
    const file = cacheFileFor(join(dir, 'cache'), trace);
    const key = cacheKeyOf(trace, 's');
    const packed = packState(state).packed;
    writeStateCache(file, key, packed);
    assert.ok((await readStateCache(file, key))?.columns.joinedStrings, 'strings are cached joined');
    const bad = { ...packed, columns: { ...packed.columns, strings: [], joinedStrings: { text: 'abc', lengths: new Uint32Array([0, 5]) } } };
    writeStateCache(file, key, bad);
    assert.equal(await readStateCache(file, key), undefined);
    // The same when the strings are read first, for a level: no level either.
    let sent = 0;
    assert.equal(await readStateCache(file, key, undefined, { request: { dim: 'model', source: 'auto' }, send: () => sent++ }), undefined);
    assert.equal(sent, 0);
  });

  it('settles every piece of a cache read before failing with the first read that failed, never leaving one waiting', async () => {
    // A file handle whose third and fourth reads fail (both slots of the two at a time): the pieces queued behind them
    // still run, and the read fails.
    let reads = 0;
    let running = 0;
    let most = 0;
    const fh = {
      read: async (into: Uint8Array) => {
        const k = reads++;
        running++;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        if (k === 2 || k === 3) throw new Error('EIO');
        into.fill(1);
        return { bytesRead: into.length, buffer: into };
      },
    } as unknown as Pick<FileHandle, 'read'>;
    const regions = Array.from({ length: 6 }, (_, i) => ({ into: new Uint8Array(16), at: i * 16 }));
    await assert.rejects(readRegions(fh, regions), /EIO/);
    assert.equal(reads, 6, 'every piece was read');
    assert.equal(most, 2, 'two at a time');
    assert.equal(running, 0);
  });

  it('rejects a cache with an id out of range or one byte short, and keeps strings with lone surrogates', async () => {
    const lone = JSON.stringify({ model: 'gpt-4o', input_tokens: 1, output_tokens: 1, metadata: { feature: 'bad\ud800half' } });
    const state = loadText(`${text}${lone}\n`, 't.jsonl');
    const file = cacheFileFor(join(dir, 'cache'), trace);
    const key = cacheKeyOf(trace, 's');
    writeStateCache(file, key, packState(state).packed);
    const back = (await readStateCache(file, key))!;
    assert.ok(back);
    const pool = new StringPool();
    const t = unpackState(back, pool).table;
    assert.equal(pool.get(t.dims.feature[t.length - 1]), 'bad\ud800half');
    assert.ok(t.inputTokens.buffer instanceof SharedArrayBuffer, 'columns come back in shared memory');
    assert.ok(t.inputTokens.length > t.length, 'with room for appends');
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, bytes.length - 1));
    assert.equal(await readStateCache(file, key), undefined, 'one byte short');
    // An id column value past the strings: find the model column's first value and make it huge.
    writeFileSync(file, bytes);
    const { at, header } = cacheColumnAt(bytes, 'dim:model');
    const evil = Buffer.from(bytes);
    evil.writeInt32LE(1e9, at);
    writeFileSync(file, evil);
    assert.equal(await readStateCache(file, key), undefined, 'id out of range');
    // The same for trace ids (indexes into the cached trace ids, not string ids), and for their ends.
    const traceAt = cacheColumnAt(bytes, 'traceId').at;
    assert.ok(header.traces.count > 0);
    assert.equal(bytes.readInt32LE(traceAt), 1, 'the first call holds the first trace id');
    const evilTrace = Buffer.from(bytes);
    evilTrace.writeInt32LE(header.traces.count + 1, traceAt);
    writeFileSync(file, evilTrace);
    assert.equal(await readStateCache(file, key), undefined, 'trace id out of range');
    const endsAt = cacheColumnAt(bytes).at;
    assert.equal(bytes.readUInt32LE(endsAt), 0, 'the ends of the trace ids come after the columns');
    const evilEnds = Buffer.from(bytes);
    evilEnds.writeUInt32LE(bytes.readUInt32LE(endsAt + 8) + 1, endsAt + 4);
    writeFileSync(file, evilEnds);
    assert.equal(await readStateCache(file, key), undefined, 'trace id ends out of order');
    writeFileSync(file, bytes);
    const good = unpackState((await readStateCache(file, key))!, new StringPool()).table;
    assert.equal(good.traces.text(good.traceId[0]), state.table.traces.text(state.table.traceId[0]));
  });

  it('rejects a cache with missing state fields, a column of the wrong type or thousands of columns, without big allocations', async () => {
    const state = loadText(text, 't.jsonl');
    const file = cacheFileFor(join(dir, 'cache'), trace);
    const key = cacheKeyOf(trace, 's');
    const packed = packState(state).packed;
    const n = packed.columns.length;
    const bad: [string, typeof packed][] = [
      ['no ctx', { ...packed, ctx: undefined as never }],
      ['tsMs as bytes', { ...packed, columns: { ...packed.columns, numeric: { ...packed.columns.numeric, tsMs: new Uint8Array(n) } } }],
      ['an unknown numeric column', { ...packed, columns: { ...packed.columns, numeric: { ...packed.columns.numeric, extra: new Float64Array(n) } } }],
      [
        '2,000 tag columns',
        { ...packed, columns: { ...packed.columns, length: 0, numeric: Object.fromEntries(Object.entries(packed.columns.numeric).map(([k, v]) => [k, v.subarray(0, 0)])), ids: Object.fromEntries([...Object.entries(packed.columns.ids).map(([k, v]) => [k, v.subarray(0, 0)]), ...Array.from({ length: 2000 }, (_, i) => [`tag:t${i}`, new Int32Array(0)])]) } },
      ],
    ];
    for (const [what, p] of bad) {
      writeStateCache(file, key, p);
      const before = process.memoryUsage().arrayBuffers;
      assert.equal(await readStateCache(file, key), undefined, what);
      assert.ok(process.memoryUsage().arrayBuffers - before < 64 << 20, `${what}: no big allocation`);
    }
  });

  it('rejects (never hangs) when the columns it got cannot be taken in', async () => {
    const cache = { dir: join(dir, 'cache'), settings: 'v1' };
    await loadInWorker(WORKER, { path: trace, displayName: 't.jsonl', overrides: [], cache }, new StringPool());
    // A pool whose interning throws stands for anything going wrong on the receiving side.
    const pool = new StringPool();
    pool.id('already here');
    pool.id = () => {
      throw new Error('boom');
    };
    await assert.rejects(loadInWorker(WORKER, { path: trace, displayName: 't.jsonl', overrides: [], cache }, pool), /boom/);
  });

  it('reuses a load worker from one load to the next (a workspace of many files), and never one whose load failed or was cancelled', async () => {
    const inline = loadText(text, 't.jsonl');
    const other = join(dir, 'u.jsonl');
    writeFileSync(other, text);
    const a = await loadInWorker(WORKER, { path: trace, displayName: 't.jsonl', overrides: [] }, new StringPool());
    const before = loadWorkersStarted();
    const b = await loadInWorker(WORKER, { path: other, displayName: 't.jsonl', overrides: [] }, new StringPool());
    assert.equal(loadWorkersStarted(), before, 'the second load took the first one\'s worker');
    for (const w of [a, b]) {
      assert.equal(w.table.length, inline.table.length);
      assertUsd(stats(select([w.table])).costUsd, stats(select([inline.table])).costUsd);
      assert.deepEqual(w.problems, inline.problems);
    }
    // A failed load (no such file) ends its worker: the next starts another.
    await assert.rejects(loadInWorker(WORKER, { path: join(dir, 'missing.jsonl'), displayName: 'm', overrides: [] }, new StringPool()));
    const afterFail = loadWorkersStarted();
    await loadInWorker(WORKER, { path: trace, displayName: 't.jsonl', overrides: [] }, new StringPool());
    assert.equal(loadWorkersStarted() - afterFail, 1, 'a new worker after a failed load');
    const abort = new AbortController();
    const p = loadInWorker(WORKER, { path: trace, displayName: 't.jsonl', overrides: [] }, new StringPool(), { signal: abort.signal });
    abort.abort();
    await assert.rejects(p, LoadCancelled);
    const afterCancel = loadWorkersStarted();
    const c = await loadInWorker(WORKER, { path: trace, displayName: 't.jsonl', overrides: [] }, new StringPool());
    assert.equal(c.table.length, inline.table.length);
    assert.equal(loadWorkersStarted() - afterCancel, 1, 'a new worker after a cancelled load');
  });

  it('keeps a load worker waiting for each of the loads run at once (the store runs LOADS_AT_ONCE), not more', async () => {
    const inline = loadText(text, 't.jsonl');
    const paths = [0, 1, 2, 3].map((k) => join(dir, `f${k}.jsonl`));
    for (const p of paths) writeFileSync(p, text);
    const load = (p: string) => loadInWorker(WORKER, { path: p, displayName: 't.jsonl', overrides: [] }, new StringPool());
    // Two at once, twice: the second pair takes the first pair's workers (however many were waiting before).
    await Promise.all(paths.slice(0, LOADS_AT_ONCE).map(load));
    const before = loadWorkersStarted();
    const got = await Promise.all(paths.slice(0, LOADS_AT_ONCE).map(load));
    assert.equal(loadWorkersStarted(), before, 'each load took a waiting worker');
    for (const w of got) assert.equal(w.table.length, inline.table.length);
    // More at once than are kept: the extra workers end; the next round starts only what it lacks.
    await Promise.all(paths.map(load));
    const afterWide = loadWorkersStarted();
    await Promise.all(paths.map(load));
    assert.equal(loadWorkersStarted() - afterWide, paths.length - LOADS_AT_ONCE, 'the workers beyond LOADS_AT_ONCE were not kept');
  });

  it('stops when cancelled', async () => {
    const abort = new AbortController();
    const p = loadInWorker(WORKER, { path: trace, displayName: 't.jsonl', overrides: [] }, new StringPool(), { signal: abort.signal });
    abort.abort();
    await assert.rejects(p, LoadCancelled);
  });
});
