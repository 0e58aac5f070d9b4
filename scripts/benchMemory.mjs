#!/usr/bin/env node
/**
 * Memory of the store of a trace, as the extension holds it: the file is loaded through the extension's load worker
 * (dist/loadWorker.js: byte ranges on worker threads, or the state cache) into a fresh string pool, the Cost tree's
 * index (feature > user > model) is built, the pool's lookup map too (as after a load on the extension host), then
 * the heap is collected and the whole process's RSS is read.
 *
 *   node esbuild.mjs && tsc -p . --outDir out
 *   node --expose-gc scripts/benchMemory.mjs [bench-data/calls-1m.jsonl] [--cache] [--thread]
 *
 * Without --cache the file is parsed (the state cache is not used); with --cache the cache in bench-data/state-cache is
 * written if missing by a first process, then read (a new window on an unchanged file). One JSON line is printed.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'out', 'src');
const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--')) ?? join(ROOT, 'bench-data', 'calls-1m.jsonl');
const useCache = args.includes('--cache');

if (typeof globalThis.gc !== 'function') {
  // Run again with the flag (so `node scripts/benchMemory.mjs` also works).
  const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), ...args], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const { StringPool } = require(join(OUT, 'core/callTable.js'));
const { loadInWorker } = require(join(OUT, 'node/workerLoad.js'));
const { GroupIndex } = require(join(OUT, 'core/groupIndex.js'));
const worker = join(ROOT, 'dist', 'loadWorker.js');
const req = { path: file, displayName: file, overrides: [], ...(args.includes('--thread') ? { ownProcess: false } : {}), ...(useCache ? { cache: { dir: join(ROOT, 'bench-data', 'state-cache'), settings: 'bench' } } : {}) };
const turn = () => new Promise((r) => setImmediate(r));
const mb = (n) => Math.round(n / 1e6);

const gcAll = async () => {
  for (let k = 0; k < 3; k++) {
    globalThis.gc();
    await turn();
  }
};
await gcAll();
const base = process.memoryUsage();
let hit = false;
let source;
let childPeak;
const pool = new StringPool();
const state = await loadInWorker(worker, req, pool, { onSource: (s, info) => ((hit = s === 'cache'), (source = s), (childPeak = info.processPeakRssMb)) });
let peak = process.memoryUsage().rss;
const index = new GroupIndex();
await index.rebuildAsync([state.table], { dims: ['feature', 'user', 'model'], source: 'auto' }, turn);
for (const n of index.children()) index.children(n);
await pool.buildLookupInTurns(turn);
peak = Math.max(peak, process.memoryUsage().rss);
await gcAll();
const m = process.memoryUsage();
console.log(JSON.stringify({
  file, calls: state.table.length, cacheHit: hit, source, ...(childPeak ? { parseProcessMaxRssMb: childPeak } : {}), rssMb: mb(m.rss), heapUsedMb: mb(m.heapUsed), arrayBuffersMb: mb(m.arrayBuffers),
  rssBeforeMb: mb(base.rss), rssPeakSeenMb: mb(peak), maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
}));
