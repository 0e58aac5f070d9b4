import type { ModelPrice } from '@pydantic/genai-prices';
import type { CostSource, TokenCounts } from './types';
import { type CatalogueModel, catalogueProviders, catalogueRead, findCatalogueModel } from './catalogue';
import { PROVIDER_ALIASES } from './serviceTier';
import { isObject, toNumber } from './values';

export { serviceTierMultiplier } from './serviceTier';

/** USD per million tokens: a flat rate, or a tiered rate chosen per call by the call's total input tokens. */
export type Rate = number | { base: number; tiers: { start: number; price: number }[] };

/** The rates of one model. Missing cache rates mean those tokens are billed as plain input. */
export interface PriceTable {
  input?: Rate;
  output?: Rate;
  cacheRead?: Rate;
  /** 5-minute cache writes (and all writes when `cacheWrite1h` is missing). */
  cacheWrite?: Rate;
  cacheWrite1h?: Rate;
  /** Reasoning tokens, where the model bills them apart from the rest of the output (they are part of the output). */
  reasoning?: Rate;
  /** USD per request. */
  perRequestUsd?: number;
}

type Constraint = { type: 'start_date'; startMs: number } | { type: 'time_of_date'; startSec: number; endSec: number };

/** A model's prices as resolved once: one table, or several that apply by date or by time of day. */
export interface ResolvedPrice {
  /** The id the catalogue or the override file knows the model by. */
  modelId: string;
  providerId: string;
  source: 'bundled' | 'override';
  variants: { constraint?: Constraint; table: PriceTable }[];
}

/** Cost of one call, USD: what was billed and what it would have cost with no prompt cache. */
export interface CallCost {
  costUsd: number;
  costWithoutCacheUsd: number;
}

/** Rates per table (ratesInto): input, output, cache read, cache write, 1 h cache write, reasoning, per request. */
const RATES = 7;

function rateAt(rate: Rate | undefined, totalInput: number): number {
  if (rate === undefined) return 0;
  if (typeof rate === 'number') return rate;
  let price = rate.base;
  for (const t of rate.tiers) if (totalInput > t.start) price = t.price;
  return price;
}

/** Cost of one call under one price table, USD (the rules: costAtRates). */
export function costOfTokens(table: PriceTable, t: TokenCounts): CallCost {
  costInto(table, t.inputTokens, t.outputTokens, t.cacheReadTokens, t.cacheWriteTokens, t.cacheWrite1hTokens, t.reasoningTokens, scratch);
  return { costUsd: scratch[0], costWithoutCacheUsd: scratch[1] };
}

const scratch = new Float64Array(2);

/** costOfTokens for token counts given one by one, into out[0] (cost) and out[1] (cost without cache): no allocation. */
export function costInto(table: PriceTable, input: number, output: number, cacheRead: number, cacheWrite: number, cacheWrite1h: number, reasoningTokens: number, out: Float64Array): void {
  ratesInto(table, input + cacheRead + cacheWrite, rateScratch);
  costAtRates(rateScratch, input, output, cacheRead, cacheWrite, cacheWrite1h, reasoningTokens, out);
}

const rateScratch = new Float64Array(RATES);

/**
 * The rates of `table` for a call of `totalInput` input tokens, per million, into r: input, output, cache read, cache
 * write, 1 h cache write, reasoning (NaN where the table has no such rate), then USD per request.
 */
export function ratesInto(table: PriceTable, totalInput: number, r: Float64Array): void {
  r[0] = rateAt(table.input, totalInput);
  r[1] = rateAt(table.output, totalInput);
  r[2] = table.cacheRead !== undefined ? rateAt(table.cacheRead, totalInput) : NaN;
  r[3] = table.cacheWrite !== undefined ? rateAt(table.cacheWrite, totalInput) : NaN;
  r[4] = table.cacheWrite1h !== undefined ? rateAt(table.cacheWrite1h, totalInput) : NaN;
  r[5] = table.reasoning !== undefined ? rateAt(table.reasoning, totalInput) : NaN;
  r[6] = table.perRequestUsd ?? 0;
}

