import type { PriceBook } from './pricing';
import { MAX_PROBE } from './hash';
import { ReplacedRows } from './replacedRows';
import { serviceTierMultiplier } from './serviceTier';
import { type PackedTraceIds, TraceIds } from './traceIds';
import type { CallRecord, CanonicalDim } from './types';

/** FNV-1a over the UTF-16 code units `from`..`to` of `s` (the pool's index and StringMerger hash strings alike). */
export function hashRange(s: string, from: number, to: number): number {
  let h = 0x811c9dc5 | 0;
  for (let q = from; q < to; q++) h = Math.imul(h ^ s.charCodeAt(q), 0x01000193);
  return h;
}

/** hashRange of the whole of `s`. */
export function hashString(s: string): number {
  return hashRange(s, 0, s.length);
}

export { MAX_PROBE };

/**
 * Interned strings shared by every table, so group keys compare as small integers. Id 0 is "no value".
 * Strings are found through an open-addressing index in typed arrays (a slot holds id + 1; the hash of each id is
 * kept): a million strings take ~12 MB of index instead of ~40 MB for a Map, and indexing taken-over strings is fast.
 * Should a probe run past MAX_PROBE (strings crafted to collide), the pool uses a Map from then on.
 */
export class StringPool {
  values: string[] = [''];
  private slots = new Int32Array(64);
  private hashes = new Int32Array(32);
  /** Ids below this are in the index ('' at 0 never is: id('') is 0). After `adopt`, the rest is indexed when needed. */
  private indexed = 1;
  /** The lookup once the typed index gave up (see MAX_PROBE). */
  private map: Map<string, number> | undefined;

  /** `hash`: for tests (e.g. one that makes every string collide); FNV-1a by default. */
  constructor(private readonly hash: (s: string) => number = hashString) {}

  /** True once the typed index gave up for a Map (strings crafted to collide). */
  get degraded(): boolean {
    return this.map !== undefined;
  }

  /** Makes room in the index for `count` strings (load factor at most 1/2), re-slotting the indexed ones. */
  private reserve(count: number) {
    if (count > this.hashes.length) {
      const h = new Int32Array(Math.max(count, this.hashes.length * 2));
      h.set(this.hashes);
      this.hashes = h;
    }
    if (count * 2 <= this.slots.length) return;
    let size = this.slots.length;
    while (size < count * 2) size *= 2;
    const slots = new Int32Array(size);
    const mask = size - 1;
    const old = this.slots;
    for (let j = 0; j < old.length; j++) {
      const e = old[j];
      if (e === 0) continue;
      let k = this.hashes[e - 1] & mask;
      while (slots[k] !== 0) k = (k + 1) & mask;
      slots[k] = e;
    }
    this.slots = slots;
  }

  /** The slot of `s` (hash `h`): where it is, or the empty slot where it would go; -1 past MAX_PROBE steps. */
  private slotOf(s: string, h: number): number {
    const slots = this.slots;
    const mask = slots.length - 1;
    let j = h & mask;
    for (let step = 0; step <= MAX_PROBE; step++) {
      const e = slots[j];
      if (e === 0 || (this.hashes[e - 1] === h && this.values[e - 1] === s)) return j;
      j = (j + 1) & mask;
    }
    return -1;
  }

  /** Gives up the typed index for a Map of the strings indexed so far (each string's first id). */
  private toMap(): Map<string, number> {
    const map = new Map<string, number>();
    for (let i = 1; i < this.indexed; i++) if (!map.has(this.values[i])) map.set(this.values[i], i);
    this.map = map;
    this.slots = new Int32Array(0);
    this.hashes = new Int32Array(0);
    return map;
  }

  /**
   * After `adopt` (or strings appended by a merge), indexes `n` more strings, so a caller can spread the work over
   * event-loop turns. True when every string is indexed. A string held twice keeps its first id.
   */
  buildLookupStep(n = 20000): boolean {
    const end = Math.min(this.values.length, this.indexed + n);
    for (let i = this.indexed; i < end; i++) {
      const v = this.values[i];
      if (this.map) {
        if (!this.map.has(v)) this.map.set(v, i);
      } else {
        if (i === this.indexed) this.reserve(this.values.length);
        const h = this.hash(v);
        const j = this.slotOf(v, h);
        if (j < 0) {
          this.indexed = i;
          this.toMap();
          i--; // this string again, into the map
          continue;
        }
        if (this.slots[j] === 0) {
          this.slots[j] = i + 1;
          this.hashes[i] = h;
        }
      }
      this.indexed = i + 1;
    }
    return this.indexed === this.values.length;
  }

  /**
   * Indexes the strings (after `adopt` or a merge), `n` per event-loop turn (`turn` waits for the next one), so the
   * first string interned later (an append) does not index them all at once.
   */
  async buildLookupInTurns(turn: () => Promise<void>, n = 100000): Promise<void> {
    while (!this.buildLookupStep(n)) await turn();
  }

