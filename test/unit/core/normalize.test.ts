import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { select, stats, groupBy } from '../../../src/core/analysis';
import { StringPool } from '../../../src/core/callTable';
import { PriceBook } from '../../../src/core/pricing';
import { FIELD_MAPPING_PATHS, parseFieldMapping } from '../../../src/core/normalize';
import { ingestBytes, newTraceFileState, packState, unpackState } from '../../../src/core/traceFile';
import { assertUsd, fixture, loadFile, normalizeText } from '../helpers';

const tokens = (c: { inputTokens: number; cacheReadTokens: number; cacheWriteTokens: number; cacheWrite1hTokens: number; outputTokens: number; reasoningTokens: number }) => [
  c.inputTokens, c.cacheReadTokens, c.cacheWriteTokens, c.cacheWrite1hTokens, c.outputTokens, c.reasoningTokens,
];

describe('normalizeDocument: each shape', () => {
  it('reads flat records (agent_id, model, input/output tokens, cost, timestamp)', () => {
    const { calls } = normalizeText('{"agent_id":"bot","model":"gpt-4o","input_tokens":100,"output_tokens":20,"cost":0.0123,"timestamp":"2026-11-20T10:00:00Z"}');
    assert.equal(calls.length, 1);
    const c = calls[0];
    assert.equal(c.dims.agent, 'bot');
    assert.equal(c.model, 'gpt-4o');
    assert.deepEqual(tokens(c), [100, 0, 0, 0, 20, 0]);
    assert.equal(c.recordedCostUsd, 0.0123);
    assert.equal(c.tsMs, Date.parse('2026-11-20T10:00:00Z'));
    assert.deepEqual(c.source, { file: 'test.jsonl', line: 1 });
  });

  it('reads metadata and tags objects, cost_usd, estimated_cost_usd, cache fields, error and run_id', () => {
    const { calls } = normalizeText(
      '{"model":"claude-sonnet-4-5","input_tokens":10,"output_tokens":5,"cache_read_tokens":300,"cache_creation_tokens":40,"cost_usd":0.5,"estimated_cost_usd":0.4,"error":"rate_limit","run_id":"run-9","template_version":"v3","metadata":{"feature":"search","user_id":"u1","team":"core"},"tags":{"user_id":"ignored-second","env":"prod"}}',
    );
    const c = calls[0];
    assert.deepEqual(c.dims, { template: 'v3', feature: 'search', user: 'u1' });
    assert.deepEqual(c.tags, { team: 'core', env: 'prod' });
    assert.deepEqual(tokens(c), [10, 300, 40, 0, 5, 0]);
    assert.equal(c.recordedCostUsd, 0.5);
    assert.equal(c.estimatedCostUsd, 0.4);
    assert.equal(c.error, 'rate_limit');
    assert.equal(c.traceId, 'run-9');
  });

  it('reads camelCase llm.cost.tracked events', () => {
    const { calls } = normalizeText(
      '{"event":"llm.cost.tracked","agentId":"support-v2","model":"gpt-4o","inputTokens":1000,"outputTokens":200,"cost":0.0045,"timestamp":1795168800000,"traceId":"tr-1","metadata":{"feature":"support","userId":"u7","promptVersion":"p4"}}',
    );
    const c = calls[0];
    assert.deepEqual(c.dims, { agent: 'support-v2', feature: 'support', user: 'u7', template: 'p4' });
    assert.equal(c.traceId, 'tr-1');
    assert.equal(c.tsMs, 1795168800000);
    assert.equal(c.recordedCostUsd, 0.0045);
    assert.deepEqual(c.tags, {}, 'the event name is not a tag');
  });

  it('reads run objects: one call per step, with the run tags and trace id', () => {
    const { calls } = normalizeText(
      '{"id":"run-1","timestamp":"2026-11-20T10:00:00Z","tags":{"feature":"agent"},"steps":[{"model":"claude-haiku-4-5","usage":{"input":100,"output":10,"cacheWrite":50,"cacheRead":900},"costUsd":0.001,"latencyMs":800,"tags":{"tool":"search"}},{"model":"claude-haiku-4-5","usage":{"input":5,"output":1},"error":"timeout"}]}',
    );
    assert.equal(calls.length, 2);
    assert.deepEqual(tokens(calls[0]), [100, 900, 50, 0, 10, 0]);
    assert.equal(calls[0].recordedCostUsd, 0.001);
    assert.equal(calls[0].latencyMs, 800);
    assert.deepEqual(calls[0].dims, { tool: 'search', feature: 'agent' });
    assert.equal(calls[0].traceId, 'run-1');
    assert.equal(calls[1].error, 'timeout');
    assert.equal(calls[1].tsMs, Date.parse('2026-11-20T10:00:00Z'), 'a step without a time takes the run time');
  });

  it('reads OpenAI usage: prompt_tokens INCLUDE cached tokens; reasoning is part of completion', () => {
    const { calls } = normalizeText(
      '{"id":"chatcmpl-1","object":"chat.completion","created":1795168800,"model":"o3","usage":{"prompt_tokens":3000,"completion_tokens":900,"prompt_tokens_details":{"cached_tokens":2048},"completion_tokens_details":{"reasoning_tokens":700}}}',
    );
    const c = calls[0];
    assert.deepEqual(tokens(c), [952, 2048, 0, 0, 900, 700]);
    assert.equal(c.provider, 'openai');
    assert.equal(c.tsMs, 1795168800000);
  });

  it('reads OpenAI Batch API output where usage sits under response.body', () => {
    const { calls } = normalizeText(
      '{"id":"batch_req_1","custom_id":"r1","response":{"status_code":200,"body":{"model":"gpt-4o-mini","created":1795168800,"usage":{"prompt_tokens":1500,"completion_tokens":100,"prompt_tokens_details":{"cached_tokens":1024}}}},"error":null}',
    );
    assert.deepEqual(tokens(calls[0]), [476, 1024, 0, 0, 100, 0]);
    assert.equal(calls[0].model, 'gpt-4o-mini');
    assert.equal(calls[0].error, undefined);
  });

  it('reads Anthropic usage: input_tokens EXCLUDE cache reads and writes; the 5m/1h split is kept', () => {
    const { calls } = normalizeText(
      '{"id":"msg_1","type":"message","model":"claude-opus-4-1","usage":{"input_tokens":12,"cache_read_input_tokens":4000,"cache_creation_input_tokens":3000,"cache_creation":{"ephemeral_5m_input_tokens":1000,"ephemeral_1h_input_tokens":2000},"output_tokens":80}}',
    );
    assert.deepEqual(tokens(calls[0]), [12, 4000, 3000, 2000, 80, 0]);
    assert.equal(calls[0].provider, 'anthropic');
    // $15 in, $1.50 read, $18.75 5m write, $30 1h write, $75 out per Mtok
    const cost = new PriceBook().price(calls[0].model, calls[0].provider, calls[0], NaN)!.costUsd;
    assertUsd(cost, (12 * 15 + 4000 * 1.5 + 1000 * 18.75 + 2000 * 30 + 80 * 75) / 1e6);
  });

  it('reads Anthropic Message Batches results', () => {
    const { calls } = normalizeText('{"custom_id":"a","result":{"type":"succeeded","message":{"model":"claude-haiku-4-5","usage":{"input_tokens":10,"output_tokens":2,"cache_read_input_tokens":5}}}}');
    assert.deepEqual(tokens(calls[0]), [10, 5, 0, 0, 2, 0]);
  });

  it('reads OTLP JSON: leaf chat spans only, input_tokens INCLUDE cached tokens, agent spans not counted', () => {
    const { calls, ignored } = normalizeText(readFileSync(fixture('shapes', 'otlp.jsonl'), 'utf8'));
    assert.equal(calls.length, 3, 'invoke_agent and execute_tool spans are not calls');
    assert.equal(ignored, 0);
    const c = calls[0];
    assert.deepEqual(tokens(c), [1200, 8000, 2000, 0, 350, 0]);
    assert.equal(c.model, 'claude-sonnet-4-5-20250929', 'the response model wins over the request model');
    assert.equal(c.provider, 'anthropic');
    assert.equal(c.dims.agent, 'summarizer');
    assert.equal(c.dims.feature, 'summarization');
    assert.equal(c.dims.user, 'u_1');
    assert.equal(c.tags.service, 'docs-app');
    assert.equal(c.traceId, '5b8efff798038103d269b633813fc60c');
    assert.equal(c.parentId, 'a000000000000001');
    assert.equal(c.latencyMs, 1500);
    assert.deepEqual(c.callsite, { file: 'src/summarize.py', line: 42, function: undefined });
    assert.deepEqual(tokens(calls[2]), [5000, 0, 0, 0, 2500, 1800]);
  });

  it('drops an OTLP span that rolls up its children even without an operation name', () => {
    const attr = (k: string, v: number | string) => ({ key: k, value: typeof v === 'number' ? { intValue: String(v) } : { stringValue: v } });
    const doc = {
      resourceSpans: [{ scopeSpans: [{ spans: [
        { traceId: 't', spanId: 'p', name: 'workflow', attributes: [attr('gen_ai.usage.input_tokens', 300), attr('gen_ai.usage.output_tokens', 30)] },
        { traceId: 't', spanId: 'c1', parentSpanId: 'p', name: 'chat', attributes: [attr('gen_ai.request.model', 'gpt-4o'), attr('gen_ai.usage.input_tokens', 100), attr('gen_ai.usage.output_tokens', 10)] },
        { traceId: 't', spanId: 'c2', parentSpanId: 'p', name: 'chat', attributes: [attr('gen_ai.request.model', 'gpt-4o'), attr('gen_ai.usage.input_tokens', 200), attr('gen_ai.usage.output_tokens', 20)], status: { code: 2, message: 'boom' } },
      ] }] }],
    };
    const { calls } = normalizeText(JSON.stringify(doc));
    assert.deepEqual(calls.map((c) => c.id), ['c1', 'c2']);
    assert.equal(calls[1].error, 'boom');
  });

  it('drops a roll-up span written in another line than its calls, whichever comes first (exporters write a batch or a span per line)', () => {
    const attr = (k: string, v: number | string) => ({ key: k, value: typeof v === 'number' ? { intValue: String(v) } : { stringValue: v } });
    // gpt-4o ($2.50 in, $10 out per Mtok); a span's input and output tokens are its number times 100 and 10.
    const span = (id: string, parent: string | undefined, n: number, feature = id) => ({
      traceId: 't', spanId: id, ...(parent ? { parentSpanId: parent } : {}), name: 'chat', startTimeUnixNano: '1795168800000000000',
      attributes: [attr('gen_ai.operation.name', 'chat'), attr('gen_ai.request.model', 'gpt-4o'), attr('gen_ai.usage.input_tokens', 100 * n), attr('gen_ai.usage.output_tokens', 10 * n), attr('feature', feature)],
    });
    const line = (...spans: object[]) => JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] });
    const consoleLine = (id: string, parent: string | null, n: number) =>
      JSON.stringify({ name: 'chat', context: { trace_id: '0xt', span_id: id }, parent_id: parent, start_time: '2026-11-20T10:00:00Z', end_time: '2026-11-20T10:00:01Z', attributes: { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 100 * n, 'gen_ai.usage.output_tokens': 10 * n, feature: id } });
    const usd = (n: number) => (100 * n * 2.5 + 10 * n * 10) / 1e6;
    const cases: [string, string[], string[], number][] = [
      ['child, then its parent', [line(span('c', 'p', 1)), line(span('p', undefined, 3))], ['c'], usd(1)],
      ['parent, then its child', [line(span('p', undefined, 3)), line(span('c', 'p', 1))], ['c'], usd(1)],
      ['parent, then two children', [line(span('p', undefined, 3)), line(span('c1', 'p', 1)), line(span('c2', 'p', 2))], ['c1', 'c2'], usd(3)],
      ['child, parent, grandparent', [line(span('c', 'p', 1)), line(span('p', 'g', 2)), line(span('g', undefined, 4))], ['c'], usd(1)],
      ['grandparent, parent, child', [line(span('g', undefined, 4)), line(span('p', 'g', 2)), line(span('c', 'p', 1))], ['c'], usd(1)],
      ['a child and its parent in one batch, another child later', [line(span('p', undefined, 3), span('c1', 'p', 1)), line(span('c2', 'p', 2))], ['c1', 'c2'], usd(3)],
      ['a parent, then a batch with its child and grandchild', [line(span('p', undefined, 3)), line(span('c', 'p', 2), span('g', 'c', 1))], ['g'], usd(1)],
      ['a batch with a child and grandchild, then their parent', [line(span('c', 'p', 2), span('g', 'c', 1)), line(span('p', undefined, 3))], ['g'], usd(1)],
      ['a parent, then a batch with a chain of three below it', [line(span('p', undefined, 9)), line(span('c', 'p', 4), span('d', 'c', 2), span('g', 'd', 1))], ['g'], usd(1)],
      ['console spans: children, then their parent', [consoleLine('0x2', '0x1', 1), consoleLine('0x3', '0x1', 2), consoleLine('0x1', null, 3)], ['0x2', '0x3'], usd(3)],
      ['console spans: the parent first', [consoleLine('0x1', null, 3), consoleLine('0x2', '0x1', 1), consoleLine('0x2', '0x1', 1)], ['0x2'], usd(1)],
      ['another trace with the same span ids stays apart', [line(span('c', 'p', 1)), JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ ...span('p', undefined, 3), traceId: 'u' }] }] }] })], ['c', 'p'], usd(4)],
    ];
    for (const [what, lines, features, cost] of cases) {
      const text = lines.join('\n') + '\n';
      for (const fast of [false, true]) {
        const state = newTraceFileState('spans.jsonl', new StringPool());
        ingestBytes(state, new TextEncoder().encode(text), true, new PriceBook(), { fast });
        const t = state.table;
        assert.deepEqual(Array.from(t.dims.feature.subarray(0, t.length), (id) => t.pool.get(id)).sort(), features, `${what} (fast=${fast})`);
        assertUsd(stats(select([t])).costUsd, cost);
        assert.equal(state.problems.length, 0, what);
      }
      // Each line read after the one before through a packed state (appends, a cache, a worker).
      const pool = new StringPool();
      let state = newTraceFileState('spans.jsonl', pool);
      for (const l of lines) {
        ingestBytes(state, new TextEncoder().encode(l + '\n'), false, new PriceBook());
        state = unpackState(packState(state).packed, pool);
      }
      const t = state.table;
      assert.deepEqual(Array.from(t.dims.feature.subarray(0, t.length), (id) => t.pool.get(id)).sort(), features, `${what} (line by line)`);
      assertUsd(stats(select([t])).costUsd, cost);
    }
  });

  it('reads an OTel span whose input count excludes cache as exclusive, with a warning', () => {
    const attr = (k: string, v: number) => ({ key: k, value: { intValue: String(v) } });
    const doc = { resourceSpans: [{ scopeSpans: [{ spans: [{ spanId: 's', attributes: [attr('gen_ai.usage.input_tokens', 10), attr('gen_ai.usage.cache_read.input_tokens', 500), attr('gen_ai.usage.output_tokens', 1)] }] }] }] };
    const { calls, problems } = normalizeText(JSON.stringify(doc));
    assert.deepEqual(tokens(calls[0]), [10, 500, 0, 0, 1, 0]);
    assert.equal(problems[0].severity, 'warning');
  });

  it('reads OpenTelemetry console-exporter spans and counts a span printed twice once', () => {
    const span = { name: 'chat gpt-4o', context: { trace_id: '0xab', span_id: '0x01' }, parent_id: null, start_time: '2026-11-20T10:00:00.000000Z', end_time: '2026-11-20T10:00:02.000000Z', attributes: { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 50, 'gen_ai.usage.output_tokens': 5, feature: 'chat' }, status: { status_code: 'UNSET' } };
    const text = JSON.stringify(span, null, 4) + '\n' + JSON.stringify(span, null, 4) + '\n';
    const { calls } = normalizeText(text);
    assert.equal(calls.length, 1);
    assert.equal(calls[0].latencyMs, 2000);
    assert.equal(calls[0].dims.feature, 'chat');
  });

  it('reads Codex CLI rollouts: per-turn usage with the model of the last turn_context, never the cumulative total', () => {
    const lines = [
      { timestamp: '2026-11-20T10:00:00Z', type: 'turn_context', payload: { model: 'gpt-5' } },
      { timestamp: '2026-11-20T10:00:05Z', type: 'event_msg', payload: { type: 'token_count', info: { total_token_usage: { input_tokens: 1000, cached_input_tokens: 800, output_tokens: 50 }, last_token_usage: { input_tokens: 1000, cached_input_tokens: 800, output_tokens: 50, reasoning_output_tokens: 20 } } } },
      { timestamp: '2026-11-20T10:00:09Z', type: 'event_msg', payload: { type: 'token_count', info: { total_token_usage: { input_tokens: 2500, cached_input_tokens: 1800, output_tokens: 80 }, last_token_usage: { input_tokens: 1500, cached_input_tokens: 1000, output_tokens: 30, reasoning_output_tokens: 0 } } } },
      { timestamp: '2026-11-20T10:00:09Z', type: 'event_msg', payload: { type: 'agent_message', message: 'done' } },
    ];
    const { calls } = normalizeText(lines.map((l) => JSON.stringify(l)).join('\n'));
    assert.equal(calls.length, 2);
    assert.deepEqual(tokens(calls[0]), [200, 800, 0, 0, 50, 20]);
    assert.deepEqual(tokens(calls[1]), [500, 1000, 0, 0, 30, 0]);
    assert.equal(calls[1].model, 'gpt-5');
  });

  it('Codex CLI: a token_count event repeated with the same running total is no new call, within a read and across appends through a packed state', () => {
    const usage = (input: number, cached: number, output: number, reasoning: number) => ({ input_tokens: input, cached_input_tokens: cached, output_tokens: output, reasoning_output_tokens: reasoning, total_tokens: input + output });
    const event = (ts: string, total: object, last: object) => JSON.stringify({ timestamp: ts, type: 'event_msg', payload: { type: 'token_count', info: { total_token_usage: total, last_token_usage: last } } });
    const lines = [
      JSON.stringify({ timestamp: '2026-05-01T10:00:01Z', type: 'turn_context', payload: { model: 'gpt-5' } }),
      event('2026-05-01T10:00:05Z', usage(1000, 200, 500, 300), usage(1000, 200, 500, 300)),
      event('2026-05-01T10:00:06Z', usage(1000, 200, 500, 300), usage(1000, 200, 500, 300)), // a refresh: same total
      event('2026-05-01T10:01:00Z', usage(3000, 1200, 800, 400), usage(2000, 1000, 300, 100)),
      event('2026-05-01T10:01:02Z', usage(3000, 1200, 800, 400), usage(2000, 1000, 300, 100)), // again
      event('2026-05-01T10:02:00Z', usage(3500, 1200, 900, 400), usage(500, 0, 100, 0)),
    ];
    const { calls, ignored } = normalizeText(lines.join('\n'));
    assert.deepEqual(calls.map(tokens), [[800, 200, 0, 0, 500, 300], [1000, 1000, 0, 0, 300, 100], [500, 0, 0, 0, 100, 0]]);
    assert.equal(ignored, 3, 'the turn_context and the two repeats');
    // gpt-5 ($1.25 in, $0.125 cached, $10 out per Mtok): 2,300 uncached and 1,200 cached input, 900 output.
    const expected = (2300 * 1.25 + 1200 * 0.125 + 900 * 10) / 1e6;
    for (const fast of [false, true]) {
      const state = newTraceFileState('rollout.jsonl', new StringPool());
      ingestBytes(state, new TextEncoder().encode(lines.join('\n') + '\n'), true, new PriceBook(), { fast });
      assert.equal(state.table.length, 3, `fast=${fast}`);
      assertUsd(stats(select([state.table])).costUsd, expected);
    }
    // The repeat of the last event before an append comes after it: the total goes with the packed state.
    const text = lines.slice(0, 4).join('\n') + '\n';
    const pool = new StringPool();
    const first = newTraceFileState('rollout.jsonl', pool);
    ingestBytes(first, new TextEncoder().encode(text), false, new PriceBook());
    assert.equal(first.table.length, 2);
    const state = unpackState(packState(first).packed, pool);
    ingestBytes(state, new TextEncoder().encode(lines.slice(4).join('\n') + '\n'), true, new PriceBook());
    assert.equal(state.table.length, 3);
    assertUsd(stats(select([state.table])).costUsd, expected);
  });

  it('reads a shape declared by a workspace field mapping (dot paths)', () => {
    const { calls } = normalizeText('{"llm":{"name":"gpt-4o","in":2000,"cached":500,"out":10},"ctx":{"feat":"x","who":"u"},"at":"2026-11-20T10:00:00Z"}', 't', {
      model: 'llm.name', inputTokens: 'llm.in', cacheReadTokens: 'llm.cached', outputTokens: 'llm.out', feature: 'ctx.feat', user: 'ctx.who', timestamp: 'at', inputIncludesCache: true,
    });
    assert.deepEqual(tokens(calls[0]), [1500, 500, 0, 0, 10, 0]);
    assert.deepEqual(calls[0].dims, { feature: 'x', user: 'u' });
  });
});

