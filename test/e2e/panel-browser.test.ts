// Dates on pages are server-local: pin the zone so the expected strings are exact.
process.env.TZ = 'Europe/Moscow';
import { mkdirSync } from 'node:fs';
import t from 'tap';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { buildApp } from '../../src/http/app.js';
import { ARTIFACTS, artifact } from '../helpers/browser.js';
import { makeSite } from '../helpers/factories.js';
import { makePanelUser, PASSWORD } from '../helpers/panel.js';
import { testEnv } from '../helpers/services.js';

mkdirSync(ARTIFACTS, { recursive: true });
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };

let browser: Browser;
t.before(async () => {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});
t.teardown(() => browser?.close());

/** The app on a real loopback port, a contract with a network, an operator, and a browser context. */
async function setUp(t: Parameters<typeof testEnv>[0], viewport: { width: number; height: number }) {
  const env = await testEnv(t);
  const app = await buildApp(env.svc);
  t.teardown(() => app.close());
  const base = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
  const site = await makeSite(env.svc);
  const user = await makePanelUser(env.svc, site.contract.id);
  const context: BrowserContext = await browser.newContext({ viewport, locale: 'ru-RU', deviceScaleFactor: 1 });
  t.teardown(() => context.close());
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('console', (msg) => {
    // Chrome logs every 4xx document as an error; the refused label (422) is meant to happen.
    if (msg.type() === 'error' && !/status of 422/.test(msg.text())) problems.push(msg.text());
  });
  return { ...env, ...site, base, user, page, problems };
}

async function logIn(page: Page, base: string, login: string) {
  await page.goto(`${base}/admin/login`);
  await page.fill('#login', login);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL(`${base}/admin/tokens`), page.click('button[type=submit]')]);
}

const shot = (page: Page, name: string) => page.screenshot({ path: artifact(`${name}.png`), fullPage: true });

t.test('on a phone, an operator logs in, generates tokens and annuls one', async (t) => {
  const { page, base, user, svc, contract, problems } = await setUp(t, PHONE);
  await logIn(page, base, user.login);
  t.equal(await page.textContent('#remaining'), 'Неиспользованных токенов: 0 из 200. Можно создать ещё 200.');
  await page.fill('#gen-count', '3');
  await page.check('input[name=uses][value=multi]');
  await page.selectOption('#gen-term', '7');
  await Promise.all([page.waitForURL(/done=generated/), page.click('form[action="/admin/tokens/generate"] button[type=submit]')]);
  t.equal(await page.textContent('.message.ok'), 'Создано токенов: 3.');
  t.equal(await page.locator('tr[data-token]').count(), 3);
  t.equal(await page.textContent('#remaining'), 'Неиспользованных токенов: 3 из 200. Можно создать ещё 197.');
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  t.equal(width, PHONE.width, 'nothing sticks out sideways on a phone');
  await shot(page, 'panel-tokens-phone');

  const first = page.locator('tr[data-token]').first();
  const id = await first.getAttribute('data-token');
  await Promise.all([page.waitForURL(/done=annulled/), first.locator('button', { hasText: 'Аннулировать' }).click()]);
  t.equal(await page.textContent('.message.ok'), 'Токен аннулирован.');
  t.equal(await page.textContent(`tr[data-token="${id}"] .status`), 'Аннулирован');
  const { rows } = await svc.db.query<{ status: string }>(`select status from tokens where contract_id = $1 order by status`, [contract.id]);
  t.same(rows.map((r) => r.status), ['annulled', 'unused', 'unused']);
  t.same(problems, [], 'no script errors or CSP violations');
});

