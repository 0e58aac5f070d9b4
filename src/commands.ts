import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { CANONICAL_DIMS } from './core/types';
import { formatCacheSavings, formatCount, formatGroupCost, formatPct, formatTokens, formatUsd, utcMinute } from './core/format';
import { newContext, normalizeDocument } from './core/normalize';
import { scanJsonDocuments } from './core/jsonl';
import { sampleTrace } from './core/sampleTrace';
import { TIME_RANGES, type TimeRange, rangeLabel } from './core/timeRange';
import type { TraceStore } from './services/traceStore';
import type { SignalsService } from './services/signals';
import type { ViewState } from './services/viewState';
import type { CostItem, CostTreeProvider } from './views/costTree';
import { modelsInUse, select } from './core/analysis';
import { queryBounds } from './core/dashboard';
import { costliestCalls } from './core/groupTree';
import { WHAT_IF_MODELS } from './core/budgets';
import { DashboardPanel, type DashboardActions } from './panels/dashboardPanel';
import { registerSignalCommands } from './signalCommands';
import { whatIfLabel } from './signalText';
import { errorsText, shareLine } from './views/viewText';
import type { DashboardFilter, DashboardQuery } from './shared/protocol';

export interface CommandDeps {
  signals: SignalsService;
  store: TraceStore;
  view: ViewState;
  tree: CostTreeProvider;
  treeView: vscode.TreeView<CostItem>;
  log: vscode.OutputChannel;
}

/** Routes a command's failure to the Output channel and a short notice (never raw trace text). */
export function handleError(log: vscode.OutputChannel, area: string, err: unknown): void {
  const msg = err instanceof Error ? err.message : String(err);
  log.appendLine(`[${area}] ${err instanceof Error && err.stack ? err.stack : msg}`);
  void vscode.window.showErrorMessage(`LLM Cost Lens: ${area} failed. See the "LLM Cost Lens" output for details.`);
}

const GROUPINGS: { label: string; dims: string[] }[] = [
  { label: 'feature → user → model', dims: ['feature', 'user', 'model'] },
  { label: 'feature → model', dims: ['feature', 'model'] },
  { label: 'model → feature', dims: ['model', 'feature'] },
  { label: 'user → feature → model', dims: ['user', 'feature', 'model'] },
  { label: 'agent → tool → model', dims: ['agent', 'tool', 'model'] },
  { label: 'template → feature', dims: ['template', 'feature'] },
  { label: 'provider → model', dims: ['provider', 'model'] },
];

/** True when a JSONL text's first documents hold LLM calls. */
export function looksLikeTrace(text: string): boolean {
  const bytes = new TextEncoder().encode(text.slice(0, 64 * 1024));
  const scan = scanJsonDocuments(bytes, { offset: 0, line: 1 }, { file: 'sniff', final: false });
  const ctx = newContext('sniff');
  return scan.docs.slice(0, 50).some((d) => normalizeDocument(d.value, d.line, ctx).calls.length > 0);
}

