// A smoke flow on PostgreSQL: first-run setup, a lead in the list, its workspace, a
// call logged from it. (The other browser tests run on SQLite; the service code and
// the queries are one set for both.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser, checkAccessibility, watchPage, freshPostgres } from './support.mjs';

let database;
let server;
let browser;

before(async () => {
  database = freshPostgres();
  if (!database) return;
  server = await startServer([], database.url);
  browser = await openBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  database?.drop();
});

test('on PostgreSQL: set up, find a lead, log a call from its workspace', async (t) => {
  if (!database) {
    t.skip('PostgreSQL is not reachable on 127.0.0.1:5432 (the flow runs in CI)');
    return;
  }
  const created = await server.api('POST', '/api/v1/leads', { first_name: 'Pia', last_name: 'Postgres',
    email: 'pia@pg.example.com', company: 'Elephant Ltd', source: 'Website' });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const watch = watchPage(page);
  await page.goto(`${server.url}/`);
  assert.match(page.url(), /\/(setup|login)/);
  await page.goto(`${server.url}/setup`);
  await page.getByLabel('Your name').fill('Ada Admin');
  await page.getByLabel('E-mail').fill('ada@pg.example.com');
  await page.getByLabel('Password', { exact: true }).fill('correct horse battery staple');
  await page.getByLabel('Password again').fill('correct horse battery staple');
  await page.getByRole('button', { name: 'Create administrator' }).click();
  await page.waitForURL(`${server.url}/`);
  await page.goto(`${server.url}/leads?q=pia`);
  await assert.doesNotReject(page.locator('caption').filter({ hasText: '1 lead' }).waitFor());
  await checkAccessibility(page, 'lead list on PostgreSQL');
  await page.getByRole('link', { name: 'Pia Postgres' }).click();
  await page.waitForURL(`${server.url}/leads/${created.lead.id}`);
  await page.locator('form.touch-form select[name=kind]').selectOption('connected_call');
  await page.locator('form.touch-form input[name=outcome]').fill('interested');
  await page.getByRole('button', { name: 'Log it' }).click();
  await page.waitForURL(`${server.url}/leads/${created.lead.id}`);
  await assert.doesNotReject(page.locator('ol.timeline').getByText('connected call').first().waitFor());
  watch.assertClean();
  await context.close();
});
