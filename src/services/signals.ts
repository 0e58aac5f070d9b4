import * as vscode from 'vscode';
import { notificationText } from '../core/format';
import type { Anomaly } from '../core/anomalies';
import { type BudgetLevel, type BudgetStatus, parseBudgets } from '../core/budgets';
import { SignalsWorkerClient } from '../node/signalsWorkerClient';
import type { SignalsJob, SignalsJobResult, SignalsJobResults } from '../node/signalsWorkerJobs';
import { Disposable } from '../util/disposable';
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
 * rolling ranges advance), decorates the views through `onDidChange`, and notifies (throttled, can be turned off) when
 * a new anomaly or a budget threshold appears. The work runs in a worker thread (`run`), as do the commands' outlier,
 * what-if and cost-per-task jobs, so the extension host's event loop stays free on big stores.
 */
export class SignalsService extends Disposable {
  private readonly _onDidChange = this._register(new vscode.EventEmitter<void>());
  readonly onDidChange = this._onDidChange.event;
  anomalies: Anomaly[] = [];
  budgets: BudgetStatus[] = [];
  budgetProblems: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly notified = new Set<string>();
  private lastNotifyMs = 0;
  private readonly budgetLevels = new Map<string, BudgetLevel>();
  /** Counts recomputes started: only the latest one's results are kept. */
  private generation = 0;

  constructor(
    private readonly store: TraceStore,
    private readonly view: ViewState,
    private readonly log: vscode.OutputChannel,
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
      r = await this.run({ kind: 'signals', nowMs, windowDays: WINDOW_DAYS, historyDays: HISTORY_DAYS, dims: ['feature', 'agent', 'user'], source: this.view.costSource, budgets: parsed.budgets });
    } catch (e) {
      if (gen === this.generation) this.log.appendLine(`[signals] ${(e as Error).message}`);
      return;
    }
    if (gen !== this.generation) return;
    this.anomalies = r.anomalies;
    this.budgetProblems = parsed.problems;
    for (const p of parsed.problems) this.log.appendLine(`[budgets] ${p}`);
    this.budgets = r.budgets;
    this.lastDurationMs = Date.now() - t0;
    this.lastRunMs = Date.now();
    this.log.appendLine(`[signals] ${this.anomalies.length} anomal${this.anomalies.length === 1 ? 'y' : 'ies'} in the last ${WINDOW_DAYS} days, ${this.budgets.length} budget(s), in ${Date.now() - t0} ms`);
    this._onDidChange.fire();
    if (cfg.get<boolean>('notifyAnomalies', true)) this.notify(nowMs);
    this.notifyBudgets();
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
    const fresh = this.anomalies.filter((a) => !this.notified.has(anomalyKey(a)));
    for (const a of fresh) this.notified.add(anomalyKey(a));
    if (!fresh.length || nowMs - this.lastNotifyMs < NOTIFY_EVERY_MS) return;
    this.lastNotifyMs = nowMs;
    const first = fresh[0];
    const more = fresh.length > 1 ? ` (and ${fresh.length - 1} more)` : '';
    void vscode.window
      .showWarningMessage(`LLM Cost Lens: ${first.kind === 'model_switch' ? 'model switch' : `cost ${first.kind.replace('_', ' ')}`} in ${first.dim} "${notificationText(clip(first.key))}"${more}.`, 'Show Outliers', 'Open Dashboard', 'Turn Off')
      .then((choice) => {
        if (choice === 'Show Outliers') void vscode.commands.executeCommand('llmCostLens.showOutliers');
        else if (choice === 'Open Dashboard') void vscode.commands.executeCommand('llmCostLens.openDashboard');
        else if (choice === 'Turn Off') void vscode.workspace.getConfiguration('llmCostLens').update('notifyAnomalies', false, vscode.ConfigurationTarget.Global);
      });
  }

  private notifyBudgets() {
    for (const s of this.budgets) {
      const id = `${s.label}@${s.periodStartMs}`;
      const before = this.budgetLevels.get(id) ?? 'ok';
      this.budgetLevels.set(id, s.level);
      if (s.level === 'ok' || rank(s.level) <= rank(before)) continue;
      void vscode.window.showWarningMessage(`LLM Cost Lens: ${s.level}% of the ${s.label} budget used. ${s.text.split(': ').slice(1).join(': ')}`);
    }
  }
}

const rank = (l: BudgetLevel) => (l === 'ok' ? 0 : Number(l));
const anomalyKey = (a: Anomaly) => `${a.kind}|${a.dim}|${a.key}|${a.startMs}`;
const clip = (s: string) => (s.length > 40 ? s.slice(0, 39) + '…' : s);
