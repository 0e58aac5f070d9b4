#!/usr/bin/env node
/**
 * Regenerates the demo workspace's trace files, deterministically:
 *   samples/demo/traces/app.jsonl     ~3,000 canonical records, 14 days ending 2026-11-22, whose feature / agent /
 *                                     template / model values and `callsite` ("app/summarize.py:11") match the
 *                                     wrapper calls in samples/demo/app and samples/demo/web. Call-site lines are
 *                                     found by scanning those sources, so editing them and re-running stays correct.
 *   samples/demo/traces/legacy.jsonl  200 calls in the old camelCase `llm.cost.tracked` event shape, plus exactly
 *                                     two malformed lines (LEGACY_BAD_LINES) for the problems panel.
 *
 *   node scripts/makeDemo.mjs [--check]     --check: regenerate into a temp dir and compare, write nothing
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate, Rng, seedOf, costOf } from './genTraces.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DEMO = path.resolve(HERE, '..', 'samples', 'demo');

export const DEMO_CALLS = 3000;
export const DEMO_START = '2026-11-09T00:00:00Z';
export const DEMO_DAYS = 14; // through 2026-11-22
export const LEGACY_CALLS = 200;
/** 1-based line numbers of the malformed lines in legacy.jsonl. */
export const LEGACY_BAD_LINES = { truncated: 58, notJson: 131 };

/**
 * The wrapper call sites of the demo app. `call` is the wrapper as written at the start of the call, `key` a string
 * that occurs exactly once in the file inside that call; the call site is the nearest line at or above `key` that
 * contains `call`. `literals` must appear in the file (keeps traces and code in step).
 */
const SITES = {
  summarization: { file: 'app/summarize.py', call: 'traced_call(', key: 'feature="summarization"', literals: ['"claude-sonnet-4-5"', '"v2.1"'] },
  upload: { file: 'app/upload.py', call: 'tracer.trace(', key: '"feature": "upload"', literals: ['"gemini-2.5-flash"'] },
  untagged: { file: 'app/upload.py', call: 'tracer.trace(', key: 'tracer.trace() as span', literals: ['"claude-sonnet-4-5"'] },
  'support-agent': { file: 'app/support_agent.py', call: '@track_llm_call(', key: "agent_id='customer-support-v2'", literals: ['"claude-sonnet-4-5"', '"claude-haiku-4-5"', 'kb_lookup', 'order_status', 'create_ticket'] },
  search: { file: 'app/search.py', call: 'tracer.start_run(', key: '"feature": "search"', literals: ['"gpt-4.1-mini"', '"template_version": "v2.1"'] },
  classification: { file: 'app/classify.py', call: 'traced_call(', key: 'feature="classification"', literals: ['"gpt-4o-mini"', '"acme-internal-llm-v1"', 'template_version="v5"'] },
  extraction: { file: 'app/extract.py', call: 'traced_call(', key: 'feature="extraction"', literals: ['model="o3"', 'template_version="v1.4"'] },
  'code-review': { file: 'web/review.ts', call: 'interceptCompletion(', key: "'code-review'", literals: ["'claude-sonnet-4-5-20250929'"] },
  summarize: { file: 'web/review.ts', call: 'measureLLM(', key: '"summarize"', literals: ['"gpt-4.1-mini"'] },
  chat: { file: 'web/chat.ts', call: 'interceptCompletion(', key: "'chat'", literals: ["'gpt-4o-2024-08-06'"] },
};

/** "app/summarize.py:11" for each site, from the demo sources. Throws when a site cannot be found unambiguously. */
export function scanCallSites(root = DEMO) {
  const out = {};
  const cache = new Map();
  for (const [name, s] of Object.entries(SITES)) {
    if (!cache.has(s.file)) cache.set(s.file, readFileSync(path.join(root, s.file), 'utf8'));
    const text = cache.get(s.file);
    const lines = text.split(/\r?\n/);
    const hits = lines.flatMap((l, i) => (l.includes(s.key) ? [i] : []));
    if (hits.length !== 1 || text.split(s.key).length !== 2) throw new Error(`${s.file}: "${s.key}" must occur exactly once (found ${hits.length})`);
    let i = hits[0];
    while (i >= 0 && !lines[i].includes(s.call)) i--;
    if (i < 0 || hits[0] - i > 6) throw new Error(`${s.file}: no "${s.call}" just above "${s.key}"`);
    for (const lit of s.literals) if (!text.includes(lit)) throw new Error(`${s.file}: expected ${lit} in the source`);
    out[name] = `${s.file}:${i + 1}`;
  }
  return out;
}

