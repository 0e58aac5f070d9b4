import * as vscode from 'vscode';
import { formatCacheSavings, formatCount, formatGroupCost, formatPct, formatTokens, formatUsd, plural, undatedNote } from '../core/format';
import { GroupIndex, type IndexNode } from '../core/groupIndex';
import { type CallRef, costliestCalls, type GroupNode } from '../core/groupTree';
import { type LevelPreview, previewGroups, previewLevel, previewMatches, tablePart } from '../core/levelPreview';
import { rangeLabel, type TimeRange } from '../core/timeRange';
import type { TraceStore } from '../services/traceStore';
import type { ViewState } from '../services/viewState';
import type { SignalsService } from '../services/signals';
import { UNATTRIBUTED } from '../core/analysis';
import { budgetBadge } from '../core/budgets';
import { Disposable } from '../util/disposable';
import { callRowText, errorsText, type GroupFigures, groupIcon, groupRowText, type IconChoice, moreCallsText, moreRowText, noCallsMessage, shareLine, type TotalFigures, unpricedTooltip, unreadText } from './viewText';

export type CostItem =
  | { kind: 'group'; node: IndexNode; depth: number; parent?: CostItem }
  | { kind: 'call'; call: CallRef; id: string; parent: CostItem }
  /**
   * A line of text (with a spinning icon unless `icon` or `rangeHint`); `rangeHint` ones open the time range picker (the
   * range is what would change them); `warning` ones (files not read) have a tooltip and run `command`.
   */
  | { kind: 'message'; text: string; detail?: string; rangeHint?: boolean; icon?: string; warning?: { tooltip: string; command?: vscode.Command } }
  | { kind: 'more'; count: number; costUsd: number; calls: number; pricedCalls: number; id: string; parent?: CostItem }
  /** A group of the first level of a big file being loaded, ahead of its columns (`TraceStore.preview`). */
  | { kind: 'preview'; dim: string; figures: GroupFigures & { value: string }; id: string; parent?: undefined };

/** A first level shown ahead of a big file's columns: the level, the file, the tree's items and the range's figures. */
interface PreviewShown {
  preview: LevelPreview;
  path: string;
  items: CostItem[];
  total: TotalFigures;
}

/** A ThemeIcon of the choice (`groupIcon`). */
function themeIcon(i: IconChoice): vscode.ThemeIcon {
  return new vscode.ThemeIcon(i.id, i.color ? new vscode.ThemeColor(i.color) : undefined);
}

/** From this many calls, the tree's index starts over in slices between event-loop turns. */
const ASYNC_REBUILD_ROWS = 200_000;

/** How many of the costliest calls a leaf lists. */
const CALLS_PER_LEAF = 10;
/** Children shown under a node; the rest are summed in one "more" item. */
const MAX_CHILDREN = 50;

/**
 * The "Cost" tree: calls grouped by the chosen dimensions (feature → user → model by default), each node with its
 * cost, share of its parent and calls; leaves list the costliest calls, which open at their line in the trace file.
 */
export class CostTreeProvider extends Disposable implements vscode.TreeDataProvider<CostItem> {
  private readonly _onDidChangeTreeData = this._register(new vscode.EventEmitter<CostItem | undefined>());
  readonly onDidChangeTreeData = this._onDidChangeTreeData.event;
  private roots: CostItem[] | undefined;
  /** The top level last shown, and for which grouping and cost source. */
  private shown: { key: string; roots: CostItem[] } | undefined;
  /** An index rebuild running in slices (big stores). */
  private rebuilding: Promise<void> | undefined;
  /** The groups, kept up to date incrementally as trace files grow (rebuilt when the grouping or range changes). */
  private readonly index = new GroupIndex();

  constructor(
    private readonly store: TraceStore,
    private readonly view: ViewState,
    private readonly signals?: SignalsService,
  ) {
    super();
    this._register(store.onDidChange(() => this.refresh()));
    this._register(view.onDidChange(() => this.refresh()));
    // A big file's first level is asked of its parse process as this view shows it, and shown as soon as it comes.
    store.previewRequest = () => (view.groupBy.length ? { dim: view.groupBy[0], source: view.costSource, sinceMs: view.sinceMs() } : undefined);
    this._register(store.onDidPreview(() => this.refresh()));
    if (signals) this._register(signals.onDidChange(() => this.refresh()));
  }

