import { createHash } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { threadId } from 'node:worker_threads';
import { basename, dirname, join } from 'node:path';
import { CallTable, joinStrings, PACKED_COLUMNS, packedColumn, type PackedColumns, SHARED_COLUMNS, StringPool, withHeadroom } from '../core/callTable';
import { type LevelPreview, LevelSums, type PreviewRequest } from '../core/levelPreview';
import { joinContext, type PackedTraceFileState } from '../core/traceFile';

/** Changed whenever what a read makes of the same bytes changes (the format, a shape's reading, pricing): older caches are read again. */
const MAGIC = 'llm-cost-lens/state-cache/9';
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
  return join(dir, `${createHash('sha1').update(tracePath).digest('hex')}.cols`);
}

/*
 * File layout (little-endian): "LCLCACHE", u32 header length, u32 prelude length, the prelude (UTF-8 JSON: magic, key
 * and the trace file's offset read up to: a reader decides from it alone whether the entry is of any use, without
 * parsing the header, which holds a Claude Code transcript's message ids: tens of MB), the header (UTF-8 JSON), zero
 * padding to 8 bytes,
 * then each column's first `length` values in header order (each padded to 8 bytes), the trace ids' ends (u32, count + 1)
 * and bytes (each padded to 8 bytes), the string lengths (u32 each), and the strings joined (UTF-16LE: every JS string round-trips, lone surrogates included). Reading puts the columns
 * straight into one block of shared memory with room for appends: no deserialising, no copy on the way to the store.
 */
const FILE_MAGIC = Buffer.from('LCLCACHE');
const MAX_HEADER = 256 * 1024 * 1024;
const TYPES = { Float64Array, Uint32Array, Int32Array, Uint8Array } as const;
type TypeName = keyof typeof TYPES;
type Column = Float64Array | Uint32Array | Int32Array | Uint8Array;

interface Header {
  magic: string;
  key: CacheKey;
  meta: Omit<PackedTraceFileState, 'columns'>;
  length: number;
  columns: { group: 'numeric' | 'ids'; name: string; type: TypeName }[];
  /** `latin1`: one byte per UTF-16 unit (every unit below 256); otherwise UTF-16LE. */
  strings: { count: number; units: number; encoding?: 'latin1' };
  /** The trace ids (ids 1..count) and their bytes. */
  traces: { count: number; bytes: number };
  /** The reading context's ids (JoinedContext: `seen` seen ids, then message ids), kept out of the header's JSON. */
  ctx: { count: number; seen: number; units: number; encoding?: 'latin1' };
}

/** `n` rounded up to a multiple of 8 (in doubles: regions of 2 GiB and more must not wrap around). */
const pad8 = (n: number) => Math.ceil(n / 8) * 8;

// Joined texts (the strings, the context's ids) are written one byte per UTF-16 unit when every unit allows it (half the
// bytes to read, and they come back as one-byte strings), else as UTF-16LE (every JS string round-trips).

/** The encoding a joined text is written in: 'latin1' when every unit is below 256, else none (UTF-16LE). */
const encodingOf = (text: string): 'latin1' | undefined => (/[^\u0000-\u00ff]/.test(text) ? undefined : 'latin1');
const bufferEncoding = (e: 'latin1' | undefined): BufferEncoding => (e === 'latin1' ? 'latin1' : 'utf16le');
/** Bytes per unit of a header's encoding; undefined when it names none known. */
const unitBytesOf = (e: unknown): number | undefined => (e === undefined ? 2 : e === 'latin1' ? 1 : undefined);

/** The lengths add up to the text's. */
function addsUp(lengths: Uint32Array, text: string): boolean {
  let sum = 0;
  for (let i = 0; i < lengths.length; i++) sum += lengths[i];
  return sum === text.length;
}
const MAX_COLUMNS = 1024;

/** The type of each numeric column, as a table makes it. */
const NUMERIC_TYPES: Record<string, string> = (() => {
  const t = new CallTable('', new StringPool()) as unknown as Record<string, Column>;
  return Object.fromEntries(PACKED_COLUMNS.numeric.map((k) => [k, t[k].constructor.name]));
})();

