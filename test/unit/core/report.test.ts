import * as assert from 'node:assert/strict';
import { renderCsv, renderMarkdown, renderTable } from '../../../src/core/format';
import { buildReport } from '../../../src/core/report';
import { assertUsd, loadText } from '../helpers';

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

describe('buildReport: groups with no priced call', () => {
  const state = loadText(TRACE, 'traces/app.jsonl');
  const report = buildReport([state], { by: ['feature'] });
  const group = (k: string) => report.groups.find((g) => g.key.feature === k)!;

  it('gives a group whose 3 calls are all unpriced costUsd null, not 0, and keeps its call counts', () => {
    const chat = group('chat');
    assert.equal(chat.costUsd, null);
    assert.equal(chat.costWithoutCacheUsd, null);
    assert.equal(chat.cacheSavingsUsd, null);
    assert.equal(chat.errorCostUsd, null);
    assert.equal(chat.p50, null);
    assert.equal(chat.calls, 3);
    assert.equal(chat.pricedCalls, 0);
    assert.equal(chat.unpricedCalls, 3);
    assert.equal(JSON.parse(JSON.stringify(report)).groups[1].costUsd, null);
  });

  it('keeps the cost of a group with 2 priced calls and 1 unpriced: $0.0085', () => {
    const search = group('search');
    assertUsd(search.costUsd!, 0.0085);
    assert.equal(search.calls, 3);
    assert.equal(search.pricedCalls, 2);
    assert.equal(search.unpricedCalls, 1);
    assertUsd(report.total.costUsd!, 0.0085);
    assert.equal(report.total.unpricedCalls, 4);
  });

  it('prints unpriced, not $0.00, in the table, Markdown and CSV', () => {
    const table = renderTable(report);
    assert.match(table, /^chat +unpriced +0% +3 +unpriced +unpriced +unpriced +0% +unpriced +0$/m);
    assert.match(table, /^search +\$0\.0085 +100% +3 /m);
    assert.doesNotMatch(table, /^chat .*\$0\.00/m);
    assert.match(renderMarkdown(report), /^\| chat \| unpriced \| 0% \| 3 \| unpriced \| unpriced \| unpriced \| 0% \| unpriced \| 0 \|$/m);
    const csv = renderCsv(report).trim().split('\n');
    assert.equal(csv[0].split(',').slice(0, 7).join(','), 'feature,cost_usd,share,calls,priced_calls,unpriced_calls,mean_usd');
    const chat = csv.find((l) => l.startsWith('chat,'))!.split(',');
    assert.deepEqual(chat.slice(0, 12), ['chat', 'unpriced', '0', '3', '0', '3', 'unpriced', 'unpriced', 'unpriced', 'unpriced', 'unpriced', '0']);
    assert.deepEqual(chat.slice(12, 14), ['unpriced', 'unpriced']);
    assert.equal(csv.find((l) => l.startsWith('search,'))!.split(',')[1], '0.0085');
  });

  it('gives a total with no priced call null figures and says so', () => {
    const r = buildReport([state], { by: ['feature'], filters: [{ dim: 'feature', value: 'chat' }] });
    assert.equal(r.total.costUsd, null);
    assert.equal(r.total.calls, 3);
    const table = renderTable(r);
    assert.match(table, /^Total unpriced over 3 calls/m);
    assert.match(table, /savings unknown \(no call is priced\)/);
    assert.match(renderMarkdown(r), /^\*\*Total unpriced\*\* over 3 calls/m);
  });

  it('sums the groups --top leaves out as unpriced when none of their calls is priced', () => {
    const r = buildReport([state], { by: ['feature'], top: 1 });
    assert.deepEqual(r.otherGroups, { count: 1, costUsd: null, calls: 3 });
    assert.match(renderTable(r), /^\(1 more\) +unpriced +0% +3$/m);
    const priced = buildReport([state], { by: ['model'], top: 1 });
    assert.equal(priced.groups[0].key.model, 'gpt-4o');
    assert.deepEqual(priced.otherGroups, { count: 1, costUsd: null, calls: 4 });
  });

  it('keeps an empty range at $0 (no call is not an unknown cost)', () => {
    const r = buildReport([state], { by: ['feature'], sinceMs: ms('2027-01-01T00:00:00Z') });
    assert.equal(r.total.calls, 0);
    assert.equal(r.total.costUsd, 0);
  });

  it('compares with a previous period whose calls were all unpriced as "unpriced before", not as new spend', () => {
    const s = loadText(
      [
        line({ ts: '2026-11-20T10:30:00Z', model: 'acme-llm', input_tokens: 10, output_tokens: 10, metadata: { feature: 'x' } }),
        line({ ts: '2026-11-20T12:30:00Z', model: 'gpt-4o', input_tokens: 1000, output_tokens: 0, metadata: { feature: 'x' } }),
      ].join('\n'),
    );
    const r = buildReport([s], { by: ['feature'], sinceMs: ms('2026-11-20T12:00:00Z'), untilMs: ms('2026-11-20T14:00:00Z'), compareToPrevious: true });
    assert.deepEqual({ ...r.previous }, { since: '2026-11-20T10:00:00.000Z', until: '2026-11-20T12:00:00.000Z', costUsd: null, calls: 1 });
    assertUsd(r.groups[0].costUsd!, 0.0025);
    assert.equal(r.groups[0].previousCostUsd, null);
    const table = renderTable(r);
    assert.match(table, /^Previous period \(\d{4}-\d\d-\d\d \d\d:\d\d to \d{4}-\d\d-\d\d \d\d:\d\d UTC\): unpriced over 1 call \(unpriced before\)$/m);
    assert.match(table, /^x +\$0\.0025 .* unpriced before$/m);
    assert.match(renderCsv(r).split('\n')[1], /,unpriced$/);
  });
});

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

  it('without a time range: every call is in the total, which says how many have no time (in no time chart)', () => {
    const r = buildReport([state], { by: ['feature'] });
    assert.equal(r.total.calls, 6);
    assert.equal(r.undatedCalls, 0);
    assert.equal(r.total.undatedCalls, 2);
    assert.doesNotMatch(renderTable(r), /not in this time range/);
    assert.match(renderTable(r), /^Total \$0\.0085 over 6 calls \(calls 2026-11-20 10:00 to 2026-11-20 13:00 UTC; 2 without a timestamp\)$/m);
    assert.match(renderMarkdown(r), /^\*\*Total \$0\.0085\*\* over 6 calls \(2 without a timestamp\) · /m);
    // With a range, the undated calls are out of the total (and said so under the table).
    assert.equal(buildReport([state], { by: ['feature'], sinceMs: ms('2026-11-20T00:00:00Z') }).total.undatedCalls, 0);
    const undated = loadText('{"model":"gpt-4o","input_tokens":1000,"output_tokens":0}\n{"model":"gpt-4o","input_tokens":1000,"output_tokens":0}\n');
    assert.match(renderTable(buildReport([undated], { by: ['feature'] })), /^Total \$0\.0050 over 2 calls \(none has a timestamp\)$/m);
  });
});