/** Traffic profile of the demo app (see DEFAULT_PROFILE in genTraces.mjs for the fields). */
export function demoProfile(sites) {
  const one = (site, ...models) => Object.fromEntries(models.map((m) => [m, site]));
  return {
    users: 80,
    zipf: 0.9,
    noFeature: 0,
    noUser: 0.02,
    errorRate: 0.02,
    estimateRate: 0.2,
    unpricedRate: 0,
    features: [
      {
        name: 'summarization', weight: 14, templates: { 'v2.1': 1 }, models: { 'claude-sonnet-4-5': 1 },
        traceLen: { 1: 1 }, input: [3500, 0.7], output: [350, 0.5], cache: { prefix: 1500, hit: 0.3 },
        callsites: one(sites.summarization, 'claude-sonnet-4-5'),
      },
      {
        name: 'summarize', weight: 8, models: { 'gpt-4.1-mini': 1 }, traceLen: { 1: 1 }, input: [2600, 0.7], output: [180, 0.4],
        callsites: one(sites.summarize, 'gpt-4.1-mini'),
      },
      {
        name: 'upload', weight: 6, models: { 'gemini-2.5-flash': 1 }, traceLen: { 1: 1 }, input: [12000, 1.0], output: [600, 0.6],
        callsites: one(sites.upload, 'gemini-2.5-flash'),
      },
      {
        // app/upload.py describe_images(): traced without tags -> the "unattributed" bucket
        name: 'image-description', weight: 7, noFeature: 1, noUser: 1, models: { 'claude-sonnet-4-5': 1 }, traceLen: { 1: 1 },
        input: [2400, 0.5], output: [300, 0.5], callsites: one(sites.untagged, 'claude-sonnet-4-5'),
      },
      {
        name: 'support-agent', weight: 8, agent: 'customer-support-v2', chain: true,
        models: { 'claude-sonnet-4-5': 70, 'claude-haiku-4-5': 30 },
        traceLen: { 2: 20, 3: 25, 4: 25, 5: 15, 6: 10, 8: 5 }, input: [1100, 0.6], output: [280, 0.6],
        cache: { prefix: 6000, hit: 0.8 }, tools: ['kb_lookup', 'order_status', 'create_ticket'],
        callsites: one(sites['support-agent'], 'claude-sonnet-4-5', 'claude-haiku-4-5'),
      },
      {
        name: 'search', weight: 16, templates: { 'v2.1': 1 }, models: { 'gpt-4.1-mini': 1 }, traceLen: { 1: 25, 2: 75 },
        input: [2400, 0.6], output: [160, 0.6], cache: { prefix: 1100, hit: 0.15 }, callsites: one(sites.search, 'gpt-4.1-mini'),
      },
      {
        // ~1% of all calls go to the in-house model of on-prem tenants: no public price -> "unpriced"
        name: 'classification', weight: 20, templates: { v5: 1 }, models: { 'gpt-4o-mini': 92, 'acme-internal-llm-v1': 8 },
        traceLen: { 1: 1 }, input: [600, 0.4], output: [4, 0.3],
        callsites: one(sites.classification, 'gpt-4o-mini', 'acme-internal-llm-v1'),
      },
      {
        name: 'extraction', weight: 5, templates: { 'v1.4': 1 }, models: { o3: 1 }, traceLen: { 1: 1 },
        input: [5000, 0.6], output: [500, 0.5], cache: { prefix: 1500, hit: 0.3 }, callsites: one(sites.extraction, 'o3'),
      },
      {
        name: 'code-review', weight: 4, chain: true, models: { 'claude-sonnet-4-5-20250929': 1 },
        traceLen: { 2: 15, 3: 20, 4: 20, 5: 15, 6: 15, 7: 10, 8: 5 }, input: [5000, 0.7], output: [600, 0.6],
        cache: { prefix: 3000, hit: 0.6 }, callsites: one(sites['code-review'], 'claude-sonnet-4-5-20250929'),
      },
      {
        name: 'chat', weight: 10, models: { 'gpt-4o-2024-08-06': 1 }, traceLen: { 1: 35, 2: 30, 3: 20, 4: 15 },
        input: [1500, 0.8], output: [220, 0.7], cache: { prefix: 1200, hit: 0.4 }, callsites: one(sites.chat, 'gpt-4o-2024-08-06'),
      },
    ],
    injectFeatures: {},
  };
}