/** The cached state's fields besides the columns have the shapes `unpackState` reads. */
function wellFormedMeta(m: Header['meta']): boolean {
  const c = m?.ctx;
  return (
    !!m &&
    typeof m.file === 'string' &&
    !!m.position &&
    Number.isSafeInteger(m.position.offset) &&
    Number.isSafeInteger(m.position.line) &&
    Array.isArray(m.problems) &&
    Number.isSafeInteger(m.droppedProblems) &&
    (m.droppedWarnings === undefined || Number.isSafeInteger(m.droppedWarnings)) &&
    !!c &&
    Array.isArray(c.seenIds) &&
    (c.messages === undefined || Array.isArray(c.messages)) &&
    (c.codexTotal === undefined || typeof c.codexTotal === 'string') &&
    (c.claudeCode === undefined || c.claudeCode === true) &&
    Number.isSafeInteger(c.ignored)
  );
}

/** How old a temp file of a cache write must be to count as left behind (a writer stopped mid-way). */
const STALE_TEMP_MS = 10 * 60_000;

/** Removes temp files of `file` that writers stopped mid-way left behind (a window closed while it wrote). */
function removeStaleTemps(file: string): void {
  const dir = dirname(file);
  const prefix = `${basename(file)}.`;
  try {
    for (const name of readdirSync(dir)) {
      if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
      const p = join(dir, name);
      try {
        if (Date.now() - statSync(p).mtimeMs > STALE_TEMP_MS) rmSync(p, { force: true });
      } catch {
        // gone meanwhile
      }
    }
  } catch {
    // no directory listing: nothing to clean
  }
}

/** Writes a file's columns next to its key (atomically: a temp file renamed into place). Only rows < length are written. */
export function writeStateCache(file: string, key: CacheKey, state: PackedTraceFileState): void {
  mkdirSync(join(file, '..'), { recursive: true });
  removeStaleTemps(file);
  // Unique per process, thread and write: two load workers of one window may write the same entry.
  const tmp = `${file}.${process.pid}-${threadId}-${Math.random().toString(36).slice(2, 10)}.tmp`;
  const c = state.columns;
  const joined = c.joinedStrings ?? joinStrings(c.strings);
  const cols: { group: 'numeric' | 'ids'; name: string; arr: Column }[] = [
    ...Object.entries(c.numeric).map(([name, arr]) => ({ group: 'numeric' as const, name, arr })),
    ...Object.entries(c.ids).map(([name, arr]) => ({ group: 'ids' as const, name, arr })),
  ];
  const { columns: _, ctx, ...rest } = state;
  // The context's ids go in regions of their own (the header stays small: it is parsed in one go).
  const jc = joinContext(ctx ?? { seenIds: [], messages: [], ignored: 0 }).joined!;
  // (A state without a context is written as it is: its reader rejects it.)
  const meta = { ...rest, ctx: ctx && { seenIds: [], messages: [], ...(ctx.claudeCode === true ? { claudeCode: true } : {}), currentModel: ctx.currentModel, codexTotal: ctx.codexTotal, ignored: ctx.ignored } };
  const encoding = encodingOf(joined.text);
  const ctxEncoding = encodingOf(jc.ids.text);
  const header: Header = {
    magic: MAGIC,
    key,
    meta,
    length: c.length,
    columns: cols.map(({ group, name, arr }) => ({ group, name, type: arr.constructor.name as TypeName })),
    strings: { count: joined.lengths.length, units: joined.text.length, ...(encoding ? { encoding } : {}) },
    ctx: { count: jc.ids.lengths.length, seen: jc.seen, units: jc.ids.text.length, ...(ctxEncoding ? { encoding: ctxEncoding } : {}) },
    traces: { count: c.traces.count, bytes: c.traces.count > 0 ? c.traces.ends[c.traces.count] : 0 },
  };
  const head = Buffer.from(JSON.stringify(header), 'utf8');
  const prelude = Buffer.from(JSON.stringify({ magic: MAGIC, key, offset: state.position.offset } satisfies Prelude), 'utf8');
  const fd = openSync(tmp, 'w');
  let written = false;
  try {
    const lead = Buffer.alloc(16);
    FILE_MAGIC.copy(lead, 0);
    lead.writeUInt32LE(head.length, 8);
    lead.writeUInt32LE(prelude.length, 12);
    writeSync(fd, lead);
    writeSync(fd, prelude);
    writeSync(fd, head);
    const zeros = Buffer.alloc(8);
    const padTo = (n: number) => {
      if (pad8(n) > n) writeSync(fd, zeros, 0, pad8(n) - n);
    };
    padTo(16 + prelude.length + head.length);
    for (const { arr } of cols) {
      const bytes = Buffer.from(arr.buffer, arr.byteOffset, c.length * arr.BYTES_PER_ELEMENT);
      writeSync(fd, bytes);
      padTo(bytes.length);
    }
    const ends = Buffer.from(c.traces.ends.buffer, c.traces.ends.byteOffset, (header.traces.count + 1) * 4);
    writeSync(fd, ends);
    padTo(ends.length);
    if (header.traces.bytes > 0) writeSync(fd, Buffer.from(c.traces.bytes.buffer, c.traces.bytes.byteOffset, header.traces.bytes));
    padTo(header.traces.bytes);
    for (const a of [jc.ids.lengths, jc.out, jc.row]) {
      writeSync(fd, Buffer.from(a.buffer, a.byteOffset, a.byteLength));
      padTo(a.byteLength);
    }
    const ctxText = Buffer.from(jc.ids.text, bufferEncoding(ctxEncoding));
    writeSync(fd, ctxText);
    padTo(ctxText.length);
    const lens = Buffer.from(joined.lengths.buffer, joined.lengths.byteOffset, joined.lengths.length * 4);
    writeSync(fd, lens);
    padTo(lens.length);
    writeSync(fd, Buffer.from(joined.text, bufferEncoding(encoding)));
    written = true;
  } finally {
    closeSync(fd);
    if (!written) rmSync(tmp, { force: true }); // e.g. a full disk: no half-written file left behind
  }
  renameSync(tmp, file);
  rmSync(file.replace(/\.cols$/, '.v8'), { force: true }); // the cache of versions before 0.2 (v8 serialized)
}

