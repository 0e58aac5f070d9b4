import { CallTable, joinStrings, type PackedColumns, type StringPool } from './callTable';
import { fastScanBytes } from './fastScan';
import { notTextReason, type ReadPosition, scanJsonDocuments } from './jsonl';
import { type FieldMapping, newContext, type NormalizeContext, normalizeDocument } from './normalize';
import type { PriceBook } from './pricing';
import type { Problem } from './types';

/** How many problems one file keeps in full; the rest are only counted. */
export const MAX_PROBLEMS_PER_FILE = 5000;

/** How many bytes a fingerprint samples at the start of a file and just before the read offset. */
export const FINGERPRINT_SAMPLE_BYTES = 64;

/** What identifies the content read so far, to tell an append from a truncation or a replacement. */
export interface FileFingerprint {
  size: number;
  /** Inode (or file id); 0 when unknown. */
  ino: number;
  /** The first bytes of the file as hex (up to 64 bytes). */
  head: string;
  /**
   * The bytes just before `tailEnd` as hex (up to 64 bytes). A state keeps the bytes before its read offset; the
   * fingerprint taken to check it samples the file at that same offset, so a file truncated and written again with
   * the same first bytes is still told apart. Absent in fingerprints taken without it (then only the head counts).
   */
  tail?: string;
  /** Where `tail` ends (a byte offset). */
  tailEnd?: number;
}

/** The reading state of one trace file: where to resume, its calls, its problems. */
export interface TraceFileState {
  file: string;
  position: ReadPosition;
  fingerprint?: FileFingerprint;
  ctx: NormalizeContext;
  table: CallTable;
  problems: Problem[];
  /** Errors (skipped lines or records) beyond MAX_PROBLEMS_PER_FILE, counted only. */
  droppedProblems: number;
  /** Warnings beyond MAX_PROBLEMS_PER_FILE (capped apart, so that warnings never push errors out), counted only. */
  droppedWarnings?: number;
  /**
   * Set when the file's first bytes show it is not UTF-8 text (binary, compressed, UTF-16): why, as reported in its one
   * problem. Its bytes, appended ones included, are then skipped until the file is replaced or truncated.
   */
  notText?: string;
  /** Lines read so far by the fast scanner, by the exact path it fell back to, and by its WebAssembly loop (counts). */
  scanned?: { fastLines: number; slowLines: number; wasmLines: number };
  /**
   * Set on a state that only holds rows: those of a byte range of the file of the state before it in a list (the CLI's
   * report reads a big file's ranges without merging them), whose problems, counts and position that state holds.
   */
  continues?: true;
}

export function newTraceFileState(file: string, pool: StringPool, mapping?: FieldMapping): TraceFileState {
  return {
    file,
    position: { offset: 0, line: 1 },
    ctx: newContext(file, mapping),
    table: new CallTable(file, pool),
    problems: [],
    droppedProblems: 0,
  };
}

/**
 * True when the file must be read again from the start: it shrank below what was read, was replaced (another inode),
 * its first bytes changed, or the bytes just before the read offset changed (truncated and rewritten past the old
 * size). Otherwise only the bytes after `position.offset` are new. `now` should sample its tail at
 * `state.position.offset` (see FileFingerprint.tail); a tail taken elsewhere is not compared.
 */
export function mustReload(state: TraceFileState, now: FileFingerprint): boolean {
  const prev = state.fingerprint;
  if (!prev) return state.position.offset > 0;
  if (now.size < state.position.offset) return true;
  if (prev.ino !== 0 && now.ino !== 0 && prev.ino !== now.ino) return true;
  const n = Math.min(prev.head.length, now.head.length);
  if (prev.head.slice(0, n) !== now.head.slice(0, n)) return true;
  const at = state.position.offset;
  return prev.tail !== undefined && now.tail !== undefined && prev.tailEnd === at && now.tailEnd === at && prev.tail !== now.tail;
}

/**
 * Checks the first bytes of the file (`head`: its content from offset 0, up to TEXT_SNIFF_BYTES are looked at) once,
 * while nothing of it has been read: when they show it is not UTF-8 text, marks the state and reports one problem for
 * the file (line 1), which is returned. Does nothing for a state already past offset 0 or already marked.
 */
export function checkTextHead(state: TraceFileState, head: Uint8Array): Problem | undefined {
  if (state.notText !== undefined || state.position.offset !== 0 || head.length === 0) return undefined;
  const why = notTextReason(head);
  if (why === undefined) return undefined;
  state.notText = why;
  return { file: state.file, line: 1, message: why, severity: 'error' };
}

/**
 * Reads `bytes` (the file's content from `state.position.offset` on) into the state: documents are normalised,
 * priced and appended; problems are kept. Returns how many calls were added and how many bytes were consumed
 * (bytes after that were held back: an unfinished last line or document). Bytes of a file that is not text (see
 * `checkTextHead`, applied to bytes from offset 0) are consumed unread, with one problem for the file.
 */
