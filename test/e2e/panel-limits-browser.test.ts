// In a real browser on a phone and a desktop: an operator makes a plan, generates tokens from it
// with a limit typed over the plan's, and extends an active copy; every page fits the screen.
process.env.TZ = 'Europe/Moscow';
import t from 'tap';
import type { Page } from 'playwright-core';
import { activateToken } from '../../src/domain/activation.js';
import { buildApp } from '../../src/http/app.js';
import { artifact, launchBrowser } from '../helpers/browser.js';
import { mac, makeContract, makeNetwork, makeToken } from '../helpers/factories.js';
import { makePanelUser, PASSWORD } from '../helpers/panel.js';
import { testEnv } from '../helpers/services.js';

const fitsWidth = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

for (const [screen, viewport] of [['a phone', { width: 390, height: 844 }], ['a desktop', { width: 1280, height: 800 }]] as const) {
  t.test(`on ${screen}: a plan, tokens from it, an extension`, async (t) => {
    const browser = await launchBrowser(t);
    const { svc, clock } = await testEnv(t);
    const app = await buildApp(svc);
    t.teardown(() => app.close());
    const base = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
    const contract = await makeContract(svc);
    const network = await makeNetwork(svc, contract.id);
    const active = await makeToken(svc, contract.id, { durationDays: 1, quotaMb: 100 });
    await activateToken(svc, { networkId: network.id, mac: mac(1), code: active.code, now: clock.now() });
    const operator = await makePanelUser(svc, contract.id);
    const context = await browser.newContext({ viewport, locale: 'ru-RU', deviceScaleFactor: 1 });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    page.on('console', (msg) => msg.type() === 'error' && problems.push(msg.text()));

    await page.goto(`${base}/admin/login`);
    await page.fill('#login', operator.login);
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(`${base}/admin/tokens`), page.click('button[type=submit]')]);

    await page.click('nav a[href="/admin/plans"]');
    await page.fill('#plan-name', 'Неделя');
    await page.check('input[name=uses][value=multi]');
    await page.selectOption('#plan-term', '7');
    await page.fill('#plan-down', '10000');
    await page.fill('#plan-quota', '2000');
    await page.fill('#plan-devices', '2');
    await Promise.all([page.waitForURL(/done=created/), page.click('form[action="/admin/plans"] button[type=submit]')]);
    t.equal(await page.textContent('.message.ok'), 'Тариф создан.');
    t.equal((await page.textContent('td.limits'))?.trim(), '↓ 10000 ↑ ∞ кбит/с · 2000 МБ · до 2 устройств');
    t.ok(await fitsWidth(page), 'the plans page fits the screen');
    await page.screenshot({ path: artifact(`panel-plans-${viewport.width}.png`), fullPage: true });

    await page.goto(`${base}/admin/tokens`);
    await page.selectOption('#gen-plan', { label: 'Неделя' });
    await page.fill('#gen-count', '3');
    await page.fill('#gen-up', '512');
    await Promise.all([page.waitForURL(/done=generated/), page.click('form[action="/admin/tokens/generate"] button[type=submit]')]);
    const { rows } = await svc.db.query<{ n: number }>(
      `select count(*)::int as n from tokens where contract_id = $1 and multi_use and duration_days = 7 and down_kbps = 10000 and up_kbps = 512 and quota_mb = 2000 and max_devices = 2`,
      [contract.id],
    );
    t.equal(rows[0].n, 3, 'three tokens with the plan\'s values and the typed upload speed');
    t.ok(await fitsWidth(page), 'the tokens page with limits fits the screen');
    await page.screenshot({ path: artifact(`panel-tokens-limits-${viewport.width}.png`), fullPage: true });

    await Promise.all([page.waitForURL(/\/extend/), page.click(`tr[data-token="${active.id}"] a[href*="/extend"]`)]);
    t.ok(await fitsWidth(page), 'the extend page fits the screen');
    await page.fill('#extend-days', '2');
    await page.fill('#extend-quota', '50');
    await Promise.all([page.waitForURL(/done=extended/), page.click('form[action$="/extend"] button[type=submit]')]);
    t.equal(await page.textContent('.message.ok'), 'Токен продлён.');
    const [row] = (await svc.db.query<{ expires_at: Date; quota_mb: string }>(`select expires_at, quota_mb from tokens where id = $1`, [active.id])).rows;
    t.equal(row.expires_at.getTime(), clock.now().getTime() + 3 * 86_400_000);
    t.equal(Number(row.quota_mb), 150);
    t.same(problems, [], 'no script errors');
  });
}