  refresh(): void {
    this.roots = undefined;
    this._onDidChangeTreeData.fire(undefined);
  }

  /**
   * The range's cost and calls (the tree's root, kept up to date with it); undefined before the first load. Not its
   * full stats: those sum every call's tokens and errors, which the status bar does not show.
   */
  totals(): TotalFigures | undefined {
    // While a big file's first level is shown ahead of its columns (and until the index has caught up), the range's
    // figures are that level's.
    const ahead = this.livePreview();
    if (ahead) return ahead.total;
    if (!this.store.ready || !this.syncIndex()) return this.bridgingPreview()?.total;
    this.previewShown = undefined;
    return this.index.total;
  }

  /** How many times the tree's index has started over (a diagnostic: appends and in-place replacements do not). */
  get indexRebuilds(): number {
    return this.index.rebuilds;
  }

  /** The index's options now (the view's grouping, cost source and range). */
  private indexOptions() {
    return { dims: this.view.groupBy, source: this.view.costSource, sinceMs: this.view.sinceMs() };
  }

  /**
   * Brings the index up to date. Starting over on a big store (a first load, another grouping or range) happens in
   * slices between event-loop turns, so the extension host is not held for the ~0.1 s a million calls take: false
   * until it is done, when the tree refreshes (and the status bar with it).
   */
  private syncIndex(): boolean {
    const tables = this.store.tables();
    const opts = this.indexOptions();
    if (this.rebuilding) return false;
    let rows = 0;
    for (const t of tables) rows += t.length;
    if (rows >= ASYNC_REBUILD_ROWS && this.index.wouldRebuild(tables, opts)) {
      this.rebuilding = this.index
        .rebuildAsync(tables, opts, () => new Promise<void>((r) => setImmediate(r)))
        .finally(() => {
          this.rebuilding = undefined;
          this.refresh();
        });
      return false;
    }
    this.index.sync(tables, opts);
    return true;
  }

  getChildren(el?: CostItem): CostItem[] {
    const dims = this.view.groupBy;
    const source = this.view.costSource;
    if (!el) {
      const preview = this.livePreview();
      if (preview) return [...this.unreadItems(), ...preview.items];
      if (!this.store.ready) return [];
      // Files not read (a cancelled load, read errors) come first: the figures below leave their calls out.
      const notes = this.unreadItems();
      if (this.store.paths().length === 0) return notes;
      return [...notes, ...this.topLevel()];
    }
    if (el.kind === 'preview') return [{ kind: 'message', text: 'Reading the calls…', detail: 'the levels below come with the columns' }];
    if (el.kind !== 'group') return [];
    const { node, depth } = el;
    if (depth + 1 < dims.length) {
      return capped(this.index.children(node).map((child) => ({ kind: 'group', node: child, depth: depth + 1, parent: el })), el);
    }
    const calls: CostItem[] = costliestCalls(node.slices, CALLS_PER_LEAF, source).map((call) => ({ kind: 'call', call, id: `${node.id}\u001fcall:${call.file}:${call.line}`, parent: el }));
    const more = moreCallsText(node.calls, calls.length);
    if (more) calls.push({ kind: 'message', icon: 'ellipsis', ...more });
    return calls;
  }

  /** The top level's groups (or why there are none). */
  private topLevel(): CostItem[] {
    const dims = this.view.groupBy;
    const source = this.view.costSource;
    if (this.roots) return this.roots;
    if (!this.syncIndex()) {
      // Regrouping in slices after a load whose first level came ahead: that level stays until the index is done.
      const bridge = this.bridgingPreview();
      if (bridge) return bridge.items;
      // Regrouping in slices: the last tree stays while only the range moved on (a rolling range, each minute).
      const key = `${dims.join('\u0000')}|${source}`;
      if (this.shown && this.shown.key === key) return this.shown.roots;
      return [{ kind: 'message', text: 'Grouping the calls…', detail: `by ${dims.join(' › ')}` }];
    }
    this.previewShown = undefined;
    if (!this.index.total?.calls) {
      const none = noCallsMessage(this.view.range, latestCall(this.store));
      this.roots = [{ kind: 'message', icon: 'info', ...none }];
      if (this.index.undated > 0) this.roots.push({ kind: 'message', text: undatedNote(this.index.undated), detail: 'choose All time to see them', rangeHint: true });
      return this.roots;
    }
    this.roots = capped(this.index.children().map((node) => ({ kind: 'group', node, depth: 0 })), undefined);
    if (this.index.undated > 0) this.roots.push({ kind: 'message', text: undatedNote(this.index.undated), detail: 'choose All time to see them', rangeHint: true });
    this.shown = { key: `${dims.join('\u0000')}|${source}`, roots: this.roots };
    return this.roots;
  }

