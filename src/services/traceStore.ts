import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import * as vscode from 'vscode';
import { StringPool, type CallTable } from '../core/callTable';
import { CopyIndex, type CopySource } from '../core/copies';
import { type FieldMapping, parseFieldMapping } from '../core/normalize';
import { parsePriceOverrides, PriceBook, type PriceOverride } from '../core/pricing';
import type { LevelPreview, PreviewRequest } from '../core/levelPreview';
import { mustReload, type TraceFileState } from '../core/traceFile';
import { LoadCancelled, loadInWorker, LOADS_AT_ONCE, type LoadSource, type ScanStats } from '../node/workerLoad';
import { PARALLEL_BYTES } from '../node/handover';
import { startInOrder } from '../node/loadQueue';
import { globBase, globFilesAsync, isExcluded } from '../node/files';
import { isGlob } from '../core/glob';
import { fileFingerprint, readTraceFile, warmUpReaderInTurns } from '../node/traceReader';
import { Disposable } from '../util/disposable';

/** Files above this size load in a worker thread, with a progress notification. */
const WORKER_THRESHOLD_BYTES = 1024 * 1024;

/** Small files read on the extension host's thread in one event-loop turn, for at most about this long. */
const INLINE_SLICE_MS = 15;
/**
 * Small files read on the extension host from which a load is "many" (`discoverAndLoad`): the reader is warmed up
 * first, and the view's message says how far their reading is.
 */
const MANY_SMALL_FILES = 16;
/**
 * Paths in the order the views list files: `localeCompare`'s, through one collator (localeCompare makes one per call:
 * sorting 2,000 paths took ~14 ms of a change).
 */
const byPath = new Intl.Collator().compare;
const DEBOUNCE_MS = 300;
const EXTRA_FILES_KEY = 'llmCostLens.extraFiles';

/** How a file was last read from its start: in a worker thread, from the state cache, or on the extension host. */
/** inline: on the host's thread; worker: parsed in the load worker; process: parsed in a child process; cache: the state cache. */
export type ReadVia = 'worker' | 'process' | 'cache' | 'inline';

/** Big files being read: the last one that reported, how many in all, and the fraction of all their bytes read. */
export interface LoadingState {
  file: string;
  files: number;
  fraction: number;
}

/** The views hear of a load's progress at most this often. */
const LOADING_EVENT_MS = 100;

/** What the loads of one `loadBig` share. */
interface LoadRun {
  script: string;
  mapping: FieldMapping | undefined;
  /** The state cache's key settings, made with `mapping`. */
  settings: string;
  signal: AbortSignal;
  /** The tree's first level to ask for ahead of the columns (one file loaded). */
  preview: PreviewRequest | undefined;
  /** `bytes` more of file `p` read, `fraction` of it in all. */
  report(p: string, bytes: number, fraction: number): void;
}

/** What became of one file's load (`loadBig`). */
type LoadOutcome =
  | { kind: 'read'; state: TraceFileState; via: ReadVia; scan?: ScanStats; line: string }
  | { kind: 'failed'; message: string }
  | { kind: 'cancelled' };

/** A trace file found but not read (its calls are missing from the views): why, and whether a refresh may read it. */
export interface UnreadFile {
  path: string;
  /** The path as shown (relative to the workspace). */
  file: string;
  /** `loading cancelled`, or the error met reading it. */
  reason: string;
  cancelled: boolean;
}

export interface StoreChange {
  /** Paths whose calls changed (loaded, appended, reloaded). */
  changed: string[];
  /** Paths that are no longer read. */
  removed: string[];
}

/** Expands `~` (`~/…`, or `~\…` as written on Windows) and makes a path absolute against a folder. */
export function expandPath(p: string, base: string | undefined): string {
  const t = p.startsWith('~/') || p.startsWith('~\\') || p === '~' ? join(homedir(), p.slice(1)) : p;
  return isAbsolute(t) || !base ? t : join(base, t);
}

/**
 * Finds the trace files named by the settings, reads them (big ones in a worker thread, with progress), follows
 * them as they grow (only the appended bytes are read), reloads truncated or replaced files and drops deleted ones.
 * One store serves the tree, the status bar, the diagnostics and the other views.
 */
