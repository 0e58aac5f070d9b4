#!/usr/bin/env node
// Writes the core's generated modules, each skipped when up to date: src/core/scannerWasm.generated.ts (the fast
// scanner's WebAssembly, scripts/buildWasm.mjs) and src/core/priceCatalogue.generated.ts (the price catalogue's data,
// scripts/genCatalogue.mjs). Run by the build, the type check and the test compile (package.json), so a fresh clone
// needs nothing more than `npm ci`. `--force` writes them again.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWasm } from './buildWasm.mjs';
import { genCatalogue } from './genCatalogue.mjs';

export async function generate({ force = false } = {}) {
  const built = [];
  if (await buildWasm({ force })) built.push('src/core/scannerWasm.generated.ts');
  if (await genCatalogue({ force })) built.push('src/core/priceCatalogue.generated.ts');
  return built;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    for (const f of await generate({ force: process.argv.includes('--force') })) console.log(`built ${f}`);
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
