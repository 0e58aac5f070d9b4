import { CallTable, FLAG_ERROR, MAX_PROBE } from './callTable';
import { hashBytes } from './hash';
import { type ReadPosition, scanJsonDocuments } from './jsonl';
import { MAX_RECORDED_USD_PER_CALL, MAX_TAG_LENGTH, MAX_TOKENS_PER_CALL, negativeCostMessage, unreadableTimeMessage, newContext, type NormalizeContext, normalizeDocument } from './normalize';
import { costAtRates, costInto, flatRates, type PriceBook, type ResolvedPrice, tableAt } from './pricing';
import type { CallRecord, Problem } from './types';
import { KNOWN_KEY_CLASSES } from './keyClasses.generated';
import { parseIsoUtc, toEpochMs, toNumber } from './values';

export { parseIsoUtc };
import {
  KF_DANGER_META, KF_DANGER_TAGS, KF_DANGER_TOP, KF_META,
  KF_TAGS, L_IGNORED, TRACE_NEW_ASCII, TRACE_REMEMBERED, TRACE_SAME, WasmEngine,
} from './fastScanWasm';

/**
 * A byte-level reader for the common flat record shape (top-level ts/id/trace_id/provider/model/token counts/cost/
 * status/error/callsite plus flat `metadata` and `tags` objects of scalars). It appends straight into a CallTable:
 * no JSON.parse, no CallRecord, strings interned from bytes. Any line it is not sure about (escapes, nesting, arrays,
 * duplicate keys, keys that select another shape such as `usage`, `response`, `steps`, `resourceSpans`, `attributes`,
 * `type`...) goes through the exact slow path (scanJsonDocuments + normalizeDocument) for that line, so the table,
 * the problems and `ctx.ignored` are the same as the slow path's. Pure: no fs, no vscode.
 */

// --- Field keys, as normalize.ts reads them (same lists, same order: `first` picks the first non-null in order) ---

const TS_KEYS = ['timestamp', 'ts', 'time', 'created_at', 'createdAt', 'start_time', 'startTime', 'created', 'date'];
const MODEL_KEYS = ['model', 'model_name', 'modelName', 'model_id', 'modelId'];
const PROVIDER_KEYS = ['provider', 'vendor', 'llm_provider'];
const ID_KEYS = ['id', 'call_id', 'callId', 'request_id', 'requestId', 'span_id', 'spanId'];
const TRACE_KEYS = ['trace_id', 'traceId', 'run_id', 'runId'];
const TOKEN_NAMES = ['inputTokens', 'outputTokens', 'cacheReadTokens', 'cacheWriteTokens', 'cacheWrite1hTokens', 'reasoningTokens'];
const PARENT_KEYS = ['parent_id', 'parentId', 'parent_span_id', 'parentSpanId'];
const LATENCY_KEYS = ['latency_ms', 'latencyMs', 'duration_ms', 'durationMs', 'elapsed_ms'];
const COST_KEYS = ['cost_usd', 'costUsd', 'cost', 'total_cost', 'totalCost', 'total_cost_usd'];
const EST_KEYS = ['estimated_cost_usd', 'estimatedCostUsd', 'estimated_cost', 'estimatedCost', 'preflight_cost_usd'];
const ERROR_KEYS = ['error', 'error_message', 'errorMessage'];
const STATUS_KEYS = ['status', 'status_code', 'statusCode'];
const INPUT_KEYS = ['input_tokens', 'inputTokens', 'input'];
const OUTPUT_KEYS = ['output_tokens', 'outputTokens', 'output'];
const CACHE_READ_KEYS = ['cache_read_input_tokens', 'cache_read_tokens', 'cacheReadTokens', 'cacheRead', 'cache_read'];
const CACHE_WRITE_KEYS = ['cache_creation_input_tokens', 'cache_write_tokens', 'cache_creation_tokens', 'cacheWriteTokens', 'cacheCreationTokens', 'cacheWrite', 'cache_write'];
const WRITE_1H_KEYS = ['cache_write_1h_tokens', 'cacheWrite1hTokens'];
const REASONING_KEYS = ['reasoning_tokens', 'reasoningTokens', 'reasoning'];
const CALLSITE_KEYS = ['callsite', 'call_site', 'callSite'];

const FIELD_NAMES: string[] = [];
const FIELD_INDEX = new Map<string, number>();
function group(keys: string[]): Int32Array {
  return Int32Array.from(keys, (k) => {
    let i = FIELD_INDEX.get(k);
    if (i === undefined) {
      i = FIELD_NAMES.length;
      FIELD_NAMES.push(k);
      FIELD_INDEX.set(k, i);
    }
    return i;
  });
}
const F_TS = group(TS_KEYS);
const F_MODEL = group(MODEL_KEYS);
const F_PROVIDER = group(PROVIDER_KEYS);
group(ID_KEYS); // read by normalize into `id`, which the table does not keep: only their shape matters
const F_TRACE = group(TRACE_KEYS);
group(PARENT_KEYS); // read by normalize into `parentId`, which the table does not keep: only their shape matters
const F_LATENCY = group(LATENCY_KEYS);
const F_COST = group(COST_KEYS);
const F_EST = group(EST_KEYS);
const F_ERROR = group(ERROR_KEYS);
const F_STATUS = group(STATUS_KEYS);
const F_INPUT = group(INPUT_KEYS);
const F_OUTPUT = group(OUTPUT_KEYS);
const F_CACHE_READ = group(CACHE_READ_KEYS);
const F_CACHE_WRITE = group(CACHE_WRITE_KEYS);
const F_WRITE_1H = group(WRITE_1H_KEYS);
const F_REASONING = group(REASONING_KEYS);
const F_CALLSITE = group(CALLSITE_KEYS);
const NF = FIELD_NAMES.length;
const F_META_MODEL = FIELD_INDEX.get('model')!;
const F_META_PROVIDER = FIELD_INDEX.get('provider')!;
/** Field keys normalize.ts reads inside `metadata` and inside `tags`. */
const META_FIELDS = new Set<number>([F_META_MODEL, F_META_PROVIDER, ...F_EST, ...F_TS, ...F_TRACE, ...F_LATENCY, ...F_CALLSITE]);
const TAGS_FIELDS = new Set<number>(F_CALLSITE);

/** Top-level keys that select another record shape or another reading of the usage: such lines take the slow path. */
const DANGER_TOP = new Set([
  'resourceSpans', 'type', 'sessionId', 'uuid', 'payload', 'custom_id', 'response', 'result', 'steps', 'attributes',
  'labels', 'usage', 'object', 'prompt_tokens', 'promptTokens', 'completion_tokens', 'completionTokens',
  'prompt_tokens_details', 'completion_tokens_details', 'input_tokens_details', 'output_tokens_details',
  'cache_creation', 'cached_tokens', 'message', 'context', 'parent_run_id', 'parentRunId', 'metadata', 'tags',
]);

const DIM_ORDER = ['feature', 'user', 'agent', 'template', 'tool'] as const;
const TAG_SKIP = -1;
const TAG_CUSTOM = 5;

/** What a key means at the top level and inside metadata/tags. Shared by all scanners (it depends only on the name). */
interface KeyInfo {
  name: string;
  field: number;
  dangerTop: boolean;
  dangerMeta: boolean;
  dangerTags: boolean;
  isMeta: boolean;
  isTags: boolean;
  /** TAG_SKIP, a DIM_ORDER index, or TAG_CUSTOM. */
  topTag: number;
  nestedTag: number;
  /** The line stamp this key was last seen at, per context (top, metadata, tags): a duplicate key takes the slow path. */
  seen: Int32Array;
  /** The key's bytes (keys the fast path reads are ASCII): a predicted key is checked against them. */
  bytes: Uint8Array;
  /** Per context, the key that followed this one last time (the prediction for the next key). */
  next: (KeyInfo | undefined)[];
  /**
   * The key's bytes and closing quote as little-endian 32-bit words at offsets 0, 4, 8... (the last one ending at the
   * quote, overlapping the one before): a predicted key is checked four bytes at a time. Empty for keys under 3 bytes.
   */
  words: Int32Array;
}

const PROBE_VALUE = 'zq\u0001probe';

/**
 * The one call normalize.ts makes of `obj`, or undefined when it makes none or reports an error. `strict`: a warning
 * (e.g. an unreadable timestamp) also gives undefined: the key has an effect the fast path must leave to normalize.ts.
 */
