// Mocha entry run INSIDE the VS Code extension host (the `extensionTestsPath`). VS Code calls the
// exported run() after the extension under development is loaded; the returned promise decides the
// exit code (resolve = 0, reject = 1). Loads every `*.test.js` next to this file (compiled to
// out/test/integration/host/) with mocha's `bdd` UI and prints one line per test plus a closing
// `N passed, N failed` line.
//
// Env (inherited from the server that starts the extension host): VSCODE_TEST_GREP filters tests.
import * as fs from 'fs';
import * as path from 'path';
import MochaModule = require('mocha');

// mocha 12 is an ES module whose CommonJS build is re-exported as `default`; require(esm) hands back
// the namespace, older mochas hand back the class itself.
type MochaClass = typeof MochaModule;
const Mocha: MochaClass = (MochaModule as unknown as { default?: MochaClass }).default ?? MochaModule;

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const stack = (err.stack ?? `${err.name}: ${err.message}`).split('\n');
    // keep the message and the first frames that point at test code, not mocha internals
    const frames = stack.slice(1).filter((l) => !l.includes('node_modules')).slice(0, 4);
    return [stack[0], ...frames].join('\n');
  }
  return String(err);
}

function indent(text: string, by = '      '): string {
  return text.split('\n').map((l) => (l.trim() ? by + l : '')).join('\n');
}

export function run(): Promise<void> {
  const dir = __dirname;
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.test.js')).sort();
  if (files.length === 0) {
    return Promise.reject(new Error(`no *.test.js files in ${dir}`));
  }

  const mocha = new Mocha({ ui: 'bdd', timeout: 20000, color: false, reporter: 'base' });
  const grep = process.env.VSCODE_TEST_GREP;
  if (grep) mocha.grep(grep);
  for (const f of files) mocha.addFile(path.join(dir, f));

  return new Promise<void>((resolve, reject) => {
    let passed = 0;
    let failed = 0;
    let pending = 0;
    const log = (line: string) => console.log(line);
    log(`[ext-host tests] ${files.length} file(s): ${files.join(', ')}`);

    let runner: Mocha.Runner;
    try {
      runner = mocha.run((failures) => {
        const summary = `${passed} passed, ${failed} failed`;
        if (pending > 0) log(`(${pending} pending)`);
        log(summary);
        if (failures > 0 || failed > 0) reject(new Error(`${failed || failures} test(s) failed`));
        else resolve();
      });
    } catch (err) {
      // a test file that throws while loading (syntax error, bad require) ends up here
      log(`0 passed, 1 failed`);
      reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    runner.on('pass', (test) => {
      passed++;
      log(`  ✓ ${test.fullTitle()} (${test.duration ?? 0} ms)`);
    });
    runner.on('fail', (test, err) => {
      failed++;
      log(`  ✗ ${test.fullTitle()}\n${indent(errorText(err))}`);
    });
    runner.on('pending', (test) => {
      pending++;
      log(`  - ${test.fullTitle()} (pending)`);
    });
  });
}