describe('parseFieldMapping', () => {
  it('keeps a valid mapping as it is', () => {
    const raw = { model: 'llm.name', inputTokens: 'llm.in', outputTokens: 'llm.out', feature: 'ctx.feat', inputIncludesCache: true };
    assert.deepEqual(parseFieldMapping(raw), { mapping: raw, problems: [] });
    assert.deepEqual(parseFieldMapping({ costUsd: 'billing.usd' }), { mapping: { costUsd: 'billing.usd' }, problems: [] });
  });

  it('treats null or undefined as no mapping, without a problem', () => {
    assert.deepEqual(parseFieldMapping(null), { mapping: undefined, problems: [] });
    assert.deepEqual(parseFieldMapping(undefined), { mapping: undefined, problems: [] });
  });

  it('names each unknown field, non-string or empty path, and gives no mapping then', () => {
    const r = parseFieldMapping({ input_tokens: 'a', outputTokens: 5, model: '', user: ' ', feature: null, inputIncludesCache: 'true', colour: 'x' });
    assert.equal(r.mapping, undefined);
    assert.deepEqual(r.problems, [
      'field mapping has an unknown field "input_tokens" (did you mean "inputTokens"?)',
      'field mapping "outputTokens" must be a dot path string such as "usage.input_tokens", got number 5',
      'field mapping "model" is an empty path',
      'field mapping "user" is an empty path',
      'field mapping "feature" must be a dot path string such as "usage.input_tokens", got null',
      'field mapping "inputIncludesCache" must be true or false, got "true"',
      `field mapping has an unknown field "colour" (known: ${[...FIELD_MAPPING_PATHS, 'inputIncludesCache'].join(', ')})`,
    ]);
    for (const p of r.problems) assert.ok(!p.includes('\n'), p);
  });

  it('rejects a mapping that is not an object, or that would read no record', () => {
    assert.deepEqual(parseFieldMapping(['model']).problems, ['the field mapping must be an object of dot paths, got an array']);
    assert.deepEqual(parseFieldMapping('llm.name').problems, ['the field mapping must be an object of dot paths, got string']);
    assert.deepEqual(parseFieldMapping({ model: 'llm.name', feature: 'f' }).problems, [
      'field mapping needs inputTokens, outputTokens or costUsd: without one of them no record is read through it',
    ]);
    assert.equal(parseFieldMapping({}).problems.length, 1);
  });

  it('keeps control characters of a bad key out of the one-line message', () => {
    const [p] = parseFieldMapping({ 'a\nb\u001b[31m': 'x', inputTokens: 'in' }).problems;
    assert.equal(p, 'field mapping has an unknown field "a?b?[31m" (known: ' + [...FIELD_MAPPING_PATHS, 'inputIncludesCache'].join(', ') + ')');
  });
});