/** `a` is the key of the same file when it was shorter: same settings and first bytes, fewer bytes. */
function earlierKey(a: CacheKey, b: CacheKey): boolean {
  return a.settings === b.settings && a.headSha1 === b.headSha1 && Number.isSafeInteger(a.size) && a.size < b.size;
}

function sameKey(a: CacheKey, b: CacheKey): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.headSha1 === b.headSha1 && a.settings === b.settings;
}

function readExactly(fd: number, into: Uint8Array, at: number): void {
  let done = 0;
  while (done < into.length) {
    const got = readSync(fd, into, done, into.length - done, at + done);
    if (got <= 0) throw new Error('cache file cut short');
    done += got;
  }
}

/** Bytes per read when a cache is read in pieces at once (the reads run on libuv's threads, in parallel). */
const PIECE = 8 * 1024 * 1024;

/**
 * Pieces one read of a cache (`readRegions`) has at once, each on one of libuv's threads (four by default, shared with
 * everything else the process reads and writes; two files' caches read at once, LOADS_AT_ONCE, can fill them).
 * Reading into new memory is mostly page faults, on this machine (a VM) dearer than the copy: with every piece at once
 * the reading threads took both cores and the event loop waited for one (the largest gap 39–49 ms per reopen of the 1M
 * calls, three runs); two at a time read about as fast (all columns at 353–376 ms against 338–358 ms, three runs of
 * each alternated) with largest gaps of 30–41 ms; one at a time left the loop alone but read in ~510 ms.
 */
const READS_AT_ONCE = 2;

/** Thrown when a region read from a cache file fails its check. */
class BadCache extends Error {}

/**
 * Fills each region from the file, in pieces read READS_AT_ONCE at a time, and runs
 * each region's `check` as soon as its bytes are in, while the other reads go on (one check at a time, in order of
 * completion; `turn`, when given, is awaited before each, so a caller's event loop gets a turn between them). Throws
 * BadCache when a check fails, or what a read threw (once every piece has settled). Exported for tests.
 */
