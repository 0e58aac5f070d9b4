import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { CallTable, SharedColumns, StringPool } from '../core/callTable';
import { type FromSignalsWorker, type JobTable, runSignalsJob, type SignalsJob, type SignalsJobResult, type ToSignalsWorker } from './signalsWorkerJobs';

/**
 * Strings per message: posting 10,000 short strings takes ~1-3 ms of the caller's thread (50,000 took 8-19 ms here,
 * and 50-78 ms on an extension host busy loading 2,000 transcripts, where the host's thread got the cores a fraction
 * of the time). Joined into one string they took longer here (the join: ~2.6 ms against ~1.6 ms for 10,000).
 */
const STRINGS_PER_MESSAGE = 10_000;
/** After this many worker crashes, jobs run inline. */
const MAX_CRASHES = 3;
/**
 * Column views per message. Node looks each view's SharedArrayBuffer up among the message's buffers before it, so a
 * message takes ~views × buffers steps: 1,000 views of a buffer each ~1 ms, 6,000 ~30 ms, the ~66,000 columns of
 * 2,000 transcripts ~2.4 s. A table's fixed columns share one buffer now (8 buffers, ~31 views a transcript's table):
 * 7,800 views of 300 one-buffer tables took 2–7 ms in a plain Node process (1,000 of 38 tables ~0.2 ms), and one
 * message of ~125 transcripts' tables (1,000 buffers) held a busy extension host ~70 ms.
 */
const VIEWS_PER_MESSAGE = 1_000;

