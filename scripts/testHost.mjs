#!/usr/bin/env node
// `npm run test:host`: the extension-host tests in a real VS Code (code-server + headless Chromium), on a fresh copy of
// the fixture workspace, and then the UI check on a copy of the demo workspace. Installs what it needs first
// (scripts/vscode/setup.sh: idempotent, ~0.3 s when already installed).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// Byte ranges on several threads from 32 MB (not ~200 MB) in these runs, so that the host test's 90 MB file takes them.
const run = (cmd, args, env = {}) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, LLM_COST_LENS_THREADS_BYTES: String(32 * 1024 * 1024), ...env } }).status ?? 1;
const uiOnly = process.argv.includes('--ui-only');
const skipUi = process.argv.includes('--no-ui');

if (run('bash', ['scripts/vscode/setup.sh']) !== 0) process.exit(1);
let status = 0;
if (!uiOnly) {
  const ws = mkdtempSync(join(tmpdir(), 'lcl-host-ws-'));
  cpSync(join(root, 'test/fixtures/workspace'), ws, { recursive: true });
  status = run('node', ['scripts/vscode/run.mjs', '--ext', root, '--workspace', ws, '--tests', join(root, 'out/test/integration/host/index.js'), '--shots', join(root, 'test-results/vscode-host')]);
  rmSync(ws, { recursive: true, force: true });
}
if (!skipUi && status === 0) {
  const ws = mkdtempSync(join(tmpdir(), 'lcl-demo-ws-'));
  cpSync(join(root, 'samples/demo'), ws, { recursive: true });
  status = run('node', ['scripts/vscode/run.mjs', '--ext', root, '--workspace', ws, '--ui', join(root, 'test/integration/ui/demo.ui.mjs'), '--shots', join(root, 'test-results/vscode-ui')]);
  rmSync(ws, { recursive: true, force: true });
}
if (!skipUi && status === 0) {
  // A first load of a big file (250,000 calls, ~90 MB): its first tree level shows before its columns are in (the parse
  // process held 3 s before writing them, so the check sees that state), then the whole tree.
  const ws = mkdtempSync(join(tmpdir(), 'lcl-big-ws-'));
  mkdirSync(join(ws, 'traces'));
  const { sampleTrace } = createRequire(import.meta.url)(join(root, 'out/src/core/sampleTrace.js'));
  writeFileSync(join(ws, 'traces', 'big.jsonl'), sampleTrace(Date.now(), 250_000, 5));
  // All time: a rolling range would move on at a minute boundary during the load, and the level summed for the range
  // before it is then (rightly) not shown.
  mkdirSync(join(ws, '.vscode'));
  writeFileSync(join(ws, '.vscode', 'settings.json'), JSON.stringify({ 'llmCostLens.timeRange': 'all' }));
  status = run('node', ['scripts/vscode/run.mjs', '--ext', root, '--workspace', ws, '--ui', join(root, 'test/integration/ui/firstLevel.ui.mjs'), '--shots', join(root, 'test-results/vscode-ui')], { LLM_COST_LENS_TEST_HOLD_WRITE_MS: '3000' });
  rmSync(ws, { recursive: true, force: true });
}
process.exit(status);