function probe(obj: Record<string, unknown>, strict = false): CallRecord | undefined {
  const r = normalizeDocument(obj, 1, newContext('probe'));
  const ok = strict ? r.problems.length === 0 : r.problems.every((p) => p.severity === 'warning');
  return ok && r.calls.length === 1 ? r.calls[0] : undefined;
}

function tagClass(rec: CallRecord | undefined, name: string): number {
  if (!rec) return TAG_SKIP;
  for (let d = 0; d < DIM_ORDER.length; d++) if (rec.dims[DIM_ORDER[d]] === PROBE_VALUE) return d;
  return rec.tags[name] === PROBE_VALUE ? TAG_CUSTOM : TAG_SKIP;
}

function fieldsOf(r: CallRecord): string {
  return JSON.stringify([
    r.inputTokens, r.outputTokens, r.cacheReadTokens, r.cacheWriteTokens, r.cacheWrite1hTokens, r.reasoningTokens, r.id ?? null, r.traceId ?? null,
    r.parentId ?? null, r.tsMs, r.provider ?? null, r.model ?? null, r.recordedCostUsd ?? null, r.estimatedCostUsd ?? null, r.latencyMs ?? null,
    r.error ?? null, r.status ?? null, r.callsite ?? null,
  ]);
}

const BASE = { input_tokens: 1, output_tokens: 1 };
let baseFields: string | undefined;

/** True when a key, placed by `wrap`, changes anything but the tags (asked of normalize.ts itself, with a number and a string). */
function hasFieldEffect(wrap: (v: unknown) => Record<string, unknown>): boolean {
  baseFields ??= fieldsOf(probe(BASE, true)!);
  for (const v of [7, '7', PROBE_VALUE, true]) {
    const r = probe(wrap(v), true);
    if (!r || fieldsOf(r) !== baseFields) return true;
  }
  return false;
}

const keyInfos = new Map<string, KeyInfo>();

function keyWords(name: string): Int32Array {
  const m = name.length + 1;
  if (m < 4) return new Int32Array(0);
  const bytes = Uint8Array.from(name + '"', (c) => c.charCodeAt(0) & 0xff);
  const dv = new DataView(bytes.buffer);
  return Int32Array.from({ length: Math.ceil(m / 4) }, (_, i) => dv.getInt32(Math.min(4 * i, m - 4), true));
}

function isRiskyName(name: string): boolean {
  return name in Object.prototype || name.toLowerCase() in Object.prototype || /^[0-9]+$/.test(name) || name.startsWith('code.');
}

/** What normalize.ts does with a key at top level, in `metadata` and in `tags`: the part of KeyInfo `classifyKey` finds. */
export interface KeyClass {
  dangerTop: boolean;
  dangerMeta: boolean;
  dangerTags: boolean;
  /** TAG_SKIP, a DIM_ORDER index, or TAG_CUSTOM. */
  topTag: number;
  nestedTag: number;
}

/** A key's class, found by asking normalize.ts (so both stay in step): up to 14 tiny documents normalised. */
export function classifyKey(name: string): KeyClass {
  const field = FIELD_INDEX.get(name) ?? -1;
  const risky = isRiskyName(name);
  const container = name === 'metadata' || name === 'tags';
  const dangerTop = risky || DANGER_TOP.has(name) || name.startsWith('gen_ai.') || (field < 0 && hasFieldEffect((v) => ({ ...BASE, [name]: v })));
  return {
    dangerTop: dangerTop && !container,
    dangerMeta: risky || (!META_FIELDS.has(field) && hasFieldEffect((v) => ({ ...BASE, metadata: { [name]: v } }))),
    dangerTags: risky || (!TAGS_FIELDS.has(field) && hasFieldEffect((v) => ({ ...BASE, tags: { [name]: v } }))),
    topTag: risky || container ? TAG_SKIP : tagClass(probe({ ...BASE, [name]: PROBE_VALUE }), name),
    nestedTag: risky ? TAG_SKIP : tagClass(probe({ ...BASE, metadata: { [name]: PROBE_VALUE } }), name),
  };
}

/**
 * The classes of the keys tracers commonly write (src/core/keyClasses.generated.ts, from classifyKey; a unit test
 * checks every one against it): on a cold start classifyKey takes ~1 ms a key, ~25 ms for a line of 22 keys, on every
 * reading thread.
 */
const KNOWN_KEYS = new Map<string, KeyClass>(
  KNOWN_KEY_CLASSES.map(([name, top, meta, tags, topTag, nestedTag]) => [name, { dangerTop: top === 1, dangerMeta: meta === 1, dangerTags: tags === 1, topTag, nestedTag }]),
);

/** A key's class as known ahead (decoded from KNOWN_KEY_CLASSES), or undefined when it is not. */
export function knownKeyClass(name: string): KeyClass | undefined {
  return KNOWN_KEYS.get(name);
}

/** Every field alias the fast path knows (the generator must list them all). */
export function fieldAliases(): string[] {
  return [...FIELD_NAMES];
}

/** Classifies a key once (known ahead, else classifyKey). */
function keyInfo(name: string): KeyInfo {
  let k = keyInfos.get(name);
  if (k) return k;
  const c = knownKeyClass(name) ?? classifyKey(name);
  k = {
    name,
    field: FIELD_INDEX.get(name) ?? -1,
    dangerTop: c.dangerTop,
    dangerMeta: c.dangerMeta,
    dangerTags: c.dangerTags,
    isMeta: name === 'metadata',
    isTags: name === 'tags',
    topTag: c.topTag,
    nestedTag: c.nestedTag,
    seen: new Int32Array(3),
    bytes: Uint8Array.from(name, (ch) => ch.charCodeAt(0) & 0xff),
    next: [undefined, undefined, undefined],
    words: keyWords(name),
  };
  keyInfos.set(name, k);
  return k;
}

// --- The WebAssembly loop (fastScanWasm.ts): one engine per thread, off with setWasmScanning(false) ---------------

let wasmOn = true;
let readers = 0;
let priceBooks = 0;
let wasmStringLimit = 0;
let wasmStringCache = 0;
let engine: WasmEngine<KeyInfo> | null | undefined;

/**
 * Turns the WebAssembly loop on or off (the JavaScript fast path then reads every line), for tests and benchmarks;
 * `stringLimit` restarts it keeping at most that many strings between resets, `stringCacheEntries` with that many
 * entries in its cache of recent strings (a power of two; tests).
 */
export function setWasmScanning(on: boolean, opts: { stringLimit?: number; stringCacheEntries?: number } = {}) {
  wasmOn = on;
  if ((opts.stringLimit ?? 0) !== wasmStringLimit || (opts.stringCacheEntries ?? 0) !== wasmStringCache) {
    wasmStringLimit = opts.stringLimit ?? 0;
    wasmStringCache = opts.stringCacheEntries ?? 0;
    engine = undefined;
  }
}

/** True when the WebAssembly loop is on (whether or not it could be started here: see wasmScanning). */
export function wasmScanningOn(): boolean {
  return wasmOn;
}

/**
 * Keys this thread's WebAssembly loop has read without its prediction (the key that followed the one before last time)
 * since it started: tests and benchmarks (lines of one shape should add none after the first).
 */
export function wasmKeyMisses(): number {
  return wasmEngine()?.keyMisses() ?? 0;
}

/**
 * This thread's WebAssembly loop's input window, lent to a reader until it calls `release` (once it is done, or reads
 * elsewhere): the file's bytes it reads into it (a chunk at a time, from its start) are scanned where they are, without
 * a copy. Meanwhile any other scan on this thread (a read started from the reader's callbacks) goes to the JavaScript
 * reader, which leaves the window alone. Undefined when the loop does not run here or another reader holds it.
 */
export function holdFastScanInput(): { bytes: Uint8Array; release: () => void } | undefined {
  const w = wasmEngine();
  const bytes = w?.hold();
  if (!w || !bytes) return undefined;
  let held = true;
  return {
    bytes,
    release: () => {
      if (held) w.release();
      held = false;
    },
  };
}

/** Scans of this thread's WebAssembly loop on bytes read into its input window (`holdFastScanInput`): tests. */
export function wasmInPlaceScans(): number {
  return wasmEngine()?.inPlaceScans ?? 0;
}

