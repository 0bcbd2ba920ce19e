// Dates on pages are server-local: pin the zone so the expected strings are exact.
process.env.TZ = 'Europe/Moscow';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { keepPauseIfTripped, networkPaused } from '../../src/domain/phone/breaker.js';
import { recordPaidSend } from '../../src/domain/phone/limits.js';
import { fakeSmsc, fakeSmsRu } from '../helpers/fake-providers.js';
import { makeContract, makeNetwork, operatorOf } from '../helpers/factories.js';
import { saveProviderSettings } from '../../src/domain/phone/providerSettings.js';
import { sendTestPhone } from '../../src/domain/phone/testSend.js';
import { PanelClient, panelEnv, signedIn, textOf } from '../helpers/panel.js';
import { LOOPBACK_ALLOWED, phoneSite } from '../helpers/phone.js';

/* The panel's "Phone identification" page and the phone settings in the network form. */

t.test('an operator sets up sms.ru: the secret is never shown back, the callback URL is, and CSRF is required', async (t) => {
  const { app, svc } = await panelEnv(t, LOOPBACK_ALLOWED);
  const contract = await makeContract(svc);
  const fake = await fakeSmsRu(t, { apiId: 'F2D79B58-A5A2-2F9E-91C8-73D12CE2E102' });
  const { client } = await signedIn(app, svc, contract.id);
  const page = await client.get('/admin/phone');
  t.equal(page.statusCode, 200);
  t.match(page.body, /<a[^>]+href="\/admin\/phone"[^>]*>Идентификация по телефону<\/a>/, 'in the navigation');
  t.equal((page.body.match(/Не подключён\./g) ?? []).length, 3, 'no provider yet');
  const noCsrf = await client.post('/admin/phone/providers/smsru', { _csrf: null, contract: contract.id, apiId: fake.apiId, apiUrl: fake.url });
  t.equal(noCsrf.statusCode, 403);
  const saved = await client.post('/admin/phone/providers/smsru', { contract: contract.id, apiId: fake.apiId, apiUrl: fake.url });
  t.equal(saved.statusCode, 303);
  const after = await client.get(saved.headers.location as string);
  t.match(after.body, /Настройки провайдера сохранены\./);
  t.notMatch(after.body, new RegExp(fake.apiId), 'the api_id never comes back whole');
  t.match(after.body, /Сохранён: ••••E102\./, 'only its last four characters');
  t.match(after.body, new RegExp(`value="http://localhost(:\\d+)?/api/v1/phone/callbacks/smsru/${contract.id}"`), 'the callback URL to register');
  t.match(after.body, new RegExp(`value="${fake.url}"`), 'the apiUrl is shown as saved');
  // A malformed Twilio account is refused with the reason, and nothing is saved.
  const bad = await client.post('/admin/phone/providers/twilio', { contract: contract.id, accountSid: 'AC123', authToken: 'x', serviceSid: 'VA1' });
  t.equal(bad.statusCode, 400);
  t.match(textOf(bad.body, 'error'), /accountSid is malformed/);
  t.match(bad.body, /value="AC123"/, 'the non-secret value stays in the form');
  t.notMatch(bad.body, /name="authToken" type="password" value="x"/, 'the secret does not');
});

t.test('SMSC: the handler URL with its secret token is shown once, right after the save', async (t) => {
  const { app, svc } = await panelEnv(t, LOOPBACK_ALLOWED);
  const contract = await makeContract(svc);
  const fake = await fakeSmsc(t);
  const { client } = await signedIn(app, svc, contract.id);
  await client.get('/admin/phone');
  const saved = await client.post('/admin/phone/providers/smsc', { contract: contract.id, login: fake.login, password: fake.password, apiUrl: fake.url });
  t.equal(saved.statusCode, 200);
  const url = /<section class="box once"[\s\S]*?value="([^"]+)"/.exec(saved.body)?.[1] ?? '';
  t.match(url, new RegExp(`/api/v1/phone/callbacks/smsc/${contract.id}\\?token&#x3D;[A-Za-z0-9_-]{32}$`));
  const again = await client.get('/admin/phone');
  t.notMatch(again.body, /token&#x3D;[A-Za-z0-9_-]{32}/, 'not shown again');
  t.match(again.body, /callbacks\/smsc\/[0-9a-f-]+\?token&#x3D;…/);
});

