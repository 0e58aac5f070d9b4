import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { CallTable, type PackedColumns, packedStrings, StringPool } from '../core/callTable';
import { type LevelPreview, mergedLevel, type PreviewGroup, previewLevel, type PreviewRequest, tablePart } from '../core/levelPreview';
import { newContext } from '../core/normalize';
import { mergeJoined, StringMerger, TooManyCollisions } from '../core/stringMerge';
import { PriceBook, type PriceOverride } from '../core/pricing';
import { type FileFingerprint, keepProblems, type PackedTraceFileState, packState, type TraceFileState } from '../core/traceFile';
import { wasmScanningOn } from '../core/fastScan';
import { scannerModule, type ScannerModule } from '../core/fastScanWasm';
import { RangeClaims } from './rangeClaims';
import { defaultParallelBytes, defaultRanges, endRangeWorkers, RANGE_WORKER_SCRIPT, takeRangeWorker } from './rangeWorkers';
import { PriceAnswers, type PriceAskPort } from './priceAsk';
import { scanRanges } from './rangeScan';
import { fileFingerprint, fileNotText, readTraceFile } from './traceReader';
import type { Problem } from '../core/types';


/**
 * What a range worker is asked: read party `party`'s range of `claims` (RangeClaims: it starts at `start`, its end is
 * in the shared memory and may move), then take halves of others' ranges while they have `minStealBytes` left.
 * `final` only matters for the range at the end of the file.
 */
export interface RangeRequest {
  path: string;
  file: string;
  start: number;
  final: boolean;
  overrides: [string, PriceOverride][];
  /** Where the worker gets prices from the calling thread's book (PriceAnswers; the port is transferred). */
  priceAsk?: PriceAskPort;
  claims: SharedArrayBuffer;
  party: number;
  minStealBytes: number;
  /** Bytes read at a time (default: chunks.ts CHUNK; tests set it small). */
  chunkBytes?: number;
  /** Reserve room for the rows of [start, this offset) rather than of the range: the first range, whose columns become the table's. */
  reserveUntil?: number;
  /** Sum this level of each range's calls as they are read (`level` of its `done`). */
  level?: PreviewRequest;
  /** The WebAssembly scanner this thread compiled (a worker adopts it and its compiled code: adoptScannerModule). */
  wasmModule?: ScannerModule;
}

/**
 * What a range worker answers: a `done` per range it read (lines in `columns.numeric.line` and `problems` count from 1
 * at its `start`), then `finished`. (Progress goes through the shared RangeClaims.)
 */
export type RangeResponse =
  | {
      type: 'done';
      /** Absolute offset of the range's first byte. */
      start: number;
      /** Columns with `strings` empty: the strings come as `joined` cut by `lens` (one string clones faster than many). */
      columns: PackedColumns;
      joined: string;
      lens: Uint32Array;
      /** hashJoined of the strings, for merging them without a lookup map. */
      hashes: Int32Array;
      problems: Problem[];
      droppedProblems: number;
      droppedWarnings: number;
      ignored: number;
      /** Newlines consumed in the range. */
      lines: number;
      /** The range's groups of the requested level (RangeRequest.level); null when they are more than MAX_PREVIEW_GROUPS. */
      level?: PreviewGroup[] | null;
      /** Absolute offset after the last byte consumed. */
      endOffset: number;
      /** A line needed state shared across lines (de-duplication ids, Codex model): the file needs one reader. */
      stateful: boolean;
      /** A pretty-printed multi-line document starts in the range: the file needs one reader. */
      multiline: boolean;
      fastLines: number;
      slowLines: number;
      wasmLines: number;
    }
  /**
   * `sharedModule`: the worker scanned with the module it was given (RangeRequest.wasmModule), none of its own;
   * `catalogueLoaded`: it loaded the price catalogue (it looked a model up itself: see priceAsk.ts; or it was given no
   * `priceAsk`).
   */
  | { type: 'finished'; sharedModule: boolean; catalogueLoaded: boolean }
  | { type: 'error'; message: string };

export type RangeDone = Extract<RangeResponse, { type: 'done' }>;

