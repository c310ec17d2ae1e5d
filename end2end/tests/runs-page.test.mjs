// The /runs page renders on the server and hydrates in real Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, launch, screenshots } from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer({ runs: 120 });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

test('the list renders on the server with JavaScript disabled', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${server.base}/runs`);
  assert.equal(await page.locator('tr.run').count(), 50, 'first page of 50 rows without any script');
  assert.match(await page.locator('.counts').innerText(), /50 loaded · 120 matching · 120 total/);
  assert.equal(await page.locator('main[data-hydrated]').count(), 0, 'nothing hydrated');
  await context.close();
});

test('the page hydrates and its button then works', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.base}/runs`);
  await page.locator('main[data-hydrated="true"]').waitFor({ timeout: 15000 });
  await page.getByRole('button', { name: 'Refresh' }).click();
  await page.getByText('refreshed 1×').waitFor();
  // The list is refetched; it keeps its rows while it does (a transition).
  await page.locator('tr.run').nth(49).waitFor();
  assert.equal(await page.locator('tr.run').count(), 50);
  assert.deepEqual(errors, []);
  await page.close();
});

test('screenshots at desktop and phone sizes', async () => {
  for (const [name, width, height] of [['desktop', 1280, 800], ['phone', 390, 844]]) {
    const page = await browser.newPage({ viewport: { width, height } });
    await page.goto(`${server.base}/runs`);
    await page.locator('main[data-hydrated="true"]').waitFor({ timeout: 15000 });
    const path = join(screenshots, `runs-${name}-${width}x${height}.png`);
    await page.screenshot({ path, fullPage: false });
    console.log(`screenshot: ${path}`);
    await page.close();
  }
});
