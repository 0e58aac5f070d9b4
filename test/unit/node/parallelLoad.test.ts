import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { groupBy, select, stats } from '../../../src/core/analysis';
import { StringPool } from '../../../src/core/callTable';
import { PriceBook } from '../../../src/core/pricing';
import { TraceKeys } from '../../../src/core/traceIds';
import { type PackedTraceFileState, packState, type TraceFileState } from '../../../src/core/traceFile';
import { defaultParallelBytes, loadParallel, loadParallelPacked, type ParallelLoadOptions } from '../../../src/node/parallelLoad';
import { CHUNK } from '../../../src/node/chunks';
import { readTraceFile } from '../../../src/node/traceReader';
import { assertSameState } from '../core/fastScan.test';
import { assertUsd, fixture, ROOT } from '../helpers';

function sequential(path: string, final = true): TraceFileState {
  return readTraceFile(path, { pool: new StringPool(), prices: new PriceBook(), final, displayName: 't.jsonl' }).state;
}

function sameFigures(a: TraceFileState, b: TraceFileState) {
  const sa = stats(select([a.table]));
  const sb = stats(select([b.table]));
  assert.equal(sa.calls, sb.calls);
  assertUsd(sa.costUsd, sb.costUsd);
  const ga = groupBy(select([a.table]), ['feature']);
  const gb = groupBy(select([b.table]), ['feature']);
  assert.deepEqual(ga.map((g) => g.key), gb.map((g) => g.key));
  for (let i = 0; i < ga.length; i++) {
    assert.equal(ga[i].stats.calls, gb[i].stats.calls);
    assertUsd(ga[i].stats.costUsd, gb[i].stats.costUsd);
    assert.equal(ga[i].stats.p50Usd, gb[i].stats.p50Usd);
    assert.equal(ga[i].stats.p95Usd, gb[i].stats.p95Usd);
  }
}

/** The packed state of a load, columns cut to their rows: what the parse process writes as a state-cache file. */
function packedView(p: PackedTraceFileState) {
  const c = p.columns;
  const cut = (cols: Record<string, ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> }>) =>
    Object.fromEntries(Object.entries(cols).map(([k, v]) => [k, Array.from(v.subarray(0, c.length))]));
  const { columns: _, ...meta } = p;
  return { meta, length: c.length, numeric: cut(c.numeric), ids: cut(c.ids), text: c.joinedStrings?.text, lengths: Array.from(c.joinedStrings?.lengths ?? []) };
}

/** loadParallelPacked gives exactly what packing loadParallel's state gives (the same ids, strings, rows, problems). */
async function samePacked(path: string, opts: Omit<ParallelLoadOptions, 'pool'>, what: string) {
  const viaPool = await loadParallel(path, { ...opts, pool: new StringPool() });
  const packed = await loadParallelPacked(path, { ...opts, pool: new StringPool() });
  assert.equal(packed.ranges, viaPool.ranges, what);
  assert.equal(packed.calls, viaPool.state.table.length, what);
  assert.deepEqual(packedView(packed.packed), packedView(packState(viaPool.state, 'handOver').packed), what);
  return packed;
}