  id(s: string | undefined): number {
    if (s === undefined || s === '') return 0;
    if (this.indexed < this.values.length) this.buildLookupStep(Infinity);
    if (!this.map) {
      const h = this.hash(s);
      let j = this.slotOf(s, h);
      if (j >= 0) {
        const e = this.slots[j];
        if (e !== 0) return e - 1;
        const id = this.values.length;
        if ((id + 1) * 2 > this.slots.length || id >= this.hashes.length) {
          this.reserve(id + 1);
          j = this.slotOf(s, h);
        }
        if (j >= 0) {
          this.values.push(s);
          this.slots[j] = id + 1;
          this.hashes[id] = h;
          this.indexed = id + 1;
          return id;
        }
      }
      this.toMap();
    }
    const map = this.map!;
    let id = map.get(s);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(s);
      map.set(s, id);
      this.indexed = id + 1;
    }
    return id;
  }

  /**
   * Appends `s`, which the caller knows is not in the pool (StringMerger), without indexing it now when the pool is
   * still to be indexed; returns its id.
   */
  appendNew(s: string): number {
    if (this.indexed === this.values.length && s !== '') return this.id(s);
    this.values.push(s);
    return this.values.length - 1;
  }

  /** The id of `s` if it was ever interned, without adding it. */
  peek(s: string): number | undefined {
    if (s === '') return 0;
    if (this.indexed < this.values.length) this.buildLookupStep(Infinity);
    if (!this.map) {
      const j = this.slotOf(s, this.hash(s));
      if (j >= 0) {
        const e = this.slots[j];
        return e === 0 ? undefined : e - 1;
      }
      this.toMap();
    }
    return this.map!.get(s);
  }

  /**
   * Takes over the strings of another pool (in id order, '' first) when this one is still empty, so ids read with
   * them stay valid as they are (no re-interning of a cached table's strings). They are indexed when first needed (or
   * in slices: `buildLookupStep`). False, and nothing done, when this pool already holds strings or `values` does not
   * start with ''.
   */
  adopt(values: string[]): boolean {
    if (this.values.length !== 1 || values[0] !== '') return false;
    this.values = values;
    this.indexed = 1;
    if (this.map) this.map = new Map();
    return true;
  }

  get(id: number): string {
    return this.values[id] ?? '';
  }
}

const DIM_COLUMNS = ['feature', 'user', 'agent', 'template', 'tool', 'provider', 'model'] as const;
const NUMERIC_COLUMNS = [
  'tsMs', 'recordedUsd', 'computedUsd', 'noCacheUsd', 'estimatedUsd', 'latencyMs', 'inputTokens', 'outputTokens',
  'cacheReadTokens', 'cacheWriteTokens', 'cacheWrite1hTokens', 'reasoningTokens', 'flags', 'line', 'callsiteLine', 'traceId',
] as const;
/** Columns of string-pool ids besides the dimensions (`traceId` is not one: it indexes the table's own `traces`). */
const ID_COLUMNS = ['callsiteFile'] as const;

/** The names of the columns every packed table has (`numeric`, and `ids` besides any `tag:` ones). */
export const PACKED_COLUMNS = { numeric: NUMERIC_COLUMNS as readonly string[], ids: [...ID_COLUMNS, ...DIM_COLUMNS.map((d) => `dim:${d}`)] as readonly string[] };

/** A table's columns as plain typed arrays (transferable between threads) and the strings their ids refer to. */
export interface PackedColumns {
  length: number;
  numeric: Record<string, Float64Array | Uint32Array | Int32Array | Uint8Array>;
  ids: Record<string, Int32Array>;
  /** The trace ids the `traceId` column indexes. */
  traces: PackedTraceIds;
  strings: string[];
  /**
   * The strings as one string and their lengths, instead of `strings` (empty then): cheaper to read from a cache and
   * to pass between threads than hundreds of thousands of small strings.
   */
  joinedStrings?: { text: string; lengths: Uint32Array };
}

/** The id column of a grouping dimension in packed columns, as `CallTable.column` finds it in a table. */
export function packedColumn(p: Pick<PackedColumns, 'ids'>, dim: string): Int32Array | undefined {
  if ((DIM_COLUMNS as readonly string[]).includes(dim)) return p.ids[`dim:${dim}`];
  return p.ids[`tag:${dim.startsWith('tag:') ? dim.slice(4) : dim}`];
}

/** The strings of packed columns, in id order. */
export function packedStrings(p: Pick<PackedColumns, 'strings' | 'joinedStrings'>): string[] {
  const j = p.joinedStrings;
  if (!j) return p.strings;
  const out = new Array<string>(j.lengths.length);
  cutStrings(j, out, 0, out.length, 0);
  return out;
}

