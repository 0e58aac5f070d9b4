// Worker-thread entry (dist/loadWorker.js): reads one trace file off the extension host's thread and sends back its
// columns. Messages: in LoadRequest; out { type: 'progress', fraction } then { type: 'done', state } or { type: 'error' }.
import { statSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { StringPool } from '../core/callTable';
import { cacheFileFor, cacheKeyOf, readStateCache, writeStateCache } from '../node/stateCache';
import type { LoadRequest, LoadResponse } from '../node/workerLoad';

// Parsing and pricing (the price catalogue takes ~40 ms to load) are required only when the cache cannot answer.
type Parsing = typeof import('../core/pricing') & typeof import('../core/traceFile') & typeof import('../node/parallelLoad') & typeof import('../node/traceReader');
const parsing = (): Parsing => ({
  ...(require('../core/pricing') as typeof import('../core/pricing')),
  ...(require('../core/traceFile') as typeof import('../core/traceFile')),
  ...(require('../node/parallelLoad') as typeof import('../node/parallelLoad')),
  ...(require('../node/traceReader') as typeof import('../node/traceReader')),
});

/** Files from this size on are parsed by several threads. */
const PARALLEL_BYTES = 32 * 1024 * 1024;

parentPort?.on('message', async (req: LoadRequest) => {
  const post = (m: LoadResponse, transfer?: ArrayBuffer[]) => parentPort!.postMessage(m, transfer);
  try {
    const cacheFile = req.cache ? cacheFileFor(req.cache.dir, req.path) : undefined;
    // One key for the lookup and, on a miss, the write. Taken before reading: if the file grows meanwhile, the next
    // start sees another size and reads it again, instead of trusting columns that stop short of the file.
    const key = req.cache ? cacheKeyOf(req.path, req.cache.settings) : undefined;
    if (key && cacheFile) {
      const cached = await readStateCache(cacheFile, key);
      if (cached) {
        // The cache reads the columns into shared memory with room for appends: the extension host adopts them as they
        // are (a structured clone of a million rows took a second; a copy on the host would block it).
        post({ type: 'done', state: cached, fromCache: true });
        return;
      }
    }
    const { PriceBook, packState, loadParallel, readTraceFile } = parsing();
    const prices = new PriceBook(new Map(req.overrides));
    let last = 0;
    const onProgress = (read: number, total: number) => {
      const f = total ? read / total : 1;
      if (f - last >= 0.02) {
        last = f;
        post({ type: 'progress', fraction: f });
      }
    };
    // Big files are parsed in byte ranges by two or more threads (the same rows as one reader; files that need one
    // reader, e.g. Claude Code transcripts, fall back to it).
    const parallelBytes = req.parallelBytes ?? PARALLEL_BYTES;
    const big = !req.mapping && statSync(req.path).size >= parallelBytes;
    const state = big
      ? (await loadParallel(req.path, { pool: new StringPool(), overrides: req.overrides, prices, final: false, displayName: req.displayName, minParallelBytes: parallelBytes, onProgress })).state
      : readTraceFile(req.path, { pool: new StringPool(), prices, final: false, mapping: req.mapping, displayName: req.displayName, onProgress }).state;
    // The table's own (shared-memory) columns: written to the cache as they are, and taken by the host without a copy.
    const { packed, transfer } = packState(state, 'handOver');
    if (key && cacheFile) {
      try {
        writeStateCache(cacheFile, key, packed);
      } catch {
        // A cache that cannot be written only costs time on the next start.
      }
    }
    post({ type: 'done', state: packed, fromCache: false }, transfer);
  } catch (e) {
    post({ type: 'error', message: (e as NodeJS.ErrnoException).code ?? (e as Error).message });
  }
});
