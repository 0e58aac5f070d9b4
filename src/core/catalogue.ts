import type { MatchLogic, ModelInfo } from '@pydantic/genai-prices';

/** A model of the bundled price catalogue: what pricing needs of @pydantic/genai-prices' ModelInfo. */
export interface CatalogueModel {
  id: string;
  match: MatchLogic;
  prices: ModelInfo['prices'];
}

/** A provider of the bundled price catalogue: what finding a model needs of @pydantic/genai-prices' Provider. */
export interface CatalogueProvider {
  id: string;
  provider_match?: MatchLogic;
  model_match?: MatchLogic;
  fallback_model_providers?: string[];
  models: CatalogueModel[];
}

// (Node's require, declared here for the webview's type check, which has no Node types: the webview never prices.)
declare const require: (id: string) => unknown;
let providers: CatalogueProvider[] | undefined;

/**
 * The bundled catalogue's providers, read the first time they are asked for (~8 ms: one JSON.parse of the data
 * scripts/genCatalogue.mjs takes from @pydantic/genai-prices at build time, where loading the package's module takes a
 * thread ~70 ms). The data is a module of its own (dist/priceCatalogue.js in the bundles): a thread that never prices
 * (the extension's load worker) or gets its prices from another thread (a range worker) never reads it.
 */
export function catalogueProviders(): readonly CatalogueProvider[] {
  if (providers) return providers;
  let json: string;
  try {
    // A require here, not an import: the data is read when first needed.
    json = (require('./priceCatalogue.generated') as { PRICE_CATALOGUE_JSON: string }).PRICE_CATALOGUE_JSON;
  } catch (e) {
    // (No `code`: readers report an error's code before its message.)
    throw new Error(`the price catalogue could not be loaded (${(e as Error).message.split('\n')[0]}); reinstall LLM Cost Lens`);
  }
  return (providers = JSON.parse(json) as CatalogueProvider[]);
}

/** Whether this thread read the bundled catalogue (tests: a range worker given its prices never does). */
export function catalogueRead(): boolean {
  return providers !== undefined;
}

/** A match rule as a function of a lowercase id (its literals lowercased once, its regex compiled once). */
type Matcher = (lower: string) => boolean;
const matchers = new WeakMap<MatchLogic, Matcher>();

function matcher(rule: MatchLogic): Matcher {
  let m = matchers.get(rule);
  if (!m) matchers.set(rule, (m = compile(rule)));
  return m;
}

function compile(rule: MatchLogic): Matcher {
  if ('or' in rule) {
    const any = rule.or.map(matcher);
    return (s) => any.some((m) => m(s));
  }
  if ('and' in rule) {
    const all = rule.and.map(matcher);
    return (s) => all.every((m) => m(s));
  }
  if ('equals' in rule) {
    const v = rule.equals.toLowerCase();
    return (s) => s === v;
  }
  if ('starts_with' in rule) {
    const v = rule.starts_with.toLowerCase();
    return (s) => s.startsWith(v);
  }
  if ('ends_with' in rule) {
    const v = rule.ends_with.toLowerCase();
    return (s) => s.endsWith(v);
  }
  if ('contains' in rule) {
    const v = rule.contains.toLowerCase();
    return (s) => s.includes(v);
  }
  if ('regex' in rule) {
    const re = new RegExp(rule.regex);
    return (s) => re.test(s);
  }
  return () => false;
}

/**
 * Whether a lowercase id matches a catalogue match rule, by genai-prices' rules: literals without regard to case, a
 * `regex` as written (calcPrice lowercases every id before it matches it, and so does findCatalogueModel).
 */
export function matches(rule: MatchLogic, lower: string): boolean {
  return matcher(rule)(lower);
}

/** A provider's models' matchers, in its order. */
const modelMatchers = new WeakMap<CatalogueProvider, Matcher[]>();

/** The provider a provider id names: its id, else the first whose provider_match takes it. */
function providerById(all: readonly CatalogueProvider[], id: string): CatalogueProvider | undefined {
  const key = id.toLowerCase().trim();
  return all.find((p) => p.id === key) ?? all.find((p) => p.provider_match !== undefined && matches(p.provider_match, key));
}

/** The provider of a call: by its provider id; without one (or `litellm`, when no provider has that id), by the model id. */
function providerOf(all: readonly CatalogueProvider[], modelId: string | undefined, providerId: string | undefined): CatalogueProvider | undefined {
  if (providerId) {
    const p = providerById(all, providerId);
    if (p || providerId.toLowerCase() !== 'litellm') return p;
  }
  if (!modelId) return undefined;
  return all.find((p) => p.model_match !== undefined && matches(p.model_match, modelId));
}

/** A date in a model id written without dashes (`-20250514`), with them (`-2025-05-14`): genai-prices' second try. */
const COMPACT_DATE = /(-)(20\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?=-|:|$)/g;

function withDashedDate(id: string): string {
  return id.replace(COMPACT_DATE, (all, dash: string, y: string, m: string, d: string) => {
    const date = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
    return date.getUTCFullYear() !== Number(y) || date.getUTCMonth() !== Number(m) - 1 || date.getUTCDate() !== Number(d) ? all : `${dash}${y}-${m}-${d}`;
  });
}

/** A provider's model for an id: its own models' match rules, then (at the first level only) its fallback providers'. */
function modelIn(p: CatalogueProvider, id: string, all?: readonly CatalogueProvider[]): CatalogueModel | undefined {
  let ms = modelMatchers.get(p);
  if (!ms) modelMatchers.set(p, (ms = p.models.map((x) => matcher(x.match))));
  for (let i = 0; i < ms.length; i++) if (ms[i](id)) return p.models[i];
  if (p.fallback_model_providers && all) {
    for (const fid of p.fallback_model_providers) {
      const f = all.find((x) => x.id === fid);
      const fm = f && modelIn(f, id);
      if (fm) return fm;
    }
  }
  return undefined;
}

/**
 * The catalogue's model for a call and the provider it was found under, as @pydantic/genai-prices' `calcPrice(usage,
 * modelId, { providerId })` finds them (the same rules, in the same order: a unit test compares the two on every model of
 * the catalogue and on ids made from them); undefined where calcPrice returns null.
 */
export function findCatalogueModel(modelId: string, providerId?: string): { model: CatalogueModel; provider: CatalogueProvider } | undefined {
  const all = catalogueProviders();
  let id = modelId.toLowerCase().trim();
  let pid = providerId;
  if (pid && pid.toLowerCase() === 'litellm' && id.includes('/')) {
    const slash = id.indexOf('/');
    const prefix = id.slice(0, slash);
    const rest = id.slice(slash + 1);
    if (prefix && rest && providerOf(all, undefined, prefix)) {
      pid = prefix;
      id = rest;
    }
  }
  const provider = providerOf(all, id, pid);
  if (!provider) return undefined;
  let model = modelIn(provider, id, all);
  if (!model) {
    const dashed = withDashedDate(id);
    if (dashed !== id) model = modelIn(provider, dashed, all);
  }
  return model ? { model, provider } : undefined;
}
