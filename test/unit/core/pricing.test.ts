import * as assert from 'node:assert/strict';
import { calcPrice, waitForUpdate } from '@pydantic/genai-prices';
import { catalogueProviders } from '../../../src/core/catalogue';
import { StringPool } from '../../../src/core/callTable';
import { costAtRates, costOfTokens, flatRates, parsePriceOverrides, PriceBook, type PriceTable, serviceTierMultiplier } from '../../../src/core/pricing';
import { ingestBytes, newTraceFileState } from '../../../src/core/traceFile';
import { assertUsd, loadText } from '../helpers';
import type { TokenCounts } from '../../../src/core/types';

const tok = (p: Partial<TokenCounts>): TokenCounts => ({
  inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, cacheWrite1hTokens: 0, reasoningTokens: 0, ...p,
});
const close = (a: number, b: number, msg?: string) => assert.ok(Math.abs(a - b) <= 1e-12 + 1e-9 * Math.abs(b), `${msg ?? ''} ${a} != ${b}`);
const T = Date.parse('2026-01-15T12:00:00Z');

describe('PriceBook', () => {
  const book = new PriceBook();

  it('prices Claude Sonnet 4.5 by hand: $3 in, $15 out, $0.30 cache read, $3.75 5m write, $6 1h write per Mtok', () => {
    const c = book.price('claude-sonnet-4-5', 'anthropic', tok({ inputTokens: 1000, outputTokens: 500, cacheReadTokens: 10_000, cacheWriteTokens: 3000, cacheWrite1hTokens: 1000 }), T)!;
    // 1000*3 + 500*15 + 10000*0.3 + 2000*3.75 + 1000*6 = 3000 + 7500 + 3000 + 7500 + 6000 = 27000 µ$
    close(c.costUsd, 0.027);
    // Without cache: 14000 input at $3 + 500 out at $15 = 42000 + 7500 µ$
    close(c.costWithoutCacheUsd, 0.0495);
  });

  it('bills a 1-hour cache write more than a 5-minute one', () => {
    const five = book.price('claude-sonnet-4-5', 'anthropic', tok({ cacheWriteTokens: 10_000 }), T)!.costUsd;
    const hour = book.price('claude-sonnet-4-5', 'anthropic', tok({ cacheWriteTokens: 10_000, cacheWrite1hTokens: 10_000 }), T)!.costUsd;
    close(five, 0.0375);
    close(hour, 0.06);
  });

  it('applies the >200k tier to the whole call, by its total input including cache', () => {
    // 150k cached + 60k uncached = 210k input: every token of this call at the higher tier ($6 in, $22.50 out, $0.60 read).
    const c = book.price('claude-sonnet-4-5', 'anthropic', tok({ inputTokens: 60_000, cacheReadTokens: 150_000, outputTokens: 1000 }), T)!;
    close(c.costUsd, (60_000 * 6 + 150_000 * 0.6 + 1000 * 22.5) / 1e6);
    const under = book.price('claude-sonnet-4-5', 'anthropic', tok({ inputTokens: 50_000, cacheReadTokens: 150_000, outputTokens: 1000 }), T)!;
    close(under.costUsd, (50_000 * 3 + 150_000 * 0.3 + 1000 * 15) / 1e6);
  });

  it('bills cache writes as input for a model without a cache-write rate (gpt-4o)', () => {
    const c = book.price('gpt-4o', 'openai', tok({ inputTokens: 1000, cacheReadTokens: 2000, cacheWriteTokens: 500, outputTokens: 100 }), T)!;
    close(c.costUsd, (1500 * 2.5 + 2000 * 1.25 + 100 * 10) / 1e6);
  });

  it('resolves dated and provider-prefixed ids', () => {
    assert.equal(book.resolve('claude-sonnet-4-5-20250929')?.modelId, 'claude-sonnet-4-5');
    assert.equal(book.resolve('gpt-4o-2024-08-06')?.modelId, 'gpt-4o');
    assert.equal(book.resolve('openai/gpt-4o-mini')?.modelId, 'gpt-4o-mini');
    assert.equal(book.resolve('anthropic/claude-haiku-4-5')?.providerId, 'anthropic');
    assert.equal(book.resolve('llama-3.1-8b-instant', 'groq')?.providerId, 'groq');
    assert.equal(book.resolve('gemini-2.5-flash', 'gcp.gemini')?.providerId, 'google');
  });

  it('reports an unknown model as unpriced (undefined), never as $0', () => {
    assert.equal(book.price('acme-internal-llm-v1', undefined, tok({ inputTokens: 100 }), T), undefined);
    assert.equal(book.price(undefined, undefined, tok({ inputTokens: 100 }), T), undefined);
  });

  it('uses the price in force at the call time (o3 before and after its 2025-06-10 price cut)', () => {
    const t = tok({ inputTokens: 1_000_000 });
    close(book.price('o3', 'openai', t, Date.parse('2025-05-01T00:00:00Z'))!.costUsd, 10);
    close(book.price('o3', 'openai', t, Date.parse('2025-07-01T00:00:00Z'))!.costUsd, 2);
  });

  it('agrees with genai-prices calcPrice on 2,000 random calls across models, tiers, caches and times', () => {
    const models: [string, string][] = [
      ['claude-sonnet-4-5', 'anthropic'], ['claude-sonnet-4-6', 'anthropic'], ['claude-opus-4-1', 'anthropic'], ['claude-haiku-4-5', 'anthropic'],
      ['gpt-4o', 'openai'], ['gpt-4o-mini', 'openai'], ['o3', 'openai'], ['gpt-4.1-mini', 'openai'], ['gemini-2.5-pro', 'google'],
      ['gemini-2.5-flash', 'google'], ['deepseek-chat', 'deepseek'], ['llama-3.1-8b-instant', 'groq'],
    ];
    let seed = 42;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const int = (max: number) => Math.floor(rnd() * max);
    for (let k = 0; k < 2000; k++) {
      const [model, provider] = models[k % models.length];
      const cw = int(3) === 0 ? 0 : int(120_000);
      const t = tok({ inputTokens: int(150_000), cacheReadTokens: int(2) ? int(200_000) : 0, cacheWriteTokens: cw, cacheWrite1hTokens: int(2) ? int(cw + 1) : 0, outputTokens: int(20_000) });
      const ts = Date.parse('2025-01-01T00:00:00Z') + int(600) * 86_400_000 + int(86_400_000);
      const ours = book.price(model, provider, t, ts)!;
      const ref = calcPrice(
        { input_tokens: t.inputTokens + t.cacheReadTokens + t.cacheWriteTokens, cache_read_tokens: t.cacheReadTokens, cache_write_tokens: t.cacheWriteTokens, cache_write_1h_tokens: t.cacheWrite1hTokens, output_tokens: t.outputTokens },
        model,
        { providerId: provider, timestamp: new Date(ts) },
      )!;
      close(ours.costUsd, ref.total_price, `${model} ${JSON.stringify(t)} at ${new Date(ts).toISOString()}`);
    }
  });

  it('tells its listeners of each model resolved the first time, and lists what it resolved, in order (resolvedPrices)', () => {
    const b = new PriceBook();
    const seen: string[] = [];
    const stopA = b.onResolved(() => seen.push(`a${b.resolvedCount}`));
    const stopB = b.onResolved(() => seen.push(`b${b.resolvedCount}`));
    b.resolve('gpt-4o', 'openai');
    b.resolve('gpt-4o', 'openai');
    b.resolve('acme-internal-llm-v1', undefined);
    assert.deepEqual(seen, ['a1', 'b1', 'a2', 'b2'], 'once per model, unpriced ones too');
    stopA();
    b.resolve('claude-sonnet-4-5', 'anthropic');
    assert.deepEqual(seen.slice(4), ['b3']);
    stopB();
    stopB();
    b.resolve('o3', 'openai');
    assert.equal(seen.length, 5);
    assert.equal(b.resolvedListeners, 0);
    const all = b.resolvedPrices();
    assert.deepEqual(all.map(([k]) => k), ['openai\u0000gpt-4o', '\u0000acme-internal-llm-v1', 'anthropic\u0000claude-sonnet-4-5', 'openai\u0000o3']);
    assert.equal(all[1][1], null);
    assert.deepEqual(all[0][1], b.resolve('gpt-4o', 'openai'));
    assert.deepEqual(b.resolvedPrices(2), all.slice(2));
    assert.deepEqual(b.resolvedPrices(1, 3), all.slice(1, 3));
    // A book that asks another takes its answer (undefined: it looks the model up itself).
    const asked: string[] = [];
    const fake = { ...all[0][1]!, modelId: 'from-the-other-book' };
    const c = new PriceBook(new Map(), (m, p) => (asked.push(`${p}/${m}`), m === 'gpt-4o' ? fake : m === 'nope' ? null : undefined));
    assert.equal(c.resolve('gpt-4o', 'openai')?.modelId, 'from-the-other-book');
    assert.equal(c.resolve('nope', 'openai'), undefined);
    assert.equal(c.resolve('o3', 'openai')?.modelId, 'o3');
    c.resolve('gpt-4o', 'openai');
    assert.deepEqual(asked, ['openai/gpt-4o', 'openai/nope', 'openai/o3'], 'asked once per model');
  });
});

