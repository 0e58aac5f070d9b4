#!/usr/bin/env node
/**
 * Deterministic generator of LLM-call trace files (JSONL, one call per line) for LLM Cost Lens.
 *
 *   node scripts/genTraces.mjs --calls N --out FILE [--seed S] [--start 2026-11-01T00:00:00Z] [--days D]
 *                              [--inject kind1,kind2|all] [--labels FILE] [--with-cost[=FRACTION]]
 *
 * Same arguments -> byte-identical file. Plain Node 20, no dependencies. Streams with backpressure.
 *
 * Canonical record (keys in this order, absent keys omitted):
 *   ts, id, trace_id, parent_id, provider, model, input_tokens, output_tokens, cache_read_tokens,
 *   cache_write_tokens, reasoning_tokens, latency_ms, status, error, cost_usd, estimated_cost_usd,
 *   metadata {feature, user_id, template_version, agent, tool}, callsite
 * Conventions: input_tokens EXCLUDES cache reads and writes (Anthropic style); reasoning_tokens is a part of
 * output_tokens. cost_usd appears only with --with-cost; estimated_cost_usd (a noisy pre-flight estimate, +-20%)
 * on ~20% of calls.
 *
 * Injectable, labelled problems (--inject), each on its own feature (DEFAULT_PROFILE.injectFeatures), placed on weekdays:
 *   loop               one code-review trace of 400-800 chained calls (~35% into the span)
 *   grown_prompt       4 hours of summarization calls with input_tokens = 50 x the feature median, template "v-grown"
 *   model_switch       from a midnight (~55% in) on, classification's gpt-4o-mini calls go to gpt-4o
 *   spike              one hour (13-16 UTC) of search at 5x its normal volume
 *   cache_invalidation from an hour (~70% in) on, support-agent reads no cache and writes its prefix on every call
 *   retries            3 extraction traces, each a burst of 6-15 identical timed-out calls (tokens billed) + 1 success
 * The loop and retry traces are part of the N calls (regular traffic is N minus them). --labels FILE writes
 * {generator, seed, calls, start, end, file, injected: [{kind, feature, count, firstCallId, lastCallId, from, to,
 * windowFrom?, windowTo?, traceId? (loop), traceIds? (retries), callIds? (grown_prompt, retries), ...}]}.
 *
 * Also importable: `generate(options)`, `DEFAULT_PROFILE`, `PRICES`, `costOf`, `Rng`, `seedOf`.
 */
