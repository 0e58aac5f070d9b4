import type { PriceTable, Rate, ResolvedPrice } from './pricing';
import { SCANNER_WASM_BASE64 } from './scannerWasm.generated';

/**
 * The WebAssembly byte loop of the fast scanner (wasm/scanner.ts): one instance per thread, shared by every
 * FastScanner of that thread. It reads windows of bytes copied into its memory and hands back, per line, a record
 * (row, blank, ignored or fallback) and, per row, numbers and interned string ids. What keys mean stays in
 * fastScan.ts (asked of normalize.ts): the module asks for each new key through `describe`. Pure: no fs, no vscode.
 */

// The few WebAssembly JS API types used here (the project's lib has no DOM types; Node and browsers have the API).
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
  interface Memory {
    readonly buffer: ArrayBuffer;
  }
}

export const L_ROW = 1;
export const L_BLANK = 2;
export const L_IGNORED = 3;
export const L_FALLBACK = 4;

/** D_COST, D_NOCACHE: the computed costs where the module holds the pair's prices (asked once: ScanClient), else NaN. */
export const D_TS = 0, D_REC = 1, D_EST = 2, D_LAT = 3, D_COST = 4, D_NOCACHE = 5;
export const U_IN = 0, U_OUT = 1, U_CR = 2, U_CW = 3, U_W1 = 4, U_RS = 5;
/**
 * Integer columns JavaScript reads (the trace id's kind and bytes, the row's first tag entry); the module's other
 * columns (string ids of model, provider, status, call sites, dimensions) are its own since it asks for what they mean.
 */
export const I_TRACE = 2, I_TRACE_S = 4, I_TAG0 = 14, I_TRACE_E = 16;
/** Resolved columns, copied into the table as they are. */
export const I_LINE = 17, I_FLAGS = 18, I_CSFILE = 19, I_CSLINE = 20, I_PDIM = 21, I_PPROVIDER = 26, I_PMODEL = 27;
/** I_TRACE: a new ASCII trace id, the previous row's, a new one with other bytes. */
export const TRACE_NEW_ASCII = 1, TRACE_SAME = 2, TRACE_NEW = 3;
/**
 * The longest trace id the loop remembers to compare the next row's with: after a new id up to this long, the next
 * "new" id differs from it (after a longer one, it may be the same).
 */
export const TRACE_REMEMBERED = 256;

// Key flags, as wasm/scanner.ts reads them.
export const KF_DANGER_TOP = 1, KF_DANGER_META = 2, KF_DANGER_TAGS = 4, KF_META = 8, KF_TAGS = 16;

/** The field groups, in wasm/scanner.ts's G_* order. */
export interface WasmConfig {
  fields: number;
  groups: Int32Array[];
  maxTokens: number;
  /** A recorded cost above this goes to the JavaScript reader. */
  maxCostUsd: number;
  metaModelField: number;
  metaProviderField: number;
  /** Strings kept before the table is reset (0: as many as the module holds). */
  stringLimit?: number;
  /** Entries of the cache of recent strings, a power of two (0: as many as the module holds; tests set fewer). */
  stringCacheEntries?: number;
  /** The table's flag bit for an error. */
  errorFlag: number;
}

/** What a key means, for the module: its field slot and flags, and its dimension class at top level and nested. */
export interface WasmKey<K> {
  key: K;
  field: number;
  flags: number;
  topTag: number;
  nestedTag: number;
}

/** The table columns a scan's rows are copied to (CallTable's). */
export interface TableColumns {
  reserve(n: number): void;
  tsMs: Float64Array;
  recordedUsd: Float64Array;
  computedUsd: Float64Array;
  noCacheUsd: Float64Array;
  estimatedUsd: Float64Array;
  latencyMs: Float64Array;
  inputTokens: Uint32Array;
  outputTokens: Uint32Array;
  cacheReadTokens: Uint32Array;
  cacheWriteTokens: Uint32Array;
  cacheWrite1hTokens: Uint32Array;
  reasoningTokens: Uint32Array;
  line: Int32Array;
  flags: Uint8Array;
  callsiteFile: Int32Array;
  callsiteLine: Int32Array;
  dims: { feature: Int32Array; user: Int32Array; agent: Int32Array; template: Int32Array; tool: Int32Array; provider: Int32Array; model: Int32Array };
}

