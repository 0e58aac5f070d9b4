// Worker-thread entry (dist/loadWorker.js): reads one trace file off the extension host's thread and sends back its
// columns. Messages: in LoadRequest; out { type: 'progress', fraction } then { type: 'done', state } or { type: 'error' }.
import { parentPort } from 'node:worker_threads';
import { CallTable, StringPool } from '../core/callTable';
import { PriceBook } from '../core/pricing';
import { packState } from '../core/traceFile';
import { readTraceFile } from '../node/traceReader';
import { cacheFileFor, cacheKeyOf, readStateCache, writeStateCache } from '../node/stateCache';
import type { LoadRequest, LoadResponse } from '../node/workerLoad';

parentPort?.on('message', (req: LoadRequest) => {
  const post = (m: LoadResponse, transfer?: ArrayBuffer[]) => parentPort!.postMessage(m, transfer);
  try {
    const cacheFile = req.cache ? cacheFileFor(req.cache.dir, req.path) : undefined;
    if (req.cache && cacheFile) {
      const cached = readStateCache(cacheFile, cacheKeyOf(req.path, req.cache.settings));
      if (cached) {
        // Copied here into shared memory with room for appends, so the extension host adopts the columns as they are
        // (a structured clone of a million rows took a second; a copy on the host would block it).
        post({ type: 'done', state: { ...cached, columns: CallTable.sharedCopy(cached.columns) }, fromCache: true });
        return;
      }
    }
    const prices = new PriceBook(new Map(req.overrides));
    let last = 0;
    const r = readTraceFile(req.path, {
      pool: new StringPool(),
      prices,
      final: false,
      mapping: req.mapping,
      displayName: req.displayName,
      onProgress: (read, total) => {
        const f = total ? read / total : 1;
        if (f - last >= 0.02) {
          last = f;
          post({ type: 'progress', fraction: f });
        }
      },
    });
    // The table's own (shared-memory) columns: written to the cache as they are, and taken by the host without a copy.
    const { packed, transfer } = packState(r.state, 'handOver');
    if (req.cache && cacheFile) {
      try {
        writeStateCache(cacheFile, cacheKeyOf(req.path, req.cache.settings), packed);
      } catch {
        // A cache that cannot be written only costs time on the next start.
      }
    }
    post({ type: 'done', state: packed, fromCache: false }, transfer);
  } catch (e) {
    post({ type: 'error', message: (e as NodeJS.ErrnoException).code ?? (e as Error).message });
  }
});
