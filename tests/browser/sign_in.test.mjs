// The web app's first flows in a real browser (Debian's Chromium, driven by
// playwright-core): first-run setup, sign-out and sign-in by keyboard, a way back
// after sign-in, user text shown as text, no Content-Security-Policy violation, and
// axe-core on every page with no serious or critical violation. Screenshots of the
// pages go to docs/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser, checkAccessibility, screenshot, watchPage } from './support.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await openBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const PASSWORD = 'correct horse battery staple';
const NAME = '<script>alert(1)</script> Ada';

test('first-run setup, sign-out and sign-in', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const watch = watchPage(page);

  // No one can sign in yet: the sign-in page sends the visitor to setup.
  await page.goto(`${server.url}/login`);
  assert.match(page.url(), /\/setup$/);
  await checkAccessibility(page, 'setup');
  await screenshot(page, 'setup');

  // A mistake is shown beside its field, tied to it for screen readers.
  await page.getByLabel('Your name').fill(NAME);
  await page.getByLabel('E-mail').fill('ada@example.com');
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Password again').fill('not the same');
  await page.getByRole('button', { name: 'Create administrator' }).click();
  await page.waitForLoadState();
  const confirm = page.getByLabel('Password again');
  assert.equal(await confirm.getAttribute('aria-invalid'), 'true');
  assert.equal(await page.locator('#confirm-error').textContent(), 'The two passwords differ.');
  await checkAccessibility(page, 'setup with an error');

  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await confirm.fill(PASSWORD);
  await page.getByRole('button', { name: 'Create administrator' }).click();
  await page.waitForURL(`${server.url}/`);
  assert.equal(await page.locator('h1').textContent(), 'Your leads');
  await checkAccessibility(page, 'empty inbox');
  await page.getByRole('link', { name: /\(admin\)$/ }).click();
  await page.waitForURL(/\/account$/);
  // The name is text, not markup: no script ran, the brackets are on the page.
  assert.ok((await page.locator('main').textContent()).includes(NAME));
  await checkAccessibility(page, 'account');
  await screenshot(page, 'account');

  // Sign out with the keyboard alone.
  await page.getByRole('button', { name: 'Sign out' }).focus();
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/login$/);
  await checkAccessibility(page, 'sign-in');
  await screenshot(page, 'sign-in');

  // A wrong password: the reason beside the field.
  await page.getByLabel('E-mail').fill('ada@example.com');
  await page.getByLabel('Password').fill('wrong password!');
  await page.keyboard.press('Enter');
  await page.waitForLoadState();
  assert.match(await page.locator('#password-error').textContent(), /do not match/);
  await checkAccessibility(page, 'sign-in refused');

  await page.getByLabel('Password').fill(PASSWORD);
  await page.keyboard.press('Enter');
  await page.waitForURL(`${server.url}/`);
  watch.assertClean();
  await context.close();
});

test('a page asked for before sign-in is shown after it', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  const watch = watchPage(page);
  await page.goto(`${server.url}/account`);
  assert.match(page.url(), /\/login\?next=%2Faccount$/);
  await page.getByLabel('E-mail').fill('ada@example.com');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/account$/);
  // Usable at 390 px: the password form fits the screen.
  const box = await page.getByRole('button', { name: 'Change password' }).boundingBox();
  assert.ok(box && box.x >= 0 && box.x + box.width <= 390, JSON.stringify(box));
  await checkAccessibility(page, 'account at 390 px');
  await screenshot(page, 'account-phone');
  watch.assertClean();
  await context.close();
});
