// A manager sets up a new form, a routing rule and a speed-to-lead policy through the
// screens alone, and watches a lead submitted on the form flow through them to a
// rep's inbox and the team board; a rep opening the settings is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser, checkAccessibility, screenshot, signInAs, ROUND_THE_CLOCK } from './support.mjs';

let server;
let browser;
const PASSWORD = 'correct horse battery staple';

before(async () => {
  server = await startServer();
  browser = await openBrowser();
  await server.api('POST', '/api/v1/users', { email: 'mia@example.com', name: 'Mia Manager', role: 'manager', password: PASSWORD });
  await server.api('POST', '/api/v1/users', { email: 'ana@example.com', name: 'Ana Rep', role: 'rep', password: PASSWORD, working_hours: ROUND_THE_CLOCK });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const signIn = (email) => signInAs(browser, server, email, PASSWORD);

test('a manager sets up a form, a rule and a policy, and a submitted lead reaches the rep', async () => {
  const mia = await signIn('mia@example.com');
  const page = mia.page;
  await page.getByRole('link', { name: 'Settings' }).click();

  // Her team: Ana.
  await page.getByRole('link', { name: 'Users and teams' }).click();
  await page.getByText('Add a team').click();
  await page.locator('#team-name-new').fill('Inbound');
  await page.locator('#team-manager-new').selectOption({ label: 'Mia Manager' });
  await page.locator('form[action="/admin/teams"]').getByLabel('Ana Rep').check();
  await page.getByRole('button', { name: 'Add team' }).click();
  await page.waitForURL(`${server.url}/admin/users`);
  await checkAccessibility(page, 'users and teams');
  await screenshot(page, 'settings-users');

  // The form, with a preview that follows the builder.
  await page.getByRole('link', { name: 'Forms' }).click();
  await page.getByLabel('Form name').fill('Request a demo');
  await page.getByLabel('Source (created on first use)').fill('Website');
  await page.getByLabel('Label for answers.asked_to_be_contacted').fill('Call me back');
  await page.getByLabel(/Seconds a person needs at least/).fill('1');
  await page.locator('input[name="use10"]').check();
  await assert.doesNotReject(page.locator('[data-preview]').getByText('Call me back').waitFor());
  await checkAccessibility(page, 'form builder');
  await screenshot(page, 'settings-form-builder');
  // A bad redirect is refused beside its field, the rest kept.
  await page.getByLabel('After sending, go to (optional)').fill('javascript:alert(1)');
  await page.getByRole('button', { name: 'Create form' }).click();
  await assert.doesNotReject(page.locator('#form-redirect_url-error').waitFor());
  assert.equal(await page.getByLabel('Form name').inputValue(), 'Request a demo');
  await page.getByLabel('After sending, go to (optional)').fill('');
  await page.getByRole('button', { name: 'Create form' }).click();
  await page.waitForURL(/\/admin\/forms\/[0-9A-Z]+$/);
  const hosted = await page.getByRole('link', { name: /\/f\// }).getAttribute('href');
  assert.match(await page.getByLabel('Embed it on your site (copy this)').inputValue(), /^<iframe src=/);
  await checkAccessibility(page, 'saved form');

  // The routing rule and the policy.
  await page.getByRole('link', { name: 'Routing and SLA' }).click();
  await page.getByLabel('Name').first().fill('Web demo requests');
  await page.locator('#rule-field-0').fill('channel');
  await page.locator('#rule-op-0').selectOption('eq');
  await page.locator('#rule-value-0').fill('web_form');
  await page.locator('#rule-team').selectOption({ label: 'Inbound' });
  await page.getByRole('button', { name: 'Add rule' }).click();
  await page.waitForURL(`${server.url}/admin/routing`);
  await assert.doesNotReject(page.getByText('channel is web_form → team Inbound').waitFor());
  // A rule naming a team that is not there is refused with the API's reason.
  await page.locator('#rule-name').fill('Nowhere');
  await page.locator('#rule-target').selectOption('rep');
  await page.getByRole('button', { name: 'Add rule' }).click();
  await assert.doesNotReject(page.getByRole('alert').filter({ hasText: 'unknown rep' }).waitFor());
  await page.goto(`${server.url}/admin/routing`);
  await page.locator('#sla-name').fill('Demo requests: 10 minutes');
  await page.locator('#sla-field-0').fill('channel');
  await page.locator('#sla-value-0').fill('web_form');
  await page.locator('#sla-minutes').fill('10');
  await page.locator('#sla-reroute').fill('');
  await page.getByRole('button', { name: 'Add policy' }).click();
  await page.waitForURL(`${server.url}/admin/routing`);
  await assert.doesNotReject(page.getByText('first touch within 10 min').first().waitFor());
  await checkAccessibility(page, 'routing and SLA');
  await screenshot(page, 'settings-routing');

  // A visitor asks for a call on the new form.
  const ana = await signIn('ana@example.com');
  const visitor = await browser.newContext();
  const form = await visitor.newPage();
  await form.goto(hosted);
  await form.locator('#first_name').fill('Vera');
  await form.locator('#last_name').fill('Visitor');
  await form.locator('#email').fill('vera@prospect.example.com');
  await form.getByLabel('Call me back').fill('yes');
  await form.getByRole('checkbox').check();
  await form.waitForTimeout(1100);
  await form.getByRole('button').click();
  await form.waitForLoadState();
  await assert.doesNotReject(form.getByText(/thank/i).first().waitFor({ timeout: 5000 }), async () => form.content());

  // Ana's open inbox shows it without a reload, due in 10 minutes.
  const lead = ana.page.getByRole('article', { name: 'Vera Visitor' });
  await lead.waitFor({ timeout: 15_000 });
  assert.match(await lead.getByRole('timer').textContent(), /^(10|9):\d\d$/);
  // The team board shows it waiting for Ana.
  await page.getByRole('link', { name: 'Team', exact: true }).click();
  await assert.doesNotReject(page.locator('#clocks-title').waitFor());
  await assert.doesNotReject(page.getByRole('link', { name: 'Vera Visitor' }).waitFor());
  await checkAccessibility(page, 'team board');
  await screenshot(page, 'team');

  // A rep opening the settings is refused.
  const refused = await ana.page.goto(`${server.url}/admin/routing`);
  assert.equal(refused.status(), 403);
  const forms = await ana.page.goto(`${server.url}/admin/forms`);
  assert.equal(forms.status(), 403);
  mia.watch.assertClean();
  await visitor.close();
  await mia.context.close();
  await ana.context.close();
});

test('an admin imports a list with bad rows through the wizard and downloads the report', async () => {
  await server.api('POST', '/api/v1/users', { email: 'ada@example.com', name: 'Ada Admin', role: 'admin', password: PASSWORD });
  const { context, page, watch } = await signIn('ada@example.com');
  await page.goto(`${server.url}/admin/imports`);
  await checkAccessibility(page, 'import upload');
  const csv = [
    'Vorname;Nachname;E-Mail;Firma;Stand',
    'Jana;Novak;jana@fair.example.com;Novak GmbH;B12',
    'Piet;de Vries;not-an-email;;A3',
    ';;;;',
    '=HYPERLINK("http://evil.example");Evil;evil@fair.example.com;Evil AG;C1',
    'Émile;Zola;emile@fair.example.com;Zola SA;B7',
  ].join('\r\n');
  await page.getByLabel('File').setInputFiles({ name: 'expo.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.getByLabel('Source (e.g. Expo 2026)').fill('Expo 2026');
  await page.getByRole('button', { name: 'Upload and check' }).click();
  await page.waitForURL(/\/admin\/imports\/staged\//);
  await assert.doesNotReject(page.getByText('columns split by “;”').waitFor());
  // The first rows under the detected mapping; "Stand" (the booth) kept as custom.
  assert.equal(await page.getByLabel('E-Mail').inputValue(), 'email');
  assert.equal(await page.getByLabel('Stand').inputValue(), 'custom.Stand');
  await page.getByLabel('Stand').selectOption('ignore');
  await checkAccessibility(page, 'import mapping');
  await screenshot(page, 'import-mapping');
  await page.getByRole('button', { name: 'Start the import' }).click();
  await page.waitForURL(/\/admin\/imports\/[0-9A-Z]+$/);
  const report = page.getByRole('link', { name: 'Download the per-row report' });
  await report.waitFor({ timeout: 20_000 });
  const counts = await page.locator('dl.counts').textContent();
  assert.match(counts, /Created3/, counts);
  assert.match(counts, /Rejected1/, counts);
  await checkAccessibility(page, 'import outcome');
  await screenshot(page, 'import-done');
  const [download] = await Promise.all([page.waitForEvent('download'), report.click()]);
  let text = '';
  for await (const chunk of await download.createReadStream()) text += chunk;
  assert.match(text, /not-an-email|e-mail/i, text);
  assert.ok(!text.includes('\n=HYPERLINK'), 'formula cells are neutralised in the report');

  // The other settings screens pass axe.
  for (const [path, name] of [['/admin/sources', 'sources and campaigns'], ['/admin/scoring', 'scoring'],
    ['/admin/lifecycle', 'lifecycle'], ['/admin/webhooks', 'webhooks'], ['/admin/tokens', 'API tokens']]) {
    await page.goto(`${server.url}${path}`);
    await checkAccessibility(page, name);
  }
  // An e-mail template: a mistake is refused in place, then a preview for a lead.
  await page.goto(`${server.url}/admin/templates`);
  await page.getByLabel('Name').fill('Welcome');
  await page.getByLabel('Subject').fill('Hello {{ first_name }}');
  await page.getByLabel('Plain-text part').fill('Hi {{ frist_name }}');
  await page.getByRole('button', { name: 'Save template' }).click();
  await assert.doesNotReject(page.locator('#t-body_text-error').filter({ hasText: 'unknown merge field' }).waitFor());
  await page.getByLabel('Plain-text part').fill('Hi {{ first_name }} from {{ company | "your company" }}.');
  await page.getByRole('button', { name: 'Save template' }).click();
  await page.waitForURL(/\/admin\/templates\/[0-9A-Z]+$/);
  const leads = await server.api('GET', '/api/v1/leads?limit=1');
  await page.getByLabel('Lead id').fill(leads.leads[0].id);
  await page.getByRole('button', { name: 'Preview' }).click();
  await assert.doesNotReject(page.locator('pre.message').waitFor());
  await checkAccessibility(page, 'template editor with preview');

  await page.goto(`${server.url}/admin/tokens`);
  await page.getByLabel("New token's name").fill('CRM sync');
  await page.getByRole('button', { name: 'Create token' }).click();
  assert.match(await page.getByLabel('Token', { exact: true }).inputValue(), /^ll_/);
  watch.assertClean();
  await context.close();
});
