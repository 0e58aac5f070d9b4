import * as vscode from 'vscode';
import { select, stats } from '../core/analysis';
import { budgetBadge } from '../core/budgets';
import { formatGroupCost, plural, statusBarText } from '../core/format';
import type { SignalsService } from './signals';
import { rangeLabel, rangeShort } from '../core/timeRange';
import { Disposable } from '../util/disposable';
import type { TraceStore } from './traceStore';
import type { ViewState } from './viewState';
import { statusWithUnread, type TotalFigures, unpricedLine, unreadText } from '../views/viewText';

/** Shows the spend of the selected range; a click opens the cost view. */
export class StatusBar extends Disposable {
  readonly item = this._register(vscode.window.createStatusBarItem('llmCostLens.status', vscode.StatusBarAlignment.Left, 50));

  constructor(
    private readonly store: TraceStore,
    private readonly view: ViewState,
    private readonly signals?: SignalsService,
    /** The range's figures when something already keeps them (the tree's index); else computed here. */
    private readonly totals?: () => TotalFigures | undefined,
    /** The big file whose first level (and so `totals`) is shown ahead of its columns, if one is. */
    private readonly ahead?: () => string | undefined,
  ) {
    super();
    this._register(store.onDidPreview(() => this.update()));
    if (signals) this._register(signals.onDidChange(() => this.update()));
    this.item.name = 'LLM Cost Lens';
    this.item.command = 'llmCostLens.openDashboard';
    this._register(store.onDidChange(() => this.update()));
    this._register(view.onDidChange(() => this.update()));
    this.update();
  }

  update(): void {
    const unread = unreadText(this.store.unreadFiles());
    const unreadMd = unread ? `$(warning) **${unread.text}** (${escapeMd(unread.detail)}), their calls are not counted (Refresh reads them again):\n\n${unread.lines.map((l) => `- ${escapeMd(l)}`).join('\n')}` : '';
    const ahead = this.ahead?.();
    if ((!this.store.ready || this.store.paths().length === 0) && !ahead) {
      if (this.store.ready && unread) {
        // No file read at all, some found: say so rather than hide.
        this.item.text = `$(warning) ${unread.text}`;
        this.item.backgroundColor = undefined;
        this.item.tooltip = new vscode.MarkdownString(`${unreadMd}\n\nClick to read the trace files again.`, true);
        this.item.command = 'llmCostLens.refresh';
        this.item.accessibilityInformation = { label: `LLM Cost Lens: ${unread.text}` };
        this.item.show();
      } else this.item.hide();
      return;
    }
    this.item.command = 'llmCostLens.openDashboard';
    const s = this.totals ? this.totals() : stats(select(this.store.tables(), { sinceMs: this.view.sinceMs() }), this.view.costSource);
    if (!s) return; // the figures are being regrouped: the item keeps its text until they are ready
    const budget = this.signals?.worstBudget();
    const n = this.store.unreadFiles().length;
    this.item.text = statusWithUnread(statusBarText(s, rangeShort(this.view.range)), n) + (budget ? ` · budget ${budgetBadge(budget)}` : '');
    this.item.backgroundColor = budget && budget.level !== 'ok' ? new vscode.ThemeColor(budget.level === '100' ? 'statusBarItem.errorBackground' : 'statusBarItem.warningBackground') : undefined;
    const md = new vscode.MarkdownString(
      `**LLM spend, ${rangeLabel(this.view.range)}:** ${formatGroupCost(s)} over ${plural(s.calls, 'call')}` +
        (unread ? `\n\n${unreadMd}` : '') +
        (s.unpricedCalls ? `\n\n$(warning) ${unpricedLine(s.unpricedCalls)}` : '') +
        (this.signals?.budgets.length ? `\n\n${this.signals.budgets.map((b) => `- ${escapeMd(b.text)}`).join('\n')}` : '') +
        (ahead ? `\n\nReading ${escapeMd(this.store.displayName(ahead))}: its calls are counted, their details are on their way.` : '') +
        `\n\nFrom ${plural(this.store.paths().length + (ahead && !this.store.has(ahead) ? 1 : 0), 'trace file')}. Click to open the dashboard.`,
      true,
    );
    this.item.tooltip = md;
    this.item.accessibilityInformation = { label: `LLM spend ${rangeLabel(this.view.range)}: ${formatGroupCost(s)}${unread ? `; ${unread.text}` : ''}` };
    this.item.show();
  }
}

function escapeMd(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>$]/g, '\\$&');
}
