import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { select, type Slice } from '../../../src/core/analysis';
import { type Anomaly, anomalyHistory, estimateDrift, findAnomalies, findModelSwitches } from '../../../src/core/anomalies';
import { budgetBadge, budgetLine, budgetStatus, parseBudgets, periodBounds, rateBasis, taskCosts, whatIf, whatIfTotalText } from '../../../src/core/budgets';
import { StringPool } from '../../../src/core/callTable';
import { findOutliers, type OutlierReport } from '../../../src/core/outliers';
import { PriceBook } from '../../../src/core/pricing';
import { readTraceFile } from '../../../src/node/traceReader';
import { assertUsd, loadText, ROOT } from '../helpers';

interface Label {
  kind: string;
  feature: string;
  windowFrom?: string;
  windowTo?: string;
  from: string;
  to: string;
  traceId?: string;
  traceIds?: string[];
  callIds?: string[];
}

/** Generates a labelled trace with scripts/genTraces.mjs (the same generator the benchmark uses). */
async function generate(dir: string, name: string, inject: string[]): Promise<{ slices: Slice[]; labels: Label[] }> {
  const gen = await import(pathToFileURL(join(ROOT, 'scripts', 'genTraces.mjs')).href);
  const out = join(dir, `${name}.jsonl`);
  const labels = join(dir, `${name}.labels.json`);
  await gen.generate({ calls: 60_000, days: 21, seed: 5, out, inject, labels: inject.length ? labels : undefined, quiet: true });
  const state = readTraceFile(out, { pool: new StringPool(), prices: new PriceBook(), final: true }).state;
  const t = state.table;
  return {
    slices: select([t]),
    labels: inject.length ? JSON.parse(readFileSync(labels, 'utf8')).injected : [],
  };
}

const overlaps = (a: Anomaly, l: Label) => a.startMs < Date.parse(l.windowTo ?? l.to) + 3_600_000 && a.endMs > Date.parse(l.windowFrom ?? l.from) - 3_600_000;

