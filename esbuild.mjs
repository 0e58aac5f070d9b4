// Builds the bundles: the extension host entry, its worker-thread entries, the webview script and the CLI.
// `node esbuild.mjs [--watch] [--production]`
import * as esbuild from 'esbuild';
import { existsSync, readFileSync } from 'node:fs';
import { buildWasm } from './scripts/buildWasm.mjs';
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const shared = {
  bundle: true,
  minify: production,
  sourcemap: !production,
  logLevel: 'warning',
  legalComments: 'linked',
};

const builds = [
  { ...shared, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js', platform: 'node', format: 'cjs', target: 'node20', external: ['vscode'] },
  { ...shared, entryPoints: ['src/services/loadWorker.ts'], outfile: 'dist/loadWorker.js', platform: 'node', format: 'cjs', target: 'node20' },
  { ...shared, entryPoints: ['src/services/parseProcess.ts'], outfile: 'dist/parseProcess.js', platform: 'node', format: 'cjs', target: 'node20' },
  { ...shared, entryPoints: ['src/node/parseRangeWorker.ts'], outfile: 'dist/parseRangeWorker.js', platform: 'node', format: 'cjs', target: 'node20' },
  { ...shared, entryPoints: ['src/node/signalsWorker.ts'], outfile: 'dist/signalsWorker.js', platform: 'node', format: 'cjs', target: 'node20' },
  { ...shared, entryPoints: ['src/webview/main.ts'], outfile: 'dist/webview.js', platform: 'browser', format: 'iife', target: 'es2022' },
  // No `vscode` external here: a vscode import reaching the CLI fails the build (STYLE §2).
  { ...shared, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', platform: 'node', format: 'cjs', target: 'node20', banner: { js: '#!/usr/bin/env node' }, define: { __VERSION__: JSON.stringify(pkg.version) } },
].filter((b) => existsSync(b.entryPoints[0]));

// The fast scanner's WebAssembly module, as a generated module of the core (skipped when up to date).
await buildWasm();

if (watch) {
  for (const b of builds) (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