export async function readRegions(fh: Pick<FileHandle, 'read'>, regions: { into: Uint8Array; at: number; check?: () => boolean }[], turn?: () => Promise<void>): Promise<void> {
  let reading = 0;
  const queued: (() => void)[] = [];
  const piece = async (into: Uint8Array, at: number) => {
    while (reading >= READS_AT_ONCE) await new Promise<void>((r) => queued.push(r));
    reading++;
    try {
      let done = 0;
      while (done < into.length) {
        const { bytesRead } = await fh.read(into, done, into.length - done, at + done);
        if (bytesRead <= 0) throw new Error('cache file cut short');
        done += bytesRead;
      }
    } finally {
      reading--;
      queued.shift()?.();
    }
  };
  let checking = Promise.resolve();
  const jobs = regions.map(async ({ into, at, check }) => {
    const pieces: Promise<void>[] = [];
    for (let o = 0; o < into.length; o += PIECE) pieces.push(piece(into.subarray(o, Math.min(into.length, o + PIECE)), at + o));
    // Every piece settles before the region counts as read or failed (the file is closed after all of them).
    const got = await Promise.allSettled(pieces);
    for (const r of got) if (r.status === 'rejected') throw r.reason;
    if (!check) return;
    const run = checking.then(async () => {
      await turn?.();
      if (!check()) throw new BadCache();
    });
    checking = run.catch(() => undefined);
    await run;
  });
  // Every region settles before the file is closed, whatever failed first.
  const results = await Promise.allSettled(jobs);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}

/** Bytes of a cache file to read into memory, and what must hold of them once read. */
interface Region {
  into: Uint8Array;
  at: number;
  check?: () => boolean;
  /** Read before the others (`CachedLevel`). */
  early?: boolean;
}

/** Rows of a level summed ahead between two of the caller's turns (~10–25 ms here). */
const LEVEL_SLICE = 1 << 17;

/** Where each joined string starts, and the end of the last (count + 1 offsets). */
function stringStarts(lengths: Uint32Array): Float64Array {
  const starts = new Float64Array(lengths.length + 1);
  for (let i = 0; i < lengths.length; i++) starts[i + 1] = starts[i] + lengths[i];
  return starts;
}

/** Every value of the first n of `col` is in [0, below). */
function allIn(col: Int32Array, n: number, below: number): boolean {
  for (let i = 0; i < n; i++) if (col[i] < 0 || col[i] >= below) return false;
  return true;
}

/** What a cache file says of itself before its header. */
interface Prelude {
  magic: string;
  key: CacheKey;
  /** The trace file's bytes the columns hold (`position.offset`). */
  offset: number;
}

/** A prelude holds a key and a number: more is not a prelude. */
const MAX_PRELUDE = 64 * 1024;

/** The prelude of a cache file and where its header is, or undefined when the file does not start as one. */
function readPrelude(fd: number, size: number): { p: Prelude; headAt: number; headLen: number } | undefined {
  if (size < 16) return undefined;
  const lead = Buffer.alloc(16);
  readExactly(fd, lead, 0);
  if (!lead.subarray(0, 8).equals(FILE_MAGIC)) return undefined;
  const headLen = lead.readUInt32LE(8);
  const preludeLen = lead.readUInt32LE(12);
  if (headLen > MAX_HEADER || preludeLen > MAX_PRELUDE || 16 + preludeLen + headLen > size) return undefined;
  const bytes = Buffer.alloc(preludeLen);
  readExactly(fd, bytes, 16);
  const p = JSON.parse(bytes.toString('utf8')) as Prelude;
  if (p?.magic !== MAGIC || !p.key || typeof p.key !== 'object' || !Number.isSafeInteger(p.offset)) return undefined;
  return { p, headAt: 16 + preludeLen, headLen };
}

/** The header of a cache file whose prelude was read; undefined when it does not belong to it. */
function readHeader(fd: number, at: { p: Prelude; headAt: number; headLen: number }): Header | undefined {
  const headBytes = Buffer.alloc(at.headLen);
  readExactly(fd, headBytes, at.headAt);
  const h = JSON.parse(headBytes.toString('utf8')) as Header;
  if (h?.magic !== MAGIC || !h.key || !sameKey(h.key, at.p.key) || h.meta?.position?.offset !== at.p.offset) return undefined;
  return h;
}

/**
 * How many bytes of the trace file a cache entry of the file when it was shorter holds (`readStateCacheOf` would give
 * it as `earlier`), read from its header only; undefined when there is no such entry (none, the same file, another).
 */
