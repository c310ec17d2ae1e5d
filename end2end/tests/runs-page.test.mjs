// The /runs page in real Chromium against the real server, its history made
// through the engine (120 runs + 1 waiting for approval; see harness.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, launch, screenshots, run, openHydrated } from './harness.mjs';

let server;
let browser;

before(async () => {
  // These tests read counts as soon as rows show; a budget far past any
  // count over 121 runs keeps a busy machine from rendering them pending
  // (counts-pending.test.mjs tests that path with a zero budget).
  server = await startServer({ runs: 120, args: ['--render-budget-ms', '10000'] });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

/** A hydrated page at `path`; `page.errors` holds its uncaught errors. */
const open = (path, options) => openHydrated(browser, `${server.base}${path}`, options);

const search = (page) => new URL(page.url()).searchParams;

test('a shared link renders its filtered rows on the server, JavaScript off', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${server.base}/runs?status=failed&tool=demo.*`);
  const statuses = await page.locator('tr.run').evaluateAll((rows) => rows.map((r) => r.dataset.status));
  assert.equal(statuses.length, 24);
  assert.ok(statuses.every((s) => s === 'failed'));
  assert.match(await page.locator('.counts').innerText(), /24 loaded · 24 matching · 121 total/);
  assert.equal(await page.locator('main[data-hydrated]').count(), 0, 'nothing hydrated');
  // The open drawer renders too.
  const id = await page.locator('tr.run').first().getAttribute('data-id');
  await page.goto(`${server.base}/runs?status=failed&executionId=${id}`);
  assert.equal(await page.locator('.drawer .run-id').innerText(), id);
  assert.match(await page.locator('.drawer .error-text').first().innerText(), /Error: boom/);
  await context.close();
});

test('the bundle is served precompressed under hashed names, cached for a year', async () => {
  const html = await (await fetch(`${server.base}/runs`)).text();
  const js = html.match(/href="(\/pkg\/runs\.[0-9a-f]{12}\.js)"/)[1];
  const wasm = html.match(/href="(\/pkg\/runs\.[0-9a-f]{12}_bg\.wasm)"/)[1];
  for (const path of [js, wasm]) {
    for (const encoding of ['br', 'gzip']) {
      const r = await fetch(server.base + path, { headers: { 'accept-encoding': encoding } });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-encoding'), encoding, `${path} as ${encoding}`);
      assert.equal(r.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      if (path === wasm && encoding === 'br') {
        // The page's download budget (issue 4): 250 KB of brotli WASM.
        const bytes = Number(r.headers.get('content-length'));
        assert.ok(bytes > 100_000 && bytes <= 250_000, `WASM is ${bytes} B of brotli`);
      }
    }
  }
});

test('clicking a facet filters the list and the URL; Reset clears both', async () => {
  const page = await open('/runs');
  assert.equal(await page.locator('tr.run').count(), 50);
  await page.locator('.facet', { hasText: 'failed' }).locator('a.toggle').click();
  await page.waitForURL(/status=failed/);
  await page.waitForFunction(() => [...document.querySelectorAll('tr.run')].every((r) => r.dataset.status === 'failed'));
  assert.equal(await page.locator('tr.run').count(), 24);
  // Disjunctive: the other statuses keep their counts.
  assert.match(await page.locator('.facet', { hasText: 'completed' }).innerText(), /96/);
  await page.locator('.rail .reset').click();
  await page.waitForURL((url) => !url.search.includes('status'));
  await page.waitForFunction(() => document.querySelectorAll('tr.run').length === 50);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('each change of the view is a step in history: Back and Forward walk them', async () => {
  const page = await open('/runs');
  await page.locator('.facet', { hasText: 'failed' }).locator('a.toggle').click();
  await page.waitForURL(/status=failed/);
  await page.locator('.facet', { hasText: 'cancelled' }).locator('a.toggle').click();
  await page.waitForURL(/status=failed%2Ccancelled|status=cancelled%2Cfailed|status=failed,cancelled|status=cancelled,failed/);
  // The filtered rows, not the ones shown while they load (on a slow
  // machine the unfiltered list is still there when the URL changes).
  await page.waitForFunction(() => [...document.querySelectorAll('tr.run')]
    .every((r) => ['failed', 'cancelled'].includes(r.dataset.status)));
  const id = await page.locator('tr.run').first().getAttribute('data-id');
  await page.locator('tr.run').first().click();
  await page.waitForURL(new RegExp(`executionId=${id}`));
  await page.locator('.drawer').waitFor();
  // Stepping through runs in the drawer replaces its entry.
  await page.keyboard.press('ArrowDown');
  await page.waitForURL((url) => url.search.includes('executionId') && !url.search.includes(id));
  await page.goBack();
  await page.waitForURL((url) => !url.search.includes('executionId') && url.search.includes('cancelled'));
  await page.locator('.drawer').waitFor({ state: 'detached' });
  await page.goBack();
  await page.waitForURL((url) => url.search.includes('failed') && !url.search.includes('cancelled'));
  await page.waitForFunction(() => [...document.querySelectorAll('tr.run')].every((r) => r.dataset.status === 'failed'));
  await page.goBack();
  await page.waitForURL((url) => !url.search.includes('status'));
  await page.waitForFunction(() => document.querySelectorAll('tr.run').length === 50);
  // Still on the page, and Forward steps again.
  assert.match(page.url(), /\/runs/);
  await page.goForward();
  await page.waitForURL(/status=failed/);
  await page.waitForFunction(() => [...document.querySelectorAll('tr.run')].every((r) => r.dataset.status === 'failed'));
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('Next in the drawer of a run the list does not show opens the first listed run', async () => {
  const all = await open('/runs');
  const completed = await all.locator('tr.run[data-status="completed"]').first().getAttribute('data-id');
  await all.close();
  const page = await open(`/runs?status=failed&executionId=${completed}`);
  await page.locator('.drawer').waitFor();
  const first = await page.locator('tr.run').first().getAttribute('data-id');
  await page.keyboard.press('ArrowDown');
  await page.waitForURL(new RegExp(`executionId=${first}`));
  assert.equal(search(page).get('status'), 'failed');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('"only" is reachable by keyboard, and facet names carry their whole text', async () => {
  const page = await open('/runs');
  const first = page.locator('.facet').first();
  await first.locator('.toggle').focus();
  await page.keyboard.press('Tab');
  const only = first.locator('.only');
  assert.equal(await only.evaluate((el) => el === document.activeElement), true);
  assert.equal(await only.evaluate((el) => getComputedStyle(el).opacity), '1');
  const label = first.locator('.label');
  assert.equal(await label.getAttribute('title'), await label.innerText());
  await page.keyboard.press('Enter');
  await page.waitForURL(/status=/);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a view that loads slowly keeps the old rows, dimmed under a progress bar', async () => {
  const page = await open('/runs');
  await page.route('**/api/load_runs', async (route) => {
    await new Promise((r) => setTimeout(r, 1500));
    await route.continue();
  });
  const bar = page.locator('.progress');
  assert.equal(await bar.isVisible(), false);
  await page.locator('.facet', { hasText: 'failed' }).locator('a.toggle').click();
  await bar.waitFor();
  const opacity = () => page.locator('.run-list tbody').evaluate((el) => Number(getComputedStyle(el).opacity));
  await page.waitForFunction(() => Number(getComputedStyle(document.querySelector('.run-list tbody')).opacity) < 0.6);
  assert.ok((await page.locator('tr.run').count()) === 50, 'the old rows stay');
  await page.waitForFunction(() => [...document.querySelectorAll('tr.run')].every((r) => r.dataset.status === 'failed'));
  await bar.waitFor({ state: 'hidden' });
  await page.waitForFunction(() => getComputedStyle(document.querySelector('.run-list tbody')).opacity === '1');
  assert.equal(await opacity(), 1);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a page rendered for another query hydrates, then follows its own URL', async () => {
  // A browser should never show a page for another URL; if a cache does,
  // hydration must still match what is on screen and then load the URL's rows.
  const html = await (await fetch(`${server.base}/runs`)).text();
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.route(`${server.base}/runs?status=failed`, (route) =>
    route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }));
  await page.goto(`${server.base}/runs?status=failed`);
  await page.locator('main[data-hydrated="true"]').waitFor({ timeout: 15000 });
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('tr.run')];
    return rows.length === 24 && rows.every((r) => r.dataset.status === 'failed');
  });
  // The rows may arrive before their counts (the page never waits on counts
  // for its rows), so the counts are awaited, not read once.
  await page.waitForFunction(() => /24 loaded · 24 matching/.test(document.querySelector('.counts')?.innerText ?? ''));
  assert.deepEqual(errors, []);
  await page.close();
});

test('the filter command applies, reports bad tokens inline, and Esc closes it', async () => {
  const page = await open('/runs');
  await page.keyboard.press('/');
  const input = page.locator('#filter-command');
  await input.waitFor();
  await input.fill('status:nope');
  assert.match(await page.locator('.token-error').innerText(), /status:nope.*unknown value 'nope'/);
  await input.press('Enter');
  assert.equal(await input.isVisible(), true, 'a bad command is not applied');
  await input.fill('status:failed tool:demo.*');
  assert.equal(await page.locator('.token-error').count(), 0);
  await input.press('Enter');
  await page.waitForURL(/status=failed/);
  assert.equal(search(page).get('tool'), 'demo.*');
  await page.waitForFunction(() => document.querySelectorAll('tr.run').length === 24);
  await page.keyboard.press('/');
  await input.waitFor();
  assert.match(await input.inputValue(), /status:failed tool:demo\.\*/);
  await input.press('Escape');
  await input.waitFor({ state: 'detached' });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('error: in the command finds runs by their error, shown in the Error column once chosen', async () => {
  const page = await open('/runs');
  assert.equal(await page.locator('th.col-error').isVisible(), false, 'the Error column starts hidden');
  await page.keyboard.press('/');
  const input = page.locator('#filter-command');
  await input.waitFor();
  // Any case in key and text: the search ignores case.
  await input.fill('ERROR:"BOOM 1"');
  assert.equal(await page.locator('.token-error').count(), 0);
  await input.press('Enter');
  await page.waitForURL(/error=BOOM/);
  // boom 10, boom 15, boom 100, boom 105, boom 110, boom 115.
  await page.waitForFunction(() => document.querySelectorAll('tr.run').length === 6);
  assert.match(await page.locator('.counts').innerText(), /6 matching/);
  await page.locator('.view-options summary').click();
  await page.locator('.view-options label', { hasText: 'Error' }).locator('input').check();
  const cells = await page.locator('tr.run td.col-error').allInnerTexts();
  assert.equal(cells.length, 6);
  for (const cell of cells) assert.match(cell, /^Error: boom 1\d*$/, 'the first line alone');
  const kept = await page.evaluate(() => localStorage.getItem('runs.fieldVisibility'));
  assert.match(kept, /(^|,)error(,|$)/);
  // The list API answers the same question.
  const body = await (await fetch(`${server.base}/executions?error=boom%201&limit=100`)).json();
  assert.equal(body.executions.length, 6);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('the drawer names a run\'s session and links to its runs; session: in the command finds them', async () => {
  const headers = { 'content-type': 'application/json', 'x-executor-session': 'mcp:e2e-7f3a' };
  const ids = [];
  for (const n of [1, 2, 3]) {
    const r = await fetch(`${server.base}/executions`, { method: 'POST', headers, body: JSON.stringify({ code: `return ${n}` }) });
    ids.push((await r.json()).executionId);
  }
  const page = await open(`/runs?executionId=${ids[0]}`);
  const session = page.locator('.drawer .prop-session');
  assert.match(await session.innerText(), /mcp:e2e-7f3a/);
  await session.getByRole('link', { name: 'runs of this session' }).click();
  await page.waitForURL(/session=mcp%3Ae2e-7f3a|session=mcp:e2e-7f3a/);
  assert.equal(search(page).get('range'), 'all');
  await page.waitForFunction(() => document.querySelectorAll('tr.run').length === 3);
  const shown = await page.locator('tr.run').evaluateAll((rows) => rows.map((r) => r.dataset.id));
  assert.deepEqual(shown.sort(), [...ids].sort());
  assert.match(await page.locator('.filter-summary').innerText(), /session:mcp:e2e-7f3a/);
  // The rail names the session; a click there drops it.
  const chosen = page.locator('section[aria-labelledby="rail-session"] .facet');
  assert.match(await chosen.innerText(), /mcp:e2e-7f3a/);
  await chosen.locator('a').click();
  await page.waitForURL((url) => !url.search.includes('session'));
  assert.equal(await page.locator('section[aria-labelledby="rail-session"]').count(), 0);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('dragging on the chart sets from/to and narrows the list', async () => {
  const page = await open('/runs?range=1h');
  const before = await page.locator('tr.run').count();
  assert.ok(before > 0);
  const box = await page.locator('.timeline svg').boundingBox();
  // The runs are all in the last minutes; select the first third of the hour.
  await page.mouse.move(box.x + 5, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 3, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await page.waitForURL(/from=\d+.*to=\d+/);
  const from = Number(search(page).get('from'));
  const to = Number(search(page).get('to'));
  assert.ok(from < to);
  await page.waitForSelector('tr.empty');
  assert.equal(await page.locator('tr.run').count(), 0);
  // The chip goes back to the range, as a double click does.
  await page.getByRole('button', { name: 'Reset zoom' }).click();
  await page.waitForURL((url) => !url.search.includes('from='));
  await page.locator('.reset-zoom').waitFor({ state: 'detached' });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('times read in the browser\'s zone, UTC at a switch that is remembered; the chart has a round scale', async () => {
  const page = await open('/runs?range=7d', { timezoneId: 'America/Los_Angeles' });
  const time = page.locator('tr.run time').first();
  const iso = await time.getAttribute('datetime');
  const clock = (zone) => new Date(iso).toLocaleTimeString('en-GB', { timeZone: zone, hour12: false });
  // Once hydrated the page shows Los Angeles time (the server rendered UTC).
  await page.waitForFunction((want) => document.querySelector('tr.run time')?.innerText === want,
    clock('America/Los_Angeles'));
  assert.match(await page.locator('tr.run a[data-at]').first().getAttribute('title'), /UTC−0[78]:00$/);
  // Hovering adds how long ago it was.
  await page.locator('tr.run a[data-at]').first().hover();
  assert.match(await page.locator('tr.run a[data-at]').first().getAttribute('title'), /^\d+ (s|min|h) ago · /);
  // Ticks on round hours or days, a round top on the count scale.
  const ticks = await page.locator('.x-axis .tick').allInnerTexts();
  assert.ok(ticks.length >= 2 && ticks.length <= 6, ticks.join('|'));
  assert.ok(ticks.every((t) => /^(\d{2}:00|\d{1,2} [A-Z][a-z]{2})/.test(t)), ticks.join('|'));
  const top = Number(await page.locator('.y-axis span').last().innerText());
  assert.match(String(top), /^[125]0*$|^[1-9]\d*$/);
  await page.locator('.view-options summary').click();
  await page.locator('.utc-switch').check();
  await page.waitForFunction((want) => document.querySelector('tr.run time')?.innerText === want, clock('UTC'));
  await page.reload();
  await page.locator('main[data-hydrated="true"]').waitFor();
  await page.waitForTimeout(300);
  assert.equal(await page.locator('tr.run time').first().innerText(), clock('UTC'), 'UTC is remembered');
  assert.match(await page.locator('tr.run a[data-at]').first().getAttribute('title'), / UTC$/);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('dialogs take focus and give it back; the help keeps Tab inside', async () => {
  const page = await open('/runs');
  await page.locator('button.refresh').focus();
  await page.keyboard.press('?');
  const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await help.waitFor();
  await page.waitForFunction(() => document.activeElement?.closest('.help') !== null);
  for (let i = 0; i < 3; i++) {
    await page.keyboard.press('Tab');
    assert.ok(await page.evaluate(() => document.activeElement?.closest('.help') !== null), 'Tab stays in the help');
  }
  await page.keyboard.press('Escape');
  await help.waitFor({ state: 'detached' });
  await page.waitForFunction(() => document.activeElement?.classList.contains('refresh'));
  // The drawer takes focus itself, so the arrows step through runs.
  await page.locator('tr.run').nth(2).click();
  await page.waitForFunction(() => document.activeElement?.classList.contains('drawer'));
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('on the chart a click zooms nothing, Esc cancels a drag, a double click goes back', async () => {
  const page = await open('/runs');
  const box = await page.locator('.timeline svg').boundingBox();
  const y = box.y + box.height / 2;
  const before = page.url();
  await page.mouse.click(box.x + box.width / 2, y);
  await page.waitForTimeout(300);
  assert.equal(page.url(), before, 'a click zooms nothing');
  // A drag, cancelled by Esc before the button comes up.
  await page.mouse.move(box.x + 5, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 3, y, { steps: 5 });
  await page.locator('.timeline .selection').waitFor();
  await page.keyboard.press('Escape');
  await page.locator('.timeline .selection').waitFor({ state: 'detached' });
  await page.mouse.up();
  await page.waitForTimeout(300);
  assert.equal(page.url(), before, 'Esc cancelled the drag');
  // A drag zooms; a double click goes back to the range.
  await page.mouse.move(box.x + box.width / 2, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width - 5, y, { steps: 5 });
  await page.mouse.up();
  await page.waitForURL(/from=\d+.*to=\d+/);
  await page.locator('main:not([aria-busy]) .timeline:not(.pending) svg').waitFor();
  const zoomed = await page.locator('.timeline svg').boundingBox();
  await page.mouse.dblclick(zoomed.x + zoomed.width / 2, zoomed.y + zoomed.height / 2);
  await page.waitForURL((url) => !url.search.includes('from='));
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('scrolling loads the next page; duration sorts both ways', async () => {
  const page = await open('/runs');
  // Machine-readable times are ISO 8601.
  assert.match(await page.locator('tr.run time').first().getAttribute('datetime'),
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  // The Error column is there to be chosen, hidden until then.
  const headers = await page.locator('.run-list thead th:visible').allInnerTexts();
  assert.deepEqual(headers.map((h) => h.replace(/[↑↓]/g, '').trim()),
    ['Status', 'Created', 'Trigger', 'Tool calls', 'Logs', 'Duration', 'Code']);
  assert.equal(await page.locator('.run-list thead th.col-error').count(), 1);
  const warned = page.locator('td.col-log:has(.log-warn)').first();
  assert.match(await warned.getAttribute('title'), /^(\d+ errors?, )?\d+ warnings?$/);
  assert.equal(await page.locator('tr.run').count(), 50);
  await page.mouse.wheel(0, 100000);
  await page.waitForFunction(() => document.querySelectorAll('tr.run').length === 100);
  const ids = await page.locator('tr.run').evaluateAll((rows) => rows.map((r) => r.dataset.id));
  assert.equal(new Set(ids).size, 100, 'no row twice');

  // Waits until the shown durations are sorted the given way (the old
  // rows stay on screen while the new page loads).
  const sortedBy = (dir) => page.waitForFunction((dir) => {
    // An unfinished run shows its time so far (.elapsed), which sorts as
    // no duration at all.
    const ms = [...document.querySelectorAll('tr.run td.col-duration:not(.elapsed)')].map((c) => {
      const t = c.innerText.trim();
      if (!t) return null;
      if (t.endsWith('ms')) return Number(t.slice(0, -2));
      return Number(t.slice(0, -1)) * (t.endsWith('m') ? 60000 : 1000);
    }).filter((v) => v !== null);
    if (ms.length < 40) return false;
    return ms.every((v, i) => i === 0 || (dir === 'desc' ? ms[i - 1] >= v : ms[i - 1] <= v))
      && (dir === 'desc' ? ms[0] >= 60 : ms[0] <= 5);
  }, dir, { timeout: 10000 });
  await page.locator('th.sort-duration a').click();
  await page.waitForURL(/sort=durationMs%2Cdesc|sort=durationMs,desc/);
  await sortedBy('desc');
  await page.locator('th.sort-duration a').click();
  await page.waitForURL(/asc/);
  await sortedBy('asc');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('the drawer shows the waterfall; answering the pending interaction completes the run', async () => {
  const page = await open('/runs?tool=demo.sleep');
  const row = page.locator('tr.run').first();
  const tools = Number(await row.locator('td.col-tools').innerText());
  await row.click();
  await page.waitForURL(/executionId=/);
  await page.locator('.drawer .waterfall').waitFor();
  assert.equal(await page.locator('.drawer .waterfall li').count(), tools);
  assert.match(await page.locator('.drawer .waterfall').innerText(), /demo\.echo[\s\S]*demo\.sleep/);
  await page.keyboard.press('Escape');
  await page.waitForURL((url) => !url.search.includes('executionId'));

  await page.goto(`${server.base}/runs?status=waiting_for_interaction`);
  await page.locator('main[data-hydrated="true"]').waitFor();
  await page.locator('tr.run').first().click();
  const form = page.locator('.drawer .pending');
  await form.waitFor();
  assert.match(await form.innerText(), /Approve demo\.write\?/);
  await form.getByRole('button', { name: 'Accept' }).click();
  await page.waitForFunction(() => document.querySelector('.drawer .prop-status')?.innerText === 'completed');
  assert.match(await page.locator('.drawer .result').innerText(), /"written": true/);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('cancel asks first; rerun says it is starting, is disabled, then opens the new run', async () => {
  const waiting = await run(server.base, 'const r = await tools.demo.write({ ok: true });\nreturn r;', 'cli');
  const page = await open(`/runs?executionId=${waiting.executionId}`);
  const status = () => page.locator('.drawer .prop-status').innerText();
  // The call it waits on shows as waiting, and is counted.
  assert.equal(await page.locator('.drawer .waterfall .ms').first().innerText(), 'waiting');
  assert.equal(await page.locator('.drawer .prop-tool-calls').innerText(), '1');
  await page.locator('.drawer .cancel-run').click();
  const confirm = page.locator('.drawer .confirm-cancel');
  await confirm.waitFor();
  assert.equal(await status(), 'waiting');
  await confirm.getByRole('button', { name: 'Keep running' }).click();
  await confirm.waitFor({ state: 'detached' });
  assert.equal(await status(), 'waiting');
  await page.locator('.drawer .cancel-run').click();
  await confirm.getByRole('button', { name: 'Yes, cancel' }).click();
  await page.waitForFunction(() => document.querySelector('.drawer .prop-status')?.innerText === 'cancelled');
  // A slow answer, so that the starting state can be seen.
  await page.route('**/api/rerun_run', async (route) => {
    await new Promise((r) => setTimeout(r, 800));
    await route.continue();
  });
  const rerun = page.locator('.drawer .rerun');
  await rerun.click();
  await page.waitForFunction(() => document.querySelector('.drawer .rerun')?.innerText === 'Starting…');
  assert.equal(await rerun.isDisabled(), true);
  await page.waitForURL((url) => url.search.includes('executionId') && !url.search.includes(waiting.executionId));
  assert.equal(await page.locator('.drawer .rerun').innerText(), 'Rerun');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('live mode puts a new run above the divider', async () => {
  const page = await open('/runs');
  await page.keyboard.press('j');
  await page.waitForURL(/live=1/);
  await page.locator('tr.live-divider').waitFor();
  const created = await run(server.base, 'return "fresh";', 'mcp');
  const fresh = page.locator(`tr.run[data-id="${created.executionId}"]`);
  await fresh.waitFor({ timeout: 10000 });
  const order = await page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.className.includes('live-divider') ? 'divider' : r.dataset.id));
  assert.ok(order.indexOf(created.executionId) < order.indexOf('divider'), 'above the divider');
  await page.keyboard.press('j');
  await page.waitForURL((url) => !url.search.includes('live'));
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('keyboard: ?, Esc, b, /, r, arrows', async () => {
  const page = await open('/runs');
  await page.keyboard.press('?');
  const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await help.waitFor();
  assert.match(await help.innerText(), /Live mode/);
  await page.keyboard.press('Escape');
  await help.waitFor({ state: 'detached' });
  const filters = page.getByRole('button', { name: 'Filters' });
  assert.equal(await filters.getAttribute('aria-expanded'), 'true');
  await page.keyboard.press('b');
  await page.locator('main.rail-closed').waitFor();
  assert.equal(await filters.getAttribute('aria-expanded'), 'false');
  await page.keyboard.press('b');
  await page.locator('main.rail-closed').waitFor({ state: 'detached' });
  assert.equal(await filters.getAttribute('aria-expanded'), 'true');
  await page.keyboard.press('/');
  await page.locator('#filter-command').waitFor();
  await page.keyboard.press('Escape');
  await page.locator('#filter-command').waitFor({ state: 'detached' });
  await page.keyboard.press('r');
  // Refreshing keeps the old rows until the new ones arrive.
  await page.locator('main:not([aria-busy])').waitFor();
  await page.locator('tr.run').nth(49).waitFor();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  const selected = page.locator('tr.run.selected');
  await selected.waitFor();
  const second = await page.locator('tr.run').nth(1).getAttribute('data-id');
  assert.equal(await selected.getAttribute('data-id'), second);
  await page.keyboard.press('Enter');
  await page.waitForURL(new RegExp(`executionId=${second}`));
  await page.keyboard.press('ArrowDown');
  const third = await page.locator('tr.run').nth(2).getAttribute('data-id');
  await page.waitForURL(new RegExp(`executionId=${third}`));
  await page.keyboard.press('Escape');
  await page.waitForURL((url) => !url.search.includes('executionId'));
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('keys: one Esc closes one layer; the selection stays in view and reaches the next page; controls keep their keys', async () => {
  const page = await open('/runs');
  const first = await page.locator('tr.run').first().getAttribute('data-id');
  await page.locator('tr.run').first().click();
  await page.waitForURL(new RegExp(`executionId=${first}`));
  await page.locator('.drawer').waitFor();
  // Two layers: the command over the drawer. Esc closes the command only.
  await page.keyboard.press('/');
  await page.locator('#filter-command').waitFor();
  await page.keyboard.press('Escape');
  await page.locator('#filter-command').waitFor({ state: 'detached' });
  assert.match(page.url(), new RegExp(`executionId=${first}`));
  await page.locator('.drawer').waitFor();
  await page.keyboard.press('Escape');
  await page.waitForURL((url) => !url.search.includes('executionId'));
  // With focus on a rail link the arrows do not move the selection.
  await page.locator('.facet a.toggle').first().focus();
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.locator('tr.run.selected').getAttribute('data-id'), first);
  await page.evaluate(() => document.activeElement.blur());
  // Down to the 50th row: it scrolls into view, and the next page loads.
  for (let i = 0; i < 49; i++) await page.keyboard.press('ArrowDown');
  const selected = page.locator('tr.run.selected');
  assert.equal(await selected.getAttribute('data-id'), await page.locator('tr.run').nth(49).getAttribute('data-id'));
  await page.waitForFunction(() => {
    const r = document.querySelector('tr.run.selected').getBoundingClientRect();
    return r.top >= -1 && r.bottom <= window.innerHeight + 1;
  });
  await page.locator('tr.run').nth(50).waitFor();
  await page.keyboard.press('ArrowDown');
  assert.equal(await selected.getAttribute('data-id'), await page.locator('tr.run').nth(50).getAttribute('data-id'));
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('hydration moves nothing on screen (no layout shift)', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.addInitScript(() => {
    window.shifts = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (!e.hadRecentInput) window.shifts.push(e.value);
    }).observe({ type: 'layout-shift', buffered: true });
  });
  await page.goto(`${server.base}/runs`);
  await page.locator('main[data-hydrated="true"]').waitFor({ timeout: 15000 });
  await page.waitForTimeout(300);
  const cls = await page.evaluate(() => window.shifts.reduce((a, b) => a + b, 0));
  console.log(`cumulative layout shift through hydration: ${cls}`);
  assert.ok(cls < 0.001, `layout shifted by ${cls}`);
  await page.close();
});

test('screenshots at desktop and phone sizes, light and dark: 24 h, 7 days, 30 days, the drawer', async () => {
  const id = await page0Id();
  for (const [name, width, height] of [['desktop', 1280, 800], ['phone', 390, 844]]) {
    for (const scheme of ['light', 'dark']) {
      const page = await open('/runs', { viewport: { width, height }, colorScheme: scheme });
      // The rail shows on a desktop and hides on a phone until toggled; the
      // Filters button says which.
      const expanded = width > 700 ? 'true' : 'false';
      await page.waitForFunction(
        (want) => document.querySelector('.toggle-rail')?.getAttribute('aria-expanded') === want,
        expanded,
      );
      const suffix = `${name}-${scheme}-${width}x${height}`;
      for (const [view, path] of [['24h', '/runs'], ['7d', '/runs?range=7d'], ['30d', '/runs?range=30d'],
        ['drawer', `/runs?executionId=${id}`]]) {
        await page.goto(`${server.base}${path}`);
        await page.locator('main[data-hydrated="true"]').waitFor();
        if (view === 'drawer') await page.locator('.drawer .properties').waitFor();
        const file = join(screenshots, `runs-${view}-${suffix}.png`);
        await page.screenshot({ path: file, fullPage: false });
        console.log(`screenshot: ${file}`);
      }
      assert.deepEqual(page.errors, []);
      await page.close();
    }
  }
});

/** The newest run's id. */
async function page0Id() {
  const list = await (await fetch(`${server.base}/executions?limit=1`)).json();
  return list.executions[0].execution.id;
}
