// Shared pieces of the browser tests: a fresh `leadline serve` on SQLite, Chromium,
// axe-core, screenshots, and a watch on the page for errors and CSP violations.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** Starts `leadline serve` on a free loopback port: on a new SQLite file, or on
 * `database` (a PostgreSQL URL made by `freshPostgres`). */
export async function startServer(extraArgs = [], database = undefined) {
  const bin = process.env.LEADLINE_BIN ?? join(root, 'target', 'debug', 'leadline');
  const dir = mkdtempSync(join(tmpdir(), 'leadline-browser-'));
  database ??= `sqlite:${join(dir, 'app.sqlite')}`;
  const child = spawn(bin, ['--database-url', database, 'serve',
    '--bind', '127.0.0.1:0', ...extraArgs], {
    env: { ...process.env, LEADLINE_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 120_000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
  });
  let token;
  return {
    url,
    welcome: () => out,
    /** Calls the JSON API with a token made by `leadline token create`. */
    async api(method, path, body) {
      token ??= execFileSync(bin, ['--database-url', database, 'token', 'create', '--name', 'browser tests'],
        { env: { ...process.env, LEADLINE_LOG: 'warn' } }).toString().trim().split('\n').pop();
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = await response.json();
      assert.ok(response.ok, `${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
      return json;
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function openBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
}

/** Runs axe-core on the page; fails on any serious or critical violation. */
export async function checkAccessibility(page, what) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
    [],
    `accessibility of ${what}`,
  );
}

/** Saves a screenshot of the whole page to docs/screenshots/NAME.png. */
export async function screenshot(page, name) {
  const dir = join(root, 'docs', 'screenshots');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

/** Collects what should never happen on a page: script errors, dialogs (a script
 * injected through user text), CSP violations, failed requests for our assets. */
export function watchPage(page) {
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', async (d) => {
    problems.push(`dialog: ${d.message()}`);
    await d.dismiss();
  });
  page.on('console', (m) => {
    // A page answered with 401 or 422 (a refused sign-in, a form with errors) is
    // logged as a failed load; the response check below looks at every request.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
      problems.push(`console: ${m.text()}`);
    }
  });
  page.on('response', (r) => {
    const page = r.request().resourceType() === 'document';
    if (r.status() >= 500 || (!page && r.status() >= 400)) {
      problems.push(`${r.status()} ${r.url()}`);
    }
  });
  return {
    assertClean() {
      assert.deepEqual(problems, [], 'no errors, dialogs or CSP violations');
    },
  };
}

/** A new, empty PostgreSQL database on the local server (127.0.0.1:5432, user
 * postgres), or `null` when none is reachable: under CI=true that is an error. */
export function freshPostgres() {
  const name = `leadline_browser_${process.pid}_${Date.now()}`;
  try {
    execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'test', '-v', 'ON_ERROR_STOP=1',
      '-c', `CREATE DATABASE ${name}`], { stdio: 'pipe' });
  } catch (e) {
    if (process.env.CI === 'true') throw new Error(`PostgreSQL is not reachable on 127.0.0.1:5432: ${e.message}`);
    return null;
  }
  return {
    url: `postgres://postgres@127.0.0.1:5432/${name}`,
    drop() {
      try {
        execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'test',
          '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`], { stdio: 'pipe' });
      } catch { /* left for the server's owner */ }
    },
  };
}

/** Working hours around the clock (UTC), so routed leads always find a rep. */
export const ROUND_THE_CLOCK = {
  time_zone: 'UTC',
  week: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((day) => ({ day, start: '00:00', end: '24:00' })),
};

/** A new browser context signed in as `email` through the sign-in page, with the
 * page watched for errors. `options` go to the context (default 1280×900). */
export async function signInAs(browser, server, email, password, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  const page = await context.newPage();
  const watch = watchPage(page);
  await page.goto(`${server.url}/login`);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.url}/`);
  return { context, page, watch };
}
