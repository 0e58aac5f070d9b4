// Worker-thread entry (dist/loadWorker.js): reads one trace file off the extension host's thread and sends back its
// columns: from the state cache (or the cache of the file when it was shorter, then its new bytes), parsed in a child
// process (big files), or parsed here. Messages: in LoadRequest; out { type: 'progress', fraction } and
// { type: 'handover', dir } (a folder the caller removes), then { type: 'done', state } or { type: 'error' }.
import { fork } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, statfsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { StringPool } from '../core/callTable';
import type { PackedTraceFileState } from '../core/traceFile';
import { type CacheKey, cacheFileFor, cacheKeyOf, readStateCache, readStateCacheOf, writeStateCache } from '../node/stateCache';
import { MEMORY_FS, MEMORY_PREFIX, removeStale, removeStaleInMemory } from '../node/handover';
import type { LoadRequest, LoadResponse, ScanStats } from '../node/workerLoad';
import type { ParseRequest, ParseResponse } from './parseProcess';

// Parsing and pricing (the price catalogue takes ~40 ms to load) are required only when the cache cannot answer (then
// with the scanner's LLM_COST_LENS_WASM setting applied).
type Parsing = typeof import('../core/pricing') & typeof import('../core/traceFile') & typeof import('../node/parallelLoad') & typeof import('../node/traceReader');
const parsing = (): Parsing => {
  (require('../node/scannerEnv') as typeof import('../node/scannerEnv')).applyScannerEnv();
  return {
    ...(require('../core/pricing') as typeof import('../core/pricing')),
    ...(require('../core/traceFile') as typeof import('../core/traceFile')),
    ...(require('../node/parallelLoad') as typeof import('../node/parallelLoad')),
    ...(require('../node/traceReader') as typeof import('../node/traceReader')),
  };
};

/** Files from this size on are parsed in a process of their own (by several threads from parallelLoad's defaultParallelBytes on). */
const PARALLEL_BYTES = 32 * 1024 * 1024;

/** V8 flags of the parse process. */
const PROCESS_FLAGS = ['--single-threaded'];

/** No word from the parse process for this long (progress comes every 2%): it is stuck, and the file is parsed here. */
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
 * Parses a big file in a child process (parseProcess.js, next to this script) that writes the columns to `out`, then
 * reads them here as a reopen does: the memory of parsing leaves with the process. Undefined when the process could
 * not do it (it could not start, crashed, went silent, or could not write the file): the caller parses here instead.
 */
async function parseInProcess(req: LoadRequest, key: CacheKey, out: string, cacheFile: string | undefined, onFraction: (f: number) => void): Promise<{ state: PackedTraceFileState; peakRssMb: number; scan?: ScanStats } | undefined> {
  let peakRssMb = 0;
  let scan: ScanStats | undefined;
  // Where the columns are: `out`, or the cache file when the process could not write `out` (memory full).
  let at = out;
  const ok = await new Promise<boolean>((resolve) => {
    let child: ReturnType<typeof fork>;
    try {
      // In VS Code the runtime is Electron: ELECTRON_RUN_AS_NODE makes it a plain Node.js (as language servers are run).
      // --single-threaded: no V8 background threads (concurrent GC, compilation) competing with the parsing threads,
      // which take every core.
      child = fork(join(__dirname, 'parseProcess.js'), [], { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, execArgv: PROCESS_FLAGS, stdio: ['ignore', 'ignore', 'ignore', 'ipc'], serialization: 'advanced' });
    } catch {
      resolve(false);
      return;
    }
    let settled = false;
    let silence: NodeJS.Timeout | undefined;
    const settle = (v: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(silence);
      if (!v) child.kill();
      resolve(v);
    };
    const listen = () => {
      clearTimeout(silence);
      silence = setTimeout(() => settle(false), SILENCE_MS);
    };
    listen();
    child.on('message', (m: ParseResponse) => {
      listen();
      if (m.type === 'progress') onFraction(m.fraction);
      else {
        if (m.type === 'done') {
          if (m.at) at = m.at;
          peakRssMb = m.peakRssMb;
          scan = { ranges: m.ranges, fastLines: m.fastLines, wasmLines: m.wasmLines };
        }
        settle(m.type === 'done');
      }
    });
    child.on('error', () => settle(false));
    // A 'done' sent just before exiting may still be in the channel at 'exit': 'close' comes once it is drained (and,
    // should it not come, a second later the parse counts as failed).
    child.on('close', () => settle(false));
    child.on('exit', () => setTimeout(() => settle(false), 1000).unref());
    child.send({ path: req.path, displayName: req.displayName, overrides: req.overrides, parallelBytes: req.parallelBytes, out, key, cacheFile } satisfies ParseRequest);
  });
  const state = ok ? await readStateCache(at, key) : undefined;
  return state && { state, peakRssMb, scan };
}