interface Exports {
  memory: WebAssembly.Memory;
  layout(what: number): number;
  init(fields: number, maxTokens: number, maxCostUsd: number, metaModel: number, metaProvider: number, strLimit: number, errorFlag: number, cacheEntries: number): number;
  resetStrings(): void;
  scan(start: number, len: number, keepPrevious: number, firstLine: number, reader: number, prices: number): number;
}

/**
 * The reader whose rows a scan reads: the module asks it, the first time a row needs it, what a string is for its
 * table (each answer is also told to the module: setPool, setStatus, setCallsite) and what a model costs.
 */
export interface ScanClient<K> {
  /** The reader's pool id of string `id` (told: setPool). */
  wasmPoolId(w: WasmEngine<K>, id: number): number;
  /** String `id` as a status: 1 not an error, 2 an error (told: setStatus). */
  wasmStatus(w: WasmEngine<K>, id: number): number;
  /** String `id` as a call site: 1 blank, 2 a file (told: setCallsite). */
  wasmCallsite(w: WasmEngine<K>, id: number): number;
  /** The prices of a model (and provider) as the reader's price book resolves them (null: unpriced). */
  wasmPrice(model: string | undefined, provider: string | undefined): ResolvedPrice | null;
}

/** jsPrice's answers besides an entry (0): unpriced, and rows JavaScript prices (what an entry cannot hold). */
const P_UNPRICED = -2, P_JS = -3;
/** An entry's layout (wasm/scanner.ts): rates in this order, each present, base, tier count, (start, price) per tier. */
const RATE_KEYS = ['input', 'output', 'cacheRead', 'cacheWrite', 'cacheWrite1h', 'reasoning'] as const;

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

function decodeBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

let compiled: WebAssembly.Module | null | undefined;

/** A compiled scanner module, as threads of one process pass it to each other. */
export type ScannerModule = WebAssembly.Module;

/** The scanner's module (compiled lazily: a function's code when it is first called), or null where WebAssembly cannot run. */
export function scannerModule(): ScannerModule | null {
  if (compiled === undefined) {
    try {
      compiled = typeof WebAssembly === 'object' ? new WebAssembly.Module(decodeBase64(SCANNER_WASM_BASE64)) : null;
    } catch {
      compiled = null; // no WebAssembly (or no SIMD) here: never again on this thread
    }
  }
  return compiled;
}

/**
 * Takes the module another thread of this process compiled (posted to a worker: `scannerModule()` there), unless this
 * thread has one already. Threads of one process share a module's compiled code: a range worker then does not compile
 * again what the thread that started it already did (~140 M instructions on a cold start).
 */
export function adoptScannerModule(m: ScannerModule): void {
  if (compiled === undefined) compiled = m;
}

let epochs = 0;

export class WasmEngine<K> {
  readonly window: number;
  readonly rows: number;
  readonly keys: K[] = [];
  /** Changes when the module forgets its strings (and differs between engines): ids from before mean nothing now. */
  epoch = ++epochs;
  private readonly x: Exports;
  private u8!: Uint8Array;
  private i32!: Int32Array;
  private f64!: Float64Array;
  private u32!: Uint32Array;
  private readonly inAt: number;
  private readonly lendAt: number;
  private readonly lkindAt: number;
  /**
   * intAt of the integer columns read row by row (fastScan's emitRows): fields, not calls, in the hot loop that reads
   * them (a method called a few times per window has no type feedback yet when that loop is first optimized, and its
   * code was thrown away at the next window: ~1.5 ms of compiling for nothing per reader).
   */
  readonly cols: { trace: number; traceS: number; traceE: number; tag0: number };
  private readonly specialAt: number;
  private readonly dcolAt: number;
  private readonly ucolAt: number;
  private readonly icolAt: number;
  private readonly tapeAt: number;
  private readonly kpropsAt: number;
  private readonly soffAt: number;
  private readonly slenAt: number;
  private readonly arenaAt: number;
  private readonly kp: number;
  private readonly poolOfAt: number;
  private readonly ownerAt: number;
  private readonly statusAt: number;
  private readonly csStateAt: number;
  private readonly csLineAt: number;
  private readonly csFileAt: number;
  private readonly csOwnerAt: number;
  private readonly keyMax: number;
  private readonly stageAt: number;
  private readonly priceFixesAt: number;
  private readonly entryF64: number;
  private readonly maxTiers: number;
  private readonly maxVariants: number;
  private strings: (string | undefined)[] = [];
  /** The 64 bytes after an in-place window, while the loop's newlines are there. */
  private readonly saved = new Uint8Array(64);
  /** Scans of bytes read into the input window, without a copy (tests). */
  inPlaceScans = 0;
  /** A reader holds the input window (`hold`): it reads a file into it, and keeps a line's start there between chunks. */
  private held = false;
  /** The reader of the current scan. */
  private client: ScanClient<K> | null = null;

