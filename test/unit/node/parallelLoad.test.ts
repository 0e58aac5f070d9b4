import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { groupBy, select, stats } from '../../../src/core/analysis';
import { buildReport } from '../../../src/core/report';
import { StringPool } from '../../../src/core/callTable';
import { PriceBook } from '../../../src/core/pricing';
import { TraceKeys } from '../../../src/core/traceIds';
import { type PackedTraceFileState, packState, type TraceFileState, unpackState } from '../../../src/core/traceFile';
import { loadParallel, loadParallelPacked, loadParallelParts, type ParallelLoadOptions, type RangeDone, type RangeRequest, type RangeResponse } from '../../../src/node/parallelLoad';
import { PriceAnswers } from '../../../src/node/priceAsk';
import { RangeClaims } from '../../../src/node/rangeClaims';
import { defaultParallelBytes, endRangeWorkers, prestartRangeWorkers, rangeWorkersWaiting } from '../../../src/node/rangeWorkers';
import { scannerModule } from '../../../src/core/fastScanWasm';
import { Worker } from 'node:worker_threads';
import { scanRanges } from '../../../src/node/rangeScan';
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

    it(`gives the report of the single reader from the ranges' tables as they were read (loadParallelParts, the CLI's report) with ${workers} workers`, async () => {
      const seq = sequential(trace);
      const r = await loadParallelParts(trace, { pool: new StringPool(), final: true, workers, minParallelBytes: 0, displayName: 't.jsonl' });
      assert.equal(r.ranges, workers);
      assert.equal(r.states.length, workers);
      assert.equal(r.states.reduce((a, st) => a + st.table.length, 0), seq.table.length);
      // Line numbers counted from the file's start; the problems (of every range) with the first state.
      assert.deepEqual(r.states.flatMap((st) => Array.from(st.table.line.subarray(0, st.table.length))), Array.from(seq.table.line.subarray(0, seq.table.length)));
      assert.deepEqual(r.states[0].problems, seq.problems);
      assert.ok(r.states.slice(1).every((st) => st.problems.length === 0 && st.ctx.ignored === 0));
      const since = Date.parse('2026-11-02T00:00:00Z');
      for (const opts of [{ by: ['feature'] }, { by: ['model'], costSource: 'computed' as const }, { by: ['feature', 'model'], top: 3 }, { by: ['user'], sinceMs: since, compareToPrevious: true, nowMs: since + 86400000 }]) {
        // The same report, byte for byte (sums in row order across the tables).
        assert.equal(JSON.stringify(buildReport(r.states, opts)), JSON.stringify(buildReport([seq], opts)), JSON.stringify(opts));
      }
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
    assert.ok(r.ranges >= 2, `ranges ${r.ranges}`); // (a reader done early may take half of the other's rest)
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

  for (const [workers, callerReads] of [[2, true], [3, true], [2, false], [3, false]] as const) {
    it(`gives the same rows when readers take halves of others' ranges (${workers} readers, the caller ${callerReads ? 'one of them' : 'waiting'})`, async () => {
      const seq = sequential(trace);
      // Small reads and small halves: ranges are taken from readers still starting or reading (timing decides how many).
      const opts = { final: true, workers, callerReads, chunkBytes: 4096, minStealBytes: 8192, minParallelBytes: 0, displayName: 't.jsonl' };
      let progress = 0;
      const r = await loadParallel(trace, { ...opts, pool: new StringPool(), onProgress: (read, total) => (progress = read / total) });
      assert.ok(r.ranges >= workers, `ranges ${r.ranges}`);
      assertSameState(r.state, seq, `${workers} readers, caller reads ${callerReads}`);
      sameFigures(r.state, seq);
      assert.ok(progress > 0.99 && progress <= 1, `progress at the end ${progress}`);
      const packed = await loadParallelPacked(trace, { ...opts, pool: new StringPool() });
      // (String ids depend on which reader met a string first, which timing decides: compared by content.)
      assertSameState(unpackState(packed.packed, new StringPool()), seq, 'packed');
      const notFinal = await loadParallel(trace, { ...opts, final: false, pool: new StringPool() });
      assertSameState(notFinal.state, sequential(trace, false), 'not final');
    });
  }

  it('ranges taken one after another on one thread tile the file and read every line once (scanRanges, RangeClaims)', () => {
    const size = statSync(trace).size;
    const bytes = readFileSync(trace);
    const parties = 3;
    const memory = RangeClaims.memory(parties);
    const claims = new RangeClaims(memory);
    const fd = openSync(trace, 'r');
    let starts: number[];
    try {
      starts = [0, bytes.indexOf(10, size / 3) + 1, bytes.indexOf(10, (2 * size) / 3) + 1];
    } finally {
      closeSync(fd);
    }
    starts.forEach((st, k) => claims.init(k, st, k + 1 < parties ? starts[k + 1] : size));
    const parts: RangeDone[] = [];
    const prices = new PriceBook();
    // Party 0 reads its range, then takes halves of the others' (which have not started) down to 8 KB; then party 1
    // reads what is left of its range, and so on.
    for (let k = 0; k < parties; k++) {
      scanRanges({ path: trace, file: 't.jsonl', start: starts[k], final: true, overrides: [], claims: memory, party: k, minStealBytes: 8192, chunkBytes: 4096, reserveUntil: k === 0 ? size : undefined }, prices, (part) => parts.push(part));
    }
    assert.ok(parts.length > 2 * parties, `ranges ${parts.length}`);
    parts.sort((a, b) => a.start - b.start);
    assert.equal(parts[0].start, 0);
    for (let k = 1; k < parts.length; k++) {
      assert.equal(parts[k].start, parts[k - 1].endOffset, `range ${k} starts where the one before ended`);
      assert.equal(bytes[parts[k].start - 1], 10, `range ${k} starts at a line start`);
    }
    assert.equal(parts[parts.length - 1].endOffset, size);
    const seq = sequential(trace);
    assert.equal(parts.reduce((a, p) => a + p.columns.length, 0), seq.table.length);
    assert.equal(parts.reduce((a, p) => a + p.lines, 0), seq.position.line - 1);
    assert.equal(claims.read(), size);
  });

  it('a range taken while its reader is between chunks: the reader stops at the new end, the thief reads the rest, every line once', () => {
    const size = statSync(trace).size;
    const bytes = readFileSync(trace);
    const memory = RangeClaims.memory(3);
    const claims = new RangeClaims(memory);
    const cut = bytes.indexOf(10, Math.floor((size * 3) / 4)) + 1;
    claims.init(0, 0, cut);
    claims.init(1, cut, size);
    claims.init(2, size, size); // done: the thief
    const parts: RangeDone[] = [];
    const prices = new PriceBook();
    const fd = openSync(trace, 'r');
    let taken: { start: number; end: number } | undefined;
    let chunks = 0;
    const req = (party: number, start: number) => ({ path: trace, file: 't.jsonl', start, final: true, overrides: [], claims: memory, party, minStealBytes: 8192, chunkBytes: 4096, reserveUntil: party === 0 ? size : undefined });
    try {
      // Party 0's rest is the largest after two chunks: the thief takes its second half there.
      scanRanges(req(0, 0), prices, (part) => parts.push(part), () => {
        if (++chunks === 2) taken = claims.steal(2, fd, 8192);
      });
    } finally {
      closeSync(fd);
    }
    assert.ok(taken && taken.start > 2 * 4096 && taken.end === cut, `taken ${JSON.stringify(taken)}`);
    assert.equal(parts[0].endOffset, taken.start, 'the reader stopped where its range now ends');
    scanRanges(req(2, taken.start), prices, (part) => parts.push(part));
    scanRanges(req(1, cut), prices, (part) => parts.push(part));
    parts.sort((a, b) => a.start - b.start);
    for (let k = 1; k < parts.length; k++) assert.equal(parts[k].start, parts[k - 1].endOffset);
    const seq = sequential(trace);
    assert.equal(parts.reduce((a, p) => a + p.columns.length, 0), seq.table.length);
    assert.equal(parts.reduce((a, p) => a + p.lines, 0), seq.position.line - 1);
  });

  it('stops every reader when a line needs the single reader (nothing more is read or taken)', () => {
    const p = join(dir, 'stateful.jsonl');
    const cc = readFileSync(fixture('third-party', 'claude-code-subagent-transcript_spotter.jsonl'));
    writeFileSync(p, Buffer.concat([cc, readFileSync(trace).subarray(0, 2_000_000)]));
    const size = statSync(p).size;
    const memory = RangeClaims.memory(2);
    const claims = new RangeClaims(memory);
    claims.init(0, 0, size >> 1);
    claims.init(1, size >> 1, size);
    const parts: RangeDone[] = [];
    scanRanges({ path: p, file: 't.jsonl', start: 0, final: true, overrides: [], claims: memory, party: 0, minStealBytes: 1, chunkBytes: 4096 }, new PriceBook(), (part) => parts.push(part));
    assert.equal(parts.length, 1);
    assert.ok(parts[0].stateful);
    assert.ok(claims.stopped);
    assert.ok(claims.read() < 64 * 1024, `read ${claims.read()}`);
    // Party 1 finds its range ended where it was (not started) and takes nothing.
    scanRanges({ path: p, file: 't.jsonl', start: size >> 1, final: true, overrides: [], claims: memory, party: 1, minStealBytes: 1, chunkBytes: 4096 }, new PriceBook(), (part) => parts.push(part));
    assert.equal(parts.length, 2);
    assert.equal(parts[1].columns.length, 0);
    assert.ok(claims.read() < 64 * 1024);
  });

  it('merges ranges whose tag columns differ (a tag only in the first range, one only in the last) as one reader reads them', async () => {
    const f = join(dir, 'tags.jsonl');
    const lines: string[] = [];
    for (let i = 0; i < 6000; i++) {
      const tags: Record<string, string> = { feature: `f${i % 7}` };
      if (i < 1000) tags.early = `e${i % 3}`;
      if (i > 5000) tags.late = `l${i % 5}`;
      lines.push(JSON.stringify({ model: 'gpt-4o', input_tokens: 100 + i, output_tokens: 7, trace_id: `t${i >> 2}`, metadata: tags }));
    }
    writeFileSync(f, lines.join('\n') + '\n');
    const r = await loadParallel(f, { pool: new StringPool(), final: true, workers: 3, minParallelBytes: 0, displayName: 't.jsonl' });
    assert.equal(r.ranges, 3);
    assertSameState(r.state, sequential(f), 'tags');
    await samePacked(f, { final: true, workers: 3, minParallelBytes: 0, displayName: 't.jsonl' }, 'tags in some ranges only');
  });

  it('merges into a shared pool that already holds strings of other files', async () => {
    const pool = new StringPool();
    pool.id('search');
    pool.id('some other string');
    const r = await loadParallel(trace, { pool, final: true, workers: 2, minParallelBytes: 0, displayName: 't.jsonl' });
    assertSameState(r.state, sequential(trace), 'shared pool');
  });

  it('takes the range workers started ahead (as the parse process starts them, first thing) and ends those it does not need', async () => {
    // A range worker script that notes each start in a file, then runs the real one.
    const marks = join(dir, 'starts.txt');
    const script = join(dir, 'noting-worker.js');
    writeFileSync(script, `require('node:fs').appendFileSync(${JSON.stringify(marks)}, 'start\\n'); require(${JSON.stringify(join(ROOT, 'out', 'src', 'node', 'parseRangeWorker.js'))});`);
    const starts = () => (existsSync(marks) ? readFileSync(marks, 'utf8').split('\n').filter(Boolean).length : 0);
    try {
      const before = rangeWorkersWaiting().taken;
      prestartRangeWorkers(3, script);
      assert.equal(rangeWorkersWaiting().waiting, 3);
      const r = await loadParallel(trace, { pool: new StringPool(), final: true, workers: 3, callerReads: true, minParallelBytes: 0, displayName: 't.jsonl', workerScript: script });
      assert.equal(r.ranges, 3);
      assertSameState(r.state, sequential(trace), 'read with the workers started ahead');
      assert.equal(rangeWorkersWaiting().taken - before, 2, 'the two workers the read needed were taken');
      assert.equal(rangeWorkersWaiting().waiting, 0, 'the third was ended');
      assert.ok(starts() <= 3, `no range worker started besides those started ahead (${starts()} starts)`);
      // A file read by one reader: the worker started ahead is ended, not left waiting.
      prestartRangeWorkers(1, script);
      const one = await loadParallel(trace, { pool: new StringPool(), final: true, displayName: 't.jsonl', workerScript: script });
      assert.equal(one.sequentialReason, 'small file');
      assert.equal(rangeWorkersWaiting().waiting, 0);
    } finally {
      endRangeWorkers();
    }
  });

  it('does not take a range worker started ahead that failed, and reads with one it starts', async () => {
    // A worker script that fails while a marker file is there, and reads once it is gone.
    const marker = join(dir, 'fail-now');
    const script = join(dir, 'failing-worker.js');
    writeFileSync(marker, '');
    writeFileSync(script, `if (require('node:fs').existsSync(${JSON.stringify(marker)})) throw new Error('broken'); require(${JSON.stringify(join(ROOT, 'out', 'src', 'node', 'parseRangeWorker.js'))});`);
    try {
      const before = rangeWorkersWaiting().taken;
      prestartRangeWorkers(1, script);
      // (Waiting for an event, not timing anything: the worker's error arrives when it has loaded.)
      for (let k = 0; k < 400 && rangeWorkersWaiting().failed === 0; k++) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(rangeWorkersWaiting(), { waiting: 1, failed: 1, taken: before });
      rmSync(marker);
      const r = await loadParallel(trace, { pool: new StringPool(), final: true, workers: 2, callerReads: true, minParallelBytes: 0, displayName: 't.jsonl', workerScript: script });
      assertSameState(r.state, sequential(trace), 'with a worker of its own');
      assert.deepEqual(rangeWorkersWaiting(), { waiting: 0, failed: 0, taken: before }, 'the failed one was ended, not taken');
    } finally {
      endRangeWorkers();
    }
  });

  it("gives its workers the scanner's module this thread compiled, which they scan with rather than compile their own", async () => {
    const mod = scannerModule();
    assert.ok(mod, 'WebAssembly runs here');
    // The range worker itself, asked to read the whole file with the module: it says it scanned with that module.
    const size = statSync(trace).size;
    const claims = RangeClaims.memory(1);
    new RangeClaims(claims).init(0, 0, size);
    const worker = new Worker(join(ROOT, 'out', 'src', 'node', 'parseRangeWorker.js'));
    try {
      const req: RangeRequest = { path: trace, file: 't.jsonl', start: 0, final: true, overrides: [], claims, party: 0, minStealBytes: 1e15, wasmModule: mod };
      const got = await new Promise<{ rows: number; finished: unknown }>((resolve, reject) => {
        let rows = 0;
        worker.on('message', (m: RangeResponse) => {
          if (m.type === 'done') rows += m.columns.length;
          else if (m.type === 'finished') resolve({ rows, finished: m });
          else reject(new Error(m.message));
        });
        worker.once('error', reject);
        worker.postMessage(req);
      });
      assert.deepEqual(got, { rows: sequential(trace).table.length, finished: { type: 'finished', sharedModule: true, catalogueLoaded: true } });
    } finally {
      await worker.terminate();
    }
    // ...and loadParallel sends it in every range request (a file read in ranges reads the same with it).
    const sent: unknown[] = [];
    const post = Worker.prototype.postMessage;
    Worker.prototype.postMessage = function (this: Worker, m: unknown, ...rest: unknown[]) {
      sent.push((m as { wasmModule?: unknown }).wasmModule);
      return (post as (...a: unknown[]) => void).call(this, m, ...rest);
    };
    try {
      const r = await loadParallel(trace, { pool: new StringPool(), final: true, workers: 3, minParallelBytes: 0, displayName: 't.jsonl' });
      assertSameState(r.state, sequential(trace), 'with the module shared');
    } finally {
      Worker.prototype.postMessage = post;
    }
    assert.ok(sent.length >= 2 && sent.every((m) => m === mod), `module sent to ${sent.length} worker(s)`);
  });

  it("prices a range worker's rows with this thread's book, the worker never loading the price catalogue (PriceAnswers)", async () => {
    // The range worker reads the whole file (models of several providers, unpriced ones, rows with a recorded cost),
    // getting its prices from a book here, answered on this thread's event loop.
    const run = async (priceAsk: boolean) => {
      const size = statSync(trace).size;
      const claims = RangeClaims.memory(1);
      new RangeClaims(claims).init(0, 0, size);
      const book = new PriceBook();
      const answers = new PriceAnswers(book);
      const worker = new Worker(join(ROOT, 'out', 'src', 'node', 'parseRangeWorker.js'));
      try {
        const req: RangeRequest = { path: trace, file: 't.jsonl', start: 0, final: true, overrides: [], claims, party: 0, minStealBytes: 1e15, ...(priceAsk ? { priceAsk: answers.open() } : {}) };
        return await new Promise<{ computed: number[]; finished: Extract<RangeResponse, { type: 'finished' }>; answered: number }>((resolve, reject) => {
          const computed: number[] = [];
          worker.on('message', (m: RangeResponse) => {
            if (m.type === 'done') computed.push(...(m.columns.numeric.computedUsd as Float64Array).subarray(0, m.columns.length));
            else if (m.type === 'finished') resolve({ computed, finished: m, answered: answers.answered });
            else reject(new Error(m.message));
          });
          worker.once('error', reject);
          worker.postMessage(req, req.priceAsk ? [req.priceAsk.port] : []);
        });
      } finally {
        answers.close();
        await worker.terminate();
      }
    };
    const seq = sequential(trace);
    const expected = Array.from(seq.table.computedUsd.subarray(0, seq.table.length));
    const asked = await run(true);
    assert.equal(asked.finished.catalogueLoaded, false, 'the worker got every price from this thread');
    assert.ok(asked.answered >= 3, `answered ${asked.answered}`);
    assert.deepEqual(asked.computed, expected);
    assert.ok(expected.some(Number.isNaN) && expected.some((c) => c > 0), 'unpriced and priced rows');
    // Without a port it prices them itself, the same.
    const own = await run(false);
    assert.equal(own.finished.catalogueLoaded, true);
    assert.deepEqual(own.computed, expected);
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

describe('RangeClaims: ranges shared by the readers of one file', () => {
  let dir: string;
  let file: string;
  const line = (i: number) => `{"i":${i},"pad":"${'x'.repeat(i % 37)}"}\n`;
  let text: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lcl-claims-'));
    file = join(dir, 'c.jsonl');
    text = Array.from({ length: 2000 }, (_, i) => line(i)).join('');
    writeFileSync(file, text);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('claims a chunk at a time up to the end of the range, which a steal moves to a line start after the middle of the rest', () => {
    const size = Buffer.byteLength(text);
    const claims = new RangeClaims(RangeClaims.memory(2));
    claims.init(0, 0, 1000);
    claims.init(1, 1000, size);
    assert.deepEqual(claims.claim(0, 0, 600), { upTo: 600, last: false });
    assert.deepEqual(claims.claim(0, 600, 600), { upTo: 1000, last: true });
    const fd = openSync(file, 'r');
    try {
      // Party 1 claimed 4000 bytes: party 0 takes from after the middle of the rest, at a line start.
      claims.claim(1, 1000, 4000);
      const got = claims.steal(0, fd, 1000)!;
      const mid = 5000 + Math.floor((size - 5000) / 2);
      assert.equal(got.start, text.indexOf('\n', mid) + 1);
      assert.equal(got.end, size);
      assert.equal(claims.endOf(1), got.start);
      // Party 1 reads on to where its range now ends, and not past it.
      assert.deepEqual(claims.claim(1, 5000, size), { upTo: got.start, last: true });
      // Nothing worth taking: party 0's rest is under the minimum, party 1's is claimed.
      assert.equal(claims.steal(1, fd, size), undefined);
      claims.claim(0, got.start, size);
      assert.equal(claims.steal(1, fd, 1), undefined);
    } finally {
      closeSync(fd);
    }
  });

  it('gives up a steal when no line starts in the second half of the rest (one long line)', () => {
    const long = join(dir, 'long.jsonl');
    writeFileSync(long, `{"a":"${'y'.repeat(200_000)}"}\n`);
    const claims = new RangeClaims(RangeClaims.memory(2));
    claims.init(0, 0, 0);
    claims.init(1, 0, 200_010);
    const fd = openSync(long, 'r');
    try {
      assert.equal(claims.steal(0, fd, 1), undefined);
      assert.equal(claims.endOf(1), 200_010);
    } finally {
      closeSync(fd);
    }
  });

  it('passes over a rest with no line start after its middle (one long line) for the next largest', () => {
    const mixed = join(dir, 'mixed.jsonl');
    const long = `{"a":"${'y'.repeat(200_000)}"}\n`;
    writeFileSync(mixed, long + text);
    const claims = new RangeClaims(RangeClaims.memory(3));
    claims.init(0, 0, 0);
    claims.init(1, 0, long.length); // the long line: the largest rest
    claims.init(2, long.length, long.length + Buffer.byteLength(text));
    const fd = openSync(mixed, 'r');
    try {
      const got = claims.steal(0, fd, 1000)!;
      assert.ok(got, 'taken from the next largest');
      assert.ok(got.start > long.length && got.end === long.length + Buffer.byteLength(text));
      assert.equal(claims.endOf(1), long.length, 'the long line left to its reader');
      assert.equal(claims.endOf(2), got.start);
    } finally {
      closeSync(fd);
    }
  });

  it('takes nothing once the reading is stopped, and every range ends where it was claimed up to', () => {
    const claims = new RangeClaims(RangeClaims.memory(2));
    claims.init(0, 0, 50_000);
    claims.init(1, 50_000, Buffer.byteLength(text));
    claims.claim(1, 50_000, 4096);
    claims.stopAll();
    assert.equal(claims.endOf(0), 0);
    assert.equal(claims.endOf(1), 50_000 + 4096);
    assert.deepEqual(claims.claim(1, 50_000 + 4096, 4096), { upTo: 50_000 + 4096, last: true });
    const fd = openSync(file, 'r');
    try {
      assert.equal(claims.steal(0, fd, 1), undefined);
    } finally {
      closeSync(fd);
    }
  });

  it('counts the bytes read by all parties', () => {
    const claims = new RangeClaims(RangeClaims.memory(3));
    claims.addRead(0, 10);
    claims.addRead(2, 5);
    claims.addRead(0, 1);
    assert.equal(claims.read(), 16);
  });
});
