// Dates on pages are server-local: pin the zone so the expected strings are exact.
process.env.TZ = 'Europe/Moscow';
import t, { type Test } from 'tap';
import type { Page } from 'playwright-core';
import { buildApp } from '../../src/http/app.js';
import { startPhone } from '../../src/domain/phone/identify.js';
import type { ProviderName } from '../../src/phone/providers/types.js';
import { deliverDue } from '../../src/worker/outbox.js';
import { artifact, launchBrowser } from '../helpers/browser.js';
import { deliver } from '../helpers/fake-providers.js';
import { fakeUnifi } from '../helpers/fake-unifi.js';
import { makeContract, makeNetwork, makeToken } from '../helpers/factories.js';
import { makePanelUser, PASSWORD } from '../helpers/panel.js';
import { freshMobile, LOOPBACK_ALLOWED, phoneSite } from '../helpers/phone.js';
import { testEnv } from '../helpers/services.js';

/*
 * Guests on a phone-sized screen identify by phone through each provider's fake, from the portal's
 * number form to the device authorised at a fake UniFi controller. One browser for the file; each
 * guest is a context of its own.
 */

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'ru-RU' };

/** The app on a loopback port; a contract whose provider is the fake; a UniFi network (a fake controller) offering phone sign-in. */
async function site<P extends ProviderName>(t: Test, provider: P) {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const app = await buildApp(env.svc);
  t.teardown(() => app.close());
  const base = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
  const unifi = await fakeUnifi(t, { unifiOs: false });
  const { contract, network, fake, callbackToken } = await phoneSite(t, env, provider, { unifiUrl: unifi.url, username: unifi.username, password: unifi.password }, undefined, 'unifi');
  const browser = await launchBrowser(t);
  let device = 0;
  /** A new guest's phone at the portal, as UniFi redirects it. */
  const guest = async (mac = `AA:BB:CC:${provider === 'smsru' ? '01' : provider === 'twilio' ? '02' : '03'}:00:${String(++device).padStart(2, '0')}`) => {
    const page = await (await browser.newContext(PHONE)).newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    await page.goto(`${base}/portal/${network.id}?id=${mac.toLowerCase()}&url=${encodeURIComponent('http://example.com/')}`);
    return { page, mac, problems };
  };
  /** Whether UniFi was told to authorise this MAC. */
  const authorised = (mac: string) =>
    unifi.state.calls.some((c) => c.path.endsWith('/cmd/stamgr') && c.body?.cmd === 'authorize-guest' && c.body?.mac === mac.toLowerCase() && c.status === 200);
  return { ...env, base, contract, network, fake, unifi, guest, authorised, callbackToken, browser };
}

const pretty = (e164: string) => `8 (${e164.slice(2, 5)}) ${e164.slice(5, 8)}-${e164.slice(8, 10)}-${e164.slice(10)}`;

async function askFor(page: Page, phone: string, method: string) {
  await page.locator('input[name=phone]').fill(phone);
  await page.locator(`input[name=method][value=${method}]`).check();
  await page.locator('form button[type=submit]').first().click();
  await page.waitForLoadState();
}

async function typeCode(page: Page, code: string) {
  await page.locator('input[name=code]').fill(code);
  await page.locator('form[action*="/phone/confirm"] button[type=submit]').click();
  await page.waitForLoadState();
}

const heading = (page: Page) => page.locator('h1').textContent();