/** The rates of a table with no tiered rate (the same for every call: see ratesInto), or undefined. */
export function flatRates(table: PriceTable): Float64Array | undefined {
  for (const v of [table.input, table.output, table.cacheRead, table.cacheWrite, table.cacheWrite1h, table.reasoning]) if (v !== undefined && typeof v !== 'number') return undefined;
  const r = new Float64Array(RATES);
  ratesInto(table, 0, r);
  return r;
}

/**
 * costInto at rates from ratesInto. Follows the catalogue's rules: a tier (chosen by the call's total input tokens:
 * uncached + cache read + cache write) applies to every kind of token in that call; tokens of a kind the model has no
 * rate for are billed at the next more general rate (1 h writes as writes, writes and reads as input).
 */
export function costAtRates(r: Float64Array, input: number, output: number, cacheRead: number, cacheWrite: number, cacheWrite1h: number, reasoningTokens: number, out: Float64Array): void {
  const totalInput = input + cacheRead + cacheWrite;
  const rRead = r[2], rWrite = r[3], rWrite1h = r[4], rReasoning = r[5];
  // NaN !== NaN: a missing rate.
  const w1h = rWrite1h === rWrite1h ? cacheWrite1h : 0;
  const w5m = rWrite === rWrite ? cacheWrite - w1h : 0;
  const read = rRead === rRead ? cacheRead : 0;
  const plain = totalInput - read - w5m - w1h;
  const rIn = r[0];
  const reasoning = rReasoning === rReasoning ? Math.min(reasoningTokens, output) : 0;
  const rOut = r[1] * (output - reasoning) + (rReasoning === rReasoning ? rReasoning : 0) * reasoning;
  const perRequest = r[6];
  out[0] =
    (plain * rIn + read * (rRead === rRead ? rRead : 0) + w5m * (rWrite === rWrite ? rWrite : 0) + w1h * (rWrite1h === rWrite1h ? rWrite1h : 0) + rOut) / 1e6 +
    perRequest;
  out[1] = (totalInput * rIn + rOut) / 1e6 + perRequest;
}

function secondsOfDay(s: string): number | undefined {
  const m = /^(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})$/.exec(s);
  if (!m) return undefined;
  let sec = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
  if (m[4] !== 'Z') {
    const sign = m[4][0] === '+' ? 1 : -1;
    sec -= sign * (Number(m[4].slice(1, 3)) * 3600 + Number(m[4].slice(4, 6)) * 60);
  }
  return ((sec % 86400) + 86400) % 86400;
}

/** The table that applies at `tsMs` (now, when the call has no time), as the catalogue chooses it. */
export function tableAt(p: ResolvedPrice, tsMs: number): PriceTable {
  if (p.variants.length === 1) return p.variants[0].table;
  const t = Number.isFinite(tsMs) ? tsMs : Date.now();
  for (let i = p.variants.length - 1; i >= 0; i--) {
    const v = p.variants[i];
    const c = v.constraint;
    if (!c) return v.table;
    if (c.type === 'start_date') {
      if (t >= c.startMs) return v.table;
    } else {
      const d = new Date(t);
      const sod = d.getUTCHours() * 3600 + d.getUTCMinutes() * 60 + d.getUTCSeconds() + d.getUTCMilliseconds() / 1000;
      if (c.endSec < c.startSec ? sod >= c.startSec || sod < c.endSec : sod >= c.startSec && sod < c.endSec) return v.table;
    }
  }
  return p.variants[0].table;
}

function toRate(v: unknown): Rate | undefined {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  if (isObject(v) && typeof v.base === 'number' && Array.isArray(v.tiers)) {
    const tiers = v.tiers
      .filter((t): t is { start: number; price: number } => isObject(t) && typeof t.start === 'number' && typeof t.price === 'number')
      .map((t) => ({ start: t.start, price: t.price }))
      .sort((a, b) => a.start - b.start);
    return { base: v.base, tiers };
  }
  return undefined;
}

function tableFromCatalogue(mp: ModelPrice): PriceTable {
  const req = typeof mp.requests_kcount === 'number' ? mp.requests_kcount / 1000 : undefined;
  return {
    input: toRate(mp.input_mtok),
    output: toRate(mp.output_mtok),
    cacheRead: toRate(mp.cache_read_mtok),
    cacheWrite: toRate(mp.cache_write_mtok),
    cacheWrite1h: toRate(mp.cache_write_1h_mtok),
    reasoning: toRate(mp.output_reasoning_mtok),
    perRequestUsd: req,
  };
}