export function ingestBytes(
  state: TraceFileState,
  bytes: Uint8Array,
  final: boolean,
  prices: PriceBook,
  opts?: IngestOptions,
): { added: number; consumed: number; problems: Problem[] } {
  const notText = checkTextHead(state, bytes);
  if (state.notText !== undefined) {
    // Not a text file: one problem for it (when found here), and its bytes are skipped.
    return advance(state, { offset: state.position.offset + bytes.length, line: state.position.line }, 0, notText ? [notText] : []);
  }
  if (opts?.fast && !state.ctx.mapping) return ingestBytesFast(state, bytes, final, prices);
  const scan = scanJsonDocuments(bytes, state.position, { file: state.file, final, skipIgnorable: !state.ctx.mapping && opts?.skipIgnorable !== false });
  state.ctx.ignored += scan.ignored;
  const problems: Problem[] = [...scan.problems];
  let added = 0;
  for (const doc of scan.docs) {
    const r = normalizeDocument(doc.value, doc.line, state.ctx);
    for (const c of r.calls) if (state.table.store(c, prices, state.ctx.messages).added) added++;
    if (r.problems.length) problems.push(...r.problems);
  }
  return advance(state, scan.next, added, problems);
}

/** Keeps the problems (in line order, up to the cap) and moves the read position; what `ingestBytes` returns. */
function advance(state: TraceFileState, next: ReadPosition, added: number, problems: Problem[]): { added: number; consumed: number; problems: Problem[] } {
  problems.sort((a, b) => a.line - b.line);
  keepProblems(state, problems);
  const consumed = next.offset - state.position.offset;
  state.position = next;
  return { added, consumed, problems };
}

/**
 * Appends problems to a file's list, up to MAX_PROBLEMS_PER_FILE errors and as many warnings, counting the rest
 * (`droppedProblems` for errors, `droppedWarnings`): thousands of warnings never hide, nor miscount, the bad lines.
 */
export function keepProblems(target: { problems: Problem[]; droppedProblems: number; droppedWarnings?: number }, add: readonly Problem[]): void {
  if (add.length === 0) return;
  let errors = 0;
  for (const p of target.problems) if (p.severity === 'error') errors++;
  let warnings = target.problems.length - errors;
  for (const p of add) {
    if (p.severity === 'error') {
      if (errors < MAX_PROBLEMS_PER_FILE) {
        target.problems.push(p);
        errors++;
      } else target.droppedProblems++;
    } else if (warnings < MAX_PROBLEMS_PER_FILE) {
      target.problems.push(p);
      warnings++;
    } else target.droppedWarnings = (target.droppedWarnings ?? 0) + 1;
  }
}

/** Options of `ingestBytes`. */
export interface IngestOptions {
  /**
   * Read flat records with the byte-level scanner of fastScan.ts (no JSON.parse per line); every other line takes the
   * usual path. Same results; ignored when the state has a field mapping.
   */
  fast?: boolean;
  /**
   * Count the lines the normalizer would only ignore (Claude Code entries other than `assistant`) without parsing them
   * (default true; tests turn it off for the reference reading). Same results.
   */
  skipIgnorable?: boolean;
}

function ingestBytesFast(state: TraceFileState, bytes: Uint8Array, final: boolean, prices: PriceBook): { added: number; consumed: number; problems: Problem[] } {
  const r = fastScanBytes(state.table, state.ctx, bytes, state.position, { file: state.file, final, prices });
  const s = (state.scanned ??= { fastLines: 0, slowLines: 0, wasmLines: 0 });
  s.fastLines += r.fastLines;
  s.slowLines += r.slowLines;
  s.wasmLines += r.wasmLines;
  return advance(state, r.next, r.added, r.problems);
}

/** A file's reading state in a form that crosses threads (structured clone, typed arrays transferable). */
export interface PackedTraceFileState {
  file: string;
  position: ReadPosition;
  fingerprint?: FileFingerprint;
  problems: Problem[];
  droppedProblems: number;
  droppedWarnings?: number;
  notText?: string;
  /** The reading context: its ids as arrays, or (`joined`, the arrays then empty) as one string. */
  ctx: { seenIds: string[]; messages: [string, { out: number; row: number }][]; joined?: JoinedContext; claudeCode?: boolean; currentModel?: string; codexTotal?: string; ignored: number };
  columns: PackedColumns;
}

/**
 * A reading context's ids as one string cut by `lengths` (a big Claude Code transcript has hundreds of thousands of
 * message ids: one string crosses threads and files quickly, and is cut into ids a slice at a time): the seen ids,
 * then the message ids, each with its output tokens (`out`) and row.
 */
export interface JoinedContext {
  ids: { text: string; lengths: Uint32Array };
  /** How many of `ids` are seen ids; the rest are message ids. */
  seen: number;
  out: Float64Array;
  row: Int32Array;
}