t.test('sms.ru: call-check by polling, call-check by signed callback (a wrongly signed one refused), flash call, SMS', async (t) => {
  const { base, contract, fake, guest, authorised } = await site(t, 'smsru');

  // Call-check, confirmed by the provider's status answer that the page's refresh asks for.
  const a = await guest();
  t.equal(await heading(a.page), 'Войдите по номеру телефона');
  t.equal(await a.page.locator('input[name=phone]').getAttribute('type'), 'tel');
  await a.page.screenshot({ path: artifact('phone-form-390-ru.png'), fullPage: true });
  await askFor(a.page, pretty(freshMobile()), 'callcheck');
  t.equal(await heading(a.page), 'Позвоните на этот номер');
  t.equal(await a.page.locator('a.call').getAttribute('href'), 'tel:+78005008275');
  await a.page.screenshot({ path: artifact('phone-callcheck-390-ru.png'), fullPage: true });
  const [firstCheck] = [...fake.checks.keys()];
  fake.guestCalls(firstCheck);
  await a.page.waitForSelector('text=Вы подключены к Wi-Fi', { timeout: 10_000 });
  t.ok(authorised(a.mac), 'UniFi authorised the device');
  await a.page.screenshot({ path: artifact('phone-granted-390-ru.png'), fullPage: true });

  // Call-check confirmed by a signed callback: the provider's status still says "waiting".
  const b = await guest();
  await askFor(b.page, freshMobile(), 'callcheck');
  const checkId = [...fake.checks.keys()].find((id) => id !== firstCheck)!;
  const url = `${base}/api/v1/phone/callbacks/smsru/${contract.id}`;
  const forged = await deliver(url, fake.callback([{ checkId, status: '401' }], 'not-the-api-id'));
  t.equal(forged.status, 403, 'a wrongly signed callback is refused');
  await b.page.waitForTimeout(3500); // one refresh: still waiting
  t.equal(await heading(b.page), 'Позвоните на этот номер');
  t.notOk(authorised(b.mac));
  const signed = await deliver(url, fake.callback([{ checkId, status: '401' }]));
  t.same(signed, { status: 200, body: '100' });
  await b.page.waitForSelector('text=Вы подключены к Wi-Fi', { timeout: 10_000 });
  t.ok(authorised(b.mac));
  t.equal(fake.checks.get(checkId)!.status, '400', 'only the callback confirmed it');

  // Flash call: the caller's last 4 digits.
  const c = await guest();
  await askFor(c.page, freshMobile(), 'flashcall');
  t.equal(await heading(c.page), 'Вам сейчас позвонят');
  await c.page.screenshot({ path: artifact('phone-flashcall-390-ru.png'), fullPage: true });
  await typeCode(c.page, fake.sent.at(-1)!.code!);
  t.equal(await heading(c.page), 'Вы подключены к Wi-Fi');
  t.ok(authorised(c.mac));

  // SMS: the 6 digits of the text sms.ru delivered.
  const d = await guest();
  await askFor(d.page, freshMobile(), 'sms');
  t.equal(await heading(d.page), 'Введите код из SMS');
  const text = fake.sent.at(-1)!.text!;
  t.match(text, /^Код для входа в Wi-Fi: \d{6}\. Никому его не сообщайте\.$/);
  await typeCode(d.page, /\d{6}/.exec(text)![0]);
  t.equal(await heading(d.page), 'Вы подключены к Wi-Fi');
  t.ok(authorised(d.mac));
  t.same([...a.problems, ...b.problems, ...c.problems, ...d.problems], [], 'no CSP violation or failed load');
});

t.test('SMSC: call-check confirmed only by its callback with the handler token, flash call, SMS', async (t) => {
  const { base, contract, fake, guest, authorised, callbackToken } = await site(t, 'smsc');
  const a = await guest();
  const phone = freshMobile();
  await askFor(a.page, phone, 'callcheck');
  t.equal(await a.page.locator('a.call').getAttribute('href'), 'tel:+74993220000');
  const handler = `${base}/api/v1/phone/callbacks/smsc/${contract.id}`;
  t.equal((await deliver(`${handler}?token=guessed-token-0123456789`, fake.callback(`${handler}?token=guessed-token-0123456789`, phone.slice(1)))).status, 403);
  const ok = await deliver(`${handler}?token=${callbackToken}`, fake.callback(`${handler}?token=${callbackToken}`, phone.slice(1)));
  t.equal(ok.status, 200);
  await a.page.waitForSelector('text=Вы подключены к Wi-Fi', { timeout: 10_000 });
  t.ok(authorised(a.mac));

  const b = await guest();
  await askFor(b.page, freshMobile(), 'flashcall');
  await typeCode(b.page, fake.sent.at(-1)!.code!);
  t.equal(await heading(b.page), 'Вы подключены к Wi-Fi');
  t.ok(authorised(b.mac));

  const c = await guest();
  await askFor(c.page, freshMobile(), 'sms');
  await typeCode(c.page, /\d{6}/.exec(fake.sent.at(-1)!.text!)![0]);
  t.equal(await heading(c.page), 'Вы подключены к Wi-Fi');
  t.ok(authorised(c.mac));
});