/** The catalogue's price keys this engine bills (tableFromCatalogue); others (audio hours, pages, searches...) it cannot. */
const BILLED_KEYS = new Set(['input_mtok', 'output_mtok', 'cache_read_mtok', 'cache_write_mtok', 'cache_write_1h_mtok', 'output_reasoning_mtok', 'requests_kcount']);

const COUNT_UNITS: Record<string, string> = { web_searches: 'web search', storage_searches: 'file search', code_executions: 'code execution', input_text_messages: 'message' };

/** A catalogue price key's unit, for people: `audio_hours` → `audio hour`, `input_document_kpages` → `page`. */
function unitName(key: string): string {
  if (key.endsWith('_hours')) return 'audio hour';
  if (key.endsWith('_kpages')) return 'page';
  if (key.endsWith('_kcount')) return COUNT_UNITS[key.slice(0, -7)] ?? key;
  const modality = /(audio|image|video)/.exec(key);
  if (key.endsWith('_mtok') && modality) return `${modality[1]} token`;
  return key;
}

/**
 * The units of a catalogue price that has rates, none of them in units this engine bills (tokens of the kinds it counts,
 * requests): `audio hour`, `page`...; undefined for any other price, a free one (`{}`) included.
 */
function otherUnitsOnly(mp: ModelPrice): string | undefined {
  const keys = Object.keys(mp).filter((k) => mp[k] !== undefined);
  if (keys.length === 0 || keys.some((k) => BILLED_KEYS.has(k))) return undefined;
  return [...new Set(keys.map(unitName))].join(' / ');
}

/** A model as the catalogue prices it, and why this engine cannot bill it, if it cannot. */
interface CatalogueEntry {
  price: ResolvedPrice;
  /** Why its calls are unpriced: a table of its (one at some date) has rates only in units other than tokens. */
  unpricedReason?: string;
}

function fromModelInfo(model: CatalogueModel, providerId: string): CatalogueEntry {
  const variants: ResolvedPrice['variants'] = [];
  const otherUnits = new Set<string>();
  const add = (mp: ModelPrice, constraint?: Constraint) => {
    const units = otherUnitsOnly(mp);
    if (units) otherUnits.add(units);
    variants.push({ constraint, table: tableFromCatalogue(mp) });
  };
  if (Array.isArray(model.prices)) {
    for (const cp of model.prices) {
      let constraint: Constraint | undefined;
      const c = cp.constraint;
      if (c && c.type === 'start_date') constraint = { type: 'start_date', startMs: Date.parse(`${c.start_date}T00:00:00Z`) };
      else if (c && c.type === 'time_of_date') {
        const s = secondsOfDay(c.start_time);
        const e = secondsOfDay(c.end_time);
        if (s !== undefined && e !== undefined) constraint = { type: 'time_of_date', startSec: s, endSec: e };
      }
      add(cp.prices, constraint);
    }
  } else {
    add(model.prices);
  }
  const price: ResolvedPrice = { modelId: model.id, providerId, source: 'bundled', variants };
  return otherUnits.size ? { price, unpricedReason: `priced per ${[...otherUnits].join(' / ')} in the catalogue, not per token` } : { price };
}

/** One user price override: the same rates as a catalogue table, USD per million tokens. */
export type PriceOverride = PriceTable;

export interface OverrideParseResult {
  overrides: Map<string, PriceOverride>;
  problems: string[];
}

/** The kinds of rate a prices file can give (perRequestUsd apart). */
const OVERRIDE_RATES = ['input', 'output', 'cacheRead', 'cacheWrite', 'cacheWrite1h', 'reasoning'] as const;

/**
 * Reads a prices file: `{"model-id": {"input": 3.0, "output": 15.0, "cacheRead": 0.3, "cacheWrite": 3.75}}`, USD per
 * million tokens (tiered rates as `{"base": 3, "tiers": [{"start": 200000, "price": 6}]}`). Keys are matched without
 * regard to case. Bad entries are reported (one problem per bad value) and left out.
 *
 * An entry may give only some rates: PriceBook takes the others from the catalogue's price of the model. When the
 * catalogue has no input (or output) rate for it either (a model it does not know, or prices in other units), that is
 * reported, and those tokens are billed at $0 (`"input": 0` says so without a problem); with neither, the entry is left
 * out. Looking that up loads the catalogue, only for an entry without "input" or "output".
 */
