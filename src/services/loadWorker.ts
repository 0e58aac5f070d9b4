// Worker-thread entry (dist/loadWorker.js): reads one trace file off the extension host's thread and sends back its
// columns: from the state cache (or the cache of the file when it was shorter, then its new bytes), parsed in a child
// process (big files), or parsed here. (The extension host reads a cache hit and starts the parse process of a big file
// itself, node/workerLoad.ts: it starts this worker for the rest, and when that process fails, with ownProcess false.)
// Messages: in LoadRequest; out { type: 'progress', fraction } and { type: 'handover', dir } (a folder the caller
// removes), then { type: 'done', state } or { type: 'error' }.
import { closeSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { StringPool } from '../core/callTable';
import type { PackedTraceFileState } from '../core/traceFile';
import { type CacheKey, cacheFileFor, cacheKeyOf, readStateCacheOf, writeStateCache } from '../node/stateCache';
import { PARALLEL_BYTES, parseInOwnProcess, removeStaleInMemory } from '../node/handover';
import type { LoadRequest, LoadResponse, ScanStats } from '../node/workerLoad';

// Parsing and pricing (their modules take a thread some ms to load) are required only when the cache cannot answer (then
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

/**
 * A packed state with its context's ids joined: hundreds of thousands of Claude Code message ids cross to the host as
 * one string, which it cuts a slice per event-loop turn (as an array they were copied on its thread in one go).
 */
const joined = (p: PackedTraceFileState): PackedTraceFileState => ({ ...p, ctx: parsing().joinContext(p.ctx) });

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
          const state = joined(grown.packed);
          writeCacheQuietly(cacheFile, key, state);
          post({ type: 'done', state, fromCache: true, grownBy: grown.added }, grown.transfer);
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
      // (The host removes the private folder in any case: this worker may be ended first.) Removed before posting: the
      // host ends this worker as soon as the columns arrive.
      const r = await parseInOwnProcess(join(__dirname, 'parseProcess.js'), req, key ?? cacheKeyOf(req.path, ''), cacheFile, size, { onFraction, onFolder: (dir) => post({ type: 'handover', dir }) });
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
    const { packed: unjoined, transfer } = packState(state, 'handOver');
    const packed = joined(unjoined);
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