/** True when the WebAssembly loop is on and could be started here. */
export function wasmScanning(): boolean {
  return wasmEngine() !== null;
}

function wasmEngine(): WasmEngine<KeyInfo> | null {
  if (!wasmOn) return null;
  engine ??= WasmEngine.create<KeyInfo>(
    (name) => {
      const k = keyInfo(name);
      const flags = (k.dangerTop ? KF_DANGER_TOP : 0) | (k.dangerMeta ? KF_DANGER_META : 0) | (k.dangerTags ? KF_DANGER_TAGS : 0) | (k.isMeta ? KF_META : 0) | (k.isTags ? KF_TAGS : 0);
      return { key: k, field: k.field, flags, topTag: k.topTag, nestedTag: k.nestedTag };
    },
    {
      fields: NF,
      groups: [F_TS, F_MODEL, F_PROVIDER, F_TRACE, F_LATENCY, F_COST, F_EST, F_ERROR, F_STATUS, F_INPUT, F_OUTPUT, F_CACHE_READ, F_CACHE_WRITE, F_WRITE_1H, F_REASONING, F_CALLSITE],
      maxTokens: MAX_TOKENS_PER_CALL,
      maxCostUsd: MAX_RECORDED_USD_PER_CALL,
      metaModelField: F_META_MODEL,
      metaProviderField: F_META_PROVIDER,
      stringLimit: wasmStringLimit,
      stringCacheEntries: wasmStringCache,
      errorFlag: FLAG_ERROR,
    },
  );
  return engine;
}

// --- Small helpers ------------------------------------------------------------------------------------------------

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const lineDecoder = new TextDecoder('utf-8');
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];
const STATUS_ERROR = /^(error|failed|failure|timeout|cancelled)$/i;
const CALLSITE_RE = /^(.*?):(\d+)(?::\d+)?$/;

type Latin1Bytes = Uint8Array & { latin1Slice?: (s: number, e: number) => string };

/**
 * A copy of bytes [s, e). Not `b.slice`: on a Node Buffer, `slice` is a view, and the reader writes the next chunk over
 * the same memory, so cached bytes kept as a view would change under the cache.
 */
function copyBytes(b: Uint8Array, s: number, e: number): Uint8Array {
  const c = new Uint8Array(e - s);
  c.set(b.subarray(s, e));
  return c;
}

/** ASCII bytes [s, e) as a string (callers check they are ASCII, where Latin-1 and UTF-8 agree). */
function latin1(b: Latin1Bytes, s: number, e: number): string {
  if (b.latin1Slice) return b.latin1Slice(s, e);
  // Spreading a long run as arguments would overflow the stack: long ones are decoded.
  return e - s > 4096 ? utf8.decode(b.subarray(s, e)) : String.fromCharCode.apply(null, b.subarray(s, e) as unknown as number[]);
}


/** A call site read from a string, with the pool id of its file once asked for. */
interface Callsite {
  file: string;
  line: number;
  fileId: number;
}

/** A call site string read as file and line (normalize.ts's reading), or null when blank. */
function readCallsite(str: string): Callsite | null {
  const t = str.trim();
  const m = CALLSITE_RE.exec(t);
  return m ? { file: m[1], line: Number(m[2]), fileId: -1 } : t ? { file: t, line: 0, fileId: -1 } : null;
}

type ScanOpts = { file: string; final: boolean; ctx: NormalizeContext; prices: PriceBook };

/** A byte string interned once per scanner: its text and lazily its pool id and derived readings. */
interface CachedString {
  hash: number;
  bytes: Uint8Array;
  str: string;
  poolId: number;
  callsite?: Callsite | null;
  statusError?: boolean;
}

const K_NULL = 1, K_NUM = 2, K_STR = 3, K_TRUE = 4, K_FALSE = 5;
const MAX_TAGS_PER_LINE = 64;
const MAX_CACHED_STRINGS = 1 << 16;
let globalStamp = 0;

class Fallback {}
const FALLBACK = new Fallback();

/** Result of scanning a run of bytes with the fast scanner. */
export interface FastScanResult {
  problems: Problem[];
  next: ReadPosition;
  added: number;
  /** Lines read by the fast path and lines that needed the slow path (JSON.parse + normalizeDocument). */
  fastLines: number;
  slowLines: number;
  /** Of the fast lines, those read by the WebAssembly loop. */
  wasmLines: number;
  /**
   * Of their rows, those whose costs the WebAssembly loop set itself: priced at the prices it holds for the row's model
   * and provider, or unpriced (a model the price book does not know).
   */
  wasmPriced: number;
  /** A pretty-printed multi-line document was met: that and the rest of the bytes were read by the slow path. */
  multiline: boolean;
  /** A slow-path line used state that crosses lines (dedup ids, Codex model): ranges cannot be read independently. */
  stateful: boolean;
}

const NO_BYTES: Latin1Bytes = new Uint8Array(0);
const NO_VIEW = new DataView(new ArrayBuffer(0));
/** Keys cached per scanner (the byte cache of key names); past it, keyInfo's own map answers. */
const MAX_CACHED_KEYS = 2048;

/** Per-table state of the fast path: caches keyed by bytes, and the prices resolved per (model, provider). */
export class FastScanner {
  // Per-line values: [0, NF) top level, [NF, 2NF) metadata, [2NF, 3NF) tags.
  private readonly kind = new Uint8Array(3 * NF);
  private readonly num = new Float64Array(3 * NF);
  private readonly s0 = new Int32Array(3 * NF);
  private readonly s1 = new Int32Array(3 * NF);
  private readonly ascii = new Uint8Array(3 * NF);
  private readonly stamp = new Int32Array(3 * NF);
  private cur = 0;
  // Per-line tag entries, in order, per context.
  private readonly tKey: KeyInfo[] = [];
  private readonly tCtx = new Uint8Array(MAX_TAGS_PER_LINE);
  private readonly tKind = new Uint8Array(MAX_TAGS_PER_LINE);
  private readonly tNum = new Float64Array(MAX_TAGS_PER_LINE);
  private readonly tS0 = new Int32Array(MAX_TAGS_PER_LINE);
  private readonly tS1 = new Int32Array(MAX_TAGS_PER_LINE);
  private readonly tAscii = new Uint8Array(MAX_TAGS_PER_LINE);
  private nTags = 0;
  private metaObject = false;
  private tagsObject = false;
  // Byte caches.
  // (Small at first, grown as entries come: a workspace of 2,000 transcripts has 2,000 scanners, one per table.)
  private keyTable = new Int32Array(256);
  private readonly keyEntries: { hash: number; bytes: Uint8Array; info: KeyInfo }[] = [];
  private strTable = new Int32Array(256);
  private readonly strEntries: CachedString[] = [];
  // Prices.
  /**
   * The price book the cache holds prices of: the first scan's, given at construction, so that a new scanner's first
   * scan (a second table on the thread: a stolen range, the next file) does not take a branch the compiled scan loop
   * never saw, which throws that code away (~10-25 ms to compile it again). Another book (new overrides) empties the cache.
   */
  private pricesFor: PriceBook;
  /** Resolved prices per model id, then provider id (pool ids: any int32, so no arithmetic key). */
  private readonly priceCache = new Map<number, Map<number, Priced | null>>();
  private b: Latin1Bytes = NO_BYTES;
  private dv: DataView = NO_VIEW;
  // Row values of the current line.
  /** The previous trace id: its bytes at [s, e) of `buf` (the scanned bytes, copied when a scan ends). */
  private lastTrace?: { buf: Uint8Array; s: number; e: number; str: string };

  constructor(
    readonly table: CallTable,
    prices: PriceBook,
  ) {
    this.pricesFor = prices;
  }

  /**
   * Reads `bytes` (content of the file from `start.offset`) into the table, exactly as scanJsonDocuments +
   * normalizeDocument + CallTable.append would. Problems come back in line order (not capped).
   */
  scan(bytes: Uint8Array, start: ReadPosition, opts: ScanOpts): FastScanResult {
    try {
      return this.scanLines(bytes, start, opts);
    } finally {
      // The caller may reuse the bytes (even after an error): the trace id compared with the next line's is kept as a copy.
      const lt = this.lastTrace;
      if (lt && lt.buf === bytes) this.lastTrace = { ...lt, buf: copyBytes(bytes, lt.s, lt.e), s: 0, e: lt.e - lt.s };
      // Nor are the bytes held after the scan: the scanner lives as long as its table, and a small file's bytes are
      // often its whole content (2,000 transcripts held ~60 MB so).
      this.b = NO_BYTES;
      this.dv = NO_VIEW;
    }
  }