export interface ParallelLoadOptions {
  pool: StringPool;
  /** Price overrides (the workers build their PriceBook from them). */
  overrides?: [string, PriceOverride][];
  /**
   * The PriceBook of the single-reader fallback and of the calling thread's ranges (`callerReads`); default: one built
   * from `overrides`. It must price as `overrides` do: the workers build theirs from them.
   */
  prices?: PriceBook;
  /** True when the file is complete (CLI): an unterminated last line is parsed or reported rather than held back. */
  final: boolean;
  displayName?: string;
  /** Worker count; default: available cores, at least 2. */
  workers?: number;
  /** Files smaller than this are read on the calling thread (fast path); default: defaultParallelBytes(). */
  minParallelBytes?: number;
  /** Worker script; default: parseRangeWorker.js next to this module (out/src/node or dist). */
  workerScript?: string;
  /** Split points to use instead of equal shares (tests): byte offsets, moved to the next line start. */
  splitAt?: number[];
  /**
   * The calling thread reads the first range itself, besides the workers (one fewer worker to start, ~0.1 s): for
   * callers whose thread may be busy that long (a CLI, a parse process, a worker), never the extension host's.
   */
  callerReads?: boolean;
  /** A reader that is done takes half of another's rest when at least this much is left (default 4 MB; tests set it small). */
  minStealBytes?: number;
  /** Bytes read at a time by each reader (default: chunks.ts CHUNK; tests set it small to have ranges taken). */
  chunkBytes?: number;
  /** Called as the ranges are read, with the bytes read in all and the file size. */
  onProgress?: (readBytes: number, totalBytes: number) => void;
  /**
   * The tree's first level (`previewLevel`), summed from the ranges as soon as they are read and given to `send`
   * (awaited) before their columns are merged, or from the single reader's table before it is packed
   * (`loadParallelPacked` only; not sent for a level of more than MAX_PREVIEW_GROUPS groups).
   */
  preview?: { request: PreviewRequest; send: (p: LevelPreview) => Promise<unknown> };
}

export interface ParallelLoadResult {
  state: TraceFileState;
  /** Byte ranges read (a reader that took halves of others' reads more than one; 1 when the file was read by one reader). */
  ranges: number;
  /** Why the single reader was used, when it was. */
  sequentialReason?: string;
  fastLines: number;
  slowLines: number;
  /** Of the fast lines, those the WebAssembly loop read (parallel reads only). */
  wasmLines?: number;
}

const HEAD = 64;

/** A reader that is done takes half of another's rest when at least this much is left (a range costs ~1-3 ms to start and merge). */
const MIN_STEAL_BYTES = 4 * 1024 * 1024;

/** Progress of the readers is reported this often (read from their shared counters). */
const PROGRESS_MS = 50;

function fingerprintOf(fd: number, size: number, ino: number): FileFingerprint {
  const head = Buffer.alloc(Math.min(HEAD, size));
  if (head.length) readSync(fd, head, 0, head.length, 0);
  return { size, ino, head: head.toString('hex') };
}

/** True when the first non-blank line of the file is only `{` or `[`: a pretty-printed document (OTLP dump). */
function startsMultiline(fd: number, size: number): boolean {
  const buf = Buffer.alloc(Math.min(size, 64 * 1024));
  readSync(fd, buf, 0, buf.length, 0);
  const text = buf.toString('utf8');
  for (const l of text.split('\n')) {
    const t = l.trim();
    if (t === '') continue;
    return t === '{' || t === '[';
  }
  return false;
}

/** Offsets where ranges start: after the first newline at or after each target (0 first). */
function splitPoints(fd: number, size: number, targets: number[]): number[] {
  const starts = [0];
  const buf = Buffer.alloc(64 * 1024);
  for (const target of targets) {
    let at = Math.max(target, starts[starts.length - 1] + 1);
    let found = -1;
    while (at < size && found < 0) {
      const got = readSync(fd, buf, 0, buf.length, at);
      if (got <= 0) break;
      const i = buf.subarray(0, got).indexOf(10);
      if (i >= 0) found = at + i + 1;
      else at += got;
    }
    if (found > 0 && found < size && found > starts[starts.length - 1]) starts.push(found);
  }
  return starts;
}

