// Starts the real `executor` server on a fresh SQLite database filled by
// `executor seed`, and launches Debian's Chromium (never a downloaded one).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import net from 'node:net';
import { chromium } from 'playwright-core';

export const repo = resolve(import.meta.dirname, '..', '..');
const targetDir = process.env.CARGO_TARGET_DIR ?? join(repo, 'target');
export const executor = process.env.EXECUTOR_BIN ?? join(targetDir, 'debug', 'executor');
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

export async function startServer({ runs = 120 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'runs-e2e-'));
  const databaseUrl = `sqlite://${join(dir, 'executor.db')}`;
  execFileSync(executor, ['seed', '--runs', String(runs), '--database-url', databaseUrl], { stdio: 'inherit' });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(executor, ['serve', '--addr', `127.0.0.1:${port}`, '--database-url', databaseUrl,
    '--site-root', join(repo, 'target', 'site')], { stdio: ['ignore', 'inherit', 'inherit'] });
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`${base}/executions?limit=1`);
      if (r.ok) return { base, stop: () => child.kill('SIGINT') };
    } catch { /* not up yet */ }
    await new Promise((ok) => setTimeout(ok, 100));
  }
  child.kill('SIGKILL');
  throw new Error('server did not start');
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
