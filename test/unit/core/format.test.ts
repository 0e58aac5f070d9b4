import * as assert from 'node:assert/strict';
import { displayWidth, formatCacheSavings, truncate, truncateMiddle, formatChange, formatGroupCost, formatPct, formatTokens, formatUsd, notificationText, renderTable, statusBarText, undatedNote } from '../../../src/core/format';
import { buildReport } from '../../../src/core/report';
import { loadText } from '../helpers';

describe('format', () => {
  it('prints dollars with a precision that fits the amount, and unpriced for no price', () => {
    assert.equal(formatUsd(1234.567), '$1,234.57');
    assert.equal(formatUsd(12.3), '$12.30');
    assert.equal(formatUsd(0.0123), '$0.0123');
    assert.equal(formatUsd(0.00045), '$0.00045');
    assert.equal(formatUsd(0), '$0.00');
    assert.equal(formatUsd(-2), '-$2.00');
    assert.equal(formatUsd(NaN), 'unpriced');
    assert.equal(formatUsd(null), 'unpriced');
    // Below the last digit shown: never a string of zeros, which would read as free.
    assert.equal(formatUsd(1e-12), '<$0.0000000001');
    assert.equal(formatUsd(-1e-12), '>-$0.0000000001');
    assert.equal(formatUsd(1e-10), '$0.0000000001');
  });
  it('cuts a long text between code points, never inside an emoji', () => {
    const cut = truncate('😀'.repeat(50), 40);
    assert.equal(Array.from(cut).length, 40);
    assert.ok(cut.endsWith('😀…'));
    assert.equal(truncate('short', 40), 'short');
  });
  it('keeps trace text from driving the terminal or turning the table around (control characters, direction marks)', () => {
    const line = (feature: string) => JSON.stringify({ model: 'gpt-4o', input_tokens: 10, output_tokens: 1, metadata: { feature } }) + '\n';
    const t = renderTable(buildReport([loadText(line('\u001b[31mred\u001b[0m') + line('pay\u202egnp.exe') + line('a\u2066b\u2069c'))], { by: ['feature'] }));
    assert.doesNotMatch(t, /[\u001b\u202e\u2066\u2069]/);
    assert.match(t, /^\?\[31mred\?\[0m /m);
    assert.match(t, /^pay\?gnp\.exe /m);
    assert.match(t, /^a\?b\?c /m);
  });
  it('cuts a long group name in its middle in the table, keeping its end (a project folder, a version), never inside an emoji', () => {
    assert.equal(truncateMiddle('/home/USER/projects/spotter-worktrees/spotter-dov', 30), '/home/USER/proj…es/spotter-dov');
    assert.equal(Array.from(truncateMiddle('/home/USER/projects/spotter-worktrees/spotter-dov', 30)).length, 30);
    const cut = truncateMiddle('😀'.repeat(50), 9);
    assert.deepEqual([Array.from(cut).length, cut], [9, '😀😀😀😀…😀😀😀😀']);
    assert.equal(truncateMiddle('short', 40), 'short');
    // By whole characters: a skin tone, a flag's second half or a mark never starts the kept end.
    assert.equal(truncateMiddle('👍🏽'.repeat(30), 9), '👍🏽'.repeat(4) + '…' + '👍🏽'.repeat(4));
    assert.equal(truncateMiddle('🇯🇵🇺🇸'.repeat(13), 7), '🇯🇵🇺🇸🇯🇵…🇺🇸🇯🇵🇺🇸');
    assert.equal(truncateMiddle('e\u0301'.repeat(20), 5), 'e\u0301e\u0301…e\u0301e\u0301');
    const t = renderTable(buildReport([loadText(JSON.stringify({ model: 'gpt-4o', input_tokens: 10, output_tokens: 1, metadata: { feature: 'customer-support-escalation-summary-for-tier-two-v2' } }) + '\n')], { by: ['feature'] }));
    assert.match(t, /^customer-support-esc…ary-for-tier-two-v2 /m);
  });
  it('prints a share too small to show as <0.1%, not 0.0%', () => {
    assert.equal(formatPct(0.000004), '<0.1%');
    assert.equal(formatPct(-0.000004), '>-0.1%');
    assert.equal(formatPct(0.0006), '0.1%');
    assert.equal(formatPct(0), '0%');
  });
  it('aligns the table\'s columns by the columns a text takes in a terminal (CJK characters take two)', () => {
    assert.equal(displayWidth('日本語の機能'), 12);
    assert.equal(displayWidth('café'), 4);
    assert.equal(displayWidth('e\u0301'), 1);
    assert.equal(displayWidth('🚀x'), 3);
    // By grapheme: emoji shown as pictures (skin tones, families, VS16, keycaps, flags), composed Hangul, marks.
    for (const [t, w] of [['👍🏽', 2], ['👨‍👩‍👧', 2], ['❤️', 2], ['❤', 1], ['⚡', 2], ['✅', 2], ['1️⃣', 2], ['🀄', 2], ['🇯🇵', 2], ['\u1100\u1161', 2], ['กั', 1], ['אָ', 1], ['a\u1dc0', 1], ['a\u200bb', 2]] as const) {
      assert.equal(displayWidth(t), w, JSON.stringify(t));
    }
    const text = ['日本語の機能', 'search', '한국어'].map((f) => `{"model":"gpt-4o","input_tokens":1000,"output_tokens":100,"metadata":{"feature":"${f}"}}`).join('\n');
    const table = renderTable(buildReport([loadText(text)], { by: ['feature'] }));
    const rows = table.split('\n').filter((l) => /\$0\.0035/.test(l) && !l.startsWith('Total') && !l.startsWith('Per call'));
    assert.equal(rows.length, 3, table);
    // Each row's cost ends in the same terminal column.
    const ends = rows.map((l) => displayWidth(l.slice(0, l.indexOf('$0.0035') + '$0.0035'.length)));
    assert.deepEqual(ends, [ends[0], ends[0], ends[0]], table);
  });
  it('prints a group with calls and none priced as unpriced, never $0.00', () => {
    assert.equal(formatGroupCost({ calls: 3, pricedCalls: 0, costUsd: 0 }), 'unpriced');
    assert.equal(formatGroupCost({ calls: 3, pricedCalls: 0, costUsd: null }), 'unpriced');
    assert.equal(formatGroupCost({ calls: 3, pricedCalls: 1, costUsd: 0.0035 }), '$0.0035');
    assert.equal(formatGroupCost({ calls: 2, pricedCalls: 2, costUsd: 0 }), '$0.00');
    assert.equal(formatGroupCost({ calls: 0, pricedCalls: 0, costUsd: 0 }), '$0.00');
  });
  it('prints the change against a previous cost, and unpriced when either is unknown', () => {
    assert.equal(formatChange(1.2, 1), '+20%');
    assert.equal(formatChange(0.97, 1), '-3.0%');
    assert.equal(formatChange(1, 0), 'new');
    assert.equal(formatChange(0, 0), '–');
    assert.equal(formatChange(1, undefined), '');
    assert.equal(formatChange(null, 1), 'unpriced');
    assert.equal(formatChange(1, null), 'unpriced before');
  });
  it('says how many undated calls a time range leaves out', () => {
    assert.equal(undatedNote(1), '1 call without a timestamp is not in this time range');
    assert.equal(undatedNote(1234), '1,234 calls without a timestamp are not in this time range');
  });
  it('prints ratios and token counts', () => {
    assert.equal(formatPct(0.823), '82%');
    assert.equal(formatPct(0.0123), '1.2%');
    assert.equal(formatTokens(950), '950');
    assert.equal(formatTokens(12_345), '12k');
    assert.equal(formatTokens(4_500_000), '4.5M');
  });
});

describe('statusBarText', () => {
  it('says unpriced, not $0.00, when no call of the range has a price, and warns when some have none', () => {
    assert.equal(statusBarText({ calls: 3, pricedCalls: 0, unpricedCalls: 3, costUsd: 0 }, '7d'), '$(graph-line) unpriced · 7d $(warning)');
    assert.equal(statusBarText({ calls: 3, pricedCalls: 2, unpricedCalls: 1, costUsd: 1.5 }, '7d'), '$(graph-line) $1.50 · 7d $(warning)');
    assert.equal(statusBarText({ calls: 0, pricedCalls: 0, unpricedCalls: 0, costUsd: 0 }, '24h'), '$(graph-line) $0.00 · 24h');
  });
});

describe('notificationText', () => {
  it('keeps trace text from turning into links or new lines in a notification', () => {
    assert.equal(notificationText('[run me](command:workbench.action.terminal.new)'), '［run me］(command:workbench.action.terminal.new)');
    assert.equal(notificationText('line\nbreak\r\tend'), 'line break end');
    assert.equal(notificationText('summarization'), 'summarization');
  });
});

describe('formatCacheSavings', () => {
  it('gives the savings, unpriced with no priced call, and unknown with the reason when some calls have no list price', () => {
    const s = { calls: 10, pricedCalls: 8, listPricedCalls: 8, cacheSavingsUsd: 0.68, costWithoutCacheUsd: 2.1 };
    assert.equal(formatCacheSavings(s), `${formatUsd(0.68)} (without cache ${formatUsd(2.1)})`);
    assert.equal(formatCacheSavings({ ...s, pricedCalls: 0, listPricedCalls: 0, cacheSavingsUsd: 0, costWithoutCacheUsd: 0 }), 'unpriced');
    assert.equal(formatCacheSavings({ ...s, listPricedCalls: 5 }), 'unknown (3 of 8 priced calls have only a recorded cost: no list price for their model)');
  });
});