  private scanLines(bytes: Uint8Array, start: ReadPosition, opts: ScanOpts): FastScanResult {
    const b = bytes as Latin1Bytes;
    this.b = b;
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (this.pricesFor !== opts.prices) {
      this.pricesFor = opts.prices;
      this.priceCache.clear();
      this.priceToken = ++priceBooks;
    }
    const res: FastScanResult = { problems: [], next: start, added: 0, fastLines: 0, slowLines: 0, wasmLines: 0, wasmPriced: 0, multiline: false, stateful: false };
    const len = b.length;
    let pos = 0;
    let line = start.line;
    if (start.offset === 0 && len >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) pos = 3;
    // (Not while a reader holds the loop's input window, unless these are its bytes there: see holdFastScanInput.)
    let w = wasmEngine();
    if (w?.busy && !w.isInput(b)) w = null;
    if (w) {
      // Windows of bytes through the WebAssembly loop; the lines it leaves go through lineAt, in order. Only up to the
      // last newline: what follows is not a complete line (the slow path below decides), and the loop is not asked
      // about it (the branch for a window without a complete line, otherwise taken at the end of every chunk, would
      // make compiled code start over once: ~100 M instructions of compiling again on a cold start).
      const complete = b.lastIndexOf(10) + 1;
      let keep = false;
      windows: while (pos < complete) {
        this.syncWasm(w);
        const base = pos;
        this.priceFixAt = 0;
        try {
          // (Inside the try: what the module asks JavaScript during the scan may throw.)
          const records = w.scan(b, base, Math.min(complete - base, w.window), keep, line, this.token, this.priceToken, this);
          keep = true;
          if (records === 0) {
            // No complete line in the window: a line longer than a whole window, read by lineAt.
            const nl = b.indexOf(10, pos);
            if (nl === -1) break;
            if (!this.lineAt(pos, nl, line, start.offset, opts, res)) break;
            pos = nl + 1;
            line++;
            continue;
          }
          // Rows come in runs between the lines the JavaScript reader takes: each run is appended at once. Only those
          // lines (and the ignored ones) are visited here, not every line record.
          const rows = w.rowCount();
          const specials = w.specialCount();
          let run = 0;
          for (let j = 0; j < specials; j++) {
            const k = w.specialLine(j);
            if (w.lineKind(k) === L_IGNORED) {
              opts.ctx.ignored++;
              res.fastLines++;
              res.wasmLines++;
              continue;
            }
            const r = w.specialRows(j);
            if (r > run) this.emitRows(w, run, r, rows, base, res);
            run = r;
            const from = k === 0 ? base : base + w.lineEnd(k - 1) + 1;
            // (The WebAssembly loop found it is not a line the normalizer would only ignore: not judged again.)
            if (!this.lineAt(from, base + w.lineEnd(k), line + k, start.offset, opts, res, true)) {
              pos = from;
              line += k;
              break windows;
            }
          }
          if (rows > run) this.emitRows(w, run, rows, rows, base, res);
          pos = base + w.lineEnd(records - 1) + 1;
          line += records;
        } finally {
          // Whatever happened in this window (even an exception), a full string table is reset before the next scan.
          w.endWindow();
        }
      }
    } else {
      while (pos < len) {
        const nl = b.indexOf(10, pos);
        if (nl === -1) break; // the last, unterminated line: the slow path decides (parse, report or hold back)
        if (!this.lineAt(pos, nl, line, start.offset, opts, res)) break;
        pos = nl + 1;
        line++;
      }
    }
    // Where the lines read end: the rest (an unterminated last line) starts there. Computed on every call, so that a
    // chunk ending at a newline (a range's last) takes no branch the compiled code has not seen.
    const at = { offset: start.offset + pos, line };
    res.next = pos < len ? this.slow(b.subarray(pos), at, opts, res) : at;
    return res;
  }

  /**
   * One line [pos, nl) (nl: its newline) by the JavaScript fast path, else the slow path. False when a pretty-printed
   * multi-line document starts here: that and the rest of the bytes go to the slow path.
   */
  private lineAt(pos: number, nl: number, line: number, offset: number, opts: ScanOpts, res: FastScanResult, judged = false): boolean {
    const b = this.b;
    let s = pos;
    let e = nl;
    while (s < e && (b[s] === 32 || b[s] === 9 || b[s] === 13)) s++;
    while (e > s && (b[e - 1] === 32 || b[e - 1] === 9 || b[e - 1] === 13)) e--;
    if (s === e) return true;
    let ok = false;
    if (b[s] === 123) {
      try {
        ok = this.line(s, e);
        if (ok) this.emit(line, opts, res);
      } catch (err) {
        if (err !== FALLBACK) throw err;
        ok = false;
      }
    }
    if (ok) {
      res.fastLines++;
      return true;
    }
    const text = lineDecoder.decode(b.subarray(pos, nl > pos && b[nl - 1] === 13 ? nl - 1 : nl)).trim();
    if (text === '{' || text === '[') {
      res.multiline = true;
      return false;
    }
    res.slowLines++;
    this.slow(b.subarray(pos, nl + 1), { offset: offset + pos, line }, opts, res, judged);
    return true;
  }

  // --- Rows read by the WebAssembly loop ----------------------------------------------------------------------------

  /** Per WebAssembly string id (of the engine's current epoch): its call site reading for this reader's table. */
  // The engine's epoch at construction (a fresh call-site cache is right for it): a new scanner's first scan then does
  // not take syncWasm's branch, which compiled scan loops have not seen (see pricesFor).
  private wEpoch = wasmEngine()?.epoch ?? -1;
  // A Map, not a sparse array: a fresh array has another shape than the one compiled code last saw.
  private wCallsite = new Map<number, Callsite | null>();
  /** Which reader this is, for the module (pool ids belong to this reader's table). */
  private readonly token = ++readers;
  /** Whose prices the module holds, for this scanner's price book (a new book, a new number). */
  private priceToken = ++priceBooks;
  /** Next entry of the last scan's list of rows to price here. */
  private priceFixAt = 0;
  /** Trace id (index in table.traces) of the last row taken from the WebAssembly loop (TRACE_SAME rows reuse it). */
  private wTrace = 0;

  private syncWasm(w: WasmEngine<KeyInfo>) {
    if (this.wEpoch === w.epoch) return;
    this.wEpoch = w.epoch;
    this.wCallsite.clear();
  }

  /** The pool id of WebAssembly string `id`, interned and told to the module. */
  private wPoolId(w: WasmEngine<KeyInfo>, id: number): number {
    const known = w.poolOf(id, this.token);
    if (known >= 0) return known;
    const pid = this.table.pool.id(w.str(id));
    w.setPool(id, pid, this.token);
    return pid;
  }

  private wCallsiteOf(w: WasmEngine<KeyInfo>, id: number): Callsite | null {
    let c = this.wCallsite.get(id);
    if (c === undefined) this.wCallsite.set(id, (c = readCallsite(w.str(id))));
    return c;
  }

  // What the module asks, the first time a row of this reader's needs it (ScanClient).

  /** @internal The pool id of WebAssembly string `id`. */
  wasmPoolId(w: WasmEngine<KeyInfo>, id: number): number {
    return this.wPoolId(w, id);
  }

  /** @internal WebAssembly string `id` read as a status: 2 an error, 1 not. */
  wasmStatus(w: WasmEngine<KeyInfo>, id: number): number {
    const isError = STATUS_ERROR.test(w.str(id));
    w.setStatus(id, isError);
    return isError ? 2 : 1;
  }

  /** @internal WebAssembly string `id` read as a call site: 2 a file (its pool id interned), 1 blank. */
  wasmCallsite(w: WasmEngine<KeyInfo>, id: number): number {
    const cs = this.wCallsiteOf(w, id);
    if (cs && cs.fileId < 0) cs.fileId = this.table.pool.id(cs.file);
    w.setCallsite(id, cs, this.token);
    return cs ? 2 : 1;
  }

