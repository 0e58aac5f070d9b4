// Worker-thread entry (out/src/node/signalsWorker.js; bundled as dist/signalsWorker.js): runs the signals jobs
// (outliers, anomalies, budgets, cost per task, what-if) off the extension host's thread. It reads the host's table
// columns in shared memory (no copy), only rows below the length each request gives, and keeps a copy of each string
// pool, extended by the strings the host has not sent yet, and each table's columns, sent once (until they move).
// Messages: in ToSignalsWorker; out FromSignalsWorker.
import { parentPort } from 'node:worker_threads';
import { CallTable, type SharedColumns, StringPool } from '../core/callTable';
import { type FromSignalsWorker, type JobTable, runSignalsJob, type ToSignalsWorker } from './signalsWorkerJobs';

const pools = new Map<number, StringPool>();
/** The host's tables by id: views of their shared columns (as long as when sent; a job gives the length it reads). */
const tables = new Map<number, SharedColumns>();

type View = Float64Array | Uint32Array | Int32Array | Uint8Array;

/** `a`'s memory from its start, `n` values long (the column's rows below the job's length). */
function viewOf<T extends View>(a: T, n: number): T {
  return new (a.constructor as new (b: ArrayBufferLike, offset: number, length: number) => T)(a.buffer, a.byteOffset, n);
}

/** The columns of a job's table: those kept, cut at the job's length. */
function columnsOf(t: JobTable): SharedColumns {
  if ('columns' in t) return t.columns;
  const s = tables.get(t.table);
  if (!s) throw new Error(`unknown table ${t.table}`);
  const numeric: SharedColumns['numeric'] = {};
  for (const [k, a] of Object.entries(s.numeric)) numeric[k] = viewOf(a, t.length);
  const ids: SharedColumns['ids'] = {};
  for (const [k, a] of Object.entries(s.ids)) ids[k] = viewOf(a, t.length);
  return { file: s.file, length: t.length, copies: t.copies, numeric, ids, traces: { count: t.traces, bytes: s.traces.bytes, ends: s.traces.ends } };
}

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
  if (m.type === 'tables') {
    for (const t of m.tables) tables.set(t.table, t.columns);
    return;
  }
  if (m.type === 'forget') {
    for (const id of m.tables) tables.delete(id);
    return;
  }
  let out: FromSignalsWorker;
  try {
    const read = m.tables.map((t) => {
      const pool = pools.get(t.pool);
      if (!pool) throw new Error(`unknown string pool ${t.pool}`);
      return CallTable.fromShared(pool, columnsOf(t));
    });
    out = { type: 'done', id: m.id, result: runSignalsJob(read, m.job) };
  } catch (e) {
    out = { type: 'error', id: m.id, message: (e as Error).stack ?? String(e) };
  }
  parentPort!.postMessage(out);
});
