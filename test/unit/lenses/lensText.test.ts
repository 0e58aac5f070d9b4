import * as assert from 'node:assert/strict';
import { PriceBook } from '../../../src/core/pricing';
import {
  baseName,
  Coalescer,
  emptyLensMessage,
  groupDescription,
  lensDetailsPlaceholder,
  lensFigures,
  type LensFigures,
  lensText,
  lensTitle,
  lensTooltip,
  lensTrend,
  needsFileSearch,
  rebuildNow,
  type Timers,
  touchesCallSites,
} from '../../../src/lenses/lensText';
import { loadText } from '../helpers';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-22T12:00:00Z');

const figures = (o: Partial<LensFigures> = {}): LensFigures => ({
  calls: 312,
  pricedCalls: 312,
  unpricedCalls: 0,
  costUsd: 1.23,
  p95Usd: 0.0089,
  cacheHitRatio: 0.82,
  last7: { calls: 0, costUsd: 0 },
  prev7: { calls: 0, costUsd: 0 },
  ...o,
});

describe('lens text', () => {
  it('starts with the lenses’ range and says "cache hit", one call in the singular', () => {
    assert.equal(lensText(figures(), 'all'), 'all time: $1.23 · 312 calls · p95 $0.0089 · cache hit 82%');
    assert.equal(lensText(figures({ calls: 1, pricedCalls: 1 }), '7d'), '7d: $1.23 · 1 call · p95 $0.0089 · cache hit 82%');
    assert.equal(lensText(figures(), '24h').slice(0, 5), '24h: ');
  });

  it('says unpriced, never $0.00, for a site whose calls have no price', () => {
    const t = lensText(figures({ calls: 2, pricedCalls: 0, unpricedCalls: 2, costUsd: 0, p95Usd: 0 }), 'all');
    assert.equal(t, 'all time: unpriced · 2 calls · cache hit 82% · 2 unpriced');
  });

  it('shows the 7-day trend only when the range holds both windows and both have calls with a cost', () => {
    const both = { last7: { calls: 4, costUsd: 1.12 }, prev7: { calls: 3, costUsd: 1 } };
    assert.equal(lensTrend(both, 'all'), '7d ▲12%');
    assert.equal(lensTrend(both, '30d'), '7d ▲12%');
    assert.equal(lensTrend({ last7: { calls: 1, costUsd: 0.5 }, prev7: both.prev7 }, 'all'), '7d ▼50%');
    // The earlier window is outside a 7-day or 24-hour range.
    assert.equal(lensTrend(both, '7d'), '');
    assert.equal(lensTrend(both, '24h'), '');
    // Old data: nothing in the last 7 days would read "▼100%".
    assert.equal(lensTrend({ last7: { calls: 0, costUsd: 0 }, prev7: both.prev7 }, 'all'), '');
    // Nothing to compare with.
    assert.equal(lensTrend({ last7: both.last7, prev7: { calls: 0, costUsd: 0 } }, 'all'), '');
    assert.equal(lensTrend({ last7: both.last7, prev7: { calls: 2, costUsd: 0 } }, 'all'), '');
    assert.equal(lensText(figures(both), 'all'), 'all time: $1.23 · 312 calls · p95 $0.0089 · cache hit 82% · 7d ▲12%');
  });

  it('counts the calls and cost of the last 7 days and of the 7 before', () => {
    const at = (ms: number, tokens: number) => JSON.stringify({ model: 'gpt-4o', input_tokens: tokens, output_tokens: 0, timestamp: new Date(ms).toISOString() });
    const text = [at(NOW - 1 * DAY, 1000), at(NOW - 2 * DAY, 1000), at(NOW - 8 * DAY, 1000), at(NOW - 20 * DAY, 1000)].join('\n') + '\n';
    const { table } = loadText(text, 'a.jsonl', new PriceBook());
    const f = lensFigures([{ table, rows: Int32Array.from([0, 1, 2, 3]) }], NOW, 'auto');
    assert.equal(f.calls, 4);
    assert.equal(f.last7.calls, 2);
    assert.equal(f.prev7.calls, 1);
    assert.ok(Math.abs(f.last7.costUsd - 2 * f.prev7.costUsd) < 1e-12);
    assert.equal(lensTrend(f, 'all'), '7d ▲100%');
  });
});

