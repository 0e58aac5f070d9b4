import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { StringPool } from '../../../src/core/callTable';
import { classifyKey, fastScanBytes, fieldAliases, knownKeyClass, parseIsoUtc, setWasmScanning, wasmKeyMisses, wasmScanning } from '../../../src/core/fastScan';
import { KNOWN_KEY_CLASSES } from '../../../src/core/keyClasses.generated';
import { WasmEngine } from '../../../src/core/fastScanWasm';
import { ignorableClaudeCodeLine } from '../../../src/core/ignorableLine';
import { newContext, normalizeDocument, TAG_ALIAS_NAMES } from '../../../src/core/normalize';
import { PriceBook, tableAt } from '../../../src/core/pricing';
import { seededRandom } from '../../../src/core/random';
import { ingestBytes, newTraceFileState, type TraceFileState } from '../../../src/core/traceFile';
import { fixture, ROOT } from '../helpers';
import { PROCESS_FLAGS } from '../../../src/node/handover';

const NUMERIC = [
  'tsMs', 'recordedUsd', 'computedUsd', 'noCacheUsd', 'estimatedUsd', 'latencyMs', 'inputTokens', 'outputTokens',
  'cacheReadTokens', 'cacheWriteTokens', 'cacheWrite1hTokens', 'reasoningTokens', 'flags', 'line', 'callsiteLine',
] as const;

/** Reads bytes in chunks (cut at `cuts`, carrying unconsumed bytes as traceReader does), fast or slow. */
function load(bytes: Uint8Array, fast: boolean, opts: { final?: boolean; cuts?: number[]; prices?: PriceBook; reuse?: boolean; skipIgnorable?: boolean } = {}): TraceFileState {
  const state = newTraceFileState('t.jsonl', new StringPool());
  const prices = opts.prices ?? new PriceBook();
  const cuts = [...(opts.cuts ?? []), bytes.length].filter((c) => c > 0 && c <= bytes.length).sort((a, b) => a - b);
  let carry: Uint8Array = new Uint8Array(0);
  let at = 0;
  // `reuse`: every chunk is written over the same memory, as a reader reusing its buffer does.
  const shared = opts.reuse ? new ArrayBuffer(bytes.length + 1) : undefined;
  for (const cut of cuts) {
    if (cut <= at) continue;
    // A Node Buffer, as the file reader passes (its `slice` is a view, not a copy).
    const chunk = shared ? Buffer.from(shared, 0, carry.length + cut - at) : new Uint8Array(carry.length + cut - at);
    chunk.set(carry);
    chunk.set(bytes.subarray(at, cut), carry.length);
    at = cut;
    const r = ingestBytes(state, chunk, (opts.final ?? true) && at === bytes.length, prices, { fast, skipIgnorable: opts.skipIgnorable });
    carry = chunk.slice(r.consumed);
  }
  return state;
}

/** Asserts two loaded states hold the same rows (strings compared by value), problems, ignored count and position. */
export function assertSameState(a: TraceFileState, b: TraceFileState, what = '') {
  const ta = a.table;
  const tb = b.table;
  assert.equal(ta.length, tb.length, `${what}: row count`);
  for (const k of NUMERIC) {
    for (let i = 0; i < ta.length; i++) {
      if (!Object.is(ta[k][i], tb[k][i])) assert.fail(`${what}: ${k}[${i}] ${ta[k][i]} != ${tb[k][i]} (line ${tb.line[i]})`);
    }
  }
  const str = (t: typeof ta, col: Int32Array, i: number) => t.pool.get(col[i]);
  for (let i = 0; i < ta.length; i++) assert.equal(str(ta, ta.callsiteFile, i), str(tb, tb.callsiteFile, i), `${what}: callsiteFile[${i}]`);
  // Trace ids by their text (indexes into each table's own trace ids may differ between readers).
  for (let i = 0; i < ta.length; i++) assert.equal(ta.traces.text(ta.traceId[i]), tb.traces.text(tb.traceId[i]), `${what}: traceId[${i}]`);
  for (const d of Object.keys(ta.dims) as (keyof typeof ta.dims)[]) {
    for (let i = 0; i < ta.length; i++) assert.equal(str(ta, ta.dims[d], i), str(tb, tb.dims[d], i), `${what}: ${d}[${i}]`);
  }
  assert.deepEqual([...ta.tags.keys()], [...tb.tags.keys()], `${what}: tag keys`);
  for (const [k, col] of ta.tags) {
    const other = tb.tags.get(k)!;
    for (let i = 0; i < ta.length; i++) assert.equal(str(ta, col, i), str(tb, other, i), `${what}: tag ${k}[${i}]`);
  }
  assert.deepEqual(a.problems, b.problems, `${what}: problems`);
  assert.equal(a.droppedProblems, b.droppedProblems, `${what}: dropped problems`);
  assert.equal(a.droppedWarnings ?? 0, b.droppedWarnings ?? 0, `${what}: dropped warnings`);
  assert.equal(a.ctx.ignored, b.ctx.ignored, `${what}: ignored`);
  assert.deepEqual(a.position, b.position, `${what}: position`);
}

/**
 * The fast reader, and the exact one passing over the lines the normalizer would only ignore, against the reference:
 * JSON.parse + normalize for every line.
 */
function same(text: string | Uint8Array, what: string, opts: { final?: boolean; cuts?: number[]; reuse?: boolean; prices?: PriceBook } = {}) {
  const bytes = typeof text === 'string' ? new TextEncoder().encode(text) : text;
  const slow = load(bytes, false, { ...opts, skipIgnorable: false });
  const fast = load(bytes, true, opts);
  assertSameState(fast, slow, what);
  assertSameState(load(bytes, false, opts), slow, `${what} (exact reader, ignorable lines passed over)`);
  return { slow, fast };
}

const FLAT = '{"ts":"2026-11-03T18:22:05.838Z","id":"c_1","trace_id":"t_1","provider":"anthropic","model":"claude-haiku-4-5","input_tokens":551,"output_tokens":16,"cache_read_tokens":0,"cache_write_tokens":0,"reasoning_tokens":0,"latency_ms":342,"status":"ok","metadata":{"feature":"classification","user_id":"u_0085","template_version":"v5"},"callsite":"src/classify.py:19"}';

/** Overrides beyond the catalogue's shapes: more tiers than the module's entries hold, a price per request and for reasoning. */
const PRICE_OVERRIDES = new Map([
  ['acme/many-tiers', { input: { base: 1, tiers: [1000, 2000, 3000, 4000, 5000].map((start, k) => ({ start, price: 1 + k })) }, output: 4 }],
  ['acme/per-request', { input: 0.5, output: 1.5, reasoning: 3, cacheRead: 0.05, perRequestUsd: 0.002 }],
]);

/**
 * Calls of models whose prices take every path: flat, tiered (inputs across 200k), by date (calls before and after
 * the change, and without a time), by time of day (left to JavaScript), several variants, a price per request, a
 * reasoning rate, the overrides above, unknown models and none; token counts of every kind, at random (seeded).
 */
function pricedLines(n: number, seed: number): string[] {
  const rnd = seededRandom(seed);
  const pick = <T,>(a: T[]) => a[Math.floor(rnd() * a.length)];
  const int = (m: number) => Math.floor(rnd() * m);
  const pairs: [string | null, string | null][] = [
    ['anthropic', 'claude-haiku-4-5'], ['anthropic', 'claude-sonnet-4-5'], ['anthropic', 'claude-opus-4-6'], ['openai', 'o3'], ['openai', 'gpt-4o'],
    ['deepseek', 'deepseek-chat'], ['deepseek', 'deepseek-v4-flash'], ['google', 'gemini-3.6-flash'], ['mistral', 'mistral-ocr-latest'],
    ['openrouter', 'perplexity/sonar-deep-research'], ['perplexity', 'sonar'], ['acme', 'many-tiers'], ['acme', 'per-request'],
    ['acme', 'unknown-model'], [null, 'gpt-4o-mini'], ['openai', null], [null, null],
  ];
  const out: string[] = [];
  for (let k = 0; k < n; k++) {
    const [provider, model] = pick(pairs);
    const output = int(5000);
    const cw = rnd() < 0.3 ? int(60_000) : 0;
    const cr = rnd() < 0.5 ? int(100_000) : 0;
    // Some calls right at a tier's start (200k input in all: not above it) and one token above.
    const edge = rnd();
    const input = edge < 0.05 ? 200_000 - cr - cw : edge < 0.1 ? 200_001 - cr - cw : rnd() < 0.3 ? 150_000 + int(150_000) : int(6000);
    const rec: Record<string, unknown> = {};
    // Times over two years, some right at a price's start date (claude-opus-4-6's second table, from 2026-03-13).
    const when = rnd();
    if (when < 0.05) rec.ts = '2026-03-13T00:00:00.000Z';
    else if (when < 0.1) rec.ts = '2026-03-12T23:59:59.999Z';
    else if (when < 0.9) rec.ts = new Date(Date.UTC(2025, 0, 1) + int(2 * 365 * 86400) * 1000 + int(1000)).toISOString();
    if (provider !== null) rec.provider = provider;
    if (model !== null) rec.model = model;
    Object.assign(rec, {
      input_tokens: input, output_tokens: output, cache_read_tokens: cr, cache_write_tokens: cw,
      cache_write_1h_tokens: cw && rnd() < 0.5 ? int(cw + 1) : 0, reasoning_tokens: rnd() < 0.4 ? int(output + 1) : 0,
      metadata: { feature: pick(['a', 'b', 'c']) },
    });
    out.push(JSON.stringify(rec));
  }
  return out;
}

