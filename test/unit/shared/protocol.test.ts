import * as assert from 'node:assert/strict';
import { parseFromWebview } from '../../../src/shared/protocol';
import { dashboardHtml } from '../../../src/util/webviewHtml';

describe('webview protocol', () => {
  it('accepts the messages the webview sends', () => {
    assert.deepEqual(parseFromWebview({ type: 'ready' }), { type: 'ready' });
    const q = { range: '7d', groupBy: 'feature', filters: [{ dim: 'user', value: 'u1' }] };
    assert.deepEqual(parseFromWebview({ type: 'setQuery', query: q }), { type: 'setQuery', query: { ...q, sinceMs: undefined, untilMs: undefined } });
    assert.deepEqual(parseFromWebview({ type: 'export', format: 'csv' }), { type: 'export', format: 'csv' });
    assert.deepEqual(parseFromWebview({ type: 'openCostliest', filters: [] }), { type: 'openCostliest', filters: [] });
  });

  it('rejects anything else', () => {
    const bad: unknown[] = [
      null, 'ready', { type: 'nope' }, { type: 'setQuery' }, { type: 'setQuery', query: { range: 'forever', groupBy: 'feature', filters: [] } },
      { type: 'setQuery', query: { range: '7d', groupBy: '', filters: [] } }, { type: 'setQuery', query: { range: 'custom', groupBy: 'x', filters: [], sinceMs: 'yesterday' } },
      { type: 'revealInTree', filters: [{ dim: 1, value: 'x' }] }, { type: 'revealInTree', filters: new Array(11).fill({ dim: 'a', value: 'b' }) },
      { type: 'export', format: 'pdf' }, { type: 'setQuery', query: { range: '7d', groupBy: 'feature', filters: [{ dim: 'user', value: 'x'.repeat(600) }] } },
    ];
    for (const m of bad) assert.equal(parseFromWebview(m), undefined, JSON.stringify(m).slice(0, 80));
  });
});

describe('dashboardHtml', () => {
  const html = dashboardHtml({ cspSource: 'https://x.vscode-cdn.net', nonce: 'abc123', scriptUri: 'https://x/dist/webview.js', styleUri: 'https://x/media/dashboard.css' });
  it('has a strict CSP with the nonce and no inline script', () => {
    assert.match(html, /default-src 'none'; script-src 'nonce-abc123'; style-src https:\/\/x\.vscode-cdn\.net;/);
    assert.equal((html.match(/<script/g) ?? []).length, 1);
    assert.match(html, /<script nonce="abc123" src="https:\/\/x\/dist\/webview\.js"><\/script>/);
    assert.doesNotMatch(html, /\son[a-z]+=/i);
    assert.doesNotMatch(html, /unsafe-inline|unsafe-eval|https?:\/\/(?!x)/);
  });
});
