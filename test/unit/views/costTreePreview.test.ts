/**
 * The Cost view while a big file's first level comes ahead of its columns, with a stubbed `vscode` module: the real
 * CostTreeProvider over a store that hands it a level ahead, then the file's table. The level is shown, with the range's
 * total; once the columns are in it stays while the index regroups them in slices (not the file's old figures, nor
 * "Grouping the calls…"), then the tree shows the same groups; a level summed for another grouping, or whose load
 * failed, is not shown.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import Module = require('node:module');
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CallTable, StringPool } from '../../../src/core/callTable';
import { type LevelPreview, previewLevel, tablePart } from '../../../src/core/levelPreview';
import { PriceBook } from '../../../src/core/pricing';
import { sampleTrace } from '../../../src/core/sampleTrace';
import { readTraceFile } from '../../../src/node/traceReader';
import type { CostItem, CostTreeProvider as Provider } from '../../../src/views/costTree';

class EventEmitter<T> {
  private readonly listeners: ((e: T) => void)[] = [];
  readonly event = (f: (e: T) => void) => {
    this.listeners.push(f);
    return { dispose() {} };
  };
  fire(e: T) {
    for (const f of [...this.listeners]) f(e);
  }
  dispose() {}
}

const vscodeStub = {
  EventEmitter,
  TreeItem: class {
    constructor(
      readonly label: string,
      readonly collapsibleState: number,
    ) {}
  },
  ThemeIcon: class {
    constructor(readonly id: string) {}
  },
  ThemeColor: class {},
  MarkdownString: class {},
  TreeItemCollapsibleState: { None: 0, Collapsed: 1, Expanded: 2 },
};

/** What the view shows first: `kind value calls`, or a message's text. */
const top = (items: CostItem[]) => items.map((i) => (i.kind === 'group' ? `group ${i.node.value} ${i.node.calls}` : i.kind === 'preview' ? `preview ${i.figures.value} ${i.figures.calls}` : i.kind === 'message' ? i.text : i.kind));
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the Cost view with a first level ahead of the columns (stubbed vscode)', function () {
  this.timeout(60000);
  const M = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
  const load = M._load;
  let CostTreeProvider: typeof Provider;
  let dir: string;
  let oldTable: CallTable;
  let newTable: CallTable;
  const pool = new StringPool();

  // A store of one big file (more than the 200,000 calls from which the tree regroups in slices).
  const files = new Map<string, CallTable>();
  let previewing: { path: string; preview: LevelPreview } | undefined;
  let landed: LevelPreview | undefined;
  const onDidChange = new EventEmitter<unknown>();
  const onDidPreview = new EventEmitter<void>();
  const store = {
    ready: true,
    onDidChange: onDidChange.event,
    onDidPreview: onDidPreview.event,
    previewRequest: undefined as unknown,
    tables: () => [...files.values()],
    tablesBesides: (p: string) => [...files].filter(([k]) => k !== p).map(([, t]) => t),
    preview: () => previewing,
    landedPreview: () => landed,
    paths: () => [...files.keys()],
    unreadFiles: () => [],
  };
  const view = { groupBy: ['feature', 'user'], costSource: 'auto', sinceMs: () => undefined, range: 'all', onDidChange: new EventEmitter<void>().event };
  const PATH = '/w/traces/big.jsonl';

  before(() => {
    M._load = function (request: string, ...rest: unknown[]) {
      return request === 'vscode' ? vscodeStub : load.call(this, request, ...rest);
    };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    CostTreeProvider = (require('../../../src/views/costTree') as typeof import('../../../src/views/costTree')).CostTreeProvider;
    dir = mkdtempSync(join(tmpdir(), 'lcl-tree-preview-'));
    const read = (calls: number, seed: number) => {
      const p = join(dir, `t${seed}.jsonl`);
      writeFileSync(p, sampleTrace(Date.parse('2026-11-22T00:00:00Z'), calls, seed));
      return readTraceFile(p, { pool, prices: new PriceBook(), final: true, displayName: 'big.jsonl' }).state.table;
    };
    oldTable = read(210_000, 1);
    newTable = read(230_000, 2);
  });
  after(() => {
    M._load = load;
    rmSync(dir, { recursive: true, force: true });
  });

  /** A tree over the old file, its index built. */
  async function treeOverOldFile(): Promise<Provider> {
    files.clear();
    files.set(PATH, oldTable);
    previewing = landed = undefined;
    const tree = new CostTreeProvider(store as never, view as never);
    tree.getChildren();
    while (tree.getChildren()[0]?.kind !== 'group') await settle(20);
    return tree;
  }

  it('shows the level and its total ahead, keeps it while the index regroups the new calls, then the same groups', async () => {
    const tree = await treeOverOldFile();
    const oldTop = top(tree.getChildren());
    const level = previewLevel([tablePart(newTable)], { dim: 'feature', source: 'auto', sinceMs: undefined })!;
    previewing = { path: PATH, preview: level };
    onDidPreview.fire();
    const ahead = top(tree.getChildren());
    assert.ok(ahead.every((t) => t.startsWith('preview ')), ahead.join(' | '));
    assert.notDeepEqual(ahead.map((t) => t.replace('preview ', '')), oldTop.map((t) => t.replace('group ', '')));
    assert.equal(tree.totals()!.calls, newTable.length, "the range's total is the level's");
    assert.equal(tree.previewFile(), PATH);
    // The columns are in: the store drops the level (it landed) and says it changed.
    previewing = undefined;
    landed = level;
    files.set(PATH, newTable);
    onDidChange.fire({});
    assert.deepEqual(top(tree.getChildren()), ahead, 'the level stays while the index regroups (not the old figures)');
    assert.equal(tree.totals()?.calls, newTable.length);
    assert.equal(tree.previewFile(), undefined);
    while (tree.getChildren()[0]?.kind !== 'group') await settle(20);
    assert.deepEqual(top(tree.getChildren()).map((t) => t.replace('group ', '')), ahead.map((t) => t.replace('preview ', '')), 'the same groups and calls');
    assert.equal(tree.totals()!.calls, newTable.length);
  });

  it('does not show a level summed for another grouping, nor keep one whose file was not read', async () => {
    let tree = await treeOverOldFile();
    const oldTop = top(tree.getChildren());
    previewing = { path: PATH, preview: previewLevel([tablePart(newTable)], { dim: 'model', source: 'auto', sinceMs: undefined })! };
    onDidPreview.fire();
    assert.deepEqual(top(tree.getChildren()), oldTop, 'grouped by feature, not model');
    assert.equal(tree.previewFile(), undefined);

    tree = await treeOverOldFile();
    const level = previewLevel([tablePart(newTable)], { dim: 'feature', source: 'auto', sinceMs: undefined })!;
    previewing = { path: PATH, preview: level };
    onDidPreview.fire();
    assert.ok(top(tree.getChildren()).every((t) => t.startsWith('preview ')));
    // The load failed after the level came: the store drops it without it landing; the old calls are still there.
    previewing = undefined;
    onDidPreview.fire();
    assert.deepEqual(top(tree.getChildren()), oldTop);
  });
});