for (const wasm of [true, false]) {
  describe(`fastScan (${wasm ? 'WebAssembly loop' : 'JavaScript only'}): the byte-level reader gives the same table as JSON.parse + normalize`, function () {
    before(() => setWasmScanning(wasm));
    after(() => setWasmScanning(true));
    this.timeout(60000);

    it('keeps a file of unreadable timestamps on the fast path, with the exact path\'s warnings', () => {
      const lines = Array.from({ length: 3000 }, (_, i) => `{"ts":"2026.11.01 T00:${String(i % 60).padStart(2, '0')}:36Z","model":"gpt-4o","input_tokens":${i + 1},"output_tokens":2,"metadata":{"feature":"f${i % 3}"}}`);
      const { fast } = same(lines.join('\n') + '\n', 'unreadable timestamps, many');
      assert.equal(fast.scanned?.fastLines, 3000);
      assert.equal(fast.scanned?.slowLines, 0);
      assert.equal(fast.problems.length, 3000);
      assert.match(fast.problems[0].message, /^Unreadable timestamp \("2026\.11\.01 T00:00:36Z"\)/);
    });

    it('reads a flat record on the fast path with the same row', () => {
      const { fast } = same(FLAT + '\n', 'flat');
      assert.equal(fast.table.length, 1);
      assert.equal(fast.table.pool.get(fast.table.dims.feature[0]), 'classification');
      assert.equal(fast.table.callsiteLine[0], 19);
    });

    for (const dir of ['shapes', 'third-party']) {
      for (const f of readdirSync(fixture(dir)).filter((n) => n.endsWith('.jsonl'))) {
        it(`matches the slow path on fixture ${dir}/${f}, whole and in chunks`, () => {
          const bytes = readFileSync(fixture(dir, f));
          same(bytes, f);
          same(bytes, `${f} chunked`, { cuts: [1, 7, Math.floor(bytes.length / 3), Math.floor(bytes.length / 2) + 5] });
          same(bytes, `${f} not final`, { final: false });
        });
      }
    }

    it('matches the slow path on the costs of every kind of price: flat, tiered, by date, by time of day, per request, reasoning, overrides, unpriced, service tiers', () => {
      const lines = pricedLines(3000, 11);
      const prices = new PriceBook(PRICE_OVERRIDES);
      const bytes = new TextEncoder().encode(lines.join('\n') + '\n');
      const { fast } = same(bytes, 'prices', { cuts: [bytes.length >> 2, bytes.length >> 1], prices });
      assert.equal(fast.table.length, 3000);
      const costs = Array.from(fast.table.computedUsd.subarray(0, fast.table.length));
      assert.ok(costs.filter((c) => c > 0).length > 2000 && costs.some((c) => Number.isNaN(c)), 'priced and unpriced rows');
      // A service tier (a tag) multiplies what a call costs: from its first row on, the rows are priced in JavaScript.
      const tiered = [...lines.slice(0, 500), ...lines.slice(500, 510).map((l) => l.replace('"metadata":{', '"metadata":{"service_tier":"flex",')), ...lines.slice(510, 1000)];
      same(tiered.join('\n') + '\n', 'prices with service tiers', { cuts: [9000], prices });
    });

    it('matches the slow path on generated traces with every injected problem and recorded costs', () => {
      const dir = mkdtempSync(join(tmpdir(), 'lcl-fast-'));
      try {
        for (const [seed, extra] of [['3', ['--inject', 'all']], ['4', ['--with-cost=0.5']]] as const) {
          const out = join(dir, `g${seed}.jsonl`);
          const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'genTraces.mjs'), '--calls', '6000', '--out', out, '--seed', seed, ...extra], { encoding: 'utf8' });
          assert.equal(r.status, 0, r.stderr);
          const bytes = readFileSync(out);
          const { fast } = same(bytes, `generated seed ${seed}`, { cuts: [bytes.length >> 2, bytes.length >> 1] });
          assert.equal(fast.table.length, 6000);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    const EDGE_LINES: [string, string][] = [
      ['escapes in values', '{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"metadata":{"feature":"a\\"b\\\\c\\u00e9"}}'],
      ['escapes in keys', '{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"metadata":{"fe\\u0061ture":"x"}}'],
      ['unicode values', '{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"metadata":{"feature":"résumé ✓ 𝄞","user_id":"用户"}}'],
      ['unicode keys', '{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"metadata":{"équipe":"x"}}'],
      ['long tag value', `{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"metadata":{"feature":"${'x'.repeat(201)}","team":"${'é'.repeat(150)}"}}`],
      ['huge numbers', '{"model":"gpt-4o","input_tokens":1e400,"output_tokens":12345678901234567890,"latency_ms":1.7976931348623157e308,"cost":0.1234567890123456789}'],
      ['numbers in exponent form and negative zero', '{"model":"gpt-4o","input_tokens":1.5e3,"output_tokens":-0,"cost_usd":1E-3,"estimated_cost_usd":-0.0}'],
      ['many decimals', '{"model":"gpt-4o","input_tokens":10,"output_tokens":2,"cost":0.000000000000000000000012345,"latency_ms":123.456789012345678}'],
      ['numeric strings', '{"model":"gpt-4o","input_tokens":" 12 ","output_tokens":"0x10","cost":"1e2","latency_ms":"abc"}'],
      ['negative tokens', '{"model":"gpt-4o","input_tokens":-5,"output_tokens":2}'],
      ['too many tokens', '{"model":"gpt-4o","input_tokens":100000001,"output_tokens":2}'],
      ['reasoning above output', '{"model":"o3","input_tokens":1,"output_tokens":2,"reasoning_tokens":3}'],
      ['1h writes above writes', '{"model":"claude-sonnet-4-5","input_tokens":1,"output_tokens":2,"cache_write_tokens":5,"cache_write_1h_tokens":9}'],
      ['fractional tokens', '{"model":"gpt-4o","input_tokens":10.7,"output_tokens":2.2}'],
      ['nested metadata', '{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"metadata":{"feature":"f","deep":{"a":1}}}'],
      ['metadata array', '{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"metadata":["feature:x"],"tags":["team:core","beta"]}'],
      ['scalar metadata and tags', '{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"metadata":"x","tags":null}'],
      ['metadata fields', '{"input_tokens":1,"output_tokens":2,"metadata":{"model":"gpt-4o","provider":"openai","ts":1763000000,"trace_id":"tm","latency_ms":"5","estimated_cost_usd":0.1,"callsite":"a.py:3","team":7,"flag":true,"off":false,"nil":null}}'],
      ['tags object with callsite', '{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"tags":{"callsite":"b.ts:9:2","feature":"t","user":"u"},"metadata":{"feature":"m"}}'],
      ['callsite variants', '{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"callsite":"  only/a/file.py  "}'],
      ['empty callsite falls to metadata', '{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"callsite":" ","metadata":{"callsite":":12"}}'],
      ['numeric callsite', '{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"callsite":42,"call_site":"x.py:1"}'],
      ['duplicate keys', '{"model":"gpt-4o","model":"o3","input_tokens":1,"output_tokens":2}'],
      ['duplicate metadata keys', '{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"metadata":{"team":"a","team":"b"}}'],
      ['numeric and prototype keys', '{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"metadata":{"10":"a","2":"b","constructor":"c","__proto__":"d","toString":"e","Constructor":"f"}}'],
      ['top-level aliases and custom tags', '{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"feature":"top","user_id":"u9","agent_id":"ag","team":"t","n":3.5,"b":true,"gen_ai.usage.x":1,"cacheRead":4,"total_cost_usd":0.5}'],
      ['first-non-null key order', '{"model":null,"model_name":"gpt-4o","input_tokens":null,"inputTokens":7,"output_tokens":2,"ts":null,"timestamp":"2026-11-01T10:00:00Z","id":"","call_id":"x"}'],
      ['empty model falls to metadata', '{"model":"","input_tokens":1,"output_tokens":2,"metadata":{"model":"gpt-4o"}}'],
      ['error variants', '{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"error":0}\n{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"error":""  ,"status":"TimeOut"}\n{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"error":false,"status":"failed"}\n{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"error":true}\n{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"status":500}\n{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"error":{"message":"x"}}'],
      ['timestamps', ['"2026-11-01T10:00:00Z"', '"2026-11-01T10:00:00.5Z"', '"2026-02-30T10:00:00Z"', '"2024-02-29T23:59:59.999Z"', '"2026-11-01T24:00:00Z"', '"2026-11-01 10:00:00"', '"2026-11-01T10:00:00+02:00"', '1763000000', '1763000000123', '"1763000000"', '"1763000000123456789"', '0', '-5', 'true', '"0099-01-01T00:00:00Z"', '"2026-13-01T00:00:00Z"'].map((t) => `{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"ts":${t}}`).join('\n')],
      ['token counts that are not numbers', '{"model":"gpt-4o","input_tokens":"abc","output_tokens":10}\n{"model":"gpt-4o","input_tokens":5,"output_tokens":true}\n{"model":"gpt-4o","input_tokens":5,"output_tokens":1,"cache_read_tokens":"x","reasoning_tokens":false}\n{"model":"gpt-4o","input_tokens":"lots"}\n{"model":"gpt-4o","input":"Summarise this","output":"A summary"}\n{"model":"gpt-4o","input":"text","input_tokens":7,"output_tokens":2,"reasoning":"thought"}\n{"model":"gpt-4o","input_tokens":"12","output_tokens":" 3 "}'],
      ['negative recorded costs', '{"model":"gpt-4o","cost_usd":-3,"input_tokens":5,"output_tokens":5}\n{"model":"gpt-4o","total_cost":"-0.5"}\n{"model":"gpt-4o","cost_usd":-0,"input_tokens":5,"output_tokens":5}\n{"model":"gpt-4o","cost_usd":-1,"input_tokens":-5,"output_tokens":5}\n{"model":"o3","cost_usd":-1,"input_tokens":5,"output_tokens":5,"reasoning_tokens":9}'],
      ['implausible recorded costs', '{"model":"gpt-4o","cost_usd":1e300,"input_tokens":5,"output_tokens":5}\n{"model":"gpt-4o","cost_usd":1e400,"input_tokens":5,"output_tokens":5}\n{"model":"gpt-4o","cost_usd":"1e400"}\n{"model":"gpt-4o","cost_usd":100000,"input_tokens":5,"output_tokens":5}\n{"model":"gpt-4o","cost_usd":100000.01}\n{"model":"gpt-4o","cost_usd":-1e400,"input_tokens":5,"output_tokens":5}\n{"model":"gpt-4o","input_tokens":1e400,"output_tokens":5}'],
      ['a long dimension value beside a short one', `{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"feature":"short","metadata":{"feature":"${'q'.repeat(201)}"}}\n{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"metadata":{"feature":"${'q'.repeat(201)}","user_id":"${'u'.repeat(300)}"},"tags":{"feature":"t"}}`],
      ['long dimension values', ['feature', 'user_id', 'team'].flatMap((k) => [`{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"${k}":"${'q'.repeat(201)}"}`, `{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"metadata":{"${k}":"${'q'.repeat(200)}"}}`, `{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"tags":{"${k}":"${'é'.repeat(150)}"}}`]).join('\n')],
      ['unreadable timestamps', ['"2026-02-29T10:00:00Z"', '"2026-04-31"', '"yesterday"', '" "', '"2024-02-29 10:00"'].map((t) => `{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"ts":${t}}\n{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"metadata":{"timestamp":${t}}}`).join('\n')],
      ['cost only, no usage', '{"model":"gpt-4o","cost_usd":0.25}\n{"model":"gpt-4o","cost_usd":"n/a"}\n{}\n{"model":"gpt-4o"}'],
      ['other shapes on one line each', '{"model":"gpt-4o","usage":{"prompt_tokens":10,"completion_tokens":2}}\n{"id":"r","steps":[{"model":"gpt-4o","usage":{"input":1,"output":2}}]}\n{"type":"message","id":"msg_1","model":"claude-haiku-4-5","input_tokens":1,"output_tokens":1}\n{"prompt_tokens":10,"completion_tokens":3,"model":"gpt-4o"}\n{"model":"gpt-4o","response":{"usage":{"input_tokens":5,"output_tokens":1}}}\n{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"attributes":{"gen_ai.x":1}}'],
      ['content keys', '{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"prompt":"hi","messages":[{"role":"user"}],"input":"text"}'],
      ['whitespace inside and around', '  \t{ "model" : "gpt-4o" , "input_tokens" : 1 ,"output_tokens":2 }  \t'],
      ['CRLF lines', '{"model":"gpt-4o","input_tokens":1,"output_tokens":2}\r\n{"model":"o3","input_tokens":3,"output_tokens":4}\r\n\r\n'],
      ['blank and whitespace lines', '\n\n   \n\t\n{"model":"gpt-4o","input_tokens":1,"output_tokens":2}\n\v\n\u00a0\n'],
      ['malformed lines', '{"model":"gpt-4o","input_tokens":1,"output_tokens":2\n{"model":"gpt-4o",broken}\nnot json\n[1,2]\n"str"\n42\nnull\n{"model":"gpt-4o","input_tokens":01,"output_tokens":2}\n{"model":"gpt-4o","input_tokens":1.,"output_tokens":2}\n{"model":"gpt-4o","input_tokens":1,"output_tokens":2} trailing\n{"model":"gpt-4o","input_tokens":1,"output_tokens":2,}\n{"model":"gpt-4o","input_tokens":tru,"output_tokens":2}\n{"a":"ctl\u0001char","input_tokens":1}'],
      ['a pretty-printed document in the middle', `${FLAT}\n{\n  "model": "gpt-4o",\n  "input_tokens": 5,\n  "output_tokens": 1\n}\n${FLAT}\n`],
      // Keys are first compared (four bytes at a time) with the key that followed the same key in an earlier line: near
      // misses must not match, whichever word of the key differs, and an optional key must not shift the others.
      ['keys like the previous line\'s', [
        '{"cost":1,"time":"2026-11-01T10:00:00Z","input":1,"output":2,"model_name":"o3"}',
        '{"cosu":1,"timf":"2026-11-01T10:00:00Z","inpux":1,"output":2,"model_nbme":"o3","model":"gpt-4o"}',
        '{"cost":1,"time":"2026-11-01T10:00:00Z","input":1,"outpu":2,"model_name":"o3"}',
        '{"costs":1,"time":"2026-11-01T10:00:00Z","input":1,"output":2,"model_namf":"o3"}',
        '{"output":2,"model_name":"o3","input":1}',
        '{"output":2,"model_namf":"o3","input":1}',
        '{"output":2,"model_name":"o3","input":1}',
        '{"output":2,"nodel_name":"o3","input":1}',
        '{"output":2,"model_name":"o3","input":1}',
        '{"output":2,"model_mame":"o3","input":1}',
        '{"output":2,"id":"a","ts":1763000000,"input":1}',
        '{"output":2,"id":"a","tt":1763000000,"input":1}',
        '{"cost":1,"time":"2026-11-01T10:00:00Z","input":1,"output":2,"feature":"x","model_name":"o3"}',
        '{"cost":1,"time":"2026-11-01T10:00:00Z","input":1,"output":2,"model_name":"o3"}',
        '{"cost":1,"time":"2026-11-01T10:00:00Z","input":1,"output":2,"model_name',
        '{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"trace_id":"t1","metadata":{"feature":"a","user_id":"u"}}',
        '{"model_name":"o3","input_tokens":3,"output_tokens":4,"trace_id":"t1","metadata":{"feature_x":"a","user_id":"u"}}',
        '{"mode":"o3","input_tokens":3,"output":4,"trace_id":"t12","metadata":{"featur":"b","user_id":"u"}}',
        '{"model":"gpt-4o","model":"o3","input_tokens":1,"output_tokens":2}',
        '{"model":"gpt-4o","input_tokens":1,"input_tokens":2,"output_tokens":2}',
        '{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"metadata":{"feature":"a","feature":"b"}}',
        '{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"trace_id":"t12"}',
        '{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"trace_id":"t13"}',
        '{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"trace_id":"t13"}',
        '{"model',
        '{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"trace_id":"t13"}',
      ].join('\n')],
      ['Claude Code duplicates', readFileSync(fixture('third-party', 'claude-code-subagent-transcript_spotter.jsonl'), 'utf8').split('\n').slice(0, 6).join('\n') + '\n' + FLAT],
    ];
    for (const [what, text] of EDGE_LINES) {
      it(`matches the slow path on ${what}`, () => {
        same(text + '\n', what);
        same(text, `${what} (no final newline)`);
        same(text, `${what} (not final)`, { final: false });
      });
    }

    it('keeps no view of a chunk: the next chunk written over the same Buffer does not change the previous trace id or cached strings', () => {
    // Two lines of the same layout: the second's trace id lies where the first's was, so a kept view would read it.
    const one = (t: string, m: string) => `{"model":"${m}","input_tokens":1,"output_tokens":2,"trace_id":"${t}","metadata":{"feature":"${m}"}}\n`;
    const text = one('t_A', 'gpt-4o') + one('t_B', 'o3-mi') + one('t_B', 'gpt-4o');
    const cuts = [one('t_A', 'gpt-4o').length, 2 * one('t_A', 'gpt-4o').length];
    const { fast } = same(text, 'same layout over reused memory', { cuts, reuse: true });
    assert.deepEqual(Array.from(fast.table.traceId.subarray(0, 3), (id) => fast.table.traces.text(id)), ['t_A', 't_B', 't_B']);
    assert.deepEqual(Array.from(fast.table.dims.feature.subarray(0, 3), (id) => fast.table.pool.get(id)), ['gpt-4o', 'o3-mi', 'gpt-4o']);
  });

  it('matches when the reader writes every chunk over the same memory (the previous trace id is kept as a copy)', () => {
      const lines: string[] = [];
      for (let n = 0; n < 40; n++) lines.push(`{"model":"gpt-4o","input_tokens":${n},"output_tokens":2,"trace_id":"t_${String.fromCharCode(65 + (n >> 2))}"}`);
      const bytes = new TextEncoder().encode(lines.join('\n') + '\n');
      const cuts: number[] = [];
      for (let c = 37; c < bytes.length; c += 53) cuts.push(c);
      const { fast } = same(bytes, 'reused chunk memory', { cuts, reuse: true });
      assert.equal(new Set(Array.from(fast.table.traceId.subarray(0, fast.table.length))).size, 10, 'consecutive calls of one trace share an index');
    });

    it('tells a trace id from the one before it at every length, up to the longest one kept for the comparison and past it', () => {
      // Each id twice, then an id that differs from it in its last byte only, twice: 2 indexes per length (the loop
      // keeps a copy of the previous id to compare, 16 bytes at a time).
      const lines: string[] = [];
      for (let n = 1; n <= 270; n++) {
        const a = 't'.repeat(n - 1) + 'a';
        const b = 't'.repeat(n - 1) + 'b';
        for (const t of [a, a, b, b]) lines.push(`{"model":"gpt-4o","input_tokens":${n},"output_tokens":2,"trace_id":"${t}"}`);
      }
      const { fast } = same(lines.join('\n') + '\n', 'trace ids of every length');
      const ids = fast.table.traceId.subarray(0, fast.table.length);
      for (let i = 0; i < ids.length; i += 2) {
        assert.equal(ids[i + 1], ids[i], `row ${i + 1}: the same trace id as the row before, the same index`);
        if (i > 0) assert.notEqual(ids[i], ids[i - 1], `row ${i}: another trace id than the row before, another index`);
      }
    });

    it('matches with a UTF-8 BOM at the start, and with invalid UTF-8 inside and outside strings', () => {
      const enc = new TextEncoder();
      const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...enc.encode(FLAT + '\n' + FLAT + '\n')]);
      same(bom, 'BOM');
      same(bom, 'BOM chunked', { cuts: [2, 200] });
      const bad = enc.encode('{"model":"gpt-4o","input_tokens":1,"output_tokens":2,"metadata":{"feature":"aXb"}}\n');
      const i = bad.indexOf(88); // X
      const inString = bad.slice();
      inString[i] = 0xe2; // a truncated 3-byte sequence before a quote
      same(new Uint8Array([...inString, ...bad]), 'invalid UTF-8 in a string');
      const outside = enc.encode('{"model":"gpt-4o","input_tokens":1,"output_tokens":2} \n');
      outside[outside.length - 2] = 0xff;
      same(outside, 'invalid UTF-8 outside strings');
    });

    it('matches on random flat records (keys, orders, types and values picked at random)', () => {
      let seed = 12345;
      const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
      const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)];
      const keys = ['ts', 'timestamp', 'time', 'id', 'call_id', 'trace_id', 'run_id', 'parent_id', 'provider', 'vendor', 'model', 'model_name', 'input_tokens', 'inputTokens', 'input', 'output_tokens', 'output', 'cache_read_tokens', 'cacheRead', 'cache_write_tokens', 'cache_creation_tokens', 'cache_write_1h_tokens', 'reasoning_tokens', 'latency_ms', 'durationMs', 'status', 'error', 'cost', 'cost_usd', 'total_cost_usd', 'estimated_cost_usd', 'callsite', 'feature', 'user_id', 'team', 'env', 'Model', 'gen_ai.usage.input_tokens'];
      const metaKeys = ['feature', 'user_id', 'userId', 'agent', 'template_version', 'tool_name', 'team', 'model', 'provider', 'ts', 'trace_id', 'latency_ms', 'estimated_cost_usd', 'callsite', 'env'];
      const values = () => pick<unknown>([0, 1, 7, -3, 2.5, 1e9, 123456789, '', 'x', 'gpt-4o', 'claude-haiku-4-5', 'o3', 'error', 'ok', 'timeout', '12', '2026-11-01T10:00:00Z', '2026-11-01T10:00:00.123Z', 'src/a.py:12', 'é', true, false, null, 0.1, 1763000000]);
      const lines: string[] = [];
      for (let n = 0; n < 3000; n++) {
        const o: Record<string, unknown> = {};
        for (let k = 0; k < 3 + Math.floor(rnd() * 12); k++) o[pick(keys)] = values();
        if (rnd() < 0.7) o[pick(['input_tokens', 'output_tokens'])] = Math.floor(rnd() * 5000);
        if (rnd() < 0.6) {
          const m: Record<string, unknown> = {};
          for (let k = 0; k < Math.floor(rnd() * 6); k++) m[pick(metaKeys)] = values();
          o[rnd() < 0.8 ? 'metadata' : 'tags'] = m;
        }
        lines.push(JSON.stringify(o));
      }
      const text = lines.join('\n') + '\n';
      same(text, 'random records');
      same(text, 'random records in chunks', { cuts: [1000, 50000, 50001, 120000] });
    });

    it('parses fixed-format UTC timestamps exactly as Date.parse', () => {
      const enc = new TextEncoder();
      let seed = 99;
      const rnd = (n: number) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
      const pad = (v: number, w: number) => String(v).padStart(w, '0');
      for (let k = 0; k < 20000; k++) {
        const s = `${pad(1960 + rnd(100), 4)}-${pad(rnd(14), 2)}-${pad(rnd(33), 2)}T${pad(rnd(26), 2)}:${pad(rnd(61), 2)}:${pad(rnd(61), 2)}${k % 2 ? '.' + pad(rnd(1000), 3) : ''}Z`;
        const b = enc.encode(s);
        const fast = parseIsoUtc(b, 0, b.length);
        if (!Number.isNaN(fast)) assert.equal(fast, Date.parse(s), s);
      }
      assert.equal(parseIsoUtc(enc.encode('2026-11-03T18:22:05.838Z'), 0, 24), Date.parse('2026-11-03T18:22:05.838Z'));
      // Runs of timestamps in the same few hours (the hour's start is cached between calls), with bad ones between.
      for (let k = 0; k < 5000; k++) {
        const s = `2024-02-${pad(28 + rnd(3), 2)}T${pad(22 + rnd(3), 2)}:${pad(rnd(62), 2)}:${pad(rnd(62), 2)}.${pad(rnd(1000), 3)}Z`;
        const b = enc.encode(s);
        const fast = parseIsoUtc(b, 0, b.length);
        // NaN: not sure (Feb 30, hour 24...); the caller then asks Date.parse, so only a number must agree.
        if (!Number.isNaN(fast)) assert.equal(fast, Date.parse(s), s);
      }
    });
  });
}