  private constructor(describe: (name: string) => WasmKey<K> | undefined, cfg: WasmConfig, module: WebAssembly.Module) {
    const instance = new WebAssembly.Instance(module, {
      env: {
        abort: () => {
          throw new Error('fast scanner: WebAssembly abort');
        },
        key: (ptr: number, len: number) => this.newKey(describe, ptr, len),
        price: (model1: number, provider1: number) => this.stagePrice(this.client!.wasmPrice(model1 ? this.str(model1 - 1) : undefined, provider1 ? this.str(provider1 - 1) : undefined)),
        pool: (id: number) => this.client!.wasmPoolId(this, id),
        status: (id: number) => this.client!.wasmStatus(this, id),
        callsite: (id: number) => this.client!.wasmCallsite(this, id),
      },
    });
    const x = instance.exports as unknown as Exports;
    this.x = x;
    const L = (n: number) => x.layout(n);
    [this.inAt, this.lendAt, this.lkindAt, this.dcolAt, this.icolAt, this.tapeAt] = [L(0), L(1), L(2), L(3), L(4), L(5)];
    const cfgAt = L(6);
    [this.kpropsAt, this.soffAt, this.slenAt, this.arenaAt] = [L(7), L(8), L(9), L(10)];
    this.ucolAt = L(27);
    this.specialAt = L(45);
    [this.poolOfAt, this.ownerAt, this.statusAt, this.csStateAt, this.csLineAt, this.csFileAt, this.csOwnerAt] = [L(29), L(30), L(31), L(32), L(33), L(34), L(35)];
    this.window = L(11);
    this.rows = L(12);
    this.cols = { trace: this.intAt(I_TRACE), traceS: this.intAt(I_TRACE_S), traceE: this.intAt(I_TRACE_E), tag0: this.intAt(I_TAG0) };
    this.kp = L(16);
    this.keyMax = L(17);
    [this.stageAt, this.priceFixesAt, this.entryF64] = [L(39), L(40), L(42)];
    [this.maxTiers, this.maxVariants] = [L(43) >> 8, L(43) & 255];
    if (this.entryF64 !== 1 + this.maxVariants * (2 + RATE_KEYS.length * (3 + 2 * this.maxTiers))) throw new Error('fast scanner: WebAssembly layout mismatch');
    if (cfg.fields > L(15) || cfg.groups.length !== 16 || L(18) !== 28 || L(19) !== 6 || L(28) !== 6 || L(38) !== TRACE_REMEMBERED) throw new Error('fast scanner: WebAssembly layout mismatch');
    this.views();
    // The groups: (offset, length) pairs, then the field indices.
    const base = cfgAt >> 2;
    let at = base + 2 * cfg.groups.length;
    cfg.groups.forEach((g, i) => {
      this.i32[base + 2 * i] = at - base;
      this.i32[base + 2 * i + 1] = g.length;
      this.i32.set(g, at);
      at += g.length;
    });
    if (!x.init(cfg.fields, cfg.maxTokens, cfg.maxCostUsd, cfg.metaModelField, cfg.metaProviderField, cfg.stringLimit ?? 0, cfg.errorFlag, cfg.stringCacheEntries ?? 0)) throw new Error('fast scanner: WebAssembly init failed');
  }

