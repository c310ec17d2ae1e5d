// Failures keep the page, and live mode is live: a banner in words with
// Retry when a call fails (the network dropped with Playwright's routing, or
// an answer no server function gives), "Offline" while live polls fail, new
// runs placed by the list's order, counts that follow, and an open run
// followed to its end. Its own server, since these tests add runs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, launch, screenshots, run, openHydrated } from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer({ runs: 60, args: ['--render-budget-ms', '10000'] });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

/** A hydrated page at `path`; `page.errors` holds its uncaught errors. */
const open = (path, options) => openHydrated(browser, `${server.base}${path}`, options);

const ids = (page) => page.locator('tr.run').evaluateAll((rows) => rows.map((r) => r.dataset.id));

test('a dropped network keeps the last rows under a banner in words; Retry loads the view', async () => {
  const page = await open('/runs');
  const before = await ids(page);
  assert.equal(before.length, 50);
  await page.route('**/api/load_runs*', (route) => route.abort('internetdisconnected'));
  await page.locator('.facet', { hasText: 'failed' }).locator('a.toggle').click();
  const banner = page.locator('.banner');
  await banner.waitFor();
  assert.equal(await banner.getAttribute('role'), 'alert');
  assert.match(await banner.innerText(), /Could not load the runs: the server cannot be reached\./);
  assert.doesNotMatch(await page.locator('main').innerText(), /Failed to fetch|TypeError|deserializ/i);
  assert.deepEqual(await ids(page), before, 'the last good rows stay');
  assert.ok(await page.locator('.rail').isVisible(), 'the rail stays');
  await page.locator('main:not([aria-busy])').waitFor();
  for (const [width, height] of [[1280, 800], [390, 844]]) {
    await page.setViewportSize({ width, height });
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      const path = join(screenshots, `runs-error-banner-${scheme}-${width}x${height}.png`);
      await page.screenshot({ path });
      console.log(`screenshot: ${path}`);
    }
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.unroute('**/api/load_runs*');
  await banner.getByRole('button', { name: 'Retry' }).click();
  await page.waitForFunction(() => [...document.querySelectorAll('tr.run')].every((r) => r.dataset.status === 'failed'));
  await banner.waitFor({ state: 'detached' });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('an answer the page cannot read is named in words, never as raw text', async () => {
  const page = await open('/runs');
  await page.route('**/api/load_runs*', (route) =>
    route.fulfill({ status: 502, contentType: 'text/html', body: '<h1>502 upstream exploded</h1>' }));
  await page.keyboard.press('r');
  const banner = page.locator('.banner');
  await banner.waitFor();
  assert.match(await banner.innerText(), /the server's answer could not be read/);
  assert.doesNotMatch(await page.locator('main').innerText(), /upstream exploded|deserializ/i);
  assert.equal(await page.locator('tr.run').count(), 50);
  await banner.getByRole('button', { name: 'Dismiss' }).click();
  await banner.waitFor({ state: 'detached' });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('live mode says Offline while polls fail, backs off, and comes back by itself', async () => {
  const page = await open('/runs?live=1');
  const toggle = page.locator('.live-toggle');
  assert.equal(await toggle.innerText(), '● Live');
  let polls = 0;
  await page.route('**/api/poll_runs*', (route) => {
    polls += 1;
    return route.abort('internetdisconnected');
  });
  await page.waitForFunction(() => document.querySelector('.live-toggle')?.innerText === '○ Offline', null, { timeout: 10000 });
  assert.match(await page.locator('.banner').innerText(), /Live updates paused: the server cannot be reached\. Retrying…/);
  // Backing off: 2 s, then 4 s, then 8 s between tries, not a try every 2 s.
  await page.waitForTimeout(7000);
  assert.ok(polls <= 3, `${polls} polls in about 9 s of failures`);
  assert.equal(await page.locator('tr.run').count(), 50, 'the rows stay');
  await page.unroute('**/api/poll_runs*');
  await page.locator('.banner').getByRole('button', { name: 'Retry' }).click();
  await page.waitForFunction(() => document.querySelector('.live-toggle')?.innerText === '● Live');
  await page.locator('.banner').waitFor({ state: 'detached' });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('live mode refreshes the counts, and a duration sort gets a "new runs" chip, not rows on top', async () => {
  const page = await open('/runs?live=1&sort=durationMs,desc');
  const total = async () => Number((await page.locator('.counts').innerText()).match(/(\d+) total/)[1]);
  const was = await total();
  const top = (await ids(page))[0];
  const created = await run(server.base, 'return "late";', 'cli');
  await page.locator('.new-runs').waitFor({ timeout: 10000 });
  assert.equal(await page.locator('.new-runs').innerText(), '1 new run');
  assert.equal(await page.locator('tr.live-divider').count(), 0, 'no divider in a duration order');
  assert.equal((await ids(page))[0], top, 'the new run is not put on top');
  assert.equal(await page.locator(`tr.run[data-id="${created.executionId}"]`).count(), 0);
  await page.waitForFunction((want) => new RegExp(`${want} total`).test(document.querySelector('.counts').innerText), was + 1, { timeout: 15000 });
  await page.locator('.new-runs').click();
  await page.locator('.new-runs').waitFor({ state: 'detached' });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('an open run is followed to its end without live mode, its time ticking in the list', async () => {
  const running = run(server.base, 'await tools.demo.sleep({ ms: 3000 });\nreturn "slept";', 'cli');
  let id;
  for (let i = 0; i < 50 && !id; i++) {
    const list = await (await fetch(`${server.base}/executions?status=running&limit=1`)).json();
    id = list.executions?.[0]?.execution?.id ?? list.executions?.[0]?.id;
    if (!id) await new Promise((ok) => setTimeout(ok, 100));
  }
  assert.ok(id, 'the run started');
  const page = await open(`/runs?executionId=${id}`);
  assert.match(await page.locator('.drawer .prop-status').innerText(), /running/);
  const row = page.locator(`tr.run[data-id="${id}"] .col-duration.elapsed`);
  const first = await row.innerText();
  await page.waitForFunction(([sel, was]) => document.querySelector(sel)?.innerText !== was,
    [`tr.run[data-id="${id}"] .col-duration.elapsed`, first], { timeout: 5000 });
  await page.waitForFunction(() => /completed/.test(document.querySelector('.drawer .prop-status')?.innerText ?? ''), null, { timeout: 10000 });
  assert.match(await page.locator('.drawer .result').innerText(), /slept/);
  await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.status === 'completed', `tr.run[data-id="${id}"]`);
  await running;
  assert.deepEqual(page.errors, []);
  await page.close();
});