/**
 * Cuts strings `from`..`to` out of joined strings into `out`, the first starting at character `at`; returns where the
 * next one starts (so the work can be spread over several calls).
 */
export function cutStrings(j: { text: string; lengths: Uint32Array }, out: string[], from: number, to: number, at: number): number {
  for (let i = from; i < to; i++) {
    const n = j.lengths[i];
    out[i] = j.text.slice(at, at + n);
    at += n;
  }
  return at;
}

/** Packs strings as one string and their lengths (see PackedColumns.joinedStrings). */
export function joinStrings(strings: readonly string[]): { text: string; lengths: Uint32Array } {
  const lengths = new Uint32Array(strings.length);
  for (let i = 0; i < strings.length; i++) lengths[i] = strings[i].length;
  return { text: strings.join(''), lengths };
}

/**
 * A table's columns as views of their own memory (no copy): posted to a worker thread, shared-memory columns are
 * shared, not copied. The worker reads only rows < `length`; string ids refer to the table's pool.
 */
export interface SharedColumns {
  file: string;
  length: number;
  /** How many rows are marked FLAG_COPY (CallTable.copies). */
  copies: number;
  numeric: Record<string, Float64Array | Uint32Array | Int32Array | Uint8Array>;
  ids: Record<string, Int32Array>;
  traces: PackedTraceIds;
}

type Column = Float64Array | Uint32Array | Int32Array | Uint8Array;
type ColumnType<T extends Column> = { new (n: number): T; new (b: ArrayBufferLike, offset?: number, length?: number): T; readonly BYTES_PER_ELEMENT: number };

/** Whether columns live in shared memory (SharedArrayBuffer), so a worker thread reads them without a copy. */
export const SHARED_COLUMNS = typeof SharedArrayBuffer === 'function';

/** A zero-filled column of `n` values, in shared memory when the runtime has it. */
function column<T extends Column>(type: ColumnType<T>, n: number): T {
  return SHARED_COLUMNS ? new type(new SharedArrayBuffer(n * type.BYTES_PER_ELEMENT)) : new type(n);
}

export const FLAG_ERROR = 1;
/**
 * A row that is a copy of a call counted in another file of the workspace: a Claude Code message (same `message.id`
 * and `requestId`) that a resumed or forked session copied into its own transcript. Every figure leaves such rows out.
 * Set by CopyIndex (copies.ts) over the files read together, never by a reader: a table read alone has none.
 */
export const FLAG_COPY = 2;

/** Whether a string id map maps every id to itself. */
function isIdentity(m: Int32Array): boolean {
  if (m.length > 0 && m[m.length - 1] !== m.length - 1) return false;
  for (let i = 0; i < m.length; i++) if (m[i] !== i) return false;
  return true;
}

/**
 * The calls of one trace file in columns (typed arrays and interned strings), so a million calls fit in tens of MB
 * and grouping walks integers. Costs are priced once on append: `computedUsd` is NaN for an unpriced model,
 * `recordedUsd` is NaN when the record carried no cost.
 */
/**
 * The fewest rows a table has room for: small, so that thousands of small files (Claude Code keeps one transcript per
 * session) do not each hold columns for a thousand calls (3,000 files of 20 calls took ~410 MB with room for 1,024).
 */
const MIN_ROWS = 64;

/** Capacity for a table loaded whole: its rows and room for appends (1/16 more), so the next appends copy nothing. */
export function withHeadroom(n: number): number {
  return n + Math.max(MIN_ROWS, n >> 4);
}

/**
 * The canonical dimensions' columns. A class, not an object literal: every table's dims then share one shape whose
 * fields stay typed as the columns they hold; a literal's fresh copy in a second table on a thread made the compiled
 * row loops start over (~25 ms at the first chunk of a stolen range or of the next file).
 */
class DimColumns implements Record<CanonicalDim, Int32Array> {
  feature = new Int32Array(0);
  user = new Int32Array(0);
  agent = new Int32Array(0);
  template = new Int32Array(0);
  tool = new Int32Array(0);
  provider = new Int32Array(0);
  model = new Int32Array(0);
}

/** Adds `d` to rows [at, at + n) of `col` (those that are not 0, with `nonZero`). */
function addToRows(col: Int32Array | Uint32Array, at: number, n: number, d: number, nonZero = false): void {
  if (nonZero) {
    for (let i = at; i < at + n; i++) if (col[i] !== 0) col[i] += d;
  } else for (let i = at; i < at + n; i++) col[i] += d;
}

/** dst[at + i] = map[src[i]] for i < n. */
function remapRows(dst: Int32Array, at: number, src: Int32Array, n: number, map: Int32Array): void {
  for (let i = 0; i < n; i++) dst[at + i] = map[src[i]];
}

