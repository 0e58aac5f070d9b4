import * as assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { LlmCostLensApi } from '../../../src/extension';
import { ViewState, type ViewClock } from '../../../src/services/viewState';
import { runSignalsJob, type SignalsJob } from '../../../src/node/signalsWorkerJobs';
import type { CostItem } from '../../../src/views/costTree';
import { select, stats } from '../../../src/core/analysis';
import { formatGroupCost } from '../../../src/core/format';
import { sampleTrace } from '../../../src/core/sampleTrace';
import { previewGroups, previewLevel, tablePart } from '../../../src/core/levelPreview';

const EXT_ID = 'llm-cost-lens.llm-cost-lens';

function workspaceDir(): string {
  const f = vscode.workspace.workspaceFolders?.[0];
  assert.ok(f, 'the tests run in the fixture workspace');
  return f.uri.fsPath;
}

/** Resolves on the next store change that satisfies `pred`, or rejects after `ms`. */
function changeWhere(api: LlmCostLensApi, pred: () => boolean, ms = 15000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (pred()) return resolve();
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error('timed out waiting for the trace store to change'));
    }, ms);
    const sub = api.store.onDidChange(() => {
      if (pred()) {
        clearTimeout(timer);
        sub.dispose();
        resolve();
      }
    });
  });
}

function describeItem(api: LlmCostLensApi, el: CostItem): { label: string; description: string } {
  const item = api.tree.getTreeItem(el);
  const label = typeof item.label === 'string' ? item.label : item.label?.label ?? '';
  return { label, description: String(item.description ?? '') };
}

const line = (feature: string, tokens: number) =>
  JSON.stringify({ model: 'gpt-4o', input_tokens: tokens, output_tokens: 0, timestamp: '2026-11-22T10:00:00Z', metadata: { feature, user_id: 'live' } }) + '\n';

