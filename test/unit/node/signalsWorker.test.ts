import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { select } from '../../../src/core/analysis';
import { findAnomalies, findModelSwitches } from '../../../src/core/anomalies';
import { type CallTable, SHARED_COLUMNS, StringPool } from '../../../src/core/callTable';
import { findOutliers } from '../../../src/core/outliers';
import { PriceBook } from '../../../src/core/pricing';
import { sampleTrace } from '../../../src/core/sampleTrace';
import { ingestBytes, packState, type TraceFileState } from '../../../src/core/traceFile';
import { readTraceFile } from '../../../src/node/traceReader';
import { SignalsWorkerClient } from '../../../src/node/signalsWorkerClient';
import { runSignalsJob, type SignalsJob, type ToSignalsWorker } from '../../../src/node/signalsWorkerJobs';
import { loadText, ROOT } from '../helpers';

const WORKER = join(ROOT, 'out', 'src', 'node', 'signalsWorker.js');
const DAY = 86_400_000;

describe('signals in a worker thread', function () {
  this.timeout(60_000);
  let dir: string;
  let generated: CallTable;
  let lastTsMs: number;
  const prices = new PriceBook();
  const clients: SignalsWorkerClient[] = [];
  const client = (opts: ConstructorParameters<typeof SignalsWorkerClient>[0] = {}) => {
    const c = new SignalsWorkerClient({ script: WORKER, ...opts });
    clients.push(c);
    return c;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lcl-signals-worker-'));
    const gen = await import(pathToFileURL(join(ROOT, 'scripts', 'genTraces.mjs')).href);
    const out = join(dir, 'injected.jsonl');
    await gen.generate({ calls: 60_000, days: 21, seed: 5, out, inject: ['loop', 'grown_prompt', 'model_switch', 'spike', 'cache_invalidation', 'retries'], quiet: true });
    generated = readTraceFile(out, { pool: new StringPool(), prices, final: true }).state.table;
    lastTsMs = 0;
    for (let i = 0; i < generated.length; i++) lastTsMs = Math.max(lastTsMs, generated.tsMs[i]);
  });
  after(() => {
    for (const c of clients) c.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const jobs = (): SignalsJob[] => [
    { kind: 'outliers', query: {}, options: { maxCalls: 1e6 } },
    { kind: 'outliers', query: { sinceMs: lastTsMs - 7 * DAY, filters: [{ dim: 'feature', value: 'code-review' }] }, options: { dim: 'user' } },
    {
      kind: 'signals',
      nowMs: lastTsMs + 3_600_000,
      windowDays: 10,
      historyDays: 21,
      dims: ['feature', 'agent', 'user'],
      source: 'auto',
      budgets: [{ scope: 'total', period: 'month', usd: 50 }, { scope: 'feature', value: 'search', period: 'day', usd: 0.5 }],
    },
    { kind: 'taskCosts', query: {}, options: { dim: 'feature' } },
    { kind: 'whatIf', query: { filters: [{ dim: 'feature', value: 'summarization' }] }, model: 'gpt-4o-mini', price: prices.resolve('gpt-4o-mini'), options: { label: 'summarization' } },
    { kind: 'whatIf', query: {}, model: 'no-such-model', price: prices.resolve('no-such-model'), options: {} },
    { kind: 'dashboard', query: { range: 'all', groupBy: 'feature', filters: [] }, nowMs: lastTsMs, source: 'auto' },
    { kind: 'dashboard', query: { range: '7d', groupBy: 'user', filters: [{ dim: 'feature', value: 'summarization' }] }, nowMs: lastTsMs, source: 'computed' },
  ];

  it('keeps the columns in shared memory, and still exports plain transferable copies', () => {
    assert.ok(SHARED_COLUMNS);
    assert.ok(generated.tsMs.buffer instanceof SharedArrayBuffer);
    assert.ok(generated.dims.feature.buffer instanceof SharedArrayBuffer);
    const state = loadText(sampleTrace(Date.parse('2026-11-22T00:00:00Z'), 50, 3));
    const { packed, transfer } = packState(state);
    for (const b of transfer) assert.ok(b instanceof ArrayBuffer);
    // A SharedArrayBuffer in a transfer list would throw here.
    const moved = structuredClone(packed, { transfer });
    assert.equal(moved.columns.length, 50);
  });

  it('finds the same outliers, anomalies, budgets, tasks and what-ifs as running inline', async () => {
    const c = client();
    const results: unknown[] = [];
    for (const job of jobs()) {
      const inline = runSignalsJob([generated], job);
      const viaWorker = await c.run([generated], job);
      assert.deepEqual(viaWorker, inline, job.kind);
      results.push(viaWorker);
    }
    assert.ok(!c.inline);
    const [outliers, , signals, tasks, saved, unpriced] = results as [
      { calls: unknown[]; traces: unknown[] },
      unknown,
      { anomalies: unknown[]; budgets: unknown[] },
      unknown[],
      { comparedCalls: number } | undefined,
      undefined,
    ];
    assert.ok(outliers.calls.length > 0 && outliers.traces.length > 0);
    assert.ok(signals.anomalies.length > 0 && signals.budgets.length === 2);
    assert.ok(tasks.length > 0 && saved!.comparedCalls > 0 && unpriced === undefined);
  });

  it('runs the core functions themselves (the inline job is findOutliers, findAnomalies and findModelSwitches)', () => {
    const r = runSignalsJob([generated], { kind: 'outliers', query: {}, options: { maxCalls: 1e6 } });
    const direct = findOutliers(select([generated]), { maxCalls: 1e6 });
    assert.deepEqual(r, direct);
    assert.ok(r.calls.length > 0 && r.traces.length > 0, r.headline);
    const nowMs = lastTsMs + 3_600_000;
    const s = runSignalsJob([generated], { kind: 'signals', nowMs, windowDays: 10, historyDays: 21, dims: ['feature'], source: 'auto', budgets: [] });
    const slices = select([generated], { sinceMs: nowMs - 21 * DAY });
    const since = nowMs - 10 * DAY;
    const expected = [...findAnomalies(slices, { dims: ['feature'], sinceMs: since }), ...findModelSwitches(slices, { sinceMs: since })].sort((a, b) => b.startMs - a.startMs);
    assert.deepEqual(s.anomalies, expected);
    assert.ok(expected.length > 0);
  });

  it('looks for anomalies in the days up to the latest call when none is recent (a trace of last week), budgets at now', () => {
    const base = { kind: 'signals' as const, windowDays: 3, historyDays: 21, dims: ['feature', 'agent', 'user'], source: 'auto' as const, budgets: [{ scope: 'total' as const, period: 'month' as const, usd: 50 }] };
    // Opened ten days after the latest call: the window that ends now holds no call, so none is found there...
    const later = lastTsMs + 10 * DAY;
    const plain = runSignalsJob([generated], { ...base, nowMs: later });
    assert.equal(plain.anomalies.length, 0);
    assert.equal(plain.anomaliesAtMs, undefined);
    // ...while anchored, they are those of the 3 days up to the end of the latest call's hour, as if opened then.
    const anchored = runSignalsJob([generated], { ...base, nowMs: later, anchorToLatestCall: true });
    const at = Math.floor(lastTsMs / 3_600_000) * 3_600_000 + 3_600_000;
    assert.equal(anchored.anomaliesAtMs, at);
    const then = runSignalsJob([generated], { ...base, nowMs: at });
    assert.ok(then.anomalies.length > 0, 'the injected trace has anomalies in its last 3 days');
    assert.deepEqual(anchored.anomalies, then.anomalies);
    // Budgets burn at now: this month's (ten days on), not the latest call's.
    assert.deepEqual(anchored.budgets, plain.budgets);
    // A call dated after now (a clock ahead) is not a recent call: the anchor stays at the latest call up to now.
    const ahead = loadText(JSON.stringify({ model: 'gpt-4o', input_tokens: 10, output_tokens: 1, timestamp: new Date(later + 2 * DAY).toISOString(), metadata: { feature: 'ahead' } }) + '\n').table;
    const withAhead = runSignalsJob([generated, ahead], { ...base, nowMs: later, anchorToLatestCall: true });
    assert.equal(withAhead.anomaliesAtMs, at);
    assert.deepEqual(withAhead.anomalies, anchored.anomalies);
    // A recent call: the window ends now, anchored or not.
    const recent = runSignalsJob([generated], { ...base, nowMs: lastTsMs + 3_600_000, anchorToLatestCall: true });
    assert.equal(recent.anomaliesAtMs, undefined);
    assert.deepEqual(recent.anomalies, runSignalsJob([generated], { ...base, nowMs: lastTsMs + 3_600_000 }).anomalies);
  });

  it('reads only the rows there were when the job was posted, and learns strings added since', async () => {
    const c = client();
    const pool = new StringPool();
    const state = loadText(sampleTrace(Date.parse('2026-11-22T00:00:00Z'), 300, 4), 'a.jsonl', prices, pool);
    const job: SignalsJob = { kind: 'taskCosts', query: {}, options: { dim: 'feature' } };
    const before = runSignalsJob([state.table], job);
    const pending = c.run([state.table], job);
    appendCalls(state, 'brand-new-feature', 40);
    assert.deepEqual(await pending, before);
    const after = await c.run([state.table], job);
    assert.deepEqual(after, runSignalsJob([state.table], job));
    assert.ok(after.some((t) => t.key === 'brand-new-feature'));
  });

  it('sends a big pool over several messages and serves tables of several pools', async () => {
    // (Trace ids are not in the pool: its ~250 strings are names, sent 20 per message.)
    const c = client({ stringsPerMessage: 20 });
    const other = loadText(sampleTrace(Date.parse('2026-11-22T00:00:00Z'), 500, 7), 'b.jsonl', prices, new StringPool());
    assert.ok(generated.pool.values.length > 200, String(generated.pool.values.length));
    const job: SignalsJob = { kind: 'outliers', query: {}, options: {} };
    assert.deepEqual(await c.run([generated, other.table], job), runSignalsJob([generated, other.table], job));
  });

  it('sends a table\'s columns once, again when they move, a thousand views or so per message', async () => {
    // Node looks each view's shared buffer up among the message's buffers before it (~views × buffers steps): 2,000
    // transcripts' ~66,000 columns posted with every job held the extension host ~2.4 s.
    const posted: { tables: number; views: number }[] = [];
    const proto = Worker.prototype as unknown as { postMessage(m: unknown, t?: unknown): void };
    const post = proto.postMessage;
    proto.postMessage = function (this: unknown, m: unknown, t?: unknown) {
      const msg = m as ToSignalsWorker;
      if (msg?.type === 'tables') posted.push({ tables: msg.tables.length, views: msg.tables.reduce((a, x) => a + Object.keys(x.columns.numeric).length + Object.keys(x.columns.ids).length + 2, 0) });
      if (msg?.type === 'run') assert.ok(msg.tables.every((x) => !('columns' in x)), 'a job names its tables, no columns');
      return post.call(this, m, t);
    };
    try {
      const c = client();
      const pool = new StringPool();
      const states = Array.from({ length: 300 }, (_, k) => loadText(sampleTrace(Date.parse('2026-11-22T00:00:00Z') + k * 60_000, 6, k + 1), `t${k}.jsonl`, prices, pool));
      const tables = states.map((x) => x.table);
      const job: SignalsJob = { kind: 'taskCosts', query: {}, options: { dim: 'feature' } };
      assert.deepEqual(await c.run(tables, job), runSignalsJob(tables, job));
      assert.equal(posted.reduce((a, p) => a + p.tables, 0), 300, 'every table sent');
      assert.ok(posted.length >= 8, `${posted.length} messages`);
      assert.ok(posted.every((p) => p.views < 1_100), JSON.stringify(posted));
      posted.length = 0;
      assert.deepEqual(await c.run(tables, job), runSignalsJob(tables, job));
      assert.equal(JSON.stringify(posted), '[]', 'nothing sent again');
      // Rows appended within the columns' room: read by the next job, nothing sent.
      const room = tables[7].capacity - tables[7].length;
      assert.ok(room > 5, String(room));
      appendCalls(states[7], 'appended-feature', 3);
      const appended = await c.run(tables, job);
      assert.deepEqual(appended, runSignalsJob(tables, job));
      assert.ok(appended.some((t) => t.key === 'appended-feature'));
      assert.equal(JSON.stringify(posted), '[]');
      // Rows past the room: the table's columns move, and that table is sent again.
      appendCalls(states[9], 'grown-feature', room + 10);
      const grown = await c.run(tables, job);
      assert.deepEqual(grown, runSignalsJob(tables, job));
      assert.ok(grown.some((t) => t.key === 'grown-feature'));
      assert.deepEqual(posted.map((p) => p.tables), [1]);
    } finally {
      proto.postMessage = post;
    }
  });

  it('runs a job over a file with no calls (its columns never grew into shared memory) beside others', async () => {
    const c = client();
    const pool = new StringPool();
    const calls = loadText(sampleTrace(Date.parse('2026-11-22T00:00:00Z'), 6, 1), 'a.jsonl', prices, pool).table;
    const empty = loadText('{"type":"summary","summary":"x","leafUuid":"u"}\n', 'b.jsonl', prices, pool).table;
    assert.equal(empty.length, 0);
    assert.ok(!empty.columnBuffers().every((b) => b instanceof SharedArrayBuffer), 'the empty table is not in shared memory');
    const job: SignalsJob = { kind: 'taskCosts', query: {}, options: {} };
    assert.deepEqual(await c.run([calls, empty], job), runSignalsJob([calls, empty], job));
    assert.deepEqual(await c.run([empty, calls], job), runSignalsJob([calls, empty], job));
  });

  it('tells the worker to let a table go once the host has let it go', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const forgotten: number[] = [];
    const c = client();
    const proto = Worker.prototype as unknown as { postMessage(m: unknown, t?: unknown): void };
    const post = proto.postMessage;
    proto.postMessage = function (this: unknown, m: unknown, t?: unknown) {
      const msg = m as ToSignalsWorker;
      // (Other tests' clients let their tables go too, to their own workers.)
      if (msg?.type === 'forget' && this === (c as unknown as { worker: Worker }).worker) forgotten.push(...msg.tables);
      return post.call(this, m, t);
    };
    try {
      const job: SignalsJob = { kind: 'taskCosts', query: {}, options: {} };
      const kept = loadText(sampleTrace(Date.parse('2026-11-22T00:00:00Z'), 6, 1), 'kept.jsonl', prices, new StringPool()).table;
      await (async () => {
        const gone = Array.from({ length: 20 }, (_, k) => loadText(sampleTrace(Date.parse('2026-11-22T00:00:00Z'), 6, k + 2), `gone${k}.jsonl`, prices, new StringPool()).table);
        await c.run([kept, ...gone], job);
      })();
      for (let i = 0; i < 20 && forgotten.length < 20; i++) {
        gc();
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.deepEqual([...new Set(forgotten)].sort((a, b) => a - b), Array.from({ length: 20 }, (_, k) => k + 2), 'the 20 tables let go (ids 2-21), not the one kept (1)');
      // The table kept is still read from the columns the worker holds; the ones let go were never named again.
      assert.deepEqual(await c.run([kept], job), runSignalsJob([kept], job));
    } finally {
      proto.postMessage = post;
    }
  });

  it('runs inline when the worker script is missing', async () => {
    const c = client({ script: join(dir, 'missing.js') });
    assert.ok(c.inline);
    const job: SignalsJob = { kind: 'taskCosts', query: {}, options: {} };
    assert.deepEqual(await c.run([generated], job), runSignalsJob([generated], job));
  });

  it('starts a new worker after one dies, and fails the jobs it had', async () => {
    const problems: string[] = [];
    const c = client({ onProblem: (m) => problems.push(m) });
    const job: SignalsJob = { kind: 'taskCosts', query: {}, options: {} };
    const first = await c.run([generated], job);
    const worker = (c as unknown as { worker: { terminate(): Promise<number> } }).worker;
    const dying = c.run([generated], { kind: 'outliers', query: {}, options: {} });
    await worker.terminate();
    await assert.rejects(dying);
    assert.equal(problems.length, 1);
    assert.deepEqual(await c.run([generated], job), first);
  });
});

/** Appends `n` calls of a feature to a loaded state, as a file that grows would. */
function appendCalls(state: TraceFileState, feature: string, n: number) {
  let text = '';
  for (let i = 0; i < n; i++) {
    text += JSON.stringify({ ts: '2026-11-22T10:00:00Z', trace_id: `new-${i % 4}`, model: 'gpt-4o-mini', input_tokens: 1000 + i, output_tokens: 100, metadata: { feature } }) + '\n';
  }
  ingestBytes(state, new TextEncoder().encode(text), true, new PriceBook());
}
