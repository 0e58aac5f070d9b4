import * as assert from 'node:assert/strict';
import { callRowText, callTime, errorsText, fileName, groupIcon, groupRowText, loadingMessage, moreCallsText, moreRowText, noCallsMessage, shareLine, statusWithUnread, unpricedLine, unpricedTooltip, unreadText } from '../../../src/views/viewText';

describe('cost tree texts', () => {
  const g = { calls: 320, pricedCalls: 320, unpricedCalls: 0, costUsd: 15.37, shareOfParent: 0.35 };

  it('puts the cost, the share and the calls first, short enough for the default sidebar width', () => {
    assert.equal(groupRowText(g), '$15.37 · 35% · 320 calls');
    assert.ok(groupRowText(g).length <= 24, groupRowText(g));
  });

  it('puts one call in the singular, and counts unpriced calls last', () => {
    assert.equal(groupRowText({ ...g, calls: 1, pricedCalls: 1 }), '$15.37 · 35% · 1 call');
    assert.equal(groupRowText({ ...g, unpricedCalls: 2, calls: 322 }), '$15.37 · 35% · 322 calls · 2 unpriced');
    assert.equal(groupRowText({ calls: 0, pricedCalls: 0, unpricedCalls: 0, costUsd: 0, shareOfParent: 0 }), '$0.00 · 0% · 0 calls');
  });

  it('says unpriced, with no share of the cost, for a group whose calls have no price', () => {
    const u = { calls: 3, pricedCalls: 0, unpricedCalls: 3, costUsd: 0, shareOfParent: 0 };
    assert.equal(groupRowText(u), 'unpriced · 3 calls');
    assert.equal(shareLine(u, { dim: 'feature', value: 'search' }), undefined);
  });

  it('names the parent in the tooltip’s share line', () => {
    assert.equal(shareLine(g, { dim: 'feature', value: 'search' }), '35% of the cost of feature search');
    assert.equal(shareLine(g, undefined), '35% of the total cost');
  });

  it('words the errors cell with what the amount is', () => {
    assert.equal(errorsText(9, 0.2326), '9 ($0.2326 spent on failed calls)');
    assert.equal(errorsText(1, 1.5), '1 ($1.50 spent on the failed call)');
    assert.equal(errorsText(0, 0), '0');
  });

  it('says in the tooltip that unpriced calls are left out of the cost, and how to price them', () => {
    assert.equal(unpricedTooltip(34), "34 calls have no price and are not counted in the cost above: add their model's price with Open Prices File (in the view's … menu).");
    assert.match(unpricedTooltip(1), /^1 call has no price and is not counted .* add its model's price/);
  });

  it('sums the smaller groups', () => {
    assert.equal(moreRowText({ calls: 1, pricedCalls: 1, costUsd: 1.2 }), '$1.20 · 1 call');
    assert.equal(moreRowText({ calls: 4, pricedCalls: 0, costUsd: 0 }), 'unpriced · 4 calls');
  });

  it('words an empty range for each range, never "in the all time"', () => {
    const latest = Date.parse('2026-11-01T08:30:00Z');
    assert.deepEqual(noCallsMessage('7d', latest), { text: 'No calls in the last 7 days', detail: 'latest call 2026-11-01 08:30 UTC: choose a longer time range', rangeHint: true });
    assert.equal(noCallsMessage('24h', latest).text, 'No calls in the last 24 h');
    assert.equal(noCallsMessage('30d', undefined).detail, 'the trace files hold no dated call');
    const all = noCallsMessage('all', undefined);
    assert.equal(all.text, 'No calls in the trace files');
    assert.equal(all.rangeHint, false, 'another range would not help');
    assert.doesNotMatch(all.text, /all time/);
  });
});

describe('cost tree icons', () => {
  const none = { anomalies: 0, unpricedCalls: 0 };

  it('are uncoloured for plain groups, with no symbol icon the theme would tint', () => {
    for (const dim of ['feature', 'user', 'model', 'agent', 'template', 'tool', 'provider', 'env']) {
      const icon = groupIcon(dim, none);
      assert.equal(icon.color, undefined, dim);
      assert.doesNotMatch(icon.id, /^symbol-/, dim);
    }
    assert.equal(groupIcon('feature', none).id, 'layers');
    assert.equal(groupIcon('env', none).id, 'tag');
  });

  it('show unpriced calls with a warning sign, anomalies with another, and budgets over both', () => {
    assert.deepEqual(groupIcon('feature', { ...none, unpricedCalls: 34 }), { id: 'warning', color: 'list.warningForeground' });
    assert.deepEqual(groupIcon('feature', { anomalies: 2, unpricedCalls: 34 }), { id: 'pulse', color: 'list.warningForeground' });
    assert.deepEqual(groupIcon('feature', { ...none, budgetLevel: '80', anomalies: 1 }), { id: 'warning', color: 'list.warningForeground' });
    assert.deepEqual(groupIcon('feature', { ...none, budgetLevel: '100', unpricedCalls: 1 }), { id: 'error', color: 'list.errorForeground' });
    assert.deepEqual(groupIcon('user', { ...none, budgetLevel: 'ok' }), { id: 'account' });
  });
});

describe('call rows under a leaf', () => {
  const NOW = Date.parse('2026-12-02T03:00:00Z');
  const call = { costUsd: 0.103, model: 'claude-sonnet-4-5-20250929', tsMs: Date.parse('2026-11-18T18:06:41Z'), error: false, file: 'traces/app.jsonl', line: 2130 };

  it('say the cost, the time in UTC and the record, without the model a parent names', () => {
    const r = callRowText(call, { modelShown: true, nowMs: NOW });
    assert.equal(r.label, '$0.1030');
    assert.equal(r.description, 'Nov 18 18:06 UTC · app.jsonl:2130');
    assert.equal(r.tooltip, '$0.1030 · claude-sonnet-4-5-20250929 · 2026-11-18 18:06:41 UTC\nOpen the record at line 2130 of traces/app.jsonl');
  });

  it('name the model when no parent is a model, and say a call failed', () => {
    const r = callRowText({ ...call, error: true, model: '' }, { modelShown: false, nowMs: NOW });
    assert.equal(r.label, '$0.1030 · (no model)');
    assert.equal(r.description, 'Nov 18 18:06 UTC · error · app.jsonl:2130');
    assert.match(r.tooltip, / · failed\n/);
  });

  it('give the year of a call from another year, and say when a call has no time', () => {
    assert.equal(callTime(Date.parse('2025-03-04T05:06:00Z'), NOW), 'Mar 4 2025 05:06 UTC');
    assert.equal(callTime(Date.parse('2026-01-01T00:00:00Z'), NOW), 'Jan 1 00:00 UTC');
    assert.equal(callTime(NaN, NOW), 'no time');
    assert.equal(fileName('C:\\traces\\app.jsonl'), 'app.jsonl');
    assert.equal(fileName('app.jsonl'), 'app.jsonl');
  });

  it('end with how many more calls the leaf has than it lists', () => {
    assert.deepEqual(moreCallsText(49, 10), { text: '39 more calls', detail: 'the 10 costliest are shown' });
    assert.deepEqual(moreCallsText(11, 10), { text: '1 more call', detail: 'the 10 costliest are shown' });
    assert.equal(moreCallsText(10, 10), undefined);
    assert.equal(moreCallsText(3, 3), undefined);
  });
});

describe('files not read', () => {
  it('are counted with their reasons, for the tree and the status bar', () => {
    assert.equal(unreadText([]), undefined);
    const one = unreadText([{ file: 'traces/big.jsonl', reason: 'loading cancelled', cancelled: true }])!;
    assert.equal(one.text, '1 trace file not read');
    assert.equal(one.detail, 'loading cancelled');
    assert.deepEqual(one.lines, ['traces/big.jsonl: loading cancelled']);
    const many = unreadText(
      [
        { file: 'a.jsonl', reason: 'loading cancelled', cancelled: true },
        { file: 'b.jsonl', reason: 'EACCES: permission denied', cancelled: false },
        { file: 'c.jsonl', reason: 'loading cancelled', cancelled: true },
      ],
      2,
    )!;
    assert.equal(many.text, '3 trace files not read');
    assert.equal(many.detail, 'loading cancelled, 1 read error');
    assert.deepEqual(many.lines, ['a.jsonl: loading cancelled', 'b.jsonl: EACCES: permission denied', '… and 1 more file']);
  });

  it('put one warning sign on the status bar', () => {
    assert.equal(statusWithUnread('$(graph-line) $1.00 · 7d', 2), '$(graph-line) $1.00 · 7d $(warning)');
    assert.equal(statusWithUnread('$(graph-line) $1.00 · 7d $(warning)', 2), '$(graph-line) $1.00 · 7d $(warning)');
    assert.equal(statusWithUnread('$(graph-line) $1.00 · 7d', 0), '$(graph-line) $1.00 · 7d');
  });
});

describe('status bar tooltip', () => {
  it('puts one unpriced call in the singular', () => {
    assert.equal(unpricedLine(1), '1 call has no price and is not counted');
    assert.equal(unpricedLine(1234), '1,234 calls have no price and are not counted');
  });
});

describe('the tree view message while big files are read', () => {
  it('says how far, for one file or several, then that the calls are being taken in, and nothing when done', () => {
    assert.equal(loadingMessage({ file: 'traces/calls.jsonl', files: 1, fraction: 0.456 }), 'Reading traces/calls.jsonl… 45%');
    assert.equal(loadingMessage({ file: 'traces/b.jsonl', files: 3, fraction: 0.1 }), 'Reading 3 trace files… 10% (traces/b.jsonl)');
    assert.equal(loadingMessage({ file: 'traces/calls.jsonl', files: 1, fraction: 1 }), 'Read traces/calls.jsonl; taking the calls in…');
    assert.equal(loadingMessage(undefined), undefined);
  });
});
