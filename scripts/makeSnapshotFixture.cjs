// Regenerates test/fixtures/webview/snapshot.json: a dashboard snapshot recorded from the sample trace generator,
// with hostile names added, for the webview rendering test. Run after `npm run compile-tests`.
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
const out = join(__dirname, '..', 'out', 'src');
const { sampleTrace } = require(join(out, 'core/sampleTrace.js'));
const { StringPool } = require(join(out, 'core/callTable.js'));
const { PriceBook } = require(join(out, 'core/pricing.js'));
const { newTraceFileState, ingestBytes } = require(join(out, 'core/traceFile.js'));
const { buildDashboardSnapshot } = require(join(out, 'core/dashboard.js'));

const now = Date.parse('2026-11-22T18:00:00Z');
let text = sampleTrace(now, 2000, 7);
const hostile = [
  { feature: '<img src=x onerror=alert(1)>', user_id: '<script>alert(2)</script>' },
  { feature: 'search', user_id: '"><svg onload=alert(3)>' },
];
hostile.forEach((m, i) => {
  text += JSON.stringify({ ts: new Date(now - (i + 1) * 3_600_000).toISOString(), model: 'gpt-4o', input_tokens: 40000, output_tokens: 4000, metadata: m }) + '\n';
});
text += JSON.stringify({ ts: new Date(now - 7_200_000).toISOString(), model: 'acme-internal-llm-v1', input_tokens: 100, output_tokens: 10, metadata: { feature: 'search' } }) + '\n';
const state = newTraceFileState('traces/app.jsonl', new StringPool());
ingestBytes(state, new TextEncoder().encode(text), true, new PriceBook());
const snap = buildDashboardSnapshot([state.table], { range: '7d', groupBy: 'feature', filters: [] }, now, 'auto');
writeFileSync(join(__dirname, '..', 'test', 'fixtures', 'webview', 'snapshot.json'), JSON.stringify(snap, null, 1) + '\n');
console.log(`snapshot: ${snap.total.calls} calls, $${snap.total.costUsd.toFixed(2)}, ${JSON.stringify(snap).length} bytes`);
