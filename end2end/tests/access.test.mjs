// The page behind tokens (docs/access.md), in real Chromium against the real
// server started with EXECUTOR_TOKENS: the login form, the session cookie,
// the page at work under it, log out, and a cross-origin form refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startServer, launch, run } from './harness.mjs';

const TOKEN = 'exr_e2e-token-of-scope-acme-0001';
let server;
let browser;

before(async () => {
  server = await startServer({ runs: 24, token: `acme:${TOKEN}`, args: ['--render-budget-ms', '10000'] });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

/** Serves `html` on another port of 127.0.0.1: another origin of the same
 * site, so a SameSite=Strict cookie still goes along with its requests. */
function otherOrigin(html) {
  return new Promise((ok) => {
    const other = http.createServer((_, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(html);
    });
    other.listen(0, '127.0.0.1', () => ok(other));
  });
}

test('log in through the form, work the page, log out; a cross-origin form is refused', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));

  // Without a session the page sends the browser to the login form.
  await page.goto(`${server.base}/runs?status=failed`);
  assert.match(page.url(), /\/login\?next=%2Fruns%3Fstatus%3Dfailed$/);
  await page.locator('#token').fill('exr_not-the-token-000000');
  await page.getByRole('button', { name: 'Log in' }).click();
  assert.match(await page.locator('.refused').innerText(), /not valid/);
  await page.locator('#token').fill(TOKEN);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(/\/runs\?status=failed$/);
  await page.locator('main[data-hydrated="true"]').waitFor({ timeout: 15000 });

  const [cookie] = (await context.cookies()).filter((c) => c.name === 'executor_session');
  assert.ok(cookie, 'a session cookie');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(cookie.path, '/');
  assert.match(await page.locator('.account .scope').innerText(), /^acme$/);

  // The page works under the session: its server functions, the drawer,
  // and answering an interaction.
  await page.waitForFunction(() => document.querySelectorAll('tr.run').length === 5);
  await page.locator('.facet', { hasText: 'completed' }).locator('a.toggle').click();
  await page.waitForURL(/status=failed%2Ccompleted|status=completed%2Cfailed/);
  await page.waitForFunction(() => document.querySelectorAll('tr.run').length === 24);
  await page.goto(`${server.base}/runs?status=waiting_for_interaction`);
  await page.locator('main[data-hydrated="true"]').waitFor();
  await page.locator('tr.run').first().click();
  const form = page.locator('.drawer .pending');
  await form.waitFor();
  await form.getByRole('button', { name: 'Accept' }).click();
  await page.waitForFunction(() => document.querySelector('.drawer .prop-status')?.innerText === 'completed');

  // A form on another origin of this site, posting to a state change with
  // the cookie along: refused.
  const waiting = await run(server.base, 'const r = await tools.demo.write({ n: 1 });\nreturn r;', 'cli', TOKEN);
  const id = waiting.executionId;
  const other = await otherOrigin(`<form method="post" action="${server.base}/executions/${id}/cancel"></form>
    <script>document.forms[0].submit()</script>`);
  const forged = page.waitForResponse((r) => r.url().endsWith(`/executions/${id}/cancel`));
  await page.goto(`http://127.0.0.1:${other.address().port}/`);
  const refused = await forged;
  assert.equal(refused.status(), 403);
  assert.equal((await refused.json()).error.code, 'cross_site_request');
  other.close();
  const still = await (await fetch(`${server.base}/executions/${id}`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  })).json();
  assert.equal(still.execution.status, 'waiting_for_interaction', 'the forged cancel changed nothing');

  // Log out: back to the form, and the old cookie no longer opens anything.
  await page.goto(`${server.base}/runs`);
  await page.locator('main[data-hydrated="true"]').waitFor();
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL(/\/login$/);
  const replay = await fetch(`${server.base}/executions`, {
    headers: { cookie: `executor_session=${cookie.value}` },
  });
  assert.equal(replay.status, 401);
  await page.goto(`${server.base}/runs`);
  assert.match(page.url(), /\/login\?next=/);
  assert.deepEqual(errors, []);
  await context.close();
});