  /** @internal The prices of a model and provider (as `resolved`, by their text). */
  wasmPrice(model: string | undefined, provider: string | undefined): ResolvedPrice | null {
    return this.pricesFor.resolve(model || undefined, provider || undefined) ?? null;
  }

  /**
   * Appends rows [r0, r1) (of `rows`) of the last WebAssembly scan (of the bytes from `base`), as emit() would each
   * (same columns and strings; pool ids may be assigned in another order).
   */
  private emitRows(w: WasmEngine<KeyInfo>, r0: number, r1: number, rows: number, base: number, res: FastScanResult) {
    const table = this.table;
    const at = table.length;
    const n = r1 - r0;
    w.copyRows(table, at, r0, n);
    table.length = at + n;
    const I = w.ints();
    // Trace ids: their bytes copied when they change from one row to the next (no string made: see TraceIds).
    const { trace: cTrace, traceS: cTraceS, traceE: cTraceE } = w.cols;
    const traceId = table.traceId;
    const traces = table.traces;
    const b = this.b;
    // Whether the last new id of this run was one the loop remembered: a "new" ASCII id after it differs from it, and is
    // added without comparing (the first of a run is compared: the loop may not have seen the id before it).
    let remembered = false;
    for (let r = r0, i = at; r < r1; r++, i++) {
      const tf = I[cTrace + r];
      if (tf === 0) traceId[i] = 0;
      else {
        if (tf !== TRACE_SAME) {
          const s = base + I[cTraceS + r];
          const e = base + I[cTraceE + r];
          // Not ASCII: decoded and encoded again, as the other readers store it (invalid UTF-8 becomes U+FFFD). Still
          // compared with the last id: the loop says "new" for the first row of a run (after a window or another reader)
          // and for every id after one longer than it remembers.
          if (tf === TRACE_NEW_ASCII) this.wTrace = remembered ? traces.pushBytes(b, s, e) : traces.addBytes(b, s, e);
          else this.wTrace = traces.addString(utf8.decode(b.subarray(s, e)));
          remembered = e - s <= TRACE_REMEMBERED;
        }
        traceId[i] = this.wTrace;
      }
    }
    // Custom tags (in their order of appearance, as emit() creates the columns).
    const tapeEnd = w.tapeCount();
    if (tapeEnd > 0) {
      const cTag = w.cols.tag0;
      for (let r = r0, i = at; r < r1; r++, i++) {
        const t1 = r + 1 < rows ? I[cTag + r + 1] : tapeEnd;
        for (let j = I[cTag + r]; j < t1; j++) table.tagColumn(w.tapeKey(j).name)[i] = this.wPoolId(w, w.tapeString(j));
      }
    }
    // Costs: the module priced the rows whose prices it holds (it asks for a pair's the first time it meets it); the
    // others are priced here. A service tier (a tag) changes what a call costs: then every row is priced here.
    if (table.tags.has('service_tier')) this.priceRows(at, at + n);
    else {
      let here = 0;
      const pf = w.priceFixes();
      while (this.priceFixAt < pf.length && pf[this.priceFixAt] < r1) {
        const r = pf[this.priceFixAt++];
        this.priceRows(at + r - r0, at + r - r0 + 1);
        here++;
      }
      res.wasmPriced += n - here;
    }
    res.added += n;
    res.fastLines += n;
    res.wasmLines += n;
  }

  /** `judged`: the WebAssembly loop found the line is not one the normalizer would only ignore (no need to look again). */
  private slow(bytes: Uint8Array, at: ReadPosition, opts: ScanOpts, res: FastScanResult, judged = false): ReadPosition {
    const ctx = opts.ctx;
    const scan = scanJsonDocuments(bytes, at, { file: opts.file, final: opts.final, skipIgnorable: !judged && !ctx.mapping });
    for (const p of scan.problems) res.problems.push(p);
    ctx.ignored += scan.ignored;
    for (const doc of scan.docs) {
      const r = normalizeDocument(doc.value, doc.line, ctx);
      for (const c of r.calls) if (this.table.store(c, opts.prices, ctx.messages).added) res.added++;
      for (const p of r.problems) res.problems.push(p);
    }
    if (ctx.seenIds.size > 0 || ctx.messages.size > 0 || ctx.currentModel !== undefined || ctx.codexTotal !== undefined) res.stateful = true;
    return scan.next;
  }

  // --- Structure ----------------------------------------------------------------------------------------------------

  private ws(p: number, e: number): number {
    const b = this.b;
    while (p < e) {
      const c = b[p];
      if (c !== 32 && c !== 9 && c !== 13) break;
      p++;
    }
    return p;
  }

  /** Parses one line `{...}` in [s, e); false (or FALLBACK thrown) when it needs the slow path. */
  private line(s: number, e: number): boolean {
    const b = this.b;
    this.cur = ++globalStamp;
    this.nTags = 0;
    this.metaObject = false;
    this.tagsObject = false;
    let p = this.ws(s + 1, e);
    if (b[p] === 125) return p + 1 === e;
    for (let prev: KeyInfo | undefined; ; ) {
      if (b[p] !== 34) return false;
      const key = this.key(p + 1, e, 0, prev);
      prev = key;
      p = this.ws(this.keyEnd + 1, e);
      if (b[p] !== 58) return false;
      p = this.ws(p + 1, e);
      if (key.isMeta || key.isTags) {
        const c = b[p];
        if (c === 123) {
          p = this.object(p, e, key.isMeta ? 1 : 2);
          if (key.isMeta) this.metaObject = true;
          else this.tagsObject = true;
        } else if (c === 91) return false;
        else p = this.value(p, e, -1, 0, undefined);
      } else {
        if (key.dangerTop) return false;
        p = this.value(p, e, key.field, 0, key.topTag !== TAG_SKIP ? key : undefined);
      }
      p = this.ws(p, e);
      const c = b[p];
      if (c === 44) {
        p = this.ws(p + 1, e);
        continue;
      }
      if (c === 125) return p + 1 === e;
      return false;
    }
  }

  /** A nested flat object of scalars (metadata or tags). Returns the position after `}`. */
  private object(p: number, e: number, ctx: 1 | 2): number {
    const b = this.b;
    p = this.ws(p + 1, e);
    if (b[p] === 125) return p + 1;
    for (let prev: KeyInfo | undefined; ; ) {
      if (b[p] !== 34) throw FALLBACK;
      const key = this.key(p + 1, e, ctx, prev);
      prev = key;
      if (ctx === 1 ? key.dangerMeta : key.dangerTags) throw FALLBACK;
      p = this.ws(this.keyEnd + 1, e);
      if (b[p] !== 58) throw FALLBACK;
      p = this.ws(p + 1, e);
      p = this.value(p, e, key.field, ctx, key.nestedTag !== TAG_SKIP ? key : undefined);
      p = this.ws(p, e);
      const c = b[p];
      if (c === 44) {
        p = this.ws(p + 1, e);
        continue;
      }
      if (c === 125) return p + 1;
      throw FALLBACK;
    }
  }

  private keyEnd = 0;

  /**
   * The first key of the previous line per context. Lines of one tracer mostly repeat the same keys in the same order,
   * so the key that followed the previous key last time (KeyInfo.next) is tried first: one byte comparison instead of
   * hashing and a table probe. An optional key present in some lines only costs a miss or two, not the rest of the line.
   */
  private readonly firstKey: (KeyInfo | undefined)[] = [undefined, undefined, undefined];

  /** Reads a key string starting after its quote (`prev`: the key before it in its object); sets keyEnd to its closing quote. */
  private key(p: number, e: number, ctx: number, prev: KeyInfo | undefined): KeyInfo {
    const b = this.b;
    let info: KeyInfo | undefined = prev === undefined ? this.firstKey[ctx] : prev.next[ctx];
    if (info !== undefined) {
      const n = info.bytes.length;
      const w = info.words;
      let ok = p + n < e;
      if (ok && w.length > 0) {
        const dv = this.dv;
        const last = p + n - 3;
        for (let i = 0, q = p; i < w.length; i++, q += 4) {
          if (dv.getInt32(q < last ? q : last, true) !== w[i]) {
            ok = false;
            break;
          }
        }
      } else if (ok) {
        const kb = info.bytes;
        for (let j = 0; j < n; j++) if (b[p + j] !== kb[j]) ok = false;
        ok &&= b[p + n] === 34;
      }
      if (ok) this.keyEnd = p + n;
      else info = undefined;
    }
    if (info === undefined) {
      const s = p;
      let h = 0x811c9dc5 | 0;
      for (;;) {
        if (p >= e) throw FALLBACK;
        const c = b[p];
        if (c === 34) break;
        if (c === 92 || c < 32 || c >= 128) throw FALLBACK;
        h = Math.imul(h ^ c, 0x01000193);
        p++;
      }
      this.keyEnd = p;
      info = this.lookupKey(s, p, h);
      if (prev === undefined) this.firstKey[ctx] = info;
      else prev.next[ctx] = info;
    }
    if (info.seen[ctx] === this.cur) throw FALLBACK; // duplicate key
    info.seen[ctx] = this.cur;
    return info;
  }