describe('models the catalogue prices in other units than tokens', () => {
  it('are unpriced (whisper, gpt-transcribe, voxtral per audio hour; mistral-ocr per page), with the reason, never $0', () => {
    const book = new PriceBook();
    const audio = ['whisper-1/openai', 'gpt-transcribe/openai', 'whisper-large-v3/groq', 'whisper-large-v3-turbo/groq', 'voxtral-mini-2602/mistral', 'whisper-1/'];
    for (const mp of audio) {
      const [m, p] = mp.split('/');
      assert.equal(book.price(m, p || undefined, tok({ inputTokens: 50_000 }), T), undefined, mp);
      assert.equal(book.unpricedReason(m, p || undefined), 'priced per audio hour in the catalogue, not per token', mp);
    }
    for (const m of ['mistral-ocr-latest', 'mistral-ocr-2505']) {
      assert.equal(book.price(m, 'mistral', tok({ inputTokens: 50_000 }), T), undefined, m);
      assert.equal(book.unpricedReason(m, 'mistral'), 'priced per page in the catalogue, not per token');
    }
    assert.equal(book.unpricedReason('gpt-4o', 'openai'), undefined);
  });

  it('are unpriced on the fast path as on the exact one (the review\'s audio.jsonl)', () => {
    const lines = [
      '{"model":"whisper-1","provider":"openai","input_tokens":50000,"output_tokens":0,"feature":"transcribe"}',
      '{"model":"mistral-ocr-latest","provider":"mistral","input_tokens":50000,"output_tokens":0,"feature":"ocr"}',
      '{"model":"gpt-4o","provider":"openai","input_tokens":1000,"output_tokens":0}',
    ].join('\n') + '\n';
    for (const fast of [false, true]) {
      const st = newTraceFileState('t.jsonl', new StringPool());
      ingestBytes(st, new TextEncoder().encode(lines), true, new PriceBook(), { fast });
      assert.equal(st.table.length, 3);
      assert.ok(Number.isNaN(st.table.computedUsd[0]), `whisper-1, fast ${fast}`);
      assert.ok(Number.isNaN(st.table.computedUsd[1]), `mistral-ocr-latest, fast ${fast}`);
      assertUsd(st.table.computedUsd[2], 0.0025);
    }
  });

  it('leave a model the catalogue marks free with an empty price ({}) priced at $0', () => {
    const c = new PriceBook().price('mai-ds-r1:free', 'azure', tok({ inputTokens: 50_000, outputTokens: 1000 }), T);
    assert.ok(c);
    assert.equal(c.costUsd, 0);
  });
});

