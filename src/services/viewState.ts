import * as vscode from 'vscode';
import { isTimeRange, msToNextMinute, rollingRangeStart, type TimeRange } from '../core/timeRange';
import type { CostSource } from '../core/types';
import { Disposable } from '../util/disposable';

const GROUP_KEY = 'llmCostLens.view.groupBy';
const RANGE_KEY = 'llmCostLens.view.timeRange';
export const DEFAULT_GROUP_BY = ['feature', 'user', 'model'];

/** The time source of a ViewState (tests pass a fake one). */
export interface ViewClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemClock: ViewClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * What the views show: grouping order, time range and cost source. Settings give the defaults; choices made from the
 * view's title bar are kept for the workspace and win until the setting changes.
 *
 * A rolling range (24h, 7d, 30d) starts at a whole minute (`sinceMs()` is the same all through a minute) and moves on
 * by itself: while one is selected, a timer set to the next minute boundary fires `onDidChange` when `sinceMs()` moved,
 * with or without new calls.
 */
export class ViewState extends Disposable {
  private readonly _onDidChange = this._register(new vscode.EventEmitter<void>());
  /** Fires when the grouping, the range, the cost source or the start of a rolling range (each minute) changed. */
  readonly onDidChange = this._onDidChange.event;
  private timer: unknown;
  private timedStart: number | undefined;

  constructor(
    private readonly ctx: Pick<vscode.ExtensionContext, 'workspaceState'>,
    private readonly clock: ViewClock = systemClock,
  ) {
    super();
    this._register(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('llmCostLens.tree.groupBy')) {
          this.sessionGroupBy = undefined;
          void this.ctx.workspaceState.update(GROUP_KEY, undefined).then(() => this.changed());
        }
        else if (e.affectsConfiguration('llmCostLens.timeRange')) void this.ctx.workspaceState.update(RANGE_KEY, undefined).then(() => this.changed());
        else if (e.affectsConfiguration('llmCostLens.costSource')) this.changed();
      }),
    );
    this._register({ dispose: () => this.stopTimer() });
    this.startTimer();
  }

  private get config() {
    return vscode.workspace.getConfiguration('llmCostLens');
  }

  /** A grouping for this window only (set to reveal a path in the tree), over the one saved for the workspace. */
  private sessionGroupBy: string[] | undefined;

  get groupBy(): string[] {
    const chosen = this.sessionGroupBy ?? this.ctx.workspaceState.get<string[]>(GROUP_KEY);
    const dims = chosen ?? this.config.get<string[]>('tree.groupBy', DEFAULT_GROUP_BY);
    const clean = Array.isArray(dims) ? dims.filter((d) => typeof d === 'string' && d.trim()).map((d) => d.trim()) : [];
    return clean.length ? clean : DEFAULT_GROUP_BY;
  }

  /** Groups the tree by `dims`: saved for the workspace, or (persist: false) for this window only. */
  async setGroupBy(dims: string[], opts: { persist?: boolean } = {}): Promise<void> {
    if (opts.persist === false) this.sessionGroupBy = dims;
    else {
      this.sessionGroupBy = undefined;
      await this.ctx.workspaceState.update(GROUP_KEY, dims);
    }
    this.changed();
  }

  get range(): TimeRange {
    const chosen = this.ctx.workspaceState.get<string>(RANGE_KEY);
    if (isTimeRange(chosen)) return chosen;
    const r = this.config.get<string>('timeRange', '7d');
    return isTimeRange(r) ? r : '7d';
  }

  async setRange(r: TimeRange): Promise<void> {
    await this.ctx.workspaceState.update(RANGE_KEY, r);
    this.changed();
  }

  get costSource(): CostSource {
    const s = this.config.get<string>('costSource', 'auto');
    return s === 'recorded' || s === 'computed' ? s : 'auto';
  }

  /**
   * Start of the range now, floored to the whole minute: the same value all through a minute; `onDidChange` fires when
   * it moves on. Undefined for all time.
   */
  sinceMs(): number | undefined {
    return rollingRangeStart(this.range, this.clock.now());
  }

  /** True while the minute timer runs (a rolling range is selected). */
  get ticking(): boolean {
    return this.timer !== undefined;
  }

  private changed() {
    this.startTimer();
    this._onDidChange.fire();
  }

  /** (Re)arms the timer for the next minute boundary while the range is rolling; stops it otherwise. */
  private startTimer() {
    this.stopTimer();
    this.timedStart = this.sinceMs();
    if (this.isDisposed || this.timedStart === undefined) return;
    this.timer = this.clock.setTimeout(() => this.tick(), msToNextMinute(this.clock.now()));
  }

  private stopTimer() {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private tick() {
    this.timer = undefined;
    const before = this.timedStart;
    // A timer that fired a little early finds the same start and waits for the boundary again.
    this.startTimer();
    if (this.timedStart !== before) this._onDidChange.fire();
  }
}