describe('buildReport: many warnings and a few bad lines', () => {
  it('keeps and counts the bad lines however many warnings come first (errors and warnings are capped apart)', () => {
    const lines: string[] = [];
    for (let n = 0; n < 6000; n++) lines.push(`{"model":"gpt-4o","input_tokens":10.5,"output_tokens":2,"metadata":{"feature":"f"}}`);
    for (let n = 0; n < 10; n++) lines.push('{"model":"gpt-4o", broken');
    const state = loadText(lines.join('\n') + '\n');
    const r = buildReport([state], { by: ['feature'] });
    assert.equal(r.skippedTotal, 10);
    assert.equal(r.skipped.length, 10);
    assert.deepEqual(r.skipped.map((s) => s.line), [6001, 6002, 6003, 6004, 6005, 6006, 6007, 6008, 6009, 6010]);
    assert.equal(r.files[0].skipped, 10);
    assert.equal(r.warningsTotal, 6000);
    assert.equal(r.warnings.length, 5000);
    assert.equal(state.droppedWarnings, 1000);
    const table = renderTable(r);
    assert.match(table, /Skipped 10 bad lines or records:/);
    assert.match(table, /test\.jsonl:6001: /);
    assert.match(table, /Warnings \(6,000\):/);
  });
});

describe('buildReport: cache savings of calls priced by recorded costs only', () => {
  it('are unknown (null, "unknown") where a priced call has no list price, not $0.00 or the part that is known', () => {
    const state = loadText(
      [
        line({ model: 'acme-x', input_tokens: 100, output_tokens: 10, cache_read_tokens: 50, cost_usd: 0.01, metadata: { feature: 'a' } }),
        line({ model: 'gpt-4o', input_tokens: 100, output_tokens: 10, cache_read_tokens: 50, cost_usd: 0.01, metadata: { feature: 'b' } }),
      ].join('\n') + '\n',
    );
    for (const costSource of ['auto', 'recorded'] as const) {
      const r = buildReport([state], { by: ['feature'], costSource });
      const a = r.groups.find((g) => g.key.feature === 'a')!;
      const b = r.groups.find((g) => g.key.feature === 'b')!;
      assert.equal(a.costUsd, 0.01);
      assert.equal(a.cacheSavingsUsd, null);
      assert.equal(a.costWithoutCacheUsd, null);
      // gpt-4o: 50 cache-read tokens at $2.50/M instead of $1.25/M.
      assertUsd(b.cacheSavingsUsd!, (50 * (2.5 - 1.25)) / 1e6);
      // The total holds a's call: its savings are unknown too.
      assert.equal(r.total.cacheSavingsUsd, null);
      assert.equal(r.total.costWithoutCacheUsd, null);
      assert.match(renderTable(r), /^a +\$0\.0100 +50% +1 +\$0\.0100 +\$0\.0100 +\$0\.0100 +33% +unknown +0$/m);
      assert.match(renderCsv(r), /^a,0\.01,.*,unknown,unknown,0,/m);
    }
    const onlyA = buildReport([state], { by: ['feature'], filters: [{ dim: 'feature', value: 'a' }] });
    assert.equal(onlyA.total.cacheSavingsUsd, null);
    assert.match(renderTable(onlyA), /savings unknown \(calls priced by their recorded cost only, with no list price for their model\)/);
    assert.match(renderMarkdown(onlyA), /savings unknown \(recorded costs only\)/);
  });
});