describe('models without a provider the catalogue\'s matching finds', () => {
  it('are priced when every provider that has the model prices it alike (text-embedding-3-small, llama-3.1-8b-instant)', () => {
    const book = new PriceBook();
    close(book.price('text-embedding-3-small', undefined, tok({ inputTokens: 1e6 }), T)!.costUsd, 0.02);
    assert.equal(book.resolve('text-embedding-3-small')?.providerId, 'azure|openai', 'two providers: no service-tier discount of either');
    close(book.price('llama-3.1-8b-instant', undefined, tok({ inputTokens: 1e6, outputTokens: 1e6 }), T)!.costUsd, 0.05 + 0.08);
    assert.equal(book.resolve('llama-3.1-8b-instant')?.providerId, 'groq');
    // A provider that does not have it (an OpenAI client pointed at Groq): the one that does.
    close(book.price('llama-3.1-8b-instant', 'openai', tok({ inputTokens: 1e6, outputTokens: 1e6 }), T)!.costUsd, 0.05 + 0.08);
  });

  it('stay unpriced when providers price them differently, or when the only match is a free ({}) entry', () => {
    const book = new PriceBook();
    assert.equal(book.resolve('davinci'), undefined, 'azure $2, openai $20 per Mtok');
    assert.equal(book.resolve('regional.anthropic.claude-3-haiku-20240307-v1:0'), undefined, 'aws and google (cache rates) differ');
    assert.equal(book.resolve('gemma-3-27b-it'), undefined, 'only google\'s free gemma-3: a guess that would cost $0');
    assert.ok(book.resolve('gemma-3-27b-it', 'google'), 'with its provider, the catalogue\'s free price');
    assert.equal(book.resolve('acme-internal-llm-v1'), undefined);
  });

  it('are priced alike on the fast path and the exact one', () => {
    const lines = '{"model":"text-embedding-3-small","input_tokens":1000000,"output_tokens":0}\n{"model":"llama-3.1-8b-instant","input_tokens":1000000,"output_tokens":1000000,"service_tier":"batch"}\n{"model":"davinci","input_tokens":10,"output_tokens":10}\n';
    for (const fast of [false, true]) {
      const st = newTraceFileState('t.jsonl', new StringPool());
      ingestBytes(st, new TextEncoder().encode(lines), true, new PriceBook(), { fast });
      assertUsd(st.table.computedUsd[0], 0.02);
      assertUsd(st.table.computedUsd[1], (0.05 + 0.08) / 2, 'Groq\'s batch discount');
      assert.ok(Number.isNaN(st.table.computedUsd[2]), `fast ${fast}`);
    }
  });

  it('are looked for among every provider of the catalogue', async () => {
    const providers = (await waitForUpdate()) ?? [];
    assert.deepEqual(catalogueProviders().map((p) => p.id), providers.map((p) => p.id));
  });
});

