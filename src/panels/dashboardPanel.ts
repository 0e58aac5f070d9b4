import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as vscode from 'vscode';
import { buildDashboardSnapshot, queryBounds } from '../core/dashboard';
import { type DashboardCommandMessage, type DashboardFailure, type DashboardRequest, failureText, parseDashboardCommand } from '../core/dashboardMessages';
import type { DashboardEnv, DashboardSnapshot } from '../core/dashboardModel';
import type { CostSource } from '../core/types';
import { plural, renderCsv, renderMarkdown } from '../core/format';
import { buildReport } from '../core/report';
import { explainUnpriced } from '../core/pricing';
import { type DashboardFilter, type DashboardQuery, type DashboardSignals, type FromWebview, parseFromWebview, type ToWebview, type WhatIfAnswer } from '../shared/protocol';
import type { TraceStore } from '../services/traceStore';
import type { ViewState } from '../services/viewState';
import { Disposable } from '../util/disposable';
import { dashboardHtml } from '../util/webviewHtml';

/** Live updates are coalesced to at most one snapshot per this many ms. */
const UPDATE_THROTTLE_MS = 250;

/** Actions the panel asks the rest of the extension to perform, and the signals it shows. */
export interface DashboardActions {
  revealInTree(filters: DashboardFilter[]): Promise<void>;
  openCostliest(filters: DashboardFilter[], query: DashboardQuery): Promise<void>;
  /** Anomalies, budgets and what-if models for the view. */
  signals(): DashboardSignals | undefined;
  /** Fires when the signals change. */
  onDidChangeSignals?: vscode.Event<void>;
  whatIf(model: string, query: DashboardQuery): Promise<WhatIfAnswer | string>;
  /** Builds a snapshot off the extension host (the signals worker); without it the panel builds it inline. */
  snapshot?(query: DashboardQuery, nowMs: number, source: CostSource): Promise<DashboardSnapshot>;
}

/**
 * The dashboard: one webview panel, revived after a reload. The host computes aggregates in the core and sends a
 * snapshot; the webview draws it and asks for other queries. No data goes into the HTML.
 */
export class DashboardPanel extends Disposable {
  static readonly viewType = 'llmCostLens.dashboard';
  private static current: DashboardPanel | undefined;

  private query: DashboardQuery;
  private timer: NodeJS.Timeout | undefined;
  /** The last snapshot's size in bytes (for tests and the output log). */
  lastMessageBytes = 0;
  private readonly _onDidPost = this._register(new vscode.EventEmitter<HostMessage>());
  /** Fires after each message posted to the webview (used by tests). */
  readonly onDidPost = this._onDidPost.event;

