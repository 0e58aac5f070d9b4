// UI check on a copy of the bundled demo workspace, driven like a user: open the LLM Cost Lens view, read the tree,
// expand a feature, regroup from the view's title bar, open the dashboard from the command palette, and compare the
// figures with `llm-cost-lens report` on the same files. Screenshots go to test-results/vscode-ui/.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);

export default async function (page, ctx) {
  const root = ctx.ext;
  const { formatUsd, formatPct, formatCount } = require(join(root, 'out/src/core/format.js'));
  const report = JSON.parse(execFileSync('node', [join(root, 'dist/cli.js'), 'report', join(ctx.workspace, 'traces'), '--by', 'feature', '--format', 'json'], { encoding: 'utf8' }));
  const top = report.groups[0];
  const expected = `feature ${top.key.feature}: ${formatUsd(top.costUsd)} · ${formatPct(top.share)} · ${formatCount(top.calls)} calls`;
  ctx.log('expecting the first tree node:', expected);

  await page.locator('.activitybar [aria-label^="LLM Cost Lens"]').first().click({ timeout: 60000 });
  const first = page.locator('.monaco-list-row[aria-label^="feature "]').first();
  await first.waitFor({ timeout: 60000 });
  const label = await first.getAttribute('aria-label');
  if (!label.startsWith(expected)) throw new Error(`first tree node reads "${label}", expected "${expected}" (the CLI's figures)`);
  ctx.log('tree matches the CLI:', label);

  const status = page.locator('.statusbar-item', { hasText: formatUsd(report.total.costUsd) });
  await status.first().waitFor({ timeout: 30000 });
  ctx.log('status bar shows', formatUsd(report.total.costUsd));

  await first.click();
  await page.locator('.monaco-list-row[aria-label^="user "]').first().waitFor({ timeout: 30000 });
  await ctx.shot('01-cost-tree');

  await ctx.runCommand('LLM Cost Lens: Group By…');
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'model → feature' }).first().click({ timeout: 30000 });
  await page.locator('.monaco-list-row[aria-label^="model "]').first().waitFor({ timeout: 30000 });
  ctx.log('regrouped by model');
  await ctx.shot('02-grouped-by-model');

  // CodeLens above the wrapper calls of the demo's source: summarize.py line 11 holds 274 recorded calls.
  const expectedLens = JSON.parse(execFileSync('node', [join(root, 'dist/cli.js'), 'report', join(ctx.workspace, 'traces'), '--by', 'feature', '--format', 'json'], { encoding: 'utf8' })).groups.find((g) => g.key.feature === 'summarization');
  await page.keyboard.press('Control+P');
  await page.keyboard.type('summarize.py');
  await page.waitForTimeout(800);
  await page.keyboard.press('Enter');
  const lens = page.locator('.contentWidgets .codelens-decoration', { hasText: 'calls' }).first();
  await lens.waitFor({ timeout: 30000 });
  const lensText = await lens.textContent();
  if (!lensText.includes(`${formatUsd(expectedLens.costUsd)} · ${formatCount(expectedLens.calls)} calls`)) throw new Error(`CodeLens reads "${lensText}", expected ${formatUsd(expectedLens.costUsd)} · ${expectedLens.calls} calls`);
  ctx.log('CodeLens:', lensText);
  await ctx.shot('03-codelens');

  await ctx.runCommand('View: Close All Editors');
  await ctx.runCommand('View: Toggle Primary Side Bar Visibility');
  await ctx.runCommand('LLM Cost Lens: Open Dashboard');
  let drawn = false;
  for (let i = 0; i < 60 && !drawn; i++) {
    // The dashboard lives in a webview iframe; look only inside the frame that holds our #app root.
    for (const f of page.frames()) {
      if (f === page.mainFrame()) continue;
      const app = f.locator('main#app');
      if (!(await app.count().catch(() => 0))) continue;
      const text = await app.textContent({ timeout: 200 }).catch(() => '');
      if (text && text.includes(formatUsd(report.total.costUsd)) && (await f.locator('main#app canvas').count().catch(() => 0)) > 0) drawn = true;
    }
    if (!drawn) await page.waitForTimeout(500);
  }
  if (!drawn) throw new Error('the dashboard did not show the total cost');
  await page.waitForTimeout(1000);
  ctx.log('dashboard shows the total', formatUsd(report.total.costUsd));
  await ctx.shot('04-dashboard');
}
