// The rep inbox in a real browser: a lead routed to Ana shows in her inbox with a
// ticking first-touch countdown, never in Bo's; logging a call stops the countdown.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser, checkAccessibility, screenshot, signInAs, ROUND_THE_CLOCK } from './support.mjs';

let server;
let browser;
let leadId;
const PASSWORD = 'correct horse battery staple';

before(async () => {
  server = await startServer();
  browser = await openBrowser();
  const ana = await server.api('POST', '/api/v1/users', { email: 'ana@example.com', name: 'Ana Rep', role: 'rep', password: PASSWORD, working_hours: ROUND_THE_CLOCK });
  await server.api('POST', '/api/v1/users', { email: 'bo@example.com', name: 'Bo Rep', role: 'rep', password: PASSWORD, working_hours: ROUND_THE_CLOCK });
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

const signIn = (email) => signInAs(browser, server, email, PASSWORD, { viewport: { width: 1280, height: 800 } });

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

  // Keyboard first: j moves to the lead, c readies a connected call, ? lists the keys.
  await page.locator('body').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('?');
  const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await help.waitFor();
  await checkAccessibility(page, 'shortcuts');
  await page.keyboard.press('Escape');
  await help.waitFor({ state: 'hidden' });
  await page.keyboard.press('j');
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-labelledby')), `lead-${leadId}`);
  await page.keyboard.press('c');
  assert.equal(await lead.getByLabel('What you did').inputValue(), 'connected_call');
  await page.keyboard.type('interested');
  assert.equal(await lead.getByLabel('Outcome').inputValue(), 'interested');
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

test('a lead sent through the hosted form appears in its rep inbox without a reload', async () => {
  const form = await server.api('POST', '/api/v1/forms', {
    name: 'Request a call', source: 'Website call requests',
    // Bots fill a form at once; a person (and this test) takes a moment.
    min_fill_seconds: 1,
    fields: [
      { name: 'full_name', label: 'Your name', required: true },
      { name: 'email', label: 'Work e-mail', required: true },
      { name: 'phone', label: 'Phone', required: false },
      { name: 'answers.asked_to_be_contacted', label: 'Shall we call you? (yes / no)', required: true },
    ],
  });
  const { context, page, watch } = await signIn('ana@example.com');
  const loadedAt = await page.evaluate(() => performance.timeOrigin);
  await page.waitForFunction(() => document.readyState === 'complete');

  // A visitor, in a browser of their own, asks for a call.
  const visitor = await browser.newContext();
  const form_page = await visitor.newPage();
  await form_page.goto(`${server.url}/f/${form.key}`);
  await form_page.getByLabel('Your name').fill('Yuki Tanaka');
  await form_page.getByLabel('Work e-mail').fill('yuki@buyer.example.com');
  await form_page.getByLabel('Shall we call you?').fill('yes');
  await form_page.waitForTimeout(1200);
  await form_page.getByRole('button').click();
  await form_page.waitForLoadState();
  await visitor.close();

  // It shows in Ana's open inbox, counting down, and the page was not reloaded.
  const lead = page.getByRole('article', { name: 'Yuki Tanaka' });
  await lead.waitFor({ timeout: 10_000 });
  assert.match(await lead.getByRole('timer').textContent(), /^[45]:\d\d$/);
  assert.equal(await page.evaluate(() => performance.timeOrigin), loadedAt, 'no reload');
  assert.match(await page.locator('#inbox-status').textContent(), /new lead is yours/);
  watch.assertClean();
  await context.close();
});

test('another rep never sees it', async () => {
  const { context, page, watch } = await signIn('bo@example.com');
  assert.equal(await page.getByRole('article', { name: 'Zoë Quinn' }).count(), 0);
  assert.equal(await page.getByRole('article', { name: 'Yuki Tanaka' }).count(), 0);
  assert.ok((await page.locator('main').textContent()).includes('No open leads are yours'));
  await checkAccessibility(page, 'empty inbox');
  watch.assertClean();
  await context.close();
});
