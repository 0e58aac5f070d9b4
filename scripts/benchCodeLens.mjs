#!/usr/bin/env node
// Times what provideCodeLenses does for a 5,000-line source file with 50 wrapper calls: finding the call sites in the
// text (done once per document version) and looking up each site's prebuilt figures. Prints ratios and times; asserts
// nothing. Run after `npm run compile-tests`: node scripts/benchCodeLens.mjs
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { findCallSites } = require(join(root, 'out/src/core/callSites.js'));
const { siteFilters } = require(join(root, 'out/src/core/siteStats.js'));

function pythonFile(lines, sites) {
  const out = [];
  const every = Math.floor(lines / sites);
  for (let i = 0; out.length < lines; i++) {
    if (out.length % every === 0 && out.length + 6 < lines) {
      out.push(`def handler_${i}(user, doc):`, `    # call ${i}: traced_call("not a call")`, `    return traced_call(`, `        feature="feature-${i % 9}",`, `        user_id=user.id, model="gpt-4o",`, `    )`);
    } else out.push(`    value_${i} = compute(${i}, "text with (brackets) and 'quotes'")  # comment ${i}`);
  }
  return out.join('\n');
}

const text = pythonFile(5000, 50);
const figures = new Map();
const time = (fn, n) => {
  const t = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  t.sort((a, b) => a - b);
  return { p50: t[n >> 1], p95: t[Math.floor(n * 0.95)] };
};
for (let i = 0; i < 20; i++) findCallSites(text, 'python');
const scan = time(() => findCallSites(text, 'python'), 200);
const sites = findCallSites(text, 'python');
for (const s of sites) figures.set(JSON.stringify(siteFilters(s)), { text: '$1.23 · 312 calls' });
const lookup = time(() => {
  for (const s of sites) figures.get(JSON.stringify(siteFilters(s)));
}, 200);
const total = scan.p50 + lookup.p50;
console.log(`CodeLens for a 5,000-line file with ${sites.length} sites (Node ${process.version}):`);
console.log(`  finding the sites (once per document version): p50 ${scan.p50.toFixed(2)} ms, p95 ${scan.p95.toFixed(2)} ms`);
console.log(`  looking up the prebuilt figures of every site: p50 ${lookup.p50.toFixed(3)} ms, p95 ${lookup.p95.toFixed(3)} ms`);
console.log(`  total ${total.toFixed(2)} ms = ${(total / 5).toFixed(2)}× the 5 ms budget`);
