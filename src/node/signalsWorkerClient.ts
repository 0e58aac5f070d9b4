import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { CallTable, StringPool } from '../core/callTable';
import { type FromSignalsWorker, runSignalsJob, type SignalsJob, type SignalsJobResult, type ToSignalsWorker } from './signalsWorkerJobs';

/** Strings per message: posting 50,000 short strings takes a few ms of the caller's thread. */
const STRINGS_PER_MESSAGE = 50_000;
/** After this many worker crashes, jobs run inline. */
const MAX_CRASHES = 3;

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
 * copied: each job posts views of the columns' shared memory and the row count at that moment; the worker reads
 * only those rows. Of each string pool only the strings the worker has not seen yet are sent (pools only grow), a
 * slice at a time between event-loop turns. Falls back to running inline when the worker script is missing or the
 * worker keeps failing.
 */
export class SignalsWorkerClient {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Per pool: its id in the worker and how many of its strings the worker holds (starts at 1: '' is id 0 on both). */
  private pools = new WeakMap<StringPool, { id: number; sent: number }>();
  private nextPool = 1;
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
    for (const p of pools) this.sendStrings(w, p, Infinity);
    const id = this.nextId++;
    const msg: ToSignalsWorker = { type: 'run', id, tables: tables.map((t) => ({ pool: this.pools.get(t.pool)!.id, columns: t.shareColumns() })), job };
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
    if (w) void w.terminate();
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(e);
  }
}
