// Worker-thread entry (dist/loadWorker.js): reads one trace file off the extension host's thread and sends back its
// columns: from the state cache, parsed in a child process (big files), or parsed here. Messages: in LoadRequest; out { type: 'progress', fraction } then { type: 'done', state } or { type: 'error' }.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { StringPool } from '../core/callTable';
import type { PackedTraceFileState } from '../core/traceFile';
import { type CacheKey, cacheFileFor, cacheKeyOf, readStateCache, writeStateCache } from '../node/stateCache';
import type { LoadRequest, LoadResponse } from '../node/workerLoad';
import type { ParseRequest, ParseResponse } from './parseProcess';

// Parsing and pricing (the price catalogue takes ~40 ms to load) are required only when the cache cannot answer.
type Parsing = typeof import('../core/pricing') & typeof import('../core/traceFile') & typeof import('../node/parallelLoad') & typeof import('../node/traceReader');
const parsing = (): Parsing => ({
  ...(require('../core/pricing') as typeof import('../core/pricing')),
  ...(require('../core/traceFile') as typeof import('../core/traceFile')),
  ...(require('../node/parallelLoad') as typeof import('../node/parallelLoad')),
  ...(require('../node/traceReader') as typeof import('../node/traceReader')),
});

/** Files from this size on are parsed by several threads, in a process of their own. */
const PARALLEL_BYTES = 32 * 1024 * 1024;

/**
 * Parses a big file in a child process (parseProcess.js, next to this script) that writes the columns to `out`, then
 * reads them here as a reopen does: the memory of parsing leaves with the process. Undefined when the process could
 * not do it (it could not start, crashed, or could not write the file): the caller parses here instead.
 */
async function parseInProcess(req: LoadRequest, parallelBytes: number, key: CacheKey, out: string, onFraction: (f: number) => void): Promise<{ state: PackedTraceFileState; peakRssMb: number } | undefined> {
  let peakRssMb = 0;
  const ok = await new Promise<boolean>((resolve) => {
    let child: ReturnType<typeof fork>;
    try {
      // In VS Code the runtime is Electron: ELECTRON_RUN_AS_NODE makes it a plain Node.js (as language servers are run).
      child = fork(join(__dirname, 'parseProcess.js'), [], { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, execArgv: [], stdio: ['ignore', 'ignore', 'ignore', 'ipc'], serialization: 'advanced' });
    } catch {
      resolve(false);
      return;
    }
    let settled = false;
    const settle = (v: boolean) => {
      if (settled) return;
      settled = true;
      if (!v) child.kill();
      resolve(v);
    };
    child.on('message', (m: ParseResponse) => {
      if (m.type === 'progress') onFraction(m.fraction);
      else {
        if (m.type === 'done') peakRssMb = m.peakRssMb;
        settle(m.type === 'done');
      }
    });
    child.on('error', () => settle(false));
    child.on('exit', () => settle(false));
    child.send({ path: req.path, displayName: req.displayName, overrides: req.overrides, parallelBytes, out, key, temp: !req.cache } satisfies ParseRequest);
  });
  const state = ok ? await readStateCache(out, key) : undefined;
  return state && { state, peakRssMb };
}

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
    let last = 0;
    const onFraction = (f: number) => {
      if (f - last >= 0.02) {
        last = f;
        post({ type: 'progress', fraction: f });
      }
    };
    const onProgress = (read: number, total: number) => onFraction(total ? read / total : 1);
    // Big files are parsed in byte ranges by two or more threads (the same rows as one reader; files that need one
    // reader, e.g. Claude Code transcripts, fall back to it), in a process of their own.
    const parallelBytes = req.parallelBytes ?? PARALLEL_BYTES;
    const big = !req.mapping && statSync(req.path).size >= parallelBytes;
    if (big && req.ownProcess !== false) {
      // Without a cache the columns go through a temp file, removed once read (and by the caller in any case).
      const out = cacheFile ?? req.tempFile ?? join(tmpdir(), `llm-cost-lens-parse-${process.pid}-${randomBytes(6).toString('hex')}.cols`);
      let r: Awaited<ReturnType<typeof parseInProcess>>;
      try {
        r = await parseInProcess(req, parallelBytes, key ?? cacheKeyOf(req.path, ''), out, onFraction);
      } finally {
        // Before posting: the host ends this worker as soon as the columns arrive.
        if (!cacheFile) rmSync(out, { force: true });
      }
      if (r) {
        post({ type: 'done', state: r.state, fromCache: false, parsedIn: 'process', processPeakRssMb: r.peakRssMb });
        return;
      }
    }
    const { PriceBook, packState, loadParallel, readTraceFile } = parsing();
    const prices = new PriceBook(new Map(req.overrides));
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
    post({ type: 'done', state: packed, fromCache: false, parsedIn: 'thread' }, transfer);
  } catch (e) {
    post({ type: 'error', message: (e as NodeJS.ErrnoException).code ?? (e as Error).message });
  }
});