/** The ranges a worker read (its own, then those it took from others). */
function runRange(script: string, req: RangeRequest): Promise<RangeDone[]> {
  return new Promise((resolve, reject) => {
    const w = takeRangeWorker(script) ?? new Worker(script);
    const parts: RangeDone[] = [];
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      void w.terminate();
      fn();
    };
    w.on('message', (m: RangeResponse) => {
      if (m.type === 'done') parts.push(m);
      else finish(() => (m.type === 'finished' ? resolve(parts) : reject(new Error(m.message))));
    });
    w.on('error', (e) => finish(() => reject(e)));
    w.on('exit', (code) => finish(() => reject(new Error(`range worker exited with code ${code}`))));
    w.postMessage(req, req.priceAsk ? [req.priceAsk.port] : []);
  });
}

/** The single reader with the fast scanner: readTraceFile, which uses it unless told otherwise. */
export function readWholeFileFast(path: string, file: string, pool: StringPool, prices: PriceBook, final: boolean, onProgress?: (readBytes: number, totalBytes: number) => void): TraceFileState {
  return readTraceFile(path, { pool, prices, final, displayName: file, onProgress }).state;
}

const turn = () => new Promise<void>((r) => setImmediate(r));

function identity(n: number): Int32Array {
  const m = new Int32Array(n);
  for (let i = 0; i < n; i++) m[i] = i;
  return m;
}

/** Interns a part's strings into `pool` in slices, yielding to the event loop between slices. */
async function internSliced(pool: StringPool, joined: string, lens: Uint32Array, slice = 20000): Promise<Int32Array> {
  const map = new Int32Array(lens.length);
  let at = 0;
  for (let i = 0; i < lens.length; ) {
    const end = Math.min(lens.length, i + slice);
    for (; i < end; i++) {
      const n = lens[i];
      map[i] = pool.id(joined.slice(at, at + n));
      at += n;
    }
    if (i < lens.length) await turn();
  }
  return map;
}

/** Merges a part's strings into the pool by hash in slices, yielding to the event loop between slices. */
async function mergeSliced(merger: StringMerger, p: { joined: string; lens: Uint32Array; hashes: Int32Array }, slice = 50000): Promise<Int32Array> {
  const map = new Int32Array(p.lens.length);
  const j = { text: p.joined, lengths: p.lens };
  let at = 0;
  for (let i = 0; i < map.length; i += slice) {
    at = merger.merge(j, p.hashes, map, i, Math.min(map.length, i + slice), at);
    if (i + slice < map.length) await turn();
  }
  return map;
}

/** The ranges of a file read in parallel, or why the file needs the single reader. */
type Ranges = { parts: RangeDone[]; fp: FileFingerprint; fastLines: number; slowLines: number; wasmLines: number } | { sequentialReason: string };

/**
 * Splits the file and reads its ranges on worker threads (those started ahead first: rangeWorkers), or says why the
 * file needs the single reader. Workers started ahead and not needed are ended.
 */
async function readRanges(path: string, file: string, opts: ParallelLoadOptions): Promise<Ranges> {
  try {
    return await readRangesOn(path, file, opts);
  } finally {
    endRangeWorkers();
  }
}

