// AssemblyScript (compiled to WebAssembly by scripts/buildWasm.mjs; not part of the TypeScript project).
//
// The byte loop of the fast scanner (src/core/fastScan.ts) for the commonest line shape: a flat JSON object of
// scalars with optional flat `metadata` / `tags` objects, plain strings (no escapes), exact numbers (at most 15
// significant digits, no exponent) and ISO-8601 UTC timestamps. For each complete line of a window of bytes it writes
// one line record (a row, a blank line, an ignored record, or "fallback") and, for rows, the row's values as numbers
// and interned string ids. Anything it is not sure of is a fallback line: the JavaScript fast scanner (and behind it
// the exact JSON.parse path) reads that line, so the result is the same table whichever reader took a line.
// What keys mean is decided in JavaScript (fastScan.ts asks normalize.ts) and handed over through `key`.

@external("env", "key")
declare function jsKey(ptr: usize, len: i32): i32;
/** The prices of a pair of string ids (id + 1, 0 for none): 0 when JavaScript wrote them at PSTAGE, P_UNPRICED, or P_JS. */
@external("env", "price")
declare function jsPrice(model: i32, provider: i32): i32;
// What a string the reader (owner) has not met yet is for its table, asked the first time a row uses it (JavaScript
// writes the answer at POOLOF, STATUSOF, CSSTATE and the call site columns, and returns it).
/** The reader's pool id of string `id`. */
@external("env", "pool")
declare function jsPool(id: i32): i32;
/** String `id` read as a status: 1 not an error, 2 an error. */
@external("env", "status")
declare function jsStatus(id: i32): i32;
/** String `id` read as a call site: 1 blank, 2 a file (its pool id for the reader, and line, at CSFILE and CSLINE). */
@external("env", "callsite")
declare function jsCallsite(id: i32): i32;

// --- Sizes and codes shared with src/core/fastScanWasm.ts (it checks them through `layout`) ---------------------------

const WINDOW: i32 = 1 << 20;
const ROWS: i32 = 8192;
const LINES: i32 = 16384;
const TAPE: i32 = 32768;
const MAXF: i32 = 128;
const MAX_TAGS: i32 = 64;
const KEY_TAB: i32 = 4096;
const KEY_MAX: i32 = 2048;
const KEY_ARENA: i32 = 1 << 16;
const STR_TAB: i32 = 1 << 19;
const STR_MAX: i32 = 1 << 18;
const ARENA: i32 = 8 << 20;
const MAX_PROBE: i32 = 64;
const MAX_TAG_BYTES: i32 = 200;

const K_NULL: u8 = 1;
const K_NUM: u8 = 2;
const K_STR: u8 = 3;
const K_TRUE: u8 = 4;
const K_FALSE: u8 = 5;

const L_ROW: u8 = 1;
const L_BLANK: u8 = 2;
const L_IGNORED: u8 = 3;
const L_FALLBACK: u8 = 4;

// Key flags (props[1]).
const KF_DANGER_TOP: i32 = 1;
const KF_DANGER_META: i32 = 2;
const KF_DANGER_TAGS: i32 = 4;
const KF_META: i32 = 8;
const KF_TAGS: i32 = 16;
const TAG_SKIP: i32 = -1;
const TAG_CUSTOM: i32 = 5;
/**
 * i32 per key in KPROPS (64 bytes): field, flags, topTag, nestedTag, seen[3], length, next[3] (id + 1), (unused),
 * offset of its bytes in KARENA (followed there by `":`), and the mask of its bytes and `":` in two 16-byte compares
 * (bit i for byte i: a mask above 0xffff takes the second; 0 when they are longer than 32 bytes).
 */
const KP: i32 = 16;
const KP_LEN: i32 = 7;
const KP_OFF: i32 = 12;
const KP_MASK: i32 = 13;

// Field groups (the alias lists of fastScan.ts, in its order), written by JavaScript into CFG.
const G_TS: i32 = 0;
const G_MODEL: i32 = 1;
const G_PROVIDER: i32 = 2;
const G_TRACE: i32 = 3;
const G_LATENCY: i32 = 4;
const G_COST: i32 = 5;
const G_EST: i32 = 6;
const G_ERROR: i32 = 7;
const G_STATUS: i32 = 8;
const G_INPUT: i32 = 9;
const G_OUTPUT: i32 = 10;
const G_CACHE_READ: i32 = 11;
const G_CACHE_WRITE: i32 = 12;
const G_WRITE_1H: i32 = 13;
const G_REASONING: i32 = 14;
const G_CALLSITE: i32 = 15;
const NGROUPS: i32 = 16;

// Row columns: f64 then i32, each ROWS long.
const D_TS: i32 = 0;
const D_REC: i32 = 1;
const D_EST: i32 = 2;
const D_LAT: i32 = 3;
const D_COST: i32 = 4; // the computed cost, where the module knows the pair's prices (else NaN)
const D_NOCACHE: i32 = 5; // the same without the prompt cache
const ND: i32 = 6;
// Token columns (u32, the table's own type: copied as they are).
const U_IN: i32 = 0;
const U_OUT: i32 = 1;
const U_CR: i32 = 2;
const U_CW: i32 = 3;
const U_W1: i32 = 4;
const U_RS: i32 = 5;
const NU: i32 = 6;
// Integer columns. Columns 0, 1, 3, 5-13 and 15 are not written: the string ids of a row's model, provider, status,
// call sites and dimensions stay the module's own since it asks JavaScript what they mean (the layout JavaScript checks
// is unchanged).
/** 0: no trace id; 1: a new one at [I_TRACE_S, I_TRACE_E) of the window, ASCII; 3: the same, not ASCII; 2: the previous row's. */
const I_TRACE: i32 = 2;
const I_TRACE_S: i32 = 4;
const I_TRACE_E: i32 = 16;
// Resolved for the table (JavaScript copies these columns as they are): line number, flags, call site, and pool ids.
const I_LINE: i32 = 17;
const I_FLAGS: i32 = 18;
const I_CSFILE: i32 = 19;
const I_CSLINE: i32 = 20;
const I_PDIM: i32 = 21; // 5 columns
const I_PPROVIDER: i32 = 26;
const I_PMODEL: i32 = 27;
const I_TAG0: i32 = 14; // first tape entry of the row
const NI: i32 = 28;

// --- Memory ----------------------------------------------------------------------------------------------------------

const IN: usize = memory.data(WINDOW + 64);
/** Where the current scan's bytes start (IN + its `start`). */
let wbase: usize = IN;
const LEND: usize = memory.data(LINES * 4);
const LKIND: usize = memory.data(LINES);
/** The scan's lines JavaScript looks at (ignored, or to fall back), in order: the line's record and the rows before it. */
const LSPECIAL: usize = memory.data(LINES * 8);
let specialCount: i32 = 0;
const DCOL: usize = memory.data(ND * ROWS * 8);
const UCOL: usize = memory.data(NU * ROWS * 4);
const ICOL: usize = memory.data(NI * ROWS * 4);
const TAPEP: usize = memory.data(TAPE * 8);
const CFG: usize = memory.data(1024 * 4);
// Field slots of the current line, one 32-byte record each: s0, s1, stamp (i32), kind, ascii (u8), num (f64).
const SLOT: usize = memory.data(3 * MAXF * 32);
// Per field: its group (-1: none) and rank in it. Per context and group, the best (lowest rank) non-null slot of the
// current line: stamp, rank, slot (what values.first finds, kept up to date while the line is read).
const FGROUP: usize = memory.data(MAXF * 4);
const FRANK: usize = memory.data(MAXF * 4);
const GBEST: usize = memory.data(3 * NGROUPS * 12);
const O_S0: usize = 0;
const O_S1: usize = 4;
const O_STAMP: usize = 8;
const O_KIND: usize = 12;
const O_ASC: usize = 13;
const O_NUM: usize = 24;
// The current line's tag values, a list per context (MAX_TAGS entries from ctx * MAX_TAGS): key, start and end.
const TKEY: usize = memory.data(3 * MAX_TAGS * 4);
const TS0: usize = memory.data(3 * MAX_TAGS * 4);
const TS1: usize = memory.data(3 * MAX_TAGS * 4);
/** Tag values of the current line per context (nTags: in all). */
const TCOUNT: usize = memory.data(3 * 4);
const KTAB: usize = memory.data(KEY_TAB * 4);
const KHASH: usize = memory.data(KEY_MAX * 4);
const KPROPS: usize = memory.data(KEY_MAX * KP * 4);
const KARENA: usize = memory.data(KEY_ARENA + 16);
const STAB: usize = memory.data(STR_TAB * 4);
const SHASH: usize = memory.data(STR_MAX * 4);
const SOFF: usize = memory.data(STR_MAX * 4);
const SLEN: usize = memory.data(STR_MAX * 4);
const SARENA: usize = memory.data(ARENA + 16);
/** The cache of recent strings (cachedString): 2^SC_BITS entries of 64 bytes (first 32 bytes, length, id + 1). */
const SC_BITS: i32 = 12;
const SCACHE: usize = memory.data((1 << SC_BITS) * 64, 16);
/** Constant vectors read from memory (one load each, where TurboFan builds a splat of a constant in three instructions). */
const VQUOTE: usize = memory.data<u8>([34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34], 16);
const VSLASH: usize = memory.data<u8>([92, 92, 92, 92, 92, 92, 92, 92, 92, 92, 92, 92, 92, 92, 92, 92], 16);
const VSPACE: usize = memory.data<u8>([32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32], 16);
/** PREFIX + 16 * n: 16 bytes of which the first min(max(n, 0), 16) are 0xff (n from -16 to 32: entry n + 16). */
const PREFIX: usize = memory.data(49 * 16, 16);
let scMask: usize = (1 << SC_BITS) - 1;
// What JavaScript said of each string (jsPool, jsStatus, jsCallsite): its pool id for one reader (OWNER), its reading as
// a status (0: not known, 1: not an error, 2: an error) and as a call site (0: not known, 1: blank, 2: file (pool id, for
// CSOWNER) and line).
const POOLOF: usize = memory.data(STR_MAX * 4);
const OWNER: usize = memory.data(STR_MAX * 4);
const STATUSOF: usize = memory.data(STR_MAX);
const CSSTATE: usize = memory.data(STR_MAX);
const CSLINE: usize = memory.data(STR_MAX * 4);
const CSFILE: usize = memory.data(STR_MAX * 4);
const CSOWNER: usize = memory.data(STR_MAX * 4);
/**
 * Prices JavaScript told the module (jsPrice), per (model, provider) pair of string ids (id + 1, 0 for none): an entry
 * of up to PV_MAX variants (chosen by the call's time, as tableAt), each with six rates (input, output, cache read,
 * cache write, 1 h cache write, reasoning: present, base, tier count, then (start, price) per tier) and a price per
 * request; or unpriced; or "JavaScript prices these rows" (what the entries cannot hold). A pair met the first time is
 * asked of JavaScript (jsPrice). Rows JavaScript prices (those, a time-dependent price without a time, a full table) go
 * on PRICEFIX.
 */
