#!/usr/bin/env node
// Measures the signals (outliers, anomalies, model switches) against labelled injected problems and counts false
// alarms on the same traffic with nothing injected. Run after `npm run compile-tests`:
//   node scripts/evalSignals.mjs [--calls 60000] [--days 21] [--seed 5]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from './genTraces.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const O = (p) => require(join(root, 'out/src', p));
const { StringPool } = O('core/callTable.js');
const { PriceBook } = O('core/pricing.js');
const { readTraceFile } = O('node/traceReader.js');
const { select } = O('core/analysis.js');
const { findOutliers } = O('core/outliers.js');
const { findAnomalies, findModelSwitches } = O('core/anomalies.js');

const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const calls = arg('--calls', 60000), days = arg('--days', 21), seed = arg('--seed', 5);
const dir = mkdtempSync(join(tmpdir(), 'lcl-eval-'));
const load = async (name, inject) => {
  const out = join(dir, `${name}.jsonl`);
  await generate({ calls, days, seed, out, inject, labels: inject.length ? out + '.labels' : undefined, quiet: true });
  const st = readTraceFile(out, { pool: new StringPool(), prices: new PriceBook(), final: true }).state;
  return { slices: select([st.table]), labels: inject.length ? JSON.parse(readFileSync(out + '.labels', 'utf8')).injected : [], n: st.table.length };
};
const inj = await load('injected', ['loop', 'grown_prompt', 'model_switch', 'spike', 'cache_invalidation', 'retries']);
const clean = await load('clean', []);
rmSync(dir, { recursive: true, force: true });

const overlaps = (a, l) => a.startMs < Date.parse(l.windowTo ?? l.to) + 3.6e6 && a.endMs > Date.parse(l.windowFrom ?? l.from) - 3.6e6;
const o = findOutliers(inj.slices, { maxCalls: 1e6 });
const an = [...findAnomalies(inj.slices, { dims: ['feature'] }), ...findModelSwitches(inj.slices)];
const found = {};
for (const l of inj.labels) {
  if (l.kind === 'loop') found.loop = o.traces.some((t) => t.traceId === l.traceId && t.causes.some((c) => c.code === 'loop'));
  else if (l.kind === 'retries') found.retries = l.traceIds.every((id) => o.traces.some((t) => t.traceId === id));
  else if (l.kind === 'grown_prompt') {
    const lines = new Set(o.calls.filter((c) => c.causes.some((x) => x.code === 'prompt_grew')).map((c) => c.line));
    const hit = l.callIds.filter((id) => lines.has(Number(id.slice(2)))).length;
    found.grown_prompt = `${hit}/${l.callIds.length} calls`;
  } else {
    const kind = { spike: 'spike', cache_invalidation: 'cache_drop', model_switch: 'model_switch' }[l.kind];
    found[l.kind] = an.some((a) => a.kind === kind && a.key === l.feature && overlaps(a, l));
  }
}
const truthy = inj.labels.filter((l) => ['spike', 'grown_prompt', 'cache_invalidation', 'model_switch'].includes(l.kind));
const tp = an.filter((a) => truthy.some((l) => l.feature === a.key && overlaps(a, l))).length;
const traceTp = o.traces.filter((t) => inj.labels.some((l) => l.traceId === t.traceId || (l.traceIds ?? []).includes(t.traceId))).length;
const oc = findOutliers(clean.slices, { maxCalls: 1e6 });
const ac = [...findAnomalies(clean.slices, { dims: ['feature', 'agent'] }), ...findModelSwitches(clean.slices)];
console.log(`traffic: ${calls} calls over ${days} days, seed ${seed}`);
console.log(`recall (injected problems found): ${JSON.stringify(found)}`);
console.log(`hourly anomalies + model switches on the injected file: ${an.length}, of which ${tp} match an injected problem (precision ${(tp / an.length * 100).toFixed(0)}%)`);
console.log(`trace outliers on the injected file: ${o.traces.length}, of which ${traceTp} are injected (precision ${(traceTp / o.traces.length * 100).toFixed(0)}%)`);
console.log(`false alarms on clean traffic: ${ac.length} anomalies (feature and agent, ${days} days), ${oc.traces.length} trace outliers, ${oc.calls.length} outlier calls (${(oc.calls.length / clean.n * 100).toFixed(2)}% of calls)`);
