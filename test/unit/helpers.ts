import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StringPool } from '../../src/core/callTable';
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
