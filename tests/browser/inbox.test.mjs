// The rep inbox in a real browser: a lead routed to Ana shows in her inbox with a
// ticking first-touch countdown, never in Bo's; logging a call stops the countdown.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser, checkAccessibility, screenshot, watchPage } from './support.mjs';

let server;
let browser;
let leadId;
const PASSWORD = 'correct horse battery staple';

before(async () => {
  server = await startServer();
  browser = await openBrowser();
  const always = { time_zone: 'UTC', week: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']
    .map((day) => ({ day, start: '00:00', end: '24:00' })) };
  const ana = await server.api('POST', '/api/v1/users', { email: 'ana@example.com', name: 'Ana Rep', role: 'rep', password: PASSWORD, working_hours: always });
  await server.api('POST', '/api/v1/users', { email: 'bo@example.com', name: 'Bo Rep', role: 'rep', password: PASSWORD, working_hours: always });
  const team = await server.api('POST', '/api/v1/teams', { name: 'Inbound', member_ids: [ana.id] });
  await server.api('PUT', '/api/v1/routing', { rules: [{ id: 'all', name: 'Everyone', conditions: [],
    target: { type: 'team', team_id: team.id, strategy: 'weighted_round_robin' } }] });
  const created = await server.api('POST', '/api/v1/leads', { first_name: 'Zoë', last_name: 'Quinn',
    email: 'zoe@buyer.example.com', company: 'Quinn & Co', phone: '+442079460000', channel: 'web_form', source: 'Website' });
  leadId = created.lead.id;
  const routed = await server.api('PUT', `/api/v1/leads/${leadId}/answers`, { answers: { asked_to_be_contacted: 'yes' } });
  assert.equal(routed.owner_id, ana.id);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function signIn(email) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const watch = watchPage(page);
  await page.goto(`${server.url}/login`);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.url}/`);
  return { context, page, watch };
}

test('a routed lead counts down in its rep inbox until the first call', async () => {
  const { context, page, watch } = await signIn('ana@example.com');
  const lead = page.getByRole('article', { name: 'Zoë Quinn' });
  const timer = lead.getByRole('timer');
  const first = await timer.textContent();
  assert.match(first, /^[45]:\d\d$/);
  // The countdown runs in the page, from the server's clock.
  await page.waitForFunction((before) => document.querySelector('.countdown').textContent !== before, first);
  await checkAccessibility(page, 'inbox');
  await screenshot(page, 'inbox');

  await lead.getByLabel('What you did').selectOption('connected_call');
  await lead.getByLabel('Outcome').fill('interested');
  await lead.getByLabel('Next step').fill('Send pricing');
  // A double click sends the form once.
  await lead.getByRole('button', { name: 'Log it' }).dblclick();
  await page.waitForURL(`${server.url}/`);
  await page.waitForSelector('text=Next step: Send pricing');
  assert.equal(await page.getByRole('timer').count(), 0, 'the countdown stopped');
  const logged = await server.api('GET', `/api/v1/leads/${leadId}/touches`);
  assert.deepEqual(logged.touches.map((t) => t.kind), ['connected_call'], 'logged once');
  watch.assertClean();
  await context.close();
});

test('another rep never sees it', async () => {
  const { context, page, watch } = await signIn('bo@example.com');
  assert.equal(await page.getByRole('article', { name: 'Zoë Quinn' }).count(), 0);
  assert.ok((await page.locator('main').textContent()).includes('No open leads are yours'));
  await checkAccessibility(page, 'empty inbox');
  watch.assertClean();
  await context.close();
});
