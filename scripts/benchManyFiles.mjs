#!/usr/bin/env node
/**
 * Many trace files in a real VS Code: generates a workspace of Claude Code transcripts (deterministic: N sessions of
 * 100 calls, every third a resumed session that copies the previous one's calls), opens it in VS Code (code-server
 * with headless Chromium, as the host tests: scripts/vscode/run.mjs) with the extension built from this checkout,
 * and prints the largest event-loop gap of the extension host in each phase of loading and using it
 * (scripts/manyFilesProbe.cjs). The goal is 50 ms.
 *
 *   npm run bench:many -- [--files 2000] [--profile DIR] [--ext DIR]
 *
 * --profile DIR: each phase's CPU profile of the extension host and its gaps over 50 ms are written to DIR, and
 * `node scripts/profileGaps.mjs DIR` tells what ran in those gaps. --ext DIR: the extension built in another checkout
 * (an earlier commit's, to compare in the same hour; this checkout's probe measures it).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const arg = (name) => (args.indexOf(name) >= 0 ? args[args.indexOf(name) + 1] : undefined);
const files = Number(arg('--files') ?? 2000);
if (!Number.isInteger(files) || files < 6) throw new Error('--files: a whole number of at least 6');

// code-server, Node 24 and Chromium, as the host tests use them (idempotent, ~0.3 s when already installed).
if (spawnSync('bash', [join(ROOT, 'scripts/vscode/setup.sh')], { stdio: 'inherit' }).status !== 0) process.exit(1);
const ws = join(tmpdir(), `llm-cost-lens-many-${process.pid}`);
const traces = join(ws, 'traces');
mkdirSync(traces, { recursive: true });
const t0 = Date.UTC(2026, 10, 1);
const line = (n) => {
  const id = n.toString(36).padStart(24, '0');
  return JSON.stringify({
    parentUuid: null, isSidechain: false, userType: 'external', cwd: `/home/me/src/app-${n % 3}`, sessionId: `s-${Math.floor((n - 1) / 100)}`, version: '2.1.39', gitBranch: 'main',
    message: { model: n % 5 ? 'claude-sonnet-4-5-20250929' : 'claude-haiku-4-5-20251001', id: `msg_${id}`, type: 'message', role: 'assistant', content: [{ type: 'text', text: 'x'.repeat(200) }], usage: { input_tokens: 3 + (n % 7), cache_creation_input_tokens: 1000 + (n % 900), cache_read_input_tokens: 20000 + (n % 5000), output_tokens: 50 + (n % 400), service_tier: 'standard' } },
    requestId: `req_${id}`, type: 'assistant', uuid: `u-${id}`, timestamp: new Date(t0 + n * 7000).toISOString(),
  });
};
let n = 0;
let previous = [];
for (let f = 0; f < files; f++) {
  const own = [];
  for (let i = 0; i < 100; i++) own.push(line(++n));
  const lines = f % 3 === 2 ? previous.concat(own) : own;
  writeFileSync(join(traces, `session-${String(f).padStart(5, '0')}.jsonl`), lines.join('\n') + '\n');
  previous = lines;
}
const out = join(ws, 'probe.json');
console.log(`${files} transcripts, ${n} calls (${Math.floor(files / 3) * 100} more copied by resumed sessions) in ${traces}`);
const r = spawnSync(process.execPath, [join(ROOT, 'scripts/vscode/run.mjs'), '--ext', arg('--ext') ? resolve(arg('--ext')) : ROOT, '--workspace', ws, '--tests', join(ROOT, 'scripts/manyFilesProbe.cjs'), '--timeout-ms', '600000', '--shots', join(ws, 'shots')], {
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { ...process.env, LLM_COST_LENS_PROBE_OUT: out, ...(arg('--profile') ? { LLM_COST_LENS_PROBE_PROFILE: resolve(arg('--profile')) } : {}) },
});
try {
  if (r.status !== 0) throw new Error(`VS Code run failed (exit ${r.status})`);
  const got = JSON.parse(readFileSync(out, 'utf8'));
  console.log(`\nthe extension read ${got.files} files, ${got.calls} calls counted (copies once); the extension host's RSS ${got.rssAfterLoadMb} MB after the load, ${got.rssAtEndMb} MB at the end\n`);
  console.log('| phase | largest event-loop gap ms | gaps over 50 ms | in them: the host thread on a core / waiting for one, ms | call took ms | host garbage collections: count, longest ms, total ms |');
  console.log('|---|---:|---:|---|---:|---|');
  const gc = (g) => Object.entries(g ?? {}).map(([k, v]) => `${k} ${v.count}, ${v.maxMs}, ${v.totalMs}`).join('; ');
  const sched = (s) => (s && s.ms ? `${s.ms}: ${s.runMs} / ${s.waitMs}` : '');
  for (const p of got.phases) console.log(`| ${p.phase} | ${p.maxGapMs} | ${p.gapsOver50Ms} | ${sched(p.inGaps)} | ${p.ms} | ${gc(p.gc)} |`);
} finally {
  rmSync(ws, { recursive: true, force: true });
}
