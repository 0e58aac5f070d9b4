/**
 * The dashboard panel's host side with a stubbed `vscode` module: every request of the page is answered, a failure
 * included (the page never waits for ever), and a new query is announced with `loading` before its figures.
 */
import * as assert from 'node:assert/strict';
import Module = require('node:module');
import type { DashboardActions, DashboardPanel as Panel } from '../../../src/panels/dashboardPanel';

type Listener = (v: unknown) => unknown;

class EventEmitter {
  private listeners: Listener[] = [];
  event = (l: Listener) => {
    this.listeners.push(l);
    return { dispose: () => (this.listeners = this.listeners.filter((x) => x !== l)) };
  };
  fire(v: unknown) {
    for (const l of this.listeners) l(v);
  }
  dispose() {
    this.listeners = [];
  }
}

const posted: Record<string, unknown>[] = [];
const errors: string[] = [];
const executed: unknown[][] = [];
let saveTarget: { fsPath: string } | undefined;
let receive: Listener | undefined;
const config: Record<string, unknown> = {};

const webviewPanel = {
  webview: {
    html: '',
    options: {},
    cspSource: 'vscode-resource:',
    asWebviewUri: (u: unknown) => u,
    postMessage: async (m: Record<string, unknown>) => {
      posted.push(m);
      return true;
    },
    onDidReceiveMessage: (l: Listener) => {
      receive = l;
      return { dispose() {} };
    },
  },
  iconPath: undefined as unknown,
  onDidDispose: () => ({ dispose() {} }),
  reveal() {},
  dispose() {},
};

const uri = (fsPath: string) => ({ fsPath, toString: () => fsPath });
const vscodeStub = {
  EventEmitter,
  ViewColumn: { One: 1, Beside: -2 },
  Uri: { joinPath: (u: { fsPath: string }, ...p: string[]) => uri([u.fsPath, ...p].join('/')), file: uri },
  window: {
    activeTextEditor: undefined,
    createWebviewPanel: () => webviewPanel,
    showSaveDialog: async () => saveTarget,
    showErrorMessage: async (m: string) => void errors.push(m),
    showInformationMessage: async () => undefined,
  },
  workspace: {
    workspaceFolders: undefined,
    getConfiguration: () => ({ get: (k: string, d: unknown) => config[k] ?? d }),
    asRelativePath: (p: string | { fsPath: string }) => (typeof p === 'string' ? p : p.fsPath).replace(/^\/work\//, ''),
  },
  commands: { executeCommand: async (...a: unknown[]) => void executed.push(a) },
};

describe('DashboardPanel (host side, stubbed vscode)', () => {
  const M = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
  const load = M._load;
  let DashboardPanel: typeof Panel;
  let tablesFail = false;

  const store = {
    tables: () => {
      if (tablesFail) throw new Error('the store is gone');
      return [];
    },
    states: () => [],
    onDidChange: () => ({ dispose() {} }),
    pricesFilePath: () => '/work/config/prices.json',
  };
  const view = { range: '7d', groupBy: ['feature'] };
  const ctx = { extensionUri: uri('/ext') };

  function open(actions: Partial<DashboardActions> = {}): Panel {
    const all: DashboardActions = {
      revealInTree: async () => undefined,
      openCostliest: async () => undefined,
      signals: () => undefined,
      whatIf: async () => 'No price.',
      ...actions,
    };
    return DashboardPanel.createOrShow(ctx as never, store as never, view as never, all);
  }

  async function send(m: unknown): Promise<void> {
    await receive!(m);
  }

  before(() => {
    M._load = function (request: string, ...rest: unknown[]) {
      return request === 'vscode' ? vscodeStub : load.call(this, request, ...rest);
    };
    // Loaded after the stub is in place (a static import would load the real, absent, module first).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    DashboardPanel = (require('../../../src/panels/dashboardPanel') as typeof import('../../../src/panels/dashboardPanel')).DashboardPanel;
  });

  after(() => {
    M._load = load;
  });

  beforeEach(() => {
    posted.length = 0;
    errors.length = 0;
    executed.length = 0;
    tablesFail = false;
    saveTarget = undefined;
  });

  afterEach(() => DashboardPanel.instance?.dispose());

  it('answers ready with a snapshot that names the trace globs, the prices file and the cost source', async () => {
    config.traceFiles = ['**/traces/**/*.jsonl', 42, ''];
    config.costSource = 'recorded';
    open();
    await send({ type: 'ready' });
    const snap = posted.find((m) => m.type === 'snapshot')?.snapshot as { env: unknown; allTime: unknown };
    assert.deepEqual(snap.env, { traceFiles: ['**/traces/**/*.jsonl'], pricesFile: 'config/prices.json', costSource: 'recorded' });
    assert.deepEqual(snap.allTime, { calls: 0, latestMs: null });
    delete config.traceFiles;
    delete config.costSource;
  });

  it('says loading before the figures of a new query', async () => {
    open();
    await send({ type: 'setQuery', query: { range: '24h', groupBy: 'model', filters: [] } });
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(
      posted.map((m) => m.type),
      ['loading', 'snapshot'],
    );
    assert.deepEqual(posted[0], { type: 'loading', loading: true });
  });

  it('reports a snapshot that could not be built instead of leaving the page updating', async () => {
    open({ snapshot: async () => Promise.reject(new Error('worker exited')) });
    tablesFail = true;
    await send({ type: 'setQuery', query: { range: '24h', groupBy: 'model', filters: [] } });
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(posted.at(-1), { type: 'failed', request: 'snapshot', message: 'the store is gone' });
  });

  it('answers a query it does not accept', async () => {
    open();
    await send({ type: 'setQuery', query: { range: 'forever', groupBy: 'model', filters: [] } });
    assert.deepEqual(posted.at(-1), { type: 'failed', request: 'snapshot', message: 'the dashboard sent a query the extension does not accept' });
  });

  it('ends "Re-pricing…" when the what-if fails', async () => {
    open({ whatIf: async () => Promise.reject(new Error('the signals worker stopped')) });
    await send({ type: 'whatIf', model: 'gpt-4o-mini' });
    assert.deepEqual(posted.at(-1), { type: 'whatIf', error: 'Re-pricing failed: the signals worker stopped' });
  });

  it('tells the page and the user why an export failed', async () => {
    open();
    saveTarget = uri('/nonexistent-llm-cost-lens-dir/sub/llm-cost.csv');
    await send({ type: 'export', format: 'csv' });
    const last = posted.at(-1)!;
    assert.equal(last.type, 'failed');
    assert.equal(last.request, 'export');
    assert.match(String(last.message), /ENOENT/);
    assert.equal(errors.length, 1);
    assert.match(errors[0], /^LLM Cost Lens: the export failed: ENOENT.*llm-cost\.csv/);
  });

  it('reports a failed row action', async () => {
    open({ revealInTree: async () => Promise.reject(new Error('no tree')) });
    await send({ type: 'revealInTree', filters: [{ dim: 'feature', value: 'search' }] });
    assert.deepEqual(posted.at(-1), { type: 'failed', request: 'revealInTree', message: 'no tree' });
  });

  it('runs only the commands the page may ask for', async () => {
    open();
    await send({ type: 'command', command: 'pickFile' });
    await send({ type: 'command', command: 'openPricesFile', models: ['acme-1'] });
    await send({ type: 'command', command: 'workbench.action.terminal.new' });
    assert.deepEqual(executed, [['llmCostLens.pickFile'], ['llmCostLens.openPricesFile', ['acme-1']]]);
  });
});