const PT_MAX: i32 = 4;
const PV_MAX: i32 = 4;
const RATE_F: i32 = 3 + 2 * PT_MAX;
const VAR_F: i32 = 2 + 6 * RATE_F;
const ENT_F: i32 = 1 + PV_MAX * VAR_F;
const NPRICE: i32 = 256;
const PTAB_BITS: i32 = 10;
const PTAB: i32 = 1 << PTAB_BITS;
const P_UNPRICED: i32 = -2;
const P_JS: i32 = -3;
const PENT: usize = memory.data(NPRICE * ENT_F * 8);
const PSTAGE: usize = memory.data(ENT_F * 8);
const PKEY: usize = memory.data(PTAB * 8);
const PVAL: usize = memory.data(PTAB * 4);
const PRICEFIX: usize = memory.data(ROWS * 4);
let priceFixCount: i32 = 0;
let nPrices: i32 = 0;
let nPriceKeys: i32 = 0;
/** Whose prices the module holds (a price book of one reader: scan's `prices`); another's empties them. */
let priceOwner: i32 = 0;
let firstLine: i32 = 0;
let owner: i32 = 0;
let flagError: i32 = 1;
const TRACE_MAX: i32 = 256;
const TRACEBUF: usize = memory.data(TRACE_MAX + 16);
/** Length of the previous row's trace id in TRACEBUF, or -1. */
let prevTraceLen: i32 = -1;

let nf: i32 = 0;
let maxTokens: f64 = 0;
/** A recorded cost above this (or beyond the doubles' range) is for the JavaScript reader to refuse. */
let maxCost: f64 = 0;
let metaModel: i32 = 0;
let metaProvider: i32 = 0;
let nKeys: i32 = 0;
let keyArenaUsed: i32 = 0;
let nStrs: i32 = 0;
let strMax: i32 = STR_MAX;
let arenaUsed: i32 = 0;
let strFull: i32 = 0;
let cur: i32 = 0;
let nTags: i32 = 0;
let metaObj: bool = false;
let tagsObj: bool = false;
let keyEnd: usize = 0;
/** After readKey: the position after the key's colon when it came right after the quote (else 0: look for it). */
let afterColon: usize = 0;
let firstKey0: i32 = 0;
let firstKey1: i32 = 0;
let firstKey2: i32 = 0;
let rowCount: i32 = 0;
let tapeCount: i32 = 0;
let numValue: f64 = 0;

const POW10: StaticArray<f64> = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/** Where things are, and the sizes above (JavaScript checks them against its own copy). */
export function layout(what: i32): i32 {
  switch (what) {
    case 0: return <i32>IN;
    case 1: return <i32>LEND;
    case 2: return <i32>LKIND;
    case 3: return <i32>DCOL;
    case 4: return <i32>ICOL;
    case 5: return <i32>TAPEP;
    case 6: return <i32>CFG;
    case 7: return <i32>KPROPS;
    case 8: return <i32>SOFF;
    case 9: return <i32>SLEN;
    case 10: return <i32>SARENA;
    case 11: return WINDOW;
    case 12: return ROWS;
    case 13: return LINES;
    case 14: return TAPE;
    case 15: return MAXF;
    case 16: return KP;
    case 17: return KEY_MAX;
    case 18: return NI;
    case 19: return ND;
    case 20: return MAX_TAGS;
    case 21: return nStrs;
    case 22: return strFull;
    case 24: return rowCount;
    case 25: return tapeCount;
    case 27: return <i32>UCOL;
    case 28: return NU;
    case 29: return <i32>POOLOF;
    case 30: return <i32>OWNER;
    case 31: return <i32>STATUSOF;
    case 32: return <i32>CSSTATE;
    case 33: return <i32>CSLINE;
    case 34: return <i32>CSFILE;
    case 35: return <i32>CSOWNER;
    case 38: return TRACE_MAX;
    case 39: return <i32>PSTAGE;
    case 40: return <i32>PRICEFIX;
    case 41: return priceFixCount;
    case 42: return ENT_F;
    case 43: return (PT_MAX << 8) | PV_MAX;
    case 44: return keyMisses;
    case 45: return <i32>LSPECIAL;
    case 46: return specialCount;
    default: return -1;
  }
}

/**
 * Reads the configuration JavaScript wrote at CFG: NGROUPS pairs (offset, length) into the field list that follows
 * them, then the field indices. `fields` is the number of field slots per context; `strLimit` (0: the most) caps the
 * strings kept before a reset (tests lower it).
 */
export function init(fields: i32, maxTok: f64, maxCostUsd: f64, metaModelField: i32, metaProviderField: i32, strLimit: i32, errorFlag: i32, cacheEntries: i32): i32 {
  flagError = errorFlag;
  for (let e = 0; e < 49; e++) for (let i = 0; i < 16; i++) store<u8>(PREFIX + (<usize>e << 4) + <usize>i, i < e - 16 ? 0xff : 0);
  // (Fewer entries in the cache of recent strings: tests, to have strings share one.)
  scMask = cacheEntries > 0 && cacheEntries < 1 << SC_BITS && (cacheEntries & (cacheEntries - 1)) == 0 ? cacheEntries - 1 : (1 << SC_BITS) - 1;
  maxCost = maxCostUsd;
  if (fields > MAXF) return 0;
  strMax = strLimit > 0 && strLimit < STR_MAX ? strLimit : STR_MAX;
  nf = fields;
  maxTokens = maxTok;
  metaModel = metaModelField;
  metaProvider = metaProviderField;
  // Each field's group and its rank there (its place in the alias list); a field in two groups is not supported.
  for (let f = 0; f < MAXF; f++) store<i32>(FGROUP + (<usize>f << 2), -1);
  for (let g = 0; g < NGROUPS; g++) {
    const s = groupStart(g);
    const n = groupLen(g);
    for (let j = 0; j < n; j++) {
      const f = load<i32>(CFG + (<usize>(s + j) << 2));
      if (f < 0 || f >= fields || load<i32>(FGROUP + (<usize>f << 2)) >= 0) return 0;
      store<i32>(FGROUP + (<usize>f << 2), g);
      store<i32>(FRANK + (<usize>f << 2), j);
    }
  }
  return 1;
}

/** Forgets every interned string (when the table is full; JavaScript forgets its ids at the same time). */
export function resetStrings(): void {
  memory.fill(STAB, 0, STR_TAB * 4);
  memory.fill(SCACHE, 0, (1 << SC_BITS) * 64);
  memory.fill(OWNER, 0, STR_MAX * 4);
  memory.fill(CSOWNER, 0, STR_MAX * 4);
  memory.fill(STATUSOF, 0, STR_MAX);
  memory.fill(CSSTATE, 0, STR_MAX);
  nStrs = 0;
  arenaUsed = 0;
  strFull = 0;
  clearPrices(); // keyed by string ids
}

function clearPrices(): void {
  memory.fill(PKEY, 0, PTAB * 8);
  nPrices = 0;
  nPriceKeys = 0;
}

// @ts-ignore: decorator
@inline function priceKey(model: i32, provider: i32): u64 {
  return ((<u64>model << 32) | <u64>provider) + 1;
}