export class CallTable {
  length = 0;
  private cap = 0;
  tsMs: Float64Array = new Float64Array(0);
  recordedUsd: Float64Array = new Float64Array(0);
  computedUsd: Float64Array = new Float64Array(0);
  noCacheUsd: Float64Array = new Float64Array(0);
  estimatedUsd: Float64Array = new Float64Array(0);
  latencyMs: Float64Array = new Float64Array(0);
  inputTokens: Uint32Array = new Uint32Array(0);
  outputTokens: Uint32Array = new Uint32Array(0);
  cacheReadTokens: Uint32Array = new Uint32Array(0);
  cacheWriteTokens: Uint32Array = new Uint32Array(0);
  cacheWrite1hTokens: Uint32Array = new Uint32Array(0);
  reasoningTokens: Uint32Array = new Uint32Array(0);
  flags: Uint8Array = new Uint8Array(0);
  /** 1-based line of the record in its trace file. */
  line: Int32Array = new Int32Array(0);
  /** Index into `traces` (0: no trace id). Rows of one trace may hold different indexes: compare with TraceKeys. */
  traceId: Int32Array = new Int32Array(0);
  /** The trace ids of the rows, as bytes (not in the string pool). */
  traces = new TraceIds();
  callsiteFile: Int32Array = new Int32Array(0);
  callsiteLine: Int32Array = new Int32Array(0);
  readonly dims: Record<CanonicalDim, Int32Array> = new DimColumns();
  /** Other tag keys, each a column of interned values (0 where a call lacks the tag). */
  readonly tags = new Map<string, Int32Array>();

  /**
   * Counts changes to rows already there (a row replaced, calls repriced): views built on the rows start over, or
   * take the replaced rows out and in again while `replaced` still holds them.
   */
  edits = 0;
  /** The old values of the rows replaced in place lately (`store`), by edit count; a reprice empties it. */
  readonly replaced = new ReplacedRows();
  /** Rows marked FLAG_COPY (0: every row counts, and loops over rows need not look at the flags). */
  copies = 0;

  constructor(readonly file: string, readonly pool: StringPool) {}

  private grow(min: number) {
    // Doubling up to a million rows, then an eighth at a time: a big table does not double its memory for a few appends.
    const cap = Math.max(min, this.cap + (this.cap >= 1 << 20 ? this.cap >> 3 : this.cap), MIN_ROWS);
    // The fixed columns in one block of shared memory, each a view at its offset: allocating a SharedArrayBuffer costs
    // µs whatever its size (2,000 small transcripts grew ~130,000 of them, ~0.3 s of their reading), and each is one
    // more buffer to post to a worker and for the collector to track. Tag columns come and go: one buffer each.
    // Each column at the next multiple of its element size: first the block's size, then the views.
    let at = 0;
    const place = (a: Column) => {
      const n = (a.constructor as ColumnType<Column>).BYTES_PER_ELEMENT;
      const start = Math.ceil(at / n) * n;
      at = start + cap * n;
      return start;
    };
    for (const k of NUMERIC_COLUMNS) place(this[k]);
    for (const k of ID_COLUMNS) place(this[k]);
    for (const d of DIM_COLUMNS) place(this.dims[d]);
    const block = SHARED_COLUMNS ? new SharedArrayBuffer(at) : undefined;
    at = 0;
    const g = <T extends Column>(a: T): T => {
      const type = a.constructor as ColumnType<T>;
      const b = block ? new type(block, place(a), cap) : column(type, cap);
      b.set(a);
      return b;
    };
    for (const k of NUMERIC_COLUMNS) (this[k] as Column) = g(this[k]);
    for (const k of ID_COLUMNS) this[k] = g(this[k]);
    for (const d of DIM_COLUMNS) this.dims[d] = g(this.dims[d]);
    for (const [k, v] of this.tags) {
      const c = column(Int32Array, cap);
      c.set(v);
      this.tags.set(k, c);
    }
    this.cap = cap;
  }

  /** Appends a call and prices it with `prices`. */
  append(rec: CallRecord, prices: PriceBook): number {
    if (this.length === this.cap) this.grow(this.length + 1);
    const i = this.length++;
    this.fill(i, rec, prices);
    return i;
  }