  /** The engine, or null where WebAssembly cannot run (the JavaScript reader then does all the work). */
  static create<K>(describe: (name: string) => WasmKey<K> | undefined, cfg: WasmConfig): WasmEngine<K> | null {
    if (!scannerModule()) return null;
    try {
      return new WasmEngine(describe, cfg, compiled!);
    } catch {
      return null; // this configuration (or memory) failed; another may not
    }
  }

  private views() {
    const buf = this.x.memory.buffer;
    if (this.u8?.buffer === buf) return;
    this.u8 = new Uint8Array(buf);
    this.i32 = new Int32Array(buf);
    this.f64 = new Float64Array(buf);
    this.u32 = new Uint32Array(buf);
  }

  private newKey(describe: (name: string) => WasmKey<K> | undefined, ptr: number, len: number): number {
    this.views();
    const id = this.keys.length;
    if (id >= this.keyMax) return -1;
    let name = '';
    for (let i = 0; i < len; i++) name += String.fromCharCode(this.u8[ptr + i]);
    const k = describe(name);
    if (!k) return -1;
    this.keys.push(k.key);
    const at = (this.kpropsAt >> 2) + id * this.kp;
    this.i32[at] = k.field;
    this.i32[at + 1] = k.flags;
    this.i32[at + 2] = k.topTag;
    this.i32[at + 3] = k.nestedTag;
    return id;
  }

  /**
   * The module's input window (`window` bytes of its memory): bytes read into it from a file are scanned where they are,
   * without the copy `scan` otherwise makes. The module's memory never grows (it has no memory.grow), so the view stays
   * valid (`scan` checks).
   */
  private input(): Uint8Array {
    this.views();
    return this.u8.subarray(this.inAt, this.inAt + this.window);
  }

  /**
   * The input window, lent to one reader until `release` (undefined while another has it): bytes it reads into it are
   * scanned there. Meanwhile other scans on this thread must not run here (`busy`): copied in, their bytes would
   * overwrite the holder's (the JavaScript reader takes them).
   */
  hold(): Uint8Array | undefined {
    if (this.held) return undefined;
    this.held = true;
    return this.input();
  }

  release(): void {
    this.held = false;
  }

  /** True while a reader holds the input window (`hold`). */
  get busy(): boolean {
    return this.held;
  }

  /** Whether `b` starts at the input window's start (the bytes a reader read there). */
  isInput(b: Uint8Array): boolean {
    this.views();
    return b.buffer === this.u8.buffer && b.byteOffset === this.inAt;
  }

  /**
   * Reads the complete lines of bytes [from, from + n) of `b` (n <= window): copied in first, unless `b` is the input
   * window (`hold`: read there from a file), where they are read in place. Returns the line records.
   * `keepPrevious`: the caller took every row of the previous scan (a trace id may then be TRACE_SAME as the last).
   * `firstLine`: the number of the first line; `reader` (not 0): whose pool ids (setPool) the rows may use; `prices`
   * (not 0): whose prices the rows are priced at (another number than the last scan's forgets the prices the module
   * holds); `client`: what the module asks about strings and prices it has not met (see ScanClient).
   */
  scan(b: Uint8Array, from: number, n: number, keepPrevious: boolean, firstLine: number, reader: number, prices: number, client: ScanClient<K>): number {
    this.client = client;
    this.views();
    let lines: number;
    if (this.isInput(b) && from + n <= this.window) {
      // In place: the loop writes 64 newline bytes after the window's last, which may be bytes of the caller's (an
      // unfinished last line): they are put back.
      this.inPlaceScans++;
      const after = this.inAt + from + n;
      this.saved.set(this.u8.subarray(after, after + 64));
      try {
        lines = this.x.scan(from, n, keepPrevious ? 1 : 0, firstLine, reader, prices);
      } finally {
        if (this.x.memory.buffer !== b.buffer) throw new Error('fast scanner: WebAssembly memory grew under the caller\'s bytes');
        this.u8.set(this.saved, after);
      }
    } else {
      this.u8.set(b.subarray(from, from + n), this.inAt);
      lines = this.x.scan(0, n, keepPrevious ? 1 : 0, firstLine, reader, prices);
    }
    this.views();
    return lines;
  }