describe('price overrides', () => {
  it('win over the bundled catalogue and match without regard to case or provider prefix', () => {
    const { overrides, problems } = parsePriceOverrides('{"GPT-4o": {"input": 1, "output": 2, "cacheRead": 0.5}, "my-model": {"input": 3, "output": 15, "cacheRead": 0.3, "cacheWrite": 3.75}}');
    assert.deepEqual(problems, []);
    const book = new PriceBook(overrides);
    close(book.price('gpt-4o', 'openai', tok({ inputTokens: 1e6, outputTokens: 1e6, cacheReadTokens: 1e6 }), T)!.costUsd, 3.5);
    close(book.price('azure/my-model', undefined, tok({ inputTokens: 1e6, cacheWriteTokens: 1e6 }), T)!.costUsd, 6.75);
    assert.equal(book.resolve('my-model')?.source, 'override');
  });

  it('match a provider-prefixed key for a call of that provider or without one, through the path the CLI uses', () => {
    // The user report: {"openai/gpt-4o-2024-08-06": $100/M} was ignored and the catalogue price used instead.
    const { overrides, problems } = parsePriceOverrides('{"openai/gpt-4o-2024-08-06": {"input": 100, "output": 100}}');
    assert.deepEqual(problems, []);
    const lines = [
      JSON.stringify({ provider: 'openai', model: 'gpt-4o-2024-08-06', input_tokens: 10, output_tokens: 5 }),
      JSON.stringify({ model: 'gpt-4o-2024-08-06', usage: { prompt_tokens: 10, completion_tokens: 5 } }), // raw OpenAI usage, no provider
      JSON.stringify({ provider: 'azure', model: 'gpt-4o-2024-08-06', input_tokens: 10, output_tokens: 5 }), // another provider: catalogue
    ].join('\n') + '\n';
    for (const fast of [false, true]) {
      const st = newTraceFileState('t.jsonl', new StringPool());
      ingestBytes(st, new TextEncoder().encode(lines), true, new PriceBook(overrides), { fast });
      assert.equal(st.table.length, 3);
      assertUsd(st.table.computedUsd[0], 0.0015);
      assertUsd(st.table.computedUsd[1], 0.0015);
      assertUsd(st.table.computedUsd[2], (10 * 2.5 + 5 * 10) / 1e6);
    }
  });

  it('apply a prefixed key only to its own provider (after aliases), and prefer it over a bare key', () => {
    const { overrides } = parsePriceOverrides(JSON.stringify({
      'Azure/GPT-4o': { input: 7, output: 7 },
      'gpt-4o': { input: 1, output: 1 },
      'OpenAI/gpt-4o': { input: 2, output: 2 },
      'acme/house-model': { input: 5, output: 5 },
      'gemini/gemini-2.5-flash': { input: 9, output: 9 },
    }));
    const book = new PriceBook(overrides);
    const perM = (model: string, provider?: string) => book.price(model, provider, tok({ inputTokens: 1e6 }), T)?.costUsd;
    close(perM('gpt-4o', 'openai')!, 2, 'same-provider prefixed key wins over the bare key');
    close(perM('GPT-4o', 'azure')!, 7);
    close(perM('gpt-4o', 'az.ai.openai')!, 7, 'provider aliases');
    close(perM('gpt-4o', 'groq')!, 1, 'another provider: the bare key');
    close(perM('gpt-4o')!, 2, 'no provider: the key of the provider the catalogue knows the model by');
    close(perM('azure/gpt-4o')!, 7, 'the prefix of the model id is its provider');
    close(perM('openai/gpt-4o', 'openrouter')!, 2, 'the model id as recorded');
    close(perM('house-model')!, 5, 'no provider: any prefixed key');
    assert.equal(book.resolve('house-model', 'openai'), undefined, 'never another provider\'s prefixed key');
    close(perM('gemini-2.5-flash', 'google')!, 9);
    close(perM('gemini-2.5-flash', 'vertex_ai')!, 9);

    const only = new PriceBook(parsePriceOverrides('{"azure/gpt-4o": {"input": 7, "output": 7}}').overrides);
    close(only.price('gpt-4o', 'openai', tok({ inputTokens: 1e6 }), T)!.costUsd, 2.5, 'azure/gpt-4o must not price an openai call');
    assert.equal(only.resolve('gpt-4o', 'openai')?.source, 'bundled');
    close(only.price('gpt-4o', undefined, tok({ inputTokens: 1e6 }), T)!.costUsd, 7, 'no provider: the only prefixed key');
  });

  it('price a dated id with the override of the undated model the catalogue resolves it to; the exact dated key wins', () => {
    const { overrides } = parsePriceOverrides(JSON.stringify({ 'gpt-4o': { input: 1, output: 1 }, 'openai/gpt-4o-2024-11-20': { input: 3, output: 3 } }));
    const book = new PriceBook(overrides);
    const perM = (model: string, provider?: string) => book.price(model, provider, tok({ inputTokens: 1e6 }), T)!.costUsd;
    close(perM('gpt-4o-2024-08-06', 'openai'), 1); // the catalogue knows it as gpt-4o
    close(perM('gpt-4o-2024-08-06'), 1);
    close(perM('gpt-4o-2024-11-20', 'openai'), 3);
    close(perM('gpt-4o-2024-05-13', 'openai'), 5, 'a snapshot the catalogue prices apart keeps its catalogue price');
  });

  it('reports bad entries with their key and keeps the good ones', () => {
    const r = parsePriceOverrides('{"a": {"input": -1, "output": 2}, "b": "cheap", "c": {"cacheRead": 1}, "d": {"input": 1, "output": 1}}');
    assert.deepEqual([...r.overrides.keys()], ['d']);
    assert.equal(r.problems.length, 3);
    assert.match(r.problems[0], /"a"\.input/);
    assert.match(parsePriceOverrides('{nope').problems[0], /not valid JSON/);
  });

  it('merge a partial override with the catalogue\'s rates of the model, field by field, on both paths (the review\'s gpt-4o)', () => {
    // {"gpt-4o": {"input": 2}}: output stays $10, cache reads $1.25 (not free, not billed as input).
    const line = '{"model":"MODEL","usage":{"prompt_tokens":10000,"completion_tokens":1000,"prompt_tokens_details":{"cached_tokens":8000}},"metadata":{"feature":"x"}}\n';
    const cost = (2000 * 2 + 8000 * 1.25 + 1000 * 10) / 1e6; // $0.024
    const noCache = (10_000 * 2 + 1000 * 10) / 1e6;
    for (const [key, model] of [['gpt-4o', 'gpt-4o'], ['OpenAI/GPT-4o', 'gpt-4o'], ['gpt-4o', 'gpt-4o-2024-08-06'], ['gpt-4o', 'openai/gpt-4o']]) {
      const { overrides, problems } = parsePriceOverrides(JSON.stringify({ [key]: { input: 2.0 } }));
      assert.deepEqual(problems, [], key);
      for (const fast of [false, true]) {
        const st = newTraceFileState('t.jsonl', new StringPool());
        ingestBytes(st, new TextEncoder().encode(line.replace('MODEL', model)), true, new PriceBook(overrides), { fast });
        assertUsd(st.table.computedUsd[0], cost);
        assertUsd(st.table.noCacheUsd[0], noCache);
      }
    }
    // An override of cache rates alone is enough for a model the catalogue prices.
    const r = parsePriceOverrides('{"gpt-4o": {"cacheRead": 0.5}}');
    assert.deepEqual(r.problems, []);
    close(new PriceBook(r.overrides).price('gpt-4o', 'openai', tok({ inputTokens: 1e6, cacheReadTokens: 1e6, outputTokens: 1e6 }), T)!.costUsd, 2.5 + 0.5 + 10);
  });

  it('replace a whole rate of the kind they give, tiers included, in each of the catalogue\'s dated tables; keep the others', () => {
    // claude-sonnet-4-6: tiered until 2026-03-13 ($3/$6 input, $15/$22.50 output, $0.30/$0.60 read above 200k), flat after.
    const book = new PriceBook(parsePriceOverrides('{"claude-sonnet-4-6": {"output": 20}}').overrides);
    const big = tok({ inputTokens: 10_000, cacheReadTokens: 200_000, outputTokens: 1e6 });
    close(book.price('claude-sonnet-4-6', 'anthropic', big, Date.parse('2026-01-15T00:00:00Z'))!.costUsd, (10_000 * 6 + 200_000 * 0.6 + 1e6 * 20) / 1e6);
    close(book.price('claude-sonnet-4-6', 'anthropic', big, Date.parse('2026-04-01T00:00:00Z'))!.costUsd, (10_000 * 3 + 200_000 * 0.3 + 1e6 * 20) / 1e6);
    // A tiered override input: its own tiers; the catalogue's cache-read tiers are kept.
    const tiered = new PriceBook(parsePriceOverrides('{"anthropic/claude-sonnet-4-5": {"input": {"base": 1, "tiers": [{"start": 100000, "price": 2}]}}}').overrides);
    close(tiered.price('claude-sonnet-4-5', 'anthropic', tok({ inputTokens: 150_000, outputTokens: 1000 }), T)!.costUsd, (150_000 * 2 + 1000 * 15) / 1e6);
    close(tiered.price('claude-sonnet-4-5', undefined, tok({ inputTokens: 10_000, cacheReadTokens: 200_000 }), T)!.costUsd, (10_000 * 2 + 200_000 * 0.6) / 1e6);
  });

  it('warn when a model neither the override nor the catalogue prices lacks an input or output rate (billed at $0)', () => {
    const r = parsePriceOverrides('{"acme-x": {"output": 2}, "acme-y": {"input": 0, "output": 2}, "whisper-1": {"input": 1}, "acme-z": {"cacheRead": 1}}');
    assert.deepEqual(r.problems, [
      '"acme-x": no "input" price here or in the catalogue: its input tokens cost $0 (write "input": 0 if they are free)',
      '"whisper-1": no "output" price here or in the catalogue: its output tokens cost $0 (write "output": 0 if they are free)',
      '"acme-z": needs at least "input" or "output" (the catalogue has no token price for this model)',
    ]);
    assert.deepEqual([...r.overrides.keys()], ['acme-x', 'acme-y', 'whisper-1']);
    const book = new PriceBook(r.overrides);
    close(book.price('acme-x', undefined, tok({ inputTokens: 1e6, outputTokens: 1e6 }), T)!.costUsd, 2);
    close(book.price('whisper-1', 'openai', tok({ inputTokens: 1e6 }), T)!.costUsd, 1, 'an override prices a model the catalogue prices per audio hour');
    // A model the catalogue does not know: cache reads and writes without a rate of their own are billed as input.
    close(book.price('acme-y', undefined, tok({ inputTokens: 0, cacheReadTokens: 1e6, outputTokens: 0 }), T)!.costUsd, 0);
    close(new PriceBook(parsePriceOverrides('{"acme-w": {"input": 1, "output": 2}}').overrides).price('acme-w', undefined, tok({ cacheReadTokens: 1e6, cacheWriteTokens: 1e6 }), T)!.costUsd, 2);
  });

  it('report a bad value once', () => {
    assert.deepEqual(parsePriceOverrides('{"bad": {"input": -1}}').problems, ['"bad".input: expected a non-negative number (USD per million tokens)']);
  });

  it('accepts tiered override rates', () => {
    const r = parsePriceOverrides('{"m": {"input": {"base": 1, "tiers": [{"start": 100, "price": 2}]}, "output": 1}}');
    const table = r.overrides.get('m')!;
    close(costOfTokens(table, tok({ inputTokens: 100 })).costUsd, 100 / 1e6);
    close(costOfTokens(table, tok({ inputTokens: 101 })).costUsd, 202 / 1e6);
  });
});

