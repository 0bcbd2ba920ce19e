import t from 'tap';
import { buildApp } from '../../src/http/app.js';
import { makeSite, makeToken } from '../helpers/factories.js';
import { artifact, launchBrowser } from '../helpers/browser.js';
import { testEnv } from '../helpers/services.js';

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'ru-RU' };
const DESKTOP = { viewport: { width: 1280, height: 800 }, locale: 'ru-RU' };

async function site(t: Parameters<typeof testEnv>[0]) {
  const env = await testEnv(t);
  const app = await buildApp(env.svc);
  t.teardown(() => app.close());
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const { contract, network } = await makeSite(env.svc);
  return { ...env, base, contract, network };
}

t.test('a guest on a phone types a code with spaces and is connected', async (t) => {
  const { svc, base, contract, network } = await site(t);
  const tok = await makeToken(svc, contract.id, { durationDays: 1 });
  const browser = await launchBrowser(t);
  const page = await (await browser.newContext(PHONE)).newPage();
  await page.goto(`${base}/portal/${network.id}?mac=aa:bb:cc:dd:ee:01&url=${encodeURIComponent('http://example.com/')}`);
  t.equal(await page.locator('h1').textContent(), 'Введите токен');
  t.equal(await page.locator('input[name=token]').getAttribute('inputmode'), 'numeric');
  await page.screenshot({ path: artifact('portal-form-phone-ru.png'), fullPage: true });
  await page.locator('input[name=token]').fill(`${tok.code.slice(0, 4)} ${tok.code.slice(4, 8)} ${tok.code.slice(8)}`);
  await page.locator('button[type=submit]').click();
  await page.waitForLoadState();
  t.equal(await page.locator('h1').textContent(), 'Вы подключены к Wi-Fi');
  t.match(await page.locator('.message').textContent(), /Доступ действует до/);
  t.equal(await page.locator('a.button').getAttribute('href'), 'http://example.com/');
  await page.screenshot({ path: artifact('portal-success-phone-ru.png'), fullPage: true });
  const row = await svc.db.query<{ status: string; mac: string }>(`select status, mac from tokens where id = $1`, [tok.id]);
  t.same(row.rows[0], { status: 'active', mac: 'AA:BB:CC:DD:EE:01' });
});

t.test('a guest who mistypes a digit is told so and can try again', async (t) => {
  const { svc, base, contract, network } = await site(t);
  const tok = await makeToken(svc, contract.id, { durationDays: 1 });
  const wrong = tok.code.slice(0, 5) + String((Number(tok.code[5]) + 1) % 10) + tok.code.slice(6);
  const browser = await launchBrowser(t);
  const page = await (await browser.newContext(PHONE)).newPage();
  await page.goto(`${base}/portal/${network.id}?mac=aa:bb:cc:dd:ee:02`);
  await page.locator('input[name=token]').fill(wrong.replace(/(\d{4})(?=\d)/g, '$1 '));
  await page.locator('button[type=submit]').click();
  await page.waitForLoadState();
  t.match(await page.locator('#message').textContent(), /В токене опечатка: одна из цифр введена неверно/);
  t.equal(await page.locator('input[name=token]').inputValue(), wrong.replace(/(\d{4})(?=\d)/g, '$1 '), 'what was typed stays in the field');
  await page.screenshot({ path: artifact('portal-mistype-phone-ru.png'), fullPage: true });
  const row = await svc.db.query<{ status: string }>(`select status from tokens where id = $1`, [tok.id]);
  t.equal(row.rows[0].status, 'unused');
  await page.locator('input[name=token]').fill(tok.code);
  await page.locator('button[type=submit]').click();
  await page.waitForLoadState();
  t.equal(await page.locator('h1').textContent(), 'Вы подключены к Wi-Fi', 'the corrected code works from the same page');
});

for (const [screen, device] of [['a phone', PHONE], ['a desktop', DESKTOP]] as const) t.test(`a branded portal on ${screen}: logo, name, accent colour, support and terms to accept`, async (t) => {
  const { svc, base, contract, network } = await site(t);
  const { setNetworkLogo } = await import('../../src/domain/branding.js');
  const { updateNetwork } = await import('../../src/domain/networks.js');
  const { operatorOf } = await import('../helpers/factories.js');
  const actor = operatorOf(contract.id);
  await updateNetwork(svc, actor, network.id, {
    settings: { displayName: 'Кафе «Ромашка»', accentColor: '#c0392b', supportContact: '+7 900 000-00-00', termsRu: 'Не нарушайте закон.\nНе шумите после 23:00.', termsEn: 'Obey the law.' },
  });
  const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63f8cfc0f01f0005000201e2b5e3a80000000049454e44ae426082', 'hex');
  await setNetworkLogo(svc, actor, network.id, png, svc.now());
  const tok = await makeToken(svc, contract.id, { durationDays: 1 });
  const browser = await launchBrowser(t);
  const page = await (await browser.newContext(device)).newPage();
  const blocked: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') blocked.push(m.text()); });
  await page.goto(`${base}/portal/${network.id}?mac=aa:bb:cc:dd:ee:09`);
  t.equal(await page.locator('p.network').textContent(), 'Кафе «Ромашка»');
  t.ok(await page.locator('img.logo').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth === 1), 'the logo loaded');
  t.equal(await page.locator('button[type=submit]').evaluate((b) => getComputedStyle(b).backgroundColor), 'rgb(192, 57, 43)', 'the accent colour applies');
  t.match(await page.locator('.terms-text').textContent(), /Не шумите после 23:00/);
  t.match(await page.locator('.support').textContent(), /\+7 900 000-00-00/);
  await page.screenshot({ path: artifact(`portal-branded-${device.viewport.width}-ru.png`), fullPage: true });
  await page.locator('input[name=token]').fill(tok.code);
  await page.locator('button[type=submit]').click();
  t.equal(await page.locator('input[name=terms]').evaluate((c: HTMLInputElement) => c.validity.valueMissing), true, 'the browser holds the form until the box is ticked');
  await page.locator('input[name=terms]').check();
  await page.locator('button[type=submit]').click();
  await page.waitForLoadState();
  t.equal(await page.locator('h1').textContent(), 'Вы подключены к Wi-Fi');
  t.same(blocked, [], 'no CSP violation or failed load');
  const row = await svc.db.query<{ terms_version: string | null }>(`select terms_version from identifications where token_id = $1`, [tok.id]);
  t.match(row.rows[0].terms_version, /^[0-9a-f]{16}$/);
});
