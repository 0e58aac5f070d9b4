import * as vscode from 'vscode';
import { copyFlags, partition, type Slice, stats } from '../core/analysis';
import { type CallTable, FLAG_COPY } from '../core/callTable';
import type { CostSource } from '../core/types';
import { PathSuffixIndex } from '../core/callSiteMatch';
import { type CallSiteMatch, DEFAULT_WRAPPERS, findCallSites, parseWrapperSetting, type WrapperSpec } from '../core/callSites';
import { formatUsd, notificationText } from '../core/format';
import { costliestCalls } from '../core/groupTree';
import { rowsForTags, siteFilters } from '../core/siteStats';
import { isTimeRange, rollingRangeStart, type TimeRange } from '../core/timeRange';
import type { TraceStore } from '../services/traceStore';
import type { ViewState } from '../services/viewState';
import { Disposable } from '../util/disposable';
import { baseName, Coalescer, emptyLensMessage, groupDescription, lensDetailsPlaceholder, lensFigures, type LensState, lensText, lensTitle, lensTooltip, needsFileSearch, rebuildNow, touchesCallSites } from './lensText';

/** Up to this many calls in the store, a site's figures are computed while the lenses are provided. */
const INLINE_ROWS = 200_000;

const LANGUAGES: Record<string, 'python' | 'typescript' | 'javascript'> = {
  python: 'python',
  typescript: 'typescript',
  typescriptreact: 'typescript',
  javascript: 'javascript',
  javascriptreact: 'javascript',
};

/** A site shown by a lens: a wrapper call found in the source, or a line that records name as their call site. */
export interface LensSite {
  key: string;
  file: string;
  line: number;
  match?: CallSiteMatch;
  /** How the calls are attributed: by the recorded call site, or by the call's literal tags. */
  by: 'callsite' | 'tags' | 'none';
  slices: Slice[];
  text: string;
  /** The figures are being computed; the lenses refresh when they are ready. */
  pending?: boolean;
}

/** Call-site keys are file id × LINE_SPAN + line (lines from 1 to LINE_SPAN − 1). */
const LINE_SPAN = 1 << 24;

/** The workspace files recorded call sites are resolved to. */
const SOURCE_GLOB = '**/*.{py,ts,tsx,js,jsx,mjs,cjs,go,java,rb,rs}';
/** A burst of store changes (appends every few hundred ms) rebuilds the index at most once per this many ms. */
const REBUILD_DELAY_MS = 500;

/** What a lens knows of its site (for its title, hover and click). */
export function lensState(s: LensSite): LensState {
  return { by: s.by, text: s.text, pending: s.pending, dynamic: s.match?.dynamic, filters: s.match ? siteFilters(s.match) : [] };
}

/**
 * The call-site index: recorded call sites resolved to workspace files, wrapper calls found in a document once per
 * version, and the figures of each site cached until the store changes. `provideCodeLenses` only reads these; it never
 * parses traces.
 *
 * A store change (every append) only marks the index stale: it is rebuilt, at most once per REBUILD_DELAY_MS, when the
 * lenses are on and a Python/TypeScript/JavaScript editor is visible, or when lenses are asked for. The workspace is
 * searched for source files only when a call site names a file not resolved before, when such a file is created or
 * deleted, or when the folders change: appends at known sites only add rows.
 */
export class CallSiteIndex extends Disposable {
  private exact = new Map<string, Map<number, Slice[]>>();
  private docs = new Map<string, { version: number; matches: CallSiteMatch[] }>();
  private figures = new Map<string, { slices: Slice[]; text: string }>();
  private wrappers: WrapperSpec[] = DEFAULT_WRAPPERS;
  readonly sites = new Map<string, LensSite>();
  private readonly _onDidChange = this._register(new vscode.EventEmitter<void>());
  readonly onDidChange = this._onDidChange.event;
  private building: Promise<void> | undefined;
  private readonly pending = new Map<string, () => unknown>();
  /** Counts rebuilds, so figures computed for an older index are dropped. */
  private generation = 0;
  /** Recorded call-site file names → the workspace file each resolves to; undefined: search the workspace again. */
  private resolved: Map<string, string | undefined> | undefined;
  /** The lower-case file names of the recorded call sites: creating or deleting such a file resolves them again. */
  private siteNames = new Set<string>();
  /** The index is behind the store or the settings. */
  private stale = true;
  private readonly timer = new Coalescer(REBUILD_DELAY_MS, () => void this.rebuild());
  /** How many times the workspace was searched for source files (a diagnostic for tests). */
  fileSearches = 0;