  /**
   * The first level while a big file is loaded, from its parse process's sums (`TraceStore.preview`) and the other
   * files' calls, when it was summed as the view shows it now (grouping, cost source, range); else undefined. Kept
   * (`previewShown`) once the load is over until the index has caught up with the new calls (a big store regroups in
   * slices), so that the view does not go back to older figures or to "Grouping the calls…" in between.
   */
  private livePreview(): PreviewShown | undefined {
    const pv = this.store.preview();
    if (!pv || !previewMatches(pv.preview, this.viewNow())) return undefined;
    const p = pv.preview;
    if (this.previewShown?.preview === p) return this.previewShown;
    const others = previewLevel(this.store.tablesBesides(pv.path).map(tablePart), p);
    if (!others) return undefined; // more groups than a preview shows
    const groups = previewGroups(p, others.groups);
    const total: TotalFigures = { calls: 0, pricedCalls: 0, unpricedCalls: 0, costUsd: 0 };
    for (const g of groups) {
      total.calls += g.calls;
      total.pricedCalls += g.pricedCalls;
      total.costUsd += g.costUsd;
    }
    total.unpricedCalls = total.calls - total.pricedCalls;
    const items: CostItem[] = groups.map((g) => ({
      kind: 'preview',
      dim: p.dim,
      id: `${p.dim}=${g.value}`,
      figures: { ...g, unpricedCalls: g.calls - g.pricedCalls, shareOfParent: total.costUsd > 0 ? g.costUsd / total.costUsd : 0 },
    }));
    this.previewShown = { preview: p, path: pv.path, items: capped(items, undefined), total };
    return this.previewShown;
  }

  /** The level shown last, while the index has not caught up since its load ended and the view still shows it that way. */
  private bridgingPreview(): PreviewShown | undefined {
    const p = this.previewShown;
    return p && this.store.landedPreview() === p.preview && previewMatches(p.preview, this.viewNow()) ? p : undefined;
  }

  private viewNow() {
    return { dims: this.view.groupBy, source: this.view.costSource, sinceMs: this.view.sinceMs() };
  }

  /** The file whose first level is shown ahead of its columns, if one is (the status bar says so). */
  previewFile(): string | undefined {
    return this.livePreview()?.path;
  }

  private previewShown: PreviewShown | undefined;

  /** "2 trace files not read", with the reasons in its tooltip; a click reads the files again (Refresh). */
  private unreadItems(): CostItem[] {
    const u = unreadText(this.store.unreadFiles());
    if (!u) return [];
    const tooltip = `Their calls are not in the figures:\n${u.lines.map((l) => `• ${l}`).join('\n')}\n\nClick to read the trace files again (Refresh).`;
    return [{ kind: 'message', text: u.text, detail: `${u.detail} · click to read again`, warning: { tooltip, command: { command: 'llmCostLens.refresh', title: 'Refresh' } } }];
  }

  getParent(el: CostItem): CostItem | undefined {
    return el.kind === 'message' ? undefined : el.parent;
  }

  /** All children, without the cap (reveal and tests use this to find any group). */
  allChildren(el?: CostItem): CostItem[] {
    const dims = this.view.groupBy;
    if (!el) {
      this.index.sync(this.store.tables(), this.indexOptions());
      return this.index.children().map((node) => ({ kind: 'group', node, depth: 0 }));
    }
    if (el.kind !== 'group' || el.depth + 1 >= dims.length) return this.getChildren(el);
    return this.index.children(el.node).map((child) => ({ kind: 'group', node: child, depth: el.depth + 1, parent: el }));
  }