async function readRangesOn(path: string, file: string, opts: ParallelLoadOptions): Promise<Ranges> {
  const overrides = opts.overrides ?? [];
  const fd = openSync(path, 'r');
  let starts: number[];
  let fp: FileFingerprint;
  try {
    const st = fstatSync(fd);
    fp = fingerprintOf(fd, st.size, st.ino);
    if (st.size < (opts.minParallelBytes ?? defaultParallelBytes())) return { sequentialReason: 'small file' };
    if (fileNotText(fd, st.size) !== undefined) return { sequentialReason: 'not a text file' };
    if (startsMultiline(fd, st.size)) return { sequentialReason: 'multi-line documents' };
    const n = Math.max(2, opts.workers ?? defaultRanges());
    const targets = opts.splitAt ?? Array.from({ length: n - 1 }, (_, k) => Math.floor((st.size * (k + 1)) / n));
    starts = splitPoints(fd, st.size, targets);
  } finally {
    closeSync(fd);
  }
  if (starts.length < 2) return { sequentialReason: 'one line' };
  const script = opts.workerScript ?? RANGE_WORKER_SCRIPT;
  // One party per range; each takes halves of the others' rests once its own is done, so a thread slowed by other work
  // on its core holds nobody up. Party 0 (the first range, whose columns become the table's) is the calling thread when
  // it reads too.
  const memory = RangeClaims.memory(starts.length);
  const claims = new RangeClaims(memory);
  starts.forEach((start, k) => claims.init(k, start, k + 1 < starts.length ? starts[k + 1] : fp.size));
  // The scanner's module (compiled here if it is not yet: its functions' code as they are first called, by whichever
  // thread calls them first), shared with the workers. Undefined when this thread has WebAssembly off: workers then
  // compile their own, or not, as their environment says.
  const wasmModule = wasmScanningOn() ? (scannerModule() ?? undefined) : undefined;
  const prices = opts.prices ?? new PriceBook(new Map(overrides));
  // The workers get their prices from this thread's book: it sends what it resolved as it reads, and answers what they
  // ask (between its chunks, or on its event loop). A worker that gets all its answers never loads the price catalogue.
  const answers = new PriceAnswers(prices);
  const caller = opts.callerReads ? 0 : -1;
  const request = (k: number): RangeRequest => ({ wasmModule, path, file, start: starts[k], final: opts.final, overrides, priceAsk: k === caller ? undefined : answers.open(), claims: memory, party: k, minStealBytes: opts.minStealBytes ?? MIN_STEAL_BYTES, chunkBytes: opts.chunkBytes, reserveUntil: k === 0 ? fp.size : undefined, level: opts.preview?.request });
  const progress = () => opts.onProgress?.(claims.read(), fp.size);
  const ticker = opts.onProgress ? setInterval(progress, PROGRESS_MS) : undefined;
  let parts: RangeDone[];
  try {
    const workers = Promise.all(starts.map((_, k) => (k === caller ? Promise.resolve([]) : runRange(script, request(k)))));
    // Workers started ahead and not taken (fewer ranges, another script) are not held for the whole read.
    endRangeWorkers();
    // Settled even if the caller's own read throws (no unhandled rejection): its error is the one reported.
    workers.catch(() => undefined);
    const own: RangeDone[] = [];
    try {
      if (caller === 0) {
        answers.pollOnResolve();
        let chunks = 0;
        scanRanges(request(0), prices, (part) => own.push(part), () => {
          answers.poll();
          if (++chunks % 8 === 0) progress();
        });
      }
      parts = [...own, ...(await workers).flat()].sort((a, b) => a.start - b.start);
    } catch (e) {
      // A reader failed: the others stop where they are rather than read on for nothing.
      claims.stopAll();
      throw e;
    }
  } finally {
    clearInterval(ticker);
    answers.close();
  }
  progress();
  let fastLines = 0, slowLines = 0, wasmLines = 0;
  for (const p of parts) {
    fastLines += p.fastLines;
    slowLines += p.slowLines;
    wasmLines += p.wasmLines;
  }
  if (parts.some((p) => p.multiline)) return { sequentialReason: 'multi-line documents' };
  if (parts.some((p) => p.stateful)) return { sequentialReason: 'records de-duplicated across lines' };
  // The ranges tile the file (RangeClaims keeps them so): anything else is a bug, never a silently wrong table.
  for (let k = 0; k < parts.length; k++) {
    if (parts[k].start !== (k === 0 ? 0 : parts[k - 1].endOffset)) throw new Error(`parallel read: range ${k} starts at ${parts[k].start}, not where the one before ended`);
  }
  return { parts, fp, fastLines, slowLines, wasmLines };
}

/** The single reader with the fast scanner, as the parallel reader's fallback. */
function sequentialLoad(path: string, file: string, opts: ParallelLoadOptions, reason: string): ParallelLoadResult {
  const prices = opts.prices ?? new PriceBook(new Map(opts.overrides ?? []));
  const state = readWholeFileFast(path, file, opts.pool, prices, opts.final, opts.onProgress);
  const s = state.scanned;
  return { state, ranges: 1, sequentialReason: reason, fastLines: s?.fastLines ?? 0, slowLines: s?.slowLines ?? 0, wasmLines: s?.wasmLines ?? 0 };
}