t.test('a test send: refused while the provider is unset, sent through sms.ru, counted in today\'s figures', async (t) => {
  const { app, svc } = await panelEnv(t, LOOPBACK_ALLOWED);
  const env = { svc } as Parameters<typeof phoneSite>[1];
  const { contract, fake } = await phoneSite(t, env, 'smsru');
  const { client } = await signedIn(app, svc, contract.id);
  await client.get('/admin/phone');
  const unset = await client.post('/admin/phone/test', { contract: contract.id, provider: 'twilio', method: 'sms', phone: '+79123456789' });
  t.equal(unset.statusCode, 422);
  t.match(textOf(unset.body, 'error'), /Этот провайдер ещё не подключён/);
  const badNumber = await client.post('/admin/phone/test', { contract: contract.id, provider: 'smsru', method: 'sms', phone: 'call me' });
  t.equal(badNumber.statusCode, 400);
  t.same(fake.sent, [], 'nothing was sent');
  const sent = await client.post('/admin/phone/test', { contract: contract.id, provider: 'smsru', method: 'sms', phone: '8 912 345-67-89' });
  t.equal(sent.statusCode, 200);
  t.match(sent.body, /Тест отправлен/);
  t.equal(fake.sent.length, 1);
  t.equal(fake.sent[0].to, '79123456789');
  t.match(fake.sent[0].text, /^Kalitka: проверка SMS\. Код \d{6}\.$/);
  t.match(sent.body, /<dd>\+79123456789<\/dd>/);
  t.equal(textOf(sent.body, 'today')?.startsWith('Сегодня, 2026-11-23'), true);
  t.match(sent.body, /<dd data-stat="sent">1<\/dd>/);
  // A flash call reports its cost (the fake says 0.4).
  await client.post('/admin/phone/test', { contract: contract.id, provider: 'smsru', method: 'flashcall', phone: '+79123456780' });
  const page = await client.get('/admin/phone');
  t.match(page.body, /<dd data-stat="sent">2<\/dd>/);
  t.match(page.body, /<dd data-stat="cost">0,40<\/dd>/);
  t.match(page.body, /<tr data-provider="smsru" data-method="flashcall">[\s\S]*?<td data-label="Стоимость">0,40<\/td><\/tr>/);
  // The provider away: the operator reads why.
  fake.failNext = { status: 502 };
  const away = await client.post('/admin/phone/test', { contract: contract.id, provider: 'smsru', method: 'sms', phone: '+79123456781' });
  t.equal(away.statusCode, 503);
  t.match(textOf(away.body, 'error'), /Провайдер не ответил/);
});