describe('service tiers and reasoning rates', () => {
  it('bills Batch API results at half price, cache rates included (OpenAI and Anthropic batch files)', () => {
    const prices = new PriceBook();
    const openai = JSON.stringify({ id: 'batch_req_1', custom_id: 'r1', response: { status_code: 200, body: { model: 'gpt-4o', usage: { prompt_tokens: 3000, completion_tokens: 420, prompt_tokens_details: { cached_tokens: 1024 } } } } });
    const anthropic = JSON.stringify({ custom_id: 'r2', result: { type: 'succeeded', message: { model: 'claude-sonnet-4-5', usage: { input_tokens: 1200, output_tokens: 350, cache_read_input_tokens: 8000, cache_creation_input_tokens: 2000 } } } });
    const st = loadText(`${openai}\n${anthropic}\n`, 'batch.jsonl', prices);
    assert.equal(st.table.length, 2);
    assertUsd(st.table.computedUsd[0], (0.5 * (1976 * 2.5 + 1024 * 1.25 + 420 * 10)) / 1e6);
    assertUsd(st.table.computedUsd[1], (0.5 * (1200 * 3 + 8000 * 0.3 + 2000 * 3.75 + 350 * 15)) / 1e6);
    assertUsd(st.table.noCacheUsd[0], (0.5 * (3000 * 2.5 + 420 * 10)) / 1e6);
  });

  it('applies the tier a record or response reports: flex at half price for OpenAI, priority and default at the standard price', () => {
    const line = (tier: string) => JSON.stringify({ model: 'gpt-4o', provider: 'openai', input_tokens: 1000, output_tokens: 100, service_tier: tier });
    const std = (1000 * 2.5 + 100 * 10) / 1e6;
    for (const fast of [false, true]) {
      const st = newTraceFileState('t.jsonl', new StringPool());
      ingestBytes(st, new TextEncoder().encode(['flex', 'priority', 'default', 'batch'].map(line).join('\n') + '\n'), true, new PriceBook(), { fast });
      assert.deepEqual([...st.table.computedUsd.subarray(0, 4)].map((c) => Math.round(c * 1e9)), [std / 2, std, std, std / 2].map((c) => Math.round(c * 1e9)), `fast=${fast}`);
    }
    assert.equal(serviceTierMultiplier('anthropic', 'flex'), 1, 'Anthropic has no flex tier');
    // Without a provider field the discount is that of the provider the price book resolves for the model.
    const noProvider = [
      JSON.stringify({ model: 'gpt-4o', input_tokens: 1000, output_tokens: 100, service_tier: 'flex' }),
      JSON.stringify({ response: { model: 'gpt-4o', service_tier: 'flex', usage: { prompt_tokens: 1000, completion_tokens: 100 } } }),
      JSON.stringify({ model: 'claude-sonnet-4-5', usage: { input_tokens: 1000, output_tokens: 100, service_tier: 'batch' } }),
    ].join('\n') + '\n';
    for (const fast of [false, true]) {
      const st = newTraceFileState('t.jsonl', new StringPool());
      ingestBytes(st, new TextEncoder().encode(noProvider), true, new PriceBook(), { fast });
      assert.deepEqual([...st.table.computedUsd.subarray(0, 3)].map((c) => Math.round(c * 1e9)), [std / 2, std / 2, (1000 * 3 + 100 * 15) / 2e6].map((c) => Math.round(c * 1e9)), `no provider, fast=${fast}`);
    }
    assert.equal(serviceTierMultiplier('some-new-provider', 'batch'), 1, 'unknown providers: the standard price, never a guess');
  });

  it('bills reasoning tokens at the model\'s reasoning rate where it has one (sonar-deep-research), as the catalogue does', () => {
    const prices = new PriceBook();
    const tokens = { inputTokens: 1_000_000, outputTokens: 1_000_000, reasoningTokens: 500_000, cacheReadTokens: 0, cacheWriteTokens: 0, cacheWrite1hTokens: 0 };
    const c = prices.price('sonar-deep-research', 'perplexity', tokens, Date.UTC(2026, 0, 1));
    assert.ok(c);
    // input 1M × $2 + (1M − 0.5M reasoning) × $8 + 0.5M × $3 reasoning
    assertUsd(c.costUsd, 2 + 4 + 1.5);
    const ref = calcPrice({ input_tokens: 1_000_000, output_tokens: 1_000_000, output_reasoning_tokens: 500_000 } as Parameters<typeof calcPrice>[0], 'sonar-deep-research', { providerId: 'perplexity' });
    assert.ok(ref);
    assertUsd(c.costUsd, Number(ref.total_price));
    // A model without a reasoning rate bills reasoning as output (o3: 2,500 out of which 1,800 reasoning = 2,500 × $8).
    const o3 = prices.price('o3', 'openai', { ...tokens, inputTokens: 5000, outputTokens: 2500, reasoningTokens: 1800 }, Date.UTC(2026, 0, 1));
    assertUsd(o3!.costUsd, (5000 * 2 + 2500 * 8) / 1e6);
  });

  it('reads a reasoning rate from the prices file', () => {
    const { overrides, problems } = parsePriceOverrides(JSON.stringify({ 'my-model': { input: 1, output: 4, reasoning: 2 } }));
    assert.deepEqual(problems, []);
    const c = new PriceBook(overrides).price('my-model', undefined, { inputTokens: 0, outputTokens: 1_000_000, reasoningTokens: 250_000, cacheReadTokens: 0, cacheWriteTokens: 0, cacheWrite1hTokens: 0 }, NaN);
    assertUsd(c!.costUsd, 0.75 * 4 + 0.25 * 2);
  });
});