describe('buildReport: --top with --compare', () => {
  it('gives the groups left out their share and change in every format, adding up with the groups shown', () => {
    const day = (d: number, feature: string, input: number) => line({ ts: `2026-11-${d}T10:00:00Z`, model: 'gpt-4o', input_tokens: input, output_tokens: 0, metadata: { feature } });
    // Previous day: a $0.0025, b $0.0050, c $0.0025; this day: a $0.0100, b $0.0050, c $0.0050.
    const state = loadText([day(20, 'a', 1000), day(20, 'b', 2000), day(20, 'c', 1000), day(21, 'a', 4000), day(21, 'b', 2000), day(21, 'c', 2000)].join('\n') + '\n');
    const r = buildReport([state], { by: ['feature'], top: 1, sinceMs: ms('2026-11-21T00:00:00Z'), untilMs: ms('2026-11-22T00:00:00Z'), compareToPrevious: true });
    assert.deepEqual(r.groups.map((g) => g.key.feature), ['a']);
    assertUsd(r.groups[0].previousCostUsd!, 0.0025);
    assertUsd(r.otherGroups.costUsd!, 0.01);
    assertUsd(r.otherGroups.previousCostUsd!, 0.0075);
    assertUsd(r.groups[0].previousCostUsd! + r.otherGroups.previousCostUsd!, r.previous!.costUsd!);
    assert.match(renderTable(r), /^\(2 more\) +\$0\.0100 +50% +2 +\+33%$/m);
    assert.match(renderMarkdown(r), /^\| \(2 more\) \| \$0\.0100 \| 50% \| 2 \|( +\|){6} \+33% \|$/m);
    assert.match(renderCsv(r), /^\(2 more groups\),0\.01,0\.5,2,.*,0\.0075$/m);
  });
});