export function registerCommands(ctx: vscode.ExtensionContext, d: CommandDeps): void {
  const reg = (id: string, fn: (...args: never[]) => unknown) =>
    ctx.subscriptions.push(
      vscode.commands.registerCommand(id, async (...args: never[]) => {
        try {
          return await fn(...args);
        } catch (e) {
          handleError(d.log, id.replace('llmCostLens.', ''), e);
          return undefined;
        }
      }),
    );

  reg('llmCostLens.refresh', () => d.store.refresh());

  reg('llmCostLens.focus', () => vscode.commands.executeCommand('llmCostLens.costTree.focus'));

  reg('llmCostLens.groupBy', async (dims?: string[]) => {
    if (Array.isArray(dims) && dims.every((x) => typeof x === 'string')) return d.view.setGroupBy(dims);
    const current = d.view.groupBy.join(' → ');
    const tagKeys = new Set<string>();
    for (const t of d.store.tables()) for (const k of t.tags.keys()) tagKeys.add(k);
    type Pick = vscode.QuickPickItem & { dims?: string[]; custom?: boolean };
    const items: Pick[] = [
      ...GROUPINGS.map((g) => ({ label: g.label, dims: g.dims, description: g.label === current ? 'current' : undefined })),
      ...[...tagKeys].sort().slice(0, 20).map((k) => ({ label: `${k} → model`, dims: [k, 'model'], description: 'custom tag' })),
      { label: 'Custom order…', custom: true, detail: `any of ${CANONICAL_DIMS.join(', ')} or a tag key, comma-separated` },
    ];
    const pick = await vscode.window.showQuickPick(items, { title: 'Group the cost tree by', placeHolder: `Now: ${current}` });
    if (!pick) return;
    let chosen = pick.dims;
    if (pick.custom) {
      const text = await vscode.window.showInputBox({ title: 'Group by (comma-separated, outermost first)', value: d.view.groupBy.join(', '), validateInput: (v) => (v.split(',').some((s) => s.trim()) ? undefined : 'Name at least one dimension') });
      if (!text) return;
      chosen = text.split(',').map((s) => s.trim()).filter(Boolean);
    }
    if (chosen) await d.view.setGroupBy(chosen);
  });

  reg('llmCostLens.timeRange', async (range?: TimeRange) => {
    if (range && (TIME_RANGES as readonly string[]).includes(range)) return d.view.setRange(range);
    const pick = await vscode.window.showQuickPick(
      TIME_RANGES.map((r) => ({ label: rangeLabel(r), range: r, description: r === d.view.range ? 'current' : undefined })),
      { title: 'Time range' },
    );
    if (pick) await d.view.setRange(pick.range);
  });

  reg('llmCostLens.openCall', async (file: string, line: number) => {
    const path = d.store.paths().find((p) => p === file || p.endsWith('/' + file) || vscode.workspace.asRelativePath(p, (vscode.workspace.workspaceFolders?.length ?? 0) > 1) === file) ?? file;
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(path));
    const pos = new vscode.Position(Math.max(0, line - 1), 0);
    await vscode.window.showTextDocument(doc, { selection: new vscode.Range(pos, pos), preview: true });
  });

  reg('llmCostLens.copyMarkdown', async (item?: CostItem) => {
    const el = item ?? d.treeView.selection[0];
    if (!el || el.kind !== 'group') return;
    const n = el.node;
    const s = n.stats;
    const title = n.path.map((p) => `${p.dim}: ${escapeMd(p.value)}`).join(' › ');
    const share = shareLine(n, n.path.length > 1 ? n.path[n.path.length - 2] : undefined);
    const md = [
      `**${title}** (${rangeLabel(d.view.range)})`,
      '',
      // The cost is the table's header row (Markdown has no table without one), not an empty row.
      `| Cost | ${formatGroupCost(s)}${share ? ` (${escapeMd(share)})` : ''} |`,
      '|---|---:|',
      `| Calls | ${formatCount(s.calls)}${s.unpricedCalls ? ` (${formatCount(s.unpricedCalls)} unpriced)` : ''} |`,
      `| Per call mean / p50 / p95 / p99 | ${formatUsd(s.meanUsd)} / ${formatUsd(s.p50Usd)} / ${formatUsd(s.p95Usd)} / ${formatUsd(s.p99Usd)} |`,
      `| Tokens in / cache read / cache write / out | ${formatTokens(s.inputTokens)} / ${formatTokens(s.cacheReadTokens)} / ${formatTokens(s.cacheWriteTokens)} / ${formatTokens(s.outputTokens)} |`,
      `| Cache hit ratio / savings | ${formatPct(s.cacheHitRatio)} / ${formatCacheSavings(s)} |`,
      `| Errors | ${errorsText(s.errors, s.errorCostUsd)} |`,
      '',
    ].join('\n');
    await vscode.env.clipboard.writeText(md);
    void vscode.window.setStatusBarMessage('LLM Cost Lens: figures copied as Markdown', 3000);
    return md;
  });

  reg('llmCostLens.pickFile', async () => {
    const uris = await vscode.window.showOpenDialog({ canSelectMany: true, openLabel: 'Analyze', filters: { 'Trace files': ['jsonl', 'ndjson', 'json'], 'All files': ['*'] } });
    for (const u of uris ?? []) await d.store.addFile(u.fsPath);
  });

  reg('llmCostLens.analyzeFile', async (uri?: vscode.Uri) => {
    const target = uri ?? vscode.window.activeTextEditor?.document.uri;
    if (!target || target.scheme !== 'file') return;
    await d.store.addFile(target.fsPath);
    await vscode.commands.executeCommand('llmCostLens.costTree.focus');
  });

  reg('llmCostLens.openSettings', () => vscode.commands.executeCommand('workbench.action.openSettings', 'llmCostLens'));

  reg('llmCostLens.writeSample', async () => {
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder) {
      void vscode.window.showWarningMessage('LLM Cost Lens: open a folder first; the sample trace is written into it.');
      return;
    }
    const path = join(folder.uri.fsPath, 'traces', 'llm-cost-lens-sample.jsonl');
    if (!existsSync(path)) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, sampleTrace(Date.now()));
    }
    await d.store.refresh();
    await vscode.commands.executeCommand('llmCostLens.costTree.focus');
    return path;
  });

  reg('llmCostLens.openPricesFile', async (models?: string[]) => {
    const path = d.store.pricesFilePath();
    if (!path) {
      void vscode.window.showWarningMessage('LLM Cost Lens: open a folder to keep a prices file in it, or set llmCostLens.pricesFile.');
      return;
    }
    const current = existsSync(path) ? readFileSync(path, 'utf8') : '';
    let data: Record<string, unknown> = {};
    try {
      data = current.trim() ? JSON.parse(current) : {};
    } catch {
      // Leave a broken file as it is for the user to fix; just open it.
    }
    const missing = (Array.isArray(models) ? models : []).filter((m) => typeof m === 'string' && !(m in data) && m !== '(no model)');
    if (!existsSync(path) || (missing.length && current.trim() && typeof data === 'object')) {
      if (!existsSync(path)) data = { $comment: 'USD per million tokens. Entries here win over the bundled @pydantic/genai-prices catalogue.' };
      // Placeholders stay unpriced (null is not a price) until the user fills them in.
      for (const m of missing) data[m] = { input: null, output: null, cacheRead: null, cacheWrite: null };
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, JSON.stringify(data, null, 2) + '\n');
    }
    await vscode.window.showTextDocument(vscode.Uri.file(path));
  });

  reg('llmCostLens.showOutput', () => d.log.show(true));

  const actions = dashboardActions(d);
  reg('llmCostLens.openDashboard', (item?: CostItem) => {
    const filters = item && item.kind === 'group' ? item.node.path.map((p) => ({ dim: p.dim, value: p.value })) : [];
    return DashboardPanel.createOrShow(ctx, d.store, d.view, actions, filters);
  });
  ctx.subscriptions.push(
    vscode.window.registerWebviewPanelSerializer(DashboardPanel.viewType, {
      deserializeWebviewPanel: async (panel) => DashboardPanel.revive(panel, ctx, d.store, d.view, actions),
    }),
  );
  reg('llmCostLens.openDashboardFiltered', (filters: DashboardFilter[] = []) => DashboardPanel.createOrShow(ctx, d.store, d.view, actions, Array.isArray(filters) ? filters : []));
  reg('llmCostLens.revealInTree', (filters: DashboardFilter[]) => actions.revealInTree(filters));
  registerSignalCommands(d, reg);
}

