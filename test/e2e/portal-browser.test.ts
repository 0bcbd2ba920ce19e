import t from 'tap';
import { buildApp } from '../../src/http/app.js';
import { makeSite, makeToken } from '../helpers/factories.js';
import { artifact, launchBrowser } from '../helpers/browser.js';
import { testEnv } from '../helpers/services.js';

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'ru-RU' };

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
