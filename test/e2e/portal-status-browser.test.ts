import t from 'tap';
import { buildApp } from '../../src/http/app.js';
import { makeContract, makeNetwork, makeToken, makeUser } from '../helpers/factories.js';
import { artifact, launchBrowser } from '../helpers/browser.js';
import { testEnv } from '../helpers/services.js';

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

t.test('a guest on a phone opens its status: network, time and data left in its language, and the RFC 8908 API agrees', async (t) => {
  const { svc, clock } = await testEnv(t);
  const app = await buildApp(svc);
  t.teardown(() => app.close());
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const contract = await makeContract(svc);
  const network = await makeNetwork(svc, contract.id, 'generic', { nasIdentifier: 'cafe-nas', displayName: 'Кафе «Ромашка»', venueInfoUrl: 'https://cafe.example/menu' });
  const { auth } = await makeUser(svc, contract.id);
  const tok = await makeToken(svc, contract.id, { durationDays: 2 });
  const device = 'AA:BB:CC:DD:EE:31';

  const browser = await launchBrowser(t);
  const page = await (await browser.newContext({ ...PHONE, locale: 'ru-RU' })).newPage();
  await page.goto(`${base}/portal/${network.id}?mac=${device}&url=${encodeURIComponent('http://example.com/')}`);
  await page.locator('input[name=token]').fill(tok.code);
  await page.locator('button[type=submit]').click();
  await page.waitForLoadState();
  t.equal(await page.locator('h1').textContent(), 'Вы подключены к Wi-Fi');

  // The copy has a 2048 MiB quota, and the NAS reports 512 MiB used from the phone's address.
  await svc.db.query(`update tokens set quota_mb = 2048 where id = $1::uuid`, [tok.id]);
  const rlm = (a: Record<string, string>) => Object.fromEntries(Object.entries(a).map(([k, v]) => [k, { value: [v] }]));
  const acct = await app.inject({
    method: 'POST',
    url: '/api/v1/radius/accounting',
    headers: auth,
    payload: rlm({ 'Acct-Status-Type': 'Interim-Update', 'Acct-Session-Id': 'p1', 'Calling-Station-Id': device, 'NAS-Identifier': 'cafe-nas', 'Framed-IP-Address': '127.0.0.1', 'Acct-Input-Octets': String(512 * 1048576) }),
  });
  t.equal(acct.statusCode, 204);
  clock.advance(90 * 60_000);

  await page.locator('a', { hasText: 'Мой доступ' }).click();
  await page.waitForLoadState();
  t.equal(await page.locator('p.network').textContent(), 'Кафе «Ромашка»');
  t.equal(await page.locator('h1').textContent(), 'Вы подключены к Wi-Fi');
  t.equal(await page.locator('[data-status=time]').textContent(), '1 сут. 22 ч 30 мин');
  t.equal(await page.locator('[data-status=data]').textContent(), '1,5 ГБ');
  t.equal(await page.locator('a', { hasText: 'Об этом месте' }).getAttribute('href'), 'https://cafe.example/menu');
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  t.ok(width <= 390, `no sideways scrolling on a phone (${width}px)`);
  await page.screenshot({ path: artifact('portal-status-phone-ru.png'), fullPage: true });

  // What a captive-portal-aware OS asks, from the phone itself: no MAC, found by its address.
  // (A page of its own: the portal's CSP lets no page script fetch.)
  const apiPage = await page.context().newPage();
  const res = (await apiPage.goto(`${base}/portal/${network.id}/api`))!;
  const api = { type: res.headers()['content-type'], body: (await res.json()) as Record<string, unknown> };
  t.equal(api.type, 'application/captive+json');
  t.same(api.body, {
    captive: false,
    'user-portal-url': `${base}/portal/${network.id}`,
    'seconds-remaining': 2 * 86400 - 90 * 60,
    'bytes-remaining': 1536 * 1048576,
    'can-extend-session': false,
    'venue-info-url': 'https://cafe.example/menu',
  });

  // The user-portal-url itself, in English, with no controller parameters.
  const en = await (await browser.newContext({ ...PHONE, locale: 'en-GB' })).newPage();
  await en.goto(String(api.body['user-portal-url']));
  t.equal(await en.locator('h1').textContent(), 'You are connected');
  t.equal(await en.locator('[data-status=time]').textContent(), '1 d 22 h 30 min');
  t.equal(await en.locator('[data-status=data]').textContent(), '1.5 GB');
  await en.screenshot({ path: artifact('portal-status-phone-en.png'), fullPage: true });
  await en.locator('a', { hasText: 'Русский' }).click();
  await en.waitForLoadState();
  t.equal(await en.locator('[data-status=data]').textContent(), '1,5 ГБ', 'the language switch keeps the page');
});