describe('signals on generated traffic with labelled problems', function () {
  this.timeout(60_000);
  let dir: string;
  let injected: Awaited<ReturnType<typeof generate>>;
  let clean: Awaited<ReturnType<typeof generate>>;
  let outliers: OutlierReport;
  let anomalies: Anomaly[];
  const label = (kind: string) => injected.labels.find((l) => l.kind === kind)!;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lcl-signals-'));
    injected = await generate(dir, 'injected', ['loop', 'grown_prompt', 'model_switch', 'spike', 'cache_invalidation', 'retries']);
    clean = await generate(dir, 'clean', []);
    outliers = findOutliers(injected.slices);
    anomalies = findAnomalies(injected.slices, { dims: ['feature'] });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('finds the runaway loop as a trace outlier and says it is a loop', () => {
    const l = label('loop');
    const t = outliers.traces.find((x) => x.traceId === l.traceId);
    assert.ok(t, 'the loop trace is listed');
    assert.ok(t.causes.some((c) => c.code === 'loop'));
    assert.match(t.text, /calls in one trace \(usually \d+\): a loop/);
  });

  it('finds the retry bursts as traces that paid for failed calls', () => {
    const l = label('retries');
    for (const id of l.traceIds!) assert.ok(outliers.traces.some((x) => x.traceId === id && x.causes.some((c) => c.code === 'retries')), id);
  });

  it('finds the grown prompts as call outliers, explained as a grown prompt, and as a spike of their feature', () => {
    const l = label('grown_prompt');
    const all = findOutliers(injected.slices, { maxCalls: 100_000 });
    const flagged = new Set(all.calls.filter((c) => c.causes.some((x) => x.code === 'prompt_grew')).map((c) => `${c.line}`));
    // callIds → lines: the generator numbers calls c_000000001.. in file order, one per line.
    const lines = l.callIds!.map((id) => String(Number(id.slice(2))));
    const found = lines.filter((x) => flagged.has(x)).length;
    assert.ok(found / lines.length >= 0.9, `recall ${found}/${lines.length}`);
    assert.ok(anomalies.some((a) => a.kind === 'spike' && a.key === l.feature && overlaps(a, l)));
  });

  it('finds the hourly spike of its feature', () => {
    const l = label('spike');
    const a = anomalies.find((x) => x.kind === 'spike' && x.key === l.feature && overlaps(x, l));
    assert.ok(a, 'spike found');
    assert.ok(a.multiple >= 2);
  });

  it('finds the cache invalidation, close to when it started', () => {
    const l = label('cache_invalidation');
    const a = anomalies.find((x) => x.kind === 'cache_drop' && x.key === l.feature && Math.abs(x.startMs - Date.parse(l.windowFrom!)) <= 3 * 3_600_000);
    assert.ok(a, 'cache drop found');
    assert.match(a.text, /cache was invalidated/);
  });

  it('finds the model switch on the day it happened', () => {
    const l = label('model_switch');
    const s = findModelSwitches(injected.slices);
    assert.equal(s.length, 1);
    assert.equal(s[0].key, l.feature);
    assert.equal(new Date(s[0].startMs).toISOString().slice(0, 10), l.windowFrom!.slice(0, 10));
    assert.match(s[0].text, /moved from gpt-4o-mini to gpt-4o/);
  });

  it('raises few false alarms on normal traffic (the same generator with nothing injected)', () => {
    const o = findOutliers(clean.slices, { maxCalls: 100_000 });
    const calls = clean.slices.reduce((a, s) => a + s.rows.length, 0);
    const a = findAnomalies(clean.slices, { dims: ['feature', 'agent'] });
    const switches = findModelSwitches(clean.slices);
    // 21 days × 8 features: at most one false hourly alarm per feature and week.
    assert.ok(a.length <= 24, `${a.length} anomalies on clean traffic`);
    assert.equal(switches.length, 0);
    assert.ok(o.calls.length / calls <= 0.005, `${o.calls.length} outlier calls of ${calls}`);
    assert.ok(o.traces.length <= 2, `${o.traces.length} trace outliers`);
  });

  it('event-level precision of the hourly anomalies on the injected file is at least half', () => {
    const truth = injected.labels.filter((l) => ['spike', 'grown_prompt', 'cache_invalidation', 'model_switch'].includes(l.kind));
    const tp = anomalies.filter((a) => truth.some((l) => l.feature === a.key && overlaps(a, l)));
    assert.ok(tp.length / anomalies.length >= 0.5, `${tp.length} of ${anomalies.length} anomalies match an injected problem`);
  });

  it('states how much of the spend the outliers are', () => {
    assert.match(outliers.headline, /^The top 1% of calls \([\d,]+\) are \d+(\.\d)?% of the spend\./);
    assert.ok(outliers.outlierShare > 0 && outliers.outlierShare < 1);
  });
});

describe('anomalies: the history the detector needs', () => {
  const calls = (hours: number[], extra: Record<string, unknown> = {}) =>
    loadText(hours.map((h) => JSON.stringify({ timestamp: new Date(Date.parse('2026-11-01T00:00:00Z') + h * 3_600_000).toISOString(), model: 'gpt-4o', input_tokens: 1000, output_tokens: 10, feature: 'f', ...extra })).join('\n')).table;

  it('says the history is too short when the calls span less than the 3 days a spike needs', () => {
    const h = anomalyHistory(select([calls([0, 10, 47])]));
    assert.equal(h.enough, false);
    assert.equal(h.days, 47 / 24);
    assert.equal(h.neededDays, 3);
    assert.match(h.note, /^History too short to judge spikes: the calls span 2\.0 days \(2026-11-01 00:00 to 2026-11-02 23:00 UTC\); a spike needs the same hour on at least 3 earlier days/);
    // Spikes indeed cannot be found on it, however large the last hour.
    const burst = calls([...Array.from({ length: 47 }, (_, i) => i), ...Array(200).fill(47)]);
    assert.equal(findAnomalies(select([burst]), { dims: ['feature'] }).filter((a) => a.kind === 'spike').length, 0);
  });

  it('notes a partial baseline from 3 to 7 days, and nothing from 7 days on', () => {
    const four = anomalyHistory(select([calls([0, 4 * 24])]));
    assert.equal(four.enough, true);
    assert.match(four.note, /^Short history: the calls span 4\.0 days .*; a full baseline is the same hour on the previous 7 days/);
    const week = anomalyHistory(select([calls([0, 8 * 24])]));
    assert.equal(week.enough, true);
    assert.equal(week.note, '');
  });

  it('says no hour can be judged when no call has a timestamp', () => {
    const undated = loadText(JSON.stringify({ model: 'gpt-4o', input_tokens: 1000, output_tokens: 10, feature: 'f' }));
    const h = anomalyHistory(select([undated.table]));
    assert.equal(h.enough, false);
    assert.equal(h.from, null);
    assert.match(h.note, /^No call has a timestamp/);
  });
});