/** Where pair `key` is in PKEY, or the empty slot where it would go (the table is never more than half full). */
function priceSlot(key: u64): usize {
  let i = <i32>((key * 0x9e3779b97f4a7c15) >> <u64>(64 - PTAB_BITS));
  let k = load<u64>(PKEY + (<usize>i << 3));
  while (k != key && k != 0) {
    i = (i + 1) & (PTAB - 1);
    k = load<u64>(PKEY + (<usize>i << 3));
  }
  return <usize>i;
}

/** Keeps what JavaScript said of pair `key` (jsPrice's `state`) at PKEY slot i; false when the table of pairs is full. */
function addPrice(i: usize, key: u64, state: i32): bool {
  if (nPriceKeys >= PTAB / 2) return false;
  let val = state;
  if (state == 0) {
    if (nPrices < NPRICE) {
      memory.copy(PENT + <usize>nPrices * ENT_F * 8, PSTAGE, ENT_F * 8);
      val = nPrices++;
    } else val = P_JS; // no room for its prices: its rows are priced in JavaScript (without asking again)
  } else if (state != P_UNPRICED && state != P_JS) return false;
  store<u64>(PKEY + (i << 3), key);
  store<i32>(PVAL + (i << 2), val);
  nPriceKeys++;
  return true;
}

/** The price entry of a pair, P_UNPRICED or P_JS; a pair met the first time is asked of JavaScript. */
function priceOf(model: i32, provider: i32): i32 {
  const key = priceKey(model, provider);
  const i = priceSlot(key);
  if (load<u64>(PKEY + (i << 3)) == key) return load<i32>(PVAL + (i << 2));
  if (!addPrice(i, key, jsPrice(model, provider))) return P_JS;
  return load<i32>(PVAL + (i << 2));
}

/** The variant of entry e that applies at `ts` (tableAt), or 0 when that takes JavaScript (several and no time). */
function variantAt(e: i32, ts: f64): usize {
  const a = PENT + <usize>e * ENT_F * 8;
  const nv = <i32>load<f64>(a);
  if (nv == 1) return a + 8;
  if (isNaN(ts)) return 0;
  for (let v = nv - 1; v >= 0; v--) {
    const va = a + 8 + <usize>(v * VAR_F) * 8;
    if (ts >= load<f64>(va)) return va; // a variant without a start holds -Infinity
  }
  return a + 8;
}

/** rateAt of rate k of variant va for a call of `total` input tokens (a missing input or output rate is 0, others NaN). */
// @ts-ignore: decorator
@inline function rateOf(va: usize, k: i32, total: f64): f64 {
  const a = va + <usize>(2 + k * RATE_F) * 8;
  if (load<f64>(a) == 0) return k < 2 ? 0 : NaN;
  let price = load<f64>(a, 8);
  const n = <i32>load<f64>(a, 16);
  for (let j = 0; j < n; j++) {
    const t = a + 24 + (<usize>j << 4);
    if (total > load<f64>(t)) price = load<f64>(t, 8);
  }
  return price;
}

let noCacheCost: f64 = 0;

/** costAtRates (src/core/pricing.ts) under variant va, operation for operation: the cost, and noCacheCost. */
// @ts-ignore: decorator
@inline function costAt(va: usize, input: f64, output: f64, cacheRead: f64, cacheWrite: f64, cacheWrite1h: f64, reasoningTokens: f64): f64 {
  const totalInput = input + cacheRead + cacheWrite;
  const rIn = rateOf(va, 0, totalInput);
  const rOutRate = rateOf(va, 1, totalInput);
  const rRead = rateOf(va, 2, totalInput);
  const rWrite = rateOf(va, 3, totalInput);
  const rWrite1h = rateOf(va, 4, totalInput);
  const rReasoning = rateOf(va, 5, totalInput);
  const perRequest = load<f64>(va, 8);
  const w1h = rWrite1h == rWrite1h ? cacheWrite1h : 0;
  const w5m = rWrite == rWrite ? cacheWrite - w1h : 0;
  const read = rRead == rRead ? cacheRead : 0;
  const plain = totalInput - read - w5m - w1h;
  const reasoning = rReasoning == rReasoning ? Math.min(reasoningTokens, output) : 0;
  const rOut = rOutRate * (output - reasoning) + (rReasoning == rReasoning ? rReasoning : 0) * reasoning;
  noCacheCost = (totalInput * rIn + rOut) / 1e6 + perRequest;
  return (plain * rIn + read * (rRead == rRead ? rRead : 0) + w5m * (rWrite == rWrite ? rWrite : 0) + w1h * (rWrite1h == rWrite1h ? rWrite1h : 0) + rOut) / 1e6 + perRequest;
}

// --- Helpers ---------------------------------------------------------------------------------------------------------

// @ts-ignore: decorator
@inline function u8at(p: usize): u32 {
  return <u32>load<u8>(p);
}

// @ts-ignore: decorator
@inline function skipWs(p: usize): usize {
  // (The test before the loop: most of the time there is no space, and the loop's code, with its stack check, is skipped.)
  let c = u8at(p);
  if (c <= 32) while (c == 32 || c == 9 || c == 13) c = u8at(++p);
  return p;
}

// @ts-ignore: decorator
@inline function groupStart(g: i32): i32 {
  return load<i32>(CFG + (<usize>g << 3));
}

// @ts-ignore: decorator
@inline function groupLen(g: i32): i32 {
  return load<i32>(CFG + (<usize>g << 3) + 4);
}

/** n bytes at a and b are equal (reads up to 7 bytes past both: every region has that slack). */
function bytesEqual(a: usize, b: usize, n: i32): bool {
  let i: i32 = 0;
  for (; i + 8 <= n; i += 8) if (load<u64>(a + i) != load<u64>(b + i)) return false;
  const r = n - i;
  if (r == 0) return true;
  return ((load<u64>(a + i) ^ load<u64>(b + i)) & ((<u64>1 << (<u64>r << 3)) - 1)) == 0;
}

/** A hash of n bytes at s, eight at a time (reads up to 7 bytes past them). */
function hashBytes(s: usize, n: i32): u32 {
  let h: u64 = 0x9e3779b97f4a7c15 ^ <u64>n;
  let i: i32 = 0;
  for (; i + 8 <= n; i += 8) {
    h = (h ^ load<u64>(s + i)) * 0xff51afd7ed558ccd;
    h ^= h >> 32;
  }
  const r = n - i;
  if (r > 0) {
    h = (h ^ (load<u64>(s + i) & ((<u64>1 << (<u64>r << 3)) - 1))) * 0xff51afd7ed558ccd;
    h ^= h >> 32;
  }
  h *= 0xc4ceb9fe1a85ec53;
  h ^= h >> 29;
  return <u32>h;
}

/**
 * The first byte from p that is a quote, a backslash or under 32, or (`high`) 128 or more: a signed compare flags the
 * last two at once. (Inlined with a constant `high`: no test of it is left in the loop.)
 */
// @ts-ignore: decorator
@inline function stopFrom(p: usize, high: bool): usize {
  const quote = v128.load(VQUOTE);
  const slash = v128.load(VSLASH);
  const space = v128.load(VSPACE);
  let v = v128.load(p);
  let stop = i8x16.bitmask(v128.or(v128.or(i8x16.eq(v, quote), i8x16.eq(v, slash)), high ? i8x16.lt_s(v, space) : i8x16.lt_u(v, space)));
  while (stop == 0) {
    p += 16;
    v = v128.load(p);
    stop = i8x16.bitmask(v128.or(v128.or(i8x16.eq(v, quote), i8x16.eq(v, slash)), high ? i8x16.lt_s(v, space) : i8x16.lt_u(v, space)));
  }
  return p + <usize>ctz<i32>(stop);
}

/**
 * The end of a string whose bytes start at p: the position of its closing quote, or 0 when a backslash or a control
 * byte comes first (the line then falls back). Sets `highBytes` when a byte >= 128 is inside. A string of ASCII (most
 * of them) is read without telling bytes >= 128 from control bytes; one with them goes on in stringEndHigh.
 */
// @ts-ignore: decorator
@inline function stringEnd(p: usize): usize {
  p = stopFrom(p, true);
  const c = u8at(p);
  highBytes = false;
  if (c == 34) return p;
  return c >= 128 ? stringEndHigh(p) : 0;
}

/** stringEnd from p, a byte >= 128: the rest of the string, bytes >= 128 allowed (and `highBytes` set). */
function stringEndHigh(p: usize): usize {
  p = stopFrom(p, false);
  highBytes = true;
  return u8at(p) == 34 ? p : 0;
}

let highBytes: bool = false;
/** Keys read without the prediction (none, or not this key): looked up by hash. */
let keyMisses: i32 = 0;

// --- Keys ------------------------------------------------------------------------------------------------------------

// @ts-ignore: decorator
@inline function kprop(k: i32, i: i32): usize {
  return KPROPS + ((<usize>k * KP + i) << 2);
}

