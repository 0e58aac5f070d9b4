import * as vscode from 'vscode';
import { isTimeRange, rangeStart, type TimeRange } from '../core/timeRange';
import type { CostSource } from '../core/types';
import { Disposable } from '../util/disposable';

const GROUP_KEY = 'llmCostLens.view.groupBy';
const RANGE_KEY = 'llmCostLens.view.timeRange';
export const DEFAULT_GROUP_BY = ['feature', 'user', 'model'];

/**
 * What the views show: grouping order, time range and cost source. Settings give the defaults; choices made from the
 * view's title bar are kept for the workspace and win until the setting changes.
 */
export class ViewState extends Disposable {
  private readonly _onDidChange = this._register(new vscode.EventEmitter<void>());
  readonly onDidChange = this._onDidChange.event;

  constructor(private readonly ctx: vscode.ExtensionContext) {
    super();
    this._register(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('llmCostLens.tree.groupBy')) void this.ctx.workspaceState.update(GROUP_KEY, undefined).then(() => this._onDidChange.fire());
        else if (e.affectsConfiguration('llmCostLens.timeRange')) void this.ctx.workspaceState.update(RANGE_KEY, undefined).then(() => this._onDidChange.fire());
        else if (e.affectsConfiguration('llmCostLens.costSource')) this._onDidChange.fire();
      }),
    );
  }

  private get config() {
    return vscode.workspace.getConfiguration('llmCostLens');
  }

  get groupBy(): string[] {
    const chosen = this.ctx.workspaceState.get<string[]>(GROUP_KEY);
    const dims = chosen ?? this.config.get<string[]>('tree.groupBy', DEFAULT_GROUP_BY);
    const clean = Array.isArray(dims) ? dims.filter((d) => typeof d === 'string' && d.trim()).map((d) => d.trim()) : [];
    return clean.length ? clean : DEFAULT_GROUP_BY;
  }

  async setGroupBy(dims: string[]): Promise<void> {
    await this.ctx.workspaceState.update(GROUP_KEY, dims);
    this._onDidChange.fire();
  }

  get range(): TimeRange {
    const chosen = this.ctx.workspaceState.get<string>(RANGE_KEY);
    if (isTimeRange(chosen)) return chosen;
    const r = this.config.get<string>('timeRange', '7d');
    return isTimeRange(r) ? r : '7d';
  }

  async setRange(r: TimeRange): Promise<void> {
    await this.ctx.workspaceState.update(RANGE_KEY, r);
    this._onDidChange.fire();
  }

  get costSource(): CostSource {
    const s = this.config.get<string>('costSource', 'auto');
    return s === 'recorded' || s === 'computed' ? s : 'auto';
  }

  /** Start of the range now. */
  sinceMs(): number | undefined {
    return rangeStart(this.range, Date.now());
  }
}
