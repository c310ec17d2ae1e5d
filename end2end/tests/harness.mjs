// Starts the real `executor` server (with the `demo` fixture tools) on a
// fresh SQLite database filled through the engine, and launches Debian's
// Chromium (never a downloaded one).
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import net from 'node:net';
import { chromium } from 'playwright-core';

export const repo = resolve(import.meta.dirname, '..', '..');
const targetDir = process.env.CARGO_TARGET_DIR ?? join(repo, 'target');
export const executor = process.env.EXECUTOR_BIN ?? join(targetDir, 'debug', 'executor');
/** The page bundle the server serves: this checkout's unless SITE_ROOT
 * names another's (scripts/cross-checkout.sh). */
export const siteRoot = process.env.SITE_ROOT ?? join(repo, 'target', 'site');
export const screenshots = process.env.SCREENSHOT_DIR ?? join(repo, 'end2end', 'screenshots');
mkdirSync(screenshots, { recursive: true });

function freePort() {
  return new Promise((ok, fail) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
    server.on('error', fail);
  });
}

/** `args` go to `executor serve` after the harness's own; with `token`
 * (`scope:token`) the server requires tokens and is seeded with that one. */
export async function startServer({ runs = 120, args = [], token } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'runs-e2e-'));
  const databaseUrl = `sqlite://${join(dir, 'executor.db')}`;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(executor, ['serve', '--addr', `127.0.0.1:${port}`, '--database-url', databaseUrl,
    '--site-root', siteRoot, '--demo-tools', ...args], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, EXECUTOR_TOKENS: token ?? '' },
  });
  const bearer = token?.split(':')[1];
  let up = false;
  for (let i = 0; i < 100 && !up; i++) {
    try {
      up = (await fetch(`${base}/healthz`)).ok;
    } catch { /* not up yet */ }
    if (!up) await new Promise((ok) => setTimeout(ok, 100));
  }
  if (!up) {
    child.kill('SIGKILL');
    throw new Error('server did not start');
  }
  await seed(base, runs, bearer);
  return { base, stop: () => child.kill('SIGINT') };
}

/** Runs code through the engine (as `bearer`'s scope, if given); answers
 * the POST's JSON. */
export async function run(base, code, trigger, bearer) {
  const headers = { 'content-type': 'application/json' };
  if (trigger) headers['x-executor-trigger'] = trigger;
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const r = await fetch(`${base}/executions`, { method: 'POST', headers, body: JSON.stringify({ code }) });
  if (!r.ok) throw new Error(`POST /executions: ${r.status} ${await r.text()}`);
  return r.json();
}

/** A varied history: successes, failures, several tool calls, three
 * triggers, durations from 0 to ~60 ms, and one run waiting for approval. */
async function seed(base, runs, bearer) {
  const triggers = [undefined, 'cli', 'mcp'];
  for (let start = 0; start < runs; start += 8) {
    const batch = [];
    for (let i = start; i < Math.min(runs, start + 8); i++) {
      const code = [
        `console.log("run ${i}");`,
        `await tools.demo.echo({ i: ${i} });`,
        i % 3 === 0 ? `await tools.demo.sleep({ ms: ${(i % 7) * 10} });` : '',
        i % 4 === 0 ? `console.warn("slow path");` : '',
        i % 5 === 0 ? `throw new Error("boom ${i}");` : `return { i: ${i} };`,
      ].join('\n');
      batch.push(run(base, code, triggers[i % 3], bearer));
    }
    await Promise.all(batch);
  }
  await run(base, 'const r = await tools.demo.write({ ok: true });\nreturn r;', 'cli', bearer);
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A new page, in a context of its own with `options`, at `url` once
 * hydrated; `page.errors` collects the page's uncaught errors, which a test
 * expects to stay empty. */
export async function openHydrated(browser, url, options = {}) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.locator('main[data-hydrated="true"]').waitFor({ timeout: 15000 });
  page.errors = errors;
  return page;
}