export class TraceStore extends Disposable {
  readonly pool = new StringPool();
  private readonly files = new Map<string, TraceFileState>();
  private readonly via = new Map<string, ReadVia>();
  private readonly scans = new Map<string, ScanStats>();
  /** Files found but not read: a cancelled load, or an error reading them. */
  private readonly notRead = new Map<string, UnreadFile>();
  private prices = new PriceBook();
  private overrides = new Map<string, PriceOverride>();
  private overridesProblems: string[] = [];
  private watchers: vscode.Disposable[] = [];
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly _onDidChange = this._register(new vscode.EventEmitter<StoreChange>());
  /** Fires after calls were added, reloaded or removed. */
  readonly onDidChange = this._onDidChange.event;
  private loadChain: Promise<unknown> = Promise.resolve();
  /** True once the first discovery and load finished. */
  ready = false;
  /**
   * What the views show first (the tree's first level, its cost source and range), asked of a big file's parse process
   * so the level comes as soon as the file is read (`preview`); undefined: not asked.
   */
  previewRequest: (() => PreviewRequest | undefined) | undefined;
  /** The first level of the file being loaded, while its columns are on their way (see `preview`). */
  private previewing: { path: string; preview: LevelPreview } | undefined;
  private readonly _onDidPreview = this._register(new vscode.EventEmitter<void>());
  /** Fires when a big file's first level arrives ahead of its columns (`preview`). */
  readonly onDidPreview = this._onDidPreview.event;
  private readonly _onDidLoadProgress = this._register(new vscode.EventEmitter<void>());
  /** Fires as big files are read (`loading`), at most every LOADING_EVENT_MS, and when their load ends. */
  readonly onDidLoadProgress = this._onDidLoadProgress.event;
  /** The last previews that arrived (tests and diagnostics: what the tree could show before the columns). */
  previewsReceived: { path: string; preview: LevelPreview }[] = [];
  /** Counts the changes fired. */
  private changes = 0;
  /** The Claude Code calls several files hold, counted once: the copies' rows are marked (`syncCopies`). */
  private readonly copies = new CopyIndex();
  /** Files whose copy marks changed since the last change fired (that change names them). */
  private readonly marked = new Set<string>();

