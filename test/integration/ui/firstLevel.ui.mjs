// UI check of a first load of a big trace file (scripts/testHost.mjs makes the workspace and holds the parse process
// 3 s before it writes the columns): the view says how far the reading is; the tree's first level and the status bar's
// total show as soon as the file is read (the total as the CLI gives it); a group opened then says its calls are on
// their way; once the columns are in, the same group shows the same figures and its children.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);

export default async function (page, ctx) {
  const { formatUsd } = require(join(ctx.ext, 'out/src/core/format.js'));
  const report = JSON.parse(execFileSync('node', [join(ctx.ext, 'dist/cli.js'), 'report', join(ctx.workspace, 'traces'), '--by', 'feature', '--format', 'json'], { encoding: 'utf8' }));
  await page.locator('.activitybar [aria-label^="LLM Cost Lens"]').first().click({ timeout: 60000 });
  const sidebar = page.locator('.part.sidebar');
  await sidebar.getByText(/Read(ing)? traces\/big\.jsonl/).first().waitFor({ timeout: 60000 });
  ctx.log('the view says:', await sidebar.getByText(/Read(ing)? traces\/big\.jsonl/).first().textContent());
  const first = page.locator('.monaco-list-row[aria-label^="feature "]').first();
  await first.waitFor({ timeout: 120000 });
  // From here on the view must go from the level to the tree without "Grouping the calls…" in between (the index of
  // 250,000 calls is built in slices after the load: the level stays meanwhile).
  await page.evaluate(() => {
    window.__lclGrouping = false;
    const seen = () => {
      if (document.querySelector('.part.sidebar')?.textContent?.includes('Grouping the calls')) window.__lclGrouping = true;
    };
    new MutationObserver(seen).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  const ahead = await first.getAttribute('aria-label');
  ctx.log('first level, ahead of the columns:', ahead);
  await first.click();
  // The level came from the parse process's sums, not from the columns (held back 3 s).
  await page.locator('.monaco-list-row', { hasText: 'Reading the calls' }).first().waitFor({ timeout: 2000 });
  await page.locator('.statusbar-item', { hasText: formatUsd(report.total.costUsd) }).first().waitFor({ timeout: 2000 });
  ctx.log('status bar, ahead of the columns:', formatUsd(report.total.costUsd));
  await ctx.shot('10-first-level-ahead');
  await page.locator('.monaco-list-row[aria-label^="user "]').first().waitFor({ timeout: 60000 });
  const after = await page.locator('.monaco-list-row[aria-label^="feature "]').first().getAttribute('aria-label');
  ctx.log('the same group once the columns are in:', after);
  if (after !== ahead) throw new Error(`the first level read "${ahead}" ahead of the columns and "${after}" after them`);
  if (await sidebar.getByText(/Read(ing)? traces\/big\.jsonl/).count()) throw new Error('the view still says it is reading');
  if (await page.evaluate(() => window.__lclGrouping)) throw new Error('the view showed "Grouping the calls…" between the level and the tree');
  await ctx.shot('11-first-level-then-tree');
}