describe('fastScan: the WebAssembly loop', function () {
  this.timeout(120000);
  after(() => setWasmScanning(true));

  /** Reads `text` with fastScanBytes in one piece; the result and the table. */
  function scanOnce(text: string) {
    const state = newTraceFileState('t.jsonl', new StringPool());
    const bytes = new TextEncoder().encode(text);
    const r = fastScanBytes(state.table, state.ctx, bytes, { offset: 0, line: 1 }, { file: 't.jsonl', final: true, prices: new PriceBook() });
    return { r, table: state.table };
  }

  it('keeps its compiled scan loop for a second and a third table on a warm thread (a stolen range, the next file)', () => {
    // A cold start compiles the scan loop once per thread; code that takes a branch or an object shape the compiled
    // loop never saw makes it start over (~10-30 ms each time on every reading thread). V8's own trace says when.
    const dir = mkdtempSync(join(tmpdir(), 'lcl-deopt-'));
    try {
      const out = join(dir, 'g.jsonl');
      const gen = spawnSync(process.execPath, [join(ROOT, 'scripts', 'genTraces.mjs'), '--calls', '24000', '--out', out, '--seed', '7'], { encoding: 'utf8' });
      assert.equal(gen.status, 0, gen.stderr);
      const core = (m: string) => JSON.stringify(join(ROOT, 'out', 'src', 'core', m));
      const script = join(dir, 'scan.js');
      writeFileSync(
        script,
        `const { CallTable, StringPool } = require(${core('callTable.js')});
        const { fastScanBytes, FastScanner } = require(${core('fastScan.js')});
        const { newContext } = require(${core('normalize.js')});
        const { PriceBook } = require(${core('pricing.js')});
        const data = require('node:fs').readFileSync(${JSON.stringify(out)});
        const prices = new PriceBook();
        // Reads [from, to) (from a line start) into a table of its own, in chunks of 64 KB (many calls: the loop is compiled as a whole, not only entered compiled).
        const read = (from, to) => {
          const table = new CallTable('t.jsonl', new StringPool());
          const ctx = newContext('t.jsonl');
          let pos = { offset: from, line: 1 };
          while (pos.offset < to) {
            const end = Math.min(to, pos.offset + (1 << 16));
            const r = fastScanBytes(table, ctx, data.subarray(pos.offset, end), pos, { file: 't.jsonl', final: end === data.length, prices });
            if (r.next.offset === pos.offset) break;
            pos = r.next;
          }
          return table.length;
        };
        const lineAfter = (at) => data.indexOf(10, at) + 1;
        const half = lineAfter(data.length >> 1);
        let rows = read(0, half);
        // (priceRows is no longer hot: the module prices the rows of the pairs it was told, JavaScript a few rows; nor
        // is scanLines, which visits only the lines JavaScript reads, not every line record.)
        const hot = ['emitRows'];
        const status = () => hot.map((f) => [f, (%GetOptimizationStatus(FastScanner.prototype[f]) & 16) !== 0]);
        console.log('WARM ' + JSON.stringify(status()));
        rows += read(half, lineAfter(half + (data.length >> 2)));
        rows += read(lineAfter(half + (data.length >> 2)), data.length);
        console.log('END ' + JSON.stringify(status()) + ' ' + rows);`,
      );
      // The parse process's flags: code is compiled when it gets hot, not whenever a background job ends.
      const r = spawnSync(process.execPath, [...PROCESS_FLAGS, '--allow-natives-syntax', '--trace-deopt', script], { encoding: 'utf8', maxBuffer: 64 << 20 });
      assert.equal(r.status, 0, r.stderr);
      const after = r.stdout.slice(r.stdout.indexOf('WARM '));
      const warm = JSON.parse(/^WARM (.*)$/m.exec(after)![1]) as [string, boolean][];
      const end = /^END (.*) (\d+)$/m.exec(after)!;
      assert.deepEqual(warm.filter(([, on]) => !on), [], `the scan loop was compiled on the first table (else this test tests nothing): ${after.slice(0, 300)}`);
      assert.equal(Number(end[2]), 24000, 'every row read');
      // Thrown away where it runs (deoptimizing) or ahead of time, for a shape it relied on changing (marking dependent code).
      const deopts = [...after.matchAll(/(?:deoptimizing [^<]*<JSFunction|marking dependent code [^\n]*<SharedFunctionInfo) (scanLines|emitRows|fixRow|priceRows|scan|copyRows)[ >]/g)].map((m) => m[1]);
      assert.deepEqual(deopts, [], 'the compiled scan loop was thrown away for a new table');
      assert.deepEqual(JSON.parse(end[1]), warm, 'still compiled at the end');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs here and reads the common shape itself, leaving other lines to the JavaScript reader', () => {
    setWasmScanning(true);
    assert.equal(wasmScanning(), true, 'the WebAssembly module did not start: the tests above only tested the JavaScript reader');
    const { r, table } = scanOnce(`${FLAT}\n${FLAT}\n{"model":"gpt-4o","input_tokens":1e3,"output_tokens":2}\n{"model":"gpt-4o","cost_usd":0.5}\n\n`);
    assert.equal(table.length, 4);
    assert.equal(r.fastLines, 4);
    assert.equal(r.wasmLines, 3, 'the exponent number is left to the JavaScript reader');
    assert.equal(table.inputTokens[2], 1000);
    setWasmScanning(false);
    assert.equal(scanOnce(`${FLAT}\n`).r.wasmLines, 0);
    setWasmScanning(true);
  });

  it('matches the slow path across many windows: more lines and rows than one scan holds, blank runs, long lines', () => {
    setWasmScanning(true);
    const lines: string[] = [];
    let seed = 7;
    const rnd = (n: number) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
    for (let n = 0; n < 30000; n++) {
      const k = rnd(100);
      if (k < 3) lines.push('');
      else if (k < 4) lines.push(`{"model":"gpt-4o","input_tokens":${n},"output_tokens":1,"metadata":{"note":"${'y'.repeat(rnd(3000))}"}}`);
      else if (k < 6) lines.push(`{"model":"gpt-4o","input_tokens":"${n}","output_tokens":1}`);
      else lines.push(`{"ts":"2026-11-0${1 + rnd(9)}T1${rnd(10)}:00:0${rnd(10)}Z","trace_id":"t${n >> 2}","model":"${['gpt-4o', 'o3', 'claude-haiku-4-5'][rnd(3)]}","input_tokens":${rnd(9000)},"output_tokens":${rnd(900)},"metadata":{"feature":"f${rnd(20)}","user_id":"u${rnd(500)}","team":"t${rnd(4)}"}}`);
    }
    for (let b = 0; b < 20000; b++) lines.push('');
    // A line longer than a window (1 MiB) between ordinary ones.
    lines.push(`{"model":"o3","input_tokens":5,"output_tokens":1,"metadata":{"blob":"${'z'.repeat(1_100_000)}","feature":"big"}}`);
    lines.push(FLAT);
    const bytes = new TextEncoder().encode(lines.join('\n') + '\n');
    const { fast } = same(bytes, 'many windows');
    assert.equal(fast.table.length, 30000 - lines.filter((l) => l === '').length + 20000 + 2);
    same(bytes, 'many windows, chunked', { cuts: [100_000, 1_000_000, 3_000_000, 3_000_001, bytes.length - 500_000] });
  });

  it('matches the slow path when its string table fills up and starts again (ids from before a reset are not reused)', () => {
    setWasmScanning(true, { stringLimit: 40 });
    try {
      const lines: string[] = [];
      for (let n = 0; n < 3000; n++) {
        lines.push(`{"trace_id":"t${n % 7}","model":"m${n % 13}","provider":"p${n % 3}","input_tokens":${n},"output_tokens":1,"status":"${n % 11 ? 'ok' : 'error'}","callsite":"src/f${n % 17}.py:${n % 5}","metadata":{"feature":"f${n % 29}","user_id":"u${n}","team":"t${n % 31}"}}`);
      }
      const text = lines.join('\n') + '\n';
      const { fast } = same(text, 'string table resets');
      assert.equal(fast.table.pool.get(fast.table.dims.user[2999]), 'u2999');
      same(text, 'string table resets, chunked', { cuts: [5000, 5001, 90000, 200000] });
    } finally {
      setWasmScanning(true);
    }
  });

  it('reads numbers of every length and keys of every length the way the slow path does (digits and key bytes compared many at a time)', () => {
    setWasmScanning(true);
    const lines: string[] = [];
    // Key names of 1 to 34 bytes (up to 14 are compared with their quote and colon in one 16-byte compare, up to 30 in
    // two, longer ones byte by byte): in one order, so each is the key predicted after the one before, and then with
    // one replaced by a key of its length that differs in its last byte, by a shorter and by a longer one (each name's
    // first letter its own: no duplicate key).
    const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGH';
    const names = Array.from({ length: 34 }, (_, k) => letters[k] + 'bcdefghijklmnopqrstuvwxyzABCDEFGH'.slice(0, k));
    const tagsOf = (ks: string[], n: number) => ks.map((k, j) => `"${k}":"v${(n + j) % 7}"`).join(',');
    for (let n = 0; n < 400; n++) {
      const ks = [...names];
      const j = n % 34;
      if (n % 4 === 1) ks[j] = ks[j].slice(0, -1) + 'Z';
      else if (n % 4 === 2 && j > 0) ks[j] = ks[j].slice(0, -1);
      else if (n % 4 === 3) ks[j] += 'Z';
      lines.push(`{"model":"gpt-4o","input_tokens":${n + 1},"output_tokens":2,"metadata":{"feature":"f",${tagsOf(ks, n)}}}`);
    }
    // Numbers of 1 to 17 digits, of every leading digit, whole or with a fraction, before a comma, a brace or a space;
    // token counts of up to 7 digits (larger ones are implausible counts the JavaScript reader reports).
    for (let d = 1; d <= 17; d++) {
      for (let lead = 1; lead <= 9; lead++) {
        const whole = String(lead) + '0123456789012345678'.slice(0, d - 1).split('').reverse().join('');
        const tokens = whole.slice(0, Math.min(d, 7));
        lines.push(`{"model":"o3","input_tokens":${tokens},"output_tokens":${tokens.slice(-1)},"latency_ms":${whole}}`);
        lines.push(`{"model":"o3","input_tokens":${tokens} ,"output_tokens":1,"latency_ms":${whole}.25,"cost_usd":0.${whole}}`);
        lines.push(`{"model":"o3","output_tokens":1,"input_tokens":${tokens}}`);
      }
    }
    const text = lines.join('\n') + '\n';
    same(text, 'numbers and keys of every length');
    same(text, 'numbers and keys of every length, chunked', { cuts: [9, 4000, 4001, 50_000] });
    const { table } = scanOnce(text);
    assert.equal(table.length, lines.length);
    assert.equal(table.inputTokens[400 + 3 * (6 * 9 + 8)], 9543210, 'a count of 7 digits');
    // Read by the WebAssembly loop, not left to the JavaScript reader: every key line, and the numbers of up to 13
    // digits (longer ones, with their fractions, pass 15 significant digits: the JavaScript reader's).
    const upTo13 = lines.slice(0, 400 + 13 * 9 * 3);
    assert.equal(scanOnce(upTo13.join('\n') + '\n').r.wasmLines, upTo13.length);
  });

  it('reads timestamps with any one byte changed, left out or added as the slow path does (their time of day is checked eight bytes at a time)', () => {
    setWasmScanning(true);
    const lines: string[] = [];
    const bytes = ['0', '1', '2', '5', '6', '9', ':', '.', 'Z', 'T', '-', '/', ' ', 'a', 'z', '\u007f', '\u0080', 'é', '€'];
    for (const ts of ['2026-11-03T18:22:05.838Z', '2026-11-03T09:59:59Z', '1999-12-31T23:59:59.999Z', '2026-11-03T00:00:00.000Z']) {
      const at = (s: string) => lines.push(`{"ts":"${s}","model":"o3","input_tokens":1,"output_tokens":2}`, `{"ts":"${ts}","model":"o3","input_tokens":3,"output_tokens":4}`);
      for (let i = 0; i < ts.length; i++) {
        for (const b of bytes) at(ts.slice(0, i) + b + ts.slice(i + 1));
        at(ts.slice(0, i) + ts.slice(i + 1));
        at(ts.slice(0, i) + '7' + ts.slice(i));
      }
    }
    const text = lines.join('\n') + '\n';
    same(text, 'timestamps with one byte changed');
    same(text, 'timestamps with one byte changed, chunked', { cuts: [70, 7001, 7002] });
    assert.ok(scanOnce(text).r.wasmLines > lines.length / 2, 'the unchanged timestamps are read by the WebAssembly loop');
  });

  it('tells apart strings that share their first 16 or 32 bytes or differ only in length (its cache of recent strings finds them by their bytes)', () => {
    setWasmScanning(true);
    // Values of 1 to 70 bytes cut from one text, and the same with one byte changed at 0, 15, 16, 31, 32 or the last:
    // many share a prefix (the cache compares 32 bytes, a longer string its rest in the arena) and come back often.
    const text64 = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/abcdef';
    const values: string[] = [];
    for (let n = 1; n <= 70; n++) {
      const v = text64.slice(0, n);
      values.push(v);
      for (const at of [0, 15, 16, 31, 32, n - 1]) if (at < n) values.push(v.slice(0, at) + '#' + v.slice(at + 1));
    }
    const lines: string[] = [];
    for (let k = 0; k < 3000; k++) {
      const f = values[(k * 7) % values.length];
      const u = values[(k * 13 + 5) % values.length];
      lines.push(`{"model":"${values[k % 40]}","input_tokens":${k + 1},"output_tokens":2,"callsite":"src/${values[k % values.length]}.py:${k % 9}","metadata":{"feature":"${f}","user_id":"${u}","team":"${values[(k * 3) % values.length]}"}}`);
    }
    const text = lines.join('\n') + '\n';
    // With the module's cache, and with one of a single entry (every string then meets the one before it there).
    for (const entries of [0, 1]) {
      setWasmScanning(true, { stringCacheEntries: entries });
      try {
        same(text, `strings sharing prefixes (cache entries ${entries || 'all'})`);
        same(text, `strings sharing prefixes, chunked (cache entries ${entries || 'all'})`, { cuts: [7, 30_000, 30_001, 200_000] });
        const { r, table } = scanOnce(text);
        assert.equal(r.wasmLines, lines.length, 'read by the WebAssembly loop');
        for (let k = 0; k < 3000; k++) {
          assert.equal(table.pool.get(table.dims.feature[k]), values[(k * 7) % values.length], `feature of line ${k + 1}`);
          assert.equal(table.pool.get(table.dims.user[k]), values[(k * 13 + 5) % values.length], `user of line ${k + 1}`);
        }
      } finally {
        setWasmScanning(true);
      }
    }
  });

  it('reads a string with a byte of 128 or more and then a control byte, a backslash or its quote as JSON.parse does, in values and keys', () => {
    // The string reader looks for control bytes and bytes of 128 or more at once, then goes on past the latter: a control
    // byte after them must still end the loop's read (JSON.parse refuses it), and so must an escape.
    const lines: string[] = [];
    for (const pad of ['', 'x', 'abcdefghijklmno', 'abcdefghijklmnopqrstuvwxyz012345']) {
      for (const high of ['é', '€', '🚀', '\u00ff']) {
        for (const after of ['', '\t', '\u0001', '\\n', '\\"', 'tail', 'a'.repeat(20)]) {
          const v = `${pad}${high}${after}`;
          lines.push(`{"model":"gpt-4o","input_tokens":3,"output_tokens":1,"metadata":{"feature":"${v}"}}`);
          lines.push(`{"model":"${v}","input_tokens":3,"output_tokens":1,"trace_id":"${v}"}`);
          lines.push(`{"model":"gpt-4o","input_tokens":3,"output_tokens":1,"${v}":"k"}`);
          lines.push(`{"model":"gpt-4o","input_tokens":3,"output_tokens":1,"metadata":{"${v}":"${v}"}}`);
        }
      }
    }
    const text = lines.join('\n') + '\n';
    const { slow } = same(text, 'bytes of 128 or more, then control bytes and escapes');
    assert.ok(slow.problems.length > 0, 'lines JSON.parse refuses (else this tests nothing)');
    assert.ok(scanOnce(text).r.wasmLines > lines.length / 6, 'read by the WebAssembly loop (keys of such bytes, escapes and control bytes go to the JavaScript reader)');
  });

  it('matches the slow path on random lines of strings of 0-250 bytes sharing prefixes, escapes and non-ASCII, in every field, with small string caches and tables', () => {
    // From an independent review of the cache of recent strings and the string reader: strings cut from one text at
    // lengths around 16 and 32 bytes and beyond, each also with one byte changed at 0, 15, 16, 31, 32 or its end, one
    // ending in a non-ASCII letter and one with an escape, as model, provider, status, trace id, call site, tags.
    const seeded = (seed: number) => {
      let s = seed >>> 0 || 1;
      return (n: number) => {
        s ^= s << 13;
        s >>>= 0;
        s ^= s >>> 17;
        s ^= s << 5;
        s >>>= 0;
        return s % n;
      };
    };
    const ALPHA = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:';
    const linesOf = (seed: number, count: number): string[] => {
      const rnd = seeded(seed);
      const text = Array.from({ length: 300 }, (_, i) => ALPHA[(i * 7 + seed) % ALPHA.length]).join('');
      const values: string[] = [];
      for (const n of [0, 1, 2, 7, 8, 15, 16, 17, 31, 32, 33, 34, 47, 48, 49, 63, 64, 65, 80, 150, 199, 200, 201, 250]) {
        const v = text.slice(0, n);
        values.push(v);
        for (const at of [0, 15, 16, 31, 32, n - 1]) if (at >= 0 && at < n) values.push(v.slice(0, at) + '#' + v.slice(at + 1));
        if (n > 0) values.push(v.slice(0, n - 1) + 'é');
        if (n > 3) values.push(v.slice(0, 2) + '\\"' + v.slice(3));
      }
      const val = () => values[rnd(values.length)];
      const tagKeys = ['feature', 'user_id', 'agent', 'template_version', 'tool', 'team', 'env', 'userId', 'region'];
      const obj = (k: number) => {
        const used = new Set<string>();
        const parts: string[] = [];
        for (let j = 0; j < k; j++) {
          const key = tagKeys[rnd(tagKeys.length)];
          if (used.has(key)) continue;
          used.add(key);
          parts.push(`"${key}":"${val()}"`);
        }
        return `{${parts.join(',')}}`;
      };
      const lines: string[] = [];
      for (let i = 0; i < count; i++) {
        const f = [`"model":"${rnd(3) ? val() : 'gpt-4o'}"`, `"input_tokens":${1 + rnd(5000)}`, `"output_tokens":${rnd(300)}`];
        if (rnd(2)) f.push(`"provider":"${rnd(2) ? 'openai' : val()}"`);
        if (rnd(2)) f.push(`"status":"${rnd(3) ? val() : 'error'}"`);
        if (rnd(2)) f.push(`"trace_id":"${val()}"`);
        if (rnd(2)) f.push(`"callsite":"${rnd(2) ? `src/${val()}.py:${rnd(30)}` : val()}"`);
        if (rnd(3) === 0) f.push(`"feature":"${val()}"`);
        if (rnd(2)) f.push(`"metadata":${obj(rnd(8))}`);
        if (rnd(2)) f.push(`"tags":${obj(rnd(8))}`);
        for (let j = f.length - 1; j > 0; j--) {
          const k = rnd(j + 1);
          [f[j], f[k]] = [f[k], f[j]];
        }
        lines.push(`{${f.join(rnd(5) ? ',' : ' , ')}}`);
      }
      return lines;
    };
    for (const seed of [1, 2]) {
      const text = linesOf(seed, 3000).join('\n') + '\n';
      for (const [entries, limit] of [[0, 0], [1, 0], [2, 97]]) {
        setWasmScanning(true, { stringCacheEntries: entries, stringLimit: limit });
        try {
          const what = `seed ${seed}, cache entries ${entries || 'all'}, string limit ${limit || 'none'}`;
          same(text, what, seed === 2 ? { cuts: [1000, 77777, 77778, 150000] } : {});
          // (Escapes, and strings a full string table cannot take, go to the JavaScript reader: over 40% of the lines here.)
          assert.ok(scanOnce(text).r.wasmLines > (limit ? 200 : 1000), `${what}: read by the WebAssembly loop`);
        } finally {
          setWasmScanning(true);
        }
      }
    }
  });

  it('reads a number only up to its first non-digit (any byte after it) with its significant digits, and a predicted key only with its colon', () => {
    // From an independent review of the digit and key compares: each line here fails a build that leaves the colon out
    // of a key's compare, takes a byte of 0x80 or more for a digit, or counts a number's digits wrong.
    setWasmScanning(true);
    const lines: string[] = [];
    const head = '{"model":"o3","input_tokens":1,"output_tokens":2';
    for (let n = 1; n <= 32; n++) {
      const k = 'abcdefghijklmnopqrstuvwxyzABCDEF'.slice(0, n);
      for (const sep of [' :', '\t:', ' ', '=', ';', '""', '']) {
        lines.push(`${head},"${k}":"v","latency_ms":5}`, `${head},"${k}"${sep}"v","latency_ms":5}`, `${head},"${k}":"v","latency_ms"${sep}5}`);
      }
    }
    for (let d = 1; d <= 9; d++) {
      const int = '987654321'.slice(0, d);
      for (const after of ['é', '\u0080', 'ÿ', '€', '😀', '.', 'e', 'E', 'e1', '-', '+', 'x', '"', ':', '\t', '']) {
        lines.push(`${head},"latency_ms":${int}${after}}`, `${head},"latency_ms":${int}${after},"cost_usd":1}`);
      }
      for (const frac of ['9'.repeat(15 - d), '9'.repeat(16 - d), '0'.repeat(16 - d) + '1', '1'.repeat(17 - d)]) lines.push(`${head},"latency_ms":${int}.${frac}}`);
    }
    lines.push(`${head},"latency_ms":9999999.999999999}`, `${head},"latency_ms":1000000.0000000001}`);
    const text = lines.join('\n') + '\n';
    same(text, 'number ends and key colons');
    same(text, 'number ends and key colons, chunked', { cuts: [100, 5000, 5001] });
  });

  it('predicts every key of lines of one shape from the key before it (none looked up after the first line), short keys and long', () => {
    // A compare that never matches would leave every table right and every key looked up by hash: only this count shows it.
    setWasmScanning(true);
    scanOnce(`${FLAT}\n`);
    const before = wasmKeyMisses();
    const { r } = scanOnce(`${FLAT}\n`.repeat(2000));
    assert.equal(r.wasmLines, 2000);
    assert.equal(wasmKeyMisses() - before, 0, 'keys looked up by hash in lines of a shape already seen');
    // Another order: each key missed once (the first line), then predicted again.
    const reordered = FLAT.replace('"provider":"anthropic","model":"claude-haiku-4-5"', '"model":"claude-haiku-4-5","provider":"anthropic"');
    const mid = wasmKeyMisses();
    scanOnce(`${reordered}\n`.repeat(500));
    assert.ok(wasmKeyMisses() - mid > 0 && wasmKeyMisses() - mid <= 4, `${wasmKeyMisses() - mid} lookups for a line with two keys swapped, read 500 times`);
  });

  it('matches the slow path on lines changed at random, byte by byte', () => {
    setWasmScanning(true);
    let seed = 2024;
    const rnd = (n: number) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
    const base = [
      FLAT,
      '{"timestamp":"2026-11-01T10:00:00Z","model":"gpt-4o","provider":"openai","input_tokens":1200,"output_tokens":80,"cost_usd":0.0123,"error":null,"tags":{"feature":"chat","env":"prod","callsite":"a.ts:3"}}',
      '{"ts":"2026-11-01T10:00:00.250Z","trace_id":"t9","model":"o3","input_tokens":10,"output_tokens":50,"reasoning_tokens":40,"cache_read_tokens":5,"latency_ms":12.5,"metadata":{"feature":"x","agent":"planner","tool":"search"}}',
    ];
    const pieces = ['"', '\\', '\\"', '{', '}', '[', ']', ',', ':', ' ', '\t', '1', '-', '.', 'e', '0', 'é', '\u00ff', 'null', 'true', 'x', '"model":', '"metadata":{', '"input_tokens":', '1e5', '\u0001'];
    const lines: string[] = [];
    for (let n = 0; n < 4000; n++) {
      let l = base[rnd(base.length)];
      for (let m = 1 + rnd(3); m > 0; m--) {
        const at = rnd(l.length + 1);
        const op = rnd(3);
        if (op === 0) l = l.slice(0, at) + pieces[rnd(pieces.length)] + l.slice(at);
        else if (op === 1) l = l.slice(0, at) + l.slice(at + 1 + rnd(4));
        else l = l.slice(0, at) + pieces[rnd(pieces.length)] + l.slice(at + 1);
      }
      lines.push(l);
    }
    const text = lines.join('\n') + '\n';
    const { fast } = same(text, 'random byte changes');
    assert.ok(fast.table.length > 500, `only ${fast.table.length} rows`);
    same(text, 'random byte changes, chunked', { cuts: [777, 100_000, 100_001] });
  });
});

describe('Claude Code lines the normalizer only ignores, passed over unparsed (WebAssembly loop and JavaScript)', function () {
  this.timeout(60000);
  const transcript = readFileSync(fixture('third-party', 'claude-code-subagent-transcript_spotter.jsonl'), 'utf8').split('\n').filter(Boolean);

  it('says so only of lines JSON.parse reads and normalize counts as ignored, touching no state', () => {
    let seed = 77;
    const rnd = (n: number) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
    const pieces = ['"', '\\', '\\"', '\\u0074', '\\u00e9', '{', '}', '[', ']', ',', ':', ' ', '\t', '\u0001', '1', '-', '.', 'e', '0', 'é', 'null', 'true', '"type":"user",', '"type":"assistant",', '"type":1,', '"sessionId":"s",', '"uuid":"u",', '"uuid":null,', '"resourceSpans":[],', '"typ\\u0065":"user",', '\\x', '\\u12'];
    let ignorable = 0;
    let checked = 0;
    for (let n = 0; n < 6000; n++) {
      let l = transcript[rnd(transcript.length)];
      for (let m = rnd(4); m > 0; m--) {
        const at = rnd(l.length + 1);
        const op = rnd(3);
        if (op === 0) l = l.slice(0, at) + pieces[rnd(pieces.length)] + l.slice(at);
        else if (op === 1) l = l.slice(0, at) + l.slice(at + 1 + rnd(4));
        else l = l.slice(0, at) + pieces[rnd(pieces.length)] + l.slice(at + 1);
      }
      const bytes = new TextEncoder().encode(l);
      if (!ignorableClaudeCodeLine(bytes, 0, bytes.length)) continue;
      ignorable++;
      // JSON.parse reads it, and the normalizer counts it as ignored: no call, no problem, no state.
      const ctx = newContext('t.jsonl');
      const r = normalizeDocument(JSON.parse(l), 1, ctx);
      assert.deepEqual([r.calls.length, r.problems.length, ctx.ignored, ctx.messages.size, ctx.seenIds.size, ctx.currentModel], [0, 0, 1, 0, 0, undefined], l.slice(0, 300));
      checked++;
    }
    assert.ok(ignorable > 1500, `only ${ignorable} ignorable lines of 6,000`);
    assert.equal(checked, ignorable);
  });

  for (const wasm of [true, false]) {
    it(`reads a transcript with changed bytes as JSON.parse does (${wasm ? 'WebAssembly loop' : 'JavaScript only'}), whole and in chunks`, () => {
      setWasmScanning(wasm);
      try {
        let seed = wasm ? 5 : 6;
        const rnd = (n: number) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
        const pieces = ['"', '\\', '{', '}', ']', ',', ':', '\u0001', '"type":"assistant",', '"type":"user",', '"sessionId":7,', '"resourceSpans":1,', '\\u0074'];
        const lines: string[] = [];
        for (let n = 0; n < 3000; n++) {
          let l = transcript[rnd(transcript.length)].replace(/"id":"msg_/, `"id":"msg_${n}_`);
          if (rnd(3) === 0) {
            const at = rnd(l.length + 1);
            l = l.slice(0, at) + pieces[rnd(pieces.length)] + l.slice(at + rnd(2));
          }
          lines.push(l);
        }
        const bytes = new TextEncoder().encode(lines.join('\n') + '\n');
        const { slow, fast } = same(bytes, 'changed transcript', { cuts: [bytes.length >> 2, bytes.length >> 1] });
        assert.ok(slow.ctx.ignored > 1000 && slow.table.length > 500, `${slow.ctx.ignored} ignored, ${slow.table.length} calls`);
        assert.ok(slow.problems.length > 50, 'the changed lines are reported');
        // The WebAssembly loop passes them over itself (the JavaScript reader hands them to the exact one, which does).
        if (wasm) assert.ok((fast.scanned?.slowLines ?? 0) < 3000 - 1000, `slow lines ${fast.scanned?.slowLines}`);
      } finally {
        setWasmScanning(true);
      }
    });
  }
});

describe('fastScan: the key classes known ahead (src/core/keyClasses.generated.ts)', () => {
  it('are what normalize.ts does with each key, and cover every field and tag alias (else run scripts/genKeyClasses.mjs)', () => {
    for (const name of [...fieldAliases(), ...TAG_ALIAS_NAMES, 'metadata', 'tags']) assert.ok(knownKeyClass(name), `${name} is not known ahead`);
    // What the scanner reads from the table (decoded) against what normalize.ts does now.
    for (const [name] of KNOWN_KEY_CLASSES) assert.deepEqual(knownKeyClass(name), classifyKey(name), name);
  });
});

describe('fastScan: memory', () => {
  it('holds none of the bytes it scanned (a small file\'s scanner lives as long as its table), with both engines, and many keys', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    for (const wasm of [true, false]) {
      setWasmScanning(wasm);
      try {
        const state = newTraceFileState('t.jsonl', new StringPool());
        // 300 distinct tag keys (the key cache grows past its first size) and trace ids compared line to line.
        const text = Array.from({ length: 600 }, (_, k) => JSON.stringify({ ts: '2026-11-22T10:00:00Z', trace_id: `t${k >> 1}`, model: 'gpt-4o', input_tokens: k + 1, output_tokens: 1, metadata: { feature: `f${k % 7}`, [`key_${k % 300}`]: 'v' } })).join('\n') + '\n';
        // (Scanned in a function of its own: a register of this suspended async function would hold them otherwise.)
        const scan = () => {
          const bytes = new TextEncoder().encode(text);
          return { ref: new WeakRef(bytes.buffer), r: fastScanBytes(state.table, state.ctx, bytes, { offset: 0, line: 1 }, { file: 't.jsonl', final: true, prices: new PriceBook() }) };
        };
        const { ref, r } = scan();
        assert.equal(state.table.length, 600);
        assert.equal(r.slowLines, 0, 'read by the fast path');
        const again = load(new TextEncoder().encode(text), false);
        assert.deepEqual([...state.table.inputTokens.subarray(0, 600)], [...again.table.inputTokens.subarray(0, 600)]);
        assert.deepEqual([...state.table.tags.keys()].sort(), [...again.table.tags.keys()].sort());
        // (A deref keeps its target alive to the end of the job: each collection runs in a job of its own.)
        let held = true;
        for (let i = 0; i < 10 && held; i++) {
          await new Promise((res) => setTimeout(res, 5));
          gc();
          await new Promise((res) => setTimeout(res, 5));
          held = ref.deref() !== undefined;
        }
        assert.ok(!held, `the scanned bytes are still held (${wasm ? 'WebAssembly' : 'JavaScript'})`);
      } finally {
        setWasmScanning(true);
      }
    }
  });
});

describe('fastScan: prices', function () {
  this.timeout(60000);

  it('prices rows in the WebAssembly loop, which asks for the prices of each (model, provider) pair once', () => {
    setWasmScanning(true);
    // Flat, tiered, by start date (calls before and after claude-opus-4-6's and o3's change), and unknown.
    const models = ['claude-haiku-4-5', 'gpt-4o', 'claude-sonnet-4-5', 'claude-opus-4-6', 'o3', 'unknown-model'];
    const lines = models.flatMap((model, m) =>
      Array.from({ length: 50 }, (_, k) => `{"ts":"202${5 + (k % 2)}-0${1 + (k % 9)}-13T10:00:${String(k).padStart(2, '0')}Z","model":"${model}","input_tokens":${(k + 1) * 7919 * (m + 1)},"output_tokens":${k}}`),
    );
    const prices = new PriceBook();
    const resolve = prices.resolve.bind(prices);
    const asked: string[] = [];
    prices.resolve = (model, provider) => {
      asked.push(`${model}/${provider}`);
      return resolve(model, provider);
    };
    const state = newTraceFileState('t.jsonl', new StringPool());
    const r = fastScanBytes(state.table, state.ctx, new TextEncoder().encode(lines.join('\n') + '\n'), { offset: 0, line: 1 }, { file: 't.jsonl', final: true, prices });
    assert.equal(r.wasmLines, 300);
    assert.equal(r.wasmPriced, 300, 'every row priced (or found unpriced) by the loop, dated prices too');
    assert.deepEqual(asked, models.map((m) => `${m}/undefined`), 'one question per pair');
    const slow = load(new TextEncoder().encode(lines.join('\n') + '\n'), false);
    for (let i = 0; i < 300; i++) assert.ok(Object.is(state.table.computedUsd[i], slow.table.computedUsd[i]) && Object.is(state.table.noCacheUsd[i], slow.table.noCacheUsd[i]), `row ${i}`);
    // The calls' times fall on both sides of each dated model's change (else the test would not choose between tables).
    for (const m of ['claude-opus-4-6', 'o3']) {
      const tables = new Set(Array.from({ length: 50 }, (_, k) => tableAt(resolve(m)!, state.table.tsMs[models.indexOf(m) * 50 + k])));
      assert.equal(tables.size, 2, `${m}: both dated tables met`);
    }
  });

  it('prices in JavaScript the rows of pairs it has no room for (more priced models than its table holds), as the slow path', () => {
    setWasmScanning(true);
    const overrides = new Map(Array.from({ length: 300 }, (_, k) => [`m${k}`, { input: 0.1 + k / 1000, output: 0.3 + k / 500 }]));
    const lines = Array.from({ length: 900 }, (_, k) => `{"model":"m${(k * 7) % 300}","input_tokens":${1000 + k},"output_tokens":${k}}`);
    const bytes = new TextEncoder().encode(lines.join('\n') + '\n');
    const fast = load(bytes, true, { prices: new PriceBook(overrides) });
    assertSameState(fast, load(bytes, false, { prices: new PriceBook(overrides) }), 'many priced models');
    assert.ok(Array.from(fast.table.computedUsd.subarray(0, 900)).every((c) => c > 0));
  });

  it('prices each (model, provider) pair apart however large the pool ids grow (no key arithmetic past 2^21)', () => {
    const pool = () => {
      const p = new StringPool();
      p.id('gpt-4o');
      p.id('claude-haiku-4-5');
      p.id('anthropic');
      while (p.values.length < (1 << 21) + 3) p.id(`filler${p.values.length}`);
      p.id('openai'); // id 2^21 + 3: (1, 2^21 + 3) and (2, 3) met the same arithmetic key before
      return p;
    };
    const bytes = new TextEncoder().encode('{"model":"gpt-4o","provider":"openai","input_tokens":1000000,"output_tokens":0}\n{"model":"claude-haiku-4-5","provider":"anthropic","input_tokens":1000000,"output_tokens":0}\n');
    const costs = (fast: boolean, wasm: boolean) => {
      setWasmScanning(wasm);
      const state = newTraceFileState('t.jsonl', pool());
      ingestBytes(state, bytes, true, new PriceBook(), { fast });
      return Array.from(state.table.computedUsd.subarray(0, state.table.length));
    };
    try {
      const slow = costs(false, true);
      assert.notEqual(slow[0], slow[1]);
      assert.deepEqual(costs(true, true), slow);
      assert.deepEqual(costs(true, false), slow);
    } finally {
      setWasmScanning(true);
    }
  });
});

describe('fastScanWasm: the engine', () => {
  it('is null for a configuration the module cannot take, without turning WebAssembly off for the thread', () => {
    const cfg = { fields: 10_000, groups: Array.from({ length: 16 }, () => new Int32Array(0)), maxTokens: 1e8, maxCostUsd: 1e5, metaModelField: 0, metaProviderField: 0, errorFlag: 1 };
    assert.equal(WasmEngine.create(() => undefined, cfg), null);
    assert.notEqual(WasmEngine.create(() => undefined, { ...cfg, fields: 4 }), null);
    setWasmScanning(true);
    assert.equal(wasmScanning(), true);
  });
});
