import * as vscode from 'vscode';
import { type GroupStats, select, stats } from '../core/analysis';
import { formatCount, formatGroupCost, formatPct, statusBarText } from '../core/format';
import type { SignalsService } from './signals';
import { rangeLabel, rangeShort } from '../core/timeRange';
import { Disposable } from '../util/disposable';
import type { TraceStore } from './traceStore';
import type { ViewState } from './viewState';

/** Shows the spend of the selected range; a click opens the cost view. */
export class StatusBar extends Disposable {
  readonly item = this._register(vscode.window.createStatusBarItem('llmCostLens.status', vscode.StatusBarAlignment.Left, 50));

  constructor(
    private readonly store: TraceStore,
    private readonly view: ViewState,
    private readonly signals?: SignalsService,
    /** The range's figures when something already keeps them (the tree's index); else computed here. */
    private readonly totals?: () => GroupStats | undefined,
  ) {
    super();
    if (signals) this._register(signals.onDidChange(() => this.update()));
    this.item.name = 'LLM Cost Lens';
    this.item.command = 'llmCostLens.openDashboard';
    this._register(store.onDidChange(() => this.update()));
    this._register(view.onDidChange(() => this.update()));
    this.update();
  }

  update(): void {
    if (!this.store.ready || this.store.paths().length === 0) {
      this.item.hide();
      return;
    }
    const s = this.totals ? this.totals() : stats(select(this.store.tables(), { sinceMs: this.view.sinceMs() }), this.view.costSource);
    if (!s) return; // the figures are being regrouped: the item keeps its text until they are ready
    const budget = this.signals?.worstBudget();
    this.item.text = statusBarText(s, rangeShort(this.view.range)) + (budget ? ` · budget ${formatPct(budget.usedShare)}` : '');
    this.item.backgroundColor = budget && budget.level !== 'ok' ? new vscode.ThemeColor(budget.level === '100' ? 'statusBarItem.errorBackground' : 'statusBarItem.warningBackground') : undefined;
    const md = new vscode.MarkdownString(
      `**LLM spend, ${rangeLabel(this.view.range)}:** ${formatGroupCost(s)} over ${formatCount(s.calls)} calls` +
        (s.unpricedCalls ? `\n\n$(warning) ${formatCount(s.unpricedCalls)} calls have no price and are not counted` : '') +
        (this.signals?.budgets.length ? `\n\n${this.signals.budgets.map((b) => `- ${escapeMd(b.text)}`).join('\n')}` : '') +
        `\n\nFrom ${formatCount(this.store.paths().length)} trace file(s). Click to open the dashboard.`,
      true,
    );
    this.item.tooltip = md;
    this.item.accessibilityInformation = { label: `LLM spend ${rangeLabel(this.view.range)}: ${formatGroupCost(s)}` };
    this.item.show();
  }
}

function escapeMd(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>$]/g, '\\$&');
}