t.test('Twilio Verify SMS: five wrong codes end the code, a new one is asked for and works', async (t) => {
  const { fake, guest, authorised } = await site(t, 'twilio');
  const g = await guest();
  const phone = freshMobile();
  await askFor(g.page, phone, 'sms');
  t.equal(await heading(g.page), 'Введите код из SMS');
  const first = fake.sent.at(-1)!.code;
  const wrong = first === '000000' ? '111111' : '000000';
  for (let i = 1; i <= 4; i++) {
    await typeCode(g.page, wrong);
    t.equal(await g.page.locator('#message').textContent(), `Код неверный. Осталось попыток: ${5 - i}.`);
  }
  await g.page.screenshot({ path: artifact('phone-wrong-code-390-ru.png'), fullPage: true });
  await typeCode(g.page, wrong);
  t.match(await g.page.locator('#message').textContent(), /Пять раз введён неверный код/);
  t.equal(await g.page.locator('input[name=code]').count(), 0, 'no code field: only a new code helps');
  t.notOk(authorised(g.mac));
  // A new code is asked for; the resend wait (60 s) has to pass first.
  await g.page.locator('form.resend button').click();
  await g.page.waitForLoadState();
  t.match(await g.page.locator('#message').textContent(), /Новый код можно запросить через \d+ с\./, 'the limit trips with its own message');
  t.equal(fake.sent.length, 1);
  // That page is the number form again: another number at once, and its code lets the device through.
  t.equal(await g.page.locator('input[name=phone]').inputValue(), phone);
  await askFor(g.page, freshMobile(), 'sms');
  t.equal(fake.sent.length, 2);
  await typeCode(g.page, fake.sent.at(-1)!.code);
  t.equal(await heading(g.page), 'Вы подключены к Wi-Fi');
  t.ok(authorised(g.mac));
});

t.test('limits and foreign numbers: a limit trips with its message, a foreign number is sent to the voucher form, which works', async (t) => {
  const { svc, contract, fake, guest, authorised } = await site(t, 'smsru');
  const g = await guest();
  const phone = freshMobile();
  await askFor(g.page, phone, 'sms');
  // Back to the number form and the same number at once: the resend wait.
  await g.page.locator('a', { hasText: 'Другой способ или другой номер' }).click();
  await g.page.waitForLoadState();
  await askFor(g.page, phone, 'sms');
  t.match(await g.page.locator('#message').textContent(), /^Новый код можно запросить через \d+ с\. Проверьте, не пришёл ли прежний\.$/);
  t.equal(await g.page.locator('input[name=phone]').inputValue(), phone, 'the number stays in the field');
  await g.page.screenshot({ path: artifact('phone-limit-390-ru.png'), fullPage: true });
  t.equal(fake.sent.length, 1);

  const f = await guest();
  await askFor(f.page, '+44 7400 123456', 'sms');
  t.equal(await heading(f.page), 'Введите токен', 'the voucher form');
  t.match(await f.page.locator('#message').textContent(), /только по российскому мобильному номеру/);
  await f.page.screenshot({ path: artifact('phone-foreign-390-ru.png'), fullPage: true });
  const tok = await makeToken(svc, contract.id, { durationDays: 1 });
  await f.page.locator('input[name=token]').fill(tok.code);
  await f.page.locator('button[type=submit]').click();
  await f.page.waitForLoadState();
  t.equal(await heading(f.page), 'Вы подключены к Wi-Fi');
  t.ok(authorised(f.mac));
  t.equal(fake.sent.length, 1, 'nothing was sent to the foreign number');

  // The link "no SIM?" leads to the same voucher form.
  const v = await guest();
  await v.page.locator('a.voucher').click();
  await v.page.waitForLoadState();
  t.equal(await heading(v.page), 'Введите токен');
  await v.page.locator('a', { hasText: 'Войти по номеру телефона' }).click();
  await v.page.waitForLoadState();
  t.equal(await heading(v.page), 'Войдите по номеру телефона', 'and back');
});

