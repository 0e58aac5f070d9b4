// How many threads read a big file, from what size, and range workers started ahead of need. A parse process starts
// its range workers first thing, before the rest of its modules run (the price catalogue's construction among them;
// its bundle is compiled as a whole before any of it runs): a worker's own start (a thread, Node's internal modules,
// the bundle: ~100 ms here) then overlaps the process's start rather than following it, and parallelLoad takes them
// (takeRangeWorker) instead of starting its own. (On this 2-core machine the gain is a few tens of milliseconds: the
// process keeps both cores busy anyway.) Light on purpose (no core code): the extension host imports it to tell a
// parse process how many to start.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

/**
 * The size from which a file is read by byte ranges on several threads rather than by one reader. Measured on 2 cores
 * (`npm run bench`, the WebAssembly scanner): one thread is faster up to ~200 MB (40 MB: 0.13 s against 0.21 s:
 * starting the threads and merging their columns cost 0.1–0.2 s), the two break even near 200 MB and two threads save
 * ~20% at 400 MB. More cores share the work more finely: the size goes down with them (not measured here).
 */
export function defaultParallelBytes(cores = availableParallelism(), env: NodeJS.ProcessEnv = process.env): number {
  // LLM_COST_LENS_THREADS_BYTES: another size, for a test in VS Code that wants ranges on a smaller file.
  const set = Number(env.LLM_COST_LENS_THREADS_BYTES);
  if (Number.isInteger(set) && set > 0) return set;
  return Math.max(32 * 1024 * 1024, Math.round((384 * 1024 * 1024) / Math.max(1, cores)));
}

/** The byte ranges a file read in parallel is cut into by default: one per core, at least two. */
export function defaultRanges(cores = availableParallelism()): number {
  return Math.max(2, cores);
}

/** The worker script parallelLoad starts by default: parseRangeWorker.js next to this module (out/src/node or dist). */
export const RANGE_WORKER_SCRIPT = join(__dirname, 'parseRangeWorker.js');

const waiting: { script: string; w: Worker; failed: boolean; onFail: () => void }[] = [];
/** Range workers started ahead that a read took. */
let taken = 0;

/** Starts `n` range workers (of `script`) now, for the next parallel read to take; they wait for a RangeRequest. */
export function prestartRangeWorkers(n: number, script = RANGE_WORKER_SCRIPT): void {
  for (let k = 0; k < n; k++) {
    let w: Worker;
    try {
      w = new Worker(script);
    } catch {
      return; // parallelLoad starts its own
    }
    const entry = { script, w, failed: false, onFail: () => (entry.failed = true) };
    // One that fails or ends before it is taken is not taken (and an 'error' with no listener would end the process).
    w.on('error', entry.onFail);
    w.on('exit', entry.onFail);
    // Waiting, it does not keep the process alive (a command that ends up not reading in ranges still exits).
    w.unref();
    waiting.push(entry);
  }
}

/**
 * A range worker of `script` started ahead and not seen to fail, taken (the caller listens to it from now on, in the
 * same turn), or undefined. One that fails while still loading is the caller's to see, as with a worker it starts.
 */
export function takeRangeWorker(script: string): Worker | undefined {
  for (let i = 0; i < waiting.length; i++) {
    const e = waiting[i];
    if (e.script !== script) continue;
    waiting.splice(i--, 1);
    if (!e.failed) {
      e.w.off('error', e.onFail);
      e.w.off('exit', e.onFail);
      e.w.ref();
      taken++;
      return e.w;
    }
    void e.w.terminate();
  }
  return undefined;
}

/** Ends the range workers started ahead and not taken (the file was read by one reader, or in fewer ranges). */
export function endRangeWorkers(): void {
  // (Their listeners stay: an error while they end is not unhandled.)
  for (const e of waiting.splice(0)) void e.w.terminate();
}

/** How many range workers started ahead wait to be taken, how many of those failed, and how many reads took (tests, logs). */
export function rangeWorkersWaiting(): { waiting: number; failed: number; taken: number } {
  return { waiting: waiting.length, failed: waiting.filter((e) => e.failed).length, taken };
}