import { createWriteStream, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

// ---------------------------------------------------------------------------------------------------------------
// PRNG

/** 32-bit seed from a number or any string (FNV-1a). */
export function seedOf(s) {
  const str = String(s);
  if (/^\d+$/.test(str) && Number(str) <= 0xffffffff) return Number(str) >>> 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < str.length; i++) h = Math.imul(h ^ str.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** sfc32 seeded through splitmix32: fast, 128-bit state, good enough statistics for test data. */
export class Rng {
  constructor(seed) {
    let s = seed >>> 0;
    const sm = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = sm();
    this.b = sm();
    this.c = sm();
    this.d = sm();
    for (let i = 0; i < 12; i++) this.u32();
  }
  u32() {
    let { a, b, c, d } = this;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
    return t >>> 0;
  }
  /** [0, 1) */
  float() {
    return this.u32() / 4294967296;
  }
  /** integer in [lo, hi] */
  int(lo, hi) {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }
  chance(p) {
    return this.float() < p;
  }
  uniform(lo, hi) {
    return lo + (hi - lo) * this.float();
  }
  normal() {
    // Box-Muller, one value per call (keeps the stream simple to reason about)
    const u = 1 - this.float();
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  /** log-normal with the given median and log-space sigma */
  logNormal(median, sigma) {
    return median * Math.exp(sigma * this.normal());
  }
  pick(arr) {
    return arr[Math.floor(this.float() * arr.length)];
  }
}

/** Weighted picker over [value, weight] pairs. */
function picker(pairs) {
  const values = [];
  const cum = [];
  let total = 0;
  for (const [v, w] of pairs) {
    if (!(w > 0)) continue;
    total += w;
    values.push(v);
    cum.push(total);
  }
  if (!values.length) throw new Error('empty weighted choice');
  return (rng) => {
    const x = rng.float() * total;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid] > x) hi = mid;
      else lo = mid + 1;
    }
    return values[lo];
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Prices (USD per million tokens), list prices as in @pydantic/genai-prices 0.1.8. Only used for the optional
// cost_usd / estimated_cost_usd fields: the extension computes its own costs.

export const PRICES = {
  'claude-sonnet-4-5': { provider: 'anthropic', input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75, tier: { start: 200000, input: 6, output: 22.5, cacheRead: 0.6, cacheWrite: 7.5 } },
  'claude-haiku-4-5': { provider: 'anthropic', input: 1, output: 5, cacheRead: 0.1, cacheWrite: 1.25 },
  'gpt-4o': { provider: 'openai', input: 2.5, output: 10, cacheRead: 1.25 },
  'gpt-4o-mini': { provider: 'openai', input: 0.15, output: 0.6, cacheRead: 0.075 },
  'gpt-4.1-mini': { provider: 'openai', input: 0.4, output: 1.6, cacheRead: 0.1 },
  o3: { provider: 'openai', input: 2, output: 8, cacheRead: 0.5, reasoning: true },
  'gemini-2.5-flash': { provider: 'google', input: 0.3, output: 2.5, cacheRead: 0.03 },
};
const ALIASES = { 'claude-sonnet-4-5-20250929': 'claude-sonnet-4-5', 'gpt-4o-2024-08-06': 'gpt-4o' };
export const UNPRICED_MODEL = 'acme-internal-llm-v1';
const UNPRICED_PROVIDER = 'acme';

function modelInfo(model) {
  const p = PRICES[ALIASES[model] ?? model];
  if (p) return { provider: p.provider, price: p, reasoning: !!p.reasoning };
  return { provider: UNPRICED_PROVIDER, price: null, reasoning: false };
}

/** List-price cost of one call (input excludes cache tokens). null for an unpriced model. */
export function costOf(model, input, output, cacheRead, cacheWrite) {
  const p = typeof model === 'string' ? modelInfo(model).price : model;
  if (!p) return null;
  const total = input + cacheRead + cacheWrite;
  const r = p.tier && total > p.tier.start ? p.tier : p;
  const cw = r.cacheWrite ?? r.input;
  const cr = r.cacheRead ?? r.input;
  return (input * r.input + output * r.output + cacheRead * cr + cacheWrite * cw) / 1e6;
}

/** Typical speed: time to first token (ms) and ms per output token. */
const SPEED = {
  anthropic: [650, 14],
  openai: [450, 9],
  google: [350, 4],
  acme: [250, 6],
};
const MODEL_SPEED = { 'claude-haiku-4-5': [400, 6], 'gpt-4o-mini': [350, 7], 'gpt-4.1-mini': [350, 6], o3: [900, 11] };

// ---------------------------------------------------------------------------------------------------------------
// Traffic profile

/**
 * weight: share of traces; models: {model: weight}; traceLen: {length: weight}; chain: parent_id chains (agents);
 * input/output: [median, sigma] of the log-normal token counts (input = the uncached, per-call part);
 * cache: prefix tokens shared by calls and the hit rate; callsites: list, or {model: callsite};
 * noFeature / noUser: share of this feature's traces written without metadata.feature / user_id (default: the
 * profile's).
 */
export const DEFAULT_PROFILE = {
  users: 200,
  zipf: 0.95,
  noFeature: 0.05,
  noUser: 0.02,
  errorRate: 0.03,
  estimateRate: 0.2,
  unpricedRate: 0.002,
  features: [
    {
      name: 'summarization', weight: 16, templates: { 'v2.1': 80, 'v2.0': 20 },
      models: { 'claude-sonnet-4-5': 50, 'claude-sonnet-4-5-20250929': 10, 'gpt-4.1-mini': 40 },
      traceLen: { 1: 80, 2: 20 }, input: [3500, 0.8], output: [350, 0.5], cache: { prefix: 1500, hit: 0.3 },
      callsites: ['src/summarize.py:42', 'src/jobs/digest.py:118'],
    },
    {
      name: 'search', weight: 20, templates: { 'v2.1': 70, 'v2.2': 30 },
      models: { 'gpt-4.1-mini': 60, 'gemini-2.5-flash': 40 },
      traceLen: { 1: 40, 2: 40, 3: 20 }, input: [2500, 0.6], output: [200, 0.6], cache: { prefix: 1100, hit: 0.1 },
      callsites: ['src/search/rewrite.py:27', 'src/search/answer.py:64'],
    },
    {
      name: 'chat', weight: 16, templates: { 'chat-v7': 100 },
      models: { 'gpt-4o': 45, 'gpt-4o-2024-08-06': 10, 'gpt-4o-mini': 45 },
      traceLen: { 1: 40, 2: 30, 3: 20, 4: 10 }, input: [1800, 0.9], output: [250, 0.7], cache: { prefix: 1200, hit: 0.4 },
      callsites: ['web/chat/route.ts:88'],
    },
    {
      name: 'code-review', weight: 4, agent: 'code-review-agent', chain: true, templates: { 'cr-v3': 100 },
      models: { 'claude-sonnet-4-5': 70, o3: 30 },
      traceLen: { 2: 10, 3: 15, 4: 20, 5: 20, 6: 15, 7: 10, 8: 10 }, input: [6000, 0.7], output: [700, 0.6],
      cache: { prefix: 4000, hit: 0.6 }, tools: ['read_file', 'grep', 'run_tests', 'post_comment'],
      callsites: ['web/review/agent.ts:131', 'web/review/agent.ts:176'],
    },
    {
      name: 'extraction', weight: 8, templates: { 'v1.4': 100 },
      models: { 'gpt-4.1-mini': 60, 'gemini-2.5-flash': 30, o3: 10 },
      traceLen: { 1: 70, 2: 30 }, input: [4000, 0.7], output: [400, 0.5], cache: { prefix: 2000, hit: 0.5 },
      callsites: ['src/extract/invoice.py:55'],
    },
    {
      name: 'support-agent', weight: 7, agent: 'support-bot', chain: true, templates: { 'v3.0': 85, 'v2.9': 15 },
      models: { 'claude-sonnet-4-5': 65, 'claude-haiku-4-5': 35 },
      traceLen: { 2: 15, 3: 20, 4: 20, 5: 15, 6: 12, 7: 10, 8: 8 }, input: [1200, 0.6], output: [300, 0.6],
      cache: { prefix: 6000, hit: 0.8 }, tools: ['kb_lookup', 'web_search', 'order_status', 'create_ticket'],
      callsites: ['src/support/agent.py:73'],
    },
    {
      name: 'upload', weight: 6, templates: { 'v1.0': 100 },
      models: { 'gemini-2.5-flash': 80, 'claude-haiku-4-5': 20 },
      traceLen: { 1: 100 }, input: [12000, 1.0], output: [300, 0.5],
      callsites: ['src/upload/ingest.py:31'],
    },
    {
      name: 'classification', weight: 23, templates: { 'v5': 100 },
      models: { 'gpt-4o-mini': 85, 'claude-haiku-4-5': 15 },
      traceLen: { 1: 100 }, input: [600, 0.4], output: [8, 0.5],
      callsites: ['src/classify.py:19'],
    },
  ],
  /** Which feature each injected problem hits. */
  injectFeatures: {
    loop: 'code-review', grown_prompt: 'summarization', model_switch: 'classification', spike: 'search',
    cache_invalidation: 'support-agent', retries: 'extraction',
  },
};

export const INJECT_KINDS = ['loop', 'grown_prompt', 'model_switch', 'spike', 'cache_invalidation', 'retries'];

const q = (s) => JSON.stringify(String(s));

function compileProfile(profile) {
  const features = profile.features.map((f) => {
    const models = Object.entries(f.models);
    let expLen = 0;
    let totW = 0;
    for (const [l, w] of Object.entries(f.traceLen)) {
      expLen += Number(l) * w;
      totW += w;
    }
    const sites = f.callsites ?? [];
    const siteByModel = Array.isArray(sites) ? null : Object.fromEntries(Object.entries(sites).map(([m, s]) => [m, q(s)]));
    return {
      ...f,
      q: q(f.name),
      agentQ: f.agent ? q(f.agent) : null,
      pickModel: picker(models),
      pickLen: picker(Object.entries(f.traceLen).map(([l, w]) => [Number(l), w])),
      pickTemplate: f.templates ? picker(Object.entries(f.templates).map(([t, w]) => [q(t), w])) : () => null,
      toolsQ: (f.tools ?? []).map(q),
      sitesQ: siteByModel ? [] : sites.map(q),
      siteByModel,
      expLen: expLen / totW,
      cache: f.cache ?? { prefix: 0, hit: 0 },
    };
  });
  const byName = Object.fromEntries(features.map((f) => [f.name, f]));
  const users = [];
  const userW = [];
  for (let i = 1; i <= profile.users; i++) {
    users.push(q('u_' + String(i).padStart(4, '0')));
    userW.push(1 / Math.pow(i, profile.zipf ?? 1));
  }
  // users are ranked by a fixed shuffle so that u_0001 is not always the heaviest
  const shuffled = users.slice();
  const r = new Rng(0x5eed);
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(r.float() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
  }
  return {
    ...profile,
    features,
    byName,
    pickFeature: picker(features.map((f) => [f, f.weight])),
    pickUser: picker(shuffled.map((u, i) => [u, userW[i]])),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Time

const HOUR = 3600e3;
const DAY = 86400e3;

function diurnal(h) {
  // UTC hour of day: EU afternoon / US morning peak, a small APAC bump, quiet nights.
  const g = (x, mu, s) => Math.exp(-0.5 * ((x - mu) / s) ** 2);
  return 0.18 + g(h, 14.5, 4) + 0.5 * g(h, 19, 2.5) + 0.15 * g(h, 3, 2) + 0.15 * g(h + 24, 3, 2);
}

let isoDay = -1;
let isoPrefix = '';
const p2 = (n) => (n < 10 ? '0' + n : '' + n);
const p3 = (n) => (n < 10 ? '00' + n : n < 100 ? '0' + n : '' + n);
function iso(ms) {
  const d = Math.floor(ms / DAY) * DAY;
  if (d !== isoDay) {
    isoDay = d;
    isoPrefix = new Date(d).toISOString().slice(0, 11);
  }
  let r = ms - d;
  const h = Math.floor(r / HOUR);
  r -= h * HOUR;
  const m = Math.floor(r / 60000);
  r -= m * 60000;
  const s = Math.floor(r / 1000);
  return isoPrefix + p2(h) + ':' + p2(m) + ':' + p2(s) + '.' + p3(r - s * 1000) + 'Z';
}

/** USD with up to 8 decimals, no trailing zeros, never exponent notation. */
function usd(x) {
  let s = x.toFixed(8);
  if (s.indexOf('.') >= 0) s = s.replace(/0+$/, '').replace(/\.$/, '');
  return s;
}

// ---------------------------------------------------------------------------------------------------------------
// Min-heap of pending calls ordered by (tsMs, seq)

class Heap {
  constructor() {
    this.a = [];
  }
  get size() {
    return this.a.length;
  }
  peek() {
    return this.a[0];
  }
  static less(x, y) {
    return x.tsMs < y.tsMs || (x.tsMs === y.tsMs && x.seq < y.seq);
  }
  push(v) {
    const a = this.a;
    let i = a.length;
    a.push(v);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!Heap.less(v, a[p])) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = v;
  }
  pop() {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length) {
      let i = 0;
      const n = a.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && Heap.less(a[r], a[l]) ? r : l;
        if (!Heap.less(a[c], last)) break;
        a[i] = a[c];
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Generator

/**
 * @param {object} o
 * @param {number} o.calls       exact number of lines to write
 * @param {string} o.out         output file
 * @param {number|string} [o.seed]
 * @param {number} [o.startMs]   default 2026-11-01T00:00:00Z
 * @param {number} [o.days]      default 30
 * @param {string[]} [o.inject]  kinds to inject
 * @param {string} [o.labels]    labels JSON file
 * @param {number} [o.withCost]  share of priced calls that carry cost_usd (0 = none)
 * @param {object} [o.profile]   traffic profile (DEFAULT_PROFILE)
 * @returns {Promise<object>} summary
 */
export async function generate(o) {
  const N = Math.floor(o.calls);
  if (!(N >= 0)) throw new Error('--calls must be a non-negative integer');
  const seed = seedOf(o.seed ?? 1);
  const startMs = o.startMs ?? Date.parse('2026-11-01T00:00:00Z');
  const days = o.days ?? 30;
  if (!(days > 0)) throw new Error('--days must be > 0');
  const spanMs = Math.round(days * DAY);
  const endMs = startMs + spanMs;
  const withCost = o.withCost ?? 0;
  const P = compileProfile(o.profile ?? DEFAULT_PROFILE);
  const inject = new Set(o.inject ?? []);
  for (const k of inject) if (!INJECT_KINDS.includes(k)) throw new Error(`unknown --inject kind "${k}" (one of ${INJECT_KINDS.join(', ')}, all)`);

  const rng = new Rng(seed);
  const planRng = new Rng(seed ^ 0x2545f491);
  isoDay = -1;

  // ---- hourly buckets of expected regular volume ------------------------------------------------------------
  const tailMs = Math.min(10 * 60e3, Math.floor(spanMs / 100));
  const lastMs = endMs - 1;
  const nb = Math.ceil(spanMs / HOUR);
  const bStart = new Float64Array(nb + 1);
  const bEnd = new Float64Array(nb);
  const bW = new Float64Array(nb);
  const dayNoise = new Map();
  for (let b = 0; b < nb; b++) {
    const t = startMs + b * HOUR;
    bStart[b] = t;
    bEnd[b] = Math.max(t, Math.min(t + HOUR, endMs - tailMs));
    const d = new Date(t);
    const dayKey = Math.floor(t / DAY);
    if (!dayNoise.has(dayKey)) dayNoise.set(dayKey, 0.9 + 0.2 * planRng.float());
    const wd = d.getUTCDay();
    const weekend = wd === 0 || wd === 6 ? 0.55 : 1;
    // the regular timeline stops a little before the end so that traces finish inside the span
    const frac = Math.max(0, Math.min(HOUR, endMs - tailMs - t)) / HOUR;
    const growth = 1 + 0.15 * (b / nb);
    bW[b] = diurnal(d.getUTCHours() + d.getUTCMinutes() / 60) * weekend * dayNoise.get(dayKey) * growth * frac;
  }
  bStart[nb] = endMs;

  // ---- injection plan ---------------------------------------------------------------------------------------
  const feat = (kind) => {
    const name = P.injectFeatures?.[kind];
    const f = name && P.byName[name];
    if (!f) throw new Error(`profile has no feature for --inject ${kind}`);
    return f;
  };
  /** bucket index at a fraction of the span, nudged to a wanted UTC hour on the same day when possible */
  const bucketAt = (frac, hourLo, hourHi) => {
    let b = Math.min(nb - 1, Math.floor(frac * nb));
    const h = new Date(bStart[b]).getUTCHours();
    const want = hourLo + planRng.int(0, hourHi - hourLo);
    const nb2 = b - h + want;
    if (nb2 >= 0 && nb2 < nb) b = nb2;
    // prefer a weekday, so that the anomaly stands out against a normal day
    for (const dd of [0, 1, -1, 2, -2, 3, -3]) {
      const c = b + 24 * dd;
      if (c < 0 || c >= nb) continue;
      const wd = new Date(bStart[c]).getUTCDay();
      if (wd !== 0 && wd !== 6) return c;
    }
    return b;
  };
  const labels = [];
  const newLabel = (kind, f, extra) => {
    const l = { kind, feature: f.name, ...extra, count: 0, firstCallId: null, lastCallId: null, from: null, to: null, callIds: extra.storeIds ? [] : undefined };
    labels.push(l);
    return l;
  };
  const inj = {};
  const injectedTraces = []; // {startMs, build: () => calls}
  let injectedCalls = 0;

  if (inject.has('spike')) {
    const f = feat('spike');
    const b = bucketAt(0.4 + 0.3 * planRng.float(), 13, 16);
    const from = bStart[b];
    const to = bStart[b + 1];
    // other features keep their volume, the spiking one gets x5: the bucket grows by 4 x its call share
    let exp = 0;
    for (const g of P.features) exp += g.weight * g.expLen;
    const share = (f.weight * f.expLen) / exp;
    bW[b] *= 1 + 4 * share;
    const pick = picker(P.features.map((g) => [g, g === f ? g.weight * 5 : g.weight]));
    inj.spike = { f, from, to, pick, label: newLabel('spike', f, { multiplier: 5, windowFrom: iso(from), windowTo: iso(to) }) };
  }
  if (inject.has('model_switch')) {
    const f = feat('model_switch');
    const dayIdx = Math.max(1, Math.floor(days * 0.55));
    const at = Math.min(endMs - HOUR, Math.floor(startMs / DAY) * DAY + dayIdx * DAY);
    inj.model_switch = { f, at, fromModel: 'gpt-4o-mini', toModel: 'gpt-4o', label: newLabel('model_switch', f, { fromModel: 'gpt-4o-mini', toModel: 'gpt-4o', windowFrom: iso(at), windowTo: iso(endMs) }) };
  }
  if (inject.has('cache_invalidation')) {
    const f = feat('cache_invalidation');
    const at = bStart[bucketAt(0.66 + 0.1 * planRng.float(), 9, 15)];
    inj.cache_invalidation = { f, at, label: newLabel('cache_invalidation', f, { windowFrom: iso(at), windowTo: iso(endMs) }) };
  }
  if (inject.has('grown_prompt')) {
    const f = feat('grown_prompt');
    const b = bucketAt(0.42 + 0.1 * planRng.float(), 10, 12);
    const from = bStart[b];
    const to = Math.min(endMs, from + 4 * HOUR);
    inj.grown_prompt = { f, from, to, input: Math.round(50 * f.input[0]), template: f.templates ? q('v-grown') : null, label: newLabel('grown_prompt', f, { multiplierOfMedian: 50, medianInputTokens: f.input[0], windowFrom: iso(from), windowTo: iso(to), storeIds: true }) };
    if (f.templates) inj.grown_prompt.label.templateVersion = 'v-grown';
  }
  if (inject.has('loop')) {
    const f = feat('loop');
    const len = planRng.int(400, 800);
    const at = startMs + Math.floor((0.3 + 0.1 * planRng.float()) * spanMs);
    const label = newLabel('loop', f, { traceId: null });
    injectedCalls += len;
    injectedTraces.push({ startMs: at, build: (t0) => buildLoop(f, t0, len, label) });
  }
  if (inject.has('retries')) {
    const f = feat('retries');
    const label = newLabel('retries', f, { traceIds: [], bursts: 0, storeIds: true });
    for (let i = 0; i < 3; i++) {
      const n = planRng.int(6, 15);
      const at = startMs + Math.floor((0.2 + 0.7 * planRng.float()) * spanMs);
      injectedCalls += n + 1;
      injectedTraces.push({ startMs: at, build: (t0) => buildRetries(f, t0, n, label) });
    }
  }
  injectedTraces.sort((a, b) => a.startMs - b.startMs);
  for (const l of labels) delete l.storeIds;
  const NR = N - injectedCalls;
  if (inject.size && NR < injectedCalls) throw new Error(`--calls ${N} is too small for --inject ${[...inject].join(',')} (needs at least ${2 * injectedCalls})`);

  // cumulative expected regular calls per bucket, scaled to NR
  let wSum = 0;
  for (let b = 0; b < nb; b++) wSum += bW[b];
  const cum = new Float64Array(nb + 1);
  for (let b = 0; b < nb; b++) cum[b + 1] = cum[b] + (bW[b] / wSum) * NR;

  // ---- call construction ----------------------------------------------------------------------------------
  let seq = 0;
  let traceN = 0;
  const traceId = () => 't_' + String(++traceN).padStart(8, '0');

  function speed(model, provider) {
    return MODEL_SPEED[model] ?? SPEED[provider] ?? SPEED.acme;
  }
  function latencyOf(model, provider, input, output) {
    const [ttft, perTok] = speed(ALIASES[model] ?? model, provider);
    return Math.max(40, Math.round((ttft + 0.01 * input + perTok * output) * rng.logNormal(1, 0.25)));
  }
  function newCall(t, tsMs, parent) {
    return {
      tsMs, seq: seq++, id: null, traceId: t.id, parent, provider: t.provider, model: t.model, modelQ: t.modelQ,
      input: 0, output: 0, cr: 0, cw: 0, reasoning: 0, latency: 0, status: 'ok', error: null,
      cost: null, est: null, price: t.price,
      featureQ: t.featureQ, userQ: t.userQ, templateQ: t.templateQ, agentQ: t.agentQ, toolQ: null, siteQ: t.siteQ,
      labels: null,
    };
  }
  const mark = (c, label) => {
    if (c.labels) c.labels.push(label);
    else c.labels = [label];
  };
  function finishCost(c) {
    if (!c.price) return;
    const cost = costOf(c.price, c.input, c.output, c.cr, c.cw);
    if (withCost > 0 && (withCost >= 1 || rng.chance(withCost))) c.cost = cost;
    if (rng.chance(P.estimateRate)) c.est = cost * rng.uniform(0.8, 1.2);
  }
  function traceCtx(f, tagged, model, userQ, templateQ, siteQ) {
    const info = modelInfo(model);
    return {
      id: traceId(), f, provider: info.provider, model, modelQ: q(model), price: info.price, reasoning: info.reasoning,
      featureQ: tagged ? f.q : null, tagged, userQ, templateQ, agentQ: f.agentQ, siteQ,
    };
  }
  function siteFor(f, model) {
    if (f.siteByModel) return f.siteByModel[model] ?? null;
    return f.sitesQ.length ? rng.pick(f.sitesQ) : null;
  }

  /** One regular trace starting at t0 with (at most) maxLen calls. */
  function buildTrace(t0, maxLen) {
    const f = inj.spike && t0 >= inj.spike.from && t0 < inj.spike.to ? inj.spike.pick(rng) : P.pickFeature(rng);
    const tagged = !rng.chance(f.noFeature ?? P.noFeature);
    const userQ = rng.chance(f.noUser ?? P.noUser) ? null : P.pickUser(rng);
    let model = f.pickModel(rng);
    const siteQ = siteFor(f, model);
    if (P.unpricedRate && rng.chance(P.unpricedRate)) model = UNPRICED_MODEL;
    let templateQ = tagged ? f.pickTemplate(rng) : null;
    const len = Math.min(maxLen, f.pickLen(rng));
    const gp = inj.grown_prompt && tagged && inj.grown_prompt.f === f && t0 >= inj.grown_prompt.from && t0 < inj.grown_prompt.to ? inj.grown_prompt : null;
    if (gp && gp.template) templateQ = gp.template;
    const t = traceCtx(f, tagged, model, userQ, templateQ, siteQ);
    // model switch: from its day on, the feature's gpt-4o-mini calls go to gpt-4o
    const ms = inj.model_switch && tagged && inj.model_switch.f === f && model === inj.model_switch.fromModel ? inj.model_switch : null;
    let sw = null;
    const calls = [];
    let ts = t0;
    let prev = null;
    for (let k = 0; k < len; k++) {
      let tc = t;
      if (ms && ts >= ms.at) {
        if (!sw) {
          const info = modelInfo(ms.toModel);
          sw = { ...t, model: ms.toModel, modelQ: q(ms.toModel), provider: info.provider, price: info.price, reasoning: info.reasoning };
        }
        tc = sw;
      }
      const c = newCall(tc, ts, f.chain ? prev : null);
      if (tc === sw) mark(c, ms.label);
      if (f.chain && k > 0 && f.toolsQ.length) c.toolQ = rng.pick(f.toolsQ);
      const growth = f.chain ? 1 + 0.3 * k : 1;
      c.input = Math.max(1, Math.round(rng.logNormal(f.input[0], f.input[1]) * growth));
      c.output = Math.max(1, Math.round(rng.logNormal(f.output[0], f.output[1])));
      if (tc.reasoning) {
        c.output = Math.round(c.output * 2.5) + 64;
        c.reasoning = Math.round(c.output * rng.uniform(0.5, 0.85));
      }
      if (gp) {
        c.input = Math.round(gp.input * rng.uniform(0.95, 1.05));
        mark(c, gp.label);
      }
      // prompt cache: a shared prefix, read on a hit; Anthropic also reports writes (cold prefix, new turns)
      const cache = f.cache;
      if (cache.prefix > 0) {
        const prefix = Math.round(cache.prefix * rng.uniform(0.97, 1.03));
        const ci = inj.cache_invalidation;
        if (ci && tagged && ci.f === f && ts >= ci.at && tc.provider === 'anthropic') {
          c.cw = prefix;
          mark(c, ci.label);
        } else if (rng.chance(cache.hit)) {
          c.cr = tc.provider === 'openai' ? Math.floor(prefix / 128) * 128 : prefix;
          if (tc.provider === 'anthropic' && f.chain && k > 0) c.cw = Math.round(rng.logNormal(400, 0.5));
        } else if (tc.provider === 'anthropic') c.cw = prefix;
        else c.input += prefix;
      }
      if (rng.chance(P.errorRate)) {
        c.status = 'error';
        c.error = 'rate_limit';
        c.output = rng.int(0, 5);
        c.reasoning = 0;
        c.cr = 0;
        c.cw = 0;
        c.latency = rng.int(60, 400);
      } else c.latency = latencyOf(tc.model, tc.provider, c.input + c.cr + c.cw, c.output);
      finishCost(c);
      if (inj.spike && tagged && f === inj.spike.f && c.tsMs >= inj.spike.from && c.tsMs < inj.spike.to) mark(c, inj.spike.label);
      calls.push(c);
      prev = c;
      ts = Math.min(lastMs, c.tsMs + c.latency + Math.round(f.chain ? rng.logNormal(350, 0.8) : rng.logNormal(60, 0.6)));
    }
    return calls;
  }

  function buildLoop(f, t0, len, label) {
    const model = Object.keys(f.models)[0];
    const t = traceCtx(f, true, model, P.pickUser(rng), f.pickTemplate(rng), siteFor(f, model));
    label.traceId = t.id;
    const tools = f.toolsQ.length ? f.toolsQ : [null];
    const calls = [];
    let ts = t0;
    let prev = null;
    let ctx = f.cache.prefix || 2000;
    for (let k = 0; k < len; k++) {
      const c = newCall(t, ts, prev);
      c.toolQ = tools[k % Math.min(2, tools.length)];
      c.input = Math.max(1, Math.round(rng.logNormal(900, 0.3)));
      c.output = Math.max(1, Math.round(rng.logNormal(250, 0.4)));
      if (t.reasoning) c.reasoning = Math.round(c.output * 0.6);
      if (t.provider === 'anthropic') {
        c.cr = ctx;
        c.cw = c.input;
      } else if (t.provider === 'openai') c.cr = Math.floor(ctx / 128) * 128;
      else c.input += ctx;
      ctx = Math.min(120000, ctx + c.input + c.output);
      c.latency = latencyOf(t.model, t.provider, c.input + c.cr + c.cw, c.output);
      finishCost(c);
      mark(c, label);
      calls.push(c);
      prev = c;
      ts = Math.min(lastMs, c.tsMs + c.latency + Math.round(rng.logNormal(300, 0.5)));
    }
    return calls;
  }

  function buildRetries(f, t0, n, label) {
    const model = f.models.o3 ? 'o3' : Object.keys(f.models)[0];
    const t = traceCtx(f, true, model, P.pickUser(rng), f.pickTemplate(rng), siteFor(f, model));
    label.traceIds.push(t.id);
    label.bursts++;
    const input = Math.round(rng.logNormal(f.input[0] * 3, 0.2));
    const output = 2048;
    const reasoning = t.reasoning ? 1800 : 0;
    const calls = [];
    let ts = t0;
    for (let k = 0; k <= n; k++) {
      const c = newCall(t, ts, null);
      c.input = input;
      c.output = output;
      c.reasoning = reasoning;
      if (k < n) {
        c.status = 'error';
        c.error = 'timeout';
        c.latency = 60000;
        mark(c, label);
      } else c.latency = latencyOf(t.model, t.provider, input, output);
      finishCost(c);
      calls.push(c);
      ts = Math.min(lastMs, c.tsMs + c.latency + Math.min(30000, 500 * 2 ** k) + rng.int(0, 250));
    }
    return calls;
  }

  // ---- output -----------------------------------------------------------------------------------------------
  const ws = createWriteStream(o.out, { highWaterMark: 1 << 20 });
  const wsError = new Promise((_, rej) => ws.on('error', rej));
  wsError.catch(() => {});
  let buf = '';
  let written = 0;
  let bytes = 0;
  let idN = 0;
  let firstTs = null;
  let lastTs = null;

  function emit(c) {
    c.id = 'c_' + String(++idN).padStart(9, '0');
    const tsS = iso(c.tsMs);
    if (firstTs === null) firstTs = tsS;
    lastTs = tsS;
    let s = '{"ts":"' + tsS + '","id":"' + c.id + '","trace_id":"' + c.traceId + '"';
    if (c.parent) s += ',"parent_id":"' + c.parent.id + '"';
    s +=
      ',"provider":"' + c.provider + '","model":' + c.modelQ + ',"input_tokens":' + c.input + ',"output_tokens":' + c.output +
      ',"cache_read_tokens":' + c.cr + ',"cache_write_tokens":' + c.cw + ',"reasoning_tokens":' + c.reasoning +
      ',"latency_ms":' + c.latency + ',"status":"' + c.status + '"';
    if (c.error) s += ',"error":"' + c.error + '"';
    if (c.cost !== null) s += ',"cost_usd":' + usd(c.cost);
    if (c.est !== null) s += ',"estimated_cost_usd":' + usd(c.est);
    let m = '';
    if (c.featureQ) m += ',"feature":' + c.featureQ;
    if (c.userQ) m += ',"user_id":' + c.userQ;
    if (c.templateQ) m += ',"template_version":' + c.templateQ;
    if (c.agentQ) m += ',"agent":' + c.agentQ;
    if (c.toolQ) m += ',"tool":' + c.toolQ;
    if (m) s += ',"metadata":{' + m.slice(1) + '}';
    if (c.siteQ) s += ',"callsite":' + c.siteQ;
    buf += s + '}\n';
    written++;
    if (c.labels) {
      for (const l of c.labels) {
        l.count++;
        if (!l.firstCallId) {
          l.firstCallId = c.id;
          l.from = tsS;
        }
        l.lastCallId = c.id;
        l.to = tsS;
        if (l.callIds) l.callIds.push(c.id);
      }
    }
  }
  async function flush(force) {
    if (buf.length < (1 << 20) && !force) return;
    bytes += Buffer.byteLength(buf);
    const ok = ws.write(buf);
    buf = '';
    if (!ok) await Promise.race([once(ws, 'drain'), wsError]);
  }

  const heap = new Heap();
  const drainBefore = (t) => {
    while (heap.size && heap.peek().tsMs < t) emit(heap.pop());
  };
  let ii = 0; // next injected trace
  let b = 0;
  let i = 0; // regular calls generated
  while (i < NR) {
    // start time of the trace that begins at regular call index i (inverse of the cumulative volume)
    const x = i + rng.float();
    while (b < nb - 1 && cum[b + 1] <= x) b++;
    const span = cum[b + 1] - cum[b];
    const t0 = Math.floor(bStart[b] + (span > 0 ? Math.min(1, (x - cum[b]) / span) : 0) * (bEnd[b] - bStart[b]));
    while (ii < injectedTraces.length && injectedTraces[ii].startMs <= t0) {
      const it = injectedTraces[ii++];
      for (const c of it.build(it.startMs)) heap.push(c);
    }
    drainBefore(t0);
    const calls = buildTrace(t0, NR - i);
    i += calls.length;
    for (const c of calls) heap.push(c);
    await flush(false);
  }
  while (ii < injectedTraces.length) {
    const it = injectedTraces[ii++];
    for (const c of it.build(it.startMs)) heap.push(c);
  }
  while (heap.size) {
    emit(heap.pop());
    if (buf.length >= 1 << 20) await flush(false);
  }
  await flush(true);
  ws.end();
  await Promise.race([once(ws, 'finish'), wsError]);

  for (const l of labels) if (l.count === 0) process.stderr.write(`genTraces: warning: --inject ${l.kind} affected no calls (too few --calls or too short --days?)\n`);
  if (o.labels) {
    const doc = {
      generator: 'scripts/genTraces.mjs',
      seed: o.seed ?? 1,
      calls: N,
      start: iso(startMs),
      end: iso(endMs),
      file: path.basename(o.out),
      injected: labels,
    };
    writeFileSync(o.labels, JSON.stringify(doc, null, 2) + '\n');
  }
  return { calls: written, traces: traceN, bytes, firstTs, lastTs, injected: labels.map((l) => `${l.kind}:${l.feature}(${l.count})`) };
}

// ---------------------------------------------------------------------------------------------------------------
// CLI

function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let v;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) {
      v = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const val = () => {
      if (v !== undefined) return v;
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--calls': o.calls = Number(val().replace(/_/g, '')); break;
      case '--out': o.out = val(); break;
      case '--seed': o.seed = val(); break;
      case '--start': {
        const s = val();
        o.startMs = Date.parse(s);
        if (!Number.isFinite(o.startMs)) throw new Error(`bad --start "${s}"`);
        break;
      }
      case '--days': o.days = Number(val()); break;
      case '--inject': {
        const s = val();
        o.inject = s === 'all' ? INJECT_KINDS.slice() : s.split(',').map((x) => x.trim()).filter(Boolean);
        break;
      }
      case '--labels': o.labels = val(); break;
      case '--with-cost': o.withCost = v !== undefined ? Number(v) : 1; break;
      case '-h':
      case '--help': o.help = true; break;
      default: throw new Error(`unknown argument "${a}"`);
    }
  }
  return o;
}

const USAGE = `usage: node scripts/genTraces.mjs --calls N --out FILE [--seed S] [--start ISO] [--days D]
       [--inject ${INJECT_KINDS.join(',')}|all] [--labels FILE] [--with-cost[=FRACTION]]`;

async function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(e.message + '\n' + USAGE);
    process.exit(2);
  }
  if (o.help) {
    console.log(USAGE);
    return;
  }
  if (!Number.isFinite(o.calls) || !o.out) {
    console.error(USAGE);
    process.exit(2);
  }
  const t = process.hrtime.bigint();
  const r = await generate(o);
  const sec = Number(process.hrtime.bigint() - t) / 1e9;
  console.log(
    `genTraces: ${r.calls} calls in ${r.traces} traces, ${r.firstTs} .. ${r.lastTs}, ${(r.bytes / 1e6).toFixed(1)} MB -> ${o.out} in ${sec.toFixed(1)}s` +
      (r.injected.length ? `; injected ${r.injected.join(', ')}` : '') +
      (o.labels ? `; labels -> ${o.labels}` : ''),
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error('genTraces: ' + (e?.message ?? e));
    process.exit(1);
  });
}
