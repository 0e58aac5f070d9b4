import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { WHAT_IF_MODELS } from './core/budgets';
import { modelsInUse } from './core/analysis';
import { formatUsd, notificationText, plural } from './core/format';
import type { CallOutlier, TraceOutlier } from './core/outliers';
import type { CommandDeps } from './commands';
import type { CostItem } from './views/costTree';
import { outlierCallText, outlierTraceText, whatIfLabel } from './signalText';

/** Shows the window progress while a signals job runs in the worker. */
function withProgress<T>(title: string, task: () => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `LLM Cost Lens: ${title}` }, task);
}

/** The model names the tables' calls ran on (marks interned ids: one pass over an integer column). */
/** Resolves a recorded call site to a workspace file: as given, relative to a folder, or by its path suffix. */
export async function resolveCallSite(file: string): Promise<vscode.Uri | undefined> {
  if (existsSync(file)) return vscode.Uri.file(file);
  for (const f of vscode.workspace.workspaceFolders ?? []) {
    const p = join(f.uri.fsPath, file);
    if (existsSync(p)) return vscode.Uri.file(p);
  }
  const name = file.split(/[\\/]/).pop();
  if (!name) return undefined;
  const found = await vscode.workspace.findFiles(`**/${name}`, '**/node_modules/**', 50);
  const want = file.replace(/\\/g, '/').split('/').filter(Boolean);
  let best: { uri: vscode.Uri; score: number } | undefined;
  let tie = false;
  for (const u of found) {
    const have = u.fsPath.replace(/\\/g, '/').split('/');
    let score = 0;
    while (score < want.length && score < have.length && want[want.length - 1 - score] === have[have.length - 1 - score]) score++;
    if (!best || score > best.score) [best, tie] = [{ uri: u, score }, false];
    else if (score === best.score) tie = true;
  }
  return best && !tie ? best.uri : undefined;
}

export function registerSignalCommands(d: CommandDeps, reg: (id: string, fn: (...args: never[]) => unknown) => void): void {
  reg('llmCostLens.showOutliers', async (item?: CostItem) => {
    const filters = item && item.kind === 'group' ? item.node.path.map((p) => ({ dim: p.dim, value: p.value })) : [];
    const dim = filters.length && filters[filters.length - 1].dim === 'feature' ? 'user' : 'feature';
    const query = { sinceMs: d.view.sinceMs(), filters };
    const r = await withProgress('finding outliers', () => d.signals.run({ kind: 'outliers', query, options: { dim, source: d.view.costSource } }));
    type Pick = vscode.QuickPickItem & { o?: CallOutlier | TraceOutlier };
    const items: Pick[] = [];
    if (r.traces.length) items.push({ label: 'Runaway or retrying traces', kind: vscode.QuickPickItemKind.Separator });
    const now = Date.now();
    for (const t of r.traces) items.push({ ...outlierTraceText(t, now), o: t });
    if (r.calls.length) items.push({ label: `Outlier calls within their ${dim}`, kind: vscode.QuickPickItemKind.Separator });
    for (const c of r.calls) items.push({ ...outlierCallText(c, now), o: c });
    if (!items.length) {
      void vscode.window.showInformationMessage(`LLM Cost Lens: no outliers in the ${filters.length ? 'selected group' : 'calls'} of the time range. ${r.headline.split('. ')[0]}.`);
      return;
    }
    const pick = await vscode.window.showQuickPick(items, { title: r.headline, placeHolder: 'Open a record at its line (and its call site when known)', matchOnDetail: true });
    if (!pick?.o) return;
    await vscode.commands.executeCommand('llmCostLens.openCall', pick.o.file, pick.o.line);
    if (pick.o.callsite) {
      const uri = await resolveCallSite(pick.o.callsite.file);
      if (uri) {
        const line = Math.max(0, (pick.o.callsite.line ?? 1) - 1);
        await vscode.window.showTextDocument(uri, { viewColumn: vscode.ViewColumn.Beside, selection: new vscode.Range(line, 0, line, 0), preserveFocus: true });
      }
    }
    return r;
  });

  reg('llmCostLens.costPerTask', async (item?: CostItem) => {
    const filters = item && item.kind === 'group' ? item.node.path.map((p) => ({ dim: p.dim, value: p.value })) : [];
    const dim = filters.length && filters[filters.length - 1].dim === 'feature' ? 'agent' : 'feature';
    const query = { sinceMs: d.view.sinceMs(), filters };
    const tasks = await withProgress('adding up the cost per task', () => d.signals.run({ kind: 'taskCosts', query, options: { dim, source: d.view.costSource } }));
    if (!tasks.length) {
      void vscode.window.showInformationMessage('LLM Cost Lens: no calls with a trace id in this range, so no tasks to add up.');
      return;
    }
    await vscode.window.showQuickPick(
      tasks.map((t) => ({
        label: `${t.key}: ${formatUsd(t.costPerSuccessUsd)} per successful task`,
        description: `${plural(t.tasks, 'task')} · p50 ${formatUsd(t.p50Usd)} · p95 ${formatUsd(t.p95Usd)}`,
        detail: `failed calls ${formatUsd(t.failedCallsUsd)} · retries ${formatUsd(t.retryUsd)}${t.callsWithoutTask ? ` · ${plural(t.callsWithoutTask, 'call')} without a trace id` : ''}`,
      })),
      { title: `Cost per task (calls grouped by trace id) by ${dim}`, placeHolder: 'p50/p95 per task, the cost of failed calls and of retries' },
    );
    return tasks;
  });

  reg('llmCostLens.whatIf', async (item?: CostItem, target?: string) => {
    const filters = item && item.kind === 'group' ? item.node.path.map((p) => ({ dim: p.dim, value: p.value })) : [];
    const query = { sinceMs: d.view.sinceMs(), filters };
    let model = target;
    if (!model) {
      const options = [...new Set([...WHAT_IF_MODELS, ...modelsInUse(d.store.tables())])].filter((m) => d.store.priceBook.resolve(m));
      model = await vscode.window.showQuickPick(options, { title: `What if ${filters.length ? filters.map((f) => `${f.dim} ${f.value}`).join(' › ') : 'all calls'} ran on…`, placeHolder: 'a model to re-price the recorded tokens under' });
    }
    if (!model) return;
    const label = whatIfLabel(filters, 'all calls');
    const price = d.store.priceBook.resolve(model);
    const chosen = model;
    const w = price && (await withProgress(`re-pricing under ${model}`, () => d.signals.run({ kind: 'whatIf', query, model: chosen, price, options: { label, source: d.view.costSource } })));
    if (!w) {
      void vscode.window.showWarningMessage(`LLM Cost Lens: no price for ${notificationText(model)}.`);
      return;
    }
    void vscode.window.showInformationMessage(`LLM Cost Lens: ${notificationText(w.text)}.`);
    return w;
  });

}