  private lookupKey(s: number, e: number, h: number): KeyInfo {
    const b = this.b;
    const t = this.keyTable;
    const mask = t.length - 1;
    let i = h & mask;
    const n = e - s;
    let step = 0;
    for (; step <= MAX_PROBE; step++) {
      const ent = t[i];
      if (ent === 0) break;
      const k = this.keyEntries[ent - 1];
      if (k.hash === h && k.bytes.length === n) {
        let j = 0;
        while (j < n && k.bytes[j] === b[s + j]) j++;
        if (j === n) return k.info;
      }
      i = (i + 1) & mask;
    }
    const info = keyInfo(latin1(b, s, e));
    // Past MAX_PROBE (keys crafted to collide) the key is not cached: keyInfo's own map answers.
    if (step <= MAX_PROBE && this.keyEntries.length < MAX_CACHED_KEYS) {
      this.keyEntries.push({ hash: h, bytes: copyBytes(b, s, e), info });
      t[i] = this.keyEntries.length;
      if (this.keyEntries.length * 2 > t.length) this.keyTable = rehashed(this.keyEntries, t.length * 2);
    }
    return info;
  }

  /** Reads a scalar value into field slot `field` of context `ctx` and, when `tag` is given, the line's tag list. */
  private value(p: number, e: number, field: number, ctx: number, tag: KeyInfo | undefined): number {
    const b = this.b;
    const c = b[p];
    let kind: number;
    let num = 0;
    let vs = 0;
    let ve = 0;
    let asc = 1;
    if (c === 34) {
      vs = p + 1;
      let q = vs;
      let hi = 0;
      for (;;) {
        if (q >= e) throw FALLBACK;
        const x = b[q];
        if (x === 34) break;
        if (x === 92 || x < 32) throw FALLBACK;
        hi |= x;
        q++;
      }
      ve = q;
      asc = hi < 128 ? 1 : 0;
      kind = K_STR;
      p = q + 1;
    } else if (c === 45 || (c >= 48 && c <= 57)) {
      p = this.number(p, e);
      num = this.numValue;
      kind = K_NUM;
    } else if (c === 116 && b[p + 1] === 114 && b[p + 2] === 117 && b[p + 3] === 101) {
      kind = K_TRUE;
      p += 4;
    } else if (c === 102 && b[p + 1] === 97 && b[p + 2] === 108 && b[p + 3] === 115 && b[p + 4] === 101) {
      kind = K_FALSE;
      p += 5;
    } else if (c === 110 && b[p + 1] === 117 && b[p + 2] === 108 && b[p + 3] === 108) {
      kind = K_NULL;
      p += 4;
    } else throw FALLBACK; // object, array or invalid
    if (p > e) throw FALLBACK;
    if (field >= 0) {
      const i = ctx * NF + field;
      this.kind[i] = kind;
      this.num[i] = num;
      this.s0[i] = vs;
      this.s1[i] = ve;
      this.ascii[i] = asc;
      this.stamp[i] = this.cur;
    }
    if (tag !== undefined && kind !== K_NULL) {
      const t = this.nTags++;
      if (t >= MAX_TAGS_PER_LINE) throw FALLBACK;
      this.tKey[t] = tag;
      this.tCtx[t] = ctx;
      this.tKind[t] = kind;
      this.tNum[t] = num;
      this.tS0[t] = vs;
      this.tS1[t] = ve;
      this.tAscii[t] = asc;
    }
    return p;
  }

  private numValue = 0;

  /** A JSON number at p (strict grammar); sets numValue to what JSON.parse gives. Returns the position after it. */
  private number(p: number, e: number): number {
    const b = this.b;
    const s = p;
    let neg = false;
    if (b[p] === 45) {
      neg = true;
      p++;
    }
    let m = 0;
    let digits = 0;
    let frac = 0;
    let c = b[p];
    if (c === 48) {
      p++;
    } else if (c >= 49 && c <= 57) {
      while (p < e && (c = b[p]) >= 48 && c <= 57) {
        m = m * 10 + (c - 48);
        digits++;
        p++;
      }
    } else throw FALLBACK;
    if (p < e && b[p] === 46) {
      p++;
      const f0 = p;
      while (p < e && (c = b[p]) >= 48 && c <= 57) {
        m = m * 10 + (c - 48);
        if (m !== 0 || digits !== 0) digits++;
        p++;
      }
      frac = p - f0;
      if (frac === 0) throw FALLBACK;
    }
    let exact = digits <= 15 && frac <= 22;
    if (p < e && (b[p] === 101 || b[p] === 69)) {
      p++;
      if (b[p] === 43 || b[p] === 45) p++;
      const x0 = p;
      while (p < e && (c = b[p]) >= 48 && c <= 57) p++;
      if (p === x0) throw FALLBACK;
      exact = false;
    }
    if (exact) {
      const v = frac ? m / POW10[frac] : m;
      this.numValue = neg ? -v : v;
    } else {
      this.numValue = Number(latin1(b, s, p));
    }
    return p;
  }

  // --- Values ---------------------------------------------------------------------------------------------------------

  /** Slot index of the first key of `keys` present and not null in context `ctx` (as values.first), or -1. */
  private first(keys: Int32Array, ctx: number): number {
    const base = ctx * NF;
    for (let j = 0; j < keys.length; j++) {
      const i = base + keys[j];
      if (this.stamp[i] === this.cur && this.kind[i] !== K_NULL) return i;
    }
    return -1;
  }

  private str(i: number): string {
    return this.ascii[i] ? latin1(this.b, this.s0[i], this.s1[i]) : utf8.decode(this.b.subarray(this.s0[i], this.s1[i]));
  }

  /**
   * A token count: toNumber of the first non-null of `keys`. A value there that is not a whole number takes the line to the
   * slow path, which reports it (or, under keys such as `input` that may hold text, reads no count).
   */
  private tokenCount(keys: Int32Array): number | undefined {
    const i = this.first(keys, 0);
    if (i < 0) return undefined;
    const v = this.toNum(i);
    if (v === undefined || !Number.isInteger(v)) throw FALLBACK; // the exact path reports it (not a number, not whole)
    return v;
  }

  /**
   * toNumber of the recorded cost's slot. A cost above MAX_RECORDED_USD_PER_CALL, or beyond the doubles' range (1e400,
   * as a number or text), takes the line to the exact path, which refuses it.
   */
  private recordedCost(i: number): number | undefined {
    const v = this.toNum(i);
    if (v !== undefined ? v > MAX_RECORDED_USD_PER_CALL : i >= 0 && Math.abs(this.kind[i] === K_NUM ? this.num[i] : this.kind[i] === K_STR ? Number(this.str(i)) : 0) === Infinity) throw FALLBACK;
    return v;
  }

  /** toNumber of a slot. */
  private toNum(i: number): number | undefined {
    if (i < 0) return undefined;
    const k = this.kind[i];
    if (k === K_NUM) {
      const v = this.num[i];
      return Number.isFinite(v) ? v : undefined;
    }
    if (k === K_STR) return toNumber(this.str(i));
    return undefined;
  }

