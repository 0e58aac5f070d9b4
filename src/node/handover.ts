// Big trace files parsed in a process of their own (src/services/parseProcess.ts), which hands the columns over
// through a private folder (in memory when there is room); and the removal of those folders that a stopped or crashed
// window left behind. Used by the extension host's loader (node/workerLoad.ts) and by the load worker (a grown file that
// must be parsed again after all).
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statfsSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LevelPreview, PreviewRequest } from '../core/levelPreview';
import type { PriceOverride } from '../core/pricing';
import type { PackedTraceFileState } from '../core/traceFile';
import { withHugePages } from './hugePages';
import { defaultParallelBytes, defaultRanges } from './rangeWorkers';
import { type CacheKey, readStateCache } from './stateCache';
import type { LoadRequest, ScanStats } from './workerLoad';

/** A memory file system for handing columns over (Linux: /dev/shm). */
export const MEMORY_FS = '/dev/shm';

/** The prefix of hand-over folders in MEMORY_FS. */
export const MEMORY_PREFIX = 'llm-cost-lens-parse-';

/** Private folders of parse processes that a stopped window left, older than this, are removed. */
const STALE_HANDOVER_MS = 10 * 60_000;

/** Removes the folders named `prefix`* in `dir` older than STALE_HANDOVER_MS (left by a window that was stopped). */
export function removeStale(dir: string, prefix: string): void {
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix)) continue;
    try {
      const p = join(dir, name);
      if (Date.now() - statSync(p).mtimeMs > STALE_HANDOVER_MS) rmSync(p, { recursive: true, force: true });
    } catch {
      // gone meanwhile, or another user's
    }
  }
}

/**
 * Columns in memory that a crashed window left (a tmpfs holds them in RAM): removed at every load, not only at the
 * next hand-over, which a cached file may not need for a long time.
 */
export function removeStaleInMemory(): void {
  if (process.platform !== 'linux' || !existsSync(MEMORY_FS)) return;
  try {
    removeStale(MEMORY_FS, MEMORY_PREFIX);
  } catch {
    // not listable
  }
}

/** What a parse process is asked (IPC). */
export interface ParseRequest {
  path: string;
  displayName: string;
  overrides: [string, PriceOverride][];
  /** Files from this size on are read by several threads, smaller ones by this process's main thread (default: rangeWorkers' defaultParallelBytes). */
  parallelBytes?: number;
  /** Where to write the columns (in a private folder, removed with them if the parent goes away), with which key. */
  out: string;
  key: CacheKey;
  /**
   * The state-cache file to write as well, once `done` is sent (then `out` is only a handover, in memory, which the
   * reader removes): the cache write is off the path to the first view.
   */
  cacheFile?: string;
  /** Tests: hold the process (synchronously, as a long write would) this long before writing the columns. */
  holdBeforeWriteMs?: number;
  /** The tree's first level to send (`preview`) as soon as the file is read, before the columns are merged and written. */
  preview?: PreviewRequest;
}

/** `done`: the calls, the peak memory, the byte ranges, the lines the fast scanner read (`fastLines`) and of those its WebAssembly loop. */
export type ParseResponse =
  | { type: 'progress'; fraction: number }
  | { type: 'preview'; preview: LevelPreview }
  /** `at`: the columns were written there instead of `out` (the cache file, when `out`'s memory file system was full). */
  | { type: 'done'; calls: number; peakRssMb: number; ranges: number; fastLines: number; wasmLines: number; startedAhead: number; at?: string }
  | { type: 'error'; message: string };

/** Files from this size on are parsed in a process of their own (by several threads from rangeWorkers' defaultParallelBytes on). */
export const PARALLEL_BYTES = 32 * 1024 * 1024;

/**
 * V8 flags of the parse process: no background threads for garbage collection or for optimizing JavaScript, which
 * would compete with the reading threads for every core. Not `--single-threaded`, which sets those and more: with it V8
 * refuses Node.js's built-in code cache (a flag it changes is in the cache's check), and each thread compiles Node.js's
 * internal modules from source. A range worker then took ~65–85 ms to start instead of ~30–45 (an empty worker, five
 * starts each), and began reading ~50 ms later (the parse process's threads, profiled). (`--no-wasm-async-compilation`
 * or `--wasm-num-compilation-tasks=0` would be refused the cache too.)
 */