  getTreeItem(el: CostItem): vscode.TreeItem {
    if (el.kind === 'message') {
      const item = new vscode.TreeItem(el.text, vscode.TreeItemCollapsibleState.None);
      item.description = el.detail;
      if (el.warning) {
        item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'));
        item.tooltip = el.warning.tooltip;
        item.command = el.warning.command;
        return item;
      }
      item.iconPath = new vscode.ThemeIcon(el.icon ?? (el.rangeHint ? 'info' : 'loading~spin'));
      if (el.rangeHint) item.command = { command: 'llmCostLens.timeRange', title: 'Choose Time Range' };
      return item;
    }
    if (el.kind === 'preview') {
      const g = el.figures;
      const item = new vscode.TreeItem(g.value, g.calls ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
      item.id = el.id;
      item.description = groupRowText(g);
      item.iconPath = themeIcon(groupIcon(el.dim, { anomalies: 0, unpricedCalls: g.unpricedCalls }));
      item.tooltip = 'The file is read; its columns are on their way (percentiles, tokens and the levels below come with them).';
      item.accessibilityInformation = { label: `${el.dim} ${g.value}: ${item.description}` };
      return item;
    }
    if (el.kind === 'more') {
      const item = new vscode.TreeItem(`${formatCount(el.count)} more`, vscode.TreeItemCollapsibleState.None);
      item.id = el.id;
      item.description = moreRowText(el);
      item.iconPath = new vscode.ThemeIcon('ellipsis');
      item.tooltip = 'Smaller groups, summed. Open the dashboard to see them all.';
      item.command = { command: 'llmCostLens.openDashboard', title: 'Open Dashboard' };
      return item;
    }
    if (el.kind === 'call') {
      const c = el.call;
      const modelShown = el.parent.kind === 'group' && el.parent.node.path.some((p) => p.dim === 'model');
      const text = callRowText(c, { modelShown, nowMs: Date.now() });
      const item = new vscode.TreeItem(text.label, vscode.TreeItemCollapsibleState.None);
      item.id = el.id;
      item.description = text.description;
      item.iconPath = new vscode.ThemeIcon(c.error ? 'error' : 'debug-stackframe-dot');
      item.tooltip = text.tooltip;
      item.contextValue = 'llmCostLens.call';
      item.command = { command: 'llmCostLens.openCall', title: 'Open Record', arguments: [c.file, c.line] };
      return item;
    }
    const { node } = el;
    const item = new vscode.TreeItem(node.value, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = node.id;
    item.description = groupRowText(node);
    item.contextValue = 'llmCostLens.group';
    // Signals: recent anomalies of this value and its budget's burn.
    const { anomalies, budget } = this.signalsOf(node);
    if (budget) item.description += ` · budget ${budgetBadge(budget)}`;
    if (anomalies.length) item.description += ` · ${plural(anomalies.length, 'anomaly', 'anomalies')}`;
    // The icon shows what needs a look even where the description is cut (the view's default width).
    item.iconPath = themeIcon(groupIcon(node.dim, { budgetLevel: budget?.level, anomalies: anomalies.length, unpricedCalls: node.unpricedCalls }));
    if (node.calls === 0) item.collapsibleState = vscode.TreeItemCollapsibleState.None;
    item.accessibilityInformation = { label: `${node.dim} ${node.value}: ${item.description}` };
    return item;
  }

  /**
   * The tooltip, built when the pointer rests on a node: its percentiles are computed then (a million calls' worth of
   * groups are listed without paying for them).
   */
  resolveTreeItem(item: vscode.TreeItem, el: CostItem): vscode.TreeItem {
    if (el.kind !== 'group' || item.tooltip) return item;
    const parent = el.parent?.kind === 'group' ? el.parent.node : undefined;
    const md = groupTooltip(el.node, { range: this.view.range, share: shareLine(el.node, parent) });
    const { anomalies, budget } = this.signalsOf(el.node);
    if (el.node.unpricedCalls) md.appendMarkdown('\n\n$(warning) ').appendText(unpricedTooltip(el.node.unpricedCalls));
    if (budget) md.appendMarkdown(`\n\n**Budget:** `).appendText(budget.text);
    for (const a of anomalies.slice(0, 5)) md.appendMarkdown('\n\n$(pulse) ').appendText(a.text);
    md.supportThemeIcons = true;
    item.tooltip = md;
    return item;
  }

  private signalsOf(node: IndexNode) {
    const anomalies = node.value === UNATTRIBUTED ? [] : this.signals?.anomaliesFor(node.dim, node.value) ?? [];
    return { anomalies, budget: this.signals?.budgetFor(node.dim, node.value) };
  }
}

/** Keeps the costliest MAX_CHILDREN groups (and the always-shown unattributed one) and sums the rest in one item. */
function capped(items: CostItem[], parent: CostItem | undefined): CostItem[] {
  if (items.length <= MAX_CHILDREN + 1) return items;
  const keep = items.slice(0, MAX_CHILDREN);
  const rest = items.slice(MAX_CHILDREN);
  const unattributed = rest.find((i) => (i.kind === 'group' && i.node.value === UNATTRIBUTED) || (i.kind === 'preview' && i.figures.value === UNATTRIBUTED));
  const summed = rest.filter((i) => i !== unattributed);
  let costUsd = 0, calls = 0, pricedCalls = 0;
  for (const i of summed) {
    const g = i.kind === 'group' ? i.node : i.kind === 'preview' ? i.figures : undefined;
    if (!g) continue;
    costUsd += g.costUsd;
    calls += g.calls;
    pricedCalls += g.pricedCalls;
  }
  const id = `${parent && parent.kind === 'group' ? parent.node.id : 'root'}\u001fmore`;
  return [...keep, ...(unattributed ? [unattributed] : []), { kind: 'more', count: summed.length, costUsd, calls, pricedCalls, id, parent }];
}

/** Markdown tooltip; trace text goes in as escaped text, never as Markdown. */
export function groupTooltip(node: GroupNode & { exactPercentiles?: boolean }, context?: { range: TimeRange; share?: string }): vscode.MarkdownString {
  const s = node.stats;
  // Big groups' percentiles come from a sketch (within 0.1%): say so rather than print them as exact.
  const approx = node.exactPercentiles === false ? '≈ ' : '';
  const md = new vscode.MarkdownString();
  md.appendMarkdown(`**${node.dim}:** `);
  md.appendText(node.value);
  if (context) md.appendMarkdown(` · ${rangeLabel(context.range)}`);
  md.appendMarkdown('\n\n');
  md.appendMarkdown(
    [
      // The first row is the table's header (Markdown has no table without one): the cost, not an empty row.
      `| Cost | ${formatGroupCost(s)} |`,
      `|---|---:|`,
      ...(context?.share ? [`| Share | ${escapeMd(context.share)} |`] : []),
      `| Calls | ${formatCount(s.calls)}${s.unpricedCalls ? ` (${formatCount(s.unpricedCalls)} unpriced)` : ''} |`,
      `| Per call p50 / p95 / p99 | ${approx}${formatUsd(s.p50Usd)} / ${formatUsd(s.p95Usd)} / ${formatUsd(s.p99Usd)} |`,
      `| Tokens in / cache read / cache write / out | ${formatTokens(s.inputTokens)} / ${formatTokens(s.cacheReadTokens)} / ${formatTokens(s.cacheWriteTokens)} / ${formatTokens(s.outputTokens)} |`,
      `| Cache hit ratio | ${formatPct(s.cacheHitRatio)} |`,
      `| Cache savings | ${formatCacheSavings(s)} |`,
      `| Errors | ${errorsText(s.errors, s.errorCostUsd)} |`,
    ].join('\n'),
  );
  return md;
}

/** Text made literal in Markdown (a group's value in the share line). */
function escapeMd(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>$~]/g, '\\$&');
}

function latestCall(store: TraceStore): number | undefined {
  let latest = -Infinity;
  for (const t of store.tables()) for (let i = 0; i < t.length; i++) if (t.tsMs[i] > latest) latest = t.tsMs[i];
  return Number.isFinite(latest) ? latest : undefined;
}
