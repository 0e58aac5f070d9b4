// Child-process entry (dist/parseProcess.js, forked by the load worker): parses one big trace file in byte ranges
// (worker threads of this process), writes its columns as a state-cache file and exits. Parsing a million calls takes
// ~600 MB at its peak, and much of what it frees (buffers of a few MB) the C allocator keeps for the process that freed
// it: in a process of its own, all of it goes back to the system when the parse ends, and the extension host only
// reads the finished columns (as on a reopen: ~280 MB for a million calls instead of 310-430 MB).
// Messages (IPC): in ParseRequest; out ParseResponse. The process exits when its parent goes away.
import { rmSync } from 'node:fs';
import { StringPool } from '../core/callTable';
import { PriceBook, type PriceOverride } from '../core/pricing';
import { packState } from '../core/traceFile';
import { loadParallel } from '../node/parallelLoad';
import { type CacheKey, writeStateCache } from '../node/stateCache';

export interface ParseRequest {
  path: string;
  displayName: string;
  overrides: [string, PriceOverride][];
  /** Files from this size on are read by several threads (smaller ones by this process's main thread). */
  parallelBytes: number;
  /** Where to write the columns, with which key. */
  out: string;
  key: CacheKey;
  /** `out` is a temp file (no cache): removed if the parent goes away before it is read. */
  temp: boolean;
}

export type ParseResponse = { type: 'progress'; fraction: number } | { type: 'done'; calls: number; peakRssMb: number } | { type: 'error'; message: string };

const send = (m: ParseResponse) => new Promise<void>((resolve) => (process.send && process.connected ? process.send(m, undefined, undefined, () => resolve()) : resolve()));

let current: ParseRequest | undefined;

// Cancelled or the editor closed: the parent's end of the channel closes, and there is nothing left to do (the columns
// are written in one synchronous step, so a temp file is either not there yet or complete).
process.on('disconnect', () => {
  if (current?.temp) rmSync(current.out, { force: true });
  process.exit(0);
});

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
    const { state } = await loadParallel(req.path, { pool: new StringPool(), overrides: req.overrides, prices, final: false, displayName: req.displayName, minParallelBytes: req.parallelBytes, onProgress });
    writeStateCache(req.out, req.key, packState(state, 'handOver').packed);
    await send({ type: 'done', calls: state.table.length, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) });
  } catch (e) {
    await send({ type: 'error', message: (e as NodeJS.ErrnoException).code ?? (e as Error).message });
  }
  // The parent went away while the columns were written: nobody will read (or remove) the temp file.
  if (!process.connected && req.temp) rmSync(req.out, { force: true });
  process.exit(0);
});
