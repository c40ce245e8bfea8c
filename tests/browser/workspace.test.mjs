// The lead workspace, the merge screen, the lists and the board in a real browser:
// a rep answers the playbook's question and moves the stage; an admin merges two
// duplicates picking fields, then undoes it; the list finds, saves a view and
// exports; a rep is refused the merge screen. Every screen passes axe-core.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser, checkAccessibility, screenshot, signInAs, ROUND_THE_CLOCK } from './support.mjs';

let server;
let browser;
let leadId;
let pair;
const PASSWORD = 'correct horse battery staple';

before(async () => {
  server = await startServer();
  browser = await openBrowser();
  const ana = await server.api('POST', '/api/v1/users', { email: 'ana@example.com', name: 'Ana Rep', role: 'rep', password: PASSWORD, working_hours: ROUND_THE_CLOCK });
  await server.api('POST', '/api/v1/users', { email: 'ada@example.com', name: 'Ada Admin', role: 'admin', password: PASSWORD });
  const team = await server.api('POST', '/api/v1/teams', { name: 'Inbound', member_ids: [ana.id] });
  await server.api('PUT', '/api/v1/routing', { rules: [{ id: 'all', name: 'Everyone', conditions: [],
    target: { type: 'team', team_id: team.id, strategy: 'weighted_round_robin' } }] });
  const created = await server.api('POST', '/api/v1/leads', { first_name: '<script>alert(1)</script>', last_name: 'Quinn',
    email: 'zoe@buyer.example.com', company: 'Quinn & Co', phone: '+442079460000', channel: 'web_form', source: 'Website',
    campaign: 'Winter webinar', attribution: { utm_source: 'newsletter', utm_medium: 'email' },
    consent: [{ channel: 'email', granted: true, wording: 'Send me product news' }] });
  leadId = created.lead.id;
  await server.api('PUT', `/api/v1/leads/${leadId}/answers`, { answers: { asked_to_be_contacted: 'yes' } });
  const a = await server.api('POST', '/api/v1/leads', { first_name: 'Jon', last_name: 'Smith', email: 'jon@smith.example.com',
    company: 'Smith Ltd', source: 'Website' });
  const b = await server.api('POST', '/api/v1/leads', { first_name: 'Jonathan', last_name: 'Smith', email: 'jonathan@other.example.org',
    title: 'Owner', company: 'Smithy', source: 'Trade show' });
  pair = { a: a.lead.id, b: b.lead.id };
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const signIn = (email) => signInAs(browser, server, email, PASSWORD, { acceptDownloads: true });

test('a rep answers the playbook question and moves the lead to SQL', async () => {
  const { context, page, watch } = await signIn('ana@example.com');
  await page.getByRole('link', { name: '<Script>alert(1)</script> Quinn' }).click();
  await page.waitForURL(`${server.url}/leads/${leadId}`);
  await assert.doesNotReject(page.getByRole('heading', { name: '<Script>alert(1)</script> Quinn', level: 1 }).waitFor());
  const path = page.getByRole('list', { name: 'Lifecycle' });
  assert.equal(await path.locator('[aria-current="step"]').textContent(), 'New');
  assert.match(await page.locator('#needs-sql').textContent(), /Need for what we offer/);
  await checkAccessibility(page, 'lead workspace');
  await screenshot(page, 'workspace');

  // Without the answer the move is refused, saying which answer is missing.
  await page.getByRole('button', { name: 'Move to SQL' }).click();
  await assert.doesNotReject(page.getByRole('alert').filter({ hasText: 'need' }).waitFor());
  await page.goto(`${server.url}/leads/${leadId}`);
  await page.getByLabel(/Need for what we offer/).selectOption('yes');
  await page.getByRole('button', { name: 'Save answers' }).click();
  await page.waitForURL(`${server.url}/leads/${leadId}`);
  assert.equal(await page.getByLabel(/Need for what we offer/).inputValue(), 'yes');
  await page.getByRole('button', { name: 'Move to SQL' }).click();
  await page.waitForURL(`${server.url}/leads/${leadId}`);
  assert.equal(await path.locator('[aria-current="step"]').textContent(), 'SQL');

  // A refused edit: the message beside the field, the typed value kept.
  await page.getByLabel('E-mail', { exact: true }).fill('not an address');
  await page.getByRole('button', { name: 'Save details' }).click();
  const email = page.getByLabel('E-mail', { exact: true });
  assert.equal(await email.getAttribute('aria-invalid'), 'true');
  assert.equal(await email.inputValue(), 'not an address');
  assert.ok(await page.locator('#field-email-error').isVisible());

  // At 390 px (a phone) the workspace is one column and still passes axe.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${server.url}/leads/${leadId}`);
  await checkAccessibility(page, 'lead workspace at 390 px');
  await screenshot(page, 'workspace-phone');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `no sideways scrolling at 390 px (${overflow} px too wide)`);
  await page.setViewportSize({ width: 1280, height: 900 });

  // The merge screen is not a rep's.
  const refused = await page.goto(`${server.url}/leads/${pair.a}/merge/${pair.b}`);
  assert.equal(refused.status(), 403);
  await assert.doesNotReject(page.getByRole('heading', { name: 'Not allowed' }).waitFor());
  watch.assertClean();
  await context.close();
});

test('an admin merges two leads picking fields, then undoes the merge', async () => {
  const { context, page, watch } = await signIn('ada@example.com');
  await page.goto(`${server.url}/leads/${pair.a}/merge/${pair.b}`);
  await checkAccessibility(page, 'merge screen');
  await screenshot(page, 'merge');
  await page.getByLabel('Jonathan', { exact: true }).check();
  await page.getByRole('button', { name: 'Merge' }).click();
  await page.waitForURL(`${server.url}/leads/${pair.a}`);
  assert.equal(await page.getByLabel('First name').inputValue(), 'Jonathan');
  assert.equal(await page.getByLabel('Title').inputValue(), 'Owner');
  assert.equal(await page.getByLabel('E-mail', { exact: true }).inputValue(), 'jon@smith.example.com');

  await page.getByRole('button', { name: 'Undo this merge' }).click();
  await page.waitForURL(`${server.url}/leads/${pair.a}`);
  assert.equal(await page.getByLabel('First name').inputValue(), 'Jon');
  assert.equal(await page.getByLabel('Title').inputValue(), '');
  assert.equal(await page.getByRole('button', { name: 'Undo this merge' }).count(), 0);
  watch.assertClean();
  await context.close();
});

test('the list finds leads, saves a view and exports them; the board and queue pass axe', async () => {
  const { context, page, watch } = await signIn('ada@example.com');
  await page.getByRole('link', { name: 'Leads', exact: true }).click();
  await page.getByLabel('Search name, e-mail, phone or company').fill('smith');
  await page.getByRole('button', { name: 'Find' }).click();
  await assert.doesNotReject(page.locator('caption').filter({ hasText: '2 leads' }).waitFor());
  await checkAccessibility(page, 'lead list');
  await screenshot(page, 'leads');
  await page.getByLabel('Save these filters as').fill('The Smiths');
  await page.getByRole('button', { name: 'Save view' }).click();
  await page.goto(`${server.url}/leads`);
  await page.getByRole('link', { name: 'The Smiths' }).click();
  await assert.doesNotReject(page.locator('caption').filter({ hasText: '2 leads' }).waitFor());

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Export CSV' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), 'leads.csv');
  const stream = await download.createReadStream();
  let csv = '';
  for await (const chunk of stream) csv += chunk;
  assert.match(csv, /^id,first_name,last_name/);
  assert.equal(csv.trim().split('\n').length, 3, csv);

  await page.getByRole('link', { name: 'Pipeline' }).click();
  await assert.doesNotReject(page.getByRole('heading', { name: 'Pipeline', level: 1 }).waitFor());
  await checkAccessibility(page, 'pipeline board');
  await screenshot(page, 'pipeline');
  await page.getByRole('link', { name: 'Duplicates' }).click();
  await checkAccessibility(page, 'duplicates queue');
  watch.assertClean();
  await context.close();
});
