import * as vscode from 'vscode';
import type { Anomaly } from '../core/anomalies';
import { notificationText, utcMinute } from '../core/format';
import { type BudgetStatus, parseBudgets } from '../core/budgets';
import { SignalsWorkerClient } from '../node/signalsWorkerClient';
import type { SignalsJob, SignalsJobResult, SignalsJobResults } from '../node/signalsWorkerJobs';
import { Disposable } from '../util/disposable';
import {
  ANNOUNCED_ANOMALIES_KEY,
  ANNOUNCED_BUDGETS_KEY,
  announce,
  anomalyKey,
  anomalyNotice,
  budgetsToAnnounce,
  DONT_SHOW_AGAIN,
  dontShowAgainTarget,
  memoryState,
  type NoticeState,
  storedBudgets,
  storedKeys,
} from './notices';
import type { TraceStore } from './traceStore';
import type { ViewState } from './viewState';

/** Anomalies are looked for in this many days before now (the baselines need two weeks before the window). */
const WINDOW_DAYS = 3;
const HISTORY_DAYS = 21;
const RECOMPUTE_DEBOUNCE_MS = 1500;
/** How often budgets are looked at again when nothing else changes. */
const BUDGET_TICK_MS = 5 * 60_000;
/** At most one anomaly notification in this time. */
const NOTIFY_EVERY_MS = 10 * 60_000;

/**
 * Keeps the recent anomalies and the budgets' burn up to date with the store and the clock (the view state fires as
 * rolling ranges advance), decorates the views through `onDidChange`, and notifies (anomalies throttled; each kind
 * can be turned off) when a new anomaly or a budget threshold appears. What was announced is kept in `state` (the
 * workspace state), so a new window does not announce it again. The work runs in a worker thread (`run`), as do the
 * commands' outlier, what-if and cost-per-task jobs, so the extension host's event loop stays free on big stores.
 */
export class SignalsService extends Disposable {
  private readonly _onDidChange = this._register(new vscode.EventEmitter<void>());
  readonly onDidChange = this._onDidChange.event;
  /** Anomalies are looked for in this many days before now (or before `anomaliesAtMs`). */
  readonly windowDays = WINDOW_DAYS;
  anomalies: Anomaly[] = [];
  /**
   * Set when no call is recent enough for the window that ends now: the anomalies are then those of the days up to the
   * end of the latest call's hour (a trace of last week opened today), shown but never notified.
   */
  anomaliesAtMs: number | undefined;
  budgets: BudgetStatus[] = [];
  budgetProblems: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastNotifyMs = 0;
  /** Counts recomputes started: only the latest one's results are kept. */
  private generation = 0;