/** The cost formula as it was before rates were resolved apart (a reference written out on its own). */
function referenceCost(table: PriceTable, input: number, output: number, cacheRead: number, cacheWrite: number, cacheWrite1h: number, reasoningTokens: number): [number, number] {
  const rateAt = (rate: PriceTable['input'], total: number): number => {
    if (rate === undefined) return 0;
    if (typeof rate === 'number') return rate;
    let price = rate.base;
    for (const t of rate.tiers) if (total > t.start) price = t.price;
    return price;
  };
  const totalInput = input + cacheRead + cacheWrite;
  const w1h = table.cacheWrite1h !== undefined ? cacheWrite1h : 0;
  const w5m = table.cacheWrite !== undefined ? cacheWrite - w1h : 0;
  const read = table.cacheRead !== undefined ? cacheRead : 0;
  const plain = totalInput - read - w5m - w1h;
  const rIn = rateAt(table.input, totalInput);
  const reasoning = table.reasoning !== undefined ? Math.min(reasoningTokens, output) : 0;
  const rOut = rateAt(table.output, totalInput) * (output - reasoning) + rateAt(table.reasoning, totalInput) * reasoning;
  const perRequest = table.perRequestUsd ?? 0;
  return [
    (plain * rIn + read * rateAt(table.cacheRead, totalInput) + w5m * rateAt(table.cacheWrite, totalInput) + w1h * rateAt(table.cacheWrite1h, totalInput) + rOut) / 1e6 + perRequest,
    (totalInput * rIn + rOut) / 1e6 + perRequest,
  ];
}