  /**
   * Stores a call from the normaliser: appends it, or, when it supersedes a call stored earlier (`rec.supersedes`: a
   * later streaming line of a Claude Code message, or an OpenTelemetry span read after its parent), overwrites that
   * call's row. `messages` is the file's
   * NormalizeContext.messages, where the row of each message is kept.
   */
  store(rec: CallRecord, prices: PriceBook, messages: Map<string, { out: number; row: number }>): { row: number; added: boolean } {
    const m = rec.supersedes !== undefined ? messages.get(rec.supersedes) : undefined;
    if (m && m.row >= 0 && m.row < this.length) {
      this.logReplacement(m.row);
      for (const col of this.tags.values()) col[m.row] = 0;
      const copy = this.flags[m.row] & FLAG_COPY;
      this.fill(m.row, rec, prices);
      this.flags[m.row] |= copy;
      this.edits++;
      return { row: m.row, added: false };
    }
    const row = this.append(rec, prices);
    const key = rec.messageKey ?? rec.id;
    const id = key !== undefined ? messages.get(key) : undefined;
    if (id && id.row < 0) id.row = row;
    return { row, added: true };
  }

  /**
   * Marks rows as copies of calls counted in another file (FLAG_COPY: `marks` row -> true), or as counted here again
   * (false). Each row marked is an edit like a replacement in place (`store`): its old values go to `replaced`, so views
   * take it out or in without starting over; more rows than `replaced` keeps are one edit, as a reprice (views start
   * over, as they would anyway). Returns how many rows changed.
   */
  markCopies(marks: ReadonlyMap<number, boolean>): number {
    const rows: number[] = [];
    for (const [i, copy] of marks) if (((this.flags[i] & FLAG_COPY) !== 0) !== copy) rows.push(i);
    const n = rows.length;
    if (n === 0) return 0;
    if (n > this.replaced.limit) {
      this.edits++;
      this.replaced.forget(this.edits);
    } else {
      this.logReplacements(rows);
      this.edits += n;
    }
    for (const i of rows) {
      this.flags[i] ^= FLAG_COPY;
      this.copies += this.flags[i] & FLAG_COPY ? 1 : -1;
    }
    return n;
  }

  /** Keeps row `i`'s values in `replaced` before the next edit overwrites it. */
  private logReplacement(i: number): void {
    this.logReplacements([i]);
  }

  /**
   * Keeps the values of `rows` in `replaced` before the next edits (one per row, in order) change them: column by
   * column, each column's log taken once (marking a transcript's copies logs hundreds of rows at once).
   */
  private logReplacements(rows: readonly number[]): void {
    const log = this.replaced;
    const j = log.beginRun(this.edits + 1, rows);
    const keep = (column: string, values: ArrayLike<number>) => {
      const c = log.column(column);
      for (let k = 0; k < rows.length; k++) c[j + k] = values[rows[k]];
    };
    for (const k of NUMERIC_COLUMNS) keep(k, this[k]);
    for (const k of ID_COLUMNS) keep(k, this[k]);
    for (const d of DIM_COLUMNS) keep(d, this.dims[d]);
    for (const [k, v] of this.tags) keep(`tag:${k}`, v);
  }

  private fill(i: number, rec: CallRecord, prices: PriceBook): void {
    const p = this.pool;
    this.tsMs[i] = rec.tsMs;
    this.recordedUsd[i] = rec.recordedCostUsd ?? NaN;
    this.estimatedUsd[i] = rec.estimatedCostUsd ?? NaN;
    this.latencyMs[i] = rec.latencyMs ?? NaN;
    this.inputTokens[i] = rec.inputTokens;
    this.outputTokens[i] = rec.outputTokens;
    this.cacheReadTokens[i] = rec.cacheReadTokens;
    this.cacheWriteTokens[i] = rec.cacheWriteTokens;
    this.cacheWrite1hTokens[i] = rec.cacheWrite1hTokens;
    this.reasoningTokens[i] = rec.reasoningTokens;
    this.flags[i] = rec.error ? FLAG_ERROR : 0;
    this.line[i] = rec.source.line;
    this.traceId[i] = this.traces.addString(rec.traceId);
    this.callsiteFile[i] = p.id(rec.callsite?.file);
    this.callsiteLine[i] = rec.callsite?.line ?? 0;
    this.dims.feature[i] = p.id(rec.dims.feature);
    this.dims.user[i] = p.id(rec.dims.user);
    this.dims.agent[i] = p.id(rec.dims.agent);
    this.dims.template[i] = p.id(rec.dims.template);
    this.dims.tool[i] = p.id(rec.dims.tool);
    this.dims.provider[i] = p.id(rec.provider);
    this.dims.model[i] = p.id(rec.model);
    for (const k in rec.tags) {
      let col = this.tags.get(k);
      if (!col) {
        col = column(Int32Array, this.cap);
        this.tags.set(k, col);
      }
      col[i] = p.id(rec.tags[k]);
    }
    this.priceRow(i, prices);
  }

