// On a phone: a system administrator creates a contract, then a UniFi network through the form
// generated from the adapter's settings schema, edits it and deletes it.
process.env.TZ = 'Europe/Moscow';
import t from 'tap';
import type { Page } from 'playwright-core';
import { buildApp } from '../../src/http/app.js';
import { artifact, launchBrowser } from '../helpers/browser.js';
import { makePanelUser, PASSWORD } from '../helpers/panel.js';
import { testEnv } from '../helpers/services.js';

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };

/** Nothing on the page is wider than the phone's screen. */
const fitsWidth = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

for (const [screen, viewport] of [['a phone', PHONE], ['a desktop', DESKTOP]] as const) t.test(`on ${screen}: contract, UniFi network from the generated form, edit, delete`, async (t) => {
  const browser = await launchBrowser(t);
  const { svc } = await testEnv(t);
  const app = await buildApp(svc);
  t.teardown(() => app.close());
  const base = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
  const admin = await makePanelUser(svc, null);
  const context = await browser.newContext({ viewport, locale: 'ru-RU', deviceScaleFactor: 1 });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('console', (msg) => msg.type() === 'error' && problems.push(msg.text()));

  await page.goto(`${base}/admin/login`);
  await page.fill('#login', admin.login);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL(`${base}/admin/tokens`), page.click('button[type=submit]')]);

  await page.goto(`${base}/admin/contracts`);
  await page.fill('#c-name', 'Гостиница «Волга»');
  await page.fill('#c-zone', 'Europe/Samara');
  await Promise.all([page.waitForURL(/done=created/), page.click('form[action="/admin/contracts"] button[type=submit]')]);
  t.equal(await page.textContent('.message.ok'), 'Договор создан.');
  t.ok(await fitsWidth(page), 'the contracts page fits the phone');
  const { rows } = await svc.db.query<{ id: string }>(`select id from contracts where name = 'Гостиница «Волга»'`);
  t.equal(rows.length, 1);

  await page.goto(`${base}/admin/networks?contract=${rows[0].id}`);
  t.ok(await page.isVisible('fieldset[data-controller="generic"]'), 'the default controller shows its fields');
  t.notOk(await page.isVisible('fieldset[data-controller="unifi"]'));
  await page.fill('#net-name', 'Ресепшн');
  await page.selectOption('#net-controller', 'unifi');
  t.ok(await page.isVisible('#f-unifi-unifiUrl'), 'choosing UniFi shows its settings');
  t.notOk(await page.isVisible('fieldset[data-controller="generic"]'));
  t.equal(await page.textContent('#f-unifi-unifiOs-hint'), 'A UniFi OS console (UDM, Cloud Key Gen2+, UCG)');
  await page.fill('#f-unifi-unifiUrl', 'https://198.51.100.7:8443');
  await page.fill('#f-unifi-username', 'hotspot');
  await page.fill('#f-unifi-password', 'unifi-pass-1');
  await page.check('#f-unifi-unifiOs');
  t.ok(await fitsWidth(page), 'the network form fits the phone');
  await page.screenshot({ path: artifact(`panel-network-form-${viewport.width}.png`), fullPage: true });
  await Promise.all([page.waitForURL(/done=created/), page.click('form[action="/admin/networks"] button[type=submit]')]);
  t.equal(await page.textContent('.message.ok'), 'Сеть создана.');
  const net = async () =>
    (await svc.db.query<{ id: string; name: string; settings: Record<string, unknown>; deleted: boolean }>(
      `select id, name, settings, deleted_at is not null as deleted from networks where contract_id = $1`,
      [rows[0].id],
    )).rows;
  const [made] = await net();
  t.same(made.settings, { unifiUrl: 'https://198.51.100.7:8443', username: 'hotspot', password: 'unifi-pass-1', unifiOs: true, site: 'default', insecureTls: false });

  await Promise.all([page.waitForURL(`${base}/admin/networks/${made.id}/edit`), page.click(`a[href="/admin/networks/${made.id}/edit"]`)]);
  t.equal(await page.inputValue('#f-unifi-password'), '', 'the secret is not sent back');
  t.match(await page.textContent('#f-unifi-password-hint'), 'Задан — оставьте пустым, чтобы не менять.');
  await page.fill('#net-name', 'Ресепшн, 1 этаж');
  await page.fill('#f-unifi-site', 'hotel');
  t.ok(await fitsWidth(page), 'the edit page fits the phone');
  await Promise.all([page.waitForURL(/done=saved/), page.click(`form[action="/admin/networks/${made.id}"] button[type=submit]`)]);
  t.equal(await page.textContent('.message.ok'), 'Сеть сохранена.');
  const [edited] = await net();
  t.match(edited, { name: 'Ресепшн, 1 этаж', settings: { site: 'hotel', password: 'unifi-pass-1', unifiOs: true } });

  await Promise.all([page.waitForURL(`${base}/admin/networks/${made.id}/delete`), page.click(`a[href="/admin/networks/${made.id}/delete"]`)]);
  t.match(await page.textContent('#delete-warning'), 'закончатся (причина — «аннулирован»)');
  t.ok(await fitsWidth(page), 'the confirmation fits the phone');
  await page.screenshot({ path: artifact(`panel-network-delete-${viewport.width}.png`), fullPage: true });
  await Promise.all([page.waitForURL(/done=deleted/), page.click('button.danger')]);
  t.equal(await page.textContent('.message.ok'), 'Сеть удалена.');
  t.equal((await net())[0].deleted, true);
  t.same(problems, [], 'no script errors');
});