export function parsePriceOverrides(text: string): OverrideParseResult {
  const overrides = new Map<string, PriceOverride>();
  const problems: string[] = [];
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return { overrides, problems: [`not valid JSON: ${(e as Error).message}`] };
  }
  if (!isObject(data)) return { overrides, problems: ['expected an object of model ids to prices'] };
  const models = isObject(data.models) ? data.models : data;
  for (const [model, v] of Object.entries(models)) {
    if (model.startsWith('$')) continue; // "$schema", "$comment"
    if (!isObject(v)) {
      problems.push(`"${model}": expected an object with input/output prices`);
      continue;
    }
    const o: PriceOverride = {};
    let bad = false;
    for (const k of OVERRIDE_RATES) {
      if (v[k] === undefined) continue;
      const r = toRate(v[k]);
      if (r === undefined) {
        problems.push(`"${model}".${k}: expected a non-negative number (USD per million tokens)`);
        bad = true;
      } else o[k] = r;
    }
    const perReq = toNumber(v.perRequest ?? v.perRequestUsd);
    if (perReq !== undefined) o.perRequestUsd = perReq;
    // (A bad value is its entry's one problem.)
    if (bad) continue;
    if (o.input === undefined || o.output === undefined) {
      const missing = (['input', 'output'] as const).filter((k) => o[k] === undefined && !catalogueHasRate(model, k));
      if (missing.length === 2) {
        problems.push(`"${model}": needs at least "input" or "output" (the catalogue has no token price for this model)`);
        continue;
      }
      for (const k of missing) problems.push(`"${model}": no "${k}" price here or in the catalogue: its ${k} tokens cost $0 (write "${k}": 0 if they are free)`);
    }
    overrides.set(model.toLowerCase(), o);
  }
  return { overrides, problems };
}

/**
 * Whether the catalogue's price of the model a prices-file key names (`gpt-4o`, `openai/gpt-4o`) has a rate of kind `k`
 * at every date (a free model, priced `{}`, has all of them, at $0). A catalogue that cannot be loaded has none.
 */
function catalogueHasRate(key: string, k: 'input' | 'output'): boolean {
  const lower = key.trim().toLowerCase();
  const slash = lower.indexOf('/');
  let entry: CatalogueEntry | undefined;
  try {
    entry = slash < 0 ? catalogueEntry(lower, undefined) : catalogueEntry(lower.slice(slash + 1).trim(), normProvider(lower.slice(0, slash)));
  } catch {
    return false; // (no catalogue: reported when calls are priced)
  }
  if (!entry || entry.unpricedReason) return false;
  return entry.price.variants.every(({ table }) => table[k] !== undefined || (OVERRIDE_RATES.every((r) => table[r] === undefined) && table.perRequestUsd === undefined));
}

/**
 * A price override over the catalogue's price of its model (null: a model the catalogue does not know): each kind of
 * rate the override gives replaces the catalogue's (all of its tiers), in each of the catalogue's tables (by date, by
 * time of day); the catalogue's other rates are kept.
 */
function overridden(modelId: string, providerId: string, o: PriceOverride, cat: CatalogueEntry | null | undefined): ResolvedPrice {
  if (!cat) return { modelId, providerId, source: 'override', variants: [{ table: o }] };
  const variants = cat.price.variants.map(({ constraint, table }) => {
    const t: PriceTable = { ...table };
    for (const k of OVERRIDE_RATES) if (o[k] !== undefined) t[k] = o[k];
    if (o.perRequestUsd !== undefined) t.perRequestUsd = o.perRequestUsd;
    return constraint ? { constraint, table: t } : { table: t };
  });
  return { modelId, providerId, source: 'override', variants };
}

/** A provider name as the catalogue knows it (`gemini` → `google`, `bedrock` → `aws`, ...), lower case. */
function normProvider(p: string): string {
  const l = p.trim().toLowerCase();
  return PROVIDER_ALIASES[l] ?? l;
}

/** An override key with a `provider/` prefix, split at its first `/`, the prefix normalised like a call's provider. */
interface PrefixedOverride {
  provider: string;
  key: string;
  table: PriceOverride;
}

