import type { CallRecord, CallSite, Problem, TokenCounts } from './types';
import { first, getPath, isObject, type JsonObject, toEpochMs, toNumber, toStr } from './values';

/**
 * A workspace's own field mapping for a record shape not listed in the README: dot paths into each record.
 * `inputIncludesCache` says whether the input count already contains cache reads and writes (OpenAI/OTel style).
 */
export interface FieldMapping {
  model?: string;
  provider?: string;
  inputTokens?: string;
  outputTokens?: string;
  cacheReadTokens?: string;
  cacheWriteTokens?: string;
  reasoningTokens?: string;
  costUsd?: string;
  timestamp?: string;
  id?: string;
  traceId?: string;
  feature?: string;
  user?: string;
  agent?: string;
  template?: string;
  tool?: string;
  inputIncludesCache?: boolean;
}

/** The dot-path fields of a `FieldMapping`, in the order the README lists them. */
export const FIELD_MAPPING_PATHS = [
  'model', 'provider', 'inputTokens', 'outputTokens', 'cacheReadTokens', 'cacheWriteTokens', 'reasoningTokens', 'costUsd',
  'timestamp', 'id', 'traceId', 'feature', 'user', 'agent', 'template', 'tool',
] as const satisfies readonly (keyof FieldMapping)[];

/** Fields of which a mapping needs at least one: a record is read through the mapping only when one of them is there. */
const MAPPING_NEEDS = ['inputTokens', 'outputTokens', 'costUsd'] as const;

const squash = (k: string) => k.toLowerCase().replace(/[^a-z0-9]/g, '');

/**
 * Checks a field mapping as written by the user (the `llmCostLens.fieldMapping` setting or a `--mapping` file, already
 * JSON-parsed): an object whose keys are `FieldMapping` fields, each a non-empty dot path (a string) except
 * `inputIncludesCache`, a boolean; and at least one of inputTokens, outputTokens or costUsd, without which no record
 * would be read. Returns the mapping only when there is no problem; each problem is one line. Never throws.
 * `null`/`undefined` is no mapping and no problem.
 */