export const PROCESS_FLAGS = ['--single-threaded-gc', '--no-concurrent-recompilation'];

/**
 * The environment of the parse process: the caller's, as a plain Node.js (in VS Code the runtime is Electron:
 * ELECTRON_RUN_AS_NODE, as language servers are run), without NODE_EXTRA_CA_CERTS: the process makes no connection,
 * and Node.js reads and parses those certificates before running any code (~80 ms of a ~100 ms start on this machine,
 * where the variable is set, as it often is behind a company proxy).
 */
export function parseProcessEnv(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): NodeJS.ProcessEnv {
  // (Names compared without case: Windows keeps a variable's name as it was set and reads it whatever its case.)
  const kept = Object.entries(env).filter(([name]) => name.toUpperCase() !== 'NODE_EXTRA_CA_CERTS');
  const out: NodeJS.ProcessEnv = { ...Object.fromEntries(kept), ELECTRON_RUN_AS_NODE: '1' };
  // On Linux, huge pages for its big allocations (`withHugePages`): a first load of the 1M-call file showed its first
  // level at 685–781 ms instead of 953–1,163 ms here (its columns in 1.27–1.44 s instead of 1.89–2.07 s; three runs of
  // each alternated).
  if (platform === 'linux') out.GLIBC_TUNABLES = withHugePages(env.GLIBC_TUNABLES);
  return out;
}

/** No word from the parse process for this long (progress comes every 2%): it is stuck, and the file is parsed in a thread (the load worker). */
const SILENCE_MS = 60_000;

/** Whether the memory file system (MEMORY_FS) has room for the columns of a `bytes` trace file. */
function memoryRoomFor(bytes: number): boolean {
  if (process.platform !== 'linux' || !existsSync(MEMORY_FS)) return false;
  try {
    const fs = statfsSync(MEMORY_FS);
    // The columns take ~0.3 bytes per byte of trace (up to ~2 for very short records): room for twice the file, and more.
    return fs.bavail * fs.bsize > 2 * bytes + 64 * 1024 * 1024;
  } catch {
    return false;
  }
}

/**
 * A private folder for the columns a parse process hands over: in memory (MEMORY_FS) when `inMemory`; else inside the
 * cache folder when there is one (so they can be renamed into the cache), else in the system's temp folder. Old ones a
 * stopped window left are removed first.
 */
function handoverDir(req: LoadRequest, inMemory: boolean): string {
  if (inMemory) {
    removeStale(MEMORY_FS, MEMORY_PREFIX);
    return mkdtempSync(join(MEMORY_FS, `${MEMORY_PREFIX}${process.pid}-`));
  }
  if (!req.cache) return mkdtempSync(join(tmpdir(), `llm-cost-lens-parse-${process.pid}-`));
  mkdirSync(req.cache.dir, { recursive: true });
  removeStale(req.cache.dir, 'parse-');
  return mkdtempSync(join(req.cache.dir, 'parse-'));
}

/**
 * Parses a big file in a child process (`script`: parseProcess.js) that writes the columns to `out`, then reads them
 * here as a reopen does: the memory of parsing leaves with the process. Undefined when the process could not do it (it
 * could not start, crashed, went silent, or could not write the file; or `opts.signal` aborted it).
 */