  private priceRow(i: number, prices: PriceBook) {
    const provider = this.pool.get(this.dims.provider[i]) || undefined;
    const model = this.pool.get(this.dims.model[i]) || undefined;
    const c = prices.price(model, provider, this.tokensAt(i), this.tsMs[i]);
    // The tier's discount is the provider's: the record's, or the one the price book found for the model.
    const m = c && this.tags.has('service_tier') ? this.tierMultiplierAt(i, provider ?? prices.resolve(model, provider)?.providerId) : 1;
    this.computedUsd[i] = c ? c.costUsd * m : NaN;
    this.noCacheUsd[i] = c ? c.costWithoutCacheUsd * m : NaN;
  }

  /** The discount of row `i`'s service tier (batch, flex: the `service_tier` tag), 1 for standard calls. */
  tierMultiplierAt(i: number, provider = this.pool.get(this.dims.provider[i]) || undefined): number {
    const tier = this.serviceTierAt(i);
    return tier ? serviceTierMultiplier(provider, tier) : 1;
  }

  /** Row `i`'s `service_tier` tag (batch, flex, priority, default...), if it has one. */
  serviceTierAt(i: number): string | undefined {
    const col = this.tags.get('service_tier');
    return col && col[i] !== 0 ? this.pool.get(col[i]) : undefined;
  }

  /** Prices every call again, e.g. after the user's price file changed. */
  reprice(prices: PriceBook) {
    this.edits++;
    this.replaced.forget(this.edits);
    for (let i = 0; i < this.length; i++) this.priceRow(i, prices);
  }

  tokensAt(i: number) {
    return {
      inputTokens: this.inputTokens[i],
      outputTokens: this.outputTokens[i],
      cacheReadTokens: this.cacheReadTokens[i],
      cacheWriteTokens: this.cacheWriteTokens[i],
      cacheWrite1hTokens: this.cacheWrite1hTokens[i],
      reasoningTokens: this.reasoningTokens[i],
    };
  }

  /**
   * The columns trimmed to `length`, for transfer to another thread, with the strings their ids refer to. Copies:
   * `slice` gives plain (transferable, serializable) ArrayBuffers even when the columns live in shared memory.
   */
  exportColumns(): PackedColumns {
    const numeric: Record<string, Float64Array | Uint32Array | Int32Array | Uint8Array> = {};
    for (const k of NUMERIC_COLUMNS) numeric[k] = (this[k] as Float64Array).slice(0, this.length);
    const ids: Record<string, Int32Array> = {};
    for (const k of ID_COLUMNS) ids[k] = this[k].slice(0, this.length);
    for (const d of DIM_COLUMNS) ids[`dim:${d}`] = this.dims[d].slice(0, this.length);
    for (const [k, v] of this.tags) ids[`tag:${k}`] = v.slice(0, this.length);
    return { length: this.length, numeric, ids, traces: this.traces.exportPacked(), strings: this.pool.values.slice() };
  }

  /**
   * The table's columns over its own memory (whole capacity, no copy) and its strings joined: to hand the table to
   * another thread. With shared columns (SHARED_COLUMNS) the receiver's `importColumns` takes them as they are; the
   * sender must not use the table afterwards.
   */
  handOver(): PackedColumns {
    const numeric: Record<string, Float64Array | Uint32Array | Int32Array | Uint8Array> = {};
    for (const k of NUMERIC_COLUMNS) numeric[k] = this[k];
    const ids: Record<string, Int32Array> = {};
    for (const k of ID_COLUMNS) ids[k] = this[k];
    for (const d of DIM_COLUMNS) ids[`dim:${d}`] = this.dims[d];
    for (const [k, v] of this.tags) ids[`tag:${k}`] = v;
    return { length: this.length, numeric, ids, traces: this.traces.pack(), strings: [], joinedStrings: joinStrings(this.pool.values) };
  }