  /** Offset of line record k's newline, from the window's start. */
  lineEnd(k: number): number {
    return this.i32[(this.lendAt >> 2) + k];
  }

  lineKind(k: number): number {
    return this.u8[this.lkindAt + k];
  }

  /** How many of the last scan's line records are ignored or to fall back (the lines JavaScript looks at). */
  specialCount(): number {
    return this.x.layout(46);
  }

  /** The record of the j-th line JavaScript looks at (in order): its index among the line records. */
  specialLine(j: number): number {
    return this.i32[(this.specialAt >> 2) + 2 * j];
  }

  /** The rows (line records that are rows) before the j-th line JavaScript looks at. */
  specialRows(j: number): number {
    return this.i32[(this.specialAt >> 2) + 2 * j + 1];
  }

  /** The module's memory as 32-bit integers (valid until the next scan): integer column c of row r is at intAt(c) + r (cols: the ones read per row). */
  ints(): Int32Array {
    return this.i32;
  }

  intAt(c: number): number {
    return (this.icolAt >> 2) + c * this.rows;
  }

  /** Tag entries of the last scan: those of row r run from its I_TAG0 to the next row's (or tapeCount). */
  tapeCount(): number {
    return this.x.layout(25);
  }

  /**
   * Copies rows [r0, r0 + n) of the last scan into the table's rows [at, at + n): numbers, costs, line numbers, flags,
   * call sites and pool ids.
   */
  copyRows(t: TableColumns, at: number, r0: number, n: number) {
    t.reserve(at + n);
    const d = (c: number) => this.f64.subarray((this.dcolAt >> 3) + c * this.rows + r0, (this.dcolAt >> 3) + c * this.rows + r0 + n);
    const u = (c: number) => this.u32.subarray((this.ucolAt >> 2) + c * this.rows + r0, (this.ucolAt >> 2) + c * this.rows + r0 + n);
    const i = (c: number) => this.i32.subarray((this.icolAt >> 2) + c * this.rows + r0, (this.icolAt >> 2) + c * this.rows + r0 + n);
    t.tsMs.set(d(D_TS), at);
    t.recordedUsd.set(d(D_REC), at);
    t.computedUsd.set(d(D_COST), at);
    t.noCacheUsd.set(d(D_NOCACHE), at);
    t.estimatedUsd.set(d(D_EST), at);
    t.latencyMs.set(d(D_LAT), at);
    t.inputTokens.set(u(U_IN), at);
    t.outputTokens.set(u(U_OUT), at);
    t.cacheReadTokens.set(u(U_CR), at);
    t.cacheWriteTokens.set(u(U_CW), at);
    t.cacheWrite1hTokens.set(u(U_W1), at);
    t.reasoningTokens.set(u(U_RS), at);
    t.line.set(i(I_LINE), at);
    t.flags.set(i(I_FLAGS), at);
    t.callsiteFile.set(i(I_CSFILE), at);
    t.callsiteLine.set(i(I_CSLINE), at);
    t.dims.feature.set(i(I_PDIM), at);
    t.dims.user.set(i(I_PDIM + 1), at);
    t.dims.agent.set(i(I_PDIM + 2), at);
    t.dims.template.set(i(I_PDIM + 3), at);
    t.dims.tool.set(i(I_PDIM + 4), at);
    t.dims.provider.set(i(I_PPROVIDER), at);
    t.dims.model.set(i(I_PMODEL), at);
  }

  /** The rows of the last scan whose costs JavaScript computes (in order): the module did not know their prices. */
  priceFixes(): Int32Array {
    return this.i32.subarray(this.priceFixesAt >> 2, (this.priceFixesAt >> 2) + this.x.layout(41));
  }