/** Whether this thread read the bundled catalogue (tests: a range worker given its prices never does). */
export function priceCatalogueLoaded(): boolean {
  return catalogueRead();
}

/**
 * Says why each unpriced model of a list the catalogue knows has no price (`reason`: priced per audio hour, per page...),
 * where a price would not help otherwise: a report's or the dashboard's unpriced models. Nothing with the `recorded`
 * cost source, under which prices do not count.
 */
export function explainUnpriced(unpriced: { model: string; reason?: string }[], prices: PriceBook, source: CostSource): void {
  if (source === 'recorded') return;
  for (const u of unpriced) {
    const reason = prices.unpricedReason(u.model);
    if (reason) u.reason = reason;
  }
}

/** Reads the bundled catalogue now, if it is not yet (a thread that will price calls soon, with a core to spare now). */
export function loadPriceCatalogue(): void {
  catalogueProviders();
}

/** Prices as `resolvedPrices` gives them: a (provider, model) key (priceKey) and its prices (null: unpriced). Plain data (structured-cloneable). */
export type ResolvedPrices = [key: string, price: ResolvedPrice | null][];

/** The key PriceBook keeps a model's prices under. */
export function priceKey(model: string, provider: string | undefined): string {
  return `${provider ?? ''}\u0000${model}`;
}

/**
 * Resolves model ids to prices once per distinct (provider, model) and prices calls fast. User overrides win over the
 * bundled `@pydantic/genai-prices` catalogue. Unknown models resolve to `undefined`: the caller reports them as
 * unpriced, never as $0; so do models the catalogue prices only in units other than tokens and requests (audio hours,
 * pages: unpricedReason says so), while a model it lists as free (an empty price) costs $0. A model the catalogue's
 * matching does not find without a provider is priced when all its providers that list it price it alike
 * (uniqueCatalogueMatch).
 *
 * Override keys match without regard to case, with or without a `provider/` prefix. A bare key (`gpt-4o`) matches that
 * model from any provider (and the last segment of a prefixed model id, `openai/gpt-4o`). A prefixed key
 * (`openai/gpt-4o`) matches the model when the call's provider is that provider (after alias normalisation), when the
 * model id itself carries that prefix, and when the call has no provider at all; never a call from another provider.
 * The most specific match wins: a same-provider prefixed key, then the model id as recorded, then a bare key, then (for a
 * call without a provider) a key prefixed with another provider than the catalogue's. The exact id is tried first; a
 * dated id the catalogue knows as an undated model (`gpt-4o-2024-08-06` → `gpt-4o`) then takes the override of that model.
 */
export class PriceBook {
  private readonly cache = new Map<string, ResolvedPrice | null>();
  /** The cache's entries in the order they were added (resolvedPrices from an index, without walking the Map). */
  private readonly added: ResolvedPrices = [];
  private readonly bareOverrides = new Map<string, PriceOverride>();
  /** Prefixed override keys by the model part of the key (after the first `/`). */
  private readonly prefixedOverrides = new Map<string, PrefixedOverride[]>();

  /**
   * `ask`: the answer of another book built from the same overrides, for a model not yet resolved here (undefined: none,
   * this book looks it up itself): a book whose questions are all answered never loads the catalogue (a range worker:
   * node/priceAsk.ts).
   */
  constructor(
    private readonly overrides: Map<string, PriceOverride> = new Map(),
    private readonly ask?: (model: string, provider: string | undefined) => ResolvedPrice | null | undefined,
  ) {
    for (const [k, table] of overrides) {
      const key = k.trim().toLowerCase();
      const slash = key.indexOf('/');
      if (slash < 0) {
        if (!this.bareOverrides.has(key)) this.bareOverrides.set(key, table);
        continue;
      }
      const prefix = key.slice(0, slash).trim();
      const rest = key.slice(slash + 1).trim();
      if (!prefix || !rest) continue;
      let list = this.prefixedOverrides.get(rest);
      if (!list) this.prefixedOverrides.set(rest, (list = []));
      list.push({ provider: normProvider(prefix), key, table });
    }
  }

