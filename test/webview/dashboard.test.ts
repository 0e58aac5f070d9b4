/**
 * The dashboard webview in headless Chromium: the page the panel serves (dashboardHtml, strict CSP), the bundled
 * dist/webview.js and media/dashboard.css from a local server, a stubbed acquireVsCodeApi, and the recorded snapshot.
 * Needs `node esbuild.mjs` first; runs offline.
 */
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { formatCount, formatPct, formatUsd } from '../../src/core/format';
import type { DashboardSnapshot, FromWebview, GroupRow } from '../../src/shared/protocol';
import { dashboardHtml } from '../../src/util/webviewHtml';

const ROOT = path.resolve(__dirname, '../../..');
const FIXTURES = path.join(ROOT, 'test/fixtures/webview');
const RESULTS = path.join(ROOT, 'test-results');
const HOSTILE = '<img src=x onerror=alert(1)>';

interface ThemeFixture {
  bodyClass: string;
  vars: Record<string, string>;
}

const snapshot = JSON.parse(readFileSync(path.join(FIXTURES, 'snapshot.json'), 'utf8')) as DashboardSnapshot;
const lightTheme = JSON.parse(readFileSync(path.join(FIXTURES, 'theme-light.json'), 'utf8')) as ThemeFixture;
const darkTheme = JSON.parse(readFileSync(path.join(FIXTURES, 'theme-dark.json'), 'utf8')) as ThemeFixture;

/** Runs before any page script: the VS Code API stub, alert traps, CSP and timing probes. */
function initScript(initialState: unknown): string {
  return `(() => {
  const posted = [];
  window.__posted = posted;
  window.__state = ${JSON.stringify(initialState ?? null)} ?? undefined;
  window.__alerts = [];
  window.__csp = [];
  const trap = (kind) => (...a) => { window.__alerts.push(kind + ': ' + a.map(String).join(' ')); };
  window.alert = trap('alert');
  window.confirm = trap('confirm');
  window.prompt = trap('prompt');
  let acquired = 0;
  const copy = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));
  window.acquireVsCodeApi = () => {
    if (acquired++) throw new Error('acquireVsCodeApi called twice');
    return Object.freeze({
      postMessage: (m) => { posted.push(copy(m)); },
      getState: () => copy(window.__state),
      setState: (s) => { window.__state = copy(s); return s; },
    });
  };
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || ''));
  });
  // Registered before the webview's own listener: marks when a host message starts being handled.
  window.addEventListener('message', () => { window.__msgT0 = performance.now(); });
})();`;
}

const CONTENT_TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json', '.svg': 'image/svg+xml' };

function startServer(html: (origin: string) => string): Promise<{ server: http.Server; origin: string }> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(html(origin));
      return;
    }
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    const file = path.resolve(ROOT, `.${decodeURIComponent(url.pathname)}`);
    const allowed = [path.join(ROOT, 'dist') + path.sep, path.join(ROOT, 'media') + path.sep].some((d) => file.startsWith(d));
    if (!allowed || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
  });
}

// Functions below run in the page (serialised by playwright); the root tsconfig has no DOM lib, hence `any`.
/* eslint-disable @typescript-eslint/no-explicit-any */

async function post(page: Page, msg: unknown): Promise<void> {
  await page.evaluate((m) => (globalThis as any).postMessage(m, '*'), msg);
}

async function posted(page: Page): Promise<FromWebview[]> {
  return page.evaluate(() => (globalThis as any).__posted as FromWebview[]);
}

/** Clicks the first (costliest) bar of "Cost by model", centred so the sticky header does not cover it, and waits for the message it posts. */
async function clickFirstModelBar(page: Page): Promise<void> {
  await page.locator('#chart-model canvas').evaluate((e: any) => e.scrollIntoView({ block: 'center' }));
  const box = (await page.locator('#chart-model canvas').boundingBox())!;
  const count = (await posted(page)).length;
  await page.mouse.click(box.x + box.width / 2, box.y + 24);
  // chart.js handles canvas events on the next animation frame.
  await page.waitForFunction((n) => (globalThis as any).__posted.length > n, count);
}

async function lastPosted(page: Page): Promise<FromWebview | undefined> {
  return (await posted(page)).at(-1);
}

async function applyTheme(page: Page, theme: ThemeFixture): Promise<void> {
  await page.evaluate((t) => {
    const doc = (globalThis as any).document;
    for (const [k, v] of Object.entries(t.vars)) doc.documentElement.style.setProperty(k, v);
    doc.body.classList.remove('vscode-light', 'vscode-dark', 'vscode-high-contrast', 'vscode-high-contrast-light');
    doc.body.classList.add(t.bodyClass);
    doc.body.setAttribute('data-vscode-theme-kind', t.bodyClass);
  }, theme);
  // The webview redraws on the next animation frame after the class change.
  await page.evaluate(() => new Promise((r) => (globalThis as any).requestAnimationFrame(() => (globalThis as any).requestAnimationFrame(r))));
}

/** Painted pixels per chart canvas: any non-transparent pixel, and "coloured" ones (bars, not grey text or grid). */
async function canvasPixels(page: Page): Promise<{ id: string; width: number; height: number; painted: number; coloured: number; checksum: number }[]> {
  return page.evaluate(() => {
    const doc = (globalThis as any).document;
    return [...doc.querySelectorAll('canvas')].map((c: any) => {
      const ctx = c.getContext('2d');
      const { data } = ctx.getImageData(0, 0, c.width, c.height);
      let painted = 0;
      let coloured = 0;
      let checksum = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] === 0) continue;
        painted++;
        checksum = (checksum * 31 + data[i] * 7 + data[i + 1] * 13 + data[i + 2] * 17 + data[i + 3]) % 1_000_000_007;
        const mx = Math.max(data[i], data[i + 1], data[i + 2]);
        const mn = Math.min(data[i], data[i + 1], data[i + 2]);
        if (data[i + 3] > 100 && mx - mn > 60) coloured++;
      }
      return { id: c.closest('section')?.id ?? '?', width: c.width, height: c.height, painted, coloured, checksum };
    });
  });
}

/** Pixels of exactly these colours (opaque) in a canvas. */
async function countColour(page: Page, selector: string, colours: number[][]): Promise<number[]> {
  return page.evaluate(
    ([sel, cs]) => {
      const c = (globalThis as any).document.querySelector(sel);
      const { data } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
      const n = cs.map(() => 0);
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] !== 255) continue;
        cs.forEach((k, j) => {
          if (data[i] === k[0] && data[i + 1] === k[1] && data[i + 2] === k[2]) n[j]++;
        });
      }
      return n;
    },
    [selector, colours] as const,
  );
}

async function breakdownRows(page: Page): Promise<string[][]> {
  return page.evaluate(() => {
    const doc = (globalThis as any).document;
    return [...doc.querySelectorAll('table.breakdown tbody tr')].map((tr: any) => [...tr.children].map((c: any) => c.textContent.trim()));
  });
}

async function ariaSorts(page: Page): Promise<Record<string, string>> {
  return page.evaluate(() => {
    const doc = (globalThis as any).document;
    const out: Record<string, string> = {};
    for (const th of doc.querySelectorAll('table.breakdown thead th[aria-sort]')) out[th.textContent.replace(/[▲▼]/g, '').trim()] = th.getAttribute('aria-sort');
    return out;
  });
}

/** Text of each element matching `selector` that reaches outside the element's padding box: `"<text>" by <px>`. */
async function textOutside(page: Page, selector: string): Promise<string[]> {
  return page.evaluate((sel) => {
    const doc = (globalThis as any).document;
    const out: string[] = [];
    for (const box of doc.querySelectorAll(sel)) {
      if (!box.getClientRects().length) continue;
      const r = box.getBoundingClientRect();
      const cs = (globalThis as any).getComputedStyle(box);
      const left = r.left + parseFloat(cs.borderLeftWidth);
      const right = r.right - parseFloat(cs.borderRightWidth);
      const walker = doc.createTreeWalker(box, 4 /* NodeFilter.SHOW_TEXT */);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        if (!n.textContent.trim()) continue;
        const range = doc.createRange();
        range.selectNodeContents(n);
        for (const t of range.getClientRects()) {
          const by = Math.max(t.right - right, left - t.left);
          if (by > 0.5) out.push(`"${n.textContent.trim()}" by ${by.toFixed(1)}px in ${box.querySelector('.card-title, h2')?.textContent ?? sel}`);
        }
      }
    }
    return out;
  }, selector);
}

async function waitForRender(page: Page): Promise<void> {
  await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('table.breakdown tbody tr').length > 0);
}

/** Answers with a snapshot as the host does for a query it takes up: `loading`, then the figures. */
async function answer(page: Page, snap: DashboardSnapshot): Promise<void> {
  await post(page, { type: 'loading', loading: true });
  await post(page, { type: 'snapshot', snapshot: snap });
}