/** The key starting after its opening quote at p (context ctx, after key `prev` or -1); -1 to fall back. Sets keyEnd. */
// @ts-ignore: decorator
@inline function readKey(p: usize, ctx: i32, prev: i32): i32 {
  // The key that followed `prev` last time is tried first: lines of one tracer repeat their keys in the same order.
  let k: i32 = prev < 0 ? (ctx == 0 ? firstKey0 : ctx == 1 ? firstKey1 : firstKey2) - 1 : load<i32>(kprop(prev, 8 + ctx)) - 1;
  if (k >= 0) {
    // The key's bytes, its closing quote and a colon right after it, compared at once (16 bytes, of which the mask's,
    // for keys of up to 14 bytes; 32 for keys of up to 30 bytes, such as `cache_write_tokens`). Near the end of the
    // window this may read past its 64 bytes of newline padding (into other regions of memory): no false match, because
    // a key never holds a newline byte (keys with bytes under 32 are never stored) and the window's lines end with one.
    // (The key arena has 16 bytes of slack after its last key.)
    const n = load<i32>(kprop(k, KP_LEN));
    const kb = KARENA + <usize>load<i32>(kprop(k, KP_OFF));
    const mask = load<u32>(kprop(k, KP_MASK));
    let bits = <u32>i8x16.bitmask(i8x16.eq(v128.load(p), v128.load(kb)));
    if (mask > 0xffff) bits |= <u32>i8x16.bitmask(i8x16.eq(v128.load(p, 16), v128.load(kb, 16))) << 16;
    if (mask != 0 ? (bits & mask) == mask : bytesEqual(p, kb, n + 2)) {
      keyEnd = p + n;
      afterColon = p + n + 2;
    } else k = -1;
  }
  if (k < 0) {
    keyMisses++;
    afterColon = 0;
    const q = stringEnd(p);
    if (q == 0 || highBytes) return -1;
    keyEnd = q;
    const n = <i32>(q - p);
    k = lookupKey(p, n, hashBytes(p, n));
    if (k < 0) return -1;
    if (prev < 0) {
      if (ctx == 0) firstKey0 = k + 1;
      else if (ctx == 1) firstKey1 = k + 1;
      else firstKey2 = k + 1;
    } else store<i32>(kprop(prev, 8 + ctx), k + 1);
  }
  const seen = kprop(k, 4 + ctx);
  if (load<i32>(seen) == cur) return -1; // a duplicate key
  store<i32>(seen, cur);
  return k;
}

function lookupKey(s: usize, n: i32, h: u32): i32 {
  const mask = KEY_TAB - 1;
  let i = <i32>(h & <u32>mask);
  for (let step = 0; step <= MAX_PROBE; step++) {
    const ent = load<i32>(KTAB + (<usize>i << 2));
    if (ent == 0) {
      if (nKeys >= KEY_MAX || keyArenaUsed + n + 2 > KEY_ARENA) return -1;
      const k = jsKey(s, n);
      if (k != nKeys) return -1; // JavaScript keeps no more keys
      memory.copy(KARENA + keyArenaUsed, s, n);
      store<u8>(KARENA + keyArenaUsed + n, 34);
      store<u8>(KARENA + keyArenaUsed + n + 1, 58);
      store<i32>(kprop(k, KP_OFF), keyArenaUsed);
      store<i32>(kprop(k, KP_LEN), n);
      store<u32>(kprop(k, KP_MASK), n + 2 < 32 ? (<u32>1 << <u32>(n + 2)) - 1 : n + 2 == 32 ? 0xffffffff : 0);
      store<u32>(KHASH + (<usize>k << 2), h);
      keyArenaUsed += n + 2;
      nKeys++;
      store<i32>(KTAB + (<usize>i << 2), k + 1);
      return k;
    }
    const k = ent - 1;
    if (load<u32>(KHASH + (<usize>k << 2)) == h && load<i32>(kprop(k, KP_LEN)) == n && bytesEqual(KARENA + <usize>load<i32>(kprop(k, KP_OFF)), s, n)) return k;
    i = (i + 1) & mask;
  }
  return -1; // keys crafted to collide: the JavaScript reader copes
}

// --- Strings ---------------------------------------------------------------------------------------------------------

/** The id of the string [s, e), interned; -1 when the table is full (JavaScript resets it after this window). */
function intern(s: usize, e: usize): i32 {
  const n = <i32>(e - s);
  const h = hashBytes(s, n);
  const mask = STR_TAB - 1;
  let i = <i32>(h & <u32>mask);
  for (let step = 0; step <= MAX_PROBE; step++) {
    const ent = load<i32>(STAB + (<usize>i << 2));
    if (ent == 0) {
      if (nStrs >= strMax || arenaUsed + n > ARENA) {
        strFull = 1;
        return -1;
      }
      const id = nStrs++;
      memory.copy(SARENA + arenaUsed, s, n);
      store<i32>(SOFF + (<usize>id << 2), arenaUsed);
      store<i32>(SLEN + (<usize>id << 2), n);
      store<u32>(SHASH + (<usize>id << 2), h);
      arenaUsed += n;
      store<i32>(STAB + (<usize>i << 2), id + 1);
      return id;
    }
    const id = ent - 1;
    if (load<u32>(SHASH + (<usize>id << 2)) == h && load<i32>(SLEN + (<usize>id << 2)) == n && bytesEqual(SARENA + <usize>load<i32>(SOFF + (<usize>id << 2)), s, n)) return id;
    i = (i + 1) & mask;
  }
  return -1;
}

// --- Values ----------------------------------------------------------------------------------------------------------

/** A JSON number at p read exactly (as JSON.parse would); 0 to fall back (inexact or invalid). Sets numValue. */
// @ts-ignore: decorator
@inline function readNumber(p: usize): usize {
  let neg = false;
  if (u8at(p) == 45) {
    neg = true;
    p++;
  }
  let m: f64 = 0;
  let digits: i32 = 0;
  let c = u8at(p);
  if (c == 48) {
    p++;
  } else if (c >= 49 && c <= 57) {
    // Up to 7 digits at once (SWAR): the first byte that is not a digit (value 10 or more once '0' is taken away:
    // its bit 7 set, or set by adding 0x76; a carry out of a byte only reaches the bytes after it).
    const t = load<u64>(p) ^ 0x3030303030303030;
    const nd = (t | (t + 0x7676767676767676)) & 0x8080808080808080;
    if (nd != 0) {
      const len = <i32>(ctz<u64>(nd) >> 3);
      // The digits moved to the top bytes (zeros before them), then combined in pairs, fours and eights.
      let v = t << (<u64>(8 - len) << 3);
      v = ((v & 0x0f0f0f0f0f0f0f0f) * 2561) >> 8;
      v = ((v & 0x00ff00ff00ff00ff) * 6553601) >> 16;
      v = ((v & 0x0000ffff0000ffff) * 42949672960001) >> 32;
      m = <f64>v;
      digits = len;
      p += <usize>len;
    } else {
      while ((c = u8at(p)) >= 48 && c <= 57) {
        m = m * 10 + <f64>(c - 48);
        digits++;
        p++;
      }
    }
  } else return 0;
  let frac: i32 = 0;
  if (u8at(p) == 46) {
    p++;
    const f0 = p;
    while ((c = u8at(p)) >= 48 && c <= 57) {
      m = m * 10 + <f64>(c - 48);
      if (m != 0 || digits != 0) digits++;
      p++;
    }
    frac = <i32>(p - f0);
    if (frac == 0) return 0;
  }
  c = u8at(p);
  if (c == 101 || c == 69) return 0;
  if (digits > 15 || frac > 22) return 0;
  const v = frac ? m / unchecked(POW10[frac]) : m;
  numValue = neg ? -v : v;
  return p;
}

/** A scalar at p into slot (ctx, field) and, with `tagged`, the line's tag list; 0 to fall back. */
// @ts-ignore: decorator
@inline function readValue(p: usize, field: i32, ctx: i32, key: i32, tagged: bool): usize {
  const c = u8at(p);
  let kind: u8;
  let vs: usize = 0;
  let ve: usize = 0;
  let asc: u8 = 1;
  let num: f64 = 0;
  if (c == 34) {
    vs = p + 1;
    const q = stringEnd(vs);
    if (q == 0) return 0;
    ve = q;
    asc = highBytes ? 0 : 1;
    kind = K_STR;
    p = q + 1;
  } else if (c == 45 || (c >= 48 && c <= 57)) {
    p = readNumber(p);
    if (p == 0) return 0;
    num = numValue;
    kind = K_NUM;
  } else if (c == 116 && load<u32>(p) == 0x65757274) {
    kind = K_TRUE;
    p += 4;
  } else if (c == 102 && load<u32>(p + 1) == 0x65736c61) {
    kind = K_FALSE;
    p += 5;
  } else if (c == 110 && load<u32>(p) == 0x6c6c756e) {
    kind = K_NULL;
    p += 4;
  } else return 0;
  if (field >= 0) {
    const i = <usize>(ctx * nf + field);
    const a = SLOT + (i << 5);
    store<i32>(a, <i32>vs, O_S0);
    store<i32>(a, <i32>ve, O_S1);
    store<i32>(a, cur, O_STAMP);
    store<u8>(a, kind, O_KIND);
    store<u8>(a, asc, O_ASC);
    store<f64>(a, num, O_NUM);
    const g = load<i32>(FGROUP + (<usize>field << 2));
    if (g >= 0 && kind != K_NULL) {
      const rank = load<i32>(FRANK + (<usize>field << 2));
      const b = GBEST + <usize>(ctx * NGROUPS + g) * 12;
      if (load<i32>(b) != cur || rank < load<i32>(b, 4)) {
        store<i32>(b, cur);
        store<i32>(b, rank, 4);
        store<i32>(b, <i32>i, 8);
      }
    }
  }
  if (tagged && kind != K_NULL) {
    if (kind != K_STR || nTags >= MAX_TAGS) return 0; // numbers and booleans as tags: the JavaScript reader
    nTags++;
    const c = TCOUNT + (<usize>ctx << 2);
    const n = load<i32>(c);
    store<i32>(c, n + 1);
    const t = <usize>(ctx * MAX_TAGS + n) << 2;
    store<i32>(TKEY + t, key);
    store<i32>(TS0 + t, <i32>vs);
    store<i32>(TS1 + t, <i32>ve);
  }
  return p;
}