export function earlierCacheOffset(file: string, key: CacheKey): number | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const at = readPrelude(fd, fstatSync(fd).size);
    return at && earlierKey(at.p.key, key) ? at.p.offset : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads a cache entry when it matches `key`; anything else (missing, another key, truncated, corrupt, malformed)
 * gives undefined and the file is read from its start. A cache is never trusted beyond these checks: the layout must
 * add up to the file's size exactly, every expected column must be there with its type, string lengths must add up,
 * and every string id must name a string. The columns come back in shared memory (when the runtime has it), each with
 * room for appends.
 */
export async function readStateCache(file: string, key: CacheKey, turn?: () => Promise<void>, level?: CachedLevel): Promise<PackedTraceFileState | undefined> {
  return (await readStateCacheOf(file, key, false, turn, level))?.state;
}

/**
 * The tree's first level to sum from an entry of the file as it is, ahead of its other columns (`readStateCacheOf`):
 * the columns the level needs (the dimension's ids, the costs, the times) and the strings are read and checked first,
 * the level summed and given to `send`, then the other columns read. (An entry whose other columns then fail their
 * checks is not used: the file is parsed, and the level the view showed meanwhile is replaced.)
 */
export interface CachedLevel {
  request: PreviewRequest;
  send: (level: LevelPreview) => void;
  /** Rows summed between two turns of the caller's (default LEVEL_SLICE). */
  slice?: number;
}

/**
 * readStateCache that also takes an entry of the same file when it was shorter (`earlier`: same first bytes and
 * settings, a smaller size; a live trace that grew since): its columns hold the file's first lines, and the caller
 * reads on from its offset (after checking, as any append, that the bytes before it are still the same).
 */
