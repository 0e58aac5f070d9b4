// UI check of a first load of a big trace file (scripts/testHost.mjs makes the workspace and holds the parse process
// before it writes the columns): the tree's first level shows as soon as the file is read, a group opened then says
// its calls are on their way, and once the columns are in the same group shows the same figures and its children.
export default async function (page, ctx) {
  await page.locator('.activitybar [aria-label^="LLM Cost Lens"]').first().click({ timeout: 60000 });
  const first = page.locator('.monaco-list-row[aria-label^="feature "]').first();
  await first.waitFor({ timeout: 120000 });
  const ahead = await first.getAttribute('aria-label');
  ctx.log('first level, ahead of the columns:', ahead);
  await first.click();
  // The parse process is held 3 s before writing the columns: the level came from its sums, not from the columns.
  await page.locator('.monaco-list-row', { hasText: 'Reading the calls' }).first().waitFor({ timeout: 2000 });
  await ctx.shot('10-first-level-ahead');
  await page.locator('.monaco-list-row[aria-label^="user "]').first().waitFor({ timeout: 60000 });
  const after = await page.locator('.monaco-list-row[aria-label^="feature "]').first().getAttribute('aria-label');
  ctx.log('the same group once the columns are in:', after);
  if (after !== ahead) throw new Error(`the first level read "${ahead}" ahead of the columns and "${after}" after them`);
  await ctx.shot('11-first-level-then-tree');
}
