// A view whose counts miss the render budget (issue 11 item 3): the server
// renders its rows with the counts pending, and the hydrated page fills
// them in. A zero budget (`--render-budget-ms 0`) makes every view such a
// view, so the test does not depend on how fast this machine counts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, launch, screenshots } from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer({ runs: 24, args: ['--render-budget-ms', '0'] });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

test('without JavaScript the rows render and the counts say they are pending', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${server.base}/runs?status=failed`);
  const statuses = await page.locator('tr.run').evaluateAll((rows) => rows.map((r) => r.dataset.status));
  assert.ok(statuses.length > 0, 'rows rendered');
  assert.ok(statuses.every((s) => s === 'failed'));
  assert.match(await page.locator('.counts').innerText(), /^\d+ loaded · counting…$/);
  assert.equal(await page.locator('.timeline.pending').count(), 1, 'the chart keeps its place');
  // The rail's controls work without counts: the selected status shows, ticked.
  const failed = page.locator('.facet.checked', { hasText: 'Failed' });
  assert.match(await failed.locator('.count').innerText(), /…/);
  await context.close();
});

test('with JavaScript the pending counts, facets and chart arrive', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const response = await page.goto(`${server.base}/runs?status=failed`);
  const html = await response.text();
  assert.match(html, /counting…/, 'the server rendered the counts pending');
  await page.locator('main[data-hydrated="true"]').waitFor({ timeout: 15000 });
  const rows = await page.locator('tr.run').count();
  await page.locator('.counts', { hasText: 'matching' }).waitFor({ timeout: 10000 });
  assert.match(await page.locator('.counts').innerText(), new RegExp(`^${rows} loaded · ${rows} matching · 25 total$`));
  assert.equal(await page.locator('.timeline.pending').count(), 0);
  assert.ok(await page.locator('.timeline .bucket').count() > 0, 'the chart has its buckets');
  const failed = page.locator('.facet.checked', { hasText: 'Failed' });
  assert.equal(await failed.locator('.count').innerText(), String(rows));
  // A click in the rail comes the same way: rows first, then the counts.
  // (The old view stays on screen until the new one arrives, so wait for
  // the new view's own number: failed runs plus completed ones.)
  const completed = page.locator('.facet', { hasText: 'Completed' });
  const both = rows + Number(await completed.locator('.count').innerText());
  await completed.locator('a.toggle').click();
  await page.locator('.counts', { hasText: `${both} matching · 25 total` }).waitFor({ timeout: 10000 });
  assert.equal(await page.locator('.timeline.pending').count(), 0);
  await page.screenshot({ path: join(screenshots, 'counts-filled.png') });
  assert.deepEqual(errors, []);
  await page.close();
});
