import * as vscode from 'vscode';
import { unpricedModelCounts } from '../core/analysis';
import type { CallTable } from '../core/callTable';
import { formatCount, notificationText, plural, truncate } from '../core/format';
import { Disposable } from '../util/disposable';
import { ANNOUNCED_MODELS_KEY, announce, DONT_SHOW_AGAIN, memoryState, type NoticeState, shortKey, storedKeys } from './notices';
import { turnOff } from './signals';
import type { StoreChange, TraceStore } from './traceStore';

/** Diagnostics shown per file; more are counted in the Output channel. */
const MAX_DIAGNOSTICS_PER_FILE = 1000;

/**
 * Puts trace problems where users look: malformed lines in the Problems panel, unpriced models as a warning with a
 * quick action to open the prices file, details in the Output channel. The models warned about are kept in `state`
 * (the workspace state): a new window warns only about models not seen before.
 */
export class ProblemsReporter extends Disposable {
  readonly diagnostics = this._register(vscode.languages.createDiagnosticCollection('llmCostLens'));

  constructor(
    private readonly store: TraceStore,
    private readonly log: vscode.OutputChannel,
    private readonly state: NoticeState = memoryState(),
  ) {
    super();
    this._register(store.onDidChange((c) => this.update(c)));
  }

  /** The files with diagnostics in the collection. */
  private readonly flagged = new Set<string>();

  update(change: StoreChange): void {
    for (const p of change.removed) {
      this.diagnostics.delete(vscode.Uri.file(p));
      this.flagged.delete(p);
    }
    const byPath = this.store.statesByPath();
    for (const p of change.changed) {
      const state = byPath.get(p);
      if (!state) continue;
      const diags = state.problems.slice(0, MAX_DIAGNOSTICS_PER_FILE).map((pr) => {
        const line = Math.max(0, pr.line - 1);
        const d = new vscode.Diagnostic(new vscode.Range(line, 0, line, Number.MAX_SAFE_INTEGER), pr.message, pr.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning);
        d.source = 'LLM Cost Lens';
        return d;
      });
      // A file without problems that had none is left alone (2,000 transcripts: ~40 ms of setting nothing).
      if (diags.length || this.flagged.has(p)) this.diagnostics.set(vscode.Uri.file(p), diags);
      if (diags.length) this.flagged.add(p);
      else this.flagged.delete(p);
      const dropped = state.droppedProblems + (state.droppedWarnings ?? 0);
      const more = state.problems.length - diags.length + dropped;
      if (state.problems.length) this.log.appendLine(`[problems] ${state.file}: ${formatCount(state.problems.length + dropped)} line(s) skipped or flagged${more > 0 ? ` (${formatCount(more)} not shown in Problems)` : ''}`);
    }
    void this.warnUnpriced();
  }

  /** Per table: rows already looked at for unpriced models (appended rows only are looked at next time). */
  private readonly scanned = new WeakMap<CallTable, { length: number; edits: number }>();

  private async warnUnpriced(): Promise<void> {
    if (!vscode.workspace.getConfiguration('llmCostLens').get<boolean>('warnUnpriced', true)) return; // rows stay unread for when it is on
    const unpriced = new Map<string, number>();
    const count = (counts: Map<string, number>) => {
      for (const [m, n] of counts) unpriced.set(m, (unpriced.get(m) ?? 0) + n);
    };
    for (const t of this.store.tables()) {
      const seen = this.scanned.get(t);
      // Rows replaced in place since (streamed messages completed) are read again; a reprice reads everything.
      const replaced = seen && seen.edits !== t.edits ? t.replaced.range(seen.edits, t.edits) : undefined;
      const from = seen && (seen.edits === t.edits || replaced) && seen.length <= t.length ? seen.length : 0;
      this.scanned.set(t, { length: t.length, edits: t.edits });
      if (from > 0 && replaced) {
        const rows = new Set<number>();
        for (let j = replaced.from; j < replaced.to; j++) if (t.replaced.row(j) < from) rows.add(t.replaced.row(j));
        for (const r of rows) count(unpricedModelCounts(t, r, r + 1));
      }
      count(unpricedModelCounts(t, from));
    }
    const announced = announce(storedKeys(this.state.get(ANNOUNCED_MODELS_KEY)), [...unpriced.keys()].map(shortKey));
    if (!announced.fresh.length) return;
    void this.state.update(ANNOUNCED_MODELS_KEY, announced.known);
    const freshKeys = new Set(announced.fresh);
    const fresh = [...unpriced].filter(([m]) => freshKeys.has(shortKey(m)));
    const list = fresh.sort((a, b) => b[1] - a[1]).slice(0, 5).map(([m, n]) => `${notificationText(truncate(m, 40))} (${plural(n, 'call')})`).join(', ');
    const prices = this.store.priceBook;
    this.log.appendLine(`[prices] unpriced models: ${fresh.map(([m, n]) => { const why = prices.unpricedReason(m); return `${m} (${n}${why ? `; ${why}` : ''})`; }).join(', ')}`);
    const choice = await vscode.window.showWarningMessage(`LLM Cost Lens: no price for ${list}. These calls are left out of the totals.`, 'Open Prices File', 'Show Output', DONT_SHOW_AGAIN);
    if (choice === 'Open Prices File') await vscode.commands.executeCommand('llmCostLens.openPricesFile', fresh.map(([m]) => m));
    else if (choice === 'Show Output') this.log.show(true);
    else if (choice === DONT_SHOW_AGAIN) await turnOff('warnUnpriced');
  }
}