describe('buildReport: the order of groups, and of files, over a file read as one table or as ranges', () => {
  // Two groups of one label: the calls without a feature and those whose feature is "(unattributed)", of the same cost
  // and calls, so that only the order their first call came in tells them apart (from an independent review: groups
  // numbered in id order put the calls without a value first).
  const head = line({ ts: '2026-11-01T00:00:00Z', model: 'o3', input_tokens: 10, output_tokens: 1, cost_usd: 0.5, metadata: { feature: '(unattributed)' } });
  const middle = Array.from({ length: 40 }, (_, k) => line({ ts: '2026-11-01T00:00:00Z', model: 'o3', input_tokens: 1, output_tokens: 1, cost_usd: 0.01, metadata: { feature: `f${k % 5}` } }));
  const tail = line({ ts: '2026-11-01T00:00:01Z', model: 'o3', input_tokens: 99, output_tokens: 1, cost_usd: 0.5 });
  const inputsOfTies = (r: ReturnType<typeof buildReport>) => r.groups.filter((g) => g.key.feature === '(unattributed)').map((g) => g.tokens.input);

  it('keeps groups of the same label and figures in the order their first call came, in one table and across ranges', () => {
    const one = loadText([head, ...middle, tail].join('\n') + '\n', 't.jsonl');
    assert.deepEqual(inputsOfTies(buildReport([one], { by: ['feature'] })), [10, 99]);
    // The same file as three ranges' tables (the CLI's report of a big file), each with its own strings.
    const parts = [loadText([head, ...middle.slice(0, 20)].join('\n') + '\n', 't.jsonl'), loadText(middle.slice(20).join('\n') + '\n', 't.jsonl'), loadText(tail + '\n', 't.jsonl')];
    for (const p of parts.slice(1)) p.continues = true;
    assert.equal(JSON.stringify(buildReport(parts, { by: ['feature'] })), JSON.stringify(buildReport([one], { by: ['feature'] })));
  });

  it('lists a file once for its ranges, and two files of the same name (two folders of one name) apart', () => {
    const a = loadText(TRACE, 'app/t.jsonl');
    const b = loadText(TRACE, 'app/t.jsonl');
    assert.deepEqual(buildReport([a, b], { by: ['feature'] }).files.map((f) => [f.file, f.calls]), [['app/t.jsonl', 6], ['app/t.jsonl', 6]]);
    b.continues = true;
    assert.deepEqual(buildReport([a, b], { by: ['feature'] }).files.map((f) => [f.file, f.calls]), [['app/t.jsonl', 12]]);
  });

  it('counts and says which calls record $0 though their tokens have a price (auto source only)', () => {
    const text = ['{"model":"gpt-4o","input_tokens":1000,"output_tokens":100,"cost":0,"feature":"x"}', '{"model":"gpt-4o","input_tokens":1000,"output_tokens":100,"cost":0.5,"feature":"x"}', '{"model":"acme-x","input_tokens":1000,"output_tokens":100,"cost":0,"feature":"x"}', '{"model":"gpt-4o","input_tokens":2000,"output_tokens":100,"feature":"x"}'].join('\n');
    const state = loadText(text);
    const auto = buildReport([state], { by: ['feature'] });
    // gpt-4o: 1,000 in at $2.50 + 100 out at $10 per Mtok; the unknown model recorded at $0 has no price to compare.
    assert.equal(auto.zeroRecorded.calls, 1);
    assertUsd(auto.zeroRecorded.computedUsd, 0.0035);
    assert.match(renderTable(auto), /^1 call records a cost of \$0, counted as such, though its tokens cost \$0\.0035 at list prices \(--cost-source computed prices them\)$/m);
    assert.match(renderMarkdown(auto), /^> 1 call records a cost of \$0, counted as such, though its tokens cost \$0\.0035 at list prices \(`--cost-source computed` prices them\)$/m);
    for (const costSource of ['computed', 'recorded'] as const) {
      const r = buildReport([state], { by: ['feature'], costSource });
      assert.deepEqual(r.zeroRecorded, { calls: 0, computedUsd: 0 }, costSource);
      assert.doesNotMatch(renderTable(r), /records a cost of \$0/);
    }
  });
});