  constructor(
    private readonly store: TraceStore,
    private readonly view: ViewState,
    private readonly log: vscode.OutputChannel,
  ) {
    super();
    this._register(store.onDidChange(() => this.invalidate()));
    this._register(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('llmCostLens.codeLens')) {
          this.readWrappers();
          this.docs.clear();
          this.invalidate();
        }
      }),
    );
    this._register(vscode.workspace.onDidCloseTextDocument((d) => this.docs.delete(d.uri.toString())));
    this._register(
      vscode.window.onDidChangeVisibleTextEditors(() => {
        if (this.stale) this.invalidate();
      }),
    );
    this._register(vscode.workspace.onDidChangeWorkspaceFolders(() => this.forgetFiles()));
    const watcher = this._register(vscode.workspace.createFileSystemWatcher(SOURCE_GLOB, false, true, false));
    const onFile = (u: vscode.Uri) => {
      if (touchesCallSites(u.fsPath, this.siteNames)) this.forgetFiles();
    };
    this._register(watcher.onDidCreate(onFile));
    this._register(watcher.onDidDelete(onFile));
    this._register({ dispose: () => this.timer.cancel() });
    this.readWrappers();
  }

  private enabled(): boolean {
    return vscode.workspace.getConfiguration('llmCostLens').get<boolean>('codeLens.enabled', true);
  }

  /** Whether an editor that can show lenses is visible. */
  private editorVisible(): boolean {
    return vscode.window.visibleTextEditors.some((e) => e.document.uri.scheme === 'file' && LANGUAGES[e.document.languageId] !== undefined);
  }

  /** Marks the index stale, and schedules a rebuild when the lenses are on and can be seen. */
  private invalidate(): void {
    this.stale = true;
    if (rebuildNow({ enabled: this.enabled(), editorVisible: this.editorVisible() })) this.timer.request();
  }

  /** The workspace's files may resolve the call sites differently: search it again on the next rebuild. */
  private forgetFiles(): void {
    this.resolved = undefined;
    this.filesEpoch++;
    this.invalidate();
  }

  /** Counts forgetFiles calls: a search that began before one must not keep its answer (the files changed meanwhile). */
  private filesEpoch = 0;

  private readWrappers() {
    const { wrappers, problems } = parseWrapperSetting(vscode.workspace.getConfiguration('llmCostLens').get<unknown>('codeLens.wrappers', []));
    for (const p of problems) this.log.appendLine(`[codeLens] llmCostLens.codeLens.wrappers: ${p}`);
    this.wrappers = [...DEFAULT_WRAPPERS, ...wrappers];
  }

  /** The lenses' time range (`llmCostLens.codeLens.range`; all time when the setting is not a range). */
  range(): TimeRange {
    const r = vscode.workspace.getConfiguration('llmCostLens').get<string>('codeLens.range', 'all');
    return isTimeRange(r) ? r : 'all';
  }

  sinceMs(): number | undefined {
    return rollingRangeStart(this.range(), Date.now());
  }

  /** Per table: the rows of each recorded call site (file id × LINE_SPAN + line), and how far the table was read. */
  private readonly bySite = new WeakMap<CallTable, { length: number; edits: number; since: number | undefined; sites: Map<number, { buf: Int32Array; n: number }> }>();

  private rowsBySite(t: CallTable, since: number | undefined): Map<number, { buf: Int32Array; n: number }> {
    let e = this.bySite.get(t);
    if (!e || e.edits !== t.edits || e.since !== since || e.length > t.length) {
      e = { length: 0, edits: t.edits, since, sites: new Map() };
      this.bySite.set(t, e);
    }
    const files = t.callsiteFile, lines = t.callsiteLine, ts = t.tsMs, copies = copyFlags(t);
    let lastKey = -1;
    let last: { buf: Int32Array; n: number } | undefined;
    for (let i = e.length; i < t.length; i++) {
      const f = files[i];
      const line = lines[i];
      if (!f || line <= 0 || line >= LINE_SPAN) continue;
      // A copy of a call counted in another file (a resumed Claude Code session's): counted there.
      if (copies && (copies[i] & FLAG_COPY) !== 0) continue;
      if (since !== undefined && !(ts[i] >= since)) continue;
      const key = f * LINE_SPAN + line;
      let list = key === lastKey ? last : e.sites.get(key);
      if (!list) e.sites.set(key, (list = { buf: new Int32Array(16), n: 0 }));
      if (list.n === list.buf.length) {
        const g = new Int32Array(list.buf.length * 2);
        g.set(list.buf);
        list.buf = g;
      }
      list.buf[list.n++] = i;
      lastKey = key;
      last = list;
    }
    e.length = t.length;
    return e.sites;
  }

  /** The rows of each recorded call site of every table, and the file names the sites record. */
  private collect(since: number | undefined): { perTable: [CallTable, Map<number, { buf: Int32Array; n: number }>][]; names: Set<string> } {
    const perTable = this.store.tables().map((t): [CallTable, Map<number, { buf: Int32Array; n: number }>] => [t, this.rowsBySite(t, since)]);
    const names = new Set<string>();
    for (const [t, sites] of perTable) {
      let lastId = -1;
      for (const key of sites.keys()) {
        const id = Math.floor(key / LINE_SPAN);
        if (id !== lastId) names.add(t.pool.get(id));
        lastId = id;
      }
    }
    return { perTable, names };
  }

  /**
   * Rebuilds the index now (a rebuild running meanwhile is waited for, then this one runs if the store moved on):
   * groups the calls of each recorded call site by line, under the workspace file its name resolves to (by longest
   * path suffix). The workspace is searched only when a name is new or its files may have changed.
   */
  rebuild(): Promise<void> {
    if (this.building) {
      const again = () => (this.stale ? this.rebuild() : undefined);
      return this.building.then(again, again);
    }
    this.stale = false;
    this.timer.cancel();
    this.building = (async () => {
      const t0 = Date.now();
      const since = this.sinceMs();
      // The rows of each recorded call site, per table, kept as the table grows: only appended rows are looked at.
      let { perTable, names } = this.collect(since);
      let resolved = this.resolved;
      if (needsFileSearch(resolved, names)) {
        const epoch = this.filesEpoch;
        const files = await vscode.workspace.findFiles(SOURCE_GLOB, '**/node_modules/**', 50_000);
        this.fileSearches++;
        const index = new PathSuffixIndex(files.map((u) => u.fsPath));
        // The store may have moved on during the search.
        ({ perTable, names } = this.collect(since));
        resolved = new Map([...names].map((n) => [n, index.match(n)]));
        // Used for this build; kept only if no file or folder changed during the search (else the next build searches).
        this.resolved = epoch === this.filesEpoch ? resolved : undefined;
        this.siteNames = new Set([...names].map(baseName));
        this.log.appendLine(`[codeLens] ${[...resolved.values()].filter(Boolean).length} of ${names.size} recorded call-site file(s) matched among ${files.length} workspace file(s) in ${Date.now() - t0} ms`);
      }
      const exact = new Map<string, Map<number, Slice[]>>();
      for (const [t, sites] of perTable) {
        for (const [key, list] of sites) {
          const path = resolved!.get(t.pool.get(Math.floor(key / LINE_SPAN)));
          if (!path) continue;
          let byLine = exact.get(path);
          if (!byLine) exact.set(path, (byLine = new Map()));
          const line = key % LINE_SPAN;
          let slices = byLine.get(line);
          if (!slices) byLine.set(line, (slices = []));
          slices.push({ table: t, rows: list.buf.subarray(0, list.n) });
        }
      }
      this.exact = exact;
      this.figures.clear();
      this.sites.clear();
      this.pending.clear();
      this.generation++;
      this._onDidChange.fire();
    })().finally(() => (this.building = undefined));
    return this.building;
  }

  private matchesOf(doc: vscode.TextDocument): CallSiteMatch[] {
    const lang = LANGUAGES[doc.languageId];
    if (!lang) return [];
    const k = doc.uri.toString();
    const c = this.docs.get(k);
    if (c && c.version === doc.version) return c.matches;
    const matches = findCallSites(doc.getText(), lang, this.wrappers);
    this.docs.set(k, { version: doc.version, matches });
    return matches;
  }

  /**
   * The figures of a site. With many calls they are computed after the lenses are returned (then the lenses refresh),
   * so that providing lenses never waits on the calls; with few they are computed at once.
   */
  private cached(key: string, compute: () => Slice[]): { slices: Slice[]; text: string; pending?: boolean } {
    const f = this.figures.get(key);
    if (f) return f;
    const generation = this.generation;
    const work = () => {
      const slices = compute();
      const done = { slices, text: slices.length ? lensText(lensFigures(slices, Date.now(), this.view.costSource), this.range()) : '' };
      // Figures of an index rebuilt meanwhile are not kept: they would outlive the rebuild's clearing.
      if (generation === this.generation) this.figures.set(key, done);
      return done;
    };
    let rows = 0;
    for (const t of this.store.tables()) rows += t.length;
    if (rows <= INLINE_ROWS) return work();
    if (!this.pending.size) setTimeout(() => this.runPending(), 0);
    this.pending.set(key, work);
    return { slices: [], text: '', pending: true };
  }

  /** Computes the pending sites' figures one per event-loop turn (each is a pass over its calls), then refreshes. */
  private runPending(): void {
    const next = this.pending.entries().next();
    if (next.done) {
      this._onDidChange.fire();
      return;
    }
    const [key, job] = next.value;
    this.pending.delete(key);
    job();
    setTimeout(() => this.runPending(), 0);
  }

  /** The sites of a document: its wrapper calls, and any other line that records name as their call site. */
  sitesOf(doc: vscode.TextDocument): LensSite[] {
    // Lenses asked of a stale index: the ones it has now, and a rebuild (they refresh when it is done).
    if (this.stale) this.timer.request();
    const path = doc.uri.fsPath;
    const exact = this.exact.get(path);
    const used = new Set<number>();
    const out: LensSite[] = [];
    for (const m of this.matchesOf(doc)) {
      // Recorded call sites on the call's lines (or the decorated function's line) win over tags.
      const lines: number[] = [];
      for (let l = m.line; l <= Math.max(m.endLine, m.decoratedLine ?? m.line); l++) if (exact?.has(l)) lines.push(l);
      let site: LensSite;
      if (lines.length) {
        lines.forEach((l) => used.add(l));
        const key = `exact:${path}:${lines.join(',')}`;
        const f = this.cached(key, () => lines.flatMap((l) => exact!.get(l)!));
        site = { key, file: path, line: m.line, match: m, by: 'callsite', ...f };
      } else if (siteFilters(m).length) {
        const key = `tags:${JSON.stringify(siteFilters(m))}`;
        const f = this.cached(key, () => rowsForTags(this.store.tables(), m, this.sinceMs()));
        site = { key, file: path, line: m.line, match: m, by: 'tags', ...f };
      } else site = { key: `none:${path}:${m.line}`, file: path, line: m.line, match: m, by: 'none', slices: [], text: '' };
      this.sites.set(site.key, site);
      out.push(site);
    }
    for (const [line] of exact ?? []) {
      if (used.has(line) || line > doc.lineCount) continue;
      const key = `exact:${path}:${line}`;
      const f = this.cached(key, () => exact!.get(line)!);
      const site: LensSite = { key, file: path, line, by: 'callsite', ...f };
      this.sites.set(key, site);
      out.push(site);
    }
    return out.sort((a, b) => a.line - b.line);
  }
}