  constructor(
    private readonly store: TraceStore,
    private readonly view: ViewState,
    private readonly log: vscode.OutputChannel,
    private readonly state: NoticeState = memoryState(),
    private readonly worker = new SignalsWorkerClient({ onProblem: (m) => log.appendLine(`[signals] ${m}`) }),
  ) {
    super();
    this._register(store.onDidChange(() => this.schedule()));
    this._register(view.onDidChange(() => this.schedule()));
    this._register(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('llmCostLens.budgets')) this.schedule();
      }),
    );
    this._register({ dispose: () => this.timer && clearTimeout(this.timer) });
    this._register({ dispose: () => this.worker.dispose() });
    // Budgets burn pro rata and their periods turn over at midnight, and anomaly windows move on, without any trace
    // change (or view tick, with the range on All time): look again every few minutes while budgets are set.
    const tick = setInterval(() => {
      if (this.budgets.length || this.budgetProblems.length || vscode.workspace.getConfiguration('llmCostLens').get<unknown[]>('budgets', []).length) this.schedule();
    }, BUDGET_TICK_MS);
    this._register({ dispose: () => clearInterval(tick) });
  }

  /** Runs a job over the store's calls in the signals worker (inline when there is none). */
  run<J extends SignalsJob>(job: J): Promise<SignalsJobResult<J>> {
    return this.worker.run(this.store.tables(), job);
  }

  /** Whether jobs run in the worker thread (false: on this thread, the fallback when the worker cannot run). */
  get inWorker(): boolean {
    return !this.worker.inline;
  }

  /** How long the last recompute took: the next one waits at least 20 times that, so big stores stay responsive. */
  private lastDurationMs = 0;
  private lastRunMs = 0;

  private schedule() {
    if (this.timer) clearTimeout(this.timer);
    const wait = Math.max(RECOMPUTE_DEBOUNCE_MS, this.lastRunMs + 20 * this.lastDurationMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.recompute();
    }, wait);
  }

  /**
   * Recomputes now (tests and commands call this instead of waiting for the debounce); resolves once the results are
   * in place and `onDidChange` fired. A recompute started later wins: an earlier one still running is dropped.
   */
  async recompute(nowMs = Date.now()): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const gen = ++this.generation;
    const cfg = vscode.workspace.getConfiguration('llmCostLens');
    const t0 = Date.now();
    const parsed = parseBudgets(cfg.get<unknown>('budgets', []));
    let r: SignalsJobResults['signals'];
    try {
      r = await this.run({ kind: 'signals', nowMs, windowDays: WINDOW_DAYS, historyDays: HISTORY_DAYS, dims: ['feature', 'agent', 'user'], source: this.view.costSource, budgets: parsed.budgets, anchorToLatestCall: true });
    } catch (e) {
      if (gen === this.generation) this.log.appendLine(`[signals] ${(e as Error).message}`);
      return;
    }
    if (gen !== this.generation) return;
    this.anomalies = r.anomalies;
    this.anomaliesAtMs = r.anomaliesAtMs;
    this.budgetProblems = parsed.problems;
    for (const p of parsed.problems) this.log.appendLine(`[budgets] ${p}`);
    this.budgets = r.budgets;
    this.lastDurationMs = Date.now() - t0;
    this.lastRunMs = Date.now();
    const upTo = this.anomaliesAtMs !== undefined ? ` up to ${utcMinute(this.anomaliesAtMs)} UTC (no call since)` : '';
    this.log.appendLine(`[signals] ${this.anomalies.length} anomal${this.anomalies.length === 1 ? 'y' : 'ies'} in the last ${WINDOW_DAYS} days${upTo}, ${this.budgets.length} budget(s), in ${Date.now() - t0} ms`);
    this._onDidChange.fire();
    // Anomalies of days long past are shown, not announced: a notification is for what is happening now.
    if (cfg.get<boolean>('notifyAnomalies', true) && this.anomaliesAtMs === undefined) this.notify(nowMs);
    if (cfg.get<boolean>('notifyBudgets', true)) this.notifyBudgets(nowMs);
  }

  /** Anomalies of one dimension value (for tree decorations). */
  anomaliesFor(dim: string, value: string): Anomaly[] {
    return this.anomalies.filter((a) => a.dim === dim && a.key === value);
  }

  /** The budget set on one dimension value, if any. */
  budgetFor(dim: string, value: string): BudgetStatus | undefined {
    return this.budgets.find((b) => b.budget.scope === dim && b.budget.value === value);
  }

  /** The budget closest to (or furthest past) its limit. */
  worstBudget(): BudgetStatus | undefined {
    return [...this.budgets].sort((a, b) => b.usedShare - a.usedShare)[0];
  }

  private notify(nowMs: number) {
    const { fresh, known } = announce(storedKeys(this.state.get(ANNOUNCED_ANOMALIES_KEY)), this.anomalies.map(anomalyKey));
    if (!fresh.length) return;
    void this.state.update(ANNOUNCED_ANOMALIES_KEY, known);
    // Anomalies found within the throttle time are not announced later: they are in the tree and the dashboard.
    if (nowMs - this.lastNotifyMs < NOTIFY_EVERY_MS) return;
    this.lastNotifyMs = nowMs;
    const freshSet = new Set(fresh);
    const first = this.anomalies.find((a) => freshSet.has(anomalyKey(a)))!;
    void vscode.window.showWarningMessage(anomalyNotice(first, fresh.length), 'Show Outliers', 'Open Dashboard', DONT_SHOW_AGAIN).then((choice) => {
      if (choice === 'Show Outliers') void vscode.commands.executeCommand('llmCostLens.showOutliers');
      else if (choice === 'Open Dashboard') void vscode.commands.executeCommand('llmCostLens.openDashboard');
      else if (choice === DONT_SHOW_AGAIN) void turnOff('notifyAnomalies');
    });
  }

  private notifyBudgets(nowMs: number) {
    const before = storedBudgets(this.state.get(ANNOUNCED_BUDGETS_KEY));
    const r = budgetsToAnnounce(this.budgets, before, nowMs);
    if (r.announce.length || Object.keys(r.stored).length !== Object.keys(before).length) void this.state.update(ANNOUNCED_BUDGETS_KEY, r.stored);
    for (const s of r.announce) {
      // The text is "<label>: $x of $y (…)": the label is said already.
      const detail = s.text.startsWith(`${s.label}: `) ? s.text.slice(s.label.length + 2) : s.text;
      void vscode.window.showWarningMessage(`LLM Cost Lens: ${s.level}% of the ${notificationText(s.label)} budget used. ${notificationText(detail)}.`, DONT_SHOW_AGAIN).then((choice) => {
        if (choice === DONT_SHOW_AGAIN) void turnOff('notifyBudgets');
      });
    }
  }
}

/** Turns a notification setting off where it takes effect (see `dontShowAgainTarget`). */
export function turnOff(setting: 'notifyAnomalies' | 'notifyBudgets' | 'warnUnpriced'): Thenable<void> {
  const cfg = vscode.workspace.getConfiguration('llmCostLens');
  const target = dontShowAgainTarget(cfg.inspect(setting)) === 'workspace' ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  return cfg.update(setting, false, target);
}