/** A flat object of scalars (metadata: ctx 1, tags: ctx 2) at p; the position after it, or 0 to fall back. */
// @ts-ignore: decorator
@inline function readObject(p: usize, ctx: i32): usize {
  p = skipWs(p + 1);
  if (u8at(p) == 125) return p + 1;
  const danger = ctx == 1 ? KF_DANGER_META : KF_DANGER_TAGS;
  let prev: i32 = -1;
  for (;;) {
    if (u8at(p) != 34) return 0;
    const k = readKey(p + 1, ctx, prev);
    if (k < 0) return 0;
    prev = k;
    if (load<i32>(kprop(k, 1)) & danger) return 0;
    if (afterColon) p = skipWs(afterColon);
    else {
      p = skipWs(keyEnd + 1);
      if (u8at(p) != 58) return 0;
      p = skipWs(p + 1);
    }
    p = readValue(p, load<i32>(kprop(k, 0)), ctx, k, load<i32>(kprop(k, 3)) != TAG_SKIP);
    if (p == 0) return 0;
    p = skipWs(p);
    const c = u8at(p);
    if (c == 44) {
      p = skipWs(p + 1);
      continue;
    }
    if (c == 125) return p + 1;
    return 0;
  }
}

/** A line's object starting at `{` at p: the position after its `}`, or 0 to fall back. */
function readLine(p: usize): usize {
  cur++;
  nTags = 0;
  store<u64>(TCOUNT, 0);
  store<i32>(TCOUNT, 0, 8);
  metaObj = false;
  tagsObj = false;
  p = skipWs(p + 1);
  if (u8at(p) == 125) return p + 1;
  let prev: i32 = -1;
  for (;;) {
    if (u8at(p) != 34) return 0;
    const k = readKey(p + 1, 0, prev);
    if (k < 0) return 0;
    prev = k;
    if (afterColon) p = skipWs(afterColon);
    else {
      p = skipWs(keyEnd + 1);
      if (u8at(p) != 58) return 0;
      p = skipWs(p + 1);
    }
    const flags = load<i32>(kprop(k, 1));
    if (flags & (KF_META | KF_TAGS)) {
      const c = u8at(p);
      if (c == 123) {
        p = readObject(p, flags & KF_META ? 1 : 2);
        if (flags & KF_META) metaObj = true;
        else tagsObj = true;
      } else if (c == 91) return 0;
      else p = readValue(p, -1, 0, -1, false);
    } else {
      if (flags & KF_DANGER_TOP) return 0;
      p = readValue(p, load<i32>(kprop(k, 0)), 0, k, load<i32>(kprop(k, 2)) != TAG_SKIP);
    }
    if (p == 0) return 0;
    p = skipWs(p);
    const c = u8at(p);
    if (c == 44) {
      p = skipWs(p + 1);
      continue;
    }
    if (c == 125) return p + 1;
    return 0;
  }
}

// --- A row from the line just read (fastScan.ts emit(), for the cases it reads without help) -------------------------

/** Slot of the first non-null key of group g in context ctx, or -1 (values.first). */
function first(g: i32, ctx: i32): i32 {
  const a = GBEST + <usize>(ctx * NGROUPS + g) * 12;
  return load<i32>(a) == cur ? load<i32>(a, 8) : -1;
}

// @ts-ignore: decorator
@inline function kindAt(i: i32): u8 {
  return load<u8>(SLOT + (<usize>i << 5), O_KIND);
}
// @ts-ignore: decorator
@inline function numAt(i: i32): f64 {
  return load<f64>(SLOT + (<usize>i << 5), O_NUM);
}
// @ts-ignore: decorator
@inline function s0At(i: i32): usize {
  return <usize>load<i32>(SLOT + (<usize>i << 5), O_S0);
}
// @ts-ignore: decorator
@inline function s1At(i: i32): usize {
  return <usize>load<i32>(SLOT + (<usize>i << 5), O_S1);
}

const ABSENT: i32 = 0;
const PRESENT: i32 = 1;
const FALL: i32 = -1;

/** A token count of group g (a whole number, as tokenCount): PRESENT with numValue, ABSENT, or FALL. */
function tokenCount(g: i32): i32 {
  const i = first(g, 0);
  if (i < 0) return ABSENT;
  if (kindAt(i) != K_NUM) return FALL;
  const v = numAt(i);
  if (v != Math.floor(v)) return FALL;
  numValue = v;
  return PRESENT;
}

/** toNumber of a slot for costs and latencies: PRESENT with numValue, ABSENT, or FALL (text: the JS reader). */
function numOf(i: i32): i32 {
  if (i < 0) return ABSENT;
  const k = kindAt(i);
  if (k == K_NUM) {
    numValue = numAt(i);
    return PRESENT;
  }
  return k == K_STR ? FALL : ABSENT;
}

/** toStr of a slot, interned: id + 1, 0 for none (empty or null), -1 to fall back (numbers, booleans, table full). */
// @ts-ignore: decorator
@inline function strOf(i: i32): i32 {
  if (i < 0) return 0;
  const k = kindAt(i);
  if (k == K_STR) {
    const s = s0At(i);
    const e = s1At(i);
    if (s == e) return 0;
    return cachedString(s, e);
  }
  return k == K_NULL ? 0 : -1;
}

/**
 * intern() of [s, e) through a cache of recent strings found by their bytes: id + 1, or -1. An entry holds a string's
 * first 32 bytes (zeros after its end), its length and id: a string of up to 32 bytes is found with two 16-byte
 * compares, without hashing it or looking at the arena (a longer one compares its rest there). Reads up to 31 bytes
 * past e: every region has that slack.
 */
// @ts-ignore: decorator
@inline function cachedString(s: usize, e: usize): i32 {
  const n = <i32>(e - s);
  const c = n < 32 ? n : 32;
  const v0 = v128.and(v128.load(s), v128.load(PREFIX + (<usize>(c + 16) << 4)));
  const v1 = v128.and(v128.load(s, 16), v128.load(PREFIX + (<usize>c << 4)));
  const x = v128.xor(v0, v1);
  const h = ((<u64>i64x2.extract_lane(x, 0) + <u64>n) * 0x9e3779b97f4a7c15) ^ (<u64>i64x2.extract_lane(x, 1) * 0xc2b2ae3d27d4eb4f);
  const a = SCACHE + ((<usize>(h >> (64 - SC_BITS)) & scMask) << 6);
  const id1 = load<i32>(a, 36);
  if (load<i32>(a, 32) == n && id1 > 0 && !v128.any_true(v128.or(v128.xor(v128.load(a), v0), v128.xor(v128.load(a, 16), v1)))) {
    if (n <= 32 || bytesEqual(SARENA + <usize>load<i32>(SOFF + (<usize>(id1 - 1) << 2)) + 32, s + 32, n - 32)) return id1;
  }
  const id = intern(s, e);
  if (id < 0) return -1;
  v128.store(a, v0);
  v128.store(a, v1, 16);
  store<i32>(a, n, 32);
  store<i32>(a, id + 1, 36);
  return id + 1;
}

// @ts-ignore: decorator
@inline function d2(p: usize): i32 {
  return <i32>(u8at(p) - 48) * 10 + <i32>(u8at(p + 1) - 48);
}

// @ts-ignore: decorator
@inline function isDigit(c: u32): bool {
  return c - 48 < 10;
}

/** The date part (`YYYY-MM-DDT`, its first 11 bytes: 8 then 3) of the last timestamp read, and its day (0: none yet). */
let lastDate0: u64 = 0;
let lastDate1: u32 = 0;
let lastDays: i32 = 0;