t.test('the pumping breaker pauses flash calls and SMS; an operator resumes them in the panel', async (t) => {
  const { svc, base, contract, network, fake, guest, authorised, browser } = await site(t, 'smsru');
  // 50 flash calls to distinct numbers from distinct devices, none of their codes entered.
  for (let i = 0; i < 50; i++) {
    const n = String(i).padStart(2, '0');
    await startPhone(svc, { network, mac: `AA:BB:CC:DD:${n}:${n}`, ip: '10.9.0.1', phone: `+7913${String(100 + i)}5555`, method: 'flashcall', now: svc.now() });
  }
  // A guest arriving now is offered only what can go out, and told why.
  const g = await guest();
  t.match(await g.page.locator('#message').textContent(), /Звонки и SMS с кодами в этой сети временно приостановлены/);
  t.same(await g.page.locator('input[name=method]').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value)), ['callcheck'], 'only the free call-check is offered');
  // One who had the page open before the pause asks for a flash call and is refused with the same words.
  await startPhone(svc, { network, mac: g.mac, ip: '10.9.0.2', phone: freshMobile(), method: 'flashcall', now: svc.now() }).then(
    () => t.fail('a paid send went out while paused'),
    (err) => t.equal(err.code, 'PHONE_PAUSED'),
  );
  await g.page.screenshot({ path: artifact('phone-paused-390-ru.png'), fullPage: true });
  const sentBefore = fake.sent.length;

  // The operator, on a phone too.
  const user = await makePanelUser(svc, contract.id);
  const panel = await (await browser.newContext({ ...PHONE })).newPage();
  await panel.goto(`${base}/admin/login`);
  await panel.locator('input[name=login]').fill(user.login);
  await panel.locator('input[name=password]').fill(PASSWORD);
  await panel.locator('button[type=submit]').click();
  await panel.waitForLoadState();
  await panel.goto(`${base}/admin/phone`);
  t.match(await panel.locator('.paused-box').textContent(), new RegExp(`Сеть «${network.name}»: остановлена .* из последних 50 кодов введено только 0`));
  await panel.screenshot({ path: artifact('panel-phone-paused-390-ru.png'), fullPage: true });
  await panel.locator('.paused-box button', { hasText: 'Возобновить' }).click();
  await panel.waitForLoadState();
  t.match(await panel.locator('.message.ok').textContent(), /Отправка кодов возобновлена/);
  t.equal(await panel.locator('.paused-box').count(), 0);

  // The guest asks again: the flash call goes out and lets the device through.
  await g.page.goto(`${base}/portal/${network.id}?id=${g.mac.toLowerCase()}`);
  await askFor(g.page, freshMobile(), 'flashcall');
  t.equal(fake.sent.length, sentBefore + 1);
  await typeCode(g.page, fake.sent.at(-1)!.code!);
  t.equal(await heading(g.page), 'Вы подключены к Wi-Fi');
  t.ok(authorised(g.mac));
});

t.test('rule 7 across phone and token: identified by phone here, by a token elsewhere, the first identification ends', async (t) => {
  const { svc, base, network, fake, guest, unifi, authorised } = await site(t, 'smsru');
  const g = await guest();
  await askFor(g.page, freshMobile(), 'flashcall');
  await typeCode(g.page, fake.sent.at(-1)!.code!);
  t.ok(authorised(g.mac));
  // The same phone in another contract's network, with a voucher.
  const other = await makeContract(svc);
  const elsewhere = await makeNetwork(svc, other.id);
  const tok = await makeToken(svc, other.id, { durationDays: 1 });
  await g.page.goto(`${base}/portal/${elsewhere.id}?mac=${g.mac}`);
  t.equal(await heading(g.page), 'Введите токен');
  await g.page.locator('input[name=token]').fill(tok.code);
  await g.page.locator('button[type=submit]').click();
  await g.page.waitForLoadState();
  t.equal(await heading(g.page), 'Вы подключены к Wi-Fi');
  const rows = await svc.db.query<{ method: string; network_id: string; end_reason: string | null }>(
    'select method, network_id, end_reason from identifications where mac = $1 order by id',
    [g.mac],
  );
  t.same(rows.rows, [
    { method: 'phone', network_id: network.id, end_reason: 'identified_elsewhere' },
    { method: 'token', network_id: elsewhere.id, end_reason: null },
  ]);
  // The phone network's controller is told to let the device go, and its portal asks again.
  await deliverDue(svc, { now: svc.now() });
  t.ok(unifi.state.calls.some((c) => c.body?.cmd === 'unauthorize-guest' && c.body?.mac === g.mac.toLowerCase()), 'de-authorised at UniFi');
  await g.page.goto(`${base}/portal/${network.id}?id=${g.mac.toLowerCase()}`);
  t.equal(await heading(g.page), 'Войдите по номеру телефона');
});