  resolve(model: string | undefined, provider?: string): ResolvedPrice | undefined {
    if (!model) return undefined;
    // Consecutive calls are mostly of one model: the last answer, without building a key.
    if (model === this.lastModel && provider === this.lastProvider) return this.lastResolved;
    const key = priceKey(model, provider);
    let r = this.cache.get(key);
    if (r === undefined) {
      r = this.ask?.(model, provider);
      if (r === undefined) r = this.lookup(model.trim(), provider?.trim().toLowerCase()) ?? null;
      this.cache.set(key, r);
      this.added.push([key, r]);
      if (this.listeners) for (const f of this.listeners) f();
    }
    this.lastModel = model;
    this.lastProvider = provider;
    this.lastResolved = r ?? undefined;
    return r ?? undefined;
  }

  private lastModel: string | undefined;
  private lastProvider: string | undefined;
  private lastResolved: ResolvedPrice | undefined;

  /** Why a model (lower case) is unpriced although the catalogue knows it (priced per audio hour, per page...). */
  private readonly reasons = new Map<string, string>();

  /**
   * Why the catalogue knows `model` yet its calls are unpriced (`priced per audio hour in the catalogue, not per token`),
   * or undefined: a model priced, or not known at all, or resolved by the book this one asks (`ask`).
   */
  unpricedReason(model: string, provider?: string): string | undefined {
    if (this.resolve(model, provider)) return undefined;
    return this.reasons.get(model.trim().toLowerCase());
  }

  private listeners: Set<() => void> | undefined;

  /**
   * Calls `f` whenever a model is resolved the first time (a parallel read sends it to its workers at once:
   * PriceAnswers), until the function returned is called.
   */
  onResolved(f: () => void): () => void {
    // (Wrapped: the same function added twice is two listeners, each removed by its own call.)
    const fn = () => f();
    (this.listeners ??= new Set()).add(fn);
    return () => {
      this.listeners?.delete(fn);
    };
  }

  /** How many onResolved listeners are on (tests). */
  get resolvedListeners(): number {
    return this.listeners?.size ?? 0;
  }

  /** How many models were resolved (resolvedPrices' length). */
  get resolvedCount(): number {
    return this.added.length;
  }

  /**
   * The models resolved so far with their answers, in the order they were (the `from`th up to, not including, the
   * `to`th), for another book built from the same overrides.
   */
  resolvedPrices(from = 0, to?: number): ResolvedPrices {
    return this.added.slice(from, to);
  }

  /** Cost of a call, or undefined when its model has no price. */
  price(model: string | undefined, provider: string | undefined, tokens: TokenCounts, tsMs: number): CallCost | undefined {
    const p = this.resolve(model, provider);
    if (!p) return undefined;
    return costOfTokens(tableAt(p, tsMs), tokens);
  }

  private lookup(model: string, provider: string | undefined): ResolvedPrice | undefined {
    let entry: CatalogueEntry | null | undefined;
    const fromCatalogue = () => (entry === undefined ? (entry = catalogueEntry(model, provider) ?? null) : entry);
    // The catalogue's price an override is merged with: of the model a prefixed key names at its provider; else of the call's.
    const under = (o: { key: string; provider?: string }) =>
      o.provider !== undefined ? catalogueEntry(o.key.slice(o.key.indexOf('/') + 1).trim(), o.provider) : fromCatalogue();
    if (this.overrides.size > 0) {
      const call = provider ? normProvider(provider) : undefined;
      const hit = this.matchOverride(model.toLowerCase(), call, () => fromCatalogue()?.price.providerId);
      if (hit) return overridden(hit.key, provider ?? hit.provider ?? 'custom', hit.table, under(hit));
      const cat = fromCatalogue()?.price;
      // A dated or aliased id the catalogue resolves to another model (gpt-4o-2024-08-06 → gpt-4o): that model's override.
      const canonical = cat?.modelId.toLowerCase();
      if (cat && canonical !== model.toLowerCase()) {
        const o = this.matchOverride(canonical!, call, () => cat.providerId);
        if (o) return overridden(o.key, provider ?? o.provider ?? cat.providerId, o.table, under(o));
      }
    }
    const cat = fromCatalogue();
    if (!cat) return undefined;
    if (cat.unpricedReason) {
      this.reasons.set(model.toLowerCase(), cat.unpricedReason);
      return undefined;
    }
    return cat.price;
  }