  constructor(
    private readonly ctx: vscode.ExtensionContext,
    private readonly log: vscode.OutputChannel,
  ) {
    super();
    this._register(this.onDidChange(() => this.changes++));
    this._register(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('llmCostLens.traceFiles') || e.affectsConfiguration('llmCostLens.exclude') || e.affectsConfiguration('llmCostLens.fieldMapping')) {
          void this.refresh();
        } else if (e.affectsConfiguration('llmCostLens.pricesFile')) void this.reloadPrices();
      }),
    );
    this._register(vscode.workspace.onDidChangeWorkspaceFolders(() => void this.refresh()));
    this._register({ dispose: () => this.disposeWatchers() });
    this._register({ dispose: () => this.timers.forEach((t) => clearTimeout(t)) });
    this._register({ dispose: () => clearTimeout(this.loadingTimer) });
  }

  /** The states of every file read, in path order (their copies of calls other files hold marked: `syncCopies`). */
  states(): TraceFileState[] {
    this.syncCopies();
    return [...this.files.entries()].sort((a, b) => byPath(a[0], b[0])).map(([, s]) => s);
  }

  tables(): CallTable[] {
    return this.states().map((s) => s.table);
  }

  /** The tables of every file read but `path`, in path order. */
  tablesBesides(path: string): CallTable[] {
    this.syncCopies();
    return [...this.files.entries()].filter(([p]) => p !== path).sort((a, b) => byPath(a[0], b[0])).map(([, s]) => s.table);
  }

  /**
   * Marks the rows that copy a Claude Code call another file holds (a resumed or forked session's transcript), which
   * every figure leaves out, as the files are now; only what changed since is looked at. Done before the tables are
   * handed out and before a change fires, so the views never count a copy (or miss a call whose original went).
   */
  private syncCopies(): void {
    const sources: CopySource[] = [];
    for (const [path, s] of this.files) sources.push({ path, table: s.table, ctx: s.ctx });
    for (const p of this.copies.sync(sources)) this.marked.add(p);
  }

  /** Fires a change, naming also the files whose copy marks changed since the last one. */
  private fire(change: StoreChange): void {
    this.syncCopies();
    const named = new Set(change.changed);
    for (const p of this.marked) if (this.files.has(p) && !named.has(p)) change.changed.push(p);
    this.marked.clear();
    this._onDidChange.fire(change);
  }

  /**
   * The files found but not read, in path order: those a cancelled load left out and those that could not be read
   * (the views say their calls are missing). A refresh tries them again; a later successful read takes a file off.
   */
  unreadFiles(): UnreadFile[] {
    return [...this.notRead.values()].sort((a, b) => byPath(a.path, b.path));
  }

  /**
   * The first level of a big file being loaded, summed by its parse process as soon as the file was read, while its
   * columns are merged, handed over and read here (~0.3 s for a million calls): only while it is the one file left to
   * load. The tree shows it with the other files' figures (`tables()` without `path`) until the load ends.
   */
  preview(): { path: string; preview: LevelPreview } | undefined {
    return this.previewing;
  }

  /**
   * The first level that came ahead in the last load, when that load read its file (its calls are in the store now):
   * the views may keep showing it until they have regrouped the new calls.
   */
  landedPreview(): LevelPreview | undefined {
    return this.landed;
  }

  private landed: LevelPreview | undefined;

  /** Absolute paths of the files read. */
  paths(): string[] {
    return [...this.files.keys()].sort(byPath);
  }

  /** The states of the files read by path (their copies of calls other files hold marked). */
  statesByPath(): ReadonlyMap<string, TraceFileState> {
    this.syncCopies();
    return this.files;
  }

  get priceBook(): PriceBook {
    return this.prices;
  }

  /** Problems found in the prices file, as text. */
  get pricesProblems(): readonly string[] {
    return this.overridesProblems;
  }

  /** The prices file in use (it may not exist yet). */
  pricesFilePath(): string | undefined {
    const cfg = vscode.workspace.getConfiguration('llmCostLens').get<string>('pricesFile', '').trim();
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    if (cfg) return expandPath(cfg, folder);
    return folder ? join(folder, '.llm-cost-lens', 'prices.json') : undefined;
  }

  /** Discovers the files, loads them and starts watching. Resolves when everything is read. */
  start(): Promise<void> {
    return this.enqueue(async () => {
      this.reloadPricesSync();
      await this.discoverAndLoad([], true);
    });
  }

  /** Forgets everything and reads all files again. */
  refresh(): Promise<void> {
    return this.enqueue(async () => {
      const removed = this.paths();
      this.files.clear();
      this.reloadPricesSync();
      await this.discoverAndLoad(removed);
    });
  }

  /** Adds a file by hand ("Analyze this file"); remembered for this workspace. */
  async addFile(path: string): Promise<void> {
    const extra = new Set(this.ctx.workspaceState.get<string[]>(EXTRA_FILES_KEY, []));
    extra.add(path);
    await this.ctx.workspaceState.update(EXTRA_FILES_KEY, [...extra]);
    await this.refresh();
  }

  /** What the fast scanner read of a big file's last parse (undefined for a cache hit, a file read on the host, or a file not read). */
  scanStats(path: string): ScanStats | undefined {
    return this.files.has(path) ? this.scans.get(path) : undefined;
  }

  /** How a file was last read from its start (undefined when it is not read). */
  readVia(path: string): ReadVia | undefined {
    return this.files.has(path) ? this.via.get(path) : undefined;
  }

  /** Whether a file is read by the store. */
  has(path: string): boolean {
    return this.files.has(path);
  }

  /** Reads the appended bytes of a file now (tests and the refresh command use this instead of waiting). */
  update(path: string): Promise<void> {
    return this.enqueue(() => this.updateFile(path));
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.loadChain.then(fn, fn);
    this.loadChain = p.catch(() => undefined);
    return p;
  }

  /** The setting's text when it was last checked, and what it gave. */
  private mappingChecked: { raw: string; mapping: FieldMapping | undefined } | undefined;

  /**
   * The workspace's field mapping (`llmCostLens.fieldMapping`), checked: a mapping with problems is not used (records
   * are read by the built-in shapes) and its problems are logged and shown once.
   */
  private mapping(): FieldMapping | undefined {
    const m = vscode.workspace.getConfiguration('llmCostLens').get<unknown>('fieldMapping', null);
    const raw = JSON.stringify(m ?? null);
    if (this.mappingChecked?.raw === raw) return this.mappingChecked.mapping;
    const empty = m === null || (typeof m === 'object' && !Array.isArray(m) && Object.keys(m as object).length === 0);
    const { mapping, problems } = empty ? { mapping: undefined, problems: [] } : parseFieldMapping(m);
    this.mappingChecked = { raw, mapping: problems.length ? undefined : mapping };
    if (problems.length) {
      for (const p of problems) this.log.appendLine(`[mapping] llmCostLens.fieldMapping: ${p}`);
      void vscode.window.showWarningMessage(`LLM Cost Lens: the field mapping setting is not used: ${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more, see the output)` : ''}.`);
    }
    return this.mappingChecked.mapping;
  }

  private async reloadPrices(): Promise<void> {
    await this.enqueue(async () => {
      this.reloadPricesSync();
      for (const s of this.files.values()) s.table.reprice(this.prices);
      this.fire({ changed: this.paths(), removed: [] });
    });
  }

  private reloadPricesSync() {
    const p = this.pricesFilePath();
    this.overrides = new Map();
    this.overridesProblems = [];
    if (p && existsSync(p)) {
      try {
        const r = parsePriceOverrides(readFileSync(p, 'utf8'));
        this.overrides = r.overrides;
        this.overridesProblems = r.problems;
        for (const msg of r.problems) this.log.appendLine(`[prices] ${p}: ${msg}`);
        this.log.appendLine(`[prices] ${r.overrides.size} price override(s) from ${p}`);
      } catch (e) {
        this.log.appendLine(`[prices] cannot read ${p}: ${(e as Error).message}`);
      }
    }
    this.prices = new PriceBook(this.overrides);
  }

  private patterns(): { include: string[]; exclude: string; excludeGlobs: string[] } {
    const c = vscode.workspace.getConfiguration('llmCostLens');
    const include = c.get<string[]>('traceFiles', []).filter((s) => typeof s === 'string' && s.trim());
    const exclude = c.get<string[]>('exclude', ['**/node_modules/**']).filter((s) => typeof s === 'string' && s.trim());
    return { include, exclude: exclude.length > 1 ? `{${exclude.join(',')}}` : exclude[0] ?? '', excludeGlobs: exclude };
  }

  private async discover(): Promise<string[]> {
    const { include, exclude, excludeGlobs } = this.patterns();
    const found = new Set<string>();
    const folders = vscode.workspace.workspaceFolders ?? [];
    this.disposeWatchers();
    for (const pattern of include) {
      if (isAbsolute(pattern) || pattern.startsWith('~')) {
        const abs = expandPath(pattern, undefined);
        if (isGlob(abs)) {
          // A glob outside the workspace (Claude Code's transcripts: `~/.claude/projects/<project>/**/*.jsonl`): its
          // files found by walking from the folder before its glob syntax (in slices of the event loop), and that
          // folder watched; the exclude globs apply to paths relative to it.
          const { base, rest } = globBase(abs, '/');
          const excluded = (p: string) => isExcluded(p, base, excludeGlobs);
          // A folder not made yet (a project with no Claude Code session so far): the nearest folder above it that is
          // there, up to two levels up, is watched for the next folder on the way (not recursively: a recursive watch
          // from there, of the glob, missed the first file in the full host test run), and the files are found again
          // when it comes, the glob then watched from its own folder.
          let at = base;
          const up: string[] = [];
          while (!existsSync(at) && up.length < 2 && dirname(at) !== at) {
            up.unshift(basename(at));
            at = dirname(at);
          }
          if (up.length === 0) this.watch(new vscode.RelativePattern(vscode.Uri.file(base), rest), excluded);
          else if (existsSync(at)) this.watchFor(at, up[0]);
          for (const p of await globFilesAsync(abs, '/', excluded)) found.add(p);
          continue;
        }
        this.watch(new vscode.RelativePattern(vscode.Uri.file(dirname(abs)), basename(abs)));
        if (existsSync(abs) && statSync(abs).isFile()) found.add(abs);
        continue;
      }
      for (const folder of folders) {
        const rp = new vscode.RelativePattern(folder, pattern);
        // Created and changed files are left out by the exclude globs as the search below leaves them out.
        this.watch(rp, (p) => isExcluded(p, folder.uri.fsPath, excludeGlobs));
        const uris = await vscode.workspace.findFiles(rp, exclude || null);
        for (const u of uris) found.add(u.fsPath);
      }
    }
    for (const extra of this.ctx.workspaceState.get<string[]>(EXTRA_FILES_KEY, [])) {
      if (existsSync(extra)) {
        found.add(extra);
        this.watch(new vscode.RelativePattern(vscode.Uri.file(dirname(extra)), basename(extra)));
      }
    }
    const prices = this.pricesFilePath();
    if (prices) {
      const w = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(dirname(prices)), basename(prices)));
      const reprice = () => void this.reloadPrices();
      w.onDidChange(reprice);
      w.onDidCreate(reprice);
      w.onDidDelete(reprice);
      this.watchers.push(w);
    }
    return [...found].sort();
  }

  /**
   * Watches `folder` (not recursively) for `name` to be made: the files are then found again (`rescan`), watched from
   * the new folder.
   */
  private watchFor(folder: string, name: string) {
    const w = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(folder), name), false, true, true);
    w.onDidCreate(() => {
      this.log.appendLine(`[store] ${join(folder, name)} made: the trace files are found again`);
      void this.rescan();
    });
    this.watchers.push(w);
  }

  /** Finds the files again (watching them anew) and reads those not read yet; the others are left as they are. */
  private rescan(): Promise<void> {
    return this.enqueue(async () => {
      const paths = await this.discover();
      for (const p of paths) if (!this.files.has(p)) this.schedule(p);
    });
  }

  /** Watches a pattern; `excluded` files are not picked up when created or changed (a deletion still counts). */
  private watch(pattern: vscode.RelativePattern, excluded?: (path: string) => boolean) {
    const w = vscode.workspace.createFileSystemWatcher(pattern);
    const onWrite = (u: vscode.Uri) => {
      if (!excluded?.(u.fsPath)) this.schedule(u.fsPath);
    };
    w.onDidCreate(onWrite);
    w.onDidChange(onWrite);
    w.onDidDelete((u) => this.schedule(u.fsPath));
    this.watchers.push(w);
  }

  private disposeWatchers() {
    for (const w of this.watchers) w.dispose();
    this.watchers = [];
  }

  /** Debounces bursts of writes to one file. */
  private schedule(path: string) {
    const t = this.timers.get(path);
    if (t) clearTimeout(t);
    this.timers.set(
      path,
      setTimeout(() => {
        this.timers.delete(path);
        void this.update(path);
      }, DEBOUNCE_MS),
    );
  }

  /** A file's path as the views show it (relative to the workspace). */
  displayName(path: string): string {
    return vscode.workspace.asRelativePath(path, (vscode.workspace.workspaceFolders?.length ?? 0) > 1);
  }

  private markUnread(path: string, reason: string, cancelled = false): void {
    this.notRead.set(path, { path, file: this.displayName(path), reason, cancelled });
  }

  /** `markReady`: the first load, after which the store is `ready` (set before its change fires, so the views show it). */
  private async discoverAndLoad(removedBefore: string[] = [], markReady = false): Promise<void> {
    const paths = await this.discover();
    this.notRead.clear();
    this.log.appendLine(`[store] ${paths.length} trace file(s) found`);
    const sizes = new Map(paths.map((p) => [p, safeSize(p)]));
    const big = paths.filter((p) => sizes.get(p)! > WORKER_THRESHOLD_BYTES);
    const small = paths.filter((p) => sizes.get(p)! <= WORKER_THRESHOLD_BYTES);
    // Small files are read here, but not all in one go: a workspace of hundreds of them (Claude Code sessions) would
    // hold the extension host for seconds. The event loop gets a turn whenever INLINE_SLICE_MS have gone by (one file
    // under 1 MB takes ~1–35 ms); other store operations wait in the queue meanwhile.
    // Many small files (Claude Code's transcripts): the reader's code is compiled by short runs between turns first,
    // so that the first files are not read in one go by cold code (~60–110 ms for a 100 KB transcript).
    if (!this.warm && !this.mapping() && small.length >= MANY_SMALL_FILES) {
      this.warm = true;
      await warmUpReaderInTurns(small[0], this.prices, () => new Promise((r) => setImmediate(r))).catch(() => undefined);
    }
    let slice = Date.now();
    // Many small files take seconds (2,000 transcripts: ~5 s): the view's message says how far the reading is.
    const smallBytes = small.length >= MANY_SMALL_FILES ? small.reduce((a, p) => a + sizes.get(p)!, 0) : 0;
    let smallRead = 0;
    for (const p of small) {
      this.readInline(p);
      smallRead += sizes.get(p)!;
      if (Date.now() - slice >= INLINE_SLICE_MS) {
        // The slice's files' copies of Claude Code calls are marked now, a few files' rows at a time: all at once at
        // the end, 2,000 transcripts (~270,000 calls) held the host ~0.4–0.9 s.
        this.syncCopies();
        if (smallBytes) this.setLoading({ file: this.displayName(p), files: small.length, fraction: Math.min(0.99, smallRead / smallBytes) });
        await new Promise<void>((r) => setImmediate(r));
        slice = Date.now();
      }
    }
    if (smallBytes) this.setLoading(undefined, true);
    if (big.length) await this.loadBig(big);
    if (markReady) this.ready = true;
    const changed = this.paths();
    this.fire({ changed, removed: removedBefore.filter((p) => !this.files.has(p)) });
  }

  private readInline(path: string): boolean {
    const prev = this.files.get(path);
    try {
      const t0 = Date.now();
      const r = readTraceFile(path, { pool: this.pool, prices: this.prices, final: false, state: prev, mapping: this.mapping(), displayName: this.displayName(path) });
      this.files.set(path, r.state);
      this.notRead.delete(path);
      if (r.reloaded) {
        this.via.set(path, 'inline');
        this.scans.delete(path);
      }
      if (r.reloaded || r.added) this.log.appendLine(`[store] ${r.reloaded ? 'read' : 'appended'} ${r.added} call(s) from ${r.state.file} in ${Date.now() - t0} ms`);
      return r.reloaded || r.added > 0;
    } catch (e) {
      this.log.appendLine(`[store] cannot read ${path}: ${(e as Error).message}`);
      this.markUnread(path, (e as Error).message);
      return this.files.delete(path);
    }
  }

  private async loadBig(paths: string[]): Promise<void> {
    const script = vscode.Uri.joinPath(this.ctx.extensionUri, 'dist', 'loadWorker.js').fsPath;
    const total = paths.reduce((a, p) => a + safeSize(p), 0);
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'LLM Cost Lens: reading traces', cancellable: true },
      async (progress, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        const mapping = this.mapping();
        const settings = JSON.stringify([this.ctx.extension?.packageJSON?.version ?? 'dev', [...this.overrides.entries()], mapping ?? null]);
        // A preview of the first level only when one file is loaded (the last one left: the others are in the views),
        // and no other file holds Claude Code calls: its parse process does not know them, so could not leave out
        // their copies (a resumed session's), nor the views the other files' copies of its calls.
        this.syncCopies();
        const preview = paths.length === 1 && !this.copies.holdsMessagesBesides(paths[0]) ? this.previewRequest?.() : undefined;
        this.landed = undefined;
        // Progress: the notification's bar, and the store's own (the tree view's message) over all the files' bytes.
        let readBytes = 0;
        // Said after LOADING_EVENT_MS: a load from the cache is over by then, and its files are not said to be read.
        this.loadingFiredAt = Date.now();
        this.setLoading({ file: this.displayName(paths[0]), files: paths.length, fraction: 0 });
        // The notification hears at most every LOADING_EVENT_MS (hundreds of files each report), the increments summed.
        let unreported = 0;
        let reportedAt = 0;
        const report = (p: string, bytes: number, fraction: number) => {
          readBytes += bytes;
          unreported += bytes;
          if (Date.now() - reportedAt >= LOADING_EVENT_MS || readBytes >= total) {
            reportedAt = Date.now();
            progress.report({ increment: total ? (unreported / total) * 100 : 0, message: `${this.displayName(p)} (${Math.round(fraction * 100)}%)` });
            unreported = 0;
          }
          this.setLoading({ file: this.displayName(p), files: paths.length, fraction: total ? Math.min(1, readBytes / total) : 1 });
        };
        const run: LoadRun = { script, mapping, settings, signal: abort.signal, preview, report };
        const load = (p: string) => this.loadOne(p, run);
        // Files parsed by a load worker (one core each) are read LOADS_AT_ONCE at a time; a file parsed in a process of
        // its own (by every core: PARALLEL_BYTES and up, no field mapping) alone. Taken in, and logged, in file order.
        const loads = await startInOrder(paths, load, { limit: LOADS_AT_ONCE, alone: (p) => !mapping && safeSize(p) >= PARALLEL_BYTES, stop: () => abort.signal.aborted });
        // The files not read (cancelled, or never started) are kept as unread (the views say so; a refresh reads them).
        let notRead = paths.length - loads.length;
        let slice = Date.now();
        for (const [k, job] of loads.entries()) {
          const o = await job;
          const p = paths[k];
          if (o.kind === 'read') {
            this.files.set(p, o.state);
            this.notRead.delete(p);
            this.via.set(p, o.via);
            if (o.scan) this.scans.set(p, o.scan);
            else this.scans.delete(p);
            this.log.appendLine(o.line);
            // Its copies of Claude Code calls marked file by file, with a turn between slices: loads that ended
            // together (cache hits) would otherwise be marked all at once when the change fires.
            this.syncCopies();
            if (Date.now() - slice >= INLINE_SLICE_MS) {
              await new Promise<void>((r) => setImmediate(r));
              slice = Date.now();
            }
          } else if (o.kind === 'failed') {
            this.log.appendLine(`[store] cannot read ${p}: ${o.message}`);
            this.markUnread(p, o.message);
          } else {
            notRead++;
            this.markUnread(p, 'loading cancelled', true);
          }
        }
        // (What the notification did not hear yet: a last report can fall within LOADING_EVENT_MS of the one before.)
        if (unreported > 0) progress.report({ increment: total ? (unreported / total) * 100 : 0 });
        for (const p of paths.slice(loads.length)) this.markUnread(p, 'loading cancelled', true);
        if (notRead) this.log.appendLine(`[store] loading cancelled; ${notRead} file(s) not read`);
        // The columns are in (or the file was not read): the views go back to the store's figures, with the change the
        // caller fires for a file read (the preview stays on screen until then), or now when it was not read.
        const previewed = this.previewing;
        this.previewing = undefined;
        this.setLoading(undefined, true);
        const read = previewed !== undefined && loads.length === 1 && (await loads[0]).kind === 'read';
        this.landed = read ? previewed.preview : undefined;
        if (previewed && !read) this._onDidPreview.fire();
      },
    );
    this.warmUp(paths);
  }

  /** The big files being read and how far, while `loadBig` runs; its changes fire `onDidLoadProgress`. */
  loading(): LoadingState | undefined {
    return this.loadingNow;
  }

  private loadingNow: LoadingState | undefined;
  private loadingFiredAt = 0;
  private loadingTimer: NodeJS.Timeout | undefined;

  /**
   * Sets `loading`; the views hear of it at most every LOADING_EVENT_MS, the last change always (a trailing event), or
   * at once with `now` (a load's end).
   */
  private setLoading(l: LoadingState | undefined, now = false): void {
    this.loadingNow = l;
    const fire = () => {
      clearTimeout(this.loadingTimer);
      this.loadingTimer = undefined;
      this.loadingFiredAt = Date.now();
      this._onDidLoadProgress.fire();
    };
    if (now) fire();
    else this.loadingTimer ??= setTimeout(fire, Math.max(0, this.loadingFiredAt + LOADING_EVENT_MS - Date.now()));
  }

  /**
   * Loads one file for `loadBig`, with the field mapping its cache key (`run.settings`) was made with (never throws: the
   * outcome says what happened).
   */
  private async loadOne(p: string, run: LoadRun): Promise<LoadOutcome> {
    const { script, mapping, settings, signal, preview } = run;
    if (signal.aborted) return { kind: 'cancelled' };
    const size = safeSize(p);
    let reported = 0;
    const t0 = Date.now();
    let source = 'thread' as LoadSource;
    let scan: ScanStats | undefined;
    let grownBy: number | undefined;
    try {
      const state = await loadInWorker(
        script,
        { path: p, displayName: this.displayName(p), overrides: [...this.overrides.entries()], mapping, cache: { dir: join(this.ctx.globalStorageUri.fsPath, 'state-cache'), settings }, preview },
        this.pool,
        {
          onPreview: (level) => {
            if (signal.aborted) return;
            this.previewing = { path: p, preview: level };
            this.previewsReceived.push(this.previewing);
            if (this.previewsReceived.length > 8) this.previewsReceived.shift();
            this.log.appendLine(`[store] first level of ${this.displayName(p)} by ${level.dim} (${level.groups.length} group(s)) in ${Date.now() - t0} ms, before its columns`);
            // The file is read (its one load: a preview is asked for one file only); its columns come next.
            this.setLoading({ file: this.displayName(p), files: 1, fraction: 1 }, true);
            this._onDidPreview.fire();
          },
          onSource: (s, info) => {
            source = s;
            scan = info.scan;
            grownBy = info.grownBy;
          },
          signal,
          onProgress: (f) => {
            const bytes = f * size - reported;
            reported = f * size;
            run.report(p, bytes, f);
          },
        },
      );
      // A state read in byte ranges on several threads (or cached from one) has no sample of the bytes before its
      // offset: take it now, so that a rewrite with the same first bytes is caught before the next append.
      if (state.fingerprint && state.fingerprint.tail === undefined) {
        const { tail, tailEnd } = fileFingerprint(p, state.position.offset);
        state.fingerprint = { ...state.fingerprint, tail, tailEnd };
      }
      // The pool took the strings over without indexing them: indexed between turns, before the first append needs it.
      void this.pool.buildLookupInTurns(() => new Promise((r) => setImmediate(r)));
      const how = source === 'cache' ? (grownBy !== undefined ? `from the cache of the file when it was shorter, then ${grownBy} new call(s)` : 'from the cache') : source === 'process' ? 'parsed in a child process' : 'parsed in the load worker';
      const ahead = scan?.startedAhead ? ` (${scan.startedAhead} range worker(s) started ahead)` : '';
      const readers = scan ? `; ${scan.ranges > 1 ? `${scan.ranges} byte ranges${ahead}` : 'one reader'}, ${scan.wasmLines} of ${scan.fastLines} fast lines by the WebAssembly scanner` : '';
      const line = `[store] read ${state.table.length} call(s) from ${state.file} (${(size / 1e6).toFixed(1)} MB) in ${Date.now() - t0} ms (${how}${readers})`;
      return { kind: 'read', state, via: source === 'thread' ? 'worker' : source, scan, line };
    } catch (e) {
      if (e instanceof LoadCancelled) return { kind: 'cancelled' };
      return { kind: 'failed', message: (e as Error).message };
    }
  }

  /** Whether the reader has run on this thread yet (big files are parsed by workers). */
  private warm = false;

  /**
   * Once, after the first big files were read by workers: runs the reader over the end of one of them, off the
   * critical path, so the first append is read by compiled code like the next ones: five short runs between turns
   * (the first pays the code's cold start, ~25-35 ms; the rest less), instead of that much more on the first append.
   */
  private warmUp(paths: string[]): void {
    if (this.warm) return;
    const p = paths.find((x) => this.files.has(x) && !this.mapping());
    if (!p) return;
    this.warm = true;
    setTimeout(() => {
      warmUpReaderInTurns(p, this.prices, () => new Promise((r) => setTimeout(r, 0)))
        .then(({ totalMs, longestMs }) => this.log.appendLine(`[store] reader warmed up on the end of ${this.displayName(p)} in ${totalMs.toFixed(0)} ms (at most ${longestMs.toFixed(0)} ms at a time)`))
        .catch(() => undefined); // only a warm-up
    }, 1000);
  }

  /** Reads a file's change; when only whether it is read changed (an error, a retry), the views are told too. */
  private async updateFile(path: string): Promise<void> {
    const before = this.notRead.get(path)?.reason;
    const changes = this.changes;
    await this.readChange(path);
    if (this.changes === changes && this.notRead.get(path)?.reason !== before) this.fire({ changed: [], removed: [] });
  }

  private async readChange(path: string): Promise<void> {
    if (!existsSync(path)) {
      this.notRead.delete(path);
      if (this.files.delete(path)) {
        this.log.appendLine(`[store] ${this.displayName(path)} was deleted`);
        this.fire({ changed: [], removed: [path] });
      }
      return;
    }
    const prev = this.files.get(path);
    let size: number;
    let fresh: boolean;
    try {
      const fp = fileFingerprint(path, prev?.position.offset ?? 0);
      size = fp.size;
      fresh = !prev || mustReload(prev, fp);
    } catch (e) {
      this.log.appendLine(`[store] cannot read ${path}: ${(e as Error).message}`);
      this.markUnread(path, (e as Error).message);
      if (this.files.delete(path)) this.fire({ changed: [], removed: [path] });
      return;
    }
    // A new, truncated or replaced big file is read from its start like on the first load: in the worker, with
    // progress. The old calls stay until the new ones are in; they go when the file could not be read.
    if (fresh && size > WORKER_THRESHOLD_BYTES) {
      await this.loadBig([path]);
      const now = this.files.get(path);
      if (now && now !== prev) this.fire({ changed: [path], removed: [] });
      else if (now && this.files.delete(path)) this.fire({ changed: [], removed: [path] });
      return;
    }
    if (this.readInline(path)) this.fire({ changed: [path], removed: [] });
  }
}

function safeSize(p: string): number {
  try {
    return statSync(p).size;
  } catch {
    return 0;
  }
}
