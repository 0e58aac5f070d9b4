import { rmSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { dirname, join } from 'node:path';
import { cutStrings, type StringPool } from '../core/callTable';
import type { LevelPreview, PreviewRequest } from '../core/levelPreview';
import type { FieldMapping, NormalizeContext } from '../core/normalize';
import type { PriceOverride } from '../core/pricing';
import { type PackedTraceFileState, takeJoinedContext, type TraceFileState, unpackContext, unpackState } from '../core/traceFile';
import { PARALLEL_BYTES, parseInOwnProcess, removeStaleInMemory } from './handover';
import { type CacheKey, cacheFileFor, cacheKeyOf, earlierCacheOffset, readStateCache } from './stateCache';

export interface LoadRequest {
  path: string;
  displayName: string;
  overrides: [string, PriceOverride][];
  mapping?: FieldMapping;
  /** Where to keep a cache of the file's columns, and what else they depend on (version, prices, mapping). */
  cache?: { dir: string; settings: string };
  /**
   * Files from this size on are parsed in a process of their own and by several threads (default: 32 MB for the
   * process, rangeWorkers' defaultParallelBytes for the threads; tests set it lower to have both).
   */
  parallelBytes?: number;
  /**
   * The tree's first level to sum as soon as a big file is read in a process of its own (`LoadOptions.onPreview`),
   * before its columns are merged, written and read back here; or, from the state cache, as soon as the columns it
   * needs are read, before the others.
   */
  preview?: PreviewRequest;
  /** Parse such files in a child process, whose memory goes back to the system when it ends (default true). */
  ownProcess?: boolean;
  /**
   * Let the child process hand the columns over through a memory file system (Linux: /dev/shm) when it has room, and
   * write the cache itself afterwards (default true; tests turn it off to have the folder on disk).
   */
  memoryHandover?: boolean;
}

/** Byte ranges a parse was read in (1: one reader), lines it read with the fast scanner, and of those by its WebAssembly loop. */
export interface ScanStats {
  ranges: number;
  fastLines: number;
  wasmLines: number;
  /** Of the range workers, those the parse process started first thing (before its other modules run) that read. */
  startedAhead?: number;
}

/** Where the columns came from: the state cache, a parse in a child process, or a parse in the load worker. */
export type LoadSource = 'cache' | 'process' | 'thread';

export type LoadResponse =
  | { type: 'progress'; fraction: number }
  /** A private folder through which a parse process hands the columns over: removed by the caller in any case. */
  | { type: 'handover'; dir: string }
  /** processPeakRssMb: the child process's peak memory, when it parsed; scan: the lines read by the fast scanner (big files). */
  /** `grownBy`: read from the cache of the file when it was shorter, and these calls after it. */
  | { type: 'done'; state: PackedTraceFileState; fromCache: boolean; parsedIn?: 'process' | 'thread'; processPeakRssMb?: number; scan?: ScanStats; grownBy?: number }
  | { type: 'error'; message: string };

export class LoadCancelled extends Error {
  constructor() {
    super('cancelled');
  }
}

type LoadOptions = {
  signal?: AbortSignal;
  onProgress?: (fraction: number) => void;
  onSource?: (source: LoadSource, info: { processPeakRssMb?: number; scan?: ScanStats; grownBy?: number }) => void;
  /** The tree's first level of a file parsed in a process of its own or read from the cache (`LoadRequest.preview`), before the load ends. */
  onPreview?: (p: LevelPreview) => void;
};

const turn = () => new Promise<void>((r) => setImmediate(r));

/**
 * Reads a whole trace file so the caller's event loop stays free, and merges the result into `pool`. Started from
 * here, without a worker in between: the state cache when it holds the file as it is (the reads run on libuv's
 * threads, the checks a column per event-loop turn), and the parse of a big file in a process of its own (whose
 * columns are read back the same way). Anything else in the load worker (`workerScript`, whose folder also holds
 * parseProcess.js): a parse in the worker, the cache of the file when it was shorter and then its new bytes, and a
 * big file whose parse process failed. `signal` aborts (the worker or process is ended); `onProgress` gets 0..1.
 */
export async function loadInWorker(workerScript: string, req: LoadRequest, pool: StringPool, opts: LoadOptions = {}): Promise<TraceFileState> {
  if (opts.signal?.aborted) throw new LoadCancelled();
  // (What a load worker does at every load, off the way to the view here.)
  setImmediate(removeStaleInMemory);
  const cacheFile = req.cache ? cacheFileFor(req.cache.dir, req.path) : undefined;
  let key: CacheKey;
  let size: number;
  try {
    // One key for the lookup and, on a miss, the write. Taken before reading: if the file grows meanwhile, the next
    // start sees another size and reads on from these columns (they are an earlier version's), never trusting them
    // as the whole file.
    key = cacheKeyOf(req.path, req.cache?.settings ?? '');
    size = key.size;
  } catch {
    // unreadable or gone: the worker reports what is wrong
    return loadInThread(workerScript, req, pool, opts);
  }
  if (cacheFile) {
    let found: PackedTraceFileState | undefined;
    try {
      // The first level asked for is summed from the entry's columns as soon as they are read, ahead of the rest.
      const level = req.preview && opts.onPreview ? { request: req.preview, send: opts.onPreview } : undefined;
      found = await readStateCache(cacheFile, key, turn, level);
    } catch {
      // unreadable: parsed
    }
    if (opts.signal?.aborted) throw new LoadCancelled();
    if (found) {
      opts.onSource?.('cache', {});
      return adopt(found, req, pool, opts.signal);
    }
  }
  const big = !req.mapping && size >= (req.parallelBytes ?? PARALLEL_BYTES);
  if (!big || req.ownProcess === false) return loadInThread(workerScript, req, pool, opts);
  // The cache of the file when it was shorter (a live trace that grew) is read on by the worker (from its prelude: no
  // header parsed here).
  if (cacheFile !== undefined && earlierCacheOffset(cacheFile, key) !== undefined) return loadInThread(workerScript, req, pool, opts);
  let last = 0;
  const r = await parseInOwnProcess(join(dirname(workerScript), 'parseProcess.js'), req, key, cacheFile, size, {
    onFraction: (f) => {
      last = f;
      opts.onProgress?.(f);
    },
    signal: opts.signal,
    turn,
    onPreview: opts.onPreview,
  });
  if (opts.signal?.aborted) throw new LoadCancelled();
  if (r) {
    opts.onSource?.('process', { processPeakRssMb: r.peakRssMb, scan: r.scan });
    return adopt(r.state, req, pool, opts.signal);
  }
  // Parsed in the worker after all: its progress goes on from where the process left it.
  return loadInThread(workerScript, { ...req, ownProcess: false }, pool, { ...opts, onProgress: opts.onProgress && ((f) => opts.onProgress!(last + (1 - last) * f)) });
}

/**
 * The state posted by a load (or read from the cache here) taken into `pool`: the strings are cut out of their joined
 * form a slice per event-loop turn (half a million trace ids take ~50 ms, and their collections as much again), then
 * the columns are taken in.
 */
async function adopt(state: PackedTraceFileState, req: LoadRequest, pool: StringPool, signal?: AbortSignal): Promise<TraceFileState> {
  const strings = await splitSliced(state.columns.joinedStrings);
  const columns = strings ? { ...state.columns, strings, joinedStrings: undefined } : state.columns;
  const p = { ...state, columns, file: req.displayName };
  const ctx = await contextSliced(p, req.mapping, signal);
  if (signal?.aborted) throw new LoadCancelled();
  return unpackState(p, pool, req.mapping, ctx);
}

/**
 * The reading context of a packed state, its joined ids (a big Claude Code transcript's hundreds of thousands of
 * message ids) taken in between event-loop turns: at most CUT_SLICE ids and about CONTEXT_SLICE_MS per turn (the
 * Map's entries cost more as it grows). Stops when `signal` aborts.
 */
export async function contextSliced(p: PackedTraceFileState, mapping: LoadRequest['mapping'], signal?: AbortSignal, next: () => Promise<void> = turn): Promise<NormalizeContext> {
  const j = p.ctx.joined;
  const ctx = unpackContext({ file: p.file, ctx: { ...p.ctx, joined: undefined } }, mapping);
  if (!j) return ctx;
  const n = j.ids.lengths.length;
  let at = 0;
  for (let i = 0; i < n && !signal?.aborted; ) {
    await next();
    const until = performance.now() + CONTEXT_SLICE_MS;
    const end = Math.min(n, i + CUT_SLICE);
    while (i < end && performance.now() < until) {
      const to = Math.min(end, i + 1000);
      at = takeJoinedContext(ctx, j, i, to, at);
      i = to;
    }
  }
  if (!signal?.aborted && at !== j.ids.text.length) throw new Error('cached context ids do not add up');
  return ctx;
}

/** Time taken in one event-loop turn by contextSliced, checked every 1,000 ids. */
const CONTEXT_SLICE_MS = 8;

/**
 * A load worker that finished a load waits this long for the next one (a workspace of many files is loaded one file
 * after another: a fresh worker for each took ~0.2 s more per file, mostly compiling the reader again), then ends.
 */
const IDLE_WORKER_MS = 2000;

/** Load workers that finished a load and wait for the next, by script (at most IDLE_WORKERS each). */
const idleWorkers = new Map<string, { w: Worker; timer: NodeJS.Timeout }[]>();

/**
 * Loads the store runs at once when each is parsed by a load worker (one core each): files of 1-32 MB, e.g. a
 * workspace of rotated daily traces or Claude Code sessions. A file parsed in a process of its own runs alone.
 */
export const LOADS_AT_ONCE = 2;

/** Load workers kept waiting per script: as many as loads run at once. */
const IDLE_WORKERS = LOADS_AT_ONCE;

/** Load workers started (tests: a worker is reused from one load to the next). */
let workersStarted = 0;
export const loadWorkersStarted = (): number => workersStarted;

/** Takes `w` out of the waiting ones of `script`, if it is there; whether it was. */
function forgetIdle(script: string, w: Worker): boolean {
  const list = idleWorkers.get(script);
  const k = list ? list.findIndex((x) => x.w === w) : -1;
  if (k < 0) return false;
  clearTimeout(list![k].timer);
  list!.splice(k, 1);
  if (list!.length === 0) idleWorkers.delete(script);
  return true;
}

/** A waiting load worker of `script`, or a new one. */
function takeWorker(script: string): Worker {
  const idle = idleWorkers.get(script)?.at(-1);
  if (idle) {
    forgetIdle(script, idle.w);
    idle.w.ref();
    return idle.w;
  }
  workersStarted++;
  const w = new Worker(script);
  // One that ends while it waits is forgotten; an error while it waits (no load listening) only ends it.
  w.on('exit', () => forgetIdle(script, w));
  w.on('error', () => undefined);
  return w;
}

/** A worker whose load went through waits for the next one (it does not keep the process alive). */
function releaseWorker(script: string, w: Worker): void {
  const list = idleWorkers.get(script) ?? [];
  if (list.length >= IDLE_WORKERS) {
    void w.terminate();
    return;
  }
  w.unref();
  const timer = setTimeout(() => {
    forgetIdle(script, w);
    void w.terminate();
  }, IDLE_WORKER_MS);
  timer.unref();
  list.push({ w, timer });
  idleWorkers.set(script, list);
}

function loadInThread(workerScript: string, req: LoadRequest, pool: StringPool, opts: LoadOptions): Promise<TraceFileState> {
  if (opts.signal?.aborted) return Promise.reject(new LoadCancelled());
  return new Promise((resolve, reject) => {
    const w = takeWorker(workerScript);
    // Removed here, whatever happens: the worker may be ended before it removes it (a cancel right after the parse).
    let handover: string | undefined;
    let settled = false;
    /** `reuse`: the load went through, and the worker waits for the next; else it is ended. */
    const finish = (fn: () => void, reuse = false) => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      w.off('message', onMessage);
      w.off('error', onError);
      w.off('exit', onExit);
      // Once the worker is gone, its child process either has written the columns (removed here) or, seeing its channel
      // close, never will (or removes them itself).
      const dir = handover;
      const removeDir = () => {
        try {
          if (dir) rmSync(dir, { recursive: true, force: true });
        } catch {
          // in use (Windows) or gone: the next load in that cache folder removes old ones
        }
      };
      if (reuse) {
        releaseWorker(workerScript, w);
        removeDir();
      } else void w.terminate().finally(removeDir);
      fn();
    };
    const onAbort = () => finish(() => reject(new LoadCancelled()));
    opts.signal?.addEventListener('abort', onAbort);
    const onMessage = (m: LoadResponse) => {
      if (m.type === 'progress') opts.onProgress?.(m.fraction);
      else if (m.type === 'handover') handover = m.dir;
      else if (m.type === 'done') {
        opts.onSource?.(m.fromCache ? 'cache' : (m.parsedIn ?? 'thread'), { processPeakRssMb: m.processPeakRssMb, scan: m.scan, grownBy: m.grownBy });
        // Whatever goes wrong must reject, never leave the load pending.
        finish(() => adopt(m.state, req, pool, opts.signal).then(resolve, (e: unknown) => reject(e instanceof Error ? e : new Error(String(e)))), true);
      } else finish(() => reject(new Error(m.message)));
    };
    const onError = (e: Error) => finish(() => reject(e));
    const onExit = (code: number) => finish(() => reject(new Error(`load worker exited with code ${code}`)));
    w.on('message', onMessage);
    w.on('error', onError);
    w.on('exit', onExit);
    w.postMessage(req);
  });
}

/** Strings cut per event-loop turn: ~5-10 ms each, plus the young-generation collections they cause. */
const CUT_SLICE = 20_000;

/**
 * `packedStrings` of joined strings, CUT_SLICE per event-loop turn, the first one in a turn of its own too (the turn
 * that received the message already paid for copying the joined text).
 */
async function splitSliced(j: { text: string; lengths: Uint32Array } | undefined): Promise<string[] | undefined> {
  if (!j) return undefined;
  const out = new Array<string>(j.lengths.length);
  let at = 0;
  for (let i = 0; i < out.length; i += CUT_SLICE) {
    await turn();
    at = cutStrings(j, out, i, Math.min(out.length, i + CUT_SLICE), at);
  }
  if (at !== j.text.length) throw new Error('cached strings do not add up');
  return out;
}