describe('LLM Cost Lens in VS Code', function () {
  let api: LlmCostLensApi;

  before(async function () {
    const ext = vscode.extensions.getExtension<LlmCostLensApi>(EXT_ID);
    assert.ok(ext, `extension ${EXT_ID} is installed`);
    api = await ext.activate();
    await api.ready;
    await vscode.commands.executeCommand('llmCostLens.timeRange', 'all');
    await vscode.commands.executeCommand('llmCostLens.groupBy', ['feature', 'user', 'model']);
  });

  it('activates on the fixture workspace and reads its trace file', () => {
    const names = api.store.paths().map((p) => p.slice(workspaceDir().length + 1));
    assert.deepEqual(names, ['traces/app.jsonl']);
    assert.equal(api.store.tables()[0].length, 4);
  });

  it('shows features with cost, share and calls, the unattributed bucket, and drills down to calls', async () => {
    const roots = api.tree.getChildren();
    const shown = roots.map((r) => describeItem(api, r));
    assert.deepEqual(shown, [
      { label: 'search', description: '$0.0404 · 68% · 3 calls · 1 unpriced' },
      { label: 'summarization', description: '$0.0187 · 32% · 1 call' },
      { label: '(unattributed)', description: '$0.00 · 0% · 0 calls' },
    ]);
    // Unpriced calls show as a warning sign, which the view does not cut; plain groups have an uncoloured icon.
    const icons = roots.map((r) => api.tree.getTreeItem(r).iconPath as vscode.ThemeIcon);
    assert.deepEqual(icons.map((i) => [i.id, (i.color as { id?: string } | undefined)?.id]), [['warning', 'list.warningForeground'], ['layers', undefined], ['layers', undefined]]);
    const users = api.tree.getChildren(roots[0]).map((r) => describeItem(api, r).label);
    assert.deepEqual(users, ['u_1', 'u_2', 'u_3']);
    const models = api.tree.getChildren(api.tree.getChildren(roots[0])[0]);
    assert.deepEqual(models.map((m) => describeItem(api, m).label), ['o3']);
    const calls = api.tree.getChildren(models[0]);
    const item = api.tree.getTreeItem(calls[0]);
    // The parent names the model: the row says the cost, the time in UTC and the record.
    assert.equal(item.label, '$0.0300');
    assert.match(String(item.description), /^Nov 21 (2026 )?09:15 UTC · app\.jsonl:3$/);
    assert.deepEqual(item.command?.arguments, ['traces/app.jsonl', 3]);
    await vscode.commands.executeCommand(item.command!.command, ...item.command!.arguments!);
    const editor = vscode.window.activeTextEditor;
    assert.ok(editor?.document.fileName.endsWith('app.jsonl'));
    assert.equal(editor?.selection.active.line, 2);
  });

  it('reports the malformed line in the Problems panel', () => {
    const uri = vscode.Uri.file(join(workspaceDir(), 'traces', 'app.jsonl'));
    const diags = vscode.languages.getDiagnostics(uri);
    assert.equal(diags.length, 1);
    assert.equal(diags[0].range.start.line, 3);
    assert.match(diags[0].message, /Malformed JSON/);
    assert.doesNotMatch(diags[0].message, /line 1 column|at position/, 'a position within the line, not a line 1 of its own');
    assert.equal(diags[0].severity, vscode.DiagnosticSeverity.Error);
  });

  it('puts each file\'s problems on that file, whatever its name sorts like (case, punctuation)', async () => {
    // Plain and locale sort orders differ for these names (`Zeta` < `_under` < `app` against `_under` < `app` < `Zeta`).
    const zeta = join(workspaceDir(), 'traces', 'Zeta.jsonl');
    const under = join(workspaceDir(), 'traces', '_under.jsonl');
    try {
      writeFileSync(under, line('search', 100));
      writeFileSync(zeta, line('search', 100) + '{not json\n');
      await changeWhere(api, () => api.store.has(zeta) && api.store.has(under));
      // (The Problems panel is set by another listener of the same change: polled.)
      for (let i = 0; i < 100 && vscode.languages.getDiagnostics(vscode.Uri.file(zeta)).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      const d = vscode.languages.getDiagnostics(vscode.Uri.file(zeta));
      assert.deepEqual(d.map((x) => x.range.start.line), [1], 'Zeta.jsonl line 2');
      assert.equal(vscode.languages.getDiagnostics(vscode.Uri.file(under)).length, 0, '_under.jsonl has no problem');
    } finally {
      rmSync(zeta, { force: true });
      rmSync(under, { force: true });
      await changeWhere(api, () => !api.store.has(zeta) && !api.store.has(under));
    }
  });

  it('names the parent in the tooltip, with no empty first row, and explains unpriced calls', () => {
    const search = api.tree.getChildren()[0];
    // appendText writes spaces as &nbsp;
    const tip = (el: CostItem) => (api.tree.resolveTreeItem(api.tree.getTreeItem(el), el).tooltip as vscode.MarkdownString).value.replace(/&nbsp;/g, ' ');
    const top = tip(search);
    assert.match(top, /\n\n\| Cost \| \$0\.0404 \|\n\|---\|---:\|\n\| Share \| 68% of the total cost \|/);
    assert.match(top, /\$\(warning\) 1 call has no price and is not counted in the cost above/);
    const user = api.tree.getChildren(search)[0];
    assert.match(tip(user), /\| Share \| \d+% of the cost of feature search \|/);
  });

  it('shows the spend of the range in the status bar', () => {
    assert.equal(api.statusBar.item.text, '$(graph-line) $0.0592 · all time $(warning)');
  });

  it('regroups with the group-by command', async () => {
    await vscode.commands.executeCommand('llmCostLens.groupBy', ['model', 'feature']);
    const labels = api.tree.getChildren().map((r) => describeItem(api, r).label);
    assert.deepEqual(labels, ['o3', 'claude-sonnet-4-5', 'gpt-4o', 'acme-internal-llm-v1', '(unattributed)']);
    await vscode.commands.executeCommand('llmCostLens.groupBy', ['feature', 'user', 'model']);
  });

  it('copies a node’s figures as Markdown', async () => {
    const md = (await vscode.commands.executeCommand<string>('llmCostLens.copyMarkdown', api.tree.getChildren()[1]))!;
    assert.match(md, /\*\*feature: summarization\*\*/);
    assert.match(md, /\| Cost \| \$0\.0187 \(32% of the total cost\) \|\n\|---\|---:\|/);
    assert.doesNotMatch(md, /\| \| \|/, 'no empty first row');
    assert.equal(await vscode.env.clipboard.readText(), md);
  });

  it('shows the cost of each tagged call site in CodeLens', async () => {
    await api.sites.rebuild();
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(join(workspaceDir(), 'src', 'app.py')));
    const lensesNow = async () => ((await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri)) ?? []).map((l) => [l.range.start.line + 1, l.command?.title ?? '']);
    const shown = await lensesNow();
    assert.equal(shown.length, 2, JSON.stringify(shown));
    // Line 5: the record names this line as its call site (recorded on another machine: /srv/app/src/app.py:5).
    assert.equal(shown[0][0], 5);
    assert.match(String(shown[0][1]), /^\$\(graph-line\) all time: \$0\.0187 · 1 call · p95 \$0\.0187 · cache hit 71%.* · recorded at this line$/);
    // Line 9: feature "search" and model "gpt-4o" (user is dynamic): one call of $0.01042.
    assert.equal(shown[1][0], 9);
    assert.match(String(shown[1][1]), /^\$\(graph-line\) all time: \$0\.0104 · 1 call · p95 \$0\.0104 · cache hit 34%.* \(user dynamic\)$/);
    // Line 17: only a dynamic feature, no call recorded there: a lens only with showEmpty.
    const cfg = vscode.workspace.getConfiguration('llmCostLens');
    await cfg.update('codeLens.showEmpty', true, vscode.ConfigurationTarget.Workspace);
    try {
      const all = await lensesNow();
      assert.equal(all.length, 3, JSON.stringify(all));
      assert.equal(all[2][0], 17);
      assert.match(String(all[2][1]), /all time: no calls recorded at this line \(tags are dynamic: feature\)/);
    } finally {
      await cfg.update('codeLens.showEmpty', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  describe('a watched file', () => {
    const live = () => join(workspaceDir(), 'traces', 'live.jsonl');
    after(() => rmSync(live(), { force: true }));

    it('is picked up when created, and appended lines reach the tree', async () => {
      writeFileSync(live(), line('live-feature', 1000));
      await changeWhere(api, () => api.store.has(live()));
      const find = () => api.tree.getChildren().map((r) => describeItem(api, r)).find((r) => r.label === 'live-feature');
      assert.equal(find()?.description, '$0.0025 · 4.1% · 1 call');
      appendFileSync(live(), line('live-feature', 1000) + line('live-feature', 2000));
      await changeWhere(api, () => api.store.tables().find((t) => t.file.endsWith('live.jsonl'))?.length === 3);
      assert.match(find()!.description, /^\$0\.0100 · .* · 3 calls$/);
    });

    it('is reloaded when truncated', async () => {
      writeFileSync(live(), line('after-truncation', 4000));
      await changeWhere(api, () => api.store.tables().find((t) => t.file.endsWith('live.jsonl'))?.length === 1);
      const labels = api.tree.getChildren().map((r) => describeItem(api, r).label);
      assert.ok(labels.includes('after-truncation'));
      assert.ok(!labels.includes('live-feature'));
    });

    it('disappears from the views when deleted', async () => {
      rmSync(live());
      await changeWhere(api, () => !api.store.has(live()));
      const labels = api.tree.getChildren().map((r) => describeItem(api, r).label);
      assert.ok(!labels.includes('after-truncation'));
      assert.equal(api.statusBar.item.text, '$(graph-line) $0.0592 · all time $(warning)');
    });
  });

  describe('a Claude Code transcript', () => {
    const session = () => join(workspaceDir(), 'traces', 'claude-session.jsonl');
    const table = () => api.store.tables().find((t) => t.file.endsWith('claude-session.jsonl'));
    // One line per streamed reading of an assistant message; a later line of the same message.id supersedes it.
    const cc = (id: number, out: number) =>
      JSON.stringify({
        type: 'assistant',
        sessionId: 's-host',
        uuid: `u${id}-${out}`,
        timestamp: new Date(Date.parse('2026-11-22T09:00:00Z') + id * 60_000 + out).toISOString(),
        message: { id: `msg_${id}`, model: 'claude-sonnet-4-5-20250929', usage: { input_tokens: 12, output_tokens: out, cache_read_input_tokens: 2000, cache_creation_input_tokens: 0 } },
      }) + '\n';
    const treeMatchesCore = () => {
      const want = stats(select(api.store.tables(), { sinceMs: api.view.sinceMs() }), api.view.costSource);
      const got = api.tree.totals();
      return !!got && got.calls === want.calls && Math.abs(got.costUsd - want.costUsd) < 1e-9;
    };
    after(async () => {
      rmSync(session(), { force: true });
      await changeWhere(api, () => !api.store.has(session()));
    });

    it('takes a message completed by a later line into the tree in place of its first reading, without regrouping', async () => {
      writeFileSync(session(), cc(1, 1) + cc(2, 1));
      await changeWhere(api, () => table()?.length === 2);
      api.tree.getChildren();
      assert.ok(treeMatchesCore(), 'the tree has the two messages');
      const rebuilds = api.tree.indexRebuilds;
      const costBefore = api.tree.totals()!.costUsd;
      appendFileSync(session(), cc(1, 400) + cc(3, 1));
      await changeWhere(api, () => table()?.length === 3 && table()!.edits > 0);
      api.tree.getChildren();
      const t = table()!;
      assert.deepEqual([...t.outputTokens.subarray(0, t.length)], [400, 1, 1], 'msg_1 keeps its final usage, msg_3 is new');
      assert.ok(treeMatchesCore(), 'the tree matches the core after the replacement');
      assert.ok(api.tree.totals()!.costUsd > costBefore, 'the completed message costs more');
      assert.equal(api.tree.indexRebuilds, rebuilds, 'the tree was updated in place, not regrouped');
    });

    it('counts the messages a resumed session copied once, and again in that session once the original is deleted', async () => {
      // Sorts after claude-session.jsonl: the original keeps the two messages, the copies are left out.
      const resumed = join(workspaceDir(), 'traces', 'claude-zresumed.jsonl');
      const calls = () => api.tree.totals()?.calls;
      try {
        api.tree.getChildren();
        const before = calls()!;
        const copy = (l: string) => JSON.stringify({ ...JSON.parse(l), sessionId: 's-resumed' }) + '\n';
        writeFileSync(resumed, copy(cc(1, 400)) + copy(cc(2, 1)) + cc(9, 5));
        await changeWhere(api, () => api.store.has(resumed));
        api.tree.getChildren();
        assert.equal(calls(), before + 1, 'only the resumed session\'s own message is new');
        assert.ok(treeMatchesCore());
        assert.equal(api.store.tables().find((t) => t.file.endsWith('claude-zresumed.jsonl'))?.copies, 2);
        rmSync(session());
        await changeWhere(api, () => !api.store.has(session()));
        api.tree.getChildren();
        assert.equal(calls(), before - 3 + 3, 'the copies count again: the session lost its 3 messages, the resumed one holds 3');
        assert.ok(treeMatchesCore());
      } finally {
        rmSync(resumed, { force: true });
        await changeWhere(api, () => !api.store.has(resumed));
      }
    });
  });

  describe('a big trace file', () => {
    const big = () => join(workspaceDir(), 'traces', 'big.jsonl');
    after(async () => {
      rmSync(big(), { force: true });
      await changeWhere(api, () => !api.store.has(big()), 30000);
    });

    it('is read in a worker and grouped in slices, and the tree and status bar then match the core', async function () {
      this.timeout(180000);
      // 250,000 calls (~90 MB): a child process parses it in byte ranges (LLM_COST_LENS_THREADS_BYTES, set by
      // scripts/testHost.mjs: by default one reader would take a file this size); the tree regroups in slices.
      writeFileSync(big(), sampleTrace(Date.parse('2026-11-22T00:00:00Z'), 250_000, 5));
      await changeWhere(api, () => (api.store.tables().find((t) => t.file.endsWith('big.jsonl'))?.length ?? 0) > 0, 120000);
      const all = api.store.tables().reduce((a, t) => a + t.length, 0);
      assert.ok(all >= 250_000, String(all));
      // Parsed in a child process of the extension host (its memory leaves with it); a new file: no cache to take.
      assert.equal(api.store.readVia(big()), 'process');
      // ...by the fast scanner's WebAssembly loop, in the runtime VS Code gives extensions.
      const scan = api.store.scanStats(big());
      assert.ok(scan && scan.ranges >= 2 && scan.wasmLines >= 0.9 * 250_000, `ranges and lines read by WebAssembly: ${JSON.stringify(scan)}`);
      // ...with the range workers the process started first thing (told how many by the extension host).
      assert.ok((scan.startedAhead ?? 0) >= 1, `range workers started ahead: ${JSON.stringify(scan)}`);
      // While the index is rebuilt the tree answers from what it had; wait until its figures cover every call.
      const t0 = Date.now();
      while (api.tree.totals()?.calls !== all) {
        assert.ok(Date.now() - t0 < 60000, 'the tree never caught up with the store');
        await new Promise((r) => setTimeout(r, 50));
      }
      const want = stats(select(api.store.tables(), { sinceMs: api.view.sinceMs() }), api.view.costSource);
      const roots = api.tree.getChildren().filter((r): r is Extract<CostItem, { kind: 'group' }> => r.kind === 'group');
      assert.equal(roots.reduce((a, r) => a + r.node.calls, 0), want.calls);
      assert.ok(Math.abs(roots.reduce((a, r) => a + r.node.costUsd, 0) - want.costUsd) < 1e-6);
      // Its first level came ahead of its columns, summed by the parse process as soon as the file was read: with the
      // other files' calls, the groups and figures of the tree's first level now. Gone once the columns were in.
      const aheadMatchesTree = (ahead: (typeof api.store.previewsReceived)[number] | undefined) => {
        assert.ok(ahead, 'a first level came ahead of the columns');
        assert.equal(ahead.preview.dim, 'feature');
        const level = previewGroups(ahead.preview, previewLevel(api.store.tablesBesides(big()).map(tablePart), ahead.preview)!.groups);
        const byValue = new Map(roots.map((r) => [r.node.value, r.node]));
        for (const g of level) {
          const n = byValue.get(g.value);
          assert.ok(n, `${g.value} is in the tree`);
          assert.deepEqual([g.calls, g.pricedCalls], [n.calls, n.pricedCalls], g.value);
          assert.ok(Math.abs(g.costUsd - n.costUsd) <= 1e-9 * Math.max(1, n.costUsd), `${g.value}: ${g.costUsd} vs ${n.costUsd}`);
        }
        assert.equal(level.length, roots.length);
        assert.equal(api.store.preview(), undefined);
      };
      aheadMatchesTree(api.store.previewsReceived.find((p) => p.path === big()));
      api.statusBar.update();
      assert.ok(api.statusBar.item.text.includes(formatGroupCost(want)), api.statusBar.item.text);
      // Read again (as a new window would) once the parse process has written its state cache: from the cache, and
      // its first level comes ahead of the columns again, summed from the cached columns read first.
      const t1 = Date.now();
      let earlier = new Set(api.store.previewsReceived);
      for (;;) {
        earlier = new Set(api.store.previewsReceived);
        await api.store.refresh();
        if (api.store.readVia(big()) === 'cache') break;
        assert.ok(Date.now() - t1 < 60000, `never read from the cache: ${api.store.readVia(big())}`);
        await new Promise((r) => setTimeout(r, 500));
      }
      while (api.tree.totals()?.calls !== all) {
        assert.ok(Date.now() - t1 < 90000, 'the tree never caught up with the store');
        await new Promise((r) => setTimeout(r, 50));
      }
      aheadMatchesTree(api.store.previewsReceived.find((p) => p.path === big() && !earlier.has(p)));
    });
  });

  describe('the exclude setting', () => {
    const skippedDir = () => join(workspaceDir(), 'traces', 'skipped');
    const kept = () => join(workspaceDir(), 'traces', 'kept.jsonl');
    after(async () => {
      rmSync(skippedDir(), { recursive: true, force: true });
      rmSync(kept(), { force: true });
      await vscode.workspace.getConfiguration('llmCostLens').update('exclude', undefined, vscode.ConfigurationTarget.Workspace);
      await api.store.refresh();
    });

    it('leaves out a created or changed file it excludes, as the first scan does', async () => {
      await vscode.workspace.getConfiguration('llmCostLens').update('exclude', ['**/node_modules/**', '**/skipped/**'], vscode.ConfigurationTarget.Workspace);
      await api.store.refresh();
      mkdirSync(skippedDir());
      const skipped = join(skippedDir(), 'a.jsonl');
      writeFileSync(skipped, line('excluded-feature', 1000));
      writeFileSync(kept(), line('kept-feature', 1000));
      await changeWhere(api, () => api.store.has(kept()));
      appendFileSync(skipped, line('excluded-feature', 1000));
      await new Promise((r) => setTimeout(r, 1500));
      assert.ok(!api.store.has(skipped), 'the watcher left the excluded file out');
      await api.store.refresh();
      assert.ok(!api.store.has(skipped), 'the scan leaves it out');
      assert.ok(api.store.has(kept()));
    });
  });

  /**
   * A folder outside the workspace for the tests of a describe, made before them and removed after them, with the
   * `traceFiles` setting put back: `read(glob)` adds the glob (under the folder) to the defaults and reads again.
   */
  const outsideFolder = (prefix: string) => {
    const folder = {
      dir: '',
      read: async (glob: string) => {
        const defaults = vscode.workspace.getConfiguration('llmCostLens').inspect<string[]>('traceFiles')?.defaultValue ?? [];
        await vscode.workspace.getConfiguration('llmCostLens').update('traceFiles', [...defaults, `${folder.dir}/${glob}`], vscode.ConfigurationTarget.Workspace);
        await api.store.refresh();
      },
    };
    before(() => {
      folder.dir = mkdtempSync(join(tmpdir(), prefix));
    });
    after(async () => {
      await vscode.workspace.getConfiguration('llmCostLens').update('traceFiles', undefined, vscode.ConfigurationTarget.Workspace);
      await api.store.refresh();
      rmSync(folder.dir, { recursive: true, force: true });
    });
    return folder;
  };

  describe('an absolute glob in the traceFiles setting (Claude Code transcripts outside the workspace)', () => {
    const outside = outsideFolder('lcl-projects-');

    it('reads the files it matches outside the workspace, and one created there afterwards', async () => {
      const project = join(outside.dir, '-home-me-app');
      mkdirSync(project);
      writeFileSync(join(project, 's1.jsonl'), line('outside-a', 1000));
      writeFileSync(join(project, 'notes.txt'), 'not a trace');
      await outside.read('*/*.jsonl');
      assert.ok(api.store.has(join(project, 's1.jsonl')), api.store.paths().join(', '));
      assert.ok(!api.store.has(join(project, 'notes.txt')));
      const later = join(project, 's2.jsonl');
      writeFileSync(later, line('outside-b', 1000));
      await changeWhere(api, () => api.store.has(later));
    });

    it('reads a file created later in folders the glob names that did not exist yet, made one after the other', async () => {
      // A project with no Claude Code session yet: its folders are made with the first transcript. Two levels: the
      // nearest folder there is watched for the first, then the first for the second.
      const fresh = join(outside.dir, 'fresh-project');
      await outside.read('fresh-project/sessions/**/*.jsonl');
      await new Promise((r) => setTimeout(r, 1000));
      mkdirSync(fresh);
      await new Promise((r) => setTimeout(r, 1000));
      mkdirSync(join(fresh, 'sessions'));
      const first = join(fresh, 'sessions', 'first.jsonl');
      writeFileSync(first, line('fresh-project', 1000));
      await changeWhere(api, () => api.store.has(first));
      // ...and, watched from its own folder now, the next one.
      const second = join(fresh, 'sessions', 'second.jsonl');
      writeFileSync(second, line('fresh-project', 1000));
      await changeWhere(api, () => api.store.has(second));
    });
  });

  describe('many small files (a folder of Claude Code sessions)', () => {
    const outside = outsideFolder('lcl-many-');

    it('says in the view how far their reading is, and reads them all', async () => {
      // 24 files of ~0.9 MB (under the 1 MB read off the host): read on the host in slices, for half a second or so.
      const files = Array.from({ length: 24 }, (_, k) => join(outside.dir, `session-${String(k).padStart(2, '0')}.jsonl`));
      files.forEach((f, k) => writeFileSync(f, line(`many-${k % 3}`, 1000 + k).repeat(Math.floor(900_000 / line(`many-${k % 3}`, 1000 + k).length))));
      const seen: { files: number; fraction: number }[] = [];
      const sub = api.store.onDidLoadProgress(() => {
        const l = api.store.loading();
        if (l) seen.push({ files: l.files, fraction: l.fraction });
      });
      try {
        await outside.read('*.jsonl');
      } finally {
        sub.dispose();
      }
      assert.ok(files.every((f) => api.store.has(f) && api.store.readVia(f) !== 'worker'), 'all read, on the host');
      const small = seen.filter((l) => l.files >= files.length);
      assert.ok(small.length > 0, `progress said: ${JSON.stringify(seen)}`);
      assert.ok(small.every((l) => l.fraction >= 0 && l.fraction < 1), JSON.stringify(small));
      assert.equal(api.store.loading(), undefined, 'and nothing once they are read');
      const labels = api.tree.getChildren().map((r) => describeItem(api, r).label);
      for (let k = 0; k < 3; k++) assert.ok(labels.includes(`many-${k}`), labels.join(', '));
    });
  });

  describe('a big file rotated', () => {
    const big = () => join(workspaceDir(), 'traces', 'big.jsonl');
    // About 190 bytes a line, so a few thousand lines pass the 1 MB above which files are read in the worker. The
    // feature comes last: the 64 bytes before the read offset tell one run from another.
    const bigText = (feature: string, n: number) => {
      const l = JSON.stringify({ model: 'gpt-4o', input_tokens: 10, output_tokens: 0, timestamp: '2026-11-22T10:00:00Z', pad: 'x'.repeat(80), metadata: { user_id: 'bulk', feature } }) + '\n';
      return l.repeat(n);
    };
    const table = () => api.store.tables().find((t) => t.file.endsWith('big.jsonl'));
    const labels = () => api.tree.getChildren().map((r) => describeItem(api, r).label);
    after(async () => {
      rmSync(big(), { force: true });
      rmSync(`${big()}.tmp`, { force: true });
      await api.store.update(big());
      assert.ok(!api.store.has(big()));
    });

    it('is read again in the worker when replaced by a larger file, and when rewritten with the same first bytes', async () => {
      writeFileSync(big(), bigText('big-a', 7000));
      await api.store.update(big());
      assert.equal(table()?.length, 7000);
      assert.notEqual(api.store.readVia(big()), 'inline');

      // Replaced (another inode) by a larger file.
      writeFileSync(`${big()}.tmp`, bigText('big-b', 8000));
      renameSync(`${big()}.tmp`, big());
      await api.store.update(big());
      assert.equal(table()?.length, 8000);
      assert.equal(api.store.readVia(big()), 'worker');
      assert.ok(labels().includes('big-b') && !labels().includes('big-a'), labels().join(', '));

      // Truncated and written again, larger, same inode and same first bytes: a new run, not an append.
      writeFileSync(big(), bigText('big-c', 9000));
      await api.store.update(big());
      assert.equal(table()?.length, 9000);
      assert.equal(api.store.readVia(big()), 'worker');
      assert.ok(labels().includes('big-c') && !labels().includes('big-b'), labels().join(', '));
    });
  });

  describe('several files above 1 MB', () => {
    const paths = () => [0, 1, 2].map((k) => join(workspaceDir(), 'traces', `rotated-${k}.jsonl`));
    // About 150 bytes a line: 8,000 lines pass the 1 MB above which files are read by load workers.
    const text = (k: number) => (JSON.stringify({ model: 'gpt-4o', input_tokens: 100 + k, output_tokens: 0, timestamp: '2026-11-22T10:00:00Z', pad: 'y'.repeat(40), metadata: { user_id: 'rot', feature: `rotated-${k}` } }) + '\n').repeat(8000 + k);
    after(async () => {
      for (const p of paths()) rmSync(p, { force: true });
      await api.store.refresh();
      assert.ok(paths().every((p) => !api.store.has(p)));
    });

    it('are all read by load workers, two at a time, at a refresh', async () => {
      paths().forEach((p, k) => writeFileSync(p, text(k)));
      await api.store.refresh();
      paths().forEach((p, k) => {
        const t = api.store.tables().find((x) => x.file.endsWith(`rotated-${k}.jsonl`));
        assert.equal(t?.length, 8000 + k, p);
        assert.equal(api.store.readVia(p), 'worker');
      });
      const labels = api.tree.getChildren().map((r) => describeItem(api, r).label);
      for (let k = 0; k < 3; k++) assert.ok(labels.includes(`rotated-${k}`), labels.join(', '));
      assert.equal(api.store.unreadFiles().length, 0);
    });
  });

  it('shows budget burn on the tree node and the status bar', async () => {
    const cfg = vscode.workspace.getConfiguration('llmCostLens');
    await cfg.update('budgets', [{ scope: 'total', period: 'month', usd: 0.05 }, { scope: 'feature', value: 'search', period: 'month', usd: 1 }], vscode.ConfigurationTarget.Workspace);
    try {
      await api.signals.recompute(Date.parse('2026-11-22T12:00:00Z'));
      assert.match(api.statusBar.item.text, / · budget 118% \+ 1 unpriced$/);
      assert.ok(api.statusBar.item.backgroundColor, 'over budget: the status bar item is coloured');
      const search = api.tree.getChildren().find((r) => describeItem(api, r).label === 'search')!;
      assert.match(describeItem(api, search).description, / · budget 4\.0% \+ 1 unpriced$/);
    } finally {
      await cfg.update('budgets', undefined, vscode.ConfigurationTarget.Workspace);
      await api.signals.recompute(Date.parse('2026-11-22T12:00:00Z'));
    }
  });

  it('finds outliers in the signals worker thread, the same as the core finds them inline', async () => {
    const job = { kind: 'outliers', query: {}, options: { minGroupSize: 2, minMultiple: 1.5, zThreshold: 0.5 } } satisfies SignalsJob;
    const viaWorker = await api.signals.run(job);
    assert.ok(api.signals.inWorker, 'the worker script is bundled and runs');
    assert.deepEqual(viaWorker, runSignalsJob(api.store.tables(), job));
    assert.ok(viaWorker.calls.length > 0, viaWorker.headline);
  });

  it('re-prices a group under another model with What If', async () => {
    const summarization = api.tree.getChildren().find((r) => describeItem(api, r).label === 'summarization');
    const w = await vscode.commands.executeCommand<{ currentUsd: number; whatIfUsd: number; text: string }>('llmCostLens.whatIf', summarization, 'claude-haiku-4-5');
    assert.ok(w);
    // 1200 in, 8000 cache read, 2000 cache write, 350 out on Haiku 4.5 ($1, $0.10, $1.25, $5 per Mtok)
    assert.ok(Math.abs(w.whatIfUsd - (1200 * 1 + 8000 * 0.1 + 2000 * 1.25 + 350 * 5) / 1e6) < 1e-12, String(w.whatIfUsd));
    assert.match(w.text, /^Feature summarization on claude-haiku-4-5: \$0\.0063 instead of \$0\.0187/);
  });

  it('adds up the cost per task', async () => {
    const p = vscode.commands.executeCommand<{ key: string; tasks: number }[]>('llmCostLens.costPerTask');
    await new Promise((r) => setTimeout(r, 500));
    await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
    const tasks = (await p)!;
    // Every fixture call has its own run id: 2 tasks for search (the unpriced call has none), 1 for summarization.
    assert.deepEqual(tasks.map((t) => [t.key, t.tasks]).sort(), [['search', 2], ['summarization', 1]]);
  });

  it('writes a sample trace that the tree then shows', async () => {
    const path = await vscode.commands.executeCommand<string>('llmCostLens.writeSample');
    assert.ok(path && existsSync(path));
    await changeWhere(api, () => api.store.has(path));
    await vscode.commands.executeCommand('llmCostLens.timeRange', '7d');
    const labels = api.tree.getChildren().map((r) => describeItem(api, r).label);
    assert.ok(labels.includes('support-agent'), labels.join(', '));
    rmSync(path);
    await changeWhere(api, () => !api.store.has(path));
    await vscode.commands.executeCommand('llmCostLens.timeRange', 'all');
  });
});

describe('ViewState', () => {
  /** A clock whose time moves only when the test says, with the timers it holds. */
  function fakeClock(start: number) {
    let now = start;
    const timers = new Map<number, { at: number; fn: () => void }>();
    let next = 1;
    const clock: ViewClock = {
      now: () => now,
      setTimeout: (fn, ms) => {
        timers.set(next, { at: now + ms, fn });
        return next++;
      },
      clearTimeout: (h) => void timers.delete(h as number),
    };
    /** Moves the time to `t`, running the timers due on the way. */
    const advanceTo = (t: number) => {
      for (;;) {
        const due = [...timers.entries()].filter(([, v]) => v.at <= t).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = Math.max(now, due[1].at);
        due[1].fn();
      }
      now = t;
    };
    /** Runs the next timer `earlyMs` before its time (timers may fire a little early). */
    const runNextEarly = (earlyMs: number) => {
      const [id, v] = [...timers.entries()].sort((a, b) => a[1].at - b[1].at)[0];
      timers.delete(id);
      now = v.at - earlyMs;
      v.fn();
    };
    return { clock, advanceTo, runNextEarly, pending: () => timers.size };
  }

  function memento(values: Record<string, unknown>): vscode.Memento {
    return {
      keys: () => Object.keys(values),
      get: <T>(key: string, def?: T) => (key in values ? (values[key] as T) : def),
      update: async (key: string, value: unknown) => void (values[key] = value),
    } as vscode.Memento;
  }

  it('moves a rolling range on at each minute boundary by itself, and stops the timer for all time and on dispose', async () => {
    const t0 = Date.parse('2026-11-22T10:15:42Z');
    const c = fakeClock(t0);
    const view = new ViewState({ workspaceState: memento({ 'llmCostLens.view.timeRange': '24h' }) }, c.clock);
    let fired = 0;
    view.onDidChange(() => fired++);
    try {
      const start = Date.parse('2026-11-21T10:15:00Z');
      assert.equal(view.sinceMs(), start);
      assert.ok(view.ticking);
      c.advanceTo(Date.parse('2026-11-22T10:15:59.999Z'));
      assert.equal(view.sinceMs(), start);
      assert.equal(fired, 0);
      c.advanceTo(Date.parse('2026-11-22T10:16:00Z'));
      assert.equal(fired, 1);
      assert.equal(view.sinceMs(), start + 60_000);
      c.advanceTo(Date.parse('2026-11-22T10:19:30Z'));
      assert.equal(fired, 4, 'once a minute');
      assert.equal(c.pending(), 1);
      await view.setRange('all');
      assert.equal(fired, 5);
      assert.equal(view.sinceMs(), undefined);
      assert.equal(c.pending(), 0, 'no timer for all time');
      c.advanceTo(Date.parse('2026-11-22T11:00:00Z'));
      assert.equal(fired, 5);
      await view.setRange('7d');
      assert.equal(view.sinceMs(), Date.parse('2026-11-15T11:00:00Z'));
      assert.equal(c.pending(), 1);
    } finally {
      view.dispose();
    }
    assert.equal(c.pending(), 0, 'the timer is disposed with the view state');
  });

  it('fires after a timer that ran a little early only once the minute has turned', () => {
    const c = fakeClock(Date.parse('2026-11-22T10:15:42Z'));
    const view = new ViewState({ workspaceState: memento({ 'llmCostLens.view.timeRange': '30d' }) }, c.clock);
    let fired = 0;
    view.onDidChange(() => fired++);
    try {
      // The timer set for 10:16:00 runs at 10:15:59.995: the start has not moved, so nothing fires and a new timer
      // waits for the boundary, which fires.
      c.runNextEarly(5);
      assert.equal(fired, 0);
      assert.equal(c.pending(), 1);
      c.advanceTo(Date.parse('2026-11-22T10:16:00Z'));
      assert.equal(fired, 1);
      assert.equal(view.sinceMs(), Date.parse('2026-10-23T10:16:00Z'));
    } finally {
      view.dispose();
    }
  });
});