/** parseIsoUtc of fastScan.ts: `YYYY-MM-DDTHH:MM:SS(.sss)?Z`, or NaN. */
// @ts-ignore: decorator
@inline function isoUtc(s: usize, e: usize): f64 {
  const n = <i32>(e - s);
  if (n != 20 && n != 24) return NaN;
  // `HH:MM:SS` as eight bytes at once (SWAR): '0' taken away, a digit is under 10 (neither its bit 7 nor that of it
  // plus 0x76 set; a carry out of a byte only reaches the byte after it, which it can only make fail), the colons exact.
  const x = load<u64>(s + 11);
  const t = x ^ 0x3030303030303030;
  if ((((t + 0x7676767676767676) | t) & 0x8080008080008080) != 0 || (x & 0x0000ff0000ff0000) != 0x00003a00003a0000) return NaN;
  if (u8at(e - 1) != 90) return NaN;
  let ms: i32 = 0;
  if (n == 24) {
    // `.sss` likewise.
    const y = load<u32>(s + 19);
    const u = y ^ 0x30303000;
    if ((y & 0xff) != 46 || (((u + 0x76767600) | u) & 0x80808000) != 0) return NaN;
    ms = <i32>((u >> 8) & 0xff) * 100 + <i32>((u >> 16) & 0xff) * 10 + <i32>(u >> 24);
  }
  const h = <i32>(t & 0xff) * 10 + <i32>((t >> 8) & 0xff);
  const mi = <i32>((t >> 24) & 0xff) * 10 + <i32>((t >> 32) & 0xff);
  const sec = <i32>((t >> 48) & 0xff) * 10 + <i32>(t >> 56);
  if (mi > 59 || sec > 59 || h > 23) return NaN;
  // The date: lines in time order share it, so it is read again only when its bytes change.
  const w0 = load<u64>(s);
  const w1 = <u32>load<u16>(s + 8) | (<u32>load<u8>(s + 10) << 16);
  let days = lastDays;
  if (w0 != lastDate0 || w1 != lastDate1 || lastDays == 0) {
    days = dateDays(s);
    if (days == 0) return NaN;
    lastDate0 = w0;
    lastDate1 = w1;
    lastDays = days;
  }
  return <f64>(days - 1) * 86400000 + <f64>(h * 3600000 + mi * 60000 + sec * 1000 + ms);
}

/** Days from 1970-01-01 to `YYYY-MM-DDT` at s, plus one (so that 0 means not a date: invalid, or before 1970). */
function dateDays(s: usize): i32 {
  if (!(isDigit(u8at(s)) && isDigit(u8at(s + 1)) && isDigit(u8at(s + 2)) && isDigit(u8at(s + 3)) && isDigit(u8at(s + 5)) && isDigit(u8at(s + 6)) && isDigit(u8at(s + 8)) && isDigit(u8at(s + 9)))) return 0;
  if (u8at(s + 4) != 45 || u8at(s + 7) != 45 || u8at(s + 10) != 84) return 0;
  let y = d2(s) * 100 + d2(s + 2);
  const mo = d2(s + 5);
  const d = d2(s + 8);
  if (y < 1970 || mo < 1 || mo > 12 || d < 1) return 0;
  const leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
  const dim = mo == 2 ? (leap ? 29 : 28) : mo == 4 || mo == 6 || mo == 9 || mo == 11 ? 30 : 31;
  if (d > dim) return 0;
  // Howard Hinnant's days_from_civil.
  if (mo <= 2) y -= 1;
  const era = y / 400;
  const yoe = y - era * 400;
  const doy = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1;
  const doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468 + 1;
}