async function parseInProcess(script: string, req: LoadRequest, key: CacheKey, out: string, cacheFile: string | undefined, opts: ProcessParseOptions): Promise<ProcessParse | undefined> {
  let peakRssMb = 0;
  let scan: ScanStats | undefined;
  // Where the columns are: `out`, or the cache file when the process could not write `out` (memory full).
  let at = out;
  if (opts.signal?.aborted) return undefined;
  const ok = await new Promise<boolean>((resolve) => {
    let child: ReturnType<typeof fork>;
    try {
      // Its argument: how many range workers to start first thing (the threads that read the file with its main thread).
      const workers = key.size >= (req.parallelBytes ?? defaultParallelBytes()) ? defaultRanges() - 1 : 0;
      child = fork(script, [String(workers)], { env: parseProcessEnv(process.env), execArgv: PROCESS_FLAGS, stdio: ['ignore', 'ignore', 'ignore', 'ipc'], serialization: 'advanced' });
    } catch {
      resolve(false);
      return;
    }
    let settled = false;
    let silence: NodeJS.Timeout | undefined;
    const onAbort = () => settle(false);
    const settle = (v: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(silence);
      opts.signal?.removeEventListener('abort', onAbort);
      if (!v) child.kill();
      resolve(v);
    };
    opts.signal?.addEventListener('abort', onAbort);
    const listen = () => {
      clearTimeout(silence);
      silence = setTimeout(() => settle(false), SILENCE_MS);
    };
    listen();
    child.on('message', (m: ParseResponse) => {
      listen();
      if (m.type === 'progress') opts.onFraction(m.fraction);
      else if (m.type === 'preview') opts.onPreview?.(m.preview);
      else {
        if (m.type === 'done') {
          if (m.at) at = m.at;
          peakRssMb = m.peakRssMb;
          scan = { ranges: m.ranges, fastLines: m.fastLines, wasmLines: m.wasmLines, startedAhead: m.startedAhead };
        }
        settle(m.type === 'done');
      }
    });
    child.on('error', () => settle(false));
    // A 'done' sent just before exiting may still be in the channel at 'exit': 'close' comes once it is drained (and,
    // should it not come, a second later the parse counts as failed).
    child.on('close', () => settle(false));
    child.on('exit', () => setTimeout(() => settle(false), 1000).unref());
    child.send({ path: req.path, displayName: req.displayName, overrides: req.overrides, parallelBytes: req.parallelBytes, out, key, cacheFile, preview: req.preview } satisfies ParseRequest);
  });
  const state = ok && !opts.signal?.aborted ? await readStateCache(at, key, opts.turn) : undefined;
  return state && { state, peakRssMb, scan };
}


/** A parse in a process of its own: the columns (read back here), the process's peak memory and what its scanner read. */
export interface ProcessParse {
  state: PackedTraceFileState;
  peakRssMb: number;
  scan?: ScanStats;
}

export interface ProcessParseOptions {
  onFraction: (f: number) => void;
  /** Told the private folder as soon as it is made (a caller that may be ended first removes it then). */
  onFolder?: (dir: string) => void;
  /** Ends the process (the parse then gives undefined). */
  signal?: AbortSignal;
  /** Awaited between the checks of the columns read back (the caller's event loop gets turns). */
  turn?: () => Promise<void>;
  /** The tree's first level, when the request asked for it (`LoadRequest.preview`), before the columns come. */
  onPreview?: (p: LevelPreview) => void;
}

/**
 * Parses a big file in a process of its own (`script`: parseProcess.js) and reads its columns back. They come through
 * a private folder, removed here in any case: in memory when it has room (written and read back without the disk,
 * ~0.1 s less for a million calls, and no wait on a busy disk; the process then writes the cache itself once they are
 * taken), else on disk, renamed into the cache (`cacheFile`) afterwards. Undefined when the process could not parse it.
 */
export async function parseInOwnProcess(script: string, req: LoadRequest, key: CacheKey, cacheFile: string | undefined, size: number, opts: ProcessParseOptions): Promise<ProcessParse | undefined> {
  const inMemory = req.memoryHandover !== false && memoryRoomFor(size);
  let dir: string | undefined;
  try {
    dir = handoverDir(req, inMemory);
    opts.onFolder?.(dir);
    const out = join(dir, 'columns.cols');
    const r = await parseInProcess(script, req, key, out, inMemory ? cacheFile : undefined, opts);
    // Into the cache (same folder, so a rename), which other windows then read.
    if (r && cacheFile && !inMemory) {
      try {
        renameSync(out, cacheFile);
      } catch {
        // not cached
      }
    }
    return r;
  } catch {
    return undefined; // no folder: parsed by the caller
  } finally {
    // (Asynchronously: a big file in a memory file system takes ~20 ms to remove.)
    if (dir) await rm(dir, { recursive: true, force: true }).catch(() => undefined); // in use (Windows): the next load in that folder removes old ones
  }
}