describe('loadParallel: byte ranges in worker threads, merged in order', function () {
  this.timeout(120000);
  let dir: string;
  let trace: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lcl-par-'));
    const gen = join(dir, 'gen.jsonl');
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'genTraces.mjs'), '--calls', '8000', '--out', gen, '--seed', '11', '--inject', 'all', '--with-cost=0.3'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    // Problems spread through the file, a usage-object line, blank and CRLF lines, and an unterminated last line.
    const lines = readFileSync(gen, 'utf8').split('\n').filter(Boolean);
    const out: string[] = [];
    lines.forEach((l, i) => {
      out.push(i % 997 === 5 ? l + '\r' : l);
      if (i % 1500 === 7) out.push('{"model":"gpt-4o","input_tokens":-1,"output_tokens":2}');
      if (i % 2100 === 3) out.push('not json at all');
      if (i % 1800 === 9) out.push('');
      if (i % 2500 === 1) out.push('{"model":"gpt-4o","usage":{"prompt_tokens":100,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":20}},"metadata":{"feature":"search"}}');
    });
    trace = join(dir, 't.jsonl');
    writeFileSync(trace, out.join('\n') + '\n{"model":"gpt-4o","input_tokens":1,"output_tokens":');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const workers of [2, 3, 4]) {
    it(`gives the same rows, line numbers, problems and figures as the single reader with ${workers} workers`, async () => {
      const seq = sequential(trace);
      const r = await loadParallel(trace, { pool: new StringPool(), final: true, workers, minParallelBytes: 0, displayName: 't.jsonl' });
      assert.equal(r.ranges, workers);
      assert.equal(r.sequentialReason, undefined);
      assert.ok(r.fastLines > 7000, `fast lines ${r.fastLines}`);
      assertSameState(r.state, seq, `${workers} workers`);
      sameFigures(r.state, seq);
      assert.ok(seq.problems.some((p) => p.message.includes('incomplete last line')));
    });

    it(`packs the same columns and strings without a pool (loadParallelPacked, the parse process) with ${workers} workers`, async () => {
      const r = await samePacked(trace, { final: true, workers, minParallelBytes: 0, displayName: 't.jsonl' }, `${workers} workers`);
      assert.equal(r.ranges, workers);
      await samePacked(trace, { final: false, workers, minParallelBytes: 0, displayName: 't.jsonl' }, `${workers} workers, not final`);
    });
  }

  it('reads a file below the threads size with one reader, and says what its scanner read', async () => {
    const r = await loadParallel(trace, { pool: new StringPool(), final: true, displayName: 't.jsonl' });
    assert.equal(r.ranges, 1);
    assert.equal(r.sequentialReason, 'small file');
    assert.ok(r.fastLines > 7000 && (r.wasmLines ?? 0) > 7000, JSON.stringify(r));
    assertSameState(r.state, sequential(trace), 'one reader');
    // Threads pay from ~200 MB on 2 cores (measured), less with more cores; never below 32 MB.
    assert.equal(defaultParallelBytes(2, {}), 192 * 1024 * 1024);
    assert.equal(defaultParallelBytes(8, {}), 48 * 1024 * 1024);
    assert.equal(defaultParallelBytes(64, {}), 32 * 1024 * 1024);
    assert.equal(defaultParallelBytes(2, { LLM_COST_LENS_THREADS_BYTES: '1000' }), 1000);
    assert.equal(defaultParallelBytes(2, { LLM_COST_LENS_THREADS_BYTES: 'x' }), 192 * 1024 * 1024);
  });

  it('keeps the bad lines of every range however many warnings come first, and counts the rest, like one reader', async () => {
    const f = join(dir, 'warnings.jsonl');
    const lines: string[] = [];
    for (let n = 0; n < 12000; n++) lines.push(n % 1000 === 999 ? '{"model":"gpt-4o", broken' : '{"model":"gpt-4o","input_tokens":10.5,"output_tokens":2}');
    writeFileSync(f, lines.join('\n') + '\n');
    const seq = sequential(f);
    const r = await loadParallel(f, { pool: new StringPool(), final: true, workers: 2, minParallelBytes: 0, displayName: 't.jsonl' });
    assert.equal(r.ranges, 2);
    assertSameState(r.state, seq, 'warnings');
    assert.equal(r.state.problems.filter((p) => p.severity === 'error').length, 12);
    assert.equal(r.state.droppedProblems, 0);
    assert.equal(r.state.droppedWarnings, 12000 - 12 - 5000);
  });

  it('gives the same result on ranges of several read chunks (the first range reserves for the whole file)', async () => {
    const big = join(dir, 'big.jsonl');
    const r0 = spawnSync(process.execPath, [join(ROOT, 'scripts', 'genTraces.mjs'), '--calls', '25000', '--out', big, '--seed', '12', '--inject', 'all'], { encoding: 'utf8' });
    assert.equal(r0.status, 0, r0.stderr);
    assert.ok(statSync(big).size > 3 * CHUNK, 'each range spans more than one chunk');
    const seq = sequential(big);
    const r = await loadParallel(big, { pool: new StringPool(), final: true, workers: 2, minParallelBytes: 0, displayName: 't.jsonl' });
    assert.equal(r.ranges, 2);
    assert.ok((r.wasmLines ?? 0) > 20000, `lines read by WebAssembly: ${r.wasmLines}`);
    assertSameState(r.state, seq, 'several chunks');
    sameFigures(r.state, seq);
  });

  it('gives the same result when trace text is crafted so that its strings share a hash (no long probing, no lost id)', async () => {
    // Trace ids and users whose FNV-1a hashes agree in their low 16 bits: they fall in one run of every typed index
    // (pool, merger, the scanner's caches) smaller than 65,536 slots.
    const fnv = (x: string) => {
      let h = 0x811c9dc5 | 0;
      for (let q = 0; q < x.length; q++) h = Math.imul(h ^ x.charCodeAt(q), 0x01000193);
      return h;
    };
    const colliding = (prefix: string, n: number): string[] => {
      const out: string[] = [];
      for (let i = 0; out.length < n; i++) if ((fnv(`${prefix}${i}`) & 0xffff) === 0x1234) out.push(`${prefix}${i}`);
      return out;
    };
    const traces = colliding('t', 150);
    const users = colliding('u', 150);
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) {
      lines.push(JSON.stringify({ ts: new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString(), trace_id: traces[(i * 7) % traces.length], model: 'gpt-4o', input_tokens: 100 + i, output_tokens: 10, metadata: { feature: `f${i % 3}`, user_id: users[(i * 11) % users.length] } }));
    }
    const crafted = join(dir, 'crafted.jsonl');
    writeFileSync(crafted, lines.join('\n') + '\n');
    const seq = sequential(crafted);
    const r = await loadParallel(crafted, { pool: new StringPool(), final: true, workers: 2, minParallelBytes: 0, displayName: 't.jsonl' });
    assert.equal(r.ranges, 2);
    assertSameState(r.state, seq, 'crafted collisions');
    sameFigures(r.state, seq);
    const keys = new TraceKeys().keysOf(r.state.table.traces);
    assert.equal(new Set(Array.from(r.state.table.traceId.subarray(0, r.state.table.length), (k) => keys[k])).size, traces.length, 'one key per trace');
    r.state.table.pool.id('one more');
    assert.equal(r.state.table.pool.degraded, true, 'the pool gave up its typed index for a Map');
    await samePacked(crafted, { final: true, workers: 2, minParallelBytes: 0, displayName: 't.jsonl' }, 'crafted collisions, packed');
  });

  it('gives the same result for split points on the first line, near the end and right at line starts', async () => {
    const seq = sequential(trace);
    const size = statSync(trace).size;
    const text = readFileSync(trace);
    const lineStart = text.indexOf(10, 5000) + 1;
    for (const splitAt of [[1], [size - 200], [lineStart - 1, lineStart, lineStart + 1], [10, 20, 30, size >> 1]]) {
      const r = await loadParallel(trace, { pool: new StringPool(), final: true, splitAt, minParallelBytes: 0, displayName: 't.jsonl' });
      assertSameState(r.state, seq, `split at ${splitAt.join(',')}`);
      await samePacked(trace, { final: true, splitAt, minParallelBytes: 0, displayName: 't.jsonl' }, `packed, split at ${splitAt.join(',')}`);
    }
  });

  it('holds back an unterminated last line when the file is still being written, like the single reader', async () => {
    const seq = sequential(trace, false);
    const r = await loadParallel(trace, { pool: new StringPool(), final: false, workers: 2, minParallelBytes: 0, displayName: 't.jsonl' });
    assertSameState(r.state, seq, 'not final');
    assert.ok(r.state.position.offset < statSync(trace).size);
  });

  it('falls back to the single reader for pretty-printed documents and for Claude Code de-duplication, with the same results', async () => {
    const cases: [string, string, RegExp][] = [
      [fixture('shapes', 'otlp-pretty.jsonl'), 'pretty.jsonl', /multi-line/],
      [fixture('third-party', 'claude-code-subagent-transcript_spotter.jsonl'), 'cc.jsonl', /de-duplicated/],
    ];
    for (const [src, name, reason] of cases) {
      const p = join(dir, name);
      copyFileSync(src, p);
      const seq = sequential(p);
      const r = await loadParallel(p, { pool: new StringPool(), final: true, workers: 2, minParallelBytes: 0, displayName: 't.jsonl' });
      assert.match(r.sequentialReason ?? '', reason);
      assertSameState(r.state, seq, name);
      assert.match((await samePacked(p, { final: true, workers: 2, minParallelBytes: 0, displayName: 't.jsonl' }, `${name} packed`)).sequentialReason ?? '', reason);
    }
    // A pretty-printed document after many flat lines: found by a worker.
    const mixed = join(dir, 'mixed.jsonl');
    writeFileSync(mixed, readFileSync(trace, 'utf8').split('\n').slice(0, 3000).join('\n') + '\n' + readFileSync(fixture('shapes', 'otlp-pretty.jsonl'), 'utf8'));
    const r = await loadParallel(mixed, { pool: new StringPool(), final: true, workers: 3, minParallelBytes: 0, displayName: 't.jsonl' });
    assert.match(r.sequentialReason ?? '', /multi-line/);
    assertSameState(r.state, sequential(mixed), 'mixed');
  });

  it('merges into a shared pool that already holds strings of other files', async () => {
    const pool = new StringPool();
    pool.id('search');
    pool.id('some other string');
    const r = await loadParallel(trace, { pool, final: true, workers: 2, minParallelBytes: 0, displayName: 't.jsonl' });
    assertSameState(r.state, sequential(trace), 'shared pool');
  });
});