/** A cache of the file when it was shorter is read on from when at most this much was appended since; else it is parsed again. */
const GROWN_READ_LIMIT = 64 * 1024 * 1024;

function writeCacheQuietly(file: string, key: CacheKey, packed: PackedTraceFileState): void {
  try {
    writeStateCache(file, key, packed);
  } catch {
    // A cache that cannot be written only costs time on the next start.
  }
}

/**
 * The state of a file read on from its cached state of when it was shorter: the cached columns taken into a pool, then
 * only the bytes after them read (as an append is), the whole packed again. Undefined when the bytes before the cached
 * offset are not the same any more (the file was replaced or rewritten): it is then read again from the start.
 */
function readOnFrom(req: LoadRequest, cached: PackedTraceFileState, onFraction: (f: number) => void): { packed: PackedTraceFileState; transfer: ArrayBuffer[]; added: number } | undefined {
  const { PriceBook, unpackState, packState, readTraceFile, takeFingerprint, mustReload } = parsing();
  const fd = openSync(req.path, 'r');
  let fp;
  try {
    fp = takeFingerprint(fd, cached.position.offset);
  } finally {
    closeSync(fd);
  }
  if (!cached.fingerprint || mustReload({ fingerprint: cached.fingerprint, position: cached.position } as Parameters<typeof mustReload>[0], fp)) return undefined;
  const pool = new StringPool();
  const state = unpackState({ ...cached, file: req.displayName }, pool, req.mapping);
  const from = cached.position.offset;
  const r = readTraceFile(req.path, {
    pool,
    prices: new PriceBook(new Map(req.overrides)),
    final: false,
    state,
    mapping: req.mapping,
    displayName: req.displayName,
    onProgress: (read, total) => onFraction(total > from ? (read - from) / (total - from) : 1),
  });
  if (r.reloaded) return undefined;
  const { packed, transfer } = packState(r.state, 'handOver');
  return { packed, transfer, added: r.added };
}