  /**
   * What the module asked about a pair it met the first time (jsPrice): its prices written at PSTAGE (0), unpriced, or
   * rows JavaScript prices (time-of-day variants, more tiers or variants than an entry has room for).
   */
  private stagePrice(price: ResolvedPrice | null): number {
    if (price === null) return P_UNPRICED;
    this.views();
    const f = this.f64;
    const at = this.stageAt >> 3;
    const vs = price.variants;
    if (vs.length < 1 || vs.length > this.maxVariants) return P_JS;
    const varF = 2 + RATE_KEYS.length * (3 + 2 * this.maxTiers);
    f.fill(0, at, at + this.entryF64);
    f[at] = vs.length;
    for (let v = 0; v < vs.length; v++) {
      const c = vs[v].constraint;
      const va = at + 1 + v * varF;
      if (!c) f[va] = -Infinity;
      else if (c.type === 'start_date') f[va] = c.startMs;
      else return P_JS;
      const table: PriceTable = vs[v].table;
      f[va + 1] = table.perRequestUsd ?? 0;
      for (let k = 0; k < RATE_KEYS.length; k++) if (!this.stageRate(va + 2 + k * (3 + 2 * this.maxTiers), table[RATE_KEYS[k]])) return P_JS;
    }
    return 0;
  }

  /** A rate at f64 index a of the staged entry: present, base, tier count, (start, price) per tier; false if it does not fit. */
  private stageRate(a: number, rate: Rate | undefined): boolean {
    const f = this.f64;
    if (rate === undefined) return true;
    f[a] = 1;
    if (typeof rate === 'number') {
      f[a + 1] = rate;
      return true;
    }
    if (rate.tiers.length > this.maxTiers) return false;
    f[a + 1] = rate.base;
    f[a + 2] = rate.tiers.length;
    rate.tiers.forEach((t, j) => {
      f[a + 3 + 2 * j] = t.start;
      f[a + 4 + 2 * j] = t.price;
    });
    return true;
  }

  /** The pool id of string `id` for `reader`, or -1 when not told. */
  poolOf(id: number, reader: number): number {
    return this.i32[(this.ownerAt >> 2) + id] === reader ? this.i32[(this.poolOfAt >> 2) + id] : -1;
  }

  /** Tells the module the pool id of string `id` for `reader`. */
  setPool(id: number, poolId: number, reader: number) {
    this.i32[(this.poolOfAt >> 2) + id] = poolId;
    this.i32[(this.ownerAt >> 2) + id] = reader;
  }

  /** Tells the module whether string `id` read as a status means an error. */
  setStatus(id: number, isError: boolean) {
    this.u8[this.statusAt + id] = isError ? 2 : 1;
  }

  /** Tells the module how string `id` reads as a call site: blank (null), or its file's pool id for `reader` and line. */
  setCallsite(id: number, cs: { fileId: number; line: number } | null, reader: number) {
    this.u8[this.csStateAt + id] = cs ? 2 : 1;
    if (cs) {
      this.i32[(this.csFileAt >> 2) + id] = cs.fileId;
      this.i32[(this.csLineAt >> 2) + id] = cs.line;
      this.i32[(this.csOwnerAt >> 2) + id] = reader;
    }
  }

  /** Rows of the last scan. */
  rowCount(): number {
    return this.x.layout(24);
  }

  tapeKey(j: number): K {
    return this.keys[this.i32[(this.tapeAt >> 2) + 2 * j]];
  }

  tapeString(j: number): number {
    return this.i32[(this.tapeAt >> 2) + 2 * j + 1];
  }

  /** The text of string id `id` (decoded once per epoch). */
  str(id: number): string {
    let s = this.strings[id];
    if (s === undefined) {
      const off = this.arenaAt + this.i32[(this.soffAt >> 2) + id];
      const len = this.i32[(this.slenAt >> 2) + id];
      s = utf8.decode(this.u8.subarray(off, off + len));
      this.strings[id] = s;
    }
    return s;
  }

  /** Keys the module read so far without its prediction (none, or another key followed): looked up by hash. */
  keyMisses(): number {
    return this.x.layout(44);
  }

  /** After a window's rows are taken: when the string table filled up, forget it (a new epoch). */
  endWindow() {
    if (this.x.layout(22)) {
      this.x.resetStrings();
      this.strings = [];
      this.epoch = ++epochs;
    }
  }
}