  /** The cached string of a byte range (dimension-like values repeat: decoded and interned once). */
  private cached(s: number, e: number, asc: number): CachedString {
    const b = this.b;
    const h = hashBytes(b, s, e);
    const t = this.strTable;
    const mask = t.length - 1;
    let i = h & mask;
    const n = e - s;
    let step = 0;
    for (; step <= MAX_PROBE; step++) {
      const ent = t[i];
      if (ent === 0) break;
      const k = this.strEntries[ent - 1];
      if (k.hash === h && k.bytes.length === n) {
        let j = 0;
        while (j < n && k.bytes[j] === b[s + j]) j++;
        if (j === n) return k;
      }
      i = (i + 1) & mask;
    }
    const entry: CachedString = { hash: h, bytes: copyBytes(b, s, e), str: asc ? latin1(b, s, e) : utf8.decode(b.subarray(s, e)), poolId: -1 };
    // Past MAX_PROBE (values crafted to collide) the string is not cached: the pool interns it.
    if (step <= MAX_PROBE && this.strEntries.length < MAX_CACHED_STRINGS) {
      this.strEntries.push(entry);
      t[i] = this.strEntries.length;
      if (this.strEntries.length * 2 > t.length) this.strTable = rehashed(this.strEntries, t.length * 2);
    }
    return entry;
  }

  /** toStr of a slot, through the byte cache: undefined, or the cached string. */
  private cachedStr(i: number): CachedString | string | undefined {
    if (i < 0) return undefined;
    const k = this.kind[i];
    if (k === K_STR) return this.s1[i] === this.s0[i] ? undefined : this.cached(this.s0[i], this.s1[i], this.ascii[i]);
    if (k === K_NUM) return Number.isFinite(this.num[i]) ? String(this.num[i]) : undefined;
    if (k === K_TRUE) return 'true';
    if (k === K_FALSE) return 'false';
    return undefined;
  }

  /** toStr of a slot without the cache (ids that rarely repeat). */
  private plainStr(i: number): string | undefined {
    if (i < 0) return undefined;
    const k = this.kind[i];
    if (k === K_STR) return this.s1[i] === this.s0[i] ? undefined : this.str(i);
    if (k === K_NUM) return Number.isFinite(this.num[i]) ? String(this.num[i]) : undefined;
    if (k === K_TRUE) return 'true';
    if (k === K_FALSE) return 'false';
    return undefined;
  }

  /** The trace id: often the same as the previous line's, so the previous string is reused when the bytes match. */
  private traceStr(i: number): string | undefined {
    if (i < 0 || this.kind[i] !== K_STR || !this.ascii[i]) return this.plainStr(i);
    const s = this.s0[i];
    const e = this.s1[i];
    return s === e ? undefined : this.traceRange(s, e);
  }

  /** The ASCII trace id at [s, e) of the bytes (not empty): the previous one's string when the bytes match. */
  private traceRange(s: number, e: number): string {
    const last = this.lastTrace;
    const b = this.b;
    if (last && last.e - last.s === e - s) {
      const lb = last.buf;
      const d = last.s - s;
      let j = s;
      while (j < e && lb[j + d] === b[j]) j++;
      if (j === e) return last.str;
    }
    const str = latin1(b, s, e);
    this.lastTrace = { buf: b, s, e, str };
    return str;
  }

  private poolId(v: CachedString | string | undefined): number {
    if (v === undefined) return 0;
    if (typeof v === 'string') return this.table.pool.id(v);
    if (v.poolId < 0) v.poolId = this.table.pool.id(v.str);
    return v.poolId;
  }

  private timestamp(): number {
    let i = this.first(F_TS, 0);
    if (i < 0 && this.metaObject) i = this.first(F_TS, 1);
    if (i < 0) return NaN;
    const k = this.kind[i];
    if (k === K_STR) {
      if (this.ascii[i]) {
        const t = parseIsoUtc(this.b, this.s0[i], this.s1[i]);
        if (!Number.isNaN(t)) return t;
      }
      const text = this.str(i);
      const t = toEpochMs(text);
      if (Number.isNaN(t) && text.trim() !== '') this.timeWarning = unreadableTimeMessage(text);
      return t;
    }
    if (k === K_NUM) return toEpochMs(this.num[i]);
    return toEpochMs(k === K_TRUE);
  }

  private callsite(): Callsite | null {
    for (let ctx = 0; ctx < 3; ctx++) {
      if ((ctx === 1 && !this.metaObject) || (ctx === 2 && !this.tagsObject)) continue;
      const i = this.first(F_CALLSITE, ctx);
      if (i < 0 || this.kind[i] !== K_STR) continue;
      const c = this.cached(this.s0[i], this.s1[i], this.ascii[i]);
      if (c.callsite === undefined) c.callsite = readCallsite(c.str);
      if (c.callsite) return c.callsite;
    }
    return null;
  }

  /** Appends the line just parsed (readGeneric's reading of a flat record) or counts it as ignored or reports it. */
  private emit(line: number, opts: { file: string; ctx: NormalizeContext; prices: PriceBook }, res: FastScanResult) {
    // Token counts first: a value that is not a number throws FALLBACK before anything is changed.
    const input = this.tokenCount(F_INPUT);
    const output = this.tokenCount(F_OUTPUT);
    const hasUsage = input !== undefined || output !== undefined;
    let inT = 0, outT = 0, cr = 0, cw = 0, w1 = 0, rs = 0;
    if (hasUsage) {
      cr = this.tokenCount(F_CACHE_READ) ?? 0;
      cw = this.tokenCount(F_CACHE_WRITE) ?? 0;
      w1 = this.tokenCount(F_WRITE_1H) ?? 0;
      outT = output ?? 0;
      rs = this.tokenCount(F_REASONING) ?? 0;
      inT = input ?? 0;
    }
    const recorded = this.recordedCost(this.first(F_COST, 0));
    if (!hasUsage && recorded === undefined) {
      opts.ctx.ignored++;
      return;
    }
    // checkTokens (exclusive convention)
    let bad: string | undefined;
    if (inT < 0 || outT < 0 || cr < 0 || cw < 0 || w1 < 0 || rs < 0 || inT > MAX_TOKENS_PER_CALL || outT > MAX_TOKENS_PER_CALL || cr > MAX_TOKENS_PER_CALL || cw > MAX_TOKENS_PER_CALL || w1 > MAX_TOKENS_PER_CALL || rs > MAX_TOKENS_PER_CALL) {
      const vals = [inT, outT, cr, cw, w1, rs];
      for (let f = 0; f < 6; f++) {
        const v = vals[f];
        if (v < 0) {
          bad = `Negative token count in ${TOKEN_NAMES[f]} (${v})`;
          break;
        }
        if (v > MAX_TOKENS_PER_CALL) {
          bad = `Implausible token count in ${TOKEN_NAMES[f]} (${v}): more than ${MAX_TOKENS_PER_CALL} for one call`;
          break;
        }
      }
    }
    if (!bad) {
      if (w1 > cw) cw = w1;
      if (rs > outT) throw FALLBACK; // read as outside the output, with a warning: the exact path's reading
      if (recorded !== undefined && recorded < 0) bad = negativeCostMessage(recorded);
    }
    if (bad) {
      res.problems.push({ file: opts.file, line, message: `Skipped call: ${bad}`, severity: 'error' });
      return;
    }

    let model = this.cachedStr(this.first(F_MODEL, 0));
    if (model === undefined && this.metaObject) model = this.cachedStr(this.stamp[NF + F_META_MODEL] === this.cur ? NF + F_META_MODEL : -1);
    let provider = this.cachedStr(this.first(F_PROVIDER, 0));
    if (provider === undefined && this.metaObject) provider = this.cachedStr(this.stamp[NF + F_META_PROVIDER] === this.cur ? NF + F_META_PROVIDER : -1);
    let est = this.toNum(this.first(F_EST, 0));
    if (est === undefined && this.metaObject) est = this.toNum(this.first(F_EST, 1));
    this.timeWarning = undefined;
    const ts = this.timestamp();
    let traceId = this.traceStr(this.first(F_TRACE, 0));
    if (traceId === undefined && this.metaObject) traceId = this.plainStr(this.first(F_TRACE, 1));
    let latency = this.toNum(this.first(F_LATENCY, 0));
    if (latency === undefined && this.metaObject) latency = this.toNum(this.first(F_LATENCY, 1));
    // readError + status
    let isError = false;
    const ei = this.first(F_ERROR, 0);
    if (ei >= 0) {
      const k = this.kind[ei];
      isError = k === K_STR ? this.s1[ei] > this.s0[ei] : k === K_TRUE ? true : k === K_NUM ? Number.isFinite(this.num[ei]) : false;
    }
    if (!isError) {
      const si = this.first(F_STATUS, 0);
      if (si >= 0 && this.kind[si] === K_STR && this.s1[si] > this.s0[si]) {
        const c = this.cached(this.s0[si], this.s1[si], this.ascii[si]);
        c.statusError ??= STATUS_ERROR.test(c.str);
        isError = c.statusError;
      }
    }
    // Attribution: top level, then metadata, then tags; first writer wins.
    const dims = this.dims;
    dims[0] = dims[1] = dims[2] = dims[3] = dims[4] = undefined;
    let tagKeys: string[] | undefined;
    let tagVals: (CachedString | string)[] | undefined;
    for (let ctx = 0; ctx < 3; ctx++) {
      for (let t = 0; t < this.nTags; t++) {
        if (this.tCtx[t] !== ctx) continue;
        const key = this.tKey[t];
        const cls = ctx === 0 ? key.topTag : key.nestedTag;
        let v: CachedString | string | undefined;
        const k = this.tKind[t];
        if (k === K_STR) {
          if (this.tS1[t] === this.tS0[t]) continue;
          v = this.cached(this.tS0[t], this.tS1[t], this.tAscii[t]);
          if (v.str.length > MAX_TAG_LENGTH) {
            if (cls < TAG_CUSTOM) throw FALLBACK; // the exact path warns about a dimension's value left out
            continue;
          }
        } else if (k === K_NUM) {
          if (!Number.isFinite(this.tNum[t])) continue;
          v = String(this.tNum[t]);
          if (v.length > MAX_TAG_LENGTH) continue;
        } else v = k === K_TRUE ? 'true' : 'false';
        if (cls < TAG_CUSTOM) {
          if (dims[cls] === undefined) dims[cls] = v;
        } else {
          if (tagKeys === undefined) {
            tagKeys = [];
            tagVals = [];
          }
          if (!tagKeys.includes(key.name)) {
            tagKeys.push(key.name);
            tagVals!.push(v);
          }
        }
      }
    }
    const cs = this.callsite();

    // Append, interning in CallTable.append's order.
    const table = this.table;
    table.reserve(table.length + 1);
    const i = table.length++;
    table.tsMs[i] = ts;
    table.recordedUsd[i] = recorded ?? NaN;
    table.estimatedUsd[i] = est ?? NaN;
    table.latencyMs[i] = latency ?? NaN;
    table.inputTokens[i] = inT;
    table.outputTokens[i] = outT;
    table.cacheReadTokens[i] = cr;
    table.cacheWriteTokens[i] = cw;
    table.cacheWrite1hTokens[i] = w1;
    table.reasoningTokens[i] = rs;
    table.flags[i] = isError ? FLAG_ERROR : 0;
    table.line[i] = line;
    const pool = table.pool;
    table.traceId[i] = table.traces.addString(traceId);
    table.callsiteFile[i] = cs ? (cs.fileId >= 0 ? cs.fileId : (cs.fileId = pool.id(cs.file))) : 0;
    table.callsiteLine[i] = cs ? cs.line : 0;
    table.dims.feature[i] = this.poolId(dims[0]);
    table.dims.user[i] = this.poolId(dims[1]);
    table.dims.agent[i] = this.poolId(dims[2]);
    table.dims.template[i] = this.poolId(dims[3]);
    table.dims.tool[i] = this.poolId(dims[4]);
    const pid = this.poolId(provider);
    const mid = this.poolId(model);
    table.dims.provider[i] = pid;
    table.dims.model[i] = mid;
    if (tagKeys) for (let t = 0; t < tagKeys.length; t++) table.tagColumn(tagKeys[t])[i] = this.poolId(tagVals![t]);
    this.price(i, mid, pid);
    res.added++;
    // The call is kept without a time, as normalize.ts keeps it (the only warning a line can have on this path).
    if (this.timeWarning) res.problems.push({ file: opts.file, line, message: this.timeWarning, severity: 'warning' });
  }

