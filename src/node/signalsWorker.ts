// Worker-thread entry (out/src/node/signalsWorker.js; bundled as dist/signalsWorker.js): runs the signals jobs
// (outliers, anomalies, budgets, cost per task, what-if) off the extension host's thread. It reads the host's table
// columns in shared memory (no copy), only rows below the length each request gives, and keeps a copy of each string
// pool, extended by the strings the host has not sent yet. Messages: in ToSignalsWorker; out FromSignalsWorker.
import { parentPort } from 'node:worker_threads';
import { CallTable, StringPool } from '../core/callTable';
import { type FromSignalsWorker, runSignalsJob, type ToSignalsWorker } from './signalsWorkerJobs';

const pools = new Map<number, StringPool>();

function extend(m: Extract<ToSignalsWorker, { type: 'strings' }>): void {
  let pool = pools.get(m.pool);
  if (!pool) pools.set(m.pool, (pool = new StringPool()));
  if (pool.values.length !== m.from) throw new Error(`string pool ${m.pool} has ${pool.values.length} strings, not ${m.from}`);
  for (const s of m.strings) {
    // Ids must stay those of the host's pool: a string it holds twice is kept twice (lookups find the first).
    const at = pool.values.length;
    if (pool.id(s) !== at) pool.values.push(s);
  }
}

parentPort?.on('message', (m: ToSignalsWorker) => {
  if (m.type === 'strings') {
    // A pool out of step cannot be read from: end the worker, the host starts a new one.
    extend(m);
    return;
  }
  let out: FromSignalsWorker;
  try {
    const tables = m.tables.map((t) => {
      const pool = pools.get(t.pool);
      if (!pool) throw new Error(`unknown string pool ${t.pool}`);
      return CallTable.fromShared(pool, t.columns);
    });
    out = { type: 'done', id: m.id, result: runSignalsJob(tables, m.job) };
  } catch (e) {
    out = { type: 'error', id: m.id, message: (e as Error).stack ?? String(e) };
  }
  parentPort!.postMessage(out);
});
