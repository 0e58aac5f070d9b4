// Builds the bundles: the extension host entry, its worker-thread entries, the webview script and the CLI.
// `node esbuild.mjs [--watch] [--production]`
import * as esbuild from 'esbuild';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from './scripts/generate.mjs';
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

// The price catalogue's data (src/core/priceCatalogue.generated.ts: ~320 KB, from @pydantic/genai-prices) is a bundle of
// its own, dist/priceCatalogue.js, which the others require when they first price a call (core/catalogue.ts): a thread
// that never prices (a range worker, the load worker) does not even scan it at its start.
const CATALOGUE_DATA = 'src/core/priceCatalogue.generated.ts';
const catalogueApart = {
  name: 'catalogue-apart',
  setup(b) {
    b.onResolve({ filter: /^\.\/priceCatalogue\.generated$/ }, () => ({ path: './priceCatalogue.js', external: true }));
  },
};
const node = { ...shared, platform: 'node', format: 'cjs', target: 'node20', plugins: [catalogueApart] };

const builds = [
  { ...node, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js', external: ['vscode'] },
  { ...node, entryPoints: ['src/services/loadWorker.ts'], outfile: 'dist/loadWorker.js' },
  { ...node, entryPoints: ['src/services/parseProcess.ts'], outfile: 'dist/parseProcess.js' },
  { ...node, entryPoints: ['src/node/parseRangeWorker.ts'], outfile: 'dist/parseRangeWorker.js' },
  { ...node, entryPoints: ['src/node/signalsWorker.ts'], outfile: 'dist/signalsWorker.js' },
  { ...shared, entryPoints: ['src/webview/main.ts'], outfile: 'dist/webview.js', platform: 'browser', format: 'iife', target: 'es2022' },
  // No `vscode` external here: a vscode import reaching the CLI fails the build (STYLE §2).
  { ...node, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' }, define: { __VERSION__: JSON.stringify(pkg.version) } },
].filter((b) => existsSync(b.entryPoints[0]));

// The core's generated modules (the fast scanner's WebAssembly, the price catalogue's data), skipped when up to date.
await generate();
builds.push({ ...shared, entryPoints: [CATALOGUE_DATA], outfile: 'dist/priceCatalogue.js', platform: 'node', format: 'cjs', target: 'node20' });

if (watch) {
  for (const b of builds) (await esbuild.context(b)).watch();
} else {
  const results = await Promise.all(builds.map((b) => esbuild.build({ ...b, metafile: true })));
  writeNotices(results.map((r) => r.metafile));
}

/**
 * dist/THIRD_PARTY_NOTICES.txt: the name, version and licence text of every npm package the bundles hold (shipped in
 * the .vsix with them).
 */
function writeNotices(metafiles) {
  // The price catalogue's data comes from @pydantic/genai-prices through a generated module, not from node_modules.
  const packages = new Map([['@pydantic/genai-prices', join('node_modules', '@pydantic', 'genai-prices')]]);
  for (const m of metafiles) {
    for (const input of Object.keys(m.inputs)) {
      const at = input.lastIndexOf('node_modules/');
      if (at < 0) continue;
      const parts = input.slice(at + 'node_modules/'.length).split('/');
      const name = parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
      packages.set(name, join(input.slice(0, at), 'node_modules', name));
    }
  }
  const out = ['Third-party software bundled in LLM Cost Lens (dist/*.js), with its licences.', ''];
  for (const [name, dir] of [...packages].sort(([a], [b]) => a.localeCompare(b))) {
    const meta = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const file = readdirSync(dir).find((f) => /^licen[cs]e(\.(md|txt))?$/i.test(f));
    if (!file) throw new Error(`${name}: no licence file to put in the notices`);
    out.push('='.repeat(78), `${name} ${meta.version} (${meta.license ?? 'see below'})`, '='.repeat(78), readFileSync(join(dir, file), 'utf8').trim(), '');
  }
  writeFileSync('dist/THIRD_PARTY_NOTICES.txt', out.join('\n'));
}