t.test('a test send that reaches no provider says why: DNS, a refused connection, or our outbound guard', async (t) => {
  const { app, svc } = await panelEnv(t, LOOPBACK_ALLOWED);
  const contract = await makeContract(svc);
  const { client } = await signedIn(app, svc, contract.id);
  await client.get('/admin/phone');
  const test = async (apiUrl: string) => {
    await saveProviderSettings(svc, operatorOf(contract.id), contract.id, 'smsru', { apiId: 'my-api-id', apiUrl }, svc.now());
    return client.post('/admin/phone/test', { contract: contract.id, provider: 'smsru', method: 'sms', phone: '+79123456789' });
  };
  const dns = await test('http://no-such-provider.invalid/');
  t.equal(dns.statusCode, 503);
  t.match(textOf(dns.body, 'error'), /^Адрес провайдера не удалось найти в DNS: no-such-provider\.invalid does not resolve \((ENOTFOUND|EAI_AGAIN|EAI_NONAME)\)$/);
  // A closed port on an address the server may call.
  const closed = await new Promise<number>((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
  const refused = await test(`http://127.0.0.1:${closed}/`);
  t.equal(refused.statusCode, 503);
  t.match(textOf(refused.body, 'error'), /^Не удалось соединиться с провайдером: the connection failed \(ECONNREFUSED\)$/);
  t.notMatch(refused.body, /OUTBOUND_REFUSED/);
  // The same account on a server that does not open loopback: our guard refuses the call itself.
  const strict = { ...svc, config: { ...svc.config, outboundAllow: [] } } as typeof svc;
  const guarded = await sendTestPhone(strict, operatorOf(contract.id), { contractId: contract.id, provider: 'smsru', phone: '+79123456789', method: 'sms', lang: 'en', now: svc.now() }).catch((e: unknown) => e);
  t.match(guarded, { status: 503, code: 'PHONE_PROVIDER_UNAVAILABLE', details: { cause: 'outbound', reason: /^127\.0\.0\.1 is a loopback address, which only the server's KALITKA_OUTBOUND_ALLOW can open$/ } });
  const en = await client.post('/admin/phone/test?lang=en', { contract: contract.id, provider: 'smsru', method: 'sms', phone: '+79123456789' });
  t.match(textOf(en.body, 'error'), /^Could not connect to the provider: /);
});

t.test('today counts confirmations and gives the conversion', async (t) => {
  const { app, svc } = await panelEnv(t, LOOPBACK_ALLOWED);
  const { contract, network, fake } = await phoneSite(t, { svc } as Parameters<typeof phoneSite>[1], 'twilio');
  const { startPhone, confirmPhone } = await import('../../src/domain/phone/identify.js');
  for (const [i, right] of [[1, true], [2, false]] as const) {
    const step = await startPhone(svc, { network, mac: `AA:BB:CC:00:00:0${i}`, ip: '10.0.0.1', phone: `+7912555000${i}`, method: 'sms', now: svc.now() });
    if (right) await confirmPhone(svc, { network, mac: `AA:BB:CC:00:00:0${i}`, ip: '10.0.0.1', verificationId: step.verificationId, code: fake.sent.at(-1)!.code, now: svc.now() });
  }
  const { client } = await signedIn(app, svc, contract.id);
  const page = await client.get('/admin/phone');
  t.match(page.body, /<dd data-stat="sent">2<\/dd>/);
  t.match(page.body, /<dd data-stat="confirmed">1<\/dd>/);
  t.match(page.body, /<dd data-stat="conversion">50 %<\/dd>/);
  t.match(page.body, /<dd data-stat="cost">провайдер не сообщает<\/dd>/);
});

t.test('a network the pumping breaker paused is shown with a Resume button that lifts the pause', async (t) => {
  const { app, svc } = await panelEnv(t, LOOPBACK_ALLOWED);
  const { contract, network } = await phoneSite(t, { svc } as Parameters<typeof phoneSite>[1], 'smsru');
  // 50 paid sends, none entered: the breaker trips.
  let state = await recordPaidSend(svc.cache, network.id, 'fc:0');
  for (let i = 1; i < 50; i++) state = await recordPaidSend(svc.cache, network.id, `fc:${i}`);
  t.equal(state.paused, true);
  await keepPauseIfTripped(svc, { networkId: network.id, contractId: contract.id, provider: 'smsru', state, wasPaused: false, now: svc.now() });
  const { client } = await signedIn(app, svc, contract.id);
  const page = await client.get('/admin/phone');
  t.match(page.body, /Звонки и SMS с кодами приостановлены/);
  t.match(page.body, new RegExp(`Сеть «${network.name}»: остановлена 23\\.11\\.2026 13:00:00 — из последних 50 кодов введено только 0`));
  // Another contract's operator cannot resume it.
  const stranger = await signedIn(app, svc, (await makeContract(svc)).id);
  await stranger.client.get('/admin/phone');
  t.equal((await stranger.client.post('/admin/phone/providers/smsru/resume', { contract: contract.id })).statusCode, 404);
  t.equal(await networkPaused(svc, network.id), true);
  const resumed = await client.post('/admin/phone/providers/smsru/resume', { contract: contract.id });
  t.equal(resumed.statusCode, 303);
  const after = await client.get(resumed.headers.location as string);
  t.match(after.body, /Отправка кодов возобновлена\./);
  t.notMatch(after.body, /приостановлены/);
  t.equal(await networkPaused(svc, network.id), false);
});

t.test('an issuer and another contract get 404; the page needs a session', async (t) => {
  const { app, svc } = await panelEnv(t);
  const contract = await makeContract(svc);
  const anon = new PanelClient(app);
  const res = await anon.get('/admin/phone');
  t.equal(res.statusCode, 303);
  const { makePanelUser } = await import('../helpers/panel.js');
  const issuer = await makePanelUser(svc, contract.id, { role: 'issuer' });
  const client = new PanelClient(app);
  await client.login(issuer.login);
  t.equal((await client.get('/admin/phone')).statusCode, 404);
  const other = await signedIn(app, svc, (await makeContract(svc)).id);
  t.equal((await other.client.get(`/admin/phone?contract=${contract.id}`)).statusCode, 404);
});

t.test('the network form shows the phone settings with labels in ru/en and saves them', async (t) => {
  const { app, svc } = await panelEnv(t);
  const contract = await makeContract(svc);
  const network = await makeNetwork(svc, contract.id);
  const { client } = await signedIn(app, svc, contract.id);
  const form = await client.get(`/admin/networks/${network.id}/edit`);
  t.match(form.body, /<legend>Способы подтверждения номера на портале <code>phoneMethods<\/code><\/legend>/);
  t.match(form.body, /<input id="f-generic-phoneMethods-sms" type="checkbox" name="s\.generic\.phoneMethods\.sms" value="on"> SMS с кодом <code>sms<\/code>/);
  t.match(form.body, /<select id="f-generic-phoneProvider" name="s\.generic\.phoneProvider"[^>]*><option value="" selected>— не выбран —<\/option><option value="smsru">SMS\.ru<\/option>/);
  t.match(form.body, /Срок идентификации по телефону, дней <code>phoneDays<\/code>/);
  t.match(form.body, /Коды стран через запятую, например RU, KZ/);
  const en = await client.get(`/admin/networks/${network.id}/edit?lang=en`);
  t.match(en.body, /Ways to confirm a number on the portal <code>phoneMethods<\/code>/);
  // Methods without a provider: refused with the reason.
  await client.get(`/admin/networks/${network.id}/edit?lang=ru`);
  const missing = await client.post(`/admin/networks/${network.id}`, { name: network.name, 's.generic.phoneMethods.sms': 'on' });
  t.equal(missing.statusCode, 400);
  t.match(textOf(missing.body, 'error'), /missing: phoneProvider/);
  t.match(missing.body, /name="s\.generic\.phoneMethods\.sms" value="on" checked/, 'the ticked box stays ticked');
  // A provider the contract has no account with, or a method it cannot do: refused with the reason.
  const unset = await client.post(`/admin/networks/${network.id}`, { name: network.name, 's.generic.phoneMethods.sms': 'on', 's.generic.phoneProvider': 'smsru' });
  t.equal(unset.statusCode, 422);
  t.equal(textOf(unset.body, 'error'), 'У договора ещё нет подключённого SMS.ru: сначала сохраните его на странице «Идентификация по телефону», затем телефонные настройки сети.');
  t.match(unset.body, /<option value="smsru" selected>/, 'the choice stays');
  const unable = await client.post(`/admin/networks/${network.id}`, { name: network.name, 's.generic.phoneMethods.callcheck': 'on', 's.generic.phoneProvider': 'twilio' });
  t.equal(unable.statusCode, 422);
  t.equal(textOf(unable.body, 'error'), 'Twilio Verify не умеет: Звонок гостя (call-check). Он предлагает: SMS с кодом.');
  const account = await client.post('/admin/phone/providers/smsru', { contract: contract.id, apiId: 'my-api-id' });
  t.equal(account.statusCode, 303, 'the provider is set up first, as README says');
  const saved = await client.post(`/admin/networks/${network.id}`, {
    name: network.name,
    's.generic.phoneMethods.callcheck': 'on',
    's.generic.phoneMethods.sms': 'on',
    's.generic.phoneProvider': 'smsru',
    's.generic.phoneDays': '7',
    's.generic.phoneCountries': 'ru, kz',
  });
  t.equal(saved.statusCode, 303);
  const row = await svc.db.query<{ settings: Record<string, unknown> }>('select settings from networks where id = $1', [network.id]);
  t.same(
    { m: row.rows[0].settings.phoneMethods, p: row.rows[0].settings.phoneProvider, d: row.rows[0].settings.phoneDays, c: row.rows[0].settings.phoneCountries },
    { m: ['callcheck', 'sms'], p: 'smsru', d: 7, c: ['RU', 'KZ'] },
  );
  const back = await client.get(`/admin/networks/${network.id}/edit`);
  t.match(back.body, /name="s\.generic\.phoneMethods\.callcheck" value="on" checked/);
  t.notMatch(back.body, /name="s\.generic\.phoneMethods\.flashcall" value="on" checked/);
  t.match(back.body, /<option value="smsru" selected>/);
  t.match(back.body, /name="s\.generic\.phoneCountries" type="text" value="RU, KZ"/);
  // Unticking every method turns phone sign-in off.
  await client.post(`/admin/networks/${network.id}`, { name: network.name, 's.generic.phoneProvider': 'smsru', 's.generic.phoneCountries': 'RU' });
  const off = await svc.db.query<{ settings: Record<string, unknown> }>('select settings from networks where id = $1', [network.id]);
  t.equal(off.rows[0].settings.phoneMethods, undefined);
  t.equal((await client.post(`/admin/networks/${network.id}`, { name: network.name, 's.generic.phoneCountries': 'R U!' })).statusCode, 400);

});

t.test("the sessions page and the log show a phone identification's number to the contract's operators only", async (t) => {
  const { app, svc } = await panelEnv(t, LOOPBACK_ALLOWED);
  const { contract, network, fake } = await phoneSite(t, { svc } as Parameters<typeof phoneSite>[1], 'smsru');
  const { startPhone, confirmPhone } = await import('../../src/domain/phone/identify.js');
  const step = await startPhone(svc, { network, mac: 'AA:BB:CC:00:00:77', ip: '10.0.0.1', phone: '8 912 777-66-55', method: 'flashcall', now: svc.now() });
  await confirmPhone(svc, { network, mac: 'AA:BB:CC:00:00:77', ip: '10.0.0.1', verificationId: step.verificationId, code: fake.sent.at(-1)!.code!, now: svc.now() });
  const { client } = await signedIn(app, svc, contract.id);
  for (const url of ['/admin/sessions', '/admin/log']) {
    const res = await client.get(url);
    t.match(res.body, /<td data-label="Токен" class="code">\+79127776655<\/td>/, `${url}: the number where a code would be`);
  }
  t.match((await client.get('/admin/log')).body, /<td data-label="Способ">Телефон: Звонок-сброс \(flash call\)<\/td>/, 'the log says how it was confirmed');
  const admin = await signedIn(app, svc, null);
  const res = await admin.client.get(`/admin/log?contract=${contract.id}`);
  t.match(res.body, /AA:BB:CC:00:00:77/, 'a system administrator sees the row');
  t.notMatch(res.body, /79127776655/, 'but not the number');
});