/** What the parts of a file read in ranges say besides their rows: their problems in order (lines counted from the file's start), counts, and where the read ended. */
function partsInfo(path: string, file: string, r: Extract<Ranges, { parts: unknown }>) {
  const kept = { problems: [] as Problem[], droppedProblems: 0, droppedWarnings: 0 };
  const lineOffsets: number[] = [];
  let lineOffset = 0;
  let ignored = 0;
  for (const p of r.parts) {
    lineOffsets.push(lineOffset);
    keepProblems(kept, lineOffset ? p.problems.map((pr) => ({ ...pr, line: pr.line + lineOffset })) : p.problems);
    kept.droppedProblems += p.droppedProblems;
    kept.droppedWarnings += p.droppedWarnings;
    ignored += p.ignored;
    lineOffset += p.lines;
  }
  const ctx = newContext(file);
  ctx.ignored = ignored;
  const last = r.parts[r.parts.length - 1];
  const position = { offset: last.endOffset, line: lineOffset + 1 };
  // The bytes just before the read offset, as the single reader keeps them: the next read checks they are still there.
  const { tail, tailEnd } = fileFingerprint(path, position.offset);
  const fingerprint = { ...r.fp, size: position.offset, tail, tailEnd };
  /** The file's state over `table`: its problems, counts and position. */
  const stateOf = (table: CallTable): TraceFileState => ({ file, position, fingerprint, ctx, table, problems: kept.problems, droppedProblems: kept.droppedProblems, ...(kept.droppedWarnings ? { droppedWarnings: kept.droppedWarnings } : {}) });
  return { lineOffsets, position, fingerprint, stateOf };
}

/** The state of a file read in ranges, once the parts' strings have id maps into `pool`: one table, the parts' problems in order. */
function assemble(path: string, file: string, pool: StringPool, r: Extract<Ranges, { parts: unknown }>, idMaps: Int32Array[]): TraceFileState {
  const { lineOffsets, stateOf } = partsInfo(path, file, r);
  return stateOf(CallTable.fromParts(file, pool, r.parts.map((p, k) => ({ columns: p.columns, lineOffset: lineOffsets[k], idMap: idMaps[k] }))));
}

/** Id maps of the parts' strings into `pool` (the first part adopted when the pool is empty), in event-loop slices. */
async function internParts(pool: StringPool, parts: readonly RangeDone[]): Promise<Int32Array[]> {
  const maps: Int32Array[] = [];
  // Into an empty pool the first part's strings are adopted with their ids (no interning) and the others are merged by
  // hash (no lookup map: the pool builds it when first needed); into a pool with strings, all are interned. Nothing
  // else may intern into the pool until this returns (the merger refuses to go on if something did).
  let merger: StringMerger | undefined;
  // Strings crafted to share a hash (TooManyCollisions) are interned through the pool instead of merged.
  const collided = (e: unknown): undefined => {
    if (!(e instanceof TooManyCollisions)) throw e;
    merger = undefined;
    return undefined;
  };
  for (const [k, p] of parts.entries()) {
    let idMap: Int32Array | undefined;
    if (k === 0 && pool.adopt(packedStrings({ strings: [], joinedStrings: { text: p.joined, lengths: p.lens } }))) {
      idMap = identity(p.lens.length);
      try {
        merger = new StringMerger(pool, p.hashes, parts.reduce((a, q) => a + q.lens.length, 0));
      } catch (e) {
        collided(e);
      }
    } else if (merger) idMap = await mergeSliced(merger, p).catch(collided);
    idMap ??= await internSliced(pool, p.joined, p.lens);
    maps.push(idMap);
  }
  return maps;
}

/**
 * Reads a whole trace file with N worker threads, each parsing one byte range (cut at line starts) with the fast
 * scanner, and merges their columns in order into one table with the same rows, line numbers, problems and costs as
 * the single reader. Files that need one reader (pretty-printed multi-line documents, Claude Code / OTel
 * de-duplication, Codex model state, a field mapping) are read by the single reader (fast path) instead.
 * The calling thread splits the file, reads ranges too with `callerReads` (else it only waits), interns the strings in
 * slices and copies columns.
 */
export async function loadParallel(path: string, opts: ParallelLoadOptions): Promise<ParallelLoadResult> {
  const file = opts.displayName ?? path;
  const r = await readRanges(path, file, opts);
  if ('sequentialReason' in r) return sequentialLoad(path, file, opts, r.sequentialReason);
  const state = assemble(path, file, opts.pool, r, await internParts(opts.pool, r.parts));
  return { state, ranges: r.parts.length, fastLines: r.fastLines, slowLines: r.slowLines, wasmLines: r.wasmLines };
}