/** CodeLens with the cost of each tagged LLM call site. */
export class CostLensProvider extends Disposable implements vscode.CodeLensProvider {
  private readonly _onDidChangeCodeLenses = this._register(new vscode.EventEmitter<void>());
  readonly onDidChangeCodeLenses = this._onDidChangeCodeLenses.event;

  constructor(private readonly index: CallSiteIndex) {
    super();
    this._register(index.onDidChange(() => this._onDidChangeCodeLenses.fire()));
    this._register(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('llmCostLens.codeLens')) this._onDidChangeCodeLenses.fire();
      }),
    );
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const cfg = vscode.workspace.getConfiguration('llmCostLens');
    if (!cfg.get<boolean>('codeLens.enabled', true)) return [];
    const showEmpty = cfg.get<boolean>('codeLens.showEmpty', false);
    const range = this.index.range();
    const lenses: vscode.CodeLens[] = [];
    for (const s of this.index.sitesOf(doc)) {
      const state = lensState(s);
      const title = lensTitle(state, range, showEmpty);
      if (!title) continue;
      const line = Math.max(0, s.line - 1);
      lenses.push(new vscode.CodeLens(new vscode.Range(line, 0, line, 0), { title, command: 'llmCostLens.lensDetails', arguments: [s.key], tooltip: lensTooltip(state, range) }));
    }
    return lenses;
  }
}

