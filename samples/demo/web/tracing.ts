/**
 * Tiny LLM call tracer for the web app: every wrapped call appends one JSON line (the same record as
 * app/llm_tracing.py) through a sink set at startup, e.g. `setTraceSink((l) => fs.appendFileSync('traces/app.jsonl', l))`.
 *
 *   interceptCompletion('code-review', traceId, client, params)   // tags one chat completion with a feature
 *   measureLLM('summarize', 'gpt-4.1-mini', () => client.complete(...))   // wraps any call returning { usage }
 *
 * The record's `callsite` is the file and line that called the wrapper, read from the stack.
 * Illustrative code for the LLM Cost Lens demo workspace.
 */

export interface ChatParams {
  model: string;
  messages: { role: 'system' | 'user' | 'assistant'; content: string }[];
  max_tokens?: number;
}

/** Usage as OpenAI-compatible APIs report it: prompt_tokens INCLUDES the cached part. */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number };
  completion_tokens_details?: { reasoning_tokens?: number };
  /** Anthropic-style extras when the gateway passes them through. */
  cache_creation_input_tokens?: number;
}

export interface Completion {
  id: string;
  text: string;
  usage: Usage;
}

export interface ChatClient {
  complete(params: ChatParams): Promise<Completion>;
}

let sink: (line: string) => void = () => {};
let root = '';
let requestUser: string | undefined;

export function setTraceSink(write: (line: string) => void, workspaceRoot: string): void {
  sink = write;
  root = workspaceRoot.replace(/\\/g, '/').replace(/\/?$/, '/');
}

/** Called by the request middleware: the signed-in user the next LLM calls are made for. */
export function setRequestUser(userId: string | undefined): void {
  requestUser = userId;
}

function provider(model: string): string {
  if (model.startsWith('claude')) return 'anthropic';
  if (model.startsWith('gemini')) return 'google';
  return 'openai';
}

/** 'web/review.ts:27' for the function that called the wrapper. */
function callerSite(): string | undefined {
  const frames = (new Error().stack ?? '').split('\n').slice(1);
  // frames[0] is callerSite, frames[1] the wrapper, frames[2] its caller
  const m = /\(?([^()\s]+):(\d+):\d+\)?$/.exec(frames[2] ?? '');
  if (!m) return undefined;
  const file = m[1].replace(/^file:\/\//, '').replace(/\\/g, '/');
  return `${file.startsWith(root) ? file.slice(root.length) : file}:${m[2]}`;
}

let seq = 0;
const newId = (prefix: string) => `${prefix}_${Date.now().toString(36)}${(seq++).toString(36)}`;

function record(model: string, started: number, usage: Usage | undefined, fields: {
  traceId?: string;
  parentId?: string;
  feature: string;
  error?: string;
  callsite?: string;
}): string {
  const cached = usage?.prompt_tokens_details?.cached_tokens ?? 0;
  const write = usage?.cache_creation_input_tokens ?? 0;
  const id = newId('c');
  const rec = {
    ts: new Date(started).toISOString(),
    id,
    trace_id: fields.traceId ?? newId('t'),
    parent_id: fields.parentId,
    provider: provider(model),
    model,
    input_tokens: (usage?.prompt_tokens ?? 0) - cached - write, // canonical: input EXCLUDES cache reads/writes
    output_tokens: usage?.completion_tokens ?? 0,
    cache_read_tokens: cached,
    cache_write_tokens: write,
    reasoning_tokens: usage?.completion_tokens_details?.reasoning_tokens ?? 0,
    latency_ms: Date.now() - started,
    status: fields.error ? 'error' : 'ok',
    error: fields.error,
    metadata: { feature: fields.feature, user_id: requestUser },
    callsite: fields.callsite,
  };
  sink(JSON.stringify(rec) + '\n'); // undefined fields are dropped by JSON.stringify
  return id;
}

const lastCallOfTrace = new Map<string, string>();

/** One chat completion tagged with a feature; calls sharing a trace id are chained by parent_id. */
export async function interceptCompletion(
  feature: string,
  traceId: string,
  client: ChatClient,
  params: ChatParams,
): Promise<Completion> {
  const callsite = callerSite();
  const started = Date.now();
  const parentId = lastCallOfTrace.get(traceId);
  try {
    const res = await client.complete(params);
    lastCallOfTrace.set(traceId, record(params.model, started, res.usage, { traceId, parentId, feature, callsite }));
    return res;
  } catch (e) {
    record(params.model, started, undefined, { traceId, parentId, feature, callsite, error: (e as Error).name });
    throw e;
  }
}

/** Measures any call that resolves to something with `usage`. */
export async function measureLLM<T extends { usage: Usage }>(feature: string, model: string, fn: () => Promise<T>): Promise<T> {
  const callsite = callerSite();
  const started = Date.now();
  const res = await fn();
  record(model, started, res.usage, { feature, callsite });
  return res;
}