describe('lens title and click', () => {
  it('hides lenses of sites without calls unless showEmpty, dynamic tags or not', () => {
    assert.equal(lensTitle({ by: 'none', text: '', dynamic: ['feature'] }, 'all', false), undefined);
    assert.equal(lensTitle({ by: 'tags', text: '' }, 'all', false), undefined);
    assert.equal(lensTitle({ by: 'none', text: '', dynamic: ['feature'] }, '7d', true), '$(question) 7d: no calls recorded at this line (tags are dynamic: feature)');
    assert.equal(lensTitle({ by: 'tags', text: '' }, 'all', true), '$(circle-slash) all time: no calls recorded');
  });

  it('titles figures, pending sites and call sites', () => {
    assert.equal(lensTitle({ by: 'callsite', text: 'all time: $1.00 · 1 call' }, 'all', false), '$(graph-line) all time: $1.00 · 1 call · recorded at this line');
    assert.equal(lensTitle({ by: 'tags', text: '7d: $1.00 · 1 call', dynamic: ['user'] }, '7d', false), '$(graph-line) 7d: $1.00 · 1 call (user dynamic)');
    assert.match(lensTitle({ by: 'tags', text: '', pending: true }, 'all', false)!, /adding up/);
  });

  it('explains the range, the cache hit ratio and the trend in the hover', () => {
    const t = lensTooltip({ by: 'tags', text: 'x', filters: [{ dim: 'feature', value: 'search' }] }, 'all');
    assert.match(t, /all time/);
    assert.match(t, /feature=search/);
    assert.match(t, /cache hit ratio/);
    assert.match(t, /last 7 days against the 7 days before/);
    assert.doesNotMatch(lensTooltip({ by: 'callsite', text: 'x' }, '7d'), /7 days before/);
  });

  it('says why a lens has no figures when clicked, and nothing for a lens with figures', () => {
    assert.equal(emptyLensMessage({ by: 'tags', text: '7d: $1.00 · 1 call' }, '7d'), undefined);
    assert.match(emptyLensMessage({ by: 'tags', text: '', pending: true }, 'all')!, /still adding up/);
    assert.match(emptyLensMessage(undefined, 'all')!, /try again/);
    const tags = emptyLensMessage({ by: 'tags', text: '', filters: [{ dim: 'feature', value: 'search' }] }, '7d')!;
    assert.match(tags, /no call recorded in the last 7 days with the tags of this call \(feature=search\)/);
    const none = emptyLensMessage({ by: 'none', text: '', dynamic: ['feature'] }, 'all')!;
    assert.match(none, /^LLM Cost Lens: no call recorded at this site in the trace files\. Its tags \(feature\) are not literals/);
    assert.match(emptyLensMessage({ by: 'tags', text: '', filters: [] }, 'all')!, /no call recorded in the trace files with/);
  });

  it('names the range and its setting in words in the details placeholder, not by the setting’s id', () => {
    assert.equal(lensDetailsPlaceholder('callsite', 'all'), 'Calls recorded at this line, all time (the Code Lens: Range setting)');
    assert.equal(lensDetailsPlaceholder('tags', '7d'), 'Calls with the tags of this call, last 7 days (the Code Lens: Range setting)');
    assert.doesNotMatch(lensDetailsPlaceholder('tags', '30d'), /llmCostLens/);
  });

  it('describes a quick-pick group as unpriced, never $0.00, when none of its calls has a price', () => {
    assert.equal(groupDescription({ calls: 3, pricedCalls: 0, unpricedCalls: 3, costUsd: 0 }), 'unpriced · 3 calls');
    assert.equal(groupDescription({ calls: 1, pricedCalls: 1, unpricedCalls: 0, costUsd: 0.5 }), '$0.5000 · 1 call');
    assert.equal(groupDescription({ calls: 3, pricedCalls: 2, unpricedCalls: 1, costUsd: 2 }), '$2.00 · 3 calls · 1 unpriced');
  });
});

describe('call-site index rebuilds', () => {
  it('searches the workspace again only when a call site names a file not resolved before', () => {
    assert.equal(needsFileSearch(undefined, []), true);
    const resolved = new Map<string, string | undefined>([['/srv/app/src/app.py', '/w/src/app.py'], ['gone.py', undefined]]);
    assert.equal(needsFileSearch(resolved, ['/srv/app/src/app.py', 'gone.py']), false, 'appends at known sites, resolved or not');
    assert.equal(needsFileSearch(resolved, ['/srv/app/src/app.py', 'new.py']), true);
  });

  it('resolves again when a file with the name of a call site is created or deleted, outside node_modules', () => {
    const names = new Set(['app.py', 'index.ts']);
    assert.equal(baseName('C:\\srv\\App.py'), 'app.py');
    assert.equal(touchesCallSites('/w/src/app.py', names), true);
    assert.equal(touchesCallSites('/w/src/other.py', names), false);
    assert.equal(touchesCallSites('/w/node_modules/x/index.ts', names), false);
  });

  it('rebuilds on a store change only when lenses are on and an editor can show them', () => {
    assert.equal(rebuildNow({ enabled: true, editorVisible: true }), true);
    assert.equal(rebuildNow({ enabled: false, editorVisible: true }), false);
    assert.equal(rebuildNow({ enabled: true, editorVisible: false }), false);
  });

  it('runs once for a burst of requests, and again for requests after it ran', () => {
    const timers: { fn: () => void; ms: number }[] = [];
    const fake: Timers = { set: (fn, ms) => timers.push({ fn, ms }), clear: () => timers.splice(0) };
    let runs = 0;
    const c = new Coalescer(500, () => runs++, fake);
    c.request();
    c.request();
    c.request();
    assert.equal(timers.length, 1);
    assert.equal(timers[0].ms, 500);
    assert.ok(c.pending);
    timers.shift()!.fn();
    assert.equal(runs, 1);
    assert.ok(!c.pending);
    c.request();
    c.cancel();
    assert.equal(timers.length, 0);
    assert.ok(!c.pending);
    assert.equal(runs, 1);
  });
});