/** What the dashboard asks of the rest of the extension. */
export function dashboardActions(d: CommandDeps): DashboardActions {
  return {
    async revealInTree(filters) {
      if (!filters.length) {
        // Nothing names a group to reveal (the dashboard's button is disabled then; this is for other callers).
        void vscode.window.showInformationMessage('LLM Cost Lens: filter the dashboard first (select a bar or a table row); the tree then opens at that group.');
        return;
      }
      const dims = filters.map((f) => f.dim);
      const current = d.view.groupBy;
      // For this window only: revealing a path does not change the grouping the workspace keeps.
      if (dims.some((dim, i) => current[i] !== dim)) await d.view.setGroupBy([...dims, ...current.filter((x) => !dims.includes(x))], { persist: false });
      let items = d.tree.allChildren();
      let target: CostItem | undefined;
      for (const f of filters) {
        target = items.find((it) => it.kind === 'group' && it.node.value === f.value);
        if (!target) break;
        items = d.tree.allChildren(target);
      }
      if (target) {
        try {
          await d.treeView.reveal(target, { select: true, focus: true, expand: true });
        } catch {
          void vscode.window.showInformationMessage('LLM Cost Lens: that group is among the smaller ones summed under "more" in the tree.');
        }
      } else void vscode.window.showInformationMessage('LLM Cost Lens: that group has no calls in the tree’s time range.');
    },
    async openCostliest(filters: DashboardFilter[], query: DashboardQuery) {
      const slices = select(d.store.tables(), { ...queryBounds(query, Date.now()), filters });
      const calls = costliestCalls(slices, 20, d.view.costSource);
      if (!calls.length) {
        void vscode.window.showInformationMessage('LLM Cost Lens: no calls match.');
        return;
      }
      const pick = await vscode.window.showQuickPick(
        calls.map((c) => ({
          label: `${formatUsd(c.costUsd)} · ${c.model || '(no model)'}`,
          description: `${Number.isFinite(c.tsMs) ? utcMinute(c.tsMs) : ''}${c.error ? ' · error' : ''}`,
          detail: `${c.file}:${c.line}`,
          call: c,
        })),
        { title: 'Costliest calls', placeHolder: 'Open a record at its line in the trace file' },
      );
      if (pick) await vscode.commands.executeCommand('llmCostLens.openCall', pick.call.file, pick.call.line);
    },
    onDidChangeSignals: d.signals.onDidChange,
    signals() {
      const models = [...new Set([...WHAT_IF_MODELS, ...modelsInUse(d.store.tables())])].filter((m) => d.store.priceBook.resolve(m));
      return {
        anomalies: d.signals.anomalies.slice(0, 50).map((a) => ({ kind: a.kind, dim: a.dim, key: a.key, startMs: a.startMs, text: a.text })),
        budgets: d.signals.budgets.map((b) => ({ label: b.label, level: b.level, usedShare: b.usedShare, text: b.text })),
        whatIfModels: models.slice(0, 60),
        anomalyWindowDays: d.signals.windowDays,
        ...(d.signals.anomaliesAtMs !== undefined ? { anomaliesAtMs: d.signals.anomaliesAtMs } : {}),
      };
    },
    snapshot: (query, nowMs, source) => d.signals.run({ kind: 'dashboard', query, nowMs, source }),
    async whatIf(model, query) {
      const label = whatIfLabel(query.filters, 'these calls');
      const price = d.store.priceBook.resolve(model);
      // In the signals worker: re-pricing a million calls does not block the extension host.
      const w = price && (await d.signals.run({ kind: 'whatIf', query: { ...queryBounds(query, Date.now()), filters: query.filters }, model, price, options: { label, source: d.view.costSource } }));
      if (!w) return `No price for ${model}.`;
      return { model, currentUsd: w.currentUsd, whatIfUsd: w.whatIfUsd, monthlySavingsUsd: w.monthlySavingsUsd, text: w.text };
    },
  };
}

function escapeMd(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}
