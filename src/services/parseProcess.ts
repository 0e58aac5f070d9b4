// Child-process entry (dist/parseProcess.js, forked by the extension's loader, node/workerLoad.ts, or by the load
// worker when it reads on a grown file it must parse again after all): parses one big trace file in byte ranges
// (this process's main thread and worker threads, sharing the ranges), writes its columns as a state-cache file and exits. Parsing a million calls takes
// ~600 MB at its peak, and much of what it frees (buffers of a few MB) the C allocator keeps for the process that freed
// it: in a process of its own, all of it goes back to the system when the parse ends, and the extension host only
// reads the finished columns (as on a reopen: ~280 MB for a million calls instead of 310-430 MB).
// Messages (IPC): in ParseRequest; out ParseResponse. The process exits when its parent goes away.
// First: the range workers start while the rest loads.
import './parseProcessStart';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { StringPool } from '../core/callTable';
import { loadPriceCatalogue, PriceBook } from '../core/pricing';
import { joinContext } from '../core/traceFile';
import { loadParallelPacked } from '../node/parallelLoad';
import { rangeWorkersWaiting } from '../node/rangeWorkers';
import { applyScannerEnv } from '../node/scannerEnv';
import type { ParseRequest, ParseResponse } from '../node/handover';
import { writeStateCache } from '../node/stateCache';

/** Sends a message; false when it could not go (the parent is gone). */
const send = (m: ParseResponse) =>
  new Promise<boolean>((resolve) => (process.send && process.connected ? process.send(m, undefined, undefined, (err) => resolve(!err)) : resolve(false)));

let current: ParseRequest | undefined;

/** The parent is gone: nobody will read the columns, or remove their folder (which a write may have made again). */
function orphaned(): never {
  if (current) rmSync(dirname(current.out), { recursive: true, force: true });
  process.exit(0);
}

// Cancelled or the editor closed: the parent's end of the channel closes, and there is nothing left to do. The columns
// are written in one synchronous step, so they are either not there yet or complete when this runs.
applyScannerEnv();
process.on('disconnect', orphaned);
// While the range workers start (they get their prices from this thread's book: node/priceAsk.ts) and before the
// request comes: the book needs the catalogue for the first calls it prices.
loadPriceCatalogue();

process.on('message', async (req: ParseRequest) => {
  current = req;
  try {
    let last = 0;
    const onProgress = (read: number, total: number) => {
      const f = total ? read / total : 1;
      if (f - last >= 0.02) {
        last = f;
        void send({ type: 'progress', fraction: f });
      }
    };
    const prices = new PriceBook(new Map(req.overrides));
    const { packed: unjoined, calls, ranges, fastLines, wasmLines } = await loadParallelPacked(req.path, { pool: new StringPool(), overrides: req.overrides, prices, final: false, displayName: req.displayName, minParallelBytes: req.parallelBytes, onProgress, callerReads: true, preview: req.preview && { request: req.preview, send: (preview) => send({ type: 'preview', preview }) } });
    // The context's ids joined once for both writes (hand-over and cache).
    const packed = { ...unjoined, ctx: joinContext(unjoined.ctx) };
    // Tests and UI checks hold the process here (LLM_COST_LENS_TEST_HOLD_WRITE_MS from the extension host's environment):
    // the first level sent ahead then stays on screen alone that long.
    const hold = req.holdBeforeWriteMs ?? Number(process.env.LLM_COST_LENS_TEST_HOLD_WRITE_MS ?? 0);
    if (hold > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, hold);
    let at = req.out;
    try {
      writeStateCache(req.out, req.key, packed);
    } catch (e) {
      // The memory file system filled up since it was checked (another window): the cache file is as good a hand-over
      // (and then written once), rather than the whole file parsed again by the reader.
      if (!req.cacheFile) throw e;
      at = req.cacheFile;
      writeStateCache(at, req.key, packed);
    }
    if (!(await send({ type: 'done', calls, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024), ranges, fastLines, wasmLines: wasmLines ?? 0, startedAhead: rangeWorkersWaiting().taken, ...(at !== req.out ? { at } : {}) }))) orphaned();
    if (req.cacheFile && at !== req.cacheFile) {
      // Synchronous, so a channel closed meanwhile (the reader took the columns and went) does not cut it short; the
      // write goes to a temporary file renamed at the end, so other windows never read half of it.
      try {
        writeStateCache(req.cacheFile, req.key, packed);
      } catch {
        // a cache that cannot be written only costs time on the next start
      }
    }
  } catch (e) {
    if (!(await send({ type: 'error', message: (e as NodeJS.ErrnoException).code ?? (e as Error).message }))) orphaned();
  }
  process.exit(0);
});