function sameBuffers(a: readonly ArrayBufferLike[], b: readonly ArrayBufferLike[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export interface SignalsWorkerOptions {
  /** Worker script; default: signalsWorker.js next to this module (out/src/node or dist). */
  script?: string;
  /** Run every job on the caller's thread (no worker). */
  inline?: boolean;
  /** Told when the worker fails and why (jobs then restart it, or run inline after repeated failures). */
  onProblem?: (message: string) => void;
  /** Strings per message when a pool's new strings go over several event-loop turns (default 50,000). */
  stringsPerMessage?: number;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/**
 * Runs signals jobs in one long-lived worker thread so the caller's event loop stays free. Tables are shared, not
 * copied: a table's columns (views of their shared memory) are sent once and again only when they moved (the table
 * grew, or got a new tag), VIEWS_PER_MESSAGE at a time between event-loop turns; a job names its tables and their
 * row counts at that moment, and the worker reads only those rows. A table the host let go is forgotten by the worker
 * too. Of each string pool only the strings the worker has not seen yet are sent (pools only grow), a slice at a time
 * between event-loop turns. Falls back to running inline when the worker script is missing or the worker keeps
 * failing.
 */
export class SignalsWorkerClient {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Per pool: its id in the worker and how many of its strings the worker holds (starts at 1: '' is id 0 on both). */
  private pools = new WeakMap<StringPool, { id: number; sent: number }>();
  private nextPool = 1;
  /** Per table: its id in the worker and the memory of the columns sent (the worker keeps views of them). */
  private tables = new WeakMap<CallTable, { id: number; buffers: ArrayBufferLike[] }>();
  private nextTable = 1;
  /** Which worker the tables' ids are of: a new worker (after a failure) starts with none. */
  private generation = 0;
  /** Tells the worker that had a table that the host let it go (its columns' memory can go too). */
  private readonly letGo = new FinalizationRegistry<{ generation: number; id: number }>(({ generation, id }) => {
    if (generation === this.generation) this.worker?.postMessage({ type: 'forget', tables: [id] } satisfies ToSignalsWorker);
  });
  private crashes = 0;
  private disposed = false;
  private readonly script: string;

  constructor(private readonly opts: SignalsWorkerOptions = {}) {
    this.script = opts.script ?? join(__dirname, 'signalsWorker.js');
  }

  /** Whether jobs run on the caller's thread (no worker script, `inline`, or the worker failed too often). */
  get inline(): boolean {
    return this.opts.inline === true || this.crashes >= MAX_CRASHES || !existsSync(this.script);
  }

  /**
   * Runs `job` over the rows the tables hold now. Rows appended while it runs are not read; a row replaced in place
   * meanwhile (a streamed Claude Code message, repricing) may be read before or after the change.
   */
  async run<J extends SignalsJob>(tables: readonly CallTable[], job: J): Promise<SignalsJobResult<J>> {
    if (this.disposed) throw new Error('signals worker disposed');
    if (this.inline) return runSignalsJob(tables, job);
    const w = this.ensureWorker();
    const pools = [...new Set(tables.map((t) => t.pool))];
    // Big deltas (the first job after a million-call load) go over several turns; the rest below, in one turn with
    // the post of the job, so that every string a row below the posted lengths refers to is sent before it.
    const slice = this.opts.stringsPerMessage ?? STRINGS_PER_MESSAGE;
    for (const p of pools) {
      while (this.unsent(p) > slice) {
        this.sendStrings(w, p, slice);
        await new Promise((r) => setImmediate(r));
        if (w !== this.worker) return this.run(tables, job);
      }
    }
    // Columns the worker does not hold yet (a first job over 2,000 transcripts: ~60,000 views) go over several turns.
    let batch: { table: number; columns: SharedColumns }[] = [];
    let views = 0;
    for (const t of tables) {
      const c = this.unsentColumns(t);
      // (A table whose columns are not in shared memory, one that never grew: a file without calls, is not kept by the
      // worker: the job carries its columns.)
      const kept = c && this.tables.get(t);
      if (!c || !kept) continue;
      batch.push({ table: kept.id, columns: c.columns });
      views += c.views;
      if (views >= VIEWS_PER_MESSAGE) {
        w.postMessage({ type: 'tables', tables: batch } satisfies ToSignalsWorker);
        batch = [];
        views = 0;
        await new Promise((r) => setImmediate(r));
        if (w !== this.worker) return this.run(tables, job);
      }
    }
    if (batch.length) w.postMessage({ type: 'tables', tables: batch } satisfies ToSignalsWorker);
    for (const p of pools) this.sendStrings(w, p, Infinity);
    // In the turn of the job: the columns of tables that grew meanwhile, and each table's rows now.
    const moved: { table: number; columns: SharedColumns }[] = [];
    const jobTables: JobTable[] = [];
    for (const t of tables) {
      const pool = this.pools.get(t.pool)!.id;
      const c = this.unsentColumns(t);
      const sent = this.tables.get(t);
      if (!sent) jobTables.push({ pool, columns: c!.columns });
      else {
        if (c) moved.push({ table: sent.id, columns: c.columns });
        jobTables.push({ pool, table: sent.id, length: c ? c.columns.length : t.length, copies: t.copies, traces: c ? c.columns.traces.count : t.traces.count });
      }
    }
    if (moved.length) w.postMessage({ type: 'tables', tables: moved } satisfies ToSignalsWorker);
    const id = this.nextId++;
    const msg: ToSignalsWorker = { type: 'run', id, tables: jobTables, job };
    const result = new Promise<unknown>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    w.ref();
    w.postMessage(msg);
    return result as Promise<SignalsJobResult<J>>;
  }

  /** Ends the worker; pending jobs fail. */
  dispose(): void {
    this.disposed = true;
    this.reset(new Error('signals worker disposed'));
  }

  /**
   * A table's columns when the worker does not hold them as they are now (recorded as sent to it), with how many
   * views they take (the trace ids' two included); undefined when it does. Columns outside shared memory are never kept:
   * a job sends them each time.
   */
  private unsentColumns(t: CallTable): { columns: SharedColumns; views: number } | undefined {
    const buffers = t.columnBuffers();
    let sent = this.tables.get(t);
    if (sent && sameBuffers(sent.buffers, buffers)) return undefined;
    const columns = t.shareColumns();
    const views = Object.keys(columns.numeric).length + Object.keys(columns.ids).length + 2;
    if (!buffers.every((b) => b instanceof SharedArrayBuffer)) return { columns, views };
    if (!sent) {
      this.tables.set(t, (sent = { id: this.nextTable++, buffers }));
      this.letGo.register(t, { generation: this.generation, id: sent.id });
    } else sent.buffers = buffers;
    return { columns, views };
  }

  private unsent(p: StringPool): number {
    const s = this.pools.get(p);
    return p.values.length - (s ? s.sent : 1);
  }

  private sendStrings(w: Worker, p: StringPool, max: number) {
    let s = this.pools.get(p);
    if (!s) this.pools.set(p, (s = { id: this.nextPool++, sent: 1 }));
    while (s.sent < p.values.length) {
      const end = Math.min(p.values.length, s.sent + max);
      const m: ToSignalsWorker = { type: 'strings', pool: s.id, from: s.sent, strings: p.values.slice(s.sent, end) };
      w.postMessage(m);
      s.sent = end;
    }
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(this.script);
    w.unref();
    w.on('message', (m: FromSignalsWorker) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (!this.pending.size) w.unref();
      if (m.type === 'done') p.resolve(m.result);
      else p.reject(new Error(`signals worker: ${m.message}`));
    });
    const fail = (e: Error) => {
      if (this.worker !== w) return;
      this.crashes++;
      this.opts.onProblem?.(`signals worker failed (${this.crashes}): ${e.message}`);
      this.reset(e);
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`signals worker exited with code ${code}`)));
    this.worker = w;
    return w;
  }

  /** Drops the worker and what it was sent; pending jobs fail with `e`. */
  private reset(e: Error) {
    const w = this.worker;
    this.worker = undefined;
    this.pools = new WeakMap();
    this.tables = new WeakMap();
    this.generation++;
    if (w) void w.terminate();
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(e);
  }
}