parentPort?.on('message', async (req: LoadRequest) => {
  const post = (m: LoadResponse, transfer?: ArrayBuffer[]) => parentPort!.postMessage(m, transfer);
  removeStaleInMemory();
  try {
    const cacheFile = req.cache ? cacheFileFor(req.cache.dir, req.path) : undefined;
    // One key for the lookup and, on a miss, the write. Taken before reading: if the file grows meanwhile, the next
    // start sees another size and reads on from these columns (they are an earlier version's), never trusting them
    // as the whole file.
    const key = req.cache ? cacheKeyOf(req.path, req.cache.settings) : undefined;
    let last = 0;
    const onFraction = (f: number) => {
      if (f - last >= 0.02) {
        last = f;
        post({ type: 'progress', fraction: f });
      }
    };
    if (key && cacheFile) {
      const found = await readStateCacheOf(cacheFile, key);
      if (found && !found.earlier) {
        // The cache reads the columns into shared memory with room for appends: the extension host adopts them as they
        // are (a structured clone of a million rows took a second; a copy on the host would block it).
        post({ type: 'done', state: found.state, fromCache: true });
        return;
      }
      // The cache of the file when it was shorter (a live trace that grew): its lines, then only the new bytes.
      if (found && key.size - found.state.position.offset <= GROWN_READ_LIMIT) {
        const grown = readOnFrom(req, found.state, onFraction);
        if (grown) {
          // Written before posting: once posted, the host owns the shared columns and may rewrite their string ids in
          // place (a window whose pool already holds strings) or reprice them, which a write then would mix in.
          writeCacheQuietly(cacheFile, key, grown.packed);
          post({ type: 'done', state: grown.packed, fromCache: true, grownBy: grown.added }, grown.transfer);
          return;
        }
      }
    }
    // Big files are parsed in byte ranges by two or more threads (the same rows as one reader; files that need one
    // reader, e.g. Claude Code transcripts, fall back to it), in a process of their own.
    const parallelBytes = req.parallelBytes ?? PARALLEL_BYTES;
    const size = statSync(req.path).size;
    const big = !req.mapping && size >= parallelBytes;
    let fraction = onFraction;
    if (big && req.ownProcess !== false) {
      // The columns come through a private folder: the host removes it in any case (this worker may be ended first).
      // In memory, the columns are written and read back without the disk (~0.1 s less for a million calls, and no
      // wait on a busy disk), and the process writes the cache once they are taken; else they are renamed into it.
      const inMemory = req.memoryHandover !== false && memoryRoomFor(size);
      let dir: string | undefined;
      let r: Awaited<ReturnType<typeof parseInProcess>>;
      try {
        dir = handoverDir(req, inMemory);
        post({ type: 'handover', dir });
        const out = join(dir, 'columns.cols');
        r = await parseInProcess(req, key ?? cacheKeyOf(req.path, ''), out, inMemory ? cacheFile : undefined, onFraction);
        // Into the cache (same folder, so a rename), which other windows then read.
        if (r && cacheFile && !inMemory) renameSync(out, cacheFile);
      } catch {
        // no folder, or no rename: parsed here / not cached
      } finally {
        // Before posting: the host ends this worker as soon as the columns arrive (and removes the folder if this cannot).
        try {
          if (dir) rmSync(dir, { recursive: true, force: true });
        } catch {
          // in use (Windows): the host tries again
        }
      }
      if (r) {
        post({ type: 'done', state: r.state, fromCache: false, parsedIn: 'process', processPeakRssMb: r.peakRssMb, scan: r.scan });
        return;
      }
      // Parsed here after all: the progress goes on from where the process left it.
      const from = last;
      fraction = (f) => onFraction(from + (1 - from) * f);
    }
    const onProgress = (read: number, total: number) => fraction(total ? read / total : 1);
    const { PriceBook, packState, loadParallel, readTraceFile } = parsing();
    const prices = new PriceBook(new Map(req.overrides));
    let scan: ScanStats | undefined;
    let state;
    if (big) {
      const r = await loadParallel(req.path, { pool: new StringPool(), overrides: req.overrides, prices, final: false, displayName: req.displayName, minParallelBytes: req.parallelBytes, onProgress, callerReads: true });
      state = r.state;
      scan = { ranges: r.ranges, fastLines: r.fastLines, wasmLines: r.wasmLines ?? 0 };
    } else state = readTraceFile(req.path, { pool: new StringPool(), prices, final: false, mapping: req.mapping, displayName: req.displayName, onProgress }).state;
    // The table's own (shared-memory) columns: written to the cache as they are, and taken by the host without a copy.
    const { packed, transfer } = packState(state, 'handOver');
    if (key && cacheFile) {
      try {
        writeStateCache(cacheFile, key, packed);
      } catch {
        // A cache that cannot be written only costs time on the next start.
      }
    }
    post({ type: 'done', state: packed, fromCache: false, parsedIn: 'thread', scan }, transfer);
  } catch (e) {
    post({ type: 'error', message: (e as NodeJS.ErrnoException).code ?? (e as Error).message });
  }
});
