// Browser walks on a phone: the first sign-in with the password from the start banner, and an
// issuer who generates and prints tokens but has no networks page.
process.env.TZ = 'Europe/Moscow';
import { readFile } from 'node:fs/promises';
import t from 'tap';
import type { Page } from 'playwright-core';
import { buildApp } from '../../src/http/app.js';
import { artifact, launchBrowser } from '../helpers/browser.js';
import { makeSite } from '../helpers/factories.js';
import { makePanelUser, PASSWORD } from '../helpers/panel.js';
import { freePort, startServer, tempDir } from '../helpers/process.js';
import { testEnv } from '../helpers/services.js';

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };

async function pageIn(t: Parameters<typeof launchBrowser>[0], viewport: { width: number; height: number } = PHONE) {
  const browser = await launchBrowser(t);
  const context = await browser.newContext({ viewport, locale: 'ru-RU', deviceScaleFactor: 1, acceptDownloads: true });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  // Chrome logs every 4xx document as a console error; the issuer's 404 is meant to happen.
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/status of 404/.test(msg.text())) problems.push(msg.text());
  });
  return { page, problems };
}

async function signIn(page: Page, base: string, login: string, password: string) {
  await page.goto(`${base}/admin`);
  await page.waitForURL(`${base}/admin/login`);
  await page.fill('#login', login);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(`${base}/admin/tokens`), page.click('button[type=submit]')]);
}

t.test('first sign-in: the built server on an empty data dir prints a password, and it opens /admin in a browser', async (t) => {
  const server = await startServer(t, { KALITKA_DATA_DIR: tempDir() }, freePort());
  const password = /sign in to the panel as "admin" with the password (\S+) \(shown once/.exec(server.output())?.[1];
  t.ok(password, 'the banner shows a generated password');
  const { page, problems } = await pageIn(t);
  await page.goto(`${server.base}/admin`);
  await page.waitForURL(`${server.base}/admin/login`);
  await page.fill('#login', 'admin');
  await page.fill('#password', 'not the password');
  await page.click('button[type=submit]');
  t.equal(await page.locator('#password').count(), 1, 'a wrong password stays on the login page');
  problems.length = 0; // the refused sign-in's 401 is logged by Chrome
  await signIn(page, server.base, 'admin', password!);
  t.equal(await page.textContent('.login'), 'admin');
  await page.goto(`${server.base}/admin/users`);
  t.match(await page.textContent('main'), /Системный администратор/);
  t.match(await page.textContent('.zone-note'), /^Время: \S+ \(UTC[+-]\d\d:\d\d\)$/, 'the page names its time zone');
  t.equal(await page.evaluate(() => document.documentElement.scrollWidth), PHONE.width, 'nothing sticks out sideways');
  await page.screenshot({ path: artifact('panel-first-signin-phone.png'), fullPage: true });
  t.same(problems, []);
});

for (const [screen, viewport] of [['a phone', PHONE], ['a desktop', DESKTOP]] as const) t.test(`an issuer on ${screen} generates tokens and downloads their PDF, and the networks page is a 404`, async (t) => {
  const env = await testEnv(t);
  const app = await buildApp(env.svc);
  t.teardown(() => app.close());
  const base = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
  const { contract } = await makeSite(env.svc);
  const issuer = await makePanelUser(env.svc, contract.id, { role: 'issuer' });
  const { page, problems } = await pageIn(t, viewport);
  await signIn(page, base, issuer.login, PASSWORD);

  const nav = await page.locator('nav a').allTextContents();
  t.notOk(nav.some((label) => /Сети/.test(label)), 'no networks in the navigation');
  await page.fill('#gen-count', '4');
  await Promise.all([page.waitForURL(/done=generated/), page.click('form[action="/admin/tokens/generate"] button[type=submit]')]);
  t.equal(await page.locator('tr[data-token]').count(), 4);
  const { rows } = await env.svc.db.query<{ n: number }>(`select count(*)::int as n from tokens where contract_id = $1`, [contract.id]);
  t.equal(rows[0].n, 4);

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#pdf')]);
  t.match(download.suggestedFilename(), /^tokens-\d{4}-\d\d-\d\d\.pdf$/);
  const pdf = await readFile((await download.path())!);
  t.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-', 'a PDF');
  t.ok(pdf.length > 1000);

  const networks = await page.goto(`${base}/admin/networks`);
  t.equal(networks!.status(), 404);
  t.equal(await page.locator('form[action="/admin/networks"]').count(), 0, 'no network form on the page');
  await page.screenshot({ path: artifact(`panel-issuer-404-${viewport.width}.png`), fullPage: true });
  t.same(problems, [], 'no script errors');
});