  /** The most specific override for a (lower-case) model id and a call's normalised provider, if any. */
  private matchOverride(lower: string, call: string | undefined, inferred: () => string | undefined): { key: string; provider?: string; table: PriceOverride } | undefined {
    const first = lower.indexOf('/');
    const last = lower.lastIndexOf('/');
    const bare = last >= 0 ? lower.slice(last + 1) : lower;
    const names = [...new Set(first >= 0 ? [lower, lower.slice(first + 1), bare] : [lower])];
    const prefixed = (name: string, provider: string | undefined) =>
      provider === undefined ? undefined : this.prefixedOverrides.get(name)?.find((o) => o.provider === provider);
    // 1. A key prefixed with the call's provider.
    for (const n of names) {
      const o = prefixed(n, call);
      if (o) return o;
    }
    // 2. The model id as recorded, provider prefix included (`openai/gpt-4o`).
    if (first >= 0) {
      const o = prefixed(lower.slice(first + 1), normProvider(lower.slice(0, first)));
      if (o) return o;
    }
    // 3. A call without a provider: a key prefixed with the provider the catalogue knows the model by.
    const candidates = call === undefined ? this.prefixedOverrides.get(lower) : undefined;
    if (candidates) {
      const p = inferred();
      const o = p !== undefined ? candidates.find((c) => c.provider === normProvider(p)) : undefined;
      if (o) return o;
    }
    // 4. A bare key.
    const table = this.bareOverrides.get(bare);
    if (table) return { key: bare, table };
    // 5. A call without a provider: a key prefixed with any provider (the first in the file).
    return candidates?.[0];
  }
}

/**
 * A model as the catalogue finds it: by its id with the call's provider as a hint, without it, then (a provider-prefixed
 * id) by the part after the prefix.
 */
function catalogueEntry(model: string, provider: string | undefined): CatalogueEntry | undefined {
  const lower = model.toLowerCase();
  const slash = lower.lastIndexOf('/');
  const bare = slash >= 0 ? lower.slice(slash + 1) : lower;
  const hint = provider ? PROVIDER_ALIASES[provider] ?? provider : undefined;
  const attempts: [string, string | undefined][] = [];
  if (hint) attempts.push([model, hint]);
  attempts.push([model, undefined]);
  if (slash >= 0) {
    const prefix = lower.slice(0, lower.indexOf('/'));
    attempts.push([bare, PROVIDER_ALIASES[prefix] ?? prefix]);
    if (hint) attempts.push([bare, hint]);
    attempts.push([bare, undefined]);
  }
  for (const [m, pid] of attempts) {
    const found = findCatalogueModel(m, pid);
    if (found) return fromModelInfo(found.model, found.provider.id);
  }
  return uniqueCatalogueMatch(slash >= 0 ? [model, bare] : [model]);
}

/**
 * A model the catalogue's own matching does not find without a provider (its providers' `model_match` leave out ids
 * like `text-embedding-3-small` or `llama-3.1-8b-instant`), priced when every provider whose models match it (the
 * first of `ids` that one does) prices it alike: then it is that model, whoever served it. Several prices, or none but
 * free (`{}`: a guess that would make its calls cost $0), leave it unpriced. Its provider is the one provider that
 * prices it, or the ids of those that do joined with `|` (no provider the service-tier discounts know: the standard
 * price, as for a provider not in that list).
 */
function uniqueCatalogueMatch(ids: string[]): CatalogueEntry | undefined {
  for (const m of ids) {
    const found: NonNullable<ReturnType<typeof findCatalogueModel>>[] = [];
    for (const p of catalogueProviders()) {
      const res = findCatalogueModel(m, p.id);
      if (res) found.push(res);
    }
    if (found.length === 0) continue;
    const prices = JSON.stringify(found[0].model.prices);
    if (found.some((r) => JSON.stringify(r.model.prices) !== prices)) return undefined;
    const providers = [...new Set(found.map((r) => r.provider.id))];
    const entry = fromModelInfo(found[0].model, providers.join('|'));
    const free = entry.price.variants.every(({ table }) => OVERRIDE_RATES.every((r) => table[r] === undefined) && table.perRequestUsd === undefined);
    return free && !entry.unpricedReason ? undefined : entry;
  }
  return undefined;
}