/**
 * loadParallel for a caller that only reads the calls once (the CLI's `report`): the ranges' tables as they were read,
 * each with its own strings, as states of the same file in row order, without merging them into one table (~0.1 s
 * less for a million calls). The first holds the file's problems, counts and position; the others only rows (line
 * numbers counted from the file's start; `continues` set). Figures over them are those of the merged table (analysis reads across
 * tables; a report lists a file's states as one file). Falls back to the single reader (one state) as loadParallel does.
 */
export async function loadParallelParts(path: string, opts: ParallelLoadOptions): Promise<Omit<ParallelLoadResult, 'state'> & { states: TraceFileState[] }> {
  const file = opts.displayName ?? path;
  const r = await readRanges(path, file, opts);
  if ('sequentialReason' in r) {
    const { state, ...rest } = sequentialLoad(path, file, opts, r.sequentialReason);
    return { ...rest, states: [state] };
  }
  const { lineOffsets, position, fingerprint, stateOf } = partsInfo(path, file, r);
  const states = r.parts.map((p, k): TraceFileState => {
    // Columns in shared memory with their strings adopted by a pool of their own: taken as they are, not copied.
    const table = CallTable.importColumns(file, new StringPool(), { ...p.columns, joinedStrings: { text: p.joined, lengths: p.lens } });
    table.shiftLines(lineOffsets[k]);
    if (k === 0) return stateOf(table);
    return { file, position, fingerprint, ctx: newContext(file), table, problems: [], droppedProblems: 0, continues: true };
  });
  return { states, ranges: r.parts.length, fastLines: r.fastLines, slowLines: r.slowLines, wasmLines: r.wasmLines };
}

/**
 * loadParallel for a caller that only packs the result (the parse process, which writes it as a state-cache file):
 * the same columns and strings as `packState(loadParallel(...).state, 'handOver')`, but the parts' strings are merged
 * in their joined form (mergeJoined), never cut into a string each or put in a pool: ~0.1 s less for a million calls.
 * `opts.pool` is only used by the fallbacks (the single reader; strings crafted to collide).
 */
export async function loadParallelPacked(path: string, opts: ParallelLoadOptions): Promise<Omit<ParallelLoadResult, 'state'> & { packed: PackedTraceFileState; calls: number }> {
  const file = opts.displayName ?? path;
  const r = await readRanges(path, file, opts);
  const pack = ({ state, ...rest }: ParallelLoadResult) => ({ ...rest, packed: packState(state, 'handOver').packed, calls: state.table.length });
  if ('sequentialReason' in r) {
    const one = sequentialLoad(path, file, opts, r.sequentialReason);
    const level = opts.preview && previewLevel([tablePart(one.state.table)], opts.preview.request);
    if (level) await opts.preview!.send(level);
    return pack(one);
  }
  if (opts.preview) {
    // Summed by the readers as they read (every range was asked for it); null: a range alone had too many groups.
    const summed = r.parts.map((p) => p.level);
    const level = summed.every((g): g is PreviewGroup[] => Array.isArray(g)) ? mergedLevel(summed, opts.preview.request) : undefined;
    if (level) await opts.preview.send(level);
  }
  const counts = { ranges: r.parts.length, fastLines: r.fastLines, slowLines: r.slowLines, wasmLines: r.wasmLines };
  let merged: ReturnType<typeof mergeJoined>;
  try {
    merged = mergeJoined(r.parts.map((p) => ({ text: p.joined, lengths: p.lens, hashes: p.hashes })));
  } catch (e) {
    if (!(e instanceof TooManyCollisions)) throw e;
    return pack({ state: assemble(path, file, opts.pool, r, await internParts(opts.pool, r.parts)), ...counts });
  }
  // The table only holds the columns here: its strings are the merged joined ones, never in a pool.
  const state = assemble(path, file, new StringPool(), r, merged.idMaps);
  const packed = packState(state, 'handOver').packed;
  packed.columns.joinedStrings = merged.joined;
  return { packed, calls: state.table.length, ...counts };
}