t.test('a personal token is created, shown once masked, copied, used, then revoked', async (t) => {
  const { page, base, user, problems } = await setUp(t, PHONE);
  await logIn(page, base, user.login);
  await page.click('nav >> text=Профиль');
  await Promise.all([page.waitForURL(`${base}/admin/profile/tokens`), page.click('text=Управление токенами')]);
  t.equal(await page.textContent('h1'), 'Токены');

  // A label over 20 characters comes back in the dialog with the rule.
  await page.click('#create-token');
  t.equal(await page.locator('#create-dialog').isVisible(), true, 'the button opens the dialog (JavaScript on)');
  t.equal(page.url(), `${base}/admin/profile/tokens`, 'without leaving the page');
  await page.fill('#label', 'очень-длинное-название-метки');
  await Promise.all([page.waitForLoadState('load'), page.click('#save-token')]);
  await page.waitForSelector('#label-error');
  t.equal(await page.textContent('#label-error'), 'Название метки длиннее 20 символов.');
  t.equal(await page.evaluate(() => document.querySelector<HTMLDialogElement>('#create-dialog')!.matches(':modal')), true, 'modal again');
  await shot(page, 'panel-label-error-phone');
  await page.click('#cancel-token');
  t.equal(await page.locator('#create-dialog').isVisible(), false, '«отмена» closes it');

  await page.click('#create-token');
  await page.fill('#label', 'Telegram');
  await Promise.all([page.waitForURL(`${base}/admin/profile/tokens`), page.click('#save-token')]);
  const field = page.locator('#new-token');
  await field.waitFor();
  t.equal(await field.getAttribute('type'), 'password', 'masked');
  t.equal(await field.getAttribute('readonly'), '', 'read-only');
  const token = await field.inputValue();
  t.match(token, /^klt_[0-9A-Za-z]{36}$/);
  t.equal(await page.textContent('#reveal-dialog p'), 'Не забудьте скопировать новый токен. Вы не сможете скопировать его позже.');
  await shot(page, 'panel-new-token-phone');

  await page.click('#copy-token');
  await page.waitForSelector('#reveal-dialog', { state: 'detached' });
  t.equal(await page.evaluate(() => navigator.clipboard.readText()), token, 'Copy put the token on the clipboard');
  t.equal(await page.locator('input[value^="klt_"]').count(), 0, 'the secret left the page');
  const row = page.locator('tr[data-token]', { hasText: 'Telegram' });
  t.equal(await row.locator('.last-used').textContent(), 'Доступ не выполнялся');

  // «Закрыть» only closes.
  await page.click('#create-token');
  await page.fill('#label', 'cron');
  await Promise.all([page.waitForURL(`${base}/admin/profile/tokens`), page.click('#save-token')]);
  await page.locator('#new-token').waitFor();
  await page.click('#close-token');
  await page.waitForSelector('#reveal-dialog', { state: 'detached' });
  t.equal(await page.evaluate(() => navigator.clipboard.readText()), token, 'Close copies nothing');
  // Both were made at the same (test clock) instant, so their order is not fixed.
  t.same((await page.locator('tr[data-token] .label').allTextContents()).sort(), ['Telegram', 'cron']);

  await page.reload();
  t.equal(await page.locator('#new-token').count(), 0, 'a reload does not show a token again');

  const api = await fetch(`${base}/api/v1/contracts`, { headers: { authorization: `Bearer ${token}` } });
  t.equal(api.status, 200);
  // Last access is written off the request path: reload until it shows.
  let lastUsed = '';
  for (let i = 0; i < 50 && !/^\d{2}\.\d{2}\.\d{4} /.test(lastUsed); i++) {
    await page.waitForTimeout(100);
    await page.reload();
    lastUsed = (await row.locator('.last-used').textContent()) ?? '';
  }
  t.equal(lastUsed, '23.11.2026 13:00:00');
  await page.setViewportSize(DESKTOP);
  await shot(page, 'panel-profile-tokens-desktop');
  await page.setViewportSize(PHONE);
  await shot(page, 'panel-profile-tokens-phone');

  await Promise.all([page.waitForURL(/\/revoke$/), row.locator('text=Отозвать').click()]);
  t.match(await page.textContent('main p'), 'Отозвать токен «Telegram»?');
  await Promise.all([page.waitForURL(/done=revoked/), page.click('#confirm-revoke')]);
  t.same(await page.locator('tr[data-token] .label').allTextContents(), ['cron']);
  const after = await fetch(`${base}/api/v1/contracts`, { headers: { authorization: `Bearer ${token}` } });
  t.equal(after.status, 401);
  t.same(problems, [], 'no script errors or CSP violations');
});