  /**
   * Rebuilds a table from exported columns. Their strings are interned into `pool`: into an empty pool (the first
   * file of a window) they are adopted with their ids as they are. Shared-memory columns with room for all rows (from
   * `handOver` or the state cache) become the table's columns without a copy (ids remapped in place when needed);
   * others are copied.
   */
  static importColumns(file: string, pool: StringPool, p: PackedColumns): CallTable {
    const t = new CallTable(file, pool);
    t.traces = TraceIds.fromPacked(p.traces);
    const strings = packedStrings(p);
    const same = pool.adopt(strings);
    const map = same ? undefined : new Int32Array(strings.length);
    if (map) for (let i = 0; i < strings.length; i++) map[i] = pool.id(strings[i]);
    const all = [...Object.values(p.numeric), ...Object.values(p.ids)];
    let cap = Infinity;
    for (const a of all) if (a.length < cap) cap = a.length;
    const adopt = SHARED_COLUMNS && all.every((a) => a.buffer instanceof SharedArrayBuffer) && cap >= p.length && all.length > 0;
    if (adopt) {
      for (const k of NUMERIC_COLUMNS) (t[k] as Column) = p.numeric[k].subarray(0, cap);
      const take = (src: Int32Array): Int32Array => {
        const col = src.subarray(0, cap);
        if (map) for (let i = 0; i < p.length; i++) col[i] = map[col[i]];
        return col;
      };
      for (const k of ID_COLUMNS) t[k] = take(p.ids[k]);
      for (const d of DIM_COLUMNS) t.dims[d] = take(p.ids[`dim:${d}`]);
      for (const [k, v] of Object.entries(p.ids)) if (k.startsWith('tag:')) t.tags.set(k.slice(4), take(v));
      t.cap = cap;
      t.length = p.length;
      return t;
    }
    t.grow(withHeadroom(p.length));
    t.length = p.length;
    for (const k of NUMERIC_COLUMNS) (t[k] as Float64Array).set((p.numeric[k] as Float64Array).subarray(0, p.length));
    const remap = (dst: Int32Array, src: Int32Array) => {
      if (!map) dst.set(src.subarray(0, p.length));
      else for (let i = 0; i < p.length; i++) dst[i] = map[src[i]];
    };
    for (const k of ID_COLUMNS) remap(t[k], p.ids[k]);
    for (const d of DIM_COLUMNS) remap(t.dims[d], p.ids[`dim:${d}`]);
    for (const [k, v] of Object.entries(p.ids)) {
      if (!k.startsWith('tag:')) continue;
      const col = column(Int32Array, t.cap);
      remap(col, v);
      t.tags.set(k.slice(4), col);
    }
    return t;
  }

  /** Adds `n` to every row's line number (a table read from a byte range, its lines counted from the range's start). */
  shiftLines(n: number): void {
    if (n !== 0) addToRows(this.line, 0, this.length, n);
  }

  /** Makes room for at least `n` rows (fast path of `fastScan`; columns may be replaced, so read them again after). */
  reserve(n: number): void {
    if (n > this.cap) this.grow(n);
  }

  /** Rows the columns hold without growing. */
  get capacity(): number {
    return this.cap;
  }

  /** The column of a custom tag key, created (zero-filled, current capacity) when missing. */
  tagColumn(key: string): Int32Array {
    let col = this.tags.get(key);
    if (!col) {
      col = column(Int32Array, this.cap);
      this.tags.set(key, col);
    }
    return col;
  }

  /**
   * One table from tables parsed separately (e.g. byte ranges of one file in worker threads), in order. Each part's
   * string ids are re-interned into `pool` and its `line` column is shifted by `lineOffset` (lines before the part).
   * Allocates the result once, at its final size. `idMap` (the part's string ids already interned into `pool`, e.g. in
   * slices between event-loop turns) replaces the re-interning of `columns.strings`.
   */
  static fromParts(file: string, pool: StringPool, parts: readonly { columns: PackedColumns; lineOffset: number; idMap?: Int32Array }[]): CallTable {
    const t = new CallTable(file, pool);
    let total = 0;
    for (const p of parts) total += p.columns.length;
    let at = 0;
    let rest = parts;
    // A first part in shared memory, with room for every row and its strings adopted with their ids (the first range
    // worker reserves for the whole file), becomes the table's columns: only the other parts are copied in.
    const first = parts[0];
    const firstCols = first ? [...Object.values(first.columns.numeric), ...Object.values(first.columns.ids)] : [];
    const firstCap = Math.min(...firstCols.map((a) => a.length));
    if (
      SHARED_COLUMNS && first && first.lineOffset === 0 && first.idMap && isIdentity(first.idMap) && firstCols.length > 0 && firstCap >= total &&
      firstCols.every((a) => a.buffer instanceof SharedArrayBuffer)
    ) {
      const p = first.columns;
      for (const k of NUMERIC_COLUMNS) (t[k] as Column) = p.numeric[k].subarray(0, firstCap);
      for (const k of ID_COLUMNS) t[k] = p.ids[k].subarray(0, firstCap);
      for (const d of DIM_COLUMNS) t.dims[d] = p.ids[`dim:${d}`].subarray(0, firstCap);
      for (const [k, v] of Object.entries(p.ids)) if (k.startsWith('tag:')) t.tags.set(k.slice(4), v.subarray(0, firstCap));
      t.cap = firstCap;
      at = p.length;
      rest = parts.slice(1);
    } else t.grow(withHeadroom(total));
    if (rest === parts) t.traces = new TraceIds();
    else t.traces = TraceIds.fromPacked(first.columns.traces);
    for (const { columns: p, lineOffset, idMap } of rest) {
      let map = idMap;
      if (!map) {
        const strings = packedStrings(p);
        map = new Int32Array(strings.length);
        for (let i = 0; i < strings.length; i++) map[i] = pool.id(strings[i]);
      }
      const m = map;
      // Columns may be longer than their rows (handed over with their capacity): only the first `length` count.
      for (const k of NUMERIC_COLUMNS) (t[k] as Float64Array).set((p.numeric[k] as Float64Array).subarray(0, p.length), at);
      // (The loops over rows are functions of their own: V8 optimizes a small function in its loop quickly, where this
      // one, optimized in the middle of a loop, took 30–50 ms to compile, twice.)
      if (lineOffset !== 0) addToRows(t.line, at, p.length, lineOffset);
      // The part's trace ids follow those before it: its indexes shift by their count.
      const shift = t.traces.appendAll(p.traces);
      if (shift !== 0) addToRows(t.traceId, at, p.length, shift, true);
      // An identity map (strings adopted with their ids) is a plain copy.
      const identity = isIdentity(m);
      const remap = (dst: Int32Array, src: Int32Array) => {
        if (identity) dst.set(src.subarray(0, p.length), at);
        else remapRows(dst, at, src, p.length, m);
      };
      for (const k of ID_COLUMNS) remap(t[k], p.ids[k]);
      for (const d of DIM_COLUMNS) remap(t.dims[d], p.ids[`dim:${d}`]);
      for (const [k, v] of Object.entries(p.ids)) {
        if (k.startsWith('tag:')) remap(t.tagColumn(k.slice(4)), v);
      }
      at += p.length;
    }
    t.length = total;
    return t;
  }