/**
 * What a lens opens: the quick pick with breakdowns by model, user and template, the five costliest calls and the
 * dashboard; for a lens with no figures (pending, or no call in the range), a message saying why.
 */
export async function showLensDetails(index: CallSiteIndex, key: string, source: CostSource): Promise<void> {
  const site = index.sites.get(key);
  const range = index.range();
  const why = emptyLensMessage(site && lensState(site), range);
  if (why) {
    void vscode.window.showInformationMessage(notificationText(why));
    return;
  }
  if (!site || !site.slices.length) return;
  type Item = vscode.QuickPickItem & { run?: () => Thenable<unknown> };
  const items: Item[] = [];
  for (const dim of ['model', 'user', 'template']) {
    items.push({ label: `by ${dim}`, kind: vscode.QuickPickItemKind.Separator });
    const groups = [...partition(site.slices, dim)].map(([v, s]) => ({ v: v || '(unattributed)', st: stats(s, source) }));
    groups.sort((a, b) => b.st.costUsd - a.st.costUsd || b.st.calls - a.st.calls);
    for (const g of groups.slice(0, 5)) items.push({ label: g.v, description: groupDescription(g.st) });
  }
  items.push({ label: 'costliest calls', kind: vscode.QuickPickItemKind.Separator });
  for (const c of costliestCalls(site.slices, 5, source)) {
    items.push({ label: `$(go-to-file) ${formatUsd(c.costUsd)} · ${c.model || '(no model)'}`, description: `${c.file}:${c.line}`, run: () => vscode.commands.executeCommand('llmCostLens.openCall', c.file, c.line) });
  }
  const filters = site.match ? siteFilters(site.match) : [];
  items.push({ label: '', kind: vscode.QuickPickItemKind.Separator });
  items.push({ label: '$(graph) Open the dashboard filtered to this site', description: filters.map((f) => `${f.dim}=${f.value}`).join(', '), run: () => vscode.commands.executeCommand('llmCostLens.openDashboardFiltered', filters) });
  const pick = await vscode.window.showQuickPick(items, { title: `${site.text}`, placeHolder: lensDetailsPlaceholder(site.by, range) });
  await pick?.run?.();
}