/** Writes row `r` (line record `record`) from the line just read: L_ROW, L_IGNORED or L_FALLBACK. */
function emit(r: i32, record: i32): u8 {
  let st = tokenCount(G_INPUT);
  if (st == FALL) return L_FALLBACK;
  const hasIn = st == PRESENT;
  let inT: f64 = hasIn ? numValue : 0;
  st = tokenCount(G_OUTPUT);
  if (st == FALL) return L_FALLBACK;
  const hasOut = st == PRESENT;
  let outT: f64 = hasOut ? numValue : 0;
  const hasUsage = hasIn || hasOut;
  let cr: f64 = 0;
  let cw: f64 = 0;
  let w1: f64 = 0;
  let rs: f64 = 0;
  if (hasUsage) {
    st = tokenCount(G_CACHE_READ);
    if (st == FALL) return L_FALLBACK;
    if (st == PRESENT) cr = numValue;
    st = tokenCount(G_CACHE_WRITE);
    if (st == FALL) return L_FALLBACK;
    if (st == PRESENT) cw = numValue;
    st = tokenCount(G_WRITE_1H);
    if (st == FALL) return L_FALLBACK;
    if (st == PRESENT) w1 = numValue;
    st = tokenCount(G_REASONING);
    if (st == FALL) return L_FALLBACK;
    if (st == PRESENT) rs = numValue;
  }
  st = numOf(first(G_COST, 0));
  if (st == FALL) return L_FALLBACK;
  const hasRec = st == PRESENT;
  const rec: f64 = hasRec ? numValue : NaN;
  if (!hasUsage && !hasRec) return L_IGNORED;
  // Anything the JavaScript reader reports (negative or implausible counts, reasoning above output, negative cost).
  if (inT < 0 || outT < 0 || cr < 0 || cw < 0 || w1 < 0 || rs < 0) return L_FALLBACK;
  if (inT > maxTokens || outT > maxTokens || cr > maxTokens || cw > maxTokens || w1 > maxTokens || rs > maxTokens) return L_FALLBACK;
  if (w1 > cw) cw = w1;
  if (rs > outT) return L_FALLBACK;
  if (hasRec && (rec < 0 || rec > maxCost)) return L_FALLBACK;

  let model = strOf(first(G_MODEL, 0));
  if (model == 0 && metaObj) model = strOf(load<i32>(SLOT + (<usize>(nf + metaModel) << 5), O_STAMP) == cur ? nf + metaModel : -1);
  if (model < 0) return L_FALLBACK;
  let provider = strOf(first(G_PROVIDER, 0));
  if (provider == 0 && metaObj) provider = strOf(load<i32>(SLOT + (<usize>(nf + metaProvider) << 5), O_STAMP) == cur ? nf + metaProvider : -1);
  if (provider < 0) return L_FALLBACK;
  st = numOf(first(G_EST, 0));
  if (st == ABSENT && metaObj) st = numOf(first(G_EST, 1));
  if (st == FALL) return L_FALLBACK;
  const est: f64 = st == PRESENT ? numValue : NaN;
  let ti = first(G_TS, 0);
  if (ti < 0 && metaObj) ti = first(G_TS, 1);
  let ts: f64 = NaN;
  if (ti >= 0) {
    if (kindAt(ti) != K_STR || load<u8>(SLOT + (<usize>ti << 5), O_ASC) == 0) return L_FALLBACK;
    ts = isoUtc(s0At(ti), s1At(ti));
    if (isNaN(ts)) return L_FALLBACK; // another form: Date.parse in the JavaScript reader
  }
  // The trace id: top level, else metadata (plain strings only). Consecutive rows often share it.
  let traceS: usize = 0;
  let traceE: usize = 0;
  let traceAsc: bool = true;
  let tr = first(G_TRACE, 0);
  if (tr >= 0) {
    if (kindAt(tr) != K_STR) return L_FALLBACK;
    traceS = s0At(tr);
    traceE = s1At(tr);
    traceAsc = load<u8>(SLOT + (<usize>tr << 5), O_ASC) != 0;
  }
  if (traceE == traceS && metaObj) {
    tr = first(G_TRACE, 1);
    if (tr >= 0) {
      if (kindAt(tr) != K_STR) return L_FALLBACK;
      traceS = s0At(tr);
      traceE = s1At(tr);
      traceAsc = load<u8>(SLOT + (<usize>tr << 5), O_ASC) != 0;
    }
  }
  const traceLen = <i32>(traceE - traceS);
  const trace: i32 = traceLen == 0 ? 0 : traceLen == prevTraceLen && bytesEqual(TRACEBUF, traceS, traceLen) ? 2 : traceAsc ? 1 : 3;
  st = numOf(first(G_LATENCY, 0));
  if (st == ABSENT && metaObj) st = numOf(first(G_LATENCY, 1));
  if (st == FALL) return L_FALLBACK;
  const lat: f64 = st == PRESENT ? numValue : NaN;
  // readError, then status (its wording is judged in JavaScript, once per string).
  let err: i32 = 0;
  const ei = first(G_ERROR, 0);
  if (ei >= 0) {
    const k = kindAt(ei);
    err = k == K_STR ? (s1At(ei) > s0At(ei) ? 1 : 0) : k == K_TRUE || k == K_NUM ? 1 : 0;
  }
  let status: i32 = 0;
  if (!err) {
    const si = first(G_STATUS, 0);
    if (si >= 0 && kindAt(si) == K_STR && s1At(si) > s0At(si)) {
      status = cachedString(s0At(si), s1At(si));
      if (status < 0) return L_FALLBACK;
    }
  }
  // Attribution: top level, then metadata, then tags; first writer wins; custom tags once per key.
  let d0: i32 = 0, d1: i32 = 0, d2v: i32 = 0, d3: i32 = 0, d4: i32 = 0;
  const tape0 = tapeCount;
  let tape = tapeCount;
  for (let ctx = 0; ctx < 3; ctx++) {
    const nt = load<i32>(TCOUNT + (<usize>ctx << 2));
    for (let t = 0; t < nt; t++) {
      const o = <usize>(ctx * MAX_TAGS + t) << 2;
      const key = load<i32>(TKEY + o);
      const cls = load<i32>(kprop(key, ctx == 0 ? 2 : 3));
      const s = <usize>load<i32>(TS0 + o);
      const e = <usize>load<i32>(TS1 + o);
      if (s == e) continue;
      if (<i32>(e - s) > MAX_TAG_BYTES) return L_FALLBACK;
      if (cls < TAG_CUSTOM) {
        const cur0 = cls == 0 ? d0 : cls == 1 ? d1 : cls == 2 ? d2v : cls == 3 ? d3 : d4;
        if (cur0 != 0) continue;
        const id1 = cachedString(s, e);
        if (id1 < 0) return L_FALLBACK;
        if (cls == 0) d0 = id1;
        else if (cls == 1) d1 = id1;
        else if (cls == 2) d2v = id1;
        else if (cls == 3) d3 = id1;
        else d4 = id1;
      } else {
        let dup = false;
        for (let j = tape0; j < tape; j++) if (load<i32>(TAPEP + (<usize>j << 3)) == key) dup = true;
        if (dup) continue;
        const id1 = cachedString(s, e);
        if (id1 < 0) return L_FALLBACK;
        store<i32>(TAPEP + (<usize>tape << 3), key);
        store<i32>(TAPEP + (<usize>tape << 3) + 4, id1 - 1);
        tape++;
      }
    }
  }
  // Call site candidates per context (JavaScript takes the first that reads as a call site).
  let cs0: i32 = 0, cs1: i32 = 0, cs2: i32 = 0;
  for (let ctx = 0; ctx < 3; ctx++) {
    if ((ctx == 1 && !metaObj) || (ctx == 2 && !tagsObj)) continue;
    const i = first(G_CALLSITE, ctx);
    if (i < 0 || kindAt(i) != K_STR) continue;
    const id1 = cachedString(s0At(i), s1At(i));
    if (id1 < 0) return L_FALLBACK;
    if (ctx == 0) cs0 = id1;
    else if (ctx == 1) cs1 = id1;
    else cs2 = id1;
  }

  // Commit the row.
  const dr = DCOL + (<usize>r << 3);
  const RB = <usize>ROWS << 3;
  store<f64>(dr + RB * D_TS, ts);
  const ur = UCOL + (<usize>r << 2);
  const UB = <usize>ROWS << 2;
  store<u32>(ur + UB * U_IN, <u32>inT);
  store<u32>(ur + UB * U_OUT, <u32>outT);
  store<u32>(ur + UB * U_CR, <u32>cr);
  store<u32>(ur + UB * U_CW, <u32>cw);
  store<u32>(ur + UB * U_W1, <u32>w1);
  store<u32>(ur + UB * U_RS, <u32>rs);
  store<f64>(dr + RB * D_REC, rec);
  store<f64>(dr + RB * D_EST, est);
  store<f64>(dr + RB * D_LAT, lat);
  // The computed cost, where the module knows the pair's prices; else JavaScript prices the row.
  let cost: f64 = NaN;
  let noCache: f64 = NaN;
  const pe = priceOf(model, provider);
  let toJs = pe == P_JS;
  if (pe >= 0) {
    const va = variantAt(pe, ts);
    if (va != 0) {
      cost = costAt(va, inT, outT, cr, cw, w1, rs);
      noCache = noCacheCost;
    } else toJs = true;
  }
  if (toJs) {
    store<i32>(PRICEFIX + (<usize>priceFixCount << 2), r);
    priceFixCount++;
  }
  store<f64>(dr + RB * D_COST, cost);
  store<f64>(dr + RB * D_NOCACHE, noCache);
  const ir = ICOL + (<usize>r << 2);
  const IB = <usize>ROWS << 2;
  store<i32>(ir + IB * I_TRACE, trace);
  store<i32>(ir + IB * I_TRACE_S, <i32>(traceS - wbase));
  store<i32>(ir + IB * I_TRACE_E, <i32>(traceE - wbase));
  if (trace & 1) {
    if (traceLen <= TRACE_MAX) {
      // Sixteen bytes at a time (a short id: memory.copy is a call into the runtime). TRACEBUF has 16 bytes of
      // slack, and the window's padding covers the read past the id's end.
      for (let i: i32 = 0; i < traceLen; i += 16) v128.store(TRACEBUF + <usize>i, v128.load(traceS + <usize>i));
      prevTraceLen = traceLen;
    } else prevTraceLen = -1;
  }
  store<i32>(ir + IB * I_TAG0, tape0);
  // What the table gets (strings this reader has not met are asked of JavaScript).
  store<i32>(ir + IB * I_LINE, firstLine + record);
  let flag = err;
  if (!err && status != 0) {
    let sv = <i32>load<u8>(STATUSOF + <usize>(status - 1));
    if (sv == 0) sv = jsStatus(status - 1);
    flag = sv == 2 ? 1 : 0;
  }
  store<i32>(ir + IB * I_FLAGS, flag ? flagError : 0);
  let csFile: i32 = 0;
  let csLine: i32 = 0;
  for (let k = 0; k < 3; k++) {
    const id1 = k == 0 ? cs0 : k == 1 ? cs1 : cs2;
    if (id1 == 0) continue;
    const id = <usize>(id1 - 1);
    let state = <i32>load<u8>(CSSTATE + id);
    if (state == 0 || (state == 2 && load<i32>(CSOWNER + (id << 2)) != owner)) state = jsCallsite(id1 - 1);
    if (state == 1) continue;
    csFile = load<i32>(CSFILE + (id << 2));
    csLine = load<i32>(CSLINE + (id << 2));
    break;
  }
  store<i32>(ir + IB * I_CSFILE, csFile);
  store<i32>(ir + IB * I_CSLINE, csLine);
  store<i32>(ir + IB * I_PDIM, poolOf(d0));
  store<i32>(ir + IB * (I_PDIM + 1), poolOf(d1));
  store<i32>(ir + IB * (I_PDIM + 2), poolOf(d2v));
  store<i32>(ir + IB * (I_PDIM + 3), poolOf(d3));
  store<i32>(ir + IB * (I_PDIM + 4), poolOf(d4));
  store<i32>(ir + IB * I_PPROVIDER, poolOf(provider));
  store<i32>(ir + IB * I_PMODEL, poolOf(model));
  tapeCount = tape;
  return L_ROW;
}

/** The pool id of string id1 - 1 for this reader (0 for none), asked of JavaScript the first time. */
// @ts-ignore: decorator
@inline function poolOf(id1: i32): i32 {
  if (id1 == 0) return 0;
  const id = <usize>(id1 - 1);
  if (load<i32>(OWNER + (id << 2)) == owner) return load<i32>(POOLOF + (id << 2));
  return jsPool(id1 - 1);
}

// --- Lines the normalizer would only ignore (the rules of src/core/ignorableLine.ts, tested against it) ---------------
//
// A valid JSON object whose top level holds `type`, `sessionId` and `uuid` once each, all strings, `type` not
// `assistant`, no `resourceSpans`, no top-level key (nor `type` value) with an escape: a Claude Code entry the
// normalizer counts as ignored without touching any state (a user's turn with the tools' output, a progress entry).

let igEnd: usize = 0;
let igDepth: i32 = 0;
let igType: i32 = 0;
let igSession: i32 = 0;
let igUuid: i32 = 0;
let igOther: bool = false;

// @ts-ignore: decorator
@inline function igWs(p: usize): usize {
  while (p < igEnd) {
    const c = u8at(p);
    if (c != 32 && c != 9 && c != 13) break;
    p++;
  }
  return p;
}

/** After the string whose quote is at p, or 0 (a control byte, a bad escape, the line's end). */
function igString(p: usize): usize {
  const quote = v128.load(VQUOTE);
  const slash = v128.load(VSLASH);
  const space = v128.load(VSPACE);
  p++;
  for (;;) {
    // Sixteen bytes at a time up to a quote, a backslash or a control byte (the line's newline is one).
    let v = v128.load(p);
    let stop = i8x16.bitmask(v128.or(v128.or(i8x16.eq(v, quote), i8x16.eq(v, slash)), i8x16.lt_u(v, space)));
    while (stop == 0) {
      p += 16;
      v = v128.load(p);
      stop = i8x16.bitmask(v128.or(v128.or(i8x16.eq(v, quote), i8x16.eq(v, slash)), i8x16.lt_u(v, space)));
    }
    p += <usize>ctz<i32>(stop);
    if (p >= igEnd) return 0;
    const c = u8at(p);
    if (c == 34) return p + 1;
    if (c < 32) return 0;
    if (p + 1 >= igEnd) return 0;
    const x = u8at(p + 1);
    if (x == 117) {
      if (p + 6 > igEnd) return 0;
      for (let k: usize = 2; k < 6; k++) {
        const h = u8at(p + k);
        if (!((h >= 48 && h <= 57) || (h >= 65 && h <= 70) || (h >= 97 && h <= 102))) return 0;
      }
      p += 6;
    } else if (x == 34 || x == 92 || x == 47 || x == 98 || x == 102 || x == 110 || x == 114 || x == 116) p += 2;
    else return 0;
  }
  return 0; // (not reached: the loop returns)
}