/** legacy.jsonl: the support bot's old cost tracker (gpt-4o days, before the move to Claude), 2026-11-02..08. */
export function legacyLines() {
  const rng = new Rng(seedOf('llm-cost-lens-demo-legacy'));
  const recs = [];
  const day0 = Date.parse('2026-11-02T00:00:00Z');
  while (recs.length < LEGACY_CALLS) {
    const day = rng.int(0, 6);
    let t = day0 + day * 86400e3 + Math.round(rng.uniform(7.5, 20) * 3600e3);
    const traceId = 'trc-' + rng.u32().toString(16).padStart(8, '0');
    const user = 'u_' + String(Math.min(80, Math.floor(Math.exp(rng.float() * Math.log(81))))).padStart(4, '0');
    const n = Math.min(LEGACY_CALLS - recs.length, rng.int(1, 5));
    for (let k = 0; k < n; k++) {
      const input = Math.round(rng.logNormal(2600, 0.5) * (1 + 0.3 * k));
      const output = Math.round(rng.logNormal(260, 0.5));
      recs.push({ t, traceId, user, input, output });
      t += Math.round(rng.logNormal(4000, 0.5));
    }
  }
  recs.sort((a, b) => a.t - b.t || (a.traceId < b.traceId ? -1 : 1));
  const lines = recs.map((r) =>
    JSON.stringify({
      event: 'llm.cost.tracked',
      agentId: 'customer-support-v2',
      model: 'gpt-4o',
      inputTokens: r.input,
      outputTokens: r.output,
      cost: Number(costOf('gpt-4o', r.input, r.output, 0, 0).toFixed(6)),
      timestamp: new Date(r.t).toISOString(),
      traceId: r.traceId,
      metadata: { feature: 'support-agent', userId: r.user },
    }),
  );
  // exactly two malformed lines, at known 1-based positions
  const cut = lines[LEGACY_BAD_LINES.truncated - 2];
  lines.splice(LEGACY_BAD_LINES.truncated - 1, 0, cut.slice(0, cut.indexOf('"outputTokens"') + 10));
  lines.splice(LEGACY_BAD_LINES.notJson - 1, 0, '2026-11-05T16:42:09Z WARN cost-tracker: flush interrupted by SIGTERM, 3 buffered events dropped');
  return lines.join('\n') + '\n';
}

async function makeInto(dir) {
  mkdirSync(dir, { recursive: true });
  const sites = scanCallSites();
  const r = await generate({
    calls: DEMO_CALLS,
    out: path.join(dir, 'app.jsonl'),
    seed: 'llm-cost-lens-demo',
    startMs: Date.parse(DEMO_START),
    days: DEMO_DAYS,
    profile: demoProfile(sites),
  });
  writeFileSync(path.join(dir, 'legacy.jsonl'), legacyLines());
  return { sites, r };
}

async function main() {
  const check = process.argv.includes('--check');
  const target = path.join(DEMO, 'traces');
  if (check) {
    const tmp = mkdtempSync(path.join(tmpdir(), 'demo-traces-'));
    try {
      await makeInto(tmp);
      let same = true;
      for (const f of ['app.jsonl', 'legacy.jsonl']) {
        const a = readFileSync(path.join(tmp, f));
        let b = null;
        try {
          b = readFileSync(path.join(target, f));
        } catch {}
        const eq = b !== null && a.equals(b);
        same &&= eq;
        console.log(`${f}: ${eq ? 'up to date' : 'DIFFERS'}`);
      }
      process.exitCode = same ? 0 : 1;
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    return;
  }
  const { sites, r } = await makeInto(target);
  console.log(`makeDemo: app.jsonl ${r.calls} calls (${r.firstTs} .. ${r.lastTs}, ${(r.bytes / 1e6).toFixed(2)} MB), legacy.jsonl ${LEGACY_CALLS} calls + 2 malformed lines (${LEGACY_BAD_LINES.truncated}, ${LEGACY_BAD_LINES.notJson})`);
  console.log('call sites: ' + Object.entries(sites).map(([k, v]) => `${k}=${v}`).join(', '));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error('makeDemo: ' + (e?.message ?? e));
    process.exit(1);
  });
}