  static createOrShow(ctx: vscode.ExtensionContext, store: TraceStore, view: ViewState, actions: DashboardActions, filters: DashboardFilter[] = []): DashboardPanel {
    const column = vscode.window.activeTextEditor ? vscode.ViewColumn.Beside : vscode.ViewColumn.One;
    const existing = DashboardPanel.current;
    if (existing) {
      existing.panel.reveal(column);
      if (filters.length) existing.setQuery({ ...existing.query, filters });
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(DashboardPanel.viewType, 'LLM Cost Dashboard', column, DashboardPanel.options(ctx));
    DashboardPanel.current = new DashboardPanel(panel, ctx, store, view, actions, filters);
    return DashboardPanel.current;
  }

  static revive(panel: vscode.WebviewPanel, ctx: vscode.ExtensionContext, store: TraceStore, view: ViewState, actions: DashboardActions): void {
    panel.webview.options = DashboardPanel.options(ctx);
    DashboardPanel.current = new DashboardPanel(panel, ctx, store, view, actions, []);
  }

  static get instance(): DashboardPanel | undefined {
    return DashboardPanel.current;
  }

  private static options(ctx: vscode.ExtensionContext): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(ctx.extensionUri, 'dist'), vscode.Uri.joinPath(ctx.extensionUri, 'media')],
    };
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly ctx: vscode.ExtensionContext,
    private readonly store: TraceStore,
    view: ViewState,
    private readonly actions: DashboardActions,
    filters: DashboardFilter[],
  ) {
    super();
    const range = view.range;
    this.query = { range, groupBy: view.groupBy[0] ?? 'feature', filters };
    panel.iconPath = vscode.Uri.joinPath(ctx.extensionUri, 'media', 'icon.svg');
    panel.webview.html = this.html();
    this._register(panel.onDidDispose(() => this.dispose()));
    this._register(panel.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m)));
    this._register(store.onDidChange(() => this.scheduleUpdate()));
    if (actions.onDidChangeSignals) this._register(actions.onDidChangeSignals(() => this.scheduleUpdate()));
    this._register({ dispose: () => this.timer && clearTimeout(this.timer) });
  }

  override dispose(): void {
    if (DashboardPanel.current === this) DashboardPanel.current = undefined;
    this.panel.dispose();
    super.dispose();
  }

  /** The query shown now. */
  get currentQuery(): DashboardQuery {
    return this.query;
  }

  /** Shows another query: the page says it is updating until the snapshot (or why there is none) arrives. */
  setQuery(q: DashboardQuery): void {
    this.query = q;
    this.post({ type: 'loading', loading: true });
    void this.postSnapshot();
  }

  private html(): string {
    const w = this.panel.webview;
    return dashboardHtml({
      cspSource: w.cspSource,
      nonce: randomBytes(18).toString('base64'),
      scriptUri: w.asWebviewUri(vscode.Uri.joinPath(this.ctx.extensionUri, 'dist', 'webview.js')).toString(),
      styleUri: w.asWebviewUri(vscode.Uri.joinPath(this.ctx.extensionUri, 'media', 'dashboard.css')).toString(),
    });
  }

  private scheduleUpdate() {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.postSnapshot();
    }, UPDATE_THROTTLE_MS);
  }

  private post(m: HostMessage) {
    void this.panel.webview.postMessage(m).then(() => this._onDidPost.fire(m));
  }

  /** The snapshot being built, and whether another was asked for meanwhile (one at a time; requests coalesce). */
  private building: Promise<void> | undefined;
  private again = false;

  private postSnapshot(): Promise<void> {
    if (this.building) {
      this.again = true;
      return this.building;
    }
    this.building = (async () => {
      do {
        this.again = false;
        const query = this.query;
        try {
          const source = vscode.workspace.getConfiguration('llmCostLens').get<CostSource>('costSource', 'auto');
          const now = Date.now();
          let snapshot: DashboardSnapshot;
          try {
            snapshot = this.actions.snapshot ? await this.actions.snapshot(query, now, source) : buildDashboardSnapshot(this.store.tables(), query, now, source);
          } catch {
            snapshot = buildDashboardSnapshot(this.store.tables(), query, now, source);
          }
          if (DashboardPanel.current !== this) return;
          // Newer data is worth showing while the next snapshot is built; another query's figures are not.
          if (query !== this.query) continue;
          explainUnpriced(snapshot.unpriced, this.store.priceBook, source);
          snapshot.signals = this.actions.signals();
          snapshot.env = this.env();
          const msg: ToWebview = { type: 'snapshot', snapshot };
          this.lastMessageBytes = Buffer.byteLength(JSON.stringify(msg));
          this.post(msg);
        } catch (e) {
          // The page would otherwise say "Updating…" for ever: it shows why, over the figures it had.
          if (DashboardPanel.current === this && query === this.query) this.post({ type: 'failed', request: 'snapshot', message: failureText(e) });
        }
      } while (this.again);
    })().finally(() => (this.building = undefined));
    return this.building;
  }

  /** The settings the page's notes name: trace file globs, the prices file in use, the cost source. */
  private env(): DashboardEnv {
    const c = vscode.workspace.getConfiguration('llmCostLens');
    const globs = c.get<unknown>('traceFiles', []);
    const traceFiles = Array.isArray(globs) ? globs.filter((g): g is string => typeof g === 'string' && g.trim() !== '').slice(0, 20) : [];
    const prices = this.store.pricesFilePath();
    const source = c.get<string>('costSource', 'auto');
    return {
      traceFiles,
      pricesFile: prices ? vscode.workspace.asRelativePath(prices, false) : null,
      costSource: source === 'recorded' || source === 'computed' ? source : 'auto',
    };
  }

  /** Handles a message of the page; a failure is reported back to it (never left as a page that waits). */
  private async onMessage(raw: unknown): Promise<void> {
    const command = parseDashboardCommand(raw);
    const m: FromWebview | DashboardCommandMessage | undefined = command ?? parseFromWebview(raw);
    if (!m) {
      // Not a message we accept: ignored, but a query the page waits for is answered.
      if (typeof raw === 'object' && raw !== null && (raw as { type?: unknown }).type === 'setQuery') {
        this.post({ type: 'failed', request: 'snapshot', message: 'the dashboard sent a query the extension does not accept' });
      }
      return;
    }
    try {
      await this.handle(m);
    } catch (e) {
      const reason = failureText(e);
      if (m.type === 'whatIf') {
        this.post({ type: 'whatIf', error: `Re-pricing failed: ${reason}` });
        return;
      }
      const request: DashboardRequest = m.type === 'ready' || m.type === 'setQuery' ? 'snapshot' : m.type;
      this.post({ type: 'failed', request, message: reason });
      if (m.type === 'export') void vscode.window.showErrorMessage(`LLM Cost Lens: the export failed: ${reason}`);
    }
  }

  private async handle(m: FromWebview | DashboardCommandMessage): Promise<void> {
    switch (m.type) {
      case 'ready':
        await this.postSnapshot();
        break;
      case 'setQuery':
        this.setQuery(m.query);
        break;
      case 'revealInTree':
        await this.actions.revealInTree(m.filters);
        break;
      case 'openCostliest':
        await this.actions.openCostliest(m.filters, this.query);
        break;
      case 'export':
        await this.export(m.format);
        break;
      case 'whatIf': {
        const r = await this.actions.whatIf(m.model, this.query);
        this.post(typeof r === 'string' ? { type: 'whatIf', error: r } : { type: 'whatIf', answer: r });
        break;
      }
      case 'command':
        await vscode.commands.executeCommand(`llmCostLens.${m.command}`, ...(m.models ? [m.models] : []));
        break;
    }
  }

  private async export(format: 'csv' | 'markdown'): Promise<void> {
    const q = this.query;
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const name = `llm-cost-${q.groupBy}-${new Date().toISOString().slice(0, 10)}.${format === 'csv' ? 'csv' : 'md'}`;
    const target = await vscode.window.showSaveDialog({
      defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined,
      filters: format === 'csv' ? { CSV: ['csv'] } : { Markdown: ['md'] },
      saveLabel: 'Export',
    });
    if (!target) return;
    const now = Date.now();
    const costSource = vscode.workspace.getConfiguration('llmCostLens').get<CostSource>('costSource', 'auto');
    const report = buildReport(this.store.states(), { by: [q.groupBy], ...queryBounds(q, now), filters: q.filters, compareToPrevious: true, nowMs: now, costSource });
    explainUnpriced(report.unpriced, this.store.priceBook, costSource);
    writeFileSync(target.fsPath, format === 'csv' ? renderCsv(report) : renderMarkdown(report));
    void vscode.window.showInformationMessage(`LLM Cost Lens: exported ${plural(report.groups.length, 'row')} to ${vscode.workspace.asRelativePath(target)}`);
  }
}

/** What the host posts to the page: the shared protocol, and the failure of a request. */
export type HostMessage = ToWebview | DashboardFailure;