export function parseFieldMapping(raw: unknown): { mapping: FieldMapping | undefined; problems: string[] } {
  if (raw === null || raw === undefined) return { mapping: undefined, problems: [] };
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    return { mapping: undefined, problems: [`the field mapping must be an object of dot paths, got ${Array.isArray(raw) ? 'an array' : typeof raw}`] };
  }
  const known: readonly string[] = [...FIELD_MAPPING_PATHS, 'inputIncludesCache'];
  const problems: string[] = [];
  const mapping: FieldMapping = {};
  for (const [key, v] of Object.entries(raw as Record<string, unknown>)) {
    if (key === 'inputIncludesCache') {
      if (typeof v === 'boolean') mapping.inputIncludesCache = v;
      else problems.push(`field mapping "inputIncludesCache" must be true or false, got ${describe(v)}`);
      continue;
    }
    if (!known.includes(key)) {
      const near = known.find((k) => squash(k) === squash(key));
      problems.push(`field mapping has an unknown field "${oneLine(key)}"` + (near ? ` (did you mean "${near}"?)` : ` (known: ${known.join(', ')})`));
      continue;
    }
    if (typeof v !== 'string') problems.push(`field mapping "${key}" must be a dot path string such as "usage.input_tokens", got ${describe(v)}`);
    else if (!v.trim()) problems.push(`field mapping "${key}" is an empty path`);
    else mapping[key as (typeof FIELD_MAPPING_PATHS)[number]] = v;
  }
  if (!problems.length && !MAPPING_NEEDS.some((k) => mapping[k] !== undefined)) {
    problems.push('field mapping needs inputTokens, outputTokens or costUsd: without one of them no record is read through it');
  }
  return problems.length ? { mapping: undefined, problems } : { mapping, problems };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return v.trim() ? `"${oneLine(v)}"` : 'an empty string';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${oneLine(String(v))}`;
}

/** Keeps a user's text on one short line in a message. */
function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  const t = s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return t.length > 60 ? `${t.slice(0, 59)}…` : t;
}

/**
 * State kept across the documents of one file: ids already seen (Claude Code repeats a message on every content
 * block; the OTel console exporter may print a span twice) and the model announced by a Codex `turn_context`.
 */
export interface NormalizeContext {
  file: string;
  seenIds: Set<string>;
  /**
   * Claude Code messages already emitted: output tokens of the version stored, and its row in the table (set by
   * whoever stores the calls, -1 until then), so a later line of the same message can replace it.
   */
  messages: Map<string, { out: number; row: number }>;
  /**
   * Set once a Claude Code message was read: `messages` then holds Claude Code message ids (`isClaudeMessageKey`),
   * which CopyIndex matches across files. Files of other shapes never pay for looking at their keys.
   */
  claudeCode?: boolean;
  currentModel?: string;
  /**
   * Codex CLI: the last `token_count` event's running total (`total_token_usage`, as text). Codex writes the event
   * again with the same total (rate-limit and UI refreshes); such a repeat is no new call.
   */
  codexTotal?: string;
  mapping?: FieldMapping;
  /** Count of documents that held no LLM call (user turns, progress events, agent spans...). */
  ignored: number;
}

export function newContext(file: string, mapping?: FieldMapping): NormalizeContext {
  return { file, seenIds: new Set(), messages: new Map(), ignored: 0, mapping };
}

export interface NormalizeResult {
  calls: CallRecord[];
  problems: Problem[];
}

/** Largest token count accepted for one call; more is treated as corrupt data. */
export const MAX_TOKENS_PER_CALL = 1e8;

/**
 * A recorded cost above this for one call is a broken record, not a call (MAX_TOKENS_PER_CALL output tokens of the
 * dearest models cost ~$60,000): the line is skipped and reported, so one bad value cannot swamp every total.
 */
export const MAX_RECORDED_USD_PER_CALL = 100_000;

// ---------------------------------------------------------------------------------------------------------------
// Tag aliases: every spelling lands on one canonical dimension.

type TagDim = 'feature' | 'user' | 'agent' | 'template' | 'tool';
const TAG_ALIASES: Record<string, TagDim> = {};
/** The aliases as written (the fast scanner knows ahead how their keys read: keyClasses.generated.ts). */
export const TAG_ALIAS_NAMES: string[] = [];
function alias(dim: TagDim, names: string[]) {
  for (const n of names) {
    TAG_ALIASES[n.toLowerCase()] = dim;
    TAG_ALIAS_NAMES.push(n);
  }
}
alias('feature', ['feature', 'feature_name', 'featureName', 'feature_id', 'use_case', 'useCase', 'app.feature', 'llm.feature']);
alias('user', ['user_id', 'userId', 'user', 'end_user', 'endUser', 'enduser.id', 'user.id', 'end_user_id']);
alias('agent', ['agent_id', 'agentId', 'agent', 'agent_name', 'agentName', 'gen_ai.agent.name']);
alias('template', [
  'template_version',
  'templateVersion',
  'prompt_version',
  'promptVersion',
  'template',
  'prompt_template',
  'promptTemplate',
  'prompt_template_version',
  'template_id',
  'templateId',
]);
alias('tool', ['tool', 'tool_name', 'toolName', 'gen_ai.tool.name']);

/** The canonical dimension a tag key stands for, if any. */
export function canonicalTag(key: string): TagDim | undefined {
  return TAG_ALIASES[key.toLowerCase()];
}

/** Keys never kept as tags: they are read as fields, or hold content rather than attribution. */
const NON_TAG_KEYS = new Set(
  [
    'model', 'model_name', 'modelName', 'model_id', 'modelId', 'provider', 'vendor', 'llm_provider',
    'input_tokens', 'output_tokens', 'inputTokens', 'outputTokens', 'prompt_tokens', 'completion_tokens',
    'promptTokens', 'completionTokens', 'total_tokens', 'totalTokens', 'cache_read_tokens', 'cacheReadTokens',
    'cache_write_tokens', 'cacheWriteTokens', 'cache_creation_tokens', 'cacheCreationTokens',
    'cache_read_input_tokens', 'cache_creation_input_tokens', 'cached_tokens', 'cachedTokens',
    'cache_write_1h_tokens', 'cacheWrite1hTokens', 'reasoning_tokens', 'reasoningTokens',
    'cost', 'cost_usd', 'costUsd', 'total_cost', 'totalCost', 'estimated_cost_usd', 'estimatedCostUsd',
    'estimated_cost', 'estimatedCost', 'timestamp', 'ts', 'time', 'created_at', 'createdAt', 'start_time',
    'startTime', 'end_time', 'endTime', 'created', 'date', 'id', 'call_id', 'callId', 'request_id', 'requestId',
    'span_id', 'spanId', 'trace_id', 'traceId', 'run_id', 'runId', 'parent_id', 'parentId', 'parent_span_id', 'parentSpanId',
    'latency_ms', 'latencyMs', 'duration_ms', 'durationMs', 'latency', 'elapsed_ms', 'error', 'error_message',
    'errorMessage', 'status', 'status_code', 'statusCode', 'usage', 'metadata', 'tags', 'labels', 'attributes',
    'event', 'callsite', 'call_site', 'callSite', 'code.filepath', 'code.lineno', 'code.file.path',
    'code.line.number', 'code.function', 'code.function.name', 'prompt', 'completion', 'response', 'request',
    'messages', 'message', 'content', 'input', 'output', 'text', 'choices', 'steps',
  ].map((k) => k.toLowerCase()),
);

/** Longest tag value kept (longer ones are left out; for a dimension, with a warning). */
export const MAX_TAG_LENGTH = 200;

function tagValue(v: unknown): string | undefined {
  const s = toStr(v);
  if (s === undefined || s.length > MAX_TAG_LENGTH) return undefined;
  return s;
}

/** Applies tag-like entries to a record: canonical aliases to `dims`, the rest to `tags` (first writer wins). */
function applyTags(rec: CallRecord, src: unknown, opts: { skipKnown: boolean }) {
  if (Array.isArray(src)) {
    // `tags: ["team:search", "env:prod"]`
    for (const t of src) {
      if (typeof t !== 'string') continue;
      const i = t.indexOf(':');
      if (i > 0) applyTag(rec, t.slice(0, i), t.slice(i + 1));
      else applyTag(rec, t, 'true');
    }
    return;
  }
  if (!isObject(src)) return;
  for (const [k, v] of Object.entries(src)) {
    if (opts.skipKnown && NON_TAG_KEYS.has(k.toLowerCase())) continue;
    applyTag(rec, k, v);
  }
}

function applyTag(rec: CallRecord, key: string, v: unknown) {
  const value = tagValue(v);
  const dim = canonicalTag(key);
  if (value === undefined) {
    // A dimension's value too long to be a name (a prompt pasted into `feature`): said, not silently unattributed.
    if (dim && typeof v === 'string' && v.length > MAX_TAG_LENGTH) {
      const list = longDimensions.get(rec) ?? [];
      list.push([dim, `The ${dim} tag ${JSON.stringify(clip(key))} is longer than ${MAX_TAG_LENGTH} characters (${JSON.stringify(clip(v))}): left out, the call has no ${dim}`]);
      longDimensions.set(rec, list);
    }
    return;
  }
  if (dim) {
    if (rec.dims[dim] === undefined) rec.dims[dim] = value;
    return;
  }
  if (key.startsWith('gen_ai.usage.') || key.startsWith('gen_ai.prompt') || key.startsWith('gen_ai.completion')) return;
  if (!(key in rec.tags)) rec.tags[key] = value;
}

// ---------------------------------------------------------------------------------------------------------------

/** A record with every field present, so that filling it never changes its hidden class (this is a hot path). */
function newRecord(file: string, line: number): CallRecord {
  return {
    inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, cacheWrite1hTokens: 0, reasoningTokens: 0,
    id: undefined, traceId: undefined, parentId: undefined, tsMs: NaN, provider: undefined, model: undefined,
    recordedCostUsd: undefined, estimatedCostUsd: undefined, latencyMs: undefined, error: undefined, status: undefined,
    dims: {}, tags: {}, callsite: undefined, source: { file, line },
  };
}

/** Reads a call site from `callsite: "src/app.py:42"`, `{file, line}`, or the OTel `code.*` attributes. */
function readCallSite(...sources: unknown[]): CallSite | undefined {
  for (const src of sources) {
    if (!isObject(src)) continue;
    const cs = first(src, ['callsite', 'call_site', 'callSite']);
    if (typeof cs === 'string') {
      const m = /^(.*?):(\d+)(?::\d+)?$/.exec(cs.trim());
      if (m) return { file: m[1], line: Number(m[2]) };
      if (cs.trim()) return { file: cs.trim() };
    } else if (isObject(cs)) {
      const file = toStr(first(cs, ['file', 'path', 'filepath', 'filename']));
      if (file) {
        const line = toNumber(first(cs, ['line', 'lineno', 'line_number']));
        return { file, line, function: toStr(first(cs, ['function', 'func', 'name'])) };
      }
    }
    const file = toStr(first(src, ['code.filepath', 'code.file.path']));
    if (file) {
      const line = toNumber(first(src, ['code.lineno', 'code.line.number']));
      return { file, line, function: toStr(first(src, ['code.function', 'code.function.name'])) };
    }
  }
  return undefined;
}

/**
 * Fills token counts from a usage-like object, converting the provider's convention to ours (uncached input).
 * Returns false when the object holds no token counts.
 */
function readUsage(rec: CallRecord, usage: JsonObject, convention: 'auto' | 'exclusive' | 'inclusive'): boolean {
  const n = (keys: readonly string[]) => tokenCount(rec, usage, keys);
  const prompt = n(['prompt_tokens', 'promptTokens']);
  const completion = n(['completion_tokens', 'completionTokens']);
  // An unreadable count still makes this a call (reported by checkTokens), not a record without usage.
  if (prompt !== undefined || completion !== undefined || unreadableTokens.has(rec)) {
    // OpenAI Chat Completions: prompt_tokens INCLUDES the cached tokens; completion includes reasoning.
    const details = isObject(usage.prompt_tokens_details) ? usage.prompt_tokens_details : undefined;
    const cached = toNumber(details?.cached_tokens) ?? n(['cached_tokens', 'cache_read_tokens', 'cacheReadTokens', 'cache_read_input_tokens']) ?? 0;
    // Cache writes, where a gateway reports them in this shape (LiteLLM for Anthropic models:
    // `prompt_tokens_details.cache_creation_tokens` and `cache_creation_input_tokens`): counted in prompt_tokens too.
    const written = toNumber(details?.cache_creation_tokens) ?? toNumber(details?.cache_write_tokens) ?? n(['cache_creation_input_tokens', 'cache_write_tokens']) ?? 0;
    const cdetails = isObject(usage.completion_tokens_details) ? usage.completion_tokens_details : undefined;
    if (written > 0 && (prompt ?? 0) < cached + written && (prompt ?? 0) >= 0) {
      // A prompt count smaller than its cached parts can only exclude them (LiteLLM's Anthropic messages log it so).
      rec.inputTokens = prompt ?? 0;
      warnAbout(rec, `prompt_tokens (${prompt ?? 0}) is smaller than its cached parts (${cached + written}): read as uncached input (exclusive convention)`);
    } else rec.inputTokens = (prompt ?? 0) - cached - written;
    rec.cacheReadTokens = cached;
    rec.cacheWriteTokens = written;
    // A record with prompt_tokens and output_tokens (no completion_tokens) still has its output.
    rec.outputTokens = completion ?? n(['output_tokens', 'outputTokens']) ?? 0;
    const input = toNumber(usage.input_tokens ?? usage.inputTokens);
    if (prompt !== undefined && input !== undefined && input !== prompt) warnAbout(rec, `Both prompt_tokens (${prompt}) and input_tokens (${input}): prompt_tokens read`);
    rec.reasoningTokens = toNumber(cdetails?.reasoning_tokens) ?? n(['reasoning_tokens', 'reasoningTokens']) ?? 0;
    return true;
  }
  const input = n(['input_tokens', 'inputTokens', 'input']);
  const output = n(['output_tokens', 'outputTokens', 'output']);
  if (input === undefined && output === undefined && !unreadableTokens.has(rec)) return false;
  const inDetails = isObject(usage.input_tokens_details) ? usage.input_tokens_details : undefined;
  const outDetails = isObject(usage.output_tokens_details) ? usage.output_tokens_details : undefined;
  if (inDetails || outDetails) {
    // OpenAI Responses API: input_tokens INCLUDES cached tokens.
    const cached = toNumber(inDetails?.cached_tokens) ?? 0;
    rec.inputTokens = (input ?? 0) - cached;
    rec.cacheReadTokens = cached;
    rec.outputTokens = output ?? 0;
    rec.reasoningTokens = toNumber(outDetails?.reasoning_tokens) ?? 0;
    return true;
  }
  // Anthropic Messages and flat records: input_tokens EXCLUDES cache reads and writes.
  const cacheRead = n(['cache_read_input_tokens', 'cache_read_tokens', 'cacheReadTokens', 'cacheRead', 'cache_read']) ?? 0;
  let cacheWrite =
    n(['cache_creation_input_tokens', 'cache_write_tokens', 'cache_creation_tokens', 'cacheWriteTokens', 'cacheCreationTokens', 'cacheWrite', 'cache_write']) ?? 0;
  let write1h = n(['cache_write_1h_tokens', 'cacheWrite1hTokens']) ?? 0;
  const split = isObject(usage.cache_creation) ? usage.cache_creation : undefined;
  if (split) {
    const w5 = toNumber(split.ephemeral_5m_input_tokens) ?? 0;
    const w1 = toNumber(split.ephemeral_1h_input_tokens) ?? 0;
    write1h = w1;
    if (cacheWrite === 0) cacheWrite = w5 + w1;
  }
  rec.cacheReadTokens = cacheRead;
  rec.cacheWriteTokens = cacheWrite;
  rec.cacheWrite1hTokens = write1h;
  rec.outputTokens = output ?? 0;
  rec.reasoningTokens = n(['reasoning_tokens', 'reasoningTokens', 'reasoning']) ?? 0;
  rec.inputTokens = convention === 'inclusive' ? (input ?? 0) - cacheRead - cacheWrite : input ?? 0;
  return true;
}

/** Records whose token counts had a value that is not a number, with the message (checkTokens reports it). */
const unreadableTokens = new WeakMap<CallRecord, string>();

/**
 * Warnings about a record that is kept (a token count that is not whole, an unreadable timestamp, a tag value too long
 * to keep), reported with its line once the record is taken.
 */
const recordWarnings = new WeakMap<CallRecord, string[]>();

/** Records already warned about a fractional token count (the first such count is named). */
const fractionalSeen = new WeakSet<CallRecord>();

function warnAbout(rec: CallRecord, message: string): void {
  const list = recordWarnings.get(rec);
  if (list) {
    if (!list.includes(message)) list.push(message);
  } else recordWarnings.set(rec, [message]);
}

/** Text cut to `n` characters for a message, with an ellipsis when cut. */
const clip = (t: string, n = 40) => (t.length > n ? `${t.slice(0, n)}…` : t);

/**
 * toEpochMs of a timestamp value; a string there that is not a time (`garbage`, `2026-02-30`) is warned about: the call
 * is kept, without a time (it is in totals, not in time charts or time ranges).
 */
function readTime(rec: CallRecord, v: unknown): number {
  const t = toEpochMs(v);
  if (Number.isNaN(t) && typeof v === 'string' && v.trim() !== '') warnAbout(rec, unreadableTimeMessage(v));
  return t;
}

/** The warning for a timestamp string that is not a time (shared with the fast scanner, which must say the same). */
export function unreadableTimeMessage(text: string): string {
  return `Unreadable timestamp (${JSON.stringify(clip(text))}): the call is kept without a time`;
}

/**
 * Dimension values too long to keep, by record: warned about when the record is taken if the dimension has no value
 * from elsewhere then (a long `metadata.feature` beside a short top-level `feature` costs nothing).
 */
const longDimensions = new WeakMap<CallRecord, [TagDim, string][]>();

/**
 * toNumber of the first non-null of `keys`; a value there that is not a number under a key that can only hold a count
 * (`..._tokens`, `...Tokens`: not `input`/`output`, which some shapes use for the prompt text) makes the call
 * unreadable rather than a silent 0.
 */
function tokenCount(rec: CallRecord, obj: JsonObject, keys: readonly string[]): number | undefined {
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined || v === null) continue;
    const num = toNumber(v);
    if (num === undefined && /tokens$/i.test(k) && v !== '' && !unreadableTokens.has(rec)) {
      // Numbers beyond the doubles' range (1e400, as JSON numbers or text) read as ±Infinity.
      const big = beyondDoubles(v);
      if (big === Infinity) unreadableTokens.set(rec, `Implausible token count in ${k} (${big}): more than ${MAX_TOKENS_PER_CALL} for one call`);
      else if (big === -Infinity) unreadableTokens.set(rec, `Negative token count in ${k} (${big})`);
      else unreadableTokens.set(rec, `Token count in ${k} is not a number (${clip(JSON.stringify(v) ?? String(v))})`);
    }
    if (num !== undefined && !Number.isInteger(num) && /tokens$/i.test(k) && !fractionalSeen.has(rec)) {
      fractionalSeen.add(rec);
      warnAbout(rec, `Token count in ${k} is not a whole number (${num}): counted as ${Math.trunc(num)}`);
    }
    return num;
  }
  return undefined;
}

/** Checks token counts and the recorded cost; returns an error message for data that cannot be a real call. */
function checkTokens(rec: CallRecord, inclusiveSource: boolean): string | undefined {
  const fields: (keyof TokenCounts)[] = ['inputTokens', 'outputTokens', 'cacheReadTokens', 'cacheWriteTokens', 'cacheWrite1hTokens', 'reasoningTokens'];
  const unreadable = unreadableTokens.get(rec);
  if (unreadable) return unreadable;
  if (inclusiveSource && rec.inputTokens < 0) {
    // The count as written (cached tokens included): negative is a negative count, not fewer than its cached part.
    const written = rec.inputTokens + rec.cacheReadTokens + rec.cacheWriteTokens;
    if (written < 0) return `Negative token count in inputTokens (${written})`;
    return `Input tokens (${written}) are fewer than the cached tokens counted in them (${rec.cacheReadTokens + rec.cacheWriteTokens})`;
  }
  for (const f of fields) {
    const v = rec[f];
    if (v < 0) return `Negative token count in ${f} (${v})`;
    if (v > MAX_TOKENS_PER_CALL) return `Implausible token count in ${f} (${v}): more than ${MAX_TOKENS_PER_CALL} for one call`;
  }
  if (rec.cacheWrite1hTokens > rec.cacheWriteTokens) rec.cacheWriteTokens = rec.cacheWrite1hTokens;
  if (rec.reasoningTokens > rec.outputTokens) {
    // Reasoning is part of the output (OpenAI, Anthropic, OTel); a count above it can only be outside it (Gemini's
    // thoughtsTokenCount beside candidatesTokenCount): both are billed as output.
    warnAbout(rec, `Reasoning tokens (${rec.reasoningTokens}) exceed output tokens (${rec.outputTokens}): read as not included in them (${rec.outputTokens + rec.reasoningTokens} output tokens)`);
    rec.outputTokens += rec.reasoningTokens;
  }
  if (rec.recordedCostUsd !== undefined && rec.recordedCostUsd < 0) return negativeCostMessage(rec.recordedCostUsd);
  if (rec.recordedCostUsd !== undefined && rec.recordedCostUsd > MAX_RECORDED_USD_PER_CALL) return implausibleCostMessage(rec.recordedCostUsd);
  return undefined;
}

/** The message for a negative recorded cost (shared with the fast scanner, which must say the same). */
export function negativeCostMessage(usd: number): string {
  return `Negative recorded cost (${usd})`;
}

/** ±Infinity for a number, or a numeric text, beyond the doubles' range (`1e400`, `"-Infinity"`); else undefined. */
function beyondDoubles(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return n === Infinity || n === -Infinity ? n : undefined;
}

/** The message for a recorded cost above MAX_RECORDED_USD_PER_CALL (the fast scanner leaves these lines to this reader). */
export function implausibleCostMessage(usd: number): string {
  return `Implausible recorded cost (${usd}): more than $${MAX_RECORDED_USD_PER_CALL.toLocaleString('en-US')} for one call`;
}

/**
 * A cost field: a number, a numeric string, or an object `{ total }` / `{ totalUsd }`. Numbers beyond the doubles'
 * range (1e400) come back as ±Infinity, for checkTokens to refuse (not as no cost).
 */
function readCost(v: unknown): number | undefined {
  const c = isObject(v) ? first(v, ['total', 'totalUsd', 'total_usd', 'usd']) : v;
  const n = toNumber(c);
  if (n !== undefined) return n;
  return beyondDoubles(c);
}

function readError(v: unknown): string | undefined {
  if (v === undefined || v === null || v === false) return undefined;
  if (typeof v === 'string') return v || undefined;
  if (v === true) return 'error';
  if (isObject(v)) return toStr(first(v, ['message', 'type', 'code'])) ?? 'error';
  return toStr(v);
}

const COST_KEYS = ['cost_usd', 'costUsd', 'cost', 'total_cost', 'totalCost', 'total_cost_usd'];
const EST_KEYS = ['estimated_cost_usd', 'estimatedCostUsd', 'estimated_cost', 'estimatedCost', 'preflight_cost_usd'];
const TS_KEYS = ['timestamp', 'ts', 'time', 'created_at', 'createdAt', 'start_time', 'startTime', 'created', 'date'];
const MODEL_KEYS = ['model', 'model_name', 'modelName', 'model_id', 'modelId'];
const PROVIDER_KEYS = ['provider', 'vendor', 'llm_provider', 'gen_ai.system', 'gen_ai.provider.name'];
const ID_KEYS = ['id', 'call_id', 'callId', 'request_id', 'requestId', 'span_id', 'spanId'];
const TRACE_KEYS = ['trace_id', 'traceId', 'run_id', 'runId'];
const PARENT_KEYS = ['parent_id', 'parentId', 'parent_span_id', 'parentSpanId', 'parent_run_id', 'parentRunId'];
const LATENCY_KEYS = ['latency_ms', 'latencyMs', 'duration_ms', 'durationMs', 'elapsed_ms'];

// ---------------------------------------------------------------------------------------------------------------

/**
 * Turns one parsed JSON document into zero or more call records, whatever shape it has (see the README for the
 * list). Documents that hold no call are counted in `ctx.ignored`; records with impossible data are reported.
 */
export function normalizeDocument(value: unknown, line: number, ctx: NormalizeContext): NormalizeResult {
  const out: NormalizeResult = { calls: [], problems: [] };
  const problem = (message: string, severity: Problem['severity'] = 'error') =>
    out.problems.push({ file: ctx.file, line, message, severity });
  if (!Array.isArray(value)) {
    normalizeOne(value, out, problem, line, ctx);
    return out;
  }
  // A JSON array of records (some exporters write one per line). Walked with a stack, not recursion, so a line of
  // deeply nested arrays is reported instead of overflowing the call stack and losing the whole file.
  // Elements that are plain values (not records) are reported once for the line, not once each.
  const stack: { arr: unknown[]; i: number }[] = [{ arr: value, i: 0 }];
  let plain = 0;
  while (stack.length) {
    const top = stack[stack.length - 1];
    if (top.i >= top.arr.length) {
      stack.pop();
      continue;
    }
    const v = top.arr[top.i++];
    if (Array.isArray(v)) {
      if (stack.length >= MAX_ARRAY_NESTING) {
        problem(`Skipped: arrays nested more than ${MAX_ARRAY_NESTING} deep`);
        return out;
      }
      stack.push({ arr: v, i: 0 });
    } else if (v === null || typeof v !== 'object') plain++;
    else normalizeOne(v, out, problem, line, ctx);
  }
  if (plain > 0) problem(`Not a JSON object: ${plain} array element${plain === 1 ? ' is a plain value, not a record' : 's are plain values, not records'}`);
  return out;
}

/** Arrays of records nested deeper than this are not read (no trace shape nests them at all). */
export const MAX_ARRAY_NESTING = 8;

/** One document that is not an array: a record, a run, a span batch, a transcript line... */
function normalizeOne(value: unknown, out: NormalizeResult, problem: (m: string, sev?: Problem['severity']) => void, line: number, ctx: NormalizeContext): void {
  try {
    readObject(value, out, problem, line, ctx);
  } catch (err) {
    // Never lose a file to one document: whatever went wrong is this line's problem.
    problem(`Skipped: could not read this record (${err instanceof Error ? err.name : 'error'})`);
  }
}

function readObject(value: unknown, out: NormalizeResult, problem: (m: string, sev?: Problem['severity']) => void, line: number, ctx: NormalizeContext): void {
  const emit = (rec: CallRecord, inclusiveSource = false) => {
    const bad = checkTokens(rec, inclusiveSource);
    if (bad) problem(`Skipped call: ${bad}`);
    else {
      out.calls.push(rec);
      for (const w of recordWarnings.get(rec) ?? []) problem(w, 'warning');
      for (const [dim, w] of longDimensions.get(rec) ?? []) if (rec.dims[dim] === undefined) problem(w, 'warning');
    }
  };

  if (!isObject(value)) {
    problem('Not a JSON object');
    return;
  }
  const obj = value;

  if (ctx.mapping && readMapped(obj, line, ctx, emit)) return;
  if (Array.isArray(obj.resourceSpans)) {
    readOtlp(obj, line, ctx, emit, problem);
    return;
  }
  if (isClaudeCodeEntry(obj)) {
    readClaudeCode(obj, line, ctx, emit);
    return;
  }
  if (isCodexEntry(obj)) {
    readCodex(obj, line, ctx, emit);
    return;
  }
  if (typeof obj.custom_id === 'string' && isObject(obj.response) && 'body' in obj.response) {
    readBatchOutput(obj, line, ctx, emit);
    return;
  }
  if (typeof obj.custom_id === 'string' && isObject(obj.result)) {
    readAnthropicBatchResult(obj, line, ctx, emit);
    return;
  }
  if (Array.isArray(obj.steps)) {
    readRun(obj, line, ctx, emit);
    return;
  }
  if (isObject(obj.attributes) && Object.keys(obj.attributes).some((k) => k.startsWith('gen_ai.'))) {
    readConsoleSpan(obj, line, ctx, emit, problem);
    return;
  }
  const rec = readGeneric(obj, line, ctx);
  if (rec) emit(rec.rec, rec.inclusive);
  else ctx.ignored++;
}

/** Flat records, records with metadata/tags, camelCase events and raw provider responses. */
function readGeneric(obj: JsonObject, line: number, ctx: NormalizeContext, inherited?: CallRecord): { rec: CallRecord; inclusive: boolean } | undefined {
  const rec = newRecord(ctx.file, line);
  let inclusive = false;
  let hasUsage = false;
  // Where the usage sits: top level (flat), `usage`, or a full provider response under `response`.
  const response = isObject(obj.response) ? obj.response : undefined;
  const usage = isObject(obj.usage) ? obj.usage : isObject(response?.usage) ? response.usage : undefined;
  if (usage) {
    hasUsage = readUsage(rec, usage, 'exclusive');
    inclusive = 'prompt_tokens' in usage || 'promptTokens' in usage || 'input_tokens_details' in usage;
  }
  if (!hasUsage) {
    hasUsage = readUsage(rec, obj, 'exclusive');
    inclusive = 'prompt_tokens' in obj || 'promptTokens' in obj;
  }
  const recorded = readCost(first(obj, COST_KEYS)) ?? (usage ? readCost(first(usage, COST_KEYS)) : undefined);
  const meta = isObject(obj.metadata) ? obj.metadata : undefined;
  if (!hasUsage && recorded === undefined) return undefined;
  // The tier a provider response reports (OpenAI: default, flex, priority; Anthropic usage: standard, batch...).
  const tier = tagValue(response?.service_tier) ?? (usage ? tagValue(usage.service_tier) : undefined);
  if (tier) rec.tags.service_tier = tier;

  rec.model = toStr(first(obj, MODEL_KEYS)) ?? toStr(response?.model) ?? toStr(meta?.model) ?? inherited?.model;
  rec.provider = toStr(first(obj, PROVIDER_KEYS)) ?? toStr(meta?.provider) ?? inherited?.provider ?? inferProvider(obj, usage);
  rec.recordedCostUsd = recorded;
  rec.estimatedCostUsd = toNumber(first(obj, EST_KEYS)) ?? toNumber(first(meta, EST_KEYS));
  rec.tsMs = readTime(rec, first(obj, TS_KEYS) ?? first(meta, TS_KEYS) ?? response?.created);
  if (Number.isNaN(rec.tsMs) && inherited) rec.tsMs = inherited.tsMs;
  rec.id = toStr(first(obj, ID_KEYS)) ?? toStr(response?.id);
  rec.traceId = toStr(first(obj, TRACE_KEYS)) ?? toStr(first(meta, TRACE_KEYS)) ?? inherited?.traceId;
  rec.parentId = toStr(first(obj, PARENT_KEYS)) ?? inherited?.id;
  rec.latencyMs = toNumber(first(obj, LATENCY_KEYS)) ?? toNumber(first(meta, LATENCY_KEYS));
  rec.error = readError(first(obj, ['error', 'error_message', 'errorMessage']));
  rec.status = toStr(first(obj, ['status', 'status_code', 'statusCode']));
  if (!rec.error && rec.status && /^(error|failed|failure|timeout|cancelled)$/i.test(rec.status)) rec.error = rec.status;
  // Attribution: top-level aliases, then metadata, tags, labels and attributes; the enclosing run's last.
  applyTags(rec, obj, { skipKnown: true });
  applyTags(rec, meta, { skipKnown: false });
  applyTags(rec, obj.tags, { skipKnown: false });
  applyTags(rec, obj.labels, { skipKnown: false });
  applyTags(rec, obj.attributes, { skipKnown: false });
  if (inherited) {
    for (const [k, v] of Object.entries(inherited.dims)) if (rec.dims[k as TagDim] === undefined) rec.dims[k as TagDim] = v;
    for (const [k, v] of Object.entries(inherited.tags)) if (!(k in rec.tags)) rec.tags[k] = v;
  }
  rec.callsite = readCallSite(obj, meta, obj.attributes, obj.tags) ?? inherited?.callsite;
  return { rec, inclusive };
}

function inferProvider(obj: JsonObject, usage: JsonObject | undefined): string | undefined {
  if (usage && ('cache_creation_input_tokens' in usage || 'cache_read_input_tokens' in usage)) return 'anthropic';
  if (obj.type === 'message' && typeof obj.id === 'string' && obj.id.startsWith('msg_')) return 'anthropic';
  if (obj.object === 'chat.completion' || obj.object === 'response') return 'openai';
  return undefined;
}

/** Run objects: `{ ..., steps: [{ model, usage: {input, output, cacheRead, cacheWrite}, costUsd, tags, latencyMs, error }] }`. */
function readRun(obj: JsonObject, line: number, ctx: NormalizeContext, emit: (r: CallRecord, inc?: boolean) => void) {
  const run = newRecord(ctx.file, line);
  run.id = toStr(first(obj, ['id', 'run_id', 'runId']));
  run.traceId = toStr(first(obj, TRACE_KEYS)) ?? run.id;
  run.model = toStr(first(obj, MODEL_KEYS));
  run.provider = toStr(first(obj, PROVIDER_KEYS));
  const runTime = first(obj, TS_KEYS);
  run.tsMs = toEpochMs(runTime);
  // An unreadable run time is said on each step that takes it (the run itself is not a call).
  const runTimeWarning = Number.isNaN(run.tsMs) && typeof runTime === 'string' && runTime.trim() !== '' ? unreadableTimeMessage(runTime) : undefined;
  applyTags(run, obj, { skipKnown: true });
  applyTags(run, obj.metadata, { skipKnown: false });
  applyTags(run, obj.tags, { skipKnown: false });
  run.callsite = readCallSite(obj, obj.metadata);
  let found = 0;
  for (const step of obj.steps as unknown[]) {
    if (!isObject(step)) continue;
    const r = readGeneric(step, line, ctx, run);
    if (!r) continue;
    if (r.rec.traceId === undefined) r.rec.traceId = run.traceId;
    if (runTimeWarning && Number.isNaN(r.rec.tsMs)) warnAbout(r.rec, runTimeWarning);
    found++;
    emit(r.rec, r.inclusive);
  }
  if (found === 0) ctx.ignored++;
}

// --- Claude Code transcripts -------------------------------------------------------------------------------------

function isClaudeCodeEntry(obj: JsonObject): boolean {
  return typeof obj.type === 'string' && typeof obj.sessionId === 'string' && typeof obj.uuid === 'string';
}

/** One call per unique `message.id`: Claude Code writes a line per content block and repeats the usage on each. */
function readClaudeCode(obj: JsonObject, line: number, ctx: NormalizeContext, emit: (r: CallRecord) => void) {
  const msg = isObject(obj.message) ? obj.message : undefined;
  const usage = msg && isObject(msg.usage) ? msg.usage : undefined;
  if (obj.type !== 'assistant' || !msg || !usage || msg.model === '<synthetic>') {
    ctx.ignored++;
    return;
  }
  const id = toStr(msg.id) ?? toStr(obj.requestId) ?? toStr(obj.uuid);
  const out = toNumber(usage.output_tokens) ?? 0;
  let supersedes: string | undefined;
  if (id) {
    const seen = ctx.messages.get(id);
    // Streaming writes the message once per content block; the usage grows to its final value on the last line.
    if (seen && out <= seen.out) {
      ctx.ignored++;
      return;
    }
    if (seen) {
      seen.out = out;
      supersedes = id;
      ctx.ignored++; // the line adds no call: it completes one
    } else {
      ctx.messages.set(id, { out, row: -1 });
      ctx.claudeCode = true;
    }
  }
  const rec = newRecord(ctx.file, line);
  readUsage(rec, usage, 'exclusive');
  rec.id = id;
  rec.traceId = toStr(obj.sessionId);
  rec.model = toStr(msg.model);
  rec.provider = 'anthropic';
  rec.tsMs = readTime(rec, obj.timestamp);
  rec.dims.agent = toStr(obj.agentId) ?? (obj.isSidechain ? 'subagent' : 'main');
  // (`cwd`: the project's folder, to group a workspace's or every project's transcripts by project.)
  for (const k of ['cwd', 'gitBranch', 'version', 'requestId', 'slug']) {
    const v = tagValue(obj[k]);
    if (v) rec.tags[k] = v;
  }
  const tier = tagValue(usage.service_tier);
  if (tier) rec.tags.service_tier = tier;
  rec.supersedes = supersedes;
  emit(rec);
}

// --- Codex CLI rollouts -----------------------------------------------------------------------------------------

function isCodexEntry(obj: JsonObject): boolean {
  return (obj.type === 'turn_context' || obj.type === 'event_msg' || obj.type === 'session_meta') && isObject(obj.payload);
}

/** A Codex running total as text: its counts, in a fixed order. */
function codexTotalKey(t: JsonObject): string {
  return [t.input_tokens, t.cached_input_tokens, t.output_tokens, t.reasoning_output_tokens, t.total_tokens].map((v) => String(toNumber(v) ?? '')).join(',');
}

/**
 * Codex CLI: the model comes from the last `turn_context`; each `token_count` event's `last_token_usage` is a call,
 * unless its running total is the one of the event before (a repeated event).
 */
function readCodex(obj: JsonObject, line: number, ctx: NormalizeContext, emit: (r: CallRecord, inc?: boolean) => void) {
  const payload = obj.payload as JsonObject;
  if (obj.type === 'turn_context') {
    ctx.currentModel = toStr(payload.model) ?? ctx.currentModel;
    ctx.ignored++;
    return;
  }
  const info = isObject(payload.info) ? payload.info : undefined;
  const last = info && isObject(info.last_token_usage) ? info.last_token_usage : undefined;
  if (obj.type !== 'event_msg' || payload.type !== 'token_count' || !last) {
    ctx.ignored++;
    return;
  }
  const total = isObject(info?.total_token_usage) ? codexTotalKey(info.total_token_usage) : undefined;
  if (total !== undefined) {
    if (total === ctx.codexTotal) {
      ctx.ignored++;
      return;
    }
    ctx.codexTotal = total;
  }
  const rec = newRecord(ctx.file, line);
  // Codex: input_tokens INCLUDES cached_input_tokens; reasoning is part of output.
  const input = toNumber(last.input_tokens) ?? 0;
  const cached = toNumber(last.cached_input_tokens) ?? 0;
  rec.inputTokens = input - cached;
  rec.cacheReadTokens = cached;
  rec.outputTokens = toNumber(last.output_tokens) ?? 0;
  rec.reasoningTokens = toNumber(last.reasoning_output_tokens) ?? 0;
  rec.model = ctx.currentModel;
  rec.provider = 'openai';
  rec.tsMs = readTime(rec, obj.timestamp);
  rec.dims.agent = 'codex';
  emit(rec, true);
}

// --- OpenAI-compatible Batch API output --------------------------------------------------------------------------

function readBatchOutput(obj: JsonObject, line: number, ctx: NormalizeContext, emit: (r: CallRecord, inc?: boolean) => void) {
  const response = obj.response as JsonObject;
  const body = isObject(response.body) ? response.body : undefined;
  const usage = body && isObject(body.usage) ? body.usage : undefined;
  const rec = newRecord(ctx.file, line);
  if (usage) readUsage(rec, usage, 'inclusive');
  rec.id = toStr(obj.custom_id);
  rec.traceId = toStr(obj.id);
  rec.model = toStr(body?.model);
  rec.provider = body && 'x_groq' in body ? 'groq' : 'openai';
  rec.tsMs = readTime(rec, body?.created);
  rec.status = toStr(response.status_code);
  rec.error = readError(obj.error) ?? (typeof response.status_code === 'number' && response.status_code >= 400 ? `HTTP ${response.status_code}` : undefined);
  rec.tags.custom_id = String(obj.custom_id);
  rec.tags.service_tier = 'batch'; // a Batch API output line: billed at the batch discount
  applyTags(rec, obj.metadata, { skipKnown: false });
  if (!usage) {
    ctx.ignored++;
    return;
  }
  emit(rec, true);
}

/** Anthropic Message Batches results: `{custom_id, result: {type: "succeeded", message: {model, usage}}}`. */
function readAnthropicBatchResult(obj: JsonObject, line: number, ctx: NormalizeContext, emit: (r: CallRecord, inc?: boolean) => void) {
  const result = obj.result as JsonObject;
  const msg = isObject(result.message) ? result.message : undefined;
  const usage = msg && isObject(msg.usage) ? msg.usage : undefined;
  if (!msg || !usage) {
    ctx.ignored++;
    return;
  }
  const rec = newRecord(ctx.file, line);
  readUsage(rec, usage, 'exclusive');
  rec.id = toStr(obj.custom_id);
  rec.model = toStr(msg.model);
  rec.provider = 'anthropic';
  rec.tsMs = readTime(rec, first(obj, TS_KEYS));
  rec.error = result.type === 'errored' ? readError(result.error) ?? 'errored' : undefined;
  rec.tags.custom_id = String(obj.custom_id);
  rec.tags.service_tier = 'batch'; // Message Batches: half price, cache multipliers stacked
  applyTags(rec, obj.metadata, { skipKnown: false });
  emit(rec);
}

// --- OpenTelemetry -----------------------------------------------------------------------------------------------

/** OTLP/JSON attribute list to a flat object: `[{key, value: {stringValue|intValue|doubleValue|boolValue}}]`. */
function flattenOtlpAttributes(attrs: unknown): JsonObject {
  const out: JsonObject = {};
  if (!Array.isArray(attrs)) return isObject(attrs) ? attrs : out;
  for (const a of attrs) {
    if (!isObject(a) || typeof a.key !== 'string' || !isObject(a.value)) continue;
    const v = a.value;
    if ('stringValue' in v) out[a.key] = v.stringValue;
    else if ('intValue' in v) out[a.key] = toNumber(v.intValue);
    else if ('doubleValue' in v) out[a.key] = toNumber(v.doubleValue);
    else if ('boolValue' in v) out[a.key] = v.boolValue;
  }
  return out;
}

/** Operations whose spans roll up their children's usage or are not model calls. */
const NON_CALL_OPERATIONS = new Set(['invoke_agent', 'create_agent', 'execute_tool', 'invoke_workflow']);

interface SpanView {
  spanId?: string;
  traceId?: string;
  parentId?: string;
  name?: string;
  attrs: JsonObject;
  /** startTimeUnixNano as written (a string it cannot read is warned about when the span is a call). */
  start: unknown;
  startMs: number;
  endMs: number;
  error?: string;
  extraTags: JsonObject;
}

/** A span's key in the reading context (its trace and `id`: its own or its parent's), or undefined without an id. */
const spanKey = (s: SpanView, id: string | undefined) => (id ? `${s.traceId ?? ''}/${id}` : undefined);

function hasOtelUsage(a: JsonObject): boolean {
  return (
    a['gen_ai.usage.input_tokens'] !== undefined ||
    a['gen_ai.usage.output_tokens'] !== undefined ||
    a['gen_ai.usage.prompt_tokens'] !== undefined ||
    a['gen_ai.usage.completion_tokens'] !== undefined
  );
}

/**
 * Spans with usage that are LLM calls (not agent/tool operations, and not ancestors of another such span), and the
 * spans with usage that are ancestors of one (roll-ups).
 */
function leafCallSpans(spans: SpanView[]): { calls: SpanView[]; rollups: SpanView[] } {
  const candidates = spans.filter((s) => hasOtelUsage(s.attrs) && !NON_CALL_OPERATIONS.has(String(s.attrs['gen_ai.operation.name'] ?? '')));
  const byId = new Map<string, SpanView>();
  for (const s of spans) if (s.spanId) byId.set(s.spanId, s);
  const rollups = new Set<SpanView>();
  for (const c of candidates) {
    let p = c.parentId ? byId.get(c.parentId) : undefined;
    const guard = new Set<SpanView>();
    while (p && !guard.has(p)) {
      guard.add(p);
      if (hasOtelUsage(p.attrs)) rollups.add(p);
      p = p.parentId ? byId.get(p.parentId) : undefined;
    }
  }
  return { calls: candidates.filter((c) => !rollups.has(c)), rollups: [...rollups] };
}

/**
 * The roll-ups of one document, for the documents after it (see ROLLUP): each is read (a copy printed again later is
 * skipped), its parent is a roll-up too, and a row its parent holds (read before as a call) goes down to it, so that
 * the call below it takes that row (parents before children: as many rounds as the chain is long).
 */
function noteRollups(rollups: readonly SpanView[], ctx: NormalizeContext): void {
  for (const r of rollups) {
    const k = spanKey(r, r.spanId);
    const pk = spanKey(r, r.parentId);
    if (k) ctx.seenIds.add(k);
    if (pk) ctx.seenIds.add(ROLLUP + pk);
  }
  for (let moved = true; moved; ) {
    moved = false;
    for (const r of rollups) {
      const k = spanKey(r, r.spanId);
      const pk = spanKey(r, r.parentId);
      const held = pk !== undefined ? ctx.messages.get(CALL_ROW + pk) : undefined;
      if (!k || !held || ctx.messages.has(CALL_ROW + k)) continue;
      ctx.messages.delete(CALL_ROW + pk!);
      ctx.messages.set(CALL_ROW + k, held);
      moved = true;
    }
  }
}

/**
 * Across the documents of a file (an exporter writes one batch, or one span, per line, and a parent span ends, so is
 * written, after its children), the reading context remembers, for the spans with usage it read:
 * - `ROLLUP` + the parent's key, in `seenIds`: that span has a span with usage below it, so it sums its descendants'
 *   usage (a roll-up, such as a framework's `ChatOpenAI.chat` over the SDK's `openai.chat`) and is no call of its own
 *   when it comes later;
 * - `CALL_ROW` + its key, in `messages`: the row a span read as a call is stored in, so that a child read later (the
 *   parent was a roll-up after all) takes that row instead of adding a second call.
 * Only direct parents are known across documents: a span without usage between two others, in another document,
 * hides the relation (within a document, leafCallSpans follows the whole chain). A call is not taken back: when a
 * parent was read as a call and a grandchild is read before the child between them (each in a document of its own),
 * both stay counted (exporters write a span when it ends, so children come first).
 */
const ROLLUP = '\u2191';
const CALL_ROW = 'otel\u0000';

/** Whether a key of `NormalizeContext.messages` is a Claude Code message's id (not an OpenTelemetry span's row). */
export function isClaudeMessageKey(key: string): boolean {
  return !key.startsWith(CALL_ROW);
}

/** Stores span s as a call unless it was read before or a call below it was; true when it gives a call. */
function spanToRecord(s: SpanView, line: number, ctx: NormalizeContext, emit: (r: CallRecord, inc?: boolean) => void, problem: (m: string, sev?: Problem['severity']) => void): boolean {
  const a = s.attrs;
  const key = spanKey(s, s.spanId);
  if (key) {
    if (ctx.seenIds.has(key)) return false;
    ctx.seenIds.add(key);
  }
  const parentKey = spanKey(s, s.parentId);
  if (parentKey) ctx.seenIds.add(ROLLUP + parentKey);
  if (key && ctx.seenIds.has(ROLLUP + key)) return false; // a roll-up of calls read before
  let supersedes: string | undefined;
  if (key) {
    const parent = parentKey !== undefined ? ctx.messages.get(CALL_ROW + parentKey) : undefined;
    if (parent) {
      // The parent was read as a call: it summed this one's usage. This call takes its row (and a grandchild read later
      // takes it from this one); the parent's other children are calls of their own.
      ctx.messages.delete(CALL_ROW + parentKey);
      ctx.messages.set(CALL_ROW + key, parent);
      supersedes = CALL_ROW + key;
      ctx.ignored++; // the line adds no call: it replaces one
    } else ctx.messages.set(CALL_ROW + key, { out: 0, row: -1 });
  }
  const rec = newRecord(ctx.file, line);
  rec.supersedes = supersedes;
  if (key) rec.messageKey = CALL_ROW + key;
  const input = tokenCount(rec, a, ['gen_ai.usage.input_tokens', 'gen_ai.usage.prompt_tokens']) ?? 0;
  const cacheRead = tokenCount(rec, a, ['gen_ai.usage.cache_read.input_tokens', 'gen_ai.usage.cache_read_input_tokens']) ?? 0;
  const cacheWrite = tokenCount(rec, a, ['gen_ai.usage.cache_creation.input_tokens', 'gen_ai.usage.cache_creation_input_tokens']) ?? 0;
  // OTel GenAI: input_tokens INCLUDES cached tokens (reads and writes). Some instrumentations still write the
  // Anthropic (exclusive) count; a total smaller than its cached parts can only mean that, so it is read as such.
  if (input >= cacheRead + cacheWrite) rec.inputTokens = input - cacheRead - cacheWrite;
  else {
    rec.inputTokens = input;
    problem(`gen_ai.usage.input_tokens (${input}) is smaller than its cached parts (${cacheRead + cacheWrite}): read as uncached input (exclusive convention)`, 'warning');
  }
  rec.cacheReadTokens = cacheRead;
  rec.cacheWriteTokens = cacheWrite;
  rec.outputTokens = tokenCount(rec, a, ['gen_ai.usage.output_tokens', 'gen_ai.usage.completion_tokens']) ?? 0;
  rec.reasoningTokens = tokenCount(rec, a, ['gen_ai.usage.reasoning.output_tokens', 'gen_ai.usage.reasoning_tokens']) ?? 0;
  rec.model = toStr(a['gen_ai.response.model']) ?? toStr(a['gen_ai.request.model']);
  rec.provider = toStr(a['gen_ai.provider.name']) ?? toStr(a['gen_ai.system']);
  rec.id = s.spanId;
  rec.traceId = s.traceId;
  rec.parentId = s.parentId;
  // "0" (protobuf's unset) is no time, not an unreadable one.
  rec.tsMs = readTime(rec, s.start === '0' ? undefined : s.start);
  if (Number.isFinite(s.startMs) && Number.isFinite(s.endMs) && s.endMs >= s.startMs) rec.latencyMs = s.endMs - s.startMs;
  rec.error = s.error ?? toStr(a['error.type']);
  const cost = readCost(first(a, ['gen_ai.usage.cost', 'llm.usage.cost', 'cost_usd', 'cost']));
  if (cost !== undefined) rec.recordedCostUsd = cost;
  const op = toStr(a['gen_ai.operation.name']);
  if (op) rec.tags['gen_ai.operation.name'] = op;
  for (const [k, v] of Object.entries(a)) {
    if (k.startsWith('gen_ai.request.') || k.startsWith('gen_ai.response.') || k.startsWith('gen_ai.usage.')) continue;
    if (k === 'gen_ai.system' || k === 'gen_ai.provider.name' || k === 'gen_ai.operation.name' || k.startsWith('code.')) continue;
    applyTag(rec, k, v);
  }
  applyTags(rec, s.extraTags, { skipKnown: false });
  rec.callsite = readCallSite(a);
  emit(rec, true);
  return true;
}

function readOtlp(obj: JsonObject, line: number, ctx: NormalizeContext, emit: (r: CallRecord, inc?: boolean) => void, problem: (m: string, sev?: Problem['severity']) => void) {
  const spans: SpanView[] = [];
  for (const rs of obj.resourceSpans as unknown[]) {
    if (!isObject(rs)) continue;
    const resAttrs = flattenOtlpAttributes(isObject(rs.resource) ? rs.resource.attributes : undefined);
    const extra: JsonObject = {};
    if (resAttrs['service.name'] !== undefined) extra.service = resAttrs['service.name'];
    if (resAttrs['deployment.environment'] !== undefined) extra.environment = resAttrs['deployment.environment'];
    const scopes = Array.isArray(rs.scopeSpans) ? rs.scopeSpans : Array.isArray(rs.instrumentationLibrarySpans) ? rs.instrumentationLibrarySpans : [];
    for (const ss of scopes as unknown[]) {
      if (!isObject(ss) || !Array.isArray(ss.spans)) continue;
      for (const sp of ss.spans as unknown[]) {
        if (!isObject(sp)) continue;
        const status = isObject(sp.status) ? sp.status : undefined;
        const isError = status && (status.code === 2 || status.code === 'STATUS_CODE_ERROR');
        spans.push({
          spanId: toStr(sp.spanId),
          traceId: toStr(sp.traceId),
          parentId: toStr(sp.parentSpanId),
          name: toStr(sp.name),
          attrs: flattenOtlpAttributes(sp.attributes),
          start: sp.startTimeUnixNano,
          startMs: toEpochMs(sp.startTimeUnixNano),
          endMs: toEpochMs(sp.endTimeUnixNano),
          error: isError ? toStr(status?.message) ?? 'error' : undefined,
          extraTags: extra,
        });
      }
    }
  }
  const { calls, rollups } = leafCallSpans(spans);
  noteRollups(rollups, ctx);
  let found = 0;
  for (const s of calls) if (spanToRecord(s, line, ctx, emit, problem)) found++;
  if (found === 0) ctx.ignored++;
}

/** The OpenTelemetry console exporter's span objects: flat `attributes`, `context.{trace_id,span_id}`. */
function readConsoleSpan(obj: JsonObject, line: number, ctx: NormalizeContext, emit: (r: CallRecord, inc?: boolean) => void, problem: (m: string, sev?: Problem['severity']) => void) {
  const c = isObject(obj.context) ? obj.context : {};
  const status = isObject(obj.status) ? obj.status : undefined;
  const span: SpanView = {
    spanId: toStr(c.span_id ?? obj.span_id),
    traceId: toStr(c.trace_id ?? obj.trace_id),
    parentId: toStr(obj.parent_id),
    name: toStr(obj.name),
    attrs: obj.attributes as JsonObject,
    start: obj.start_time,
    startMs: toEpochMs(obj.start_time),
    endMs: toEpochMs(obj.end_time),
    error: status && status.status_code === 'ERROR' ? toStr(status.description) ?? 'error' : undefined,
    extraTags: isObject(obj.resource) && isObject(obj.resource.attributes) && obj.resource.attributes['service.name'] !== undefined
      ? { service: obj.resource.attributes['service.name'] }
      : {},
  };
  if (!hasOtelUsage(span.attrs) || NON_CALL_OPERATIONS.has(String(span.attrs['gen_ai.operation.name'] ?? '')) || !spanToRecord(span, line, ctx, emit, problem)) ctx.ignored++;
}

// --- A workspace's own mapping -------------------------------------------------------------------------------------

function readMapped(obj: JsonObject, line: number, ctx: NormalizeContext, emit: (r: CallRecord, inc?: boolean) => void): boolean {
  const m = ctx.mapping!;
  const num = (p?: string) => (p ? toNumber(getPath(obj, p)) : undefined);
  const input = num(m.inputTokens);
  const output = num(m.outputTokens);
  const cost = m.costUsd ? readCost(getPath(obj, m.costUsd)) : undefined;
  if (input === undefined && output === undefined && cost === undefined) return false;
  const rec = newRecord(ctx.file, line);
  const cacheRead = num(m.cacheReadTokens) ?? 0;
  const cacheWrite = num(m.cacheWriteTokens) ?? 0;
  rec.inputTokens = m.inputIncludesCache ? (input ?? 0) - cacheRead - cacheWrite : input ?? 0;
  rec.cacheReadTokens = cacheRead;
  rec.cacheWriteTokens = cacheWrite;
  rec.outputTokens = output ?? 0;
  rec.reasoningTokens = num(m.reasoningTokens) ?? 0;
  rec.recordedCostUsd = cost;
  const s = (p?: string) => (p ? toStr(getPath(obj, p)) : undefined);
  rec.model = s(m.model);
  rec.provider = s(m.provider);
  rec.tsMs = m.timestamp ? readTime(rec, getPath(obj, m.timestamp)) : NaN;
  rec.id = s(m.id);
  rec.traceId = s(m.traceId);
  for (const d of ['feature', 'user', 'agent', 'template', 'tool'] as const) {
    const v = s(m[d]);
    if (v) rec.dims[d] = v;
  }
  emit(rec, !!m.inputIncludesCache);
  return true;
}