describe('outliers: causes in words', () => {
  const base = (i: number, o: Record<string, unknown> = {}) =>
    JSON.stringify({ model: 'claude-sonnet-4-5', input_tokens: 1000 + (i % 7) * 50, cache_read_tokens: 4000, output_tokens: 200 + (i % 5) * 10, trace_id: `t${Math.floor(i / 2)}`, metadata: { feature: 'chat' }, ...o });
  const lines: string[] = [];
  for (let i = 0; i < 200; i++) lines.push(base(i));
  lines.push(base(1000, { input_tokens: 200_000, cache_read_tokens: 0 }));
  lines.push(base(1001, { output_tokens: 60_000 }));
  lines.push(base(1002, { input_tokens: 90_000, error: 'timeout' }));
  // A big cache write (cache reads as usual, input within 5x): billed above the input rate.
  lines.push(base(1003, { cache_write_tokens: 39_000 }));
  // A cheap feature: its outlier must not hide behind the expensive one.
  for (let i = 0; i < 100; i++) lines.push(JSON.stringify({ model: 'gpt-4o-mini', input_tokens: 100, output_tokens: 10, metadata: { feature: 'tagger' } }));
  lines.push(JSON.stringify({ model: 'gpt-4o-mini', input_tokens: 30_000, output_tokens: 10, metadata: { feature: 'tagger' } }));
  const r = findOutliers(select([loadText(lines.join('\n')).table]));

  it('explains a grown prompt, a cache miss, a long answer and a paid error', () => {
    const codes = (line: number) => r.calls.find((c) => c.line === line)?.causes.map((c) => c.code) ?? [];
    assert.deepEqual(codes(201), ['prompt_grew', 'cache_invalidated']);
    assert.deepEqual(codes(202), ['long_answer']);
    assert.deepEqual(codes(203), ['prompt_grew', 'paid_for_error']);
    assert.deepEqual(codes(204), ['prompt_grew', 'cache_written']);
    assert.match(r.calls.find((c) => c.line === 204)!.text, /; 39,000 tokens written to the prompt cache \(usually none\): the cache was \(re\)built$/);
  });

  it('finds the outlier of a cheap feature next to an expensive one', () => {
    const t = r.calls.find((c) => c.group === 'tagger');
    assert.ok(t);
    assert.equal(t.line, 305);
    assert.match(t.text, /×\d+ the tagger median/);
  });
});

