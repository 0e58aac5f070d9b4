import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { joinStrings } from '../core/callTable';
import type { PackedTraceFileState } from '../core/traceFile';

const MAGIC = 'llm-cost-lens/state-cache/2';
const HEAD_BYTES = 4096;

/** What a cache entry must match to be used: the file's size, modification time and first bytes, and the settings. */
export interface CacheKey {
  size: number;
  mtimeMs: number;
  headSha1: string;
  /** Anything else the columns depend on: extension version, price overrides, field mapping. */
  settings: string;
}

export function cacheKeyOf(path: string, settings: string): CacheKey {
  const st = statSync(path);
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(Math.min(HEAD_BYTES, st.size));
    if (head.length) readSync(fd, head, 0, head.length, 0);
    return { size: st.size, mtimeMs: st.mtimeMs, headSha1: createHash('sha1').update(head).digest('hex'), settings };
  } finally {
    closeSync(fd);
  }
}

/** The cache file of a trace file, inside `dir`. */
export function cacheFileFor(dir: string, tracePath: string): string {
  return join(dir, `${createHash('sha1').update(tracePath).digest('hex')}.v8`);
}

/** Writes a file's columns next to its key (atomically: a temp file renamed into place). */
export function writeStateCache(file: string, key: CacheKey, state: PackedTraceFileState): void {
  mkdirSync(join(file, '..'), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  // The strings go as one string and their lengths: hundreds of thousands of trace ids read back in one piece.
  const columns = { ...state.columns, strings: [], joinedStrings: state.columns.joinedStrings ?? joinStrings(state.columns.strings) };
  writeFileSync(tmp, serialize({ magic: MAGIC, key, state: { ...state, columns } }));
  renameSync(tmp, file);
}

function sameKey(a: CacheKey, b: CacheKey): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.headSha1 === b.headSha1 && a.settings === b.settings;
}

/** Checks that what was read has the shape of a state whose every column holds `length` values. */
function wellFormed(s: PackedTraceFileState): boolean {
  const c = s?.columns;
  if (!c || typeof c.length !== 'number' || !Array.isArray(c.strings) || typeof s.file !== 'string' || !s.position) return false;
  const j = c.joinedStrings;
  if (j !== undefined) {
    if (typeof j.text !== 'string' || !(j.lengths instanceof Uint32Array) || j.lengths[0] !== 0) return false;
    let total = 0;
    for (let i = 0; i < j.lengths.length; i++) total += j.lengths[i];
    if (total !== j.text.length) return false;
  }
  const cols = [...Object.values(c.numeric ?? {}), ...Object.values(c.ids ?? {})];
  if (!cols.length) return false;
  for (const col of cols) if (!ArrayBuffer.isView(col) || (col as Uint8Array).length !== c.length) return false;
  const n = j ? j.lengths.length : c.strings.length;
  for (const col of Object.values(c.ids)) for (let i = 0; i < col.length; i++) if (col[i] < 0 || col[i] >= n) return false;
  return true;
}

/**
 * Reads a cache entry when it matches `key`; anything else (missing, another key, truncated, corrupt, malformed)
 * gives undefined and the file is read from its start. A cache is never trusted beyond these checks.
 */
export function readStateCache(file: string, key: CacheKey): PackedTraceFileState | undefined {
  try {
    const v = deserialize(readFileSync(file)) as { magic?: string; key?: CacheKey; state?: PackedTraceFileState };
    if (v?.magic !== MAGIC || !v.key || !sameKey(v.key, key) || !v.state || !wellFormed(v.state)) return undefined;
    return v.state;
  } catch {
    return undefined;
  }
}
