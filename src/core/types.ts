/**
 * Shared types of the pure core. Units are in the names: `costUsd`, `latencyMs`, `tsMs` (epoch milliseconds, UTC).
 */

/** The canonical dimensions every record is attributed on. Custom tag keys are grouped on as `tag:<key>`. */
export const CANONICAL_DIMS = ['feature', 'user', 'agent', 'template', 'tool', 'provider', 'model'] as const;
export type CanonicalDim = (typeof CANONICAL_DIMS)[number];
/** A dimension: a canonical one, or any other tag key (e.g. `team`, `tag:team`). */
export type Dim = CanonicalDim | string;

/** The label of the group of calls that have no value for a dimension. */
export const UNATTRIBUTED = '(unattributed)';

/**
 * Token counts of one call, normalised to one convention whatever the provider wrote:
 * - `inputTokens` is the UNCACHED input only (it excludes cache reads and cache writes);
 * - `cacheWriteTokens` is every cache write; `cacheWrite1hTokens` is the part of it written with a 1-hour TTL
 *   (the rest is 5-minute writes);
 * - `outputTokens` includes reasoning tokens; `reasoningTokens` is that part of it, for display.
 */
export interface TokenCounts {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  cacheWrite1hTokens: number;
  reasoningTokens: number;
}

/** Where a call was made in the application's source, when the record says so. Line is 1-based. */
export interface CallSite {
  file: string;
  line?: number;
  function?: string;
}

/** Where a record came from: the trace file and the 1-based line its JSON document starts on. */
export interface SourceRef {
  file: string;
  line: number;
}

/** One LLM call, whatever shape it was written in. */
export interface CallRecord extends TokenCounts {
  id?: string;
  traceId?: string;
  parentId?: string;
  /** Start time, epoch ms UTC; NaN when the record has none. */
  tsMs: number;
  provider?: string;
  model?: string;
  /** Cost the application recorded for this call, USD. */
  recordedCostUsd?: number;
  /** Pre-flight estimate the application recorded before the call, USD. */
  estimatedCostUsd?: number;
  latencyMs?: number;
  /** Error text or code when the call failed. */
  error?: string;
  status?: string;
  /** Canonical attribution (feature, user, agent, template, tool). */
  dims: Partial<Record<'feature' | 'user' | 'agent' | 'template' | 'tool', string>>;
  /** Every other tag or metadata key, stringified. */
  tags: Record<string, string>;
  callsite?: CallSite;
  source: SourceRef;
  /**
   * Set when this record is a later, more complete version of a call already emitted under the same key (Claude Code
   * streams one message over several lines; the last carries the final output tokens; an OpenTelemetry span read
   * after its parent span shows the parent summed its usage): the stored row is replaced.
   */
  supersedes?: string;
  /** Where the reading context keeps this record's row once stored (`NormalizeContext.messages`), when not its `id`. */
  messageKey?: string;
}

/** A record or line that was skipped, with why. `line` is 1-based. */
export interface Problem {
  file: string;
  line: number;
  message: string;
  severity: 'error' | 'warning';
}

/** Which cost a report uses: the recorded one when present (`auto`), only recorded, or only computed from prices. */
export type CostSource = 'auto' | 'recorded' | 'computed';
