import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers';

interface MenuItem {
  command: string;
  when?: string;
  group?: string;
}
interface Setting {
  type?: string | string[];
  default?: unknown;
  enum?: unknown[];
  enumDescriptions?: string[];
  description?: string;
  markdownDescription?: string;
  properties?: Record<string, Setting>;
  items?: Setting;
}
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  activationEvents: string[];
  contributes: {
    viewsWelcome: { contents: string }[];
    menus: Record<string, MenuItem[]>;
    configuration: { properties: Record<string, Setting> };
  };
};
const settings = pkg.contributes.configuration.properties;
const src = (...p: string[]) => readFileSync(join(ROOT, 'src', ...p), 'utf8');
const describeOf = (s: Setting) => s.markdownDescription ?? s.description ?? '';

describe('package.json contributions', () => {
  it('activates in workspaces holding a trace file of the default globs, and the welcome text names them', () => {
    const globs = settings['llmCostLens.traceFiles'].default as string[];
    assert.ok(globs.length >= 3);
    for (const g of globs) {
      assert.ok(pkg.activationEvents.includes(`workspaceContains:${g}`), g);
      assert.ok(pkg.contributes.viewsWelcome.some((w) => w.contents.includes(`\`${g}\``)), g);
    }
  });

  it('keeps the commands that need calls out of the palette until traces are found, but not the setup commands', () => {
    assert.match(src('extension.ts'), /setContext', 'llmCostLens\.hasTraces'/);
    const palette = pkg.contributes.menus.commandPalette;
    const when = (id: string) => palette.find((m) => m.command === `llmCostLens.${id}`)?.when;
    for (const id of ['openDashboard', 'showOutliers', 'whatIf', 'costPerTask']) assert.equal(when(id), 'llmCostLens.hasTraces', id);
    for (const id of ['pickFile', 'writeSample', 'openSettings', 'openPricesFile', 'focus', 'showOutput', 'refresh']) assert.equal(when(id), undefined, id);
  });

  it('offers Analyze This File on the extensions the file picker accepts', () => {
    const picker = /filters: \{ 'Trace files': \[([^\]]*)\]/.exec(src('commands.ts'));
    assert.ok(picker, 'the picker filters');
    const exts = [...picker[1].matchAll(/'(\w+)'/g)].map((m) => `.${m[1]}`);
    assert.deepEqual([...exts].sort(), ['.json', '.jsonl', '.ndjson']);
    for (const menu of ['editor/title', 'explorer/context', 'commandPalette']) {
      const whens = pkg.contributes.menus[menu].filter((m) => m.command === 'llmCostLens.analyzeFile').map((m) => m.when ?? '');
      assert.ok(whens.length, menu);
      const accepted = new Set(whens.flatMap((w) => [...w.matchAll(/resourceExtname == (\.\w+)/g)].map((m) => m[1])));
      assert.deepEqual([...accepted].sort(), [...exts].sort(), menu);
    }
    // No icon on every JSON file's title bar: .json is in the editor's "…" menu.
    const jsonTitle = pkg.contributes.menus['editor/title'].find((m) => m.command === 'llmCostLens.analyzeFile' && m.when?.includes('.json') && !m.when.includes('.jsonl'));
    assert.ok(jsonTitle && !jsonTitle.group?.startsWith('navigation'));
  });

  it('describes every setting, its choices and the units of its numbers', () => {
    const check = (name: string, s: Setting, top: boolean) => {
      if (top) assert.ok(describeOf(s).length > 10, `${name}: description`);
      if (s.enum && top) assert.equal(s.enumDescriptions?.length, s.enum.length, `${name}: enumDescriptions`);
      const types = ([] as string[]).concat(s.type ?? []);
      if (types.includes('number') || types.includes('integer')) assert.match(describeOf(s), /USD|ms\b|seconds|minutes|hours|days|tokens|%|percent/, `${name}: unit`);
      for (const [k, p] of Object.entries(s.properties ?? {})) check(`${name}.${k}`, p, false);
      if (s.items) check(`${name}[]`, s.items, false);
    };
    for (const [name, s] of Object.entries(settings)) check(name, s, true);
    assert.match(describeOf(settings['llmCostLens.timeRange']), /title bar overrides this setting for the workspace/);
    assert.match(describeOf(settings['llmCostLens.tree.groupBy']), /title bar overrides this setting for the workspace/);
    const lens = settings['llmCostLens.codeLens.range'];
    assert.notEqual(lens.default, settings['llmCostLens.timeRange'].default);
    assert.match(describeOf(lens), new RegExp(`default, \`${lens.default}\`, differs from the tree's .*default \`${settings['llmCostLens.timeRange'].default}\``));
  });

  it('contributes every setting the notifications read, on by default', () => {
    for (const file of ['signals.ts', 'problems.ts']) {
      for (const m of src('services', file).matchAll(/\.get<boolean>\('(\w+)'/g)) assert.equal(settings[`llmCostLens.${m[1]}`]?.default, true, m[1]);
    }
    assert.equal(settings['llmCostLens.notifyBudgets'].type, 'boolean');
  });
});

describe('the .vsix', () => {
  it('packages every bundle the extension loads, the files they require beside them (the price catalogue) and the third-party notices', function () {
    this.timeout(120000);
    const dist = join(ROOT, 'dist');
    assert.ok(existsSync(join(dist, 'extension.js')), 'built first (npm run build; npm test does)');
    // What `vsce package` would put in (.vscodeignore), as vsce itself lists it.
    const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce'), 'ls', '--no-dependencies'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const packaged = new Set(r.stdout.split('\n').map((l) => l.trim()).filter(Boolean));
    // Every bundle but the CLI's (run from a checkout), and every file a packaged bundle requires beside it.
    const bundles = readdirSync(dist).filter((f) => f.endsWith('.js') && f !== 'cli.js');
    assert.ok(bundles.includes('priceCatalogue.js'), 'the price catalogue is a bundle of its own');
    for (const f of bundles) assert.ok(packaged.has(`dist/${f}`), `dist/${f} is not packaged`);
    for (const f of bundles) {
      for (const m of readFileSync(join(dist, f), 'utf8').matchAll(/require\("\.\/([\w.-]+)"\)/g)) assert.ok(packaged.has(`dist/${m[1]}`), `dist/${f} requires ./${m[1]}, which is not packaged`);
    }
    assert.ok(packaged.has('dist/THIRD_PARTY_NOTICES.txt'));
    const notices = readFileSync(join(dist, 'THIRD_PARTY_NOTICES.txt'), 'utf8');
    for (const name of ['@pydantic/genai-prices', 'chart.js', 'simple-statistics']) assert.match(notices, new RegExp(`^${name.replace(/[./]/g, '\\$&')} \\d`, 'm'), name);
    assert.match(notices, /Copyright \(c\) Pydantic Services Inc\./);
  });
});