describe('normalizeDocument: attribution', () => {
  it('lands every tag alias on one canonical dimension', () => {
    const spellings: [string, string][] = [
      ['user_id', 'user'], ['userId', 'user'], ['user', 'user'], ['agent_id', 'agent'], ['agentId', 'agent'],
      ['template_version', 'template'], ['prompt_version', 'template'], ['promptVersion', 'template'], ['feature', 'feature'], ['tool_name', 'tool'],
    ];
    for (const [key, dim] of spellings) {
      const { calls } = normalizeText(JSON.stringify({ model: 'gpt-4o', input_tokens: 1, output_tokens: 1, metadata: { [key]: 'v' } }));
      assert.equal((calls[0].dims as Record<string, string>)[dim], 'v', key);
    }
  });

  it('reads call sites: callsite "path:line", code.filepath/code.lineno, code.file.path/code.line.number, code.function', () => {
    const base = { model: 'gpt-4o', input_tokens: 1, output_tokens: 1 };
    const cs = (extra: object) => normalizeText(JSON.stringify({ ...base, ...extra })).calls[0].callsite;
    assert.deepEqual(cs({ callsite: 'src/app.py:42' }), { file: 'src/app.py', line: 42 });
    assert.deepEqual(cs({ metadata: { 'code.filepath': '/srv/app/x.ts', 'code.lineno': 7, 'code.function': 'go' } }), { file: '/srv/app/x.ts', line: 7, function: 'go' });
    assert.deepEqual(cs({ attributes: { 'code.file.path': 'a.py', 'code.line.number': '9' } }), { file: 'a.py', line: 9, function: undefined });
    assert.equal(cs({}), undefined);
  });

  it('keeps numbers and booleans as tag text, and leaves out long content', () => {
    const { calls } = normalizeText(JSON.stringify({ model: 'm', input_tokens: 1, output_tokens: 1, metadata: { shard: 3, beta: true, notes: 'x'.repeat(500) } }));
    assert.deepEqual(calls[0].tags, { shard: '3', beta: 'true' });
  });
});