describe('estimate drift, budgets, what-if and cost per task', () => {
  const day = '2026-11-20';
  const rows = [
    { ts: `${day}T01:00:00Z`, model: 'gpt-4o', input_tokens: 1_000_000, output_tokens: 0, estimated_cost_usd: 2.0, trace_id: 'a', metadata: { feature: 'f' } }, // actual 2.50
    { ts: `${day}T02:00:00Z`, model: 'gpt-4o', input_tokens: 1_000_000, output_tokens: 0, estimated_cost_usd: 2.5, trace_id: 'a', error: 'timeout', metadata: { feature: 'f' } },
    { ts: `${day}T03:00:00Z`, model: 'gpt-4o', input_tokens: 1_000_000, output_tokens: 0, trace_id: 'a', metadata: { feature: 'f' } },
    { ts: `${day}T04:00:00Z`, model: 'gpt-4o', input_tokens: 400_000, output_tokens: 0, trace_id: 'b', metadata: { feature: 'f' } },
  ];
  const state = loadText(rows.map((r) => JSON.stringify(r)).join('\n'));
  const slices = select([state.table]);

  it('compares pre-flight estimates with actual cost', () => {
    const [d] = estimateDrift(slices);
    assert.equal(d.calls, 2);
    assertUsd(d.estimatedUsd, 4.5);
    assertUsd(d.actualUsd, 5);
    assert.equal(d.offShare, 0, '2.00 vs 2.50 is 25% off, within 30%');
  });

  it('shows budget burn pro rata with a forecast and thresholds', () => {
    const { budgets, problems } = parseBudgets([{ scope: 'total', period: 'day', usd: 10 }, { scope: 'feature', value: 'f', period: 'month', usd: 100 }, { scope: 'feature', period: 'day', usd: 5 }, { period: 'week', usd: 1 }]);
    assert.equal(budgets.length, 2);
    assert.equal(problems.length, 2);
    const noon = Date.parse(`${day}T12:00:00Z`);
    const [daily, monthly] = budgetStatus([state.table], budgets, noon);
    assertUsd(daily.spentUsd, 8.5);
    assert.equal(daily.level, '80');
    assert.equal(daily.elapsedShare, 0.5);
    assertUsd(daily.forecastUsd, 17);
    assert.match(daily.text, /total per day: \$8\.50 of \$10\.00 \(85%\) with 50% of the day gone; forecast \$17\.00 \(70% over\)/);
    assert.equal(monthly.level, 'ok');
    assert.deepEqual(periodBounds('month', noon), { startMs: Date.parse('2026-11-01T00:00:00Z'), endMs: Date.parse('2026-12-01T00:00:00Z') });
  });

  it('counts as spent only the calls before --now, and forecasts from them', () => {
    // At 03:00 the calls at 01:00 and 02:00 are spent; those at 03:00 and 04:00 are not made yet.
    const at3 = Date.parse(`${day}T03:00:00Z`);
    const [daily, monthly] = budgetStatus([state.table], [{ scope: 'total', period: 'day', usd: 10 }, { scope: 'feature', value: 'f', period: 'month', usd: 100 }], at3);
    assertUsd(daily.spentUsd, 5);
    assert.equal(daily.elapsedShare, 3 / 24);
    assertUsd(daily.forecastUsd, 40);
    assert.equal(daily.level, '50');
    assertUsd(monthly.spentUsd, 5);
  });

  it('says how many calls in a budget are unpriced and not counted, and never reads as a plain ok $0.00 when all are', () => {
    const unp = loadText(
      [
        { timestamp: `${day}T10:00:00Z`, model: 'acme-x', input_tokens: 1000, output_tokens: 10, feature: 'f' },
        { timestamp: `${day}T10:30:00Z`, model: 'acme-x', input_tokens: 1000, output_tokens: 10, feature: 'g' },
        { timestamp: `${day}T11:00:00Z`, model: 'gpt-4o', input_tokens: 1_000_000, output_tokens: 0, feature: 'g' },
      ].map((r) => JSON.stringify(r)).join('\n'),
    );
    const noon = Date.parse(`${day}T12:00:00Z`);
    const [f, g] = budgetStatus([unp.table], [{ scope: 'feature', value: 'f', period: 'day', usd: 1 }, { scope: 'feature', value: 'g', period: 'day', usd: 10 }], noon);
    // All unpriced: the spend is unknown, not $0.00.
    assert.equal(f.calls, 1);
    assert.equal(f.unpricedCalls, 1);
    assert.equal(f.spentUsd, 0, 'spentUsd stays the priced calls\' spend');
    assert.doesNotMatch(f.text, /\$0\.00 of/);
    assert.match(f.text, /^feature f per day: spend unknown: 1 call unpriced, not counted \(budget \$1\.00, 50% of the day gone\)$/);
    assert.match(budgetLine(f), /^ {2}\?\? {2}feature f per day: spend unknown/);
    assert.equal(budgetBadge(f), 'unpriced');
    // Some unpriced: the priced spend, and the calls left out.
    assert.equal(g.calls, 2);
    assert.equal(g.unpricedCalls, 1);
    assertUsd(g.spentUsd, 2.5);
    assert.match(g.text, /^feature g per day: \$2\.50 of \$10\.00 \(25%\) with 50% of the day gone; forecast \$5\.00; 1 call unpriced, not counted$/);
    assert.match(budgetLine(g), /^ {2}ok {2}feature g/);
    assert.equal(budgetBadge(g), '25% + 1 unpriced');
    // None unpriced: as before.
    const [d] = budgetStatus([state.table], [{ scope: 'total', period: 'day', usd: 10 }], noon);
    assert.equal(d.unpricedCalls, 0);
    assert.equal(d.calls, 4);
    assert.equal(budgetBadge(d), '85%');
    assert.match(budgetLine(d), /^80%! {2}total per day/);
  });

  it('re-prices a group under another model', () => {
    const w = whatIf(slices, 'gpt-4o-mini', new PriceBook(), { label: 'f' })!;
    assertUsd(w.currentUsd, 8.5);
    assertUsd(w.whatIfUsd, 3.4e6 * 0.15 / 1e6);
    assert.equal(w.comparedCalls, 4);
    assert.match(w.text, /^f on gpt-4o-mini: \$0\.5100 instead of \$8\.50 \(saves \$7\.99, 94%\); saving about \$239\.70 a month if these calls were one day/);
    assert.equal(whatIf(slices, 'no-such-model', new PriceBook()), undefined);
  });

  it('says how many calls a what-if leaves out because their current cost is unknown', () => {
    const unp = loadText(
      [
        { timestamp: `${day}T10:00:00Z`, model: 'acme-x', input_tokens: 1000, output_tokens: 10, feature: 'f' },
        { timestamp: `${day}T10:30:00Z`, model: 'acme-x', input_tokens: 1000, output_tokens: 10, feature: 'g' },
        { timestamp: `${day}T11:00:00Z`, model: 'gpt-4o', input_tokens: 1_000_000, output_tokens: 0, feature: 'g' },
      ].map((r) => JSON.stringify(r)).join('\n'),
    );
    const f = whatIf(select([unp.table], { filters: [{ dim: 'feature', value: 'f' }] }), 'gpt-4o-mini', new PriceBook(), { label: 'feature f' })!;
    assert.equal(f.comparedCalls, 0);
    assert.equal(f.unpricedCalls, 1);
    assert.equal(f.text, 'feature f on gpt-4o-mini: nothing to compare: 1 call left out, its current cost is unknown (unpriced)');
    const g = whatIf(select([unp.table], { filters: [{ dim: 'feature', value: 'g' }] }), 'gpt-4o-mini', new PriceBook(), { label: 'feature g' })!;
    assert.equal(g.comparedCalls, 1);
    assert.equal(g.unpricedCalls, 1);
    assertUsd(g.currentUsd, 2.5);
    assert.match(g.text, /^feature g on gpt-4o-mini: \$0\.1500 instead of \$2\.50 .*; 1 call left out, its current cost is unknown \(unpriced\)$/);
    assert.equal(whatIf(slices, 'gpt-4o-mini', new PriceBook())!.unpricedCalls, 0);
    assert.equal(whatIfTotalText('gpt-4o-mini', 2.5, 0.15, 2), 'All on gpt-4o-mini: $0.1500 instead of $2.50 (saves $2.35); 2 calls left out, their current cost is unknown (unpriced)');
    assert.equal(whatIfTotalText('gpt-4o-mini', 2.5, 0.15, 0), 'All on gpt-4o-mini: $0.1500 instead of $2.50 (saves $2.35)');
  });

  it('says what a monthly what-if figure is scaled from, never extrapolating minutes to a month', () => {
    assert.equal(rateBasis(3 * 86_400_000, true), 'at the rate seen over 3.0 days');
    assert.equal(rateBasis(2 * 60_000, true), 'if these calls were one day of traffic (they span 2 min; shorter spans count as a day)');
    assert.equal(rateBasis(5.5 * 3_600_000, true), 'if these calls were one day of traffic (they span 5.5 h; shorter spans count as a day)');
    assert.equal(rateBasis(0, false), 'if these calls were one day of traffic (they have no timestamps)');
  });

  it('gives cost per task, failed calls and retries', () => {
    const [t] = taskCosts(slices);
    assert.equal(t.tasks, 2);
    assert.equal(t.successfulTasks, 2);
    assertUsd(t.failedCallsUsd, 2.5);
    assertUsd(t.retryUsd, 2.5, 'the call after the timeout on the same model is a retry');
    assertUsd(t.costPerSuccessUsd, 8.5 / 2);
  });
});