  /**
   * Views of the first `length` rows of every column over the table's own memory, for a worker thread: with shared
   * columns (`SHARED_COLUMNS`) posting them copies nothing. Rows are appended, so rows < `length` stay valid; growing
   * the table moves later rows to new memory and leaves these views as they were. The exception: a row replaced in
   * place (`store`: a Claude Code message completed by a later line) may change under a job that reads it; its trace
   * index may then be past the trace ids shared (`traces.count`), and the job reads it as having none.
   */
  shareColumns(): SharedColumns {
    const n = this.length;
    const numeric: SharedColumns['numeric'] = {};
    for (const k of NUMERIC_COLUMNS) numeric[k] = (this[k] as Float64Array).subarray(0, n);
    const ids: SharedColumns['ids'] = {};
    for (const k of ID_COLUMNS) ids[k] = this[k].subarray(0, n);
    for (const d of DIM_COLUMNS) ids[`dim:${d}`] = this.dims[d].subarray(0, n);
    for (const [k, v] of this.tags) ids[`tag:${k}`] = v.subarray(0, n);
    return { file: this.file, length: n, copies: this.copies, numeric, ids, traces: this.traces.pack() };
  }

  /**
   * The memory of every column and of the trace ids, in a fixed order: while it is the same list, views `shareColumns`
   * gave still see the table's rows (a table that grows or gets a new tag moves to new memory). Cheaper than
   * `shareColumns` (no view made): a signals job checks thousands of tables with it.
   */
  columnBuffers(): ArrayBufferLike[] {
    const out: ArrayBufferLike[] = [];
    // (Columns that share one block, as `grow` makes them, are one entry.)
    const add = (b: ArrayBufferLike) => {
      if (out[out.length - 1] !== b) out.push(b);
    };
    for (const k of NUMERIC_COLUMNS) add(this[k].buffer);
    for (const k of ID_COLUMNS) add(this[k].buffer);
    for (const d of DIM_COLUMNS) add(this.dims[d].buffer);
    for (const v of this.tags.values()) add(v.buffer);
    const p = this.traces.pack();
    add(p.bytes.buffer);
    add(p.ends.buffer);
    return out;
  }

  /**
   * A read-only table over columns from `shareColumns` (another thread's), whose string ids are those of `pool`
   * (a copy of the sender's pool, at least as long as it was when the columns were shared). Nothing is copied.
   */
  static fromShared(pool: StringPool, s: SharedColumns): CallTable {
    const t = new CallTable(s.file, pool);
    t.traces = TraceIds.fromPacked(s.traces);
    for (const k of NUMERIC_COLUMNS) (t[k] as Column) = s.numeric[k];
    for (const k of ID_COLUMNS) t[k] = s.ids[k];
    for (const d of DIM_COLUMNS) t.dims[d] = s.ids[`dim:${d}`];
    for (const [k, v] of Object.entries(s.ids)) if (k.startsWith('tag:')) t.tags.set(k.slice(4), v);
    t.length = s.length;
    t.cap = s.length;
    t.copies = s.copies;
    return t;
  }

  /** The interned-id column for a dimension: a canonical one, or a custom tag key (`team` or `tag:team`). */
  column(dim: string): Int32Array | undefined {
    if ((DIM_COLUMNS as readonly string[]).includes(dim)) return this.dims[dim as CanonicalDim];
    return this.tags.get(dim.startsWith('tag:') ? dim.slice(4) : dim);
  }
}
