import * as assert from 'node:assert/strict';
import type { CallOutlier, TraceOutlier } from '../../src/core/outliers';
import { outlierCallText, outlierTraceText, timesText, whatIfLabel } from '../../src/signalText';

const NOW = Date.parse('2026-12-02T03:00:00Z');

const outlier = (o: Partial<CallOutlier> = {}): CallOutlier => ({
  kind: 'call',
  file: 'traces/app.jsonl',
  line: 2130,
  costUsd: 0.097,
  dim: 'feature',
  group: 'support-agent',
  groupMedianUsd: 0.014,
  multiple: 6.93,
  z: 4.1,
  model: 'claude-sonnet-4-5-20250929',
  tsMs: Date.parse('2026-11-18T18:06:00Z'),
  causes: [],
  text: '',
  ...o,
});

describe('Show Outliers texts', () => {
  it('put the multiple before its sign: 6.9× the median, 13× from ten on', () => {
    assert.equal(timesText(6.93), '6.9×');
    assert.equal(timesText(12.6), '13×');
    assert.equal(outlierCallText(outlier(), NOW).label, '$(flame) $0.0970 · 6.9× the support-agent median');
  });

  it('give an outlier call’s model, time in UTC and call site in the detail line, before its causes', () => {
    const c = outlier({ callsite: { file: '/srv/app/agents/support_agent.py', line: 42 }, causes: [{ code: 'prompt_grew', text: 'input tokens ×21 the group median: the prompt grew' }] });
    const t = outlierCallText(c, NOW);
    assert.equal(t.detail, 'claude-sonnet-4-5-20250929 · Nov 18 18:06 UTC · call site support_agent.py:42 · input tokens ×21 the group median: the prompt grew');
    assert.ok(!('description' in t), 'no description: the group header would cut it on the first row');
  });

  it('give the record’s line when the call site is not recorded, and say when no cause stands out', () => {
    assert.equal(outlierCallText(outlier({ model: '' }), NOW).detail, '(no model) · Nov 18 18:06 UTC · app.jsonl:2130 · no single cause stands out in the record');
  });

  it('lay out a runaway trace as the calls are', () => {
    const t: TraceOutlier = {
      kind: 'trace', traceId: 'tr-9', dim: 'feature', group: 'chat', calls: 40, costUsd: 1.2, medianCalls: 3, medianCostUsd: 0.1, multiple: 13, errors: 0,
      file: 'traces/app.jsonl', line: 7, tsMs: Date.parse('2026-11-20T10:00:00Z'), causes: [{ code: 'loop', text: '40 calls in one trace (usually 3): a loop' }], text: '',
    };
    assert.deepEqual(outlierTraceText(t, NOW), { label: '$(debug-restart) $1.20 · 40 calls · chat', detail: 'trace tr-9 · from Nov 20 10:00 UTC · app.jsonl:7 · 40 calls in one trace (usually 3): a loop' });
  });
});

describe('What If texts', () => {
  it('start the result with a capital, for a group or for all calls', () => {
    assert.equal(whatIfLabel([{ dim: 'feature', value: 'summarization' }], 'these calls'), 'Feature summarization');
    assert.equal(whatIfLabel([{ dim: 'feature', value: 'search' }, { dim: 'user', value: 'u_1' }], 'all calls'), 'Feature search › user u_1');
    assert.equal(whatIfLabel([], 'these calls'), 'These calls');
    assert.equal(whatIfLabel([], 'all calls'), 'All calls');
  });
});