/** The packed context with its ids joined (JoinedContext), as it is, when they already are. */
export function joinContext(c: PackedTraceFileState['ctx']): PackedTraceFileState['ctx'] {
  const messages = c.messages ?? [];
  if (c.joined && c.seenIds.length === 0 && messages.length === 0) return c;
  if (c.joined) {
    // Ids joined and ids in arrays both (nothing makes these): all of them, joined.
    const ctx = unpackContext({ file: '', ctx: c });
    return joinContext({ seenIds: [...ctx.seenIds], messages: [...ctx.messages], ...claudeCodeOf(c), currentModel: c.currentModel, codexTotal: c.codexTotal, ignored: c.ignored });
  }
  const ids = joinStrings([...c.seenIds, ...messages.map(([id]) => id)]);
  const out = new Float64Array(messages.length);
  const row = new Int32Array(messages.length);
  messages.forEach(([, m], i) => {
    out[i] = m.out;
    row[i] = m.row;
  });
  return { seenIds: [], messages: [], joined: { ids, seen: c.seenIds.length, out, row }, ...claudeCodeOf(c), currentModel: c.currentModel, codexTotal: c.codexTotal, ignored: c.ignored };
}

/** A context's Claude Code mark (NormalizeContext.claudeCode), packed only when set. */
function claudeCodeOf(c: { claudeCode?: boolean }): { claudeCode?: true } {
  return c.claudeCode === true ? { claudeCode: true } : {};
}

/** Takes ids [from, to) of a joined context into `ctx` (`at`: where id `from` starts in the text); gives where `to` starts. */
export function takeJoinedContext(ctx: NormalizeContext, j: JoinedContext, from: number, to: number, at: number): number {
  const { text, lengths } = j.ids;
  for (let k = from; k < to; k++) {
    const id = text.slice(at, at + lengths[k]);
    at += lengths[k];
    if (k < j.seen) ctx.seenIds.add(id);
    else ctx.messages.set(id, { out: j.out[k - j.seen], row: j.row[k - j.seen] });
  }
  return at;
}

/** A fresh reading context holding a packed one's ids, model and count (`mapping`: the workspace's field mapping). */
export function unpackContext(p: Pick<PackedTraceFileState, 'file' | 'ctx'>, mapping?: FieldMapping): NormalizeContext {
  const ctx = newContext(p.file, mapping);
  for (const id of p.ctx.seenIds) ctx.seenIds.add(id);
  for (const [id, m] of p.ctx.messages ?? []) ctx.messages.set(id, { ...m });
  if (p.ctx.joined) takeJoinedContext(ctx, p.ctx.joined, 0, p.ctx.joined.ids.lengths.length, 0);
  if (p.ctx.claudeCode === true) ctx.claudeCode = true;
  ctx.currentModel = p.ctx.currentModel;
  ctx.codexTotal = typeof p.ctx.codexTotal === 'string' ? p.ctx.codexTotal : undefined;
  ctx.ignored = p.ctx.ignored;
  return ctx;
}

/**
 * A state in a form that crosses threads. `copy` (the default) exports trimmed plain copies of the columns (for a cache
 * or a transfer list); `handOver` gives the table's own columns (shared memory: the receiver adopts them without a
 * copy) and the sender must drop the state.
 */
export function packState(s: TraceFileState, how: 'copy' | 'handOver' = 'copy'): { packed: PackedTraceFileState; transfer: ArrayBuffer[] } {
  const columns = how === 'copy' ? s.table.exportColumns() : s.table.handOver();
  const buffers = new Set<ArrayBuffer>();
  for (const a of [...Object.values(columns.numeric), ...Object.values(columns.ids), columns.traces.bytes, columns.traces.ends]) if (a.buffer instanceof ArrayBuffer) buffers.add(a.buffer);
  const transfer = [...buffers];
  return {
    packed: {
      file: s.file,
      position: s.position,
      fingerprint: s.fingerprint,
      problems: s.problems,
      droppedProblems: s.droppedProblems,
      ...(s.droppedWarnings ? { droppedWarnings: s.droppedWarnings } : {}),
      ...(s.notText !== undefined ? { notText: s.notText } : {}),
      ctx: { seenIds: [...s.ctx.seenIds], messages: [...s.ctx.messages], ...claudeCodeOf(s.ctx), currentModel: s.ctx.currentModel, codexTotal: s.ctx.codexTotal, ignored: s.ctx.ignored },
      columns,
    },
    transfer,
  };
}

/** A packed state taken in: its columns into a table over `pool`; `ctx`, when given, is its context already unpacked. */
export function unpackState(p: PackedTraceFileState, pool: StringPool, mapping?: FieldMapping, ctx: NormalizeContext = unpackContext(p, mapping)): TraceFileState {
  return {
    file: p.file,
    position: p.position,
    fingerprint: p.fingerprint,
    ctx,
    table: CallTable.importColumns(p.file, pool, p.columns),
    problems: p.problems,
    droppedProblems: p.droppedProblems,
    ...(Number.isSafeInteger(p.droppedWarnings) && p.droppedWarnings! > 0 ? { droppedWarnings: p.droppedWarnings } : {}),
    ...(typeof p.notText === 'string' ? { notText: p.notText } : {}),
  };
}