function igDigits(p: usize): usize {
  while (p < igEnd && u8at(p) >= 48 && u8at(p) <= 57) p++;
  return p;
}

/** After the number at p (JSON's strict grammar), or 0. */
function igNumber(p: usize): usize {
  if (u8at(p) == 45) p++;
  if (p >= igEnd) return 0;
  const c = u8at(p);
  if (c == 48) p++;
  else if (c >= 49 && c <= 57) p = igDigits(p);
  else return 0;
  if (p < igEnd && u8at(p) == 46) {
    const d = p + 1;
    p = igDigits(d);
    if (p == d) return 0;
  }
  if (p < igEnd && (u8at(p) == 101 || u8at(p) == 69)) {
    p++;
    if (p < igEnd && (u8at(p) == 43 || u8at(p) == 45)) p++;
    const d = p;
    p = igDigits(d);
    if (p == d) return 0;
  }
  return p;
}

function igWord(p: usize, w: string): usize {
  const n = <usize>w.length;
  if (p + n > igEnd) return 0;
  for (let i: usize = 0; i < n; i++) if (u8at(p + i) != <u32>w.charCodeAt(<i32>i)) return 0;
  return p + n;
}

/** After the value at p, or 0. */
function igValue(p: usize): usize {
  if (p >= igEnd) return 0;
  const c = u8at(p);
  if (c == 34) return igString(p);
  if (c == 123) return igObject(p, false);
  if (c == 91) return igArray(p);
  if (c == 45 || (c >= 48 && c <= 57)) return igNumber(p);
  if (c == 116) return igWord(p, 'true');
  if (c == 102) return igWord(p, 'false');
  if (c == 110) return igWord(p, 'null');
  return 0;
}

function igArray(p: usize): usize {
  if (++igDepth > 512) return 0;
  p = igWs(p + 1);
  if (p >= igEnd) return 0;
  if (u8at(p) == 93) {
    igDepth--;
    return p + 1;
  }
  for (;;) {
    p = igValue(p);
    if (p == 0) return 0;
    p = igWs(p);
    if (p >= igEnd) return 0;
    const c = u8at(p);
    if (c == 44) p = igWs(p + 1);
    else if (c == 93) {
      igDepth--;
      return p + 1;
    } else return 0;
  }
  return 0; // (not reached: the loop returns)
}

/** Whether the bytes [s, e) are the ASCII text `lit`. */
function igIs(s: usize, e: usize, lit: string): bool {
  const n = <usize>lit.length;
  if (e - s != n) return false;
  for (let i: usize = 0; i < n; i++) if (u8at(s + i) != <u32>lit.charCodeAt(<i32>i)) return false;
  return true;
}

function igHasEscape(s: usize, e: usize): bool {
  for (let i = s; i < e; i++) if (u8at(i) == 92) return true;
  return false;
}

/** After the object at p, or 0; `top`: the line's own object, whose keys are looked at. */
function igObject(p: usize, top: bool): usize {
  if (++igDepth > 512) return 0;
  p = igWs(p + 1);
  if (p >= igEnd) return 0;
  if (u8at(p) == 125) {
    igDepth--;
    return p + 1;
  }
  for (;;) {
    if (p >= igEnd || u8at(p) != 34) return 0;
    const ks = p + 1;
    const ke = igString(p);
    if (ke == 0) return 0;
    let key = 0;
    if (top) {
      if (igHasEscape(ks, ke - 1)) return 0;
      key = igIs(ks, ke - 1, 'type') ? 1 : igIs(ks, ke - 1, 'sessionId') ? 2 : igIs(ks, ke - 1, 'uuid') ? 3 : igIs(ks, ke - 1, 'resourceSpans') ? 4 : 0;
    }
    if (key == 4) return 0; // an OpenTelemetry batch: read
    p = igWs(ke);
    if (p >= igEnd || u8at(p) != 58) return 0;
    p = igWs(p + 1);
    const vs = p;
    p = igValue(p);
    if (p == 0) return 0;
    if (key != 0) {
      if (u8at(vs) != 34) return 0; // not a string: not a Claude Code entry
      else if (key == 2) {
        if (++igSession > 1) return 0;
      } else if (key == 3) {
        if (++igUuid > 1) return 0;
      } else {
        if (++igType > 1) return 0;
        if (igHasEscape(vs + 1, p - 1)) return 0;
        igOther = !igIs(vs + 1, p - 1, 'assistant');
        if (!igOther) return 0; // an assistant's turn: read (whatever else the line holds)
      }
    }
    p = igWs(p);
    if (p >= igEnd) return 0;
    const c = u8at(p);
    if (c == 44) p = igWs(p + 1);
    else if (c == 125) {
      igDepth--;
      return p + 1;
    } else return 0;
  }
  return 0; // (not reached: the loop returns)
}

/** Whether the bytes [p, e) hold the ASCII text `lit` (its first byte found sixteen bytes at a time). */
function igContains(p: usize, e: usize, lit: string): bool {
  const n = <usize>lit.length;
  const first = i8x16.splat(<i8>lit.charCodeAt(0));
  while (p + n <= e) {
    const m = i8x16.bitmask(i8x16.eq(v128.load(p), first));
    let bits = m;
    while (bits != 0) {
      const at = p + <usize>ctz<i32>(bits);
      if (at + n <= e && igIs(at, at + n, lit)) return true;
      bits &= bits - 1;
    }
    p += 16;
  }
  return false;
}

/** Whether the line [p, e) (e at its newline) is one the normalizer would only ignore (see above). */
function ignorableLine(p: usize, e: usize): bool {
  igEnd = e;
  igDepth = 0;
  igType = 0;
  igSession = 0;
  igUuid = 0;
  igOther = false;
  p = igWs(p);
  if (p >= e || u8at(p) != 123) return false;
  // Most lines that come here are other shapes (OpenTelemetry, batch outputs): a Claude Code entry names its session.
  if (!igContains(p, e, 'sessionId"')) return false;
  const q = igObject(p, true);
  if (q == 0 || igWs(q) != e) return false;
  return igType == 1 && igSession == 1 && igUuid == 1 && igOther;
}

// --- The window ------------------------------------------------------------------------------------------------------

/**
 * Reads the complete lines of the `len` bytes at IN + start (start + len <= WINDOW: JavaScript copied them there, or
 * read them there from the file), the first being line `line`, for reader `reader` (whose pool ids the module was told
 * through POOLOF/OWNER). Writes 64 newline bytes after them. `keepPrevious`: the previous scan's rows were all taken by
 * the same reader, so a trace id may be "the previous row's". Returns the number of line records (their ends and the
 * trace ids' offsets are from IN + start); layout(24) is the rows among them, layout(25) the tag entries.
 */
export function scan(start: i32, len: i32, keepPrevious: i32, line: i32, reader: i32, prices: i32): i32 {
  if (start < 0 || len < 0 || start + len > WINDOW) return 0;
  wbase = IN + <usize>start;
  if (!keepPrevious) prevTraceLen = -1;
  firstLine = line;
  owner = reader;
  priceFixCount = 0;
  if (prices != priceOwner) {
    clearPrices();
    priceOwner = prices;
  }
  const end = wbase + <usize>len;
  for (let i = 0; i < 64; i += 8) store<u64>(end + i, 0x0a0a0a0a0a0a0a0a);
  let pos = wbase;
  let lines: i32 = 0;
  let rows: i32 = 0;
  tapeCount = 0;
  specialCount = 0;
  while (lines < LINES && rows < ROWS && tapeCount + MAX_TAGS <= TAPE) {
    const p = skipWs(pos);
    let kind = L_FALLBACK;
    let nl: usize = 0;
    if (u8at(p) == 10) {
      if (p >= end) break;
      kind = L_BLANK;
      nl = p;
    } else if (u8at(p) == 123) {
      let q = readLine(p);
      if (q != 0) {
        q = skipWs(q);
        if (u8at(q) == 10) {
          if (q >= end) break; // the line is not complete
          kind = emit(rows, lines);
          nl = q;
        }
      }
    }
    if (kind == L_FALLBACK) {
      nl = p;
      while (u8at(nl) != 10) nl++;
      if (nl >= end) break;
      if (u8at(p) == 123 && ignorableLine(p, nl)) kind = L_IGNORED;
    } else if (kind == L_ROW) rows++;
    if (kind == L_FALLBACK || kind == L_IGNORED) {
      const a = LSPECIAL + (<usize>specialCount << 3);
      store<i32>(a, lines);
      store<i32>(a, rows, 4);
      specialCount++;
    }
    store<i32>(LEND + (<usize>lines << 2), <i32>(nl - wbase));
    store<u8>(LKIND + <usize>lines, kind);
    lines++;
    pos = nl + 1;
  }
  rowCount = rows;
  return lines;
}
