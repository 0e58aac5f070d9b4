import * as assert from 'node:assert/strict';
import { renderMarkdown, renderTable } from '../../../src/core/format';
import { buildReport } from '../../../src/core/report';
import { loadText } from '../helpers';

// gpt-4o: $2.50 input and $10 output per million tokens; acme-llm has no price.
const line = (o: object) => JSON.stringify(o);
const TRACE = [
  // search: one priced call ($0.0025 + $0.001 = $0.0035), one unpriced.
  line({ ts: '2026-11-20T10:00:00Z', model: 'gpt-4o', input_tokens: 1000, output_tokens: 100, metadata: { feature: 'search' } }),
  line({ ts: '2026-11-20T11:00:00Z', model: 'acme-llm', input_tokens: 5, output_tokens: 5, metadata: { feature: 'search' } }),
  // chat: only unpriced calls.
  line({ ts: '2026-11-20T12:00:00Z', model: 'acme-llm', input_tokens: 50, output_tokens: 5, metadata: { feature: 'chat' } }),
  line({ ts: '2026-11-20T13:00:00Z', model: 'acme-llm', input_tokens: 50, output_tokens: 5, metadata: { feature: 'chat' } }),
  // No timestamp: search $0.005 (2,000 input tokens), chat unpriced.
  line({ model: 'gpt-4o', input_tokens: 2000, output_tokens: 0, metadata: { feature: 'search' } }),
  line({ model: 'acme-llm', input_tokens: 1, output_tokens: 1, metadata: { feature: 'chat' } }),
].join('\n') + '\n';

const ms = (iso: string) => Date.parse(iso);

describe('buildReport: calls without a timestamp', () => {
  const state = loadText(TRACE, 'traces/app.jsonl');

  it('counts the 2 undated calls a --since range leaves out, and prints it under the table', () => {
    const r = buildReport([state], { by: ['feature'], sinceMs: ms('2026-11-20T00:00:00Z') });
    assert.equal(r.total.calls, 4);
    assert.equal(r.undatedCalls, 2);
    assert.match(renderTable(r), /^2 calls without a timestamp are not in this time range$/m);
    assert.match(renderMarkdown(r), /^> 2 calls without a timestamp are not in this time range$/m);
  });

  it('counts only the undated calls that match the filters, in one word for one call', () => {
    const r = buildReport([state], { by: ['feature'], untilMs: ms('2026-11-21T00:00:00Z'), filters: [{ dim: 'feature', value: 'chat' }] });
    assert.equal(r.undatedCalls, 1);
    assert.match(renderTable(r), /^1 call without a timestamp is not in this time range$/m);
  });

  it('reports 0 and no line without a time range (every call is in it)', () => {
    const r = buildReport([state], { by: ['feature'] });
    assert.equal(r.total.calls, 6);
    assert.equal(r.undatedCalls, 0);
    assert.doesNotMatch(renderTable(r), /without a timestamp/);
  });
});