  /** The warning about the current line's timestamp, when it is text that is not a time. */
  private timeWarning: string | undefined;

  /** The line's attribution (DIM_ORDER), reused from line to line. */
  private readonly dims: (CachedString | string | undefined)[] = [undefined, undefined, undefined, undefined, undefined];

  /** CallTable.priceRow, with the resolved price cached per (model, provider) id pair. */
  private price(i: number, mid: number, pid: number) {
    this.priceRows(i, i + 1, mid, pid);
  }

  private resolved(mid: number, pid: number): Priced | null {
    let byProvider = this.priceCache.get(mid);
    if (byProvider === undefined) this.priceCache.set(mid, (byProvider = new Map()));
    let p = byProvider.get(pid);
    if (p === undefined) {
      const t = this.table;
      const r = this.pricesFor.resolve(t.pool.get(mid) || undefined, t.pool.get(pid) || undefined);
      p = r ? { price: r, flat: r.variants.length === 1 ? flatRates(r.variants[0].table) : undefined } : null;
      byProvider.set(pid, p);
    }
    return p;
  }

  private readonly costs = new Float64Array(2);

  /** CallTable.priceRow of rows [from, to) (their model and provider ids: `mid`, `pid` when given, else the table's). */
  private priceRows(from: number, to: number, mid = -1, pid = -1) {
    const t = this.table;
    const { model, provider } = t.dims;
    const tiers = t.tags.has('service_tier');
    const out = this.costs;
    let lastModel = -1;
    let lastProvider = -1;
    let p: Priced | null = null;
    for (let i = from; i < to; i++) {
      const m = mid >= 0 ? mid : model[i];
      const pv = pid >= 0 ? pid : provider[i];
      if (m !== lastModel || pv !== lastProvider) {
        p = this.resolved(m, pv);
        lastModel = m;
        lastProvider = pv;
      }
      if (p === null) {
        t.computedUsd[i] = NaN;
        t.noCacheUsd[i] = NaN;
        continue;
      }
      // One price table without tiers (most models): its rates, resolved once.
      if (p.flat) costAtRates(p.flat, t.inputTokens[i], t.outputTokens[i], t.cacheReadTokens[i], t.cacheWriteTokens[i], t.cacheWrite1hTokens[i], t.reasoningTokens[i], out);
      else costInto(tableAt(p.price, t.tsMs[i]), t.inputTokens[i], t.outputTokens[i], t.cacheReadTokens[i], t.cacheWriteTokens[i], t.cacheWrite1hTokens[i], t.reasoningTokens[i], out);
      const f = tiers ? t.tierMultiplierAt(i, t.pool.get(pv) || p.price.providerId) : 1;
      t.computedUsd[i] = out[0] * f;
      t.noCacheUsd[i] = out[1] * f;
    }
  }
}

/** A resolved price and, when it is one table without tiers, its rates (see flatRates). */
interface Priced {
  price: ResolvedPrice;
  flat: Float64Array | undefined;
}

/** An open-addressing table of `size` slots (a power of two) over `entries` by their hash: slot = entry index + 1. */
function rehashed(entries: readonly { hash: number }[], size: number): Int32Array<ArrayBuffer> {
  const t = new Int32Array(size);
  const mask = size - 1;
  for (let n = 0; n < entries.length; n++) {
    let i = entries[n].hash & mask;
    while (t[i] !== 0) i = (i + 1) & mask;
    t[i] = n + 1;
  }
  return t;
}

const scanners = new WeakMap<CallTable, FastScanner>();

/** The fast scanner of a table (kept while the table lives, so its caches carry over between chunks). */
export function scannerFor(table: CallTable, prices: PriceBook): FastScanner {
  let s = scanners.get(table);
  if (!s) scanners.set(table, (s = new FastScanner(table, prices)));
  return s;
}

/**
 * Reads `bytes` (a file's content from `start`) into `table` with the fast scanner, falling back line by line to the
 * exact slow path. Same table rows, problems (in line order, not capped), `ctx.ignored` and next position as
 * scanJsonDocuments + normalizeDocument + CallTable.append.
 */
export function fastScanBytes(
  table: CallTable,
  ctx: NormalizeContext,
  bytes: Uint8Array,
  start: ReadPosition,
  opts: { file: string; final: boolean; prices: PriceBook },
): FastScanResult {
  // A literal of one shape, not a spread of the caller's object: code compiled for one shape throws itself away when
  // another comes (a spread's shape can differ from call to call).
  return scannerFor(table, opts.prices).scan(bytes, start, { file: opts.file, final: opts.final, prices: opts.prices, ctx });
}
