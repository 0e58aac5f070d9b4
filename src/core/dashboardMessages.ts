/**
 * Dashboard messages beside those of src/shared/protocol.ts: a request of the page that failed (reported back so the
 * page never waits forever), and the few extension commands the page may ask the host to run. Like the rest of the
 * protocol, the host checks what the page sends (`parseDashboardCommand`) and the page checks what the host sends.
 */

/** What the page asked for when something failed: the snapshot of a query, an export, a row action, a what-if. */
export const DASHBOARD_REQUESTS = ['snapshot', 'export', 'revealInTree', 'openCostliest', 'whatIf', 'command'] as const;
export type DashboardRequest = (typeof DASHBOARD_REQUESTS)[number];

/** Host → webview: a request failed; `message` says why (shown as text). */
export interface DashboardFailure {
  type: 'failed';
  request: DashboardRequest;
  message: string;
}

/** Commands of the extension the page may run (its empty states and the unpriced banner offer them). */
export const DASHBOARD_COMMANDS = ['pickFile', 'writeSample', 'openSettings', 'openPricesFile', 'showOutput'] as const;
export type DashboardCommand = (typeof DASHBOARD_COMMANDS)[number];

/** Webview → host: run `llmCostLens.<command>`; `models` (openPricesFile) adds placeholders for unpriced models. */
export interface DashboardCommandMessage {
  type: 'command';
  command: DashboardCommand;
  models?: string[];
}

/** Longest failure text shown; longer ones are cut. */
export const MAX_FAILURE_TEXT = 400;

/** Why something failed, as one short line of text (an Error's message, or the value as a string). */
export function failureText(err: unknown): string {
  const raw = err instanceof Error ? err.message : typeof err === 'string' ? err : String(err);
  const line = raw.replace(/\s+/g, ' ').trim() || 'unknown error';
  return line.length > MAX_FAILURE_TEXT ? `${line.slice(0, MAX_FAILURE_TEXT - 1)}…` : line;
}

/** Checks a command message from the webview; undefined when it is not one the host runs. */
export function parseDashboardCommand(m: unknown): DashboardCommandMessage | undefined {
  if (typeof m !== 'object' || m === null) return undefined;
  const msg = m as Record<string, unknown>;
  if (msg.type !== 'command' || !(DASHBOARD_COMMANDS as readonly unknown[]).includes(msg.command)) return undefined;
  const command = msg.command as DashboardCommand;
  if (command !== 'openPricesFile' || msg.models === undefined) return { type: 'command', command };
  const models = msg.models;
  if (!Array.isArray(models) || models.length > 50 || !models.every((x): x is string => typeof x === 'string' && x.length > 0 && x.length <= 200)) return undefined;
  return { type: 'command', command, models };
}

/** Checks a failure message from the host; undefined when malformed. */
export function parseDashboardFailure(m: unknown): DashboardFailure | undefined {
  if (typeof m !== 'object' || m === null) return undefined;
  const msg = m as Record<string, unknown>;
  if (msg.type !== 'failed' || !(DASHBOARD_REQUESTS as readonly unknown[]).includes(msg.request)) return undefined;
  return { type: 'failed', request: msg.request as DashboardRequest, message: typeof msg.message === 'string' ? failureText(msg.message) : 'unknown error' };
}
