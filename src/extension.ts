import * as vscode from 'vscode';
import { looksLikeTrace, registerCommands } from './commands';
import { ProblemsReporter } from './services/problems';
import { SignalsService } from './services/signals';
import { StatusBar } from './services/statusBar';
import { TraceStore } from './services/traceStore';
import { ViewState } from './services/viewState';
import { CostTreeProvider } from './views/costTree';
import { loadingMessage } from './views/viewText';
import { applyScannerEnv } from './node/scannerEnv';
import { CallSiteIndex, CostLensProvider, showLensDetails } from './lenses/costLens';

/** What `activate` returns: used by the extension-host tests. */
export interface LlmCostLensApi {
  store: TraceStore;
  view: ViewState;
  tree: CostTreeProvider;
  statusBar: StatusBar;
  problems: ProblemsReporter;
  signals: SignalsService;
  sites: CallSiteIndex;
  /** Resolves when the first load finished. */
  ready: Promise<void>;
}

export function activate(ctx: vscode.ExtensionContext): LlmCostLensApi {
  applyScannerEnv();
  const log = vscode.window.createOutputChannel('LLM Cost Lens');
  const store = new TraceStore(ctx, log);
  const view = new ViewState(ctx);
  const signals = new SignalsService(store, view, log, ctx.workspaceState);
  const tree = new CostTreeProvider(store, view, signals);
  const treeView = vscode.window.createTreeView('llmCostLens.costTree', { treeDataProvider: tree, showCollapseAll: true });
  const statusBar = new StatusBar(store, view, signals, () => tree.totals(), () => tree.previewFile());
  ctx.subscriptions.push(tree.onDidChangeTreeData(() => statusBar.update()));
  const problems = new ProblemsReporter(store, log, ctx.workspaceState);
  ctx.subscriptions.push(log, store, view, signals, tree, treeView, statusBar, problems);

  const describe = () => {
    const n = store.paths().length;
    void vscode.commands.executeCommand('setContext', 'llmCostLens.hasTraces', n > 0);
    void vscode.commands.executeCommand('setContext', 'llmCostLens.loaded', store.ready);
    treeView.description = n ? `${view.groupBy.join(' › ')} · ${view.range}` : undefined;
  };
  ctx.subscriptions.push(store.onDidChange(describe), view.onDidChange(describe));
  // While big files are read, the view says how far (the progress notification may be hidden: Do Not Disturb).
  ctx.subscriptions.push(store.onDidLoadProgress(() => (treeView.message = loadingMessage(store.loading()))));

  registerCommands(ctx, { store, view, tree, treeView, log, signals });

  const sites = new CallSiteIndex(store, view, log);
  const lenses = new CostLensProvider(sites);
  const selector = ['python', 'typescript', 'typescriptreact', 'javascript', 'javascriptreact'].map((language) => ({ language, scheme: 'file' }));
  ctx.subscriptions.push(
    sites,
    lenses,
    vscode.languages.registerCodeLensProvider(selector, lenses),
    vscode.commands.registerCommand('llmCostLens.lensDetails', (key: string) => showLensDetails(sites, key, view.costSource)),
  );

  // Offer to analyze a .jsonl that looks like a trace but is not read yet (once per file and session).
  const offered = new Set<string>();
  ctx.subscriptions.push(
    vscode.workspace.onDidOpenTextDocument(async (doc) => {
      if (doc.uri.scheme !== 'file' || !/\.(jsonl|ndjson)$/i.test(doc.fileName) || store.has(doc.fileName) || offered.has(doc.fileName)) return;
      offered.add(doc.fileName);
      if (!looksLikeTrace(doc.getText(new vscode.Range(0, 0, 200, 0)))) return;
      const choice = await vscode.window.showInformationMessage('This file looks like an LLM trace. Analyze its cost?', 'Analyze', 'Not Now');
      if (choice === 'Analyze') await vscode.commands.executeCommand('llmCostLens.analyzeFile', doc.uri);
    }),
  );

  const ready = store.start().then(describe, (e) => log.appendLine(`[store] first load failed: ${(e as Error).stack ?? e}`));
  return { store, view, tree, statusBar, problems, signals, sites, ready };
}

export function deactivate(): void {}