describe('flat rates (a price table without tiers, resolved once for the fast scanner)', () => {
  it('give exactly the cost of the former formula, and of the table, whichever rates are missing; a tiered table has none', () => {
    let seed = 3;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const maybe = (v: number) => (rnd(3) === 0 ? undefined : v);
    const out = new Float64Array(2);
    for (let k = 0; k < 2000; k++) {
      const table: PriceTable = {
        input: maybe(rnd(1000) / 100), output: maybe(rnd(4000) / 100), cacheRead: maybe(rnd(100) / 100), cacheWrite: maybe(rnd(500) / 100),
        cacheWrite1h: maybe(rnd(800) / 100), reasoning: maybe(rnd(6000) / 100), perRequestUsd: maybe(rnd(10) / 1000),
      };
      const cw = rnd(5000);
      const t: TokenCounts = { inputTokens: rnd(100000), outputTokens: rnd(8000), cacheReadTokens: rnd(50000), cacheWriteTokens: cw, cacheWrite1hTokens: rnd(cw + 1), reasoningTokens: rnd(9000) };
      const want = referenceCost(table, t.inputTokens, t.outputTokens, t.cacheReadTokens, t.cacheWriteTokens, t.cacheWrite1hTokens, t.reasoningTokens);
      costAtRates(flatRates(table)!, t.inputTokens, t.outputTokens, t.cacheReadTokens, t.cacheWriteTokens, t.cacheWrite1hTokens, t.reasoningTokens, out);
      assert.ok(Object.is(out[0], want[0]) && Object.is(out[1], want[1]), JSON.stringify({ table, t, want, got: [...out] }));
      const viaTable = costOfTokens(table, t);
      assert.ok(Object.is(viaTable.costUsd, want[0]) && Object.is(viaTable.costWithoutCacheUsd, want[1]));
      // With tiers, through the table (the rates of the call's tier).
      const tiered: PriceTable = { ...table, input: { base: 1 + rnd(300) / 100, tiers: [{ start: 50000, price: 2 + rnd(300) / 100 }] } };
      const wantTiered = referenceCost(tiered, t.inputTokens, t.outputTokens, t.cacheReadTokens, t.cacheWriteTokens, t.cacheWrite1hTokens, t.reasoningTokens);
      const gotTiered = costOfTokens(tiered, t);
      assert.ok(Object.is(gotTiered.costUsd, wantTiered[0]) && Object.is(gotTiered.costWithoutCacheUsd, wantTiered[1]));
    }
    assert.equal(flatRates({ input: 1, output: { base: 2, tiers: [{ start: 200000, price: 4 }] } }), undefined);
  });

  it('reads a tiered model\'s calls at the tier of each call on the fast path as on the exact one', () => {
    // gemini-2.5-pro: input above 200k tokens costs more; both readers must agree to the bit, each side of the tier.
    const lines = [150000, 250000].map((n) => JSON.stringify({ model: 'gemini-2.5-pro', provider: 'google', input_tokens: n, output_tokens: 1000 }));
    const text = lines.join('\n') + '\n';
    const prices = new PriceBook();
    const fast = newTraceFileState('f.jsonl', new StringPool());
    ingestBytes(fast, new TextEncoder().encode(text), true, prices, { fast: true });
    assert.equal(fast.scanned?.wasmLines, 2, 'read by the WebAssembly loop');
    const exact = newTraceFileState('e.jsonl', new StringPool());
    ingestBytes(exact, new TextEncoder().encode(text), true, prices, { fast: false });
    for (let i = 0; i < 2; i++) assert.ok(Object.is(fast.table.computedUsd[i], exact.table.computedUsd[i]), `row ${i}`);
    assert.ok(fast.table.computedUsd[1] / 250000 > fast.table.computedUsd[0] / 150000, 'the second call is priced at the higher tier');
  });
});