describe('normalizeDocument: usage conventions of gateways and odd records', () => {
  it('LiteLLM usage for Anthropic models: prompt_tokens includes cache reads and writes, reported beside it', () => {
    // github.com/BerriAI/litellm/issues/11364: 98,805 prompt tokens = 10 uncached + 66,360 read + 32,435 written.
    const logged = { total_tokens: 103925, prompt_tokens: 98805, completion_tokens: 5120, prompt_tokens_details: { cached_tokens: 66360, cache_creation_tokens: 32435 }, cache_read_input_tokens: 66360, completion_tokens_details: { reasoning_tokens: 1710 }, cache_creation_input_tokens: 32435 };
    const a = normalizeText(JSON.stringify({ model: 'claude-opus-4-5', usage: logged }));
    assert.deepEqual(tokens(a.calls[0]), [10, 66360, 32435, 0, 5120, 1710]);
    assert.deepEqual(a.problems, []);
    // Only the top-level fields (an older LiteLLM): 11,200 = 1,200 + 8,000 read + 2,000 written.
    const text = JSON.stringify({ model: 'claude-sonnet-4-5', usage: { prompt_tokens: 11200, completion_tokens: 350, prompt_tokens_details: { cached_tokens: 8000 }, cache_creation_input_tokens: 2000, cache_read_input_tokens: 8000 }, metadata: { feature: 'x' } });
    const b = normalizeText(text);
    assert.deepEqual(tokens(b.calls[0]), [1200, 8000, 2000, 0, 350, 0]);
    // claude-sonnet-4-5: $3 in, $0.30 cache read, $3.75 cache write (5 min), $15 out per Mtok.
    for (const fast of [false, true]) {
      const state = newTraceFileState('litellm.jsonl', new StringPool());
      ingestBytes(state, new TextEncoder().encode(text + '\n'), true, new PriceBook(), { fast });
      assertUsd(stats(select([state.table])).costUsd, (1200 * 3 + 8000 * 0.3 + 2000 * 3.75 + 350 * 15) / 1e6);
    }
    // LiteLLM's log of Anthropic messages, whose prompt_tokens excludes the cache: read as such, with a warning.
    const c = normalizeText(JSON.stringify({ model: 'claude-sonnet-4-5', usage: { prompt_tokens: 12, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 2495, cache_creation_tokens: 100 } } }));
    assert.deepEqual(tokens(c.calls[0]), [12, 2495, 100, 0, 5, 0]);
    assert.deepEqual(c.problems.map((p) => [p.severity, /exclusive/.test(p.message)]), [['warning', true]]);
  });

  it('keeps the output of a record with prompt_tokens and output_tokens, and says which input count it read when two disagree', () => {
    const { calls, problems } = normalizeText('{"model":"gpt-4o","input_tokens":1000,"prompt_tokens":5000,"output_tokens":100}');
    assert.deepEqual(tokens(calls[0]), [5000, 0, 0, 0, 100, 0]);
    assert.deepEqual(problems.map((p) => p.message), ['Both prompt_tokens (5000) and input_tokens (1000): prompt_tokens read']);
  });

  it('reads reasoning tokens above the output count as outside it (Gemini\'s convention), keeping the call, with a warning, on every path', () => {
    const text = '{"model":"gpt-4o","input_tokens":1000,"output_tokens":100,"reasoning_tokens":400,"metadata":{"feature":"think"}}\n{"model":"gpt-4o","input_tokens":10,"output_tokens":100,"reasoning_tokens":40}\n';
    const { calls, problems } = normalizeText(text);
    assert.deepEqual(calls.map(tokens), [[1000, 0, 0, 0, 500, 400], [10, 0, 0, 0, 100, 40]]);
    assert.deepEqual(problems.map((p) => [p.line, p.severity]), [[1, 'warning']]);
    assert.match(problems[0].message, /Reasoning tokens \(400\) exceed output tokens \(100\): read as not included in them \(500 output tokens\)/);
    for (const fast of [false, true]) {
      const state = newTraceFileState('think.jsonl', new StringPool());
      ingestBytes(state, new TextEncoder().encode(text), true, new PriceBook(), { fast });
      assert.equal(state.table.length, 2, `fast=${fast}`);
      assertUsd(stats(select([state.table])).costUsd, (1010 * 2.5 + 600 * 10) / 1e6);
      assert.deepEqual(state.problems.map((p) => [p.line, p.severity]), [[1, 'warning']]);
    }
  });
});