export async function readStateCacheOf(file: string, key: CacheKey, orEarlier = true, turn?: () => Promise<void>, level?: CachedLevel): Promise<{ state: PackedTraceFileState; earlier: boolean } | undefined> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch {
    return undefined;
  }
  const fd = fh.fd;
  try {
    const size = fstatSync(fd).size;
    // Whether the entry is of use is decided from its prelude: the header is read and parsed only then.
    const pre = readPrelude(fd, size);
    if (!pre) return undefined;
    const earlier = !sameKey(pre.p.key, key);
    if (earlier && !(orEarlier && earlierKey(pre.p.key, key))) return undefined;
    const h = readHeader(fd, pre);
    if (!h) return undefined;
    const headEnd = pre.headAt + pre.headLen;
    const n = h.length;
    if (!Number.isSafeInteger(n) || n < 0 || !Array.isArray(h.columns) || !h.strings || !h.traces) return undefined;
    const { count: traceCount, bytes: traceBytes } = h.traces;
    // (More trace ids than rows is fine: a row replaced in place, a Claude Code message completed later, takes a new one.)
    if (!Number.isSafeInteger(traceCount) || traceCount < 0 || !Number.isSafeInteger(traceBytes) || traceBytes < traceCount || traceBytes > size) return undefined;
    const { count, units, encoding } = h.strings;
    if (!Number.isSafeInteger(count) || count < 1 || !Number.isSafeInteger(units) || units < 0) return undefined;
    // (Nothing is allocated for more than the file can hold.)
    if (count * 4 > size || units > size) return undefined;
    const unitBytes = unitBytesOf(encoding);
    if (!unitBytes) return undefined;
    if (!wellFormedMeta(h.meta) || h.columns.length > MAX_COLUMNS) return undefined;
    const hc = h.ctx;
    if (!hc || !Number.isSafeInteger(hc.count) || !Number.isSafeInteger(hc.seen) || !Number.isSafeInteger(hc.units) || hc.count < 0 || hc.seen < 0 || hc.seen > hc.count || hc.units < 0) return undefined;
    const ctxUnitBytes = unitBytesOf(hc.encoding);
    if (!ctxUnitBytes) return undefined;
    // (A context of ids of a few bytes each, in a file of that many bytes at least: no allocation beyond the file.)
    if (hc.count * 4 > size || hc.units > size) return undefined;
    const msgs = hc.count - hc.seen;
    // Every column a table has, once, with the type the table gives it; tag columns (ids) besides.
    const names = new Set(h.columns.map((c) => `${c.group}/${c.name}`));
    if (names.size !== h.columns.length) return undefined;
    for (const k of PACKED_COLUMNS.numeric) if (!names.has(`numeric/${k}`)) return undefined;
    for (const k of PACKED_COLUMNS.ids) if (!names.has(`ids/${k}`)) return undefined;
    for (const c of h.columns) {
      if (typeof c.name !== 'string' || !Object.hasOwn(TYPES, c.type)) return undefined;
      if (c.group === 'numeric' ? NUMERIC_TYPES[c.name] !== c.type : c.group !== 'ids' || c.type !== 'Int32Array' || (!PACKED_COLUMNS.ids.includes(c.name) && !c.name.startsWith('tag:'))) return undefined;
    }
    // The layout must add up to the file's size.
    let at = pad8(headEnd);
    const places = h.columns.map((c) => {
      const bytes = n * TYPES[c.type].BYTES_PER_ELEMENT;
      const p = { ...c, at, bytes };
      at += pad8(bytes);
      return p;
    });
    const endsAt = at;
    at += pad8((traceCount + 1) * 4);
    const traceBytesAt = at;
    at += pad8(traceBytes);
    const ctxLensAt = at;
    at += pad8(hc.count * 4);
    const ctxOutAt = at;
    at += pad8(msgs * 8);
    const ctxRowAt = at;
    at += pad8(msgs * 4);
    const ctxTextAt = at;
    at += pad8(hc.units * ctxUnitBytes);
    const lensAt = at;
    at += pad8(count * 4);
    const textAt = at;
    if (textAt + units * unitBytes !== size) return undefined;
    // One block of memory for all columns, each with room for appends.
    const cap = withHeadroom(n);
    let total = 0;
    for (const p of places) total += pad8(cap * TYPES[p.type].BYTES_PER_ELEMENT);
    // The columns and their headroom can't be much bigger than the file they were read from.
    if (total > 2 * size + MAX_COLUMNS * 8 * 1024) return undefined;
    const block = SHARED_COLUMNS ? new SharedArrayBuffer(total) : new ArrayBuffer(total);
    const numeric: PackedColumns['numeric'] = {};
    const ids: PackedColumns['ids'] = {};
    let off = 0;
    const regions: Region[] = [];
    const regionOf = new Map<Column, Region>();
    for (const p of places) {
      const T = TYPES[p.type];
      const col = new T(block as ArrayBuffer, off, cap);
      off += pad8(cap * T.BYTES_PER_ELEMENT);
      // Every string id names a string; every row's trace index names a trace id (or none: 0).
      const check = p.group === 'ids' ? () => allIn(col as Int32Array, n, count) : p.name === 'traceId' ? () => allIn(col as Int32Array, n, traceCount + 1) : undefined;
      const r: Region = { into: new Uint8Array(block, col.byteOffset, p.bytes), at: p.at, check };
      regions.push(r);
      regionOf.set(col, r);
      if (p.group === 'numeric') numeric[p.name] = col;
      else ids[p.name] = col as Int32Array;
    }
    // Trace ids with room for appends (in shared memory, as the columns).
    const traceEnds = SHARED_COLUMNS ? new Uint32Array(new SharedArrayBuffer(withHeadroom(traceCount + 1) * 4)) : new Uint32Array(withHeadroom(traceCount + 1));
    const traceCap = traceBytes + Math.max(16384, traceBytes >> 4);
    const traceText = SHARED_COLUMNS ? new Uint8Array(new SharedArrayBuffer(traceCap)) : new Uint8Array(traceCap);
    // Every id holds at least one byte: ends start at 0, strictly increase and end at the bytes' length.
    const endsWell = () => {
      if (traceEnds[0] !== 0 || traceEnds[traceCount] !== traceBytes) return false;
      for (let k = 1; k <= traceCount; k++) if (traceEnds[k] <= traceEnds[k - 1]) return false;
      return true;
    };
    regions.push({ into: new Uint8Array(traceEnds.buffer, 0, (traceCount + 1) * 4), at: endsAt, check: endsWell });
    if (traceBytes > 0) regions.push({ into: traceText.subarray(0, traceBytes), at: traceBytesAt });
    // A level summed ahead (of a file as it is only: an earlier entry's level is not the file's) is summed from its
    // columns (the dimension's ids, the costs, the times) and the strings, read first.
    const ahead = level && !earlier && n > 0;
    if (ahead) for (const c of [numeric.recordedUsd, numeric.computedUsd, numeric.tsMs, packedColumn({ ids }, level.request.dim)]) if (c) regionOf.get(c)!.early = true;
    const lengths = new Uint32Array(count);
    regions.push({ into: new Uint8Array(lengths.buffer), at: lensAt, early: ahead });
    const textBytes = Buffer.alloc(units * unitBytes);
    regions.push({ into: textBytes, at: textAt, early: ahead });
    const ctxLengths = new Uint32Array(hc.count);
    const out = new Float64Array(msgs);
    const row = new Int32Array(msgs);
    const ctxBytes = Buffer.alloc(hc.units * ctxUnitBytes);
    // A message's output tokens are a count; its row is -1 (not stored yet) or a row of the table, no row held twice (a
    // later line of the message replaces that row).
    const outsWell = () => {
      for (let i = 0; i < msgs; i++) if (!(out[i] >= 0 && out[i] < Infinity)) return false;
      return true;
    };
    const rowsWell = () => {
      const held = new Uint8Array(n);
      for (let i = 0; i < msgs; i++) {
        const r = row[i];
        if (r === -1) continue;
        if (r < 0 || r >= n || held[r]) return false;
        held[r] = 1;
      }
      return true;
    };
    regions.push({ into: new Uint8Array(ctxLengths.buffer), at: ctxLensAt }, { into: new Uint8Array(out.buffer), at: ctxOutAt, check: outsWell }, { into: new Uint8Array(row.buffer), at: ctxRowAt, check: rowsWell }, { into: ctxBytes, at: ctxTextAt });
    // The strings: decoded and checked once, ahead of the other columns when a level is summed from them.
    let text: string | undefined;
    const stringsWell = () => {
      text = textBytes.toString(bufferEncoding(encoding));
      return lengths[0] === 0 && addsUp(lengths, text);
    };
    try {
      if (ahead) {
        await readRegions(fh, regions.filter((r) => r.early), turn);
        if (!stringsWell()) return undefined;
        // Summed before the other columns are read, not while: their reads (page faults in new memory, on libuv's
        // threads) took the two cores here, and the level came at ~230–310 ms instead of ~105–125 (the columns in the
        // store as soon). In slices, with the caller's turns between them.
        const strings = text!;
        const starts = stringStarts(lengths);
        const part = { length: n, recordedUsd: numeric.recordedUsd as Float64Array, computedUsd: numeric.computedUsd as Float64Array, tsMs: numeric.tsMs as Float64Array, column: (dim: string) => packedColumn({ ids }, dim), text: (id: number) => strings.slice(starts[id], starts[id + 1]), stringCount: count };
        const sums = new LevelSums(level.request);
        const col = part.column(level.request.dim);
        const slice = level.slice ?? LEVEL_SLICE;
        for (let i = 0; i < n; i += slice) {
          if (i > 0) await turn?.();
          sums.add(part, i, Math.min(n, i + slice), col, col ? count : 1);
        }
        const groups = sums.groups(part.text);
        // (A caller's failure is its own: the entry is read on.)
        if (groups) {
          try {
            level.send({ ...level.request, groups });
          } catch {
            // nothing to undo here
          }
        }
        await readRegions(fh, regions.filter((r) => !r.early), turn);
      } else {
        await readRegions(fh, regions, turn);
        if (!stringsWell()) return undefined;
      }
    } catch (e) {
      if (e instanceof BadCache) return undefined;
      throw e;
    }
    const ctxText = ctxBytes.toString(bufferEncoding(hc.encoding));
    if (!addsUp(ctxLengths, ctxText)) return undefined;
    const ctx = { ...h.meta.ctx, seenIds: [], messages: [], joined: { ids: { text: ctxText, lengths: ctxLengths }, seen: hc.seen, out, row } };
    const traces = { count: traceCount, bytes: traceText, ends: traceEnds };
    return { state: { ...h.meta, ctx, columns: { length: n, numeric, ids, traces, strings: [], joinedStrings: { text: text!, lengths } } }, earlier };
  } catch {
    return undefined;
  } finally {
    await fh.close();
  }
}
