import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GroupStats } from '../../src/core/analysis';
import { StringPool } from '../../src/core/callTable';
import { type GroupIndex, type IndexNode, SKETCH_RELATIVE_ERROR } from '../../src/core/groupIndex';
import { newContext, normalizeDocument, type FieldMapping } from '../../src/core/normalize';
import { PriceBook } from '../../src/core/pricing';
import { ingestBytes, newTraceFileState, type TraceFileState } from '../../src/core/traceFile';
import { scanJsonDocuments } from '../../src/core/jsonl';
import type { CallRecord, Problem } from '../../src/core/types';

/** The repo root, from out/test/unit (compiled) or test/unit (source). */
export const ROOT = join(__dirname, __dirname.includes(`${'/out/'}`) ? '../../..' : '../..');
export const fixture = (...p: string[]) => join(ROOT, 'test', 'fixtures', ...p);

/** Normalises every document of a JSONL text, as one file. */
export function normalizeText(text: string, file = 'test.jsonl', mapping?: FieldMapping): { calls: CallRecord[]; problems: Problem[]; ignored: number } {
  const scan = scanJsonDocuments(new TextEncoder().encode(text), { offset: 0, line: 1 }, { file, final: true });
  const ctx = newContext(file, mapping);
  const calls: CallRecord[] = [];
  const problems: Problem[] = [...scan.problems];
  for (const d of scan.docs) {
    const r = normalizeDocument(d.value, d.line, ctx);
    calls.push(...r.calls);
    problems.push(...r.problems);
  }
  return { calls, problems, ignored: ctx.ignored };
}

/** Loads a file through the same path the CLI and extension use. */
export function loadFile(path: string, prices = new PriceBook(), pool = new StringPool()): TraceFileState {
  const state = newTraceFileState(path, pool);
  ingestBytes(state, readFileSync(path), true, prices);
  return state;
}

export function loadText(text: string, file = 'test.jsonl', prices = new PriceBook(), pool = new StringPool()): TraceFileState {
  const state = newTraceFileState(file, pool);
  ingestBytes(state, new TextEncoder().encode(text), true, prices);
  return state;
}

/** Asserts two amounts agree to a billionth of a dollar. */
export function assertUsd(actual: number, expected: number, msg = '') {
  if (!(Math.abs(actual - expected) < 1e-9)) throw new Error(`${msg} expected $${expected}, got $${actual}`);
}

/** Asserts two groups' figures agree: counts exactly, amounts to a billionth, percentiles exactly or within the sketch's error. */
export function sameStats(got: GroupStats, want: GroupStats, what: string, exact: boolean) {
  for (const k of ['calls', 'pricedCalls', 'listPricedCalls', 'unpricedCalls', 'inputTokens', 'outputTokens', 'cacheReadTokens', 'cacheWriteTokens', 'reasoningTokens', 'errors', 'firstTsMs', 'lastTsMs'] as const) {
    assert.equal(got[k], want[k], `${what}: ${k}`);
  }
  for (const k of ['costUsd', 'costWithoutCacheUsd', 'cacheSavingsUsd', 'errorCostUsd', 'meanUsd', 'maxUsd', 'cacheHitRatio'] as const) {
    if (Number.isNaN(want[k])) assert.ok(Number.isNaN(got[k]), `${what}: ${k}`);
    else assert.ok(Math.abs(got[k] - want[k]) <= 1e-9 * Math.max(1, Math.abs(want[k])), `${what}: ${k} ${got[k]} != ${want[k]}`);
  }
  for (const k of ['p50Usd', 'p95Usd', 'p99Usd'] as const) {
    if (Number.isNaN(want[k])) assert.ok(Number.isNaN(got[k]), `${what}: ${k}`);
    else if (exact) assert.ok(Math.abs(got[k] - want[k]) <= 1e-12, `${what}: ${k} ${got[k]} != ${want[k]}`);
    else assert.ok(Math.abs(got[k] - want[k]) <= SKETCH_RELATIVE_ERROR * want[k] + 1e-15, `${what}: ${k} ${got[k]} vs ${want[k]} beyond the sketch's error`);
  }
  assert.deepEqual(got.unpricedModels, want.unpricedModels, `${what}: unpriced models`);
}

/**
 * Walks two indexes side by side down every level (materialising them): the same groups in the same order (ties in
 * cost aside), the same rows, figures and percentiles (exact where the fresh one's are), the same undated count.
 */
export function sameIndex(got: GroupIndex, want: GroupIndex, dims: readonly string[]): number {
  assert.equal(got.undated, want.undated, 'undated');
  sameStats(got.total!.stats, want.total!.stats, 'root', true);
  let visited = 0;
  const walk = (g: IndexNode | undefined, w: IndexNode | undefined, path: string[]) => {
    if (path.length >= dims.length) return;
    const gk = got.children(g);
    const wk = want.children(w);
    assert.deepEqual(gk.map((n) => n.value).sort(), wk.map((n) => n.value).sort(), `children of ${path.join('/') || 'root'}`);
    wk.forEach((wn, k) => {
      const gn = gk[k];
      if (gn.value !== wn.value) assert.ok(Math.abs(gn.costUsd - wn.costUsd) <= 1e-9 && gn.calls === wn.calls, `order under ${path.join('/')}: ${gn.value} for ${wn.value}`);
    });
    for (const wn of wk) {
      const gn = gk.find((n) => n.value === wn.value)!;
      const where = [...path, wn.value].join('/');
      assert.equal(gn.exactPercentiles, wn.exactPercentiles, `${where}: exact percentiles`);
      sameStats(gn.stats, wn.stats, where, wn.exactPercentiles);
      assert.ok(Math.abs(gn.shareOfParent - wn.shareOfParent) < 1e-9, `${where}: share`);
      const rows = (n: IndexNode) => n.rowsByTable().filter((p) => p.rows.length).map((p) => [p.table.file, [...p.rows]] as const).sort((a, b) => a[0].localeCompare(b[0]));
      assert.deepEqual(rows(gn), rows(wn), `${where}: rows`);
      visited++;
      walk(gn, wn, [...path, wn.value]);
    }
  };
  walk(undefined, undefined, []);
  return visited;
}

/**
 * Deterministic records: a few features (`features`), users and models, some unpriced, errors, recorded costs, a custom
 * `team` key (a tag), calls without a time.
 */
export function traceLines(n: number, seed: number, features: readonly string[] = ['search', 'chat', 'summarize']): string {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r: Record<string, unknown> = {
      model: ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4-5', 'no-such-model-x'][Math.floor(rnd() ** 2 * 4)],
      input_tokens: Math.floor(rnd() * 5000),
      output_tokens: Math.floor(rnd() * 800),
      cache_read_tokens: rnd() < 0.3 ? Math.floor(rnd() * 3000) : 0,
      timestamp: rnd() < 0.05 ? undefined : new Date(Date.UTC(2026, 10, 1) + Math.floor(rnd() * 20 * 86_400_000)).toISOString(),
      metadata: { feature: rnd() < 0.1 ? undefined : features[Math.floor(rnd() * features.length)], user_id: `u${Math.floor(rnd() * 7)}` },
    };
    if (rnd() < 0.1) r.cost_usd = Math.round(rnd() * 1e4) / 1e6;
    if (rnd() < 0.05) r.error = 'rate_limited';
    if (rnd() < 0.2) r.team = ['a', 'b'][Math.floor(rnd() * 2)];
    out.push(JSON.stringify(r));
  }
  return out.join('\n') + '\n';
}