describe('normalizeDocument: bad data', () => {
  it('skips and reports negative, non-finite and implausible token counts, keeping the other calls', () => {
    const text = [
      '{"model":"gpt-4o","input_tokens":-5,"output_tokens":1}',
      '{"model":"gpt-4o","input_tokens":1e12,"output_tokens":1}',
      '{"model":"gpt-4o","usage":{"prompt_tokens":10,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":50}}}',
      '{"model":"gpt-4o","input_tokens":5,"output_tokens":1}',
    ].join('\n');
    const { calls, problems } = normalizeText(text);
    assert.equal(calls.length, 1);
    assert.deepEqual(problems.map((p) => p.line), [1, 2, 3]);
    assert.match(problems[0].message, /Negative token count/);
    assert.match(problems[1].message, /Implausible/);
    assert.match(problems[2].message, /fewer than the cached tokens/);
  });

  it('skips and reports a negative prompt count as negative, not as fewer than its cached tokens', () => {
    const { calls, problems } = normalizeText('{"model":"gpt-4o","usage":{"prompt_tokens":-5,"completion_tokens":2}}\n{"model":"gpt-4o","usage":{"prompt_tokens":-5,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":3}}}\n');
    assert.equal(calls.length, 0);
    assert.deepEqual(problems.map((p) => p.message), ['Skipped call: Negative token count in inputTokens (-5)', 'Skipped call: Negative token count in inputTokens (-5)']);
  });

  it('skips and reports token counts that are not numbers, never counting them as 0', () => {
    const text = [
      '{"model":"gpt-4o","usage":{"prompt_tokens":"abc","completion_tokens":10}}',
      '{"model":"gpt-4o","input_tokens":5,"output_tokens":true}',
      '{"model":"claude-sonnet-4-5","input_tokens":5,"output_tokens":1,"cache_read_input_tokens":{"n":3}}',
      '{"model":"gpt-4o","input_tokens":"lots"}',
      '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"t","spanId":"s","name":"chat","attributes":[{"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o"}},{"key":"gen_ai.usage.input_tokens","value":{"stringValue":"many"}},{"key":"gen_ai.usage.output_tokens","value":{"intValue":"3"}}]}]}]}]}',
      // Numeric strings are counts; `input`/`output` may hold the prompt and answer text: not counts, not errors.
      '{"model":"gpt-4o","input_tokens":"12","output_tokens":" 3 "}',
      '{"model":"gpt-4o","input":"Summarise this","output":"A summary","input_tokens":7,"output_tokens":2}',
      '{"model":"gpt-4o","input":"Summarise this","output":"A summary"}',
    ].join('\n');
    const { calls, problems, ignored } = normalizeText(text);
    assert.deepEqual(problems.map((p) => [p.line, p.message]), [
      [1, 'Skipped call: Token count in prompt_tokens is not a number ("abc")'],
      [2, 'Skipped call: Token count in output_tokens is not a number (true)'],
      [3, 'Skipped call: Token count in cache_read_input_tokens is not a number ({"n":3})'],
      [4, 'Skipped call: Token count in input_tokens is not a number ("lots")'],
      [5, 'Skipped call: Token count in gen_ai.usage.input_tokens is not a number ("many")'],
    ]);
    assert.deepEqual(calls.map((c) => [c.source.line, c.inputTokens, c.outputTokens]), [[6, 12, 3], [7, 7, 2]]);
    assert.equal(ignored, 1);
  });

  it('reports the plain values in an array of records once for the line', () => {
    const { calls, problems } = normalizeText('[{"model":"gpt-4o","input_tokens":1,"output_tokens":1},1,"x",[null]]\n[[1],[2]]\n');
    assert.equal(calls.length, 1);
    assert.deepEqual(problems.map((p) => [p.line, p.message]), [
      [1, 'Not a JSON object: 3 array elements are plain values, not records'],
      [2, 'Not a JSON object: 2 array elements are plain values, not records'],
    ]);
  });

  it('warns about token counts that are not whole numbers, keeping the call with whole counts', () => {
    const { calls, problems } = normalizeText('{"model":"gpt-4o","input_tokens":10.7,"output_tokens":2}\n{"model":"gpt-4o","input_tokens":1e3,"output_tokens":2.0}\n');
    assert.equal(calls.length, 2);
    assert.deepEqual(problems.map((p) => [p.line, p.severity, p.message]), [[1, 'warning', 'Token count in input_tokens is not a whole number (10.7): counted as 10']]);
  });

  it('skips and reports a negative recorded cost', () => {
    const { calls, problems } = normalizeText('{"model":"gpt-4o","cost_usd":-3,"input_tokens":5,"output_tokens":5}\n{"model":"gpt-4o","total_cost":"-0.5"}\n{"model":"gpt-4o","cost_usd":-0,"input_tokens":5,"output_tokens":5}\n');
    assert.deepEqual(problems.map((p) => [p.line, p.message]), [[1, 'Skipped call: Negative recorded cost (-3)'], [2, 'Skipped call: Negative recorded cost (-0.5)']]);
    assert.equal(calls.length, 1);
  });

  it('skips and reports a recorded cost over $100,000 for one call, or beyond the doubles (1e400), never as no cost', () => {
    const text = [
      '{"model":"gpt-4o","cost_usd":1e300,"input_tokens":5,"output_tokens":5}',
      '{"model":"gpt-4o","cost_usd":1e400,"input_tokens":5,"output_tokens":5}',
      '{"model":"gpt-4o","cost_usd":"1e400"}',
      '{"model":"gpt-4o","cost":{"total":100000.5}}',
      '{"model":"gpt-4o","cost_usd":100000,"input_tokens":5,"output_tokens":5}',
      '{"model":"gpt-4o","cost_usd":-1e400,"input_tokens":5,"output_tokens":5}',
    ].join('\n');
    const { calls, problems } = normalizeText(text);
    assert.deepEqual(problems.map((p) => [p.line, p.message]), [
      [1, 'Skipped call: Implausible recorded cost (1e+300): more than $100,000 for one call'],
      [2, 'Skipped call: Implausible recorded cost (Infinity): more than $100,000 for one call'],
      [3, 'Skipped call: Implausible recorded cost (Infinity): more than $100,000 for one call'],
      [4, 'Skipped call: Implausible recorded cost (100000.5): more than $100,000 for one call'],
      [6, 'Skipped call: Negative recorded cost (-Infinity)'],
    ]);
    assert.deepEqual(calls.map((c) => c.recordedCostUsd), [100000]);
  });

  it('names a token count beyond the doubles (1e400, a number or text) as implausible or negative, not as "not a number (null)"', () => {
    for (const [big, minus] of [['1e400', '-1e400'], ['"1e400"', '"-Infinity"']]) {
      const { problems } = normalizeText(`{"model":"gpt-4o","input_tokens":${big},"output_tokens":1}\n{"model":"gpt-4o","input_tokens":1,"output_tokens":${minus}}\n`);
      assert.deepEqual(problems.map((p) => p.message), [
        'Skipped call: Implausible token count in input_tokens (Infinity): more than 100000000 for one call',
        'Skipped call: Negative token count in output_tokens (-Infinity)',
      ], big);
    }
  });

  it('keeps a call whose timestamp is unreadable or not in the calendar, without a time, and warns', () => {
    const text = ['2026-02-29T10:00:00Z', '2026-04-31', '2026-13-01T00:00:00Z', 'yesterday', '2024-02-29T10:00:00Z', ''].map((ts) => JSON.stringify({ ts, model: 'gpt-4o', input_tokens: 1, output_tokens: 1 })).join('\n');
    const { calls, problems } = normalizeText(text);
    assert.equal(calls.length, 6);
    assert.deepEqual(calls.map((c) => c.tsMs), [NaN, NaN, NaN, NaN, Date.UTC(2024, 1, 29, 10), NaN]);
    assert.deepEqual(problems.map((p) => [p.line, p.severity, p.message]), [
      [1, 'warning', 'Unreadable timestamp ("2026-02-29T10:00:00Z"): the call is kept without a time'],
      [2, 'warning', 'Unreadable timestamp ("2026-04-31"): the call is kept without a time'],
      [3, 'warning', 'Unreadable timestamp ("2026-13-01T00:00:00Z"): the call is kept without a time'],
      [4, 'warning', 'Unreadable timestamp ("yesterday"): the call is kept without a time'],
    ]);
  });

  it('warns about an OpenTelemetry span whose start time is unreadable (OTLP and console spans), and keeps the call', () => {
    const attrs = [{ key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o' } }, { key: 'gen_ai.usage.input_tokens', value: { intValue: '5' } }];
    const span = (id: string, start: unknown) => ({ traceId: 't', spanId: id, name: 'chat', startTimeUnixNano: start, endTimeUnixNano: '1795168800500000000', attributes: attrs });
    const otlp = { resourceSpans: [{ scopeSpans: [{ spans: [span('a', 'soon'), span('b', '1795168800000000000'), span('c', undefined), span('d', '0')] }] }] };
    const console = { name: 'chat', context: { trace_id: 't2', span_id: 's' }, start_time: 'not a time', attributes: { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 3 } };
    const { calls, problems } = normalizeText(`${JSON.stringify(otlp)}\n${JSON.stringify(console)}\n`);
    // "0" is protobuf's unset: no time, no warning.
    assert.deepEqual(calls.map((c) => c.tsMs), [NaN, 1795168800000, NaN, NaN, NaN]);
    assert.equal(calls[1].latencyMs, 500);
    assert.deepEqual(problems.map((p) => [p.line, p.severity, p.message]), [
      [1, 'warning', 'Unreadable timestamp ("soon"): the call is kept without a time'],
      [2, 'warning', 'Unreadable timestamp ("not a time"): the call is kept without a time'],
    ]);
  });

  it('warns when a dimension value is too long to keep (over 200 characters), and leaves it out', () => {
    const long = 'p'.repeat(201);
    const { calls, problems } = normalizeText(JSON.stringify({ model: 'gpt-4o', input_tokens: 1, output_tokens: 1, metadata: { feature: long, user_id: 'u1', notes: long } }));
    assert.equal(calls.length, 1);
    assert.equal(calls[0].dims.feature, undefined);
    assert.equal(calls[0].dims.user, 'u1');
    assert.deepEqual(problems.map((p) => [p.severity, p.message]), [['warning', `The feature tag "feature" is longer than 200 characters ("${'p'.repeat(40)}…"): left out, the call has no feature`]]);
    // Not when the dimension has a value from elsewhere.
    const short = normalizeText(JSON.stringify({ model: 'gpt-4o', input_tokens: 1, output_tokens: 1, feature: 'short', metadata: { feature: long } }));
    assert.equal(short.calls[0].dims.feature, 'short');
    assert.deepEqual(short.problems, []);
  });

  it('warns about an unreadable run time on each step that takes it', () => {
    const { calls, problems } = normalizeText('{"id":"r","ts":"2026-02-29T10:00:00Z","steps":[{"model":"gpt-4o","usage":{"input":1,"output":2}},{"model":"gpt-4o","ts":"2026-11-01T00:00:00Z","usage":{"input":1,"output":2}}]}');
    assert.equal(calls.length, 2);
    assert.deepEqual(problems.map((p) => p.message), ['Unreadable timestamp ("2026-02-29T10:00:00Z"): the call is kept without a time']);
  });

  it('ignores objects that hold no call, without reporting them as errors', () => {
    const { calls, problems, ignored } = normalizeText('{"event":"session.start"}\n{"type":"user","message":"hi"}\n');
    assert.equal(calls.length, 0);
    assert.equal(problems.length, 0);
    assert.equal(ignored, 2);
  });

  it('keeps a call with tokens but no model, to be reported as unpriced', () => {
    const { calls } = normalizeText('{"input_tokens":5,"output_tokens":1}');
    assert.equal(calls.length, 1);
    assert.equal(calls[0].model, undefined);
  });

  it('keeps HTML in names as plain text', () => {
    const { calls } = normalizeText(JSON.stringify({ model: 'gpt-4o', input_tokens: 1, output_tokens: 1, metadata: { feature: '<img src=x onerror=alert(1)>' } }));
    assert.equal(calls[0].dims.feature, '<img src=x onerror=alert(1)>');
  });
});

describe('third-party samples', () => {
  it('Claude Code transcript: 40 usage lines are 12 API calls (unique message.id), priced as dated claude-sonnet-4-5', () => {
    const prices = new PriceBook();
    const state = loadFile(fixture('third-party', 'claude-code-subagent-transcript_spotter.jsonl'), prices);
    assert.equal(state.table.length, 12);
    assert.equal(state.problems.length, 0);
    assert.equal(state.ctx.ignored, 144 - 12);
    const s = stats(select([state.table]));
    // Sums of the 12 unique messages' usage (Anthropic convention: input excludes cache).
    assert.equal(s.inputTokens, 53);
    assert.equal(s.outputTokens, 136);
    assert.equal(s.cacheReadTokens, 604156);
    assert.equal(s.cacheWriteTokens, 71257);
    // 53×3 + 136×15 + 604156×0.30 + 71257×3.75 µ$ (all 5-minute writes)
    assertUsd(s.costUsd, (53 * 3 + 136 * 15 + 604156 * 0.3 + 71257 * 3.75) / 1e6);
    assertUsd(s.costUsd, 0.45065955);
    assert.equal(s.unpricedCalls, 0);
    assert.equal(state.table.pool.get(state.table.dims.agent[0]), 'a2898e3');
  });

  it('Claude Code streaming: a message written over several lines counts once, with the final output tokens', () => {
    const line = (id: string, out: number, uuid: string, extra: Record<string, unknown> = {}) =>
      JSON.stringify({
        type: 'assistant',
        sessionId: 's1',
        uuid,
        timestamp: '2025-06-01T10:00:00.000Z',
        message: { id, model: 'claude-sonnet-4-5-20250929', usage: { input_tokens: 10, output_tokens: out, cache_read_input_tokens: 1000, cache_creation_input_tokens: 0 } },
        ...extra,
      });
    const text = [line('msg_A', 1, 'u1'), line('msg_A', 1, 'u2'), line('msg_A', 420, 'u3', { gitBranch: 'main', cwd: '/home/me/src/app' }), line('msg_B', 7, 'u4'), line('msg_A', 3, 'u5')].join('\n') + '\n';
    const expected = (20 * 3 + 427 * 15 + 2000 * 0.3) / 1e6;
    for (const fast of [false, true]) {
      const state = newTraceFileState('cc.jsonl', new StringPool());
      const prices = new PriceBook();
      ingestBytes(state, new TextEncoder().encode(text), true, prices, { fast });
      assert.equal(state.table.length, 2, `fast=${fast}`);
      const s = stats(select([state.table]));
      assert.equal(s.outputTokens, 427);
      assert.equal(s.inputTokens, 20);
      assertUsd(s.costUsd, expected);
      // The row keeps the line of the version it holds, so "open record" lands on the complete one.
      assert.deepEqual([...state.table.line.subarray(0, 2)], [3, 4]);
      assert.equal(state.table.pool.get(state.table.tagColumn('gitBranch')[0]), 'main');
      assert.equal(state.table.pool.get(state.table.tagColumn('cwd')[0]), '/home/me/src/app', 'the project\'s folder, to group by');
    }
    // Split across appends (the file grows between reads) and through a packed state (cache, worker).
    const bytes = new TextEncoder().encode(text);
    const cut = text.indexOf('\n', text.indexOf('u2')) + 1;
    const pool = new StringPool();
    const first = newTraceFileState('cc.jsonl', pool);
    ingestBytes(first, bytes.subarray(0, cut), false, new PriceBook());
    assert.equal(stats(select([first.table])).outputTokens, 1);
    const state = unpackState(packState(first).packed, pool);
    ingestBytes(state, bytes.subarray(cut), true, new PriceBook());
    assert.equal(state.table.length, 2);
    assert.equal(stats(select([state.table])).outputTokens, 427);
  });

  it('Groq batch output: 3 calls of llama-3.1-8b-instant priced from the table ($0.05 in, $0.08 out per Mtok) at the 50% batch discount', () => {
    const state = loadFile(fixture('third-party', 'groq-batch-output_llama-3.1-8b.jsonl'));
    assert.equal(state.table.length, 3);
    const s = stats(select([state.table]));
    const lines = readFileSync(fixture('third-party', 'groq-batch-output_llama-3.1-8b.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const inTok = lines.reduce((a, l) => a + l.response.body.usage.prompt_tokens, 0);
    const outTok = lines.reduce((a, l) => a + l.response.body.usage.completion_tokens, 0);
    assert.equal(s.inputTokens, inTok);
    assert.equal(s.outputTokens, outTok);
    assertUsd(s.costUsd, (0.5 * (inTok * 0.05 + outTok * 0.08)) / 1e6);
    assert.equal(state.table.pool.get(state.table.dims.provider[0]), 'groq');
    assert.equal(state.table.serviceTierAt(0), 'batch');
  });
});

describe('the same calls in every shape', () => {
  const dir = fixture('shapes');
  const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));

  it('has a fixture for every shape', () => assert.ok(files.length >= 8, files.join(', ')));

  for (const f of files) {
    // The Batch API bills the same tokens at half the standard rates.
    const tier = f === 'batch-output.jsonl' ? 0.5 : 1;
    it(`${f}: 3 calls, $0.05917${tier === 1 ? '' : ' × 0.5 (batch)'} in all, the same split by feature and user`, () => {
      const state = loadFile(`${dir}/${f}`, new PriceBook(), new StringPool());
      assert.deepEqual(state.problems, []);
      const slices = select([state.table], { costSource: 'computed' });
      const s = stats(slices, 'computed');
      assert.equal(s.calls, 3);
      assertUsd(s.costUsd, 0.05917 * tier, f);
      assert.equal(Math.round(s.costUsd * 100), tier === 1 ? 6 : 3, 'to the cent');
      assert.equal(s.inputTokens + s.cacheReadTokens + s.cacheWriteTokens, 11200 + 3000 + 5000);
      assert.equal(s.outputTokens, 350 + 420 + 2500);
      const byFeature = groupBy(slices, ['feature', 'user'], 'computed').map((g) => [g.key.feature, g.key.user, Math.round((g.stats.costUsd / tier) * 1e5)]);
      assert.deepEqual(byFeature, [['search', 'u_1', 3000], ['summarization', 'u_1', 1875], ['search', 'u_2', 1042]]);
    });
  }
});
