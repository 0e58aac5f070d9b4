#!/usr/bin/env node
/**
 * The signals (anomalies + budgets, outliers, cost per task, what-if) on a big store: run on the main thread (as the
 * extension host did) against the signals worker (src/node/signalsWorkerClient.ts), with the main thread's largest
 * event-loop delay while they run (a 5 ms setInterval gap probe and perf_hooks.monitorEventLoopDelay) and the time.
 *
 *   npm run compile-tests && node scripts/benchSignals.mjs [--calls 1M] [--repeat 2] [--worker-only]
 *
 * The trace comes from scripts/genTraces.mjs (seed 42) into bench-data/, as scripts/bench.mjs makes it (reused when
 * present with the same arguments), and is loaded with the parallel loader. The worker runs from out/src/node. The
 * run checks that the worker's results equal the inline ones and exits non-zero when they do not. `--worker-only` skips
 * the inline runs (and the check), so that their garbage is not collected while the worker path is measured.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { eventLoopProbe } from './eventLoopProbe.mjs';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

const require = createRequire(import.meta.url);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const O = (p) => require(join(ROOT, 'out', 'src', p));
const { StringPool } = O('core/callTable.js');
const { PriceBook } = O('core/pricing.js');
const { loadParallel } = O('node/parallelLoad.js');
const { SignalsWorkerClient } = O('node/signalsWorkerClient.js');
const { runSignalsJob } = O('node/signalsWorkerJobs.js');

const args = process.argv.slice(2);
const arg = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const parseSize = (s) => Math.round(Number(String(s).replace(/k$/i, 'e3').replace(/m$/i, 'e6')));
const calls = parseSize(arg('--calls', '1M'));
const repeat = Number(arg('--repeat', '2'));
const workerOnly = args.includes('--worker-only');
const label = calls % 1e6 === 0 ? `${calls / 1e6}m` : calls % 1e3 === 0 ? `${calls / 1e3}k` : String(calls);

function ensureTrace() {
  mkdirSync(join(ROOT, 'bench-data'), { recursive: true });
  const file = join(ROOT, 'bench-data', `calls-${label}.jsonl`);
  const genArgs = ['--calls', String(calls), '--out', file, '--seed', '42'];
  const sidecar = file + '.args.json';
  if (existsSync(file) && existsSync(sidecar) && readFileSync(sidecar, 'utf8') === JSON.stringify(genArgs)) return file;
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'genTraces.mjs'), ...genArgs], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('benchSignals: genTraces failed');
  writeFileSync(sidecar, JSON.stringify(genArgs));
  return file;
}

/** Runs `fn` and reports its time and the main thread's largest event-loop delay meanwhile. */
async function probe(fn) {
  const watch = eventLoopProbe();
  await new Promise((r) => setTimeout(r, 20));
  watch.reset();
  const t0 = performance.now();
  const result = await fn();
  const ms = performance.now() - t0;
  // Let the probe see the end of the last blocking stretch.
  await new Promise((r) => setTimeout(r, 10));
  return { result, ms, maxDelayMs: watch.stop() };
}

const file = ensureTrace();
const pool = new StringPool();
const prices = new PriceBook();
const tLoad = performance.now();
const { state } = await loadParallel(file, { pool, prices, final: true, minParallelBytes: 0 });
const table = state.table;
let lastTs = -Infinity;
for (let i = 0; i < table.length; i++) if (table.tsMs[i] > lastTs) lastTs = table.tsMs[i];
console.log(`${table.length.toLocaleString('en')} calls, ${pool.values.length.toLocaleString('en')} interned strings, loaded in ${Math.round(performance.now() - tLoad)} ms; shared columns: ${table.tsMs.buffer instanceof SharedArrayBuffer}`);

const nowMs = lastTs + 3_600_000;
const jobs = [
  ['signals (anomalies, model switches, 2 budgets)', { kind: 'signals', nowMs, windowDays: 3, historyDays: 21, dims: ['feature', 'agent', 'user'], source: 'auto', budgets: [{ scope: 'total', period: 'month', usd: 5000 }, { scope: 'feature', value: 'search', period: 'day', usd: 20 }] }],
  ['Show outliers (all calls)', { kind: 'outliers', query: {}, options: { dim: 'feature', source: 'auto' } }],
  ['Cost per task', { kind: 'taskCosts', query: {}, options: { dim: 'feature', source: 'auto' } }],
  ['What if (all calls on gpt-4o-mini)', { kind: 'whatIf', query: {}, model: 'gpt-4o-mini', price: prices.resolve('gpt-4o-mini'), options: { label: 'all calls', source: 'auto' } }],
];

const rows = [];
const client = new SignalsWorkerClient({ script: join(ROOT, 'out', 'src', 'node', 'signalsWorker.js') });
let failed = false;
for (let rep = 1; rep <= repeat; rep++) {
  for (const [name, job] of jobs) {
    const a = workerOnly ? { result: undefined, ms: NaN, maxDelayMs: NaN } : await probe(() => runSignalsJob([table], job));
    const b = await probe(() => client.run([table], job));
    if (!workerOnly && !isDeepStrictEqual(a.result, b.result)) {
      failed = true;
      console.error(`MISMATCH: ${name}`);
    }
    rows.push({ rep, name, inlineMs: a.ms, inlineMaxDelayMs: a.maxDelayMs, workerMs: b.ms, workerMaxDelayMs: b.maxDelayMs });
  }
}
client.dispose();

const f = (x) => x.toFixed(0).padStart(7);
console.log(`\nrun  job${' '.repeat(45)}   inline: total  max delay |  worker: total  max delay  (ms)`);
for (const r of rows) console.log(`${String(r.rep).padEnd(4)} ${r.name.padEnd(48)} ${f(r.inlineMs)}    ${f(r.inlineMaxDelayMs)}   |   ${f(r.workerMs)}    ${f(r.workerMaxDelayMs)}`);
for (let rep = 1; rep <= repeat; rep++) {
  const rs = rows.filter((r) => r.rep === rep);
  const sum = (k) => rs.reduce((s, r) => s + r[k], 0);
  const max = (k) => Math.max(...rs.map((r) => r[k]));
  console.log(`${String(rep).padEnd(4)} ${'all four'.padEnd(48)} ${f(sum('inlineMs'))}    ${f(max('inlineMaxDelayMs'))}   |   ${f(sum('workerMs'))}    ${f(max('workerMaxDelayMs'))}`);
}
console.log(`\nRun 1 of the worker includes starting it and sending the ${pool.values.length.toLocaleString('en')} strings of the pool.`);
console.log(JSON.stringify({ calls: table.length, strings: pool.values.length, rows }));
if (failed) process.exit(1);