describe('loadParallel: files that are not text', function () {
  this.timeout(60000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'lcl-par-bin-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const rec = (i: number) => JSON.stringify({ model: 'gpt-4o', input_tokens: 1000 + i, output_tokens: 10 }) + '\n';
  const text = Array.from({ length: 3000 }, (_, i) => rec(i)).join('');
  const cases: [string, Buffer, string][] = [
    ['binary', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, ...Array.from({ length: 200_000 }, (_, i) => (i % 40 === 0 ? 10 : i % 251))]), 'Not a text file: looks like an ELF executable (magic bytes 7F 45 4C 46); not read'],
    ['gzip', gzipSync(Buffer.from(text), { level: 0 }), 'Not a text file: looks compressed (gzip, magic bytes 1F 8B); decompress it first; not read'],
    ['utf16', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]), 'UTF-16 text (byte order mark FF FE): save it as UTF-8; not read'],
  ];
  for (const [name, bytes, message] of cases) {
    it(`reports a ${name} file once, like the single reader, instead of splitting it among workers`, async () => {
      const p = join(dir, `${name}.jsonl`);
      writeFileSync(p, bytes);
      const r = await loadParallel(p, { pool: new StringPool(), final: true, workers: 3, minParallelBytes: 0, displayName: 't.jsonl' });
      assert.equal(r.ranges, 1);
      assert.equal(r.sequentialReason, 'not a text file');
      assert.deepEqual(r.state.problems.map((q) => `${q.line}: ${q.message}`), [`1: ${message}`]);
      assert.equal(r.state.table.length, 0);
      assert.equal(r.state.position.offset, bytes.length);
      assertSameState(r.state, sequential(p), name);
    });
  }
});