/** Shows the recorded snapshot again (the host's answer; clears filters a previous step added). */
async function reset(page: Page): Promise<void> {
  await answer(page, snapshot);
  await waitForRender(page);
  await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('.chip').length === 0);
}

/** Renders a snapshot and returns the time (ms) the webview spent handling the message, and until the next frame. */
async function timedRender(page: Page, snap: DashboardSnapshot): Promise<{ syncMs: number; frameMs: number }> {
  return page.evaluate(
    (s) =>
      new Promise<{ syncMs: number; frameMs: number }>((resolve) => {
        const g = globalThis as any;
        const after = () => {
          g.removeEventListener('message', after);
          const t1 = g.performance.now();
          g.requestAnimationFrame(() => resolve({ syncMs: t1 - g.__msgT0, frameMs: g.performance.now() - g.__msgT0 }));
        };
        g.addEventListener('message', after);
        g.postMessage({ type: 'snapshot', snapshot: s }, '*');
      }),
    snap,
  );
}

const usd = (r: GroupRow) => formatUsd(r.costUsd);

describe('dashboard webview (headless Chromium)', function () {
  this.timeout(90_000);

  let server: http.Server | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let origin = '';
  const consoleErrors: string[] = [];

  async function openPage(initialState?: unknown): Promise<Page> {
    const p = await context!.newPage();
    p.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`${m.type()}: ${m.text()}`);
    });
    p.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
    await p.addInitScript({ content: initScript(initialState) });
    await p.goto(`${origin}/`);
    await p.waitForFunction(() => (globalThis as any).__posted.length > 0);
    return p;
  }

  before(async function () {
    const bundle = path.join(ROOT, 'dist/webview.js');
    if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run \`node esbuild.mjs\` before this test.`);
    if (!existsSync('/usr/bin/chromium')) throw new Error('/usr/bin/chromium is missing: `apt-get install -y chromium`.');
    mkdirSync(RESULTS, { recursive: true });
    const nonce = randomBytes(18).toString('base64');
    ({ server, origin } = await startServer((o) => dashboardHtml({ cspSource: o, nonce, scriptUri: `${o}/dist/webview.js`, styleUri: `${o}/media/dashboard.css` })));
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, deviceScaleFactor: 1 });
    page = await openPage();
  });

  after(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  it('posts ready before anything else', async () => {
    const msgs = await posted(page);
    assert.deepEqual(msgs[0], { type: 'ready' });
    assert.equal(msgs.length, 1);
  });

  it('draws every chart of the recorded snapshot in the light theme', async () => {
    await applyTheme(page, lightTheme);
    await post(page, { type: 'snapshot', snapshot });
    await waitForRender(page);
    const pixels = await canvasPixels(page);
    assert.deepEqual(
      pixels.map((p) => p.id),
      ['chart-time', 'chart-model', 'chart-top', 'chart-cache', 'chart-hist'],
    );
    for (const p of pixels) {
      assert.ok(p.width > 200 && p.height > 150, `${p.id} has a size (${p.width}x${p.height})`);
      assert.ok(p.painted > p.width * p.height * 0.02, `${p.id} is drawn (${p.painted} painted pixels)`);
      assert.ok(p.coloured > 300, `${p.id} has coloured bars (${p.coloured} pixels)`);
    }
    await page.screenshot({ path: path.join(RESULTS, 'dashboard-light.png'), fullPage: true });
  });

  it('shows the headline figures, the unpriced warning and the breakdown from the snapshot', async () => {
    const t = snapshot.total;
    const text = (sel: string) => page.locator(sel).first().innerText();
    assert.equal(await text('.stat.primary .card-value'), formatUsd(t.costUsd));
    assert.match(await text('.stat.primary .card-detail'), /No spend in the previous 7 days/);
    const cards = await page.locator('.cards').innerText();
    for (const s of [formatCount(t.calls), formatUsd(t.meanUsd), formatUsd(t.p50Usd), formatUsd(t.p95Usd), formatUsd(t.p99Usd), formatPct(t.cacheHitRatio), formatUsd(t.cacheSavingsUsd), formatUsd(t.costWithoutCacheUsd), formatPct(snapshot.unattributedShare)]) {
      assert.ok(cards.includes(s), `cards show ${s}`);
    }
    assert.doesNotMatch(cards, /NaN|Infinity|undefined/);
    const warning = await text('.warning:not(.failure)');
    for (const u of snapshot.unpriced) assert.ok(warning.includes(u.model) && warning.includes(`${u.calls} call`), `warning lists ${u.model}`);

    const rows = await breakdownRows(page);
    assert.equal(rows.length, snapshot.table.length);
    const top = snapshot.table[0];
    assert.deepEqual(rows[0].slice(0, 8), [top.key, usd(top), formatPct(top.share), formatCount(top.calls), formatUsd(top.p50Usd), formatUsd(top.p95Usd), formatUsd(top.p99Usd), formatPct(top.cacheHitRatio)]);
    assert.deepEqual(await ariaSorts(page), { Feature: 'none', Cost: 'descending', Share: 'none', Calls: 'none', 'p50 / call': 'none', 'p95 / call': 'none', 'p99 / call': 'none', 'Cache hit ratio': 'none' });

    // Table equivalents of the charts hold the same figures.
    const tables = await page.evaluate(() =>
      [...(globalThis as any).document.querySelectorAll('.chart-card table')].map((tb: any) => [...tb.querySelectorAll('tbody tr')].map((tr: any) => [...tr.children].map((c: any) => c.textContent))),
    );
    assert.equal(tables.length, 5);
    assert.equal(tables[0].length, snapshot.series.startsMs.length);
    assert.deepEqual(tables[1].map((r: string[]) => r[0]), snapshot.byModel.map((r) => r.key));
    assert.equal(tables[1][0][1], formatUsd(snapshot.byModel[0].costUsd));
    assert.deepEqual(tables[2].map((r: string[]) => r[0]), snapshot.top.map((r) => r.key));
    assert.deepEqual(tables[3][0], [snapshot.cacheByFeature[0].key, formatUsd(snapshot.cacheByFeature[0].costUsd), formatUsd(snapshot.cacheByFeature[0].costWithoutCacheUsd), formatPct(snapshot.cacheByFeature[0].hitRatio), formatUsd(snapshot.cacheByFeature[0].savingsUsd)]);
    assert.deepEqual(tables[4].map((r: string[]) => r[1]), snapshot.histogram.counts.map((c) => formatCount(c)));
    const dayTotal = snapshot.series.stacks.reduce((a, s) => a + s.costUsd[1], 0);
    assert.equal(tables[0][1].at(-1), formatUsd(dayTotal));
  });

  it('shows groups and a total with no priced call as unpriced, never as $0.00', async () => {
    const none = <T extends GroupRow>(r: T): T => ({ ...r, costUsd: 0, share: 0, pricedCalls: 0, unpricedCalls: r.calls, meanUsd: null, p50Usd: null, p95Usd: null, p99Usd: null, cacheSavingsUsd: 0, costWithoutCacheUsd: 0 });
    const snap: DashboardSnapshot = structuredClone(snapshot);
    snap.total = { ...snap.total, costUsd: 0, pricedCalls: 0, unpricedCalls: snap.total.calls, meanUsd: null, p50Usd: null, p95Usd: null, p99Usd: null, cacheSavingsUsd: 0, costWithoutCacheUsd: 0 };
    snap.table = snap.table.map(none);
    snap.byModel = snap.byModel.map(none);
    snap.top = snap.top.map(none);
    snap.cacheByFeature = snap.cacheByFeature.map((r) => ({ ...r, costUsd: 0, costWithoutCacheUsd: 0, savingsUsd: 0, calls: 5, pricedCalls: 0 }));
    await post(page, { type: 'snapshot', snapshot: snap });
    await page.waitForFunction(() => (globalThis as any).document.querySelector('.stat.primary .card-value')?.textContent === 'unpriced');
    const rows = await breakdownRows(page);
    assert.deepEqual(rows.map((r) => r[1]), snap.table.map(() => 'unpriced'));
    const cards = await page.locator('.cards').innerText();
    assert.match(cards, /Savings unknown: no call is priced/);
    assert.doesNotMatch(cards, /\$0\.00/);
    const tables = await page.evaluate(() =>
      [...(globalThis as any).document.querySelectorAll('.chart-card table')].map((tb: any) => [...tb.querySelectorAll('tbody tr')].map((tr: any) => [...tr.children].map((c: any) => c.textContent))),
    );
    assert.deepEqual(tables[1].map((r: string[]) => r[1]), snap.byModel.map(() => 'unpriced'));
    assert.deepEqual(tables[2].map((r: string[]) => r[1]), snap.top.map(() => 'unpriced'));
    const c0 = snap.cacheByFeature[0];
    assert.deepEqual(tables[3][0], [c0.key, 'unpriced', 'unpriced', formatPct(c0.hitRatio), 'unpriced']);
    await reset(page);
  });

  it('shows the savings of a feature, and the total\'s, with calls priced by their recorded cost only as unknown', async () => {
    const snap: DashboardSnapshot = structuredClone(snapshot);
    const c0 = snap.cacheByFeature[0];
    snap.cacheByFeature[0] = { ...c0, calls: 10, pricedCalls: 10, listPricedCalls: 7 };
    snap.total = { ...snap.total, listPricedCalls: snap.total.pricedCalls - 3 };
    await post(page, { type: 'snapshot', snapshot: snap });
    await page.waitForFunction(() => [...(globalThis as any).document.querySelectorAll('.chart-card table')][3]?.querySelector('tbody tr td:last-child')?.textContent === 'unknown');
    const row = await page.evaluate(() => [...[...(globalThis as any).document.querySelectorAll('.chart-card table')][3].querySelector('tbody tr').children].map((c: any) => c.textContent));
    assert.deepEqual(row, [c0.key, formatUsd(c0.costUsd), 'unknown', formatPct(c0.hitRatio), 'unknown']);
    const cards = await page.locator('.cards').innerText();
    assert.match(cards, /Savings unknown: 3 priced calls with only a recorded cost \(no list price\)/);
    await reset(page);
  });

  it('shows hostile names as literal text and runs nothing from them', async () => {
    const found = await page.evaluate((h) => {
      const doc = (globalThis as any).document;
      const cells = [...doc.querySelectorAll('table.breakdown tbody th, .chart-card table th')].filter((c: any) => c.textContent === h).length;
      return { cells, img: doc.querySelectorAll('img').length, svg: doc.querySelectorAll('svg').length, scripts: [...doc.querySelectorAll('script')].map((s: any) => s.src), iframes: doc.querySelectorAll('iframe, object, embed').length };
    }, HOSTILE);
    // The breakdown, the cost-over-time table (a column) and the cache table.
    assert.equal(found.cells, 3, 'the hostile key appears literally in the breakdown and chart tables');
    assert.equal(found.img, 0);
    assert.equal(found.svg, 0);
    assert.equal(found.iframes, 0);
    assert.deepEqual(found.scripts, [`${origin}/dist/webview.js`]);

    // More hostile strings in every place trace text can go.
    const nasty = ['</script><script>alert(2)</script>', '"><svg onload=alert(3)>', "javascript:alert(4)", '<iframe src=javascript:alert(5)>'];
    const evil: DashboardSnapshot = structuredClone(snapshot);
    evil.table = evil.table.map((r, i) => ({ ...r, key: nasty[i % nasty.length] + i }));
    evil.series.stacks = evil.series.stacks.map((s, i) => ({ ...s, key: nasty[i % nasty.length] }));
    evil.byModel[0].key = nasty[1];
    evil.top[0].key = nasty[0];
    evil.cacheByFeature[0].key = nasty[3];
    evil.unpriced = [{ model: nasty[1], calls: 2 }];
    evil.query = { ...evil.query, filters: [{ dim: 'user', value: nasty[0] }] };
    evil.dims = [...evil.dims, nasty[1]];
    await post(page, { type: 'snapshot', snapshot: evil });
    await page.waitForFunction((k) => (globalThis as any).document.querySelector('table.breakdown tbody th')?.textContent === k, evil.table[0].key);
    const after = await page.evaluate(() => {
      const doc = (globalThis as any).document;
      return { img: doc.querySelectorAll('img, svg, iframe').length, scripts: doc.querySelectorAll('script').length, alerts: (globalThis as any).__alerts, body: doc.body.innerText as string };
    });
    assert.equal(after.img, 0);
    assert.equal(after.scripts, 1);
    assert.deepEqual(after.alerts, []);
    for (const n of nasty) assert.ok(after.body.includes(n), `shows ${n} literally`);
    await post(page, { type: 'snapshot', snapshot });
    await waitForRender(page);
  });

  it('follows a switch to the dark theme (CSS and chart colours)', async () => {
    const before = await canvasPixels(page);
    await applyTheme(page, darkTheme);
    const colours = await page.evaluate(() => {
      const g = globalThis as any;
      return { body: g.getComputedStyle(g.document.body).color, bg: g.getComputedStyle(g.document.documentElement).backgroundColor };
    });
    assert.equal(colours.body, 'rgb(204, 204, 204)');
    assert.equal(colours.bg, 'rgb(30, 30, 30)');
    const after = await canvasPixels(page);
    for (const [i, p] of after.entries()) {
      assert.ok(p.coloured > 300, `${p.id} is drawn in the dark theme`);
      assert.notEqual(p.checksum, before[i].checksum, `${p.id} was redrawn with the dark palette`);
    }
    // Bars use the dark palette (Dark+ green #89d185), not the light one (Light+ green #388a34).
    const greens = await countColour(page, '#chart-time canvas', [[137, 209, 133], [56, 138, 52]]);
    assert.ok(greens[0] > 300 && greens[1] === 0, `time chart bars follow the theme (${greens})`);
    await page.evaluate(() => (globalThis as any).scrollTo(0, 0));
    await page.screenshot({ path: path.join(RESULTS, 'dashboard-dark.png'), fullPage: true });
  });

  it('sorts the breakdown by a clicked header and sets aria-sort', async () => {
    await page.getByRole('button', { name: 'Calls', exact: true }).click();
    const byCallsDesc = [...snapshot.table].sort((a, b) => b.calls - a.calls).map((r) => r.key);
    assert.deepEqual((await breakdownRows(page)).map((r) => r[0]), byCallsDesc);
    let sorts = await ariaSorts(page);
    assert.equal(sorts.Calls, 'descending');
    assert.equal(sorts.Cost, 'none');
    await page.getByRole('button', { name: 'Calls', exact: true }).click();
    assert.deepEqual((await breakdownRows(page)).map((r) => r[0]), [...byCallsDesc].reverse());
    sorts = await ariaSorts(page);
    assert.equal(sorts.Calls, 'ascending');
    const state = await page.evaluate(() => (globalThis as any).__state);
    assert.deepEqual(state.sort, { key: 'calls', dir: 'asc' });
  });

  it('keeps scroll position and sort on a live update, and redraws the fixture in well under 100 ms', async function () {
    await page.evaluate(() => (globalThis as any).scrollTo(0, 700));
    const order = (await breakdownRows(page)).map((r) => r[0]);
    const times: { syncMs: number; frameMs: number }[] = [];
    for (let i = 0; i < 7; i++) {
      const live = structuredClone(snapshot);
      live.generatedAtMs += (i + 1) * 60_000;
      live.series.stacks[0].costUsd = live.series.stacks[0].costUsd.map((v) => v * (1 + i / 50));
      times.push(await timedRender(page, live));
    }
    const sync = times.map((t) => t.syncMs).sort((a, b) => a - b);
    const frame = times.map((t) => t.frameMs).sort((a, b) => a - b);
    const median = (xs: number[]) => xs[Math.floor(xs.length / 2)];
    console.log(`      redraw of the fixture snapshot: median ${median(sync).toFixed(1)} ms (handler), ${median(frame).toFixed(1)} ms (to next frame); max ${sync.at(-1)!.toFixed(1)} ms`);
    assert.ok(median(sync) < 100, `redraw took ${median(sync)} ms`);
    assert.equal(await page.evaluate(() => (globalThis as any).scrollY), 700);
    assert.deepEqual((await breakdownRows(page)).map((r) => r[0]), order);
    assert.equal((await ariaSorts(page)).Calls, 'ascending');
    await page.waitForFunction(() => (globalThis as any).__state?.scrollY === 700);
    await page.evaluate(() => (globalThis as any).scrollTo(0, 0));
  });

  it('narrows the view from a table row and from a chart bar, except (other)', async () => {
    await reset(page);
    const row = page.locator('table.breakdown tbody tr').filter({ hasText: 'summarization' });
    await row.locator('td').nth(2).click();
    // Filtering by the grouping dimension drills down to the next one.
    assert.deepEqual(await lastPosted(page), { type: 'setQuery', query: { range: '7d', groupBy: 'user', filters: [{ dim: 'feature', value: 'summarization' }] } });
    const chips = await page.locator('.chip').allTextContents();
    assert.deepEqual(chips, ['feature =summarization✕']);

    // The first bar of "Cost by model" is the costliest model; clicking its band filters by it.
    await clickFirstModelBar(page);
    assert.deepEqual(await lastPosted(page), {
      type: 'setQuery',
      query: { range: '7d', groupBy: 'user', filters: [{ dim: 'feature', value: 'summarization' }, { dim: 'model', value: snapshot.byModel[0].key }] },
    });

    // Removing a chip posts the query without that filter.
    await page.getByRole('button', { name: 'Remove filter feature = summarization' }).click();
    assert.deepEqual(await lastPosted(page), { type: 'setQuery', query: { range: '7d', groupBy: 'user', filters: [{ dim: 'model', value: snapshot.byModel[0].key }] } });

    // An (other) group is not a filter.
    const withOther = structuredClone(snapshot);
    withOther.table.push({ ...withOther.table[0], key: '(other)', costUsd: 0.01, share: 0.001 });
    await answer(page, withOther);
    await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('table.breakdown tbody tr').length === 7);
    const before = (await posted(page)).length;
    await page.locator('table.breakdown tbody tr').filter({ hasText: '(other)' }).locator('td').first().click();
    assert.equal((await posted(page)).length, before);
    await answer(page, snapshot);
    await waitForRender(page);
  });

  it('posts row actions, the costliest-calls action, exports and control changes', async () => {
    await reset(page);
    const row = page.locator('table.breakdown tbody tr').filter({ hasText: 'support-agent' });
    await row.getByRole('button', { name: 'Reveal in tree' }).click();
    assert.deepEqual(await lastPosted(page), { type: 'revealInTree', filters: [{ dim: 'feature', value: 'support-agent' }] });
    await row.getByRole('button', { name: 'Costliest calls' }).click();
    assert.deepEqual(await lastPosted(page), { type: 'openCostliest', filters: [{ dim: 'feature', value: 'support-agent' }] });
    await page.getByRole('button', { name: 'Open costliest calls' }).click();
    assert.deepEqual(await lastPosted(page), { type: 'openCostliest', filters: [] });
    await page.getByRole('button', { name: 'Export CSV' }).click();
    assert.deepEqual(await lastPosted(page), { type: 'export', format: 'csv' });
    await page.getByRole('button', { name: 'Export Markdown' }).click();
    assert.deepEqual(await lastPosted(page), { type: 'export', format: 'markdown' });

    await page.getByLabel('Group by').selectOption('user');
    assert.deepEqual(await lastPosted(page), { type: 'setQuery', query: { range: '7d', groupBy: 'user', filters: [] } });
    await page.getByLabel('Time range').selectOption('24h');
    assert.deepEqual(await lastPosted(page), { type: 'setQuery', query: { range: '24h', groupBy: 'user', filters: [] } });
    await page.getByLabel('Time range').selectOption('custom');
    const custom = await lastPosted(page);
    assert.ok(custom?.type === 'setQuery' && custom.query.range === 'custom' && typeof custom.query.sinceMs === 'number' && custom.query.untilMs! > custom.query.sinceMs!);
    assert.ok(await page.locator('#since').isVisible());
    await page.locator('#since').fill('2026-11-10');
    await page.locator('#until').fill('2026-11-12');
    await page.locator('#until').dispatchEvent('change');
    assert.deepEqual(await lastPosted(page), {
      type: 'setQuery',
      query: { range: 'custom', groupBy: 'user', filters: [], sinceMs: Date.UTC(2026, 10, 10), untilMs: Date.UTC(2026, 10, 13) },
    });
    await answer(page, snapshot);
    await waitForRender(page);
    assert.equal(await page.locator('#range').inputValue(), '7d');
  });

  it('shows budgets, anomalies and a what-if when the host sends signals', async () => {
    const withSignals: DashboardSnapshot = structuredClone(snapshot);
    withSignals.signals = {
      budgets: [
        { label: 'Total · day', level: '80', usedShare: 0.86, text: '$43.00 of $50.00 today (86%)' },
        { label: HOSTILE, level: 'ok', usedShare: 0.2, text: '$60.00 of $300.00 this month' },
      ],
      anomalies: [{ kind: 'spike', dim: 'feature', key: 'summarization', startMs: snapshot.generatedAtMs - 3_600_000, text: `summarization cost 4.1x its usual hour ${HOSTILE}` }],
      whatIfModels: ['gpt-4o-mini', 'claude-haiku-4-5'],
    };
    await post(page, { type: 'snapshot', snapshot: withSignals });
    await page.waitForSelector('.signals:not([hidden]) .budget');
    const text = await page.locator('.signals').innerText();
    assert.ok(text.includes('$43.00 of $50.00 today (86%)') && text.includes(HOSTILE) && text.includes('4.1x its usual hour'));
    assert.equal(await page.locator('img, svg').count(), 0);

    await page.locator('.anomalies button').click();
    assert.deepEqual(await lastPosted(page), { type: 'setQuery', query: { range: '7d', groupBy: 'user', filters: [{ dim: 'feature', value: 'summarization' }] } });

    await page.getByLabel('What if these calls used').selectOption('claude-haiku-4-5');
    await page.getByRole('button', { name: 'Re-price' }).click();
    assert.deepEqual(await lastPosted(page), { type: 'whatIf', model: 'claude-haiku-4-5' });
    const answer = { model: 'claude-haiku-4-5', currentUsd: 28.65, whatIfUsd: 9.5, monthlySavingsUsd: 82.1, text: 'On claude-haiku-4-5 these calls would cost $9.50 instead of $28.65 (about $82.10 a month less).' };
    await post(page, { type: 'whatIf', answer });
    await page.waitForFunction((t) => (globalThis as any).document.querySelector('.whatif-result')?.textContent === t, answer.text);
    await post(page, { type: 'whatIf', error: `No price for ${HOSTILE}` });
    await page.waitForFunction((t) => (globalThis as any).document.querySelector('.whatif-result')?.textContent === t, `No price for ${HOSTILE}`);

    // Without signals, the section and the what-if form are hidden again.
    await reset(page);
    assert.equal(await page.locator('.signals').isHidden(), true);
    assert.equal(await page.locator('.whatif').isHidden(), true);
  });

  it('shows a loading state and ignores unknown or malformed messages', async () => {
    await post(page, { type: 'loading', loading: true });
    await page.waitForFunction(() => (globalThis as any).document.querySelector('#app .content').getAttribute('aria-busy') === 'true');
    assert.equal(await page.locator('.status').innerText(), 'Updating…');
    await post(page, { type: 'loading', loading: false });
    await page.waitForFunction(() => (globalThis as any).document.querySelector('#app .content').getAttribute('aria-busy') === 'false');

    const before = await page.locator('.stat.primary .card-value').innerText();
    for (const bad of [{ type: 'bogus' }, { type: 'snapshot' }, { type: 'snapshot', snapshot: { total: 1 } }, 'snapshot', null, [1, 2]]) await post(page, bad);
    await page.evaluate(() => new Promise((r) => setTimeout(r, 50)));
    assert.equal(await page.locator('.stat.primary .card-value').innerText(), before);
  });

  it('restores the sort, the scroll position and the last query after a reload', async () => {
    const saved = { sort: { key: 'p95Usd', dir: 'asc' }, scrollY: 400, query: { range: '30d', groupBy: 'feature', filters: [{ dim: 'user', value: 'u_003' }] } };
    const p2 = await openPage(saved);
    try {
      await applyTheme(p2, darkTheme);
      await post(p2, { type: 'snapshot', snapshot });
      await waitForRender(p2);
      const msgs = await posted(p2);
      assert.deepEqual(msgs[0], { type: 'ready' });
      assert.deepEqual(msgs[1], { type: 'setQuery', query: saved.query });
      assert.equal((await ariaSorts(p2))['p95 / call'], 'ascending');
      const byP95 = [...snapshot.table].sort((a, b) => (a.p95Usd ?? Infinity) - (b.p95Usd ?? Infinity)).map((r) => r.key);
      assert.deepEqual((await breakdownRows(p2)).map((r) => r[0]), byP95);
      assert.equal(await p2.evaluate(() => (globalThis as any).scrollY), 400);
    } finally {
      await p2.close();
    }
  });

  it('says it is updating from a query change until its answer, without moving the layout', async () => {
    await reset(page);
    await page.evaluate(() => (globalThis as any).scrollTo(0, 0));
    const boxes = () =>
      page.evaluate(() => {
        const doc = (globalThis as any).document;
        return ['header.top', '.filters', '.cards', '#chart-time', 'table.breakdown'].map((sel) => {
          const r = doc.querySelector(sel).getBoundingClientRect();
          return [sel, Math.round(r.x), Math.round(r.y), Math.round(r.width), Math.round(r.height)].join(' ');
        });
      });
    const busy = () =>
      page.evaluate(() => {
        const doc = (globalThis as any).document;
        return { busy: doc.querySelector('#app .content').getAttribute('aria-busy'), dimmed: doc.body.classList.contains('is-loading'), status: doc.querySelector('.status').textContent };
      });
    const before = await boxes();
    assert.deepEqual(await busy(), { busy: 'false', dimmed: false, status: '' });

    await page.getByLabel('Group by').selectOption('user');
    assert.deepEqual(await lastPosted(page), { type: 'setQuery', query: { range: '7d', groupBy: 'user', filters: [] } });
    assert.deepEqual(await busy(), { busy: 'true', dimmed: true, status: 'Updating…' });
    assert.deepEqual(await boxes(), before, 'showing "Updating…" moves nothing');
    // The figures fade after a short delay (no flash for a quick answer).
    await page.evaluate(() => new Promise((r) => setTimeout(r, 400)));
    await page.screenshot({ path: path.join(RESULTS, 'dashboard-updating.png') });

    // A live update of the previous query, posted before the host took the new one: not drawn, still updating.
    const stale = structuredClone(snapshot);
    stale.generatedAtMs += 60_000;
    await post(page, { type: 'snapshot', snapshot: stale });
    await page.evaluate(() => new Promise((r) => setTimeout(r, 50)));
    assert.deepEqual(await busy(), { busy: 'true', dimmed: true, status: 'Updating…' });
    assert.equal(await page.locator('#groupBy').inputValue(), 'user');

    // The host takes the query up, then answers it.
    await post(page, { type: 'loading', loading: true });
    assert.equal((await busy()).busy, 'true');
    const byUser = structuredClone(snapshot);
    byUser.query = { ...byUser.query, groupBy: 'user' };
    await post(page, { type: 'snapshot', snapshot: byUser });
    await page.waitForFunction(() => (globalThis as any).document.querySelector('#app .content').getAttribute('aria-busy') === 'false');
    assert.deepEqual(await busy(), { busy: 'false', dimmed: false, status: '' });
    assert.equal(await page.locator('#breakdown-title').innerText(), 'Breakdown by user');
    await reset(page);
  });

  it('shows a failed request instead of waiting for ever, with its reason as text', async () => {
    await reset(page);
    await page.getByLabel('Time range').selectOption('24h');
    assert.equal(await page.locator('#app .content').getAttribute('aria-busy'), 'true');
    await post(page, { type: 'loading', loading: true });
    await post(page, { type: 'failed', request: 'snapshot', message: `worker died on ${HOSTILE}` });
    await page.waitForSelector('.failure:not([hidden])');
    assert.equal(await page.locator('#app .content').getAttribute('aria-busy'), 'false');
    assert.equal(await page.locator('.status').innerText(), '');
    const failure = page.locator('.failure');
    assert.equal(await failure.getAttribute('role'), 'alert');
    assert.match(await failure.innerText(), /Could not update the dashboard: worker died on <img src=x onerror=alert\(1\)>/);
    assert.match(await failure.innerText(), /The figures below are from before/);
    // The controls go back to the query of the figures shown.
    assert.equal(await page.locator('#range').inputValue(), '7d');
    assert.equal(await page.locator('img').count(), 0);
    await page.evaluate(() => (globalThis as any).scrollTo(0, 0));
    await page.screenshot({ path: path.join(RESULTS, 'dashboard-failed.png'), clip: { x: 0, y: 0, width: 1400, height: 360 } });
    await failure.getByRole('button', { name: 'Dismiss' }).click();
    assert.equal(await failure.isHidden(), true);

    // An export that could not be written.
    await post(page, { type: 'failed', request: 'export', message: "EACCES: permission denied, open '/ro/llm-cost.csv'" });
    await page.waitForSelector('.failure:not([hidden])');
    assert.match(await failure.innerText(), /The export failed: EACCES: permission denied, open '\/ro\/llm-cost.csv'/);
    // The next figures do not hide an export's failure; a snapshot's failure goes with the next figures.
    await answer(page, snapshot);
    assert.equal(await failure.isHidden(), false);
    await failure.getByRole('button', { name: 'Dismiss' }).click();
    await post(page, { type: 'failed', request: 'snapshot', message: 'boom' });
    await page.waitForSelector('.failure:not([hidden])');
    await answer(page, snapshot);
    await page.waitForSelector('.failure', { state: 'hidden' });

    // A what-if the host could not answer ends "Re-pricing…".
    const withModels: DashboardSnapshot = structuredClone(snapshot);
    withModels.signals = { budgets: [], anomalies: [], whatIfModels: ['gpt-4o-mini'] };
    await post(page, { type: 'snapshot', snapshot: withModels });
    await page.getByRole('button', { name: 'Re-price' }).click();
    assert.equal(await page.locator('.whatif-result').innerText(), 'Re-pricing…');
    await post(page, { type: 'failed', request: 'whatIf', message: 'the signals worker stopped' });
    await page.waitForFunction(() => (globalThis as any).document.querySelector('.whatif-result')?.textContent === 'Re-pricing failed: the signals worker stopped');
    await failure.getByRole('button', { name: 'Dismiss' }).click();
    await reset(page);

    // Before any figure: the shell's "Loading cost data…" says why there are none.
    const p2 = await openPage();
    try {
      await post(p2, { type: 'failed', request: 'snapshot', message: 'no worker' });
      await p2.waitForFunction(() => (globalThis as any).document.getElementById('app').textContent === 'Could not update the dashboard: no worker');
      assert.equal(await p2.locator('#app').getAttribute('aria-busy'), 'false');
      for (const bad of [{ type: 'failed', request: 'bogus', message: 'x' }, { type: 'failed' }]) await post(p2, bad);
      await post(p2, { type: 'snapshot', snapshot });
      await waitForRender(p2);
      assert.equal(await p2.locator('.failure').isHidden(), true);
    } finally {
      await p2.close();
    }
  });

  it('offers "Reveal in tree" in the header only with a filter, and says why not', async () => {
    await reset(page);
    const reveal = page.locator('header.top').getByRole('button', { name: 'Reveal in tree' });
    assert.equal(await reveal.getAttribute('aria-disabled'), 'true');
    assert.equal(await reveal.isDisabled(), true);
    assert.match((await reveal.getAttribute('title')) ?? '', /filter the view first/);
    const count = (await posted(page)).length;
    // Still focusable (its tooltip can be read); a click does nothing.
    await reveal.click({ force: true });
    assert.equal((await posted(page)).length, count, 'nothing is posted without a filter');

    const filtered = structuredClone(snapshot);
    filtered.query = { ...filtered.query, filters: [{ dim: 'feature', value: 'search' }] };
    await answer(page, filtered);
    await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('.chip').length === 1);
    assert.equal(await reveal.getAttribute('aria-disabled'), 'false');
    assert.equal(await reveal.isDisabled(), false);
    assert.match((await reveal.getAttribute('title')) ?? '', /Reveal the group of the current filters/);
    await reveal.click();
    assert.deepEqual(await lastPosted(page), { type: 'revealInTree', filters: [{ dim: 'feature', value: 'search' }] });
    await reset(page);
  });

  it('says why the view is empty and what to do: no trace file, nothing in the range, nothing matching', async () => {
    const empty = (patch: Partial<DashboardSnapshot>): DashboardSnapshot => {
      const e: DashboardSnapshot = structuredClone(snapshot);
      e.total = { ...e.total, costUsd: 0, calls: 0, pricedCalls: 0, unpricedCalls: 0, meanUsd: null, p50Usd: null, p95Usd: null, p99Usd: null, cacheHitRatio: 0, cacheSavingsUsd: 0, costWithoutCacheUsd: 0, errors: 0 };
      Object.assign(e, { table: [], byModel: [], top: [], cacheByFeature: [], unpriced: [], unattributedShare: 0, series: { startsMs: [], stacks: [] } });
      e.histogram = { edgesUsd: [], counts: [], p50Usd: null, p95Usd: null, p99Usd: null };
      return { ...e, ...patch };
    };
    const note = page.locator('.empty-note');

    // No trace file at all: the globs read, and ways to get calls in.
    await answer(page, empty({ files: 0, allTime: { calls: 0, latestMs: null }, env: { traceFiles: ['**/traces/**/*.jsonl', HOSTILE], pricesFile: '.llm-cost-lens/prices.json', costSource: 'auto' } }));
    await page.waitForSelector('.empty-note:not([hidden])');
    let text = await note.innerText();
    assert.match(text, /No trace files found\./);
    assert.ok(text.includes('llmCostLens.traceFiles') && text.includes('**/traces/**/*.jsonl') && text.includes(HOSTILE), text);
    assert.match(text, /Analyze This File/);
    assert.doesNotMatch(text, /No calls match/);
    assert.equal(await page.locator('img').count(), 0);
    await page.evaluate(() => (globalThis as any).scrollTo(0, 0));
    await page.screenshot({ path: path.join(RESULTS, 'dashboard-no-files.png') });
    await note.getByRole('button', { name: 'Analyze Trace File…' }).click();
    assert.deepEqual(await lastPosted(page), { type: 'command', command: 'pickFile' });
    await note.getByRole('button', { name: 'Open Settings' }).click();
    assert.deepEqual(await lastPosted(page), { type: 'command', command: 'openSettings' });

    // Calls exist, none in the range: when the latest was, and All time.
    const latestMs = Date.UTC(2026, 9, 3, 14, 5);
    await answer(page, empty({ allTime: { calls: 1, latestMs } }));
    await page.waitForFunction(() => /latest call/.test((globalThis as any).document.querySelector('.empty-note').textContent));
    text = await note.innerText();
    assert.match(text, /No calls in the last 7 days\./);
    assert.match(text, /The latest call was on Oct 3, 2026, 14:05 UTC \(1 call over all time\)\./);
    assert.equal(await page.locator('.stat').nth(2).locator('.card-value').innerText(), '—', 'no cost per call without calls (not "unpriced")');
    await page.evaluate(() => (globalThis as any).scrollTo(0, 0));
    await page.screenshot({ path: path.join(RESULTS, 'dashboard-empty-range.png') });
    await note.getByRole('button', { name: 'Show all time' }).click();
    assert.deepEqual(await lastPosted(page), { type: 'setQuery', query: { range: 'all', groupBy: 'feature', filters: [] } });

    // Calls with no timestamp only.
    await answer(page, empty({ allTime: { calls: 3, latestMs: null } }));
    await page.waitForFunction(() => /no timestamp/.test((globalThis as any).document.querySelector('.empty-note').textContent));
    assert.match(await note.innerText(), /3 calls have no timestamp, so they show only under All time/);

    // Filters that match nothing at any time.
    const filters = [{ dim: 'user', value: 'u_404' }];
    await answer(page, empty({ query: { ...snapshot.query, filters }, allTime: { calls: 0, latestMs: null } }));
    await page.waitForFunction(() => /at any time/.test((globalThis as any).document.querySelector('.empty-note').textContent));
    await note.getByRole('button', { name: 'Clear filters' }).click();
    assert.deepEqual(await lastPosted(page), { type: 'setQuery', query: { range: '7d', groupBy: 'feature', filters: [] } });

    // Files with no call in them.
    await answer(page, empty({ files: 1, allTime: { calls: 0, latestMs: null } }));
    await page.waitForFunction(() => /hold/.test((globalThis as any).document.querySelector('.empty-note').textContent));
    assert.match(await note.innerText(), /The 1 trace file holds no LLM calls yet\./);
    await note.getByRole('button', { name: 'Show Output' }).click();
    assert.deepEqual(await lastPosted(page), { type: 'command', command: 'showOutput' });
    await reset(page);
    await note.waitFor({ state: 'hidden' });
  });

  it('words the unpriced banner for the prices file in use and the cost source', async () => {
    const banner = page.locator('.warning:not(.failure)');
    const models = snapshot.unpriced.map((u) => u.model);
    await answer(page, { ...snapshot, env: { traceFiles: [], pricesFile: 'config/llm-prices.json', costSource: 'auto' } });
    await page.waitForFunction(() => /llm-prices/.test((globalThis as any).document.querySelector('.warning:not(.failure)').textContent));
    let text = await banner.innerText();
    assert.match(text, /Add their prices \(USD per million tokens\) to config\/llm-prices\.json\./);
    assert.doesNotMatch(text, /in the catalogue/, 'no reason without one');
    // A model the catalogue prices in other units: the host sends why, and the list says it after the calls.
    const why = { ...snapshot, unpriced: [...snapshot.unpriced, { model: 'whisper-1', calls: 3, reason: 'priced per audio hour in the catalogue, not per token' }], env: { traceFiles: [], pricesFile: 'config/llm-prices.json', costSource: 'auto' as const } };
    await answer(page, why);
    await page.waitForFunction(() => /whisper-1/.test((globalThis as any).document.querySelector('.warning:not(.failure)').textContent));
    text = await banner.innerText();
    assert.match(text, /whisper-1 — 3 calls · priced per audio hour in the catalogue, not per token/);
    await answer(page, { ...snapshot, env: { traceFiles: [], pricesFile: 'config/llm-prices.json', costSource: 'auto' } });
    await page.waitForFunction(() => !/whisper-1/.test((globalThis as any).document.querySelector('.warning:not(.failure)').textContent));
    assert.doesNotMatch(text, /\.llm-cost-lens\/prices\.json/);
    await page.evaluate(() => (globalThis as any).scrollTo(0, 0));
    await page.screenshot({ path: path.join(RESULTS, 'dashboard-unpriced.png') });
    await banner.getByRole('button', { name: 'Open prices file' }).click();
    assert.deepEqual(await lastPosted(page), { type: 'command', command: 'openPricesFile', models });

    await answer(page, { ...snapshot, env: { traceFiles: [], pricesFile: 'config/llm-prices.json', costSource: 'recorded' } });
    await page.waitForFunction(() => /recorded cost/.test((globalThis as any).document.querySelector('.warning:not(.failure)').textContent));
    text = await banner.innerText();
    assert.match(text, /1 call has no recorded cost: not included in the costs below\./);
    assert.match(text, /The cost source is recorded/);
    assert.doesNotMatch(text, /prices\.json/);
    assert.equal(await banner.getByRole('button', { name: 'Open prices file' }).count(), 0);
    await banner.getByRole('button', { name: 'Open Settings' }).click();
    assert.deepEqual(await lastPosted(page), { type: 'command', command: 'openSettings' });
    await reset(page);
  });

  it('names each figure once: distinct titles, one name for the cache metric, singular for one', async () => {
    await reset(page);
    const titles = await page.evaluate(() => [...(globalThis as any).document.querySelectorAll('.card-title, .chart-card h2')].map((h: any) => h.textContent as string));
    assert.equal(new Set(titles).size, titles.length, `titles are distinct: ${titles.join(' | ')}`);
    assert.ok(titles.includes('Cost per call') && titles.includes('Distribution of cost per call') && titles.includes('Cache hit ratio'));
    const body = await page.evaluate(() => (globalThis as any).document.body.textContent as string);
    assert.doesNotMatch(body, /Prompt cache(?!-)/);
    assert.doesNotMatch(body, /Cache hit(?! ratio)/);
    const heads = await page.evaluate(() => [...(globalThis as any).document.querySelectorAll('table.breakdown thead th, #chart-cache thead th')].map((h: any) => h.textContent as string));
    assert.equal(heads.filter((h) => h.startsWith('Cache hit ratio')).length, 2);

    const one: DashboardSnapshot = structuredClone(snapshot);
    one.total = { ...one.total, pricedCalls: 1, errors: 1 };
    one.previous = { costUsd: 0, calls: 1 };
    one.table = one.table.slice(0, 1);
    one.files = 1;
    await post(page, { type: 'snapshot', snapshot: one });
    await page.waitForFunction(() => /1 group,/.test((globalThis as any).document.querySelector('table.breakdown caption').textContent));
    const text = await page.evaluate(() => (globalThis as any).document.body.innerText as string);
    for (const s of ['mean of 1 priced call', '1 error (', '(1 call), so no % change', '1 trace file ·']) assert.ok(text.includes(s), `says ${s}`);
    assert.doesNotMatch(text, /\b1 (calls|errors|groups|files|trace files)\b/);
    await reset(page);
  });

  it('keeps every card\'s content inside its box at any panel width (cost per call and its percentiles included)', async () => {
    await reset(page);
    const spills: string[] = [];
    try {
      for (let width = 600; width <= 1300; width += 25) {
        await page.setViewportSize({ width, height: 1000 });
        await page.evaluate(() => new Promise((r) => (globalThis as any).requestAnimationFrame(() => (globalThis as any).requestAnimationFrame(r))));
        spills.push(...(await textOutside(page, '.cards .card')).map((s) => `${width}px: ${s}`));
      }
    } finally {
      await page.setViewportSize({ width: 1400, height: 1000 });
    }
    assert.deepEqual(spills, []);
  });

  it('draws a translucent theme chart colour (Dark Modern\'s orange) as a solid colour that stands out from the background', async () => {
    await reset(page);
    const translucent: ThemeFixture = { bodyClass: 'vscode-dark', vars: { ...darkTheme.vars, '--vscode-editor-background': '#1f1f1f', '--vscode-charts-orange': 'rgba(234, 92, 0, 0.33)' } };
    const withBudget: DashboardSnapshot = structuredClone(snapshot);
    withBudget.signals = { budgets: [{ label: 'Total · day', level: '80', usedShare: 0.86, text: '$43.00 of $50.00 today (86%)' }], anomalies: [], whatIfModels: [] };
    try {
      await applyTheme(page, translucent);
      await post(page, { type: 'snapshot', snapshot: withBudget });
      await page.waitForSelector('.signals:not([hidden]) .budget');
      // The second series (orange), its swatch in the breakdown, the p95 marker and an 80% budget's meter.
      const second = snapshot.series.stacks[1].key;
      const colours = await page.evaluate((key) => {
        const doc = (globalThis as any).document;
        const cs = (e: any, prop: string) => (globalThis as any).getComputedStyle(e)[prop] as string;
        const row = [...doc.querySelectorAll('table.breakdown tbody tr')].find((tr: any) => tr.querySelector('th').textContent === key);
        return {
          swatch: cs(row.querySelector('.swatch'), 'backgroundColor'),
          p95: cs(doc.querySelector('.marker-swatch.p95'), 'borderTopColor'),
          meter: cs(doc.querySelector('.level-80 .meter-bar'), 'backgroundColor'),
        };
      }, second);
      const rgb = (c: string) => {
        const m = /^rgba?\(([\d.]+), ([\d.]+), ([\d.]+)(?:, ([\d.]+))?\)$/.exec(c);
        assert.ok(m, `a computed colour: ${c}`);
        return { rgb: [Number(m[1]), Number(m[2]), Number(m[3])], alpha: m[4] === undefined ? 1 : Number(m[4]) };
      };
      const lum = ([r, g, b]: number[]) => {
        const f = (v: number) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
      };
      const bg = lum([31, 31, 31]);
      for (const [what, c] of Object.entries(colours)) {
        const { rgb: v, alpha } = rgb(c);
        assert.equal(alpha, 1, `${what} is opaque (${c})`);
        const contrast = (Math.max(lum(v), bg) + 0.05) / (Math.min(lum(v), bg) + 0.05);
        assert.ok(contrast >= 3, `${what} stands out from the background: ${contrast.toFixed(2)}:1 (${c})`);
      }
      assert.equal(colours.swatch, colours.p95, 'the series, its swatch and the p95 line share one colour');
      const [bars] = await countColour(page, '#chart-time canvas', [rgb(colours.swatch).rgb]);
      assert.ok(bars > 300, `the orange series is drawn in that colour (${bars} pixels)`);
      await page.locator('#chart-time').scrollIntoViewIfNeeded();
      await page.locator('#chart-time').screenshot({ path: path.join(RESULTS, 'dashboard-translucent-orange.png') });
    } finally {
      await applyTheme(page, darkTheme);
      await reset(page);
    }
  });

  it('shows a range with no calls as "no calls": no -100% saving, no 0% ratios, one note instead of five empty charts', async () => {
    const e: DashboardSnapshot = structuredClone(snapshot);
    e.total = { ...e.total, costUsd: 0, calls: 0, pricedCalls: 0, unpricedCalls: 0, listPricedCalls: 0, meanUsd: null, p50Usd: null, p95Usd: null, p99Usd: null, cacheHitRatio: 0, cacheSavingsUsd: 0, costWithoutCacheUsd: 0, errors: 0 };
    Object.assign(e, { table: [], byModel: [], top: [], cacheByFeature: [], unpriced: [], unattributedShare: 0, series: { startsMs: [], stacks: [] } });
    e.histogram = { edgesUsd: [], counts: [], p50Usd: null, p95Usd: null, p99Usd: null };
    e.previous = { costUsd: 15.14, calls: 812 };
    e.allTime = { calls: 3200, latestMs: snapshot.generatedAtMs - 10 * 86_400_000 };
    await answer(page, e);
    await page.waitForSelector('.empty-note:not([hidden])');
    const cards = await page.locator('.cards').innerText();
    assert.doesNotMatch(cards, /-100%|▼|\$0\.00|\b0%|unpriced|0 errors|mean of 0/, cards);
    assert.equal(await page.locator('.cards .change.down, .cards .good').count(), 0, 'nothing in green as if saved');
    assert.match(cards, /The previous 7 days: \$15\.14 \(812 calls\)/);
    for (const title of ['Total cost', 'Cost per call', 'Cache hit ratio', 'Unattributed']) {
      const c = page.locator('.stat').filter({ has: page.locator('.card-title', { hasText: title }) });
      assert.equal(await c.locator('.card-value').innerText(), '—', `${title} shows —`);
    }
    assert.equal(await page.locator('.charts').isHidden(), true, 'the empty chart frames are hidden');
    const placeholder = page.locator('.no-charts');
    assert.equal(await placeholder.isVisible(), true);
    assert.equal(await placeholder.innerText(), 'No calls in this range: no charts to draw.');
    const histLegend = await page.locator('.marker-legend').innerText();
    assert.doesNotMatch(histLegend, /unpriced/);
    await page.evaluate(() => (globalThis as any).scrollTo(0, 0));
    await page.screenshot({ path: path.join(RESULTS, 'dashboard-empty-range-cards.png'), fullPage: true });

    // Calls, none priced: the comparison is not a saving either.
    const unpriced: DashboardSnapshot = structuredClone(snapshot);
    unpriced.total = { ...unpriced.total, costUsd: 0, pricedCalls: 0, unpricedCalls: unpriced.total.calls, listPricedCalls: 0, meanUsd: null, p50Usd: null, p95Usd: null, p99Usd: null };
    unpriced.previous = { costUsd: 15.14, calls: 812 };
    await answer(page, unpriced);
    await page.waitForFunction(() => (globalThis as any).document.querySelector('.stat.primary .card-value')?.textContent === 'unpriced');
    assert.equal(await page.locator('.charts').isVisible(), true);
    assert.equal(await page.locator('.no-charts').isHidden(), true);
    const detail = await page.locator('.stat.primary .card-detail').innerText();
    assert.doesNotMatch(detail, /-100%/);
    assert.match(detail, /No priced call in this range, so no % change/);
    await reset(page);
    assert.equal(await page.locator('.charts').isVisible(), true);
  });

  it('shows the budgets and anomalies section when it is empty, saying what it would hold and how recent the calls are', async () => {
    const quiet: DashboardSnapshot = structuredClone(snapshot);
    quiet.signals = { budgets: [], anomalies: [], whatIfModels: [], anomalyWindowDays: 3 };
    quiet.latestMs = snapshot.generatedAtMs - 10 * 86_400_000 - 3_600_000;
    await answer(page, quiet);
    await page.waitForSelector('.signals:not([hidden])');
    const text = await page.locator('.signals').innerText();
    assert.match(text, /ANOMALIES\s+No anomalies in the last 3 days · latest call 10 days ago/);
    assert.match(text, /BUDGETS\s+No budgets set\. Set llmCostLens\.budgets to follow spend against a daily or monthly limit\./);
    await page.locator('.signals').getByRole('button', { name: 'Open Settings' }).click();
    assert.deepEqual(await lastPosted(page), { type: 'command', command: 'openSettings' });
    await page.locator('.signals').scrollIntoViewIfNeeded();
    await page.locator('.signals').screenshot({ path: path.join(RESULTS, 'dashboard-signals-empty.png') });

    // A filtered view says whose latest call it is.
    quiet.latestMs = snapshot.generatedAtMs - 2 * 3_600_000;
    quiet.query = { ...quiet.query, filters: [{ dim: 'feature', value: 'search' }] };
    await answer(page, quiet);
    await page.waitForFunction(() => /latest call in this view 2 hours ago/.test((globalThis as any).document.querySelector('.signals').textContent));

    // No call in the last 3 days: the host looked in the 3 days up to the latest call's hour, and the section says so.
    const at = Date.parse('2026-11-20T18:00:00Z');
    quiet.signals = { budgets: [], anomalies: [], whatIfModels: [], anomalyWindowDays: 3, anomaliesAtMs: at };
    await answer(page, quiet);
    await page.waitForFunction(() => /up to/.test((globalThis as any).document.querySelector('.signals').textContent));
    assert.match(await page.locator('.signals').innerText(), /ANOMALIES\s+No anomalies in the 3 days up to Nov 20, 2026, 18:00 UTC \(no call since\)/);
    quiet.signals = { ...quiet.signals, anomalies: [{ kind: 'spike', dim: 'feature', key: 'search', startMs: at - 5 * 3_600_000, text: 'feature search: $1.20 in the hour, 5.0× its usual $0.24' }] };
    await answer(page, quiet);
    await page.waitForFunction(() => /Anomalies \(1\)/i.test((globalThis as any).document.querySelector('.signals').textContent));
    assert.match(await page.locator('.signals').innerText(), /ANOMALIES \(1\)\s+In the 3 days up to Nov 20, 2026, 18:00 UTC \(no call since\)\.\s+▲\s*feature search/);
    await reset(page);
    assert.equal(await page.locator('.signals').isHidden(), true, 'no section without signals from the host');
  });

  it('drills down when filtering by the grouping dimension, and hides the Unattributed card a filter on it empties', async () => {
    await reset(page);
    // Grouped by feature, a feature row filters by it and groups by the next dimension (as the tree's next level).
    await page.locator('table.breakdown tbody tr').filter({ hasText: 'support-agent' }).locator('td').nth(2).click();
    assert.deepEqual(await lastPosted(page), { type: 'setQuery', query: { range: '7d', groupBy: 'user', filters: [{ dim: 'feature', value: 'support-agent' }] } });
    assert.equal(await page.locator('#groupBy').inputValue(), 'user');

    // Filtering by another dimension keeps the grouping.
    const byUser: DashboardSnapshot = structuredClone(snapshot);
    byUser.query = { range: '7d', groupBy: 'user', filters: [{ dim: 'feature', value: 'support-agent' }] };
    await answer(page, byUser);
    await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('.chip').length === 1);
    const unattributed = page.locator('.stat').filter({ has: page.locator('.card-title', { hasText: 'Unattributed' }) });
    assert.equal(await unattributed.isVisible(), true, 'grouped by user, the share with no user says something');
    await clickFirstModelBar(page);
    assert.deepEqual(await lastPosted(page), {
      type: 'setQuery',
      query: { range: '7d', groupBy: 'user', filters: [{ dim: 'feature', value: 'support-agent' }, { dim: 'model', value: snapshot.byModel[0].key }] },
    });

    // Grouped by the dimension a filter fixes (the user chose it): "0% of the cost has no feature" says nothing.
    const same: DashboardSnapshot = structuredClone(snapshot);
    same.query = { range: '7d', groupBy: 'feature', filters: [{ dim: 'feature', value: 'support-agent' }] };
    same.unattributedShare = 0;
    await answer(page, same);
    await page.waitForFunction(() => (globalThis as any).document.querySelector('#groupBy').value === 'feature');
    assert.equal(await unattributed.isHidden(), true);
    await page.evaluate(() => (globalThis as any).scrollTo(0, 0));
    await page.screenshot({ path: path.join(RESULTS, 'dashboard-filtered-feature.png') });
    await reset(page);
    assert.equal(await unattributed.isVisible(), true);
  });

  it('shows that a narrow breakdown table scrolls sideways: an edge shadow on the hidden side and a hint', async () => {
    await reset(page);
    const frame = page.locator('.breakdown-card .scroll-frame');
    const hint = page.locator('.breakdown-card .scroll-hint');
    const state = () =>
      frame.evaluate((f: any) => {
        const g = globalThis as any;
        const shadow = (side: string) => (g.getComputedStyle(f, side).backgroundImage.includes('gradient') ? Number(g.getComputedStyle(f, side).opacity) : 0);
        const sc = f.querySelector('.table-scroll');
        return { overflows: sc.scrollWidth > sc.clientWidth + 1, classes: [...f.classList].sort().join(' '), after: shadow('::after'), before: shadow('::before') };
      });
    try {
      assert.deepEqual(await state(), { overflows: false, classes: 'scroll-frame', after: 0, before: 0 });
      assert.equal(await hint.isVisible(), false);
      await page.setViewportSize({ width: 640, height: 1000 });
      await page.waitForFunction(() => (globalThis as any).document.querySelector('.scroll-frame').classList.contains('more-right'));
      let st = await state();
      assert.deepEqual(st, { overflows: true, classes: 'more-right scroll-frame', after: 1, before: 0 }, 'a shadow on the right edge');
      assert.equal(await hint.isVisible(), true);
      assert.match(await hint.innerText(), /Scroll sideways for more columns/);
      await frame.locator('.table-scroll').scrollIntoViewIfNeeded();
      await page.locator('.breakdown-card').screenshot({ path: path.join(RESULTS, 'dashboard-table-narrow.png') });
      await frame.locator('.table-scroll').evaluate((e: any) => e.scrollTo({ left: e.scrollWidth }));
      await page.waitForFunction(() => (globalThis as any).document.querySelector('.scroll-frame').classList.contains('more-left'));
      st = await state();
      assert.deepEqual(st, { overflows: true, classes: 'more-left scroll-frame', after: 0, before: 1 }, 'a shadow on the left edge once scrolled to the end');
    } finally {
      await page.setViewportSize({ width: 1400, height: 1000 });
    }
    await page.waitForFunction(() => (globalThis as any).document.querySelector('.scroll-frame').className === 'scroll-frame');
  });

  it('puts each percentile label against its own line, clear of the other lines and labels', async () => {
    // The fixture's percentiles, and those of the review (p95 and p99 a bucket apart).
    const review: DashboardSnapshot = structuredClone(snapshot);
    review.histogram = { ...review.histogram, p50Usd: 0.0087, p95Usd: 0.0449, p99Usd: 0.0824 };
    const problems: string[] = [];
    try {
      for (const snap of [snapshot, review]) {
        await answer(page, snap);
        await waitForRender(page);
        for (const width of [640, 714, 900, 1250, 1400]) {
          await page.setViewportSize({ width, height: 1000 });
          await page.evaluate(() => new Promise((r) => (globalThis as any).requestAnimationFrame(() => (globalThis as any).requestAnimationFrame(r))));
          const m = JSON.parse((await page.locator('#chart-hist canvas').getAttribute('data-markers')) ?? 'null') as { area: number[]; labels: { label: string; line: number; top?: number; box: number[] }[] };
          const at = `${width}px, p99 ${formatUsd(snap.histogram.p99Usd)}`;
          assert.equal(m.labels.length, 3, at);
          for (const [i, l] of m.labels.entries()) {
            const [x0, x1, y0, y1] = l.box;
            const gap = Math.min(Math.abs(x0 - l.line), Math.abs(l.line - x1));
            if (gap > 3) problems.push(`${at}: "${l.label}" is ${gap.toFixed(0)} px from its line`);
            if (x0 < m.area[0] - 1 || x1 > m.area[1] + 1) problems.push(`${at}: "${l.label}" leaves the plot`);
            for (const [j, o] of m.labels.entries()) {
              if (j === i) continue;
              // Another line beside or through the label (it runs from its own label's top down).
              if (o.line > x0 - 4 && o.line < x1 + 4 && (o.top ?? 0) < y1) problems.push(`${at}: the ${o.label.split(' ')[0]} line runs through or beside "${l.label}"`);
              if (j > i && x0 < o.box[1] && o.box[0] < x1 && y0 < o.box[3] && o.box[2] < y1) problems.push(`${at}: "${l.label}" overlaps "${o.label}"`);
            }
          }
        }
        await page.setViewportSize({ width: 900, height: 1000 });
        await page.locator('#chart-hist').scrollIntoViewIfNeeded();
        await page.locator('#chart-hist').screenshot({ path: path.join(RESULTS, `dashboard-percentiles-${snap === review ? 'review' : 'fixture'}.png`) });
      }
    } finally {
      await page.setViewportSize({ width: 1400, height: 1000 });
      await reset(page);
    }
    assert.deepEqual(problems, []);
  });

  it('writes each bar\'s value after the bar, or inside it when there is no room, never across its end', async () => {
    await reset(page);
    const problems: string[] = [];
    try {
      for (const width of [640, 714, 900, 1000, 1250, 1400]) {
        await page.setViewportSize({ width, height: 1000 });
        await page.evaluate(() => new Promise((r) => (globalThis as any).requestAnimationFrame(() => (globalThis as any).requestAnimationFrame(r))));
        for (const id of ['chart-model', 'chart-top']) {
          const v = JSON.parse((await page.locator(`#${id} canvas`).getAttribute('data-value-labels')) ?? 'null') as { width: number; labels: { bar: number[]; label: number[] }[] };
          for (const [i, { bar, label }] of v.labels.entries()) {
            const after = label[0] >= bar[1] + 2;
            const inside = label[0] >= bar[0] + 2 && label[1] <= bar[1] - 2;
            if (!after && !inside) problems.push(`${width}px ${id} bar ${i}: label ${label.map(Math.round)} crosses the bar's end at ${Math.round(bar[1])}`);
            if (label[1] > v.width) problems.push(`${width}px ${id} bar ${i}: label leaves the canvas`);
          }
        }
      }
      await page.setViewportSize({ width: 900, height: 1000 });
      await page.locator('#chart-top').scrollIntoViewIfNeeded();
      await page.locator('#chart-top').screenshot({ path: path.join(RESULTS, 'dashboard-top-labels.png') });
    } finally {
      await page.setViewportSize({ width: 1400, height: 1000 });
    }
    assert.deepEqual(problems, []);
  });

  it('says its time range is the dashboard\'s own, apart from the Cost view\'s and the status bar\'s', async () => {
    await reset(page);
    const scope = page.locator('header.top .range-scope');
    assert.equal(await scope.isVisible(), true);
    assert.equal(await scope.innerText(), 'this dashboard only');
    const note = (await scope.getAttribute('title')) ?? '';
    assert.match(note, /Cost view and the status bar keep their own time range/);
    assert.equal(await page.locator('#range').getAttribute('title'), note);
    assert.match(await page.locator('header.top .meta').innerText(), /^Dashboard range: Last 7 days · /);
    await page.evaluate(() => (globalThis as any).scrollTo(0, 0));
    await page.locator('header.top').screenshot({ path: path.join(RESULTS, 'dashboard-range-scope.png') });
  });

  it('raised no CSP violation, console error or alert', async () => {
    const g = await page.evaluate(() => ({ csp: (globalThis as any).__csp, alerts: (globalThis as any).__alerts }));
    assert.deepEqual(g.csp, []);
    assert.deepEqual(g.alerts, []);
    assert.deepEqual(consoleErrors, []);
  });
});
