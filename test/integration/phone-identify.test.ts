import t from 'tap';
import { sessionState } from '../../src/domain/sessions.js';
import { confirmPhone, phoneCallback, pollPhone, startPhone, type PhoneStep } from '../../src/domain/phone/identify.js';
import { phoneCrypto } from '../../src/domain/phone/crypto.js';
import { phoneKeys } from '../../src/domain/phone/limits.js';
import { saveProviderSettings } from '../../src/domain/phone/providerSettings.js';
import type { Network } from '../../src/domain/networks.js';
import { deliver } from '../helpers/fake-providers.js';
import { mac, operatorOf } from '../helpers/factories.js';
import { freshMobile, LOOPBACK_ALLOWED, phoneSite } from '../helpers/phone.js';
import { refusal } from '../helpers/refusal.js';
import { testEnv } from '../helpers/services.js';
import { appFor } from '../helpers/adminApi.js';
import { createServer, type AddressInfo } from 'node:net';

/* Each method through each provider's fake (on loopback, opened by KALITKA_OUTBOUND_ALLOW), at the use-case level and over HTTP. */

const IP = '198.51.100.7';

async function liveRow(env: { svc: { db: { query: Function } } }, m: string) {
  const { rows } = await (env.svc.db as { query: (s: string, p: unknown[]) => Promise<{ rows: Array<Record<string, unknown>> }> }).query(
    `select * from identifications where mac = $1::text and ended_at is null`,
    [m],
  );
  return rows[0] ?? null;
}

function start(env: Awaited<ReturnType<typeof testEnv>>, network: Network, device: string, phone: string, method: string) {
  return startPhone(env.svc, { network, mac: device, ip: IP, phone, method, now: env.clock.now() });
}

t.test('sms.ru call-check by polling: the number to call, pending until the guest calls, then an identification like a token\'s', async (t) => {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const { svc, clock } = env;
  const { network, fake } = await phoneSite(t, env, 'smsru');
  const device = mac();
  const phone = freshMobile();
  const step = await start(env, network, device, phone.replace('+7', '8 '), 'callcheck');
  t.equal(step.kind, 'call');
  t.equal((step as Extract<PhoneStep, { kind: 'call' }>).callNumber, '+78005008275', 'the number sms.ru gave, in E.164');
  t.match(step.verificationId, /^[A-Za-z0-9_-]{22}$/);
  t.same(fake.calls.map((c) => [c.path, c.form.phone]), [['/callcheck/add', phone.slice(1)]], 'sms.ru was asked with the digits of the normalised number');

  t.same(await pollPhone(svc, { network, mac: device, verificationId: step.verificationId, now: clock.now() }), { kind: 'pending' });
  t.equal(await liveRow(env, device), null, 'nothing in PostgreSQL while pending');
  t.same(await refusal(pollPhone(svc, { network, mac: mac(), verificationId: step.verificationId, now: clock.now() })), {
    status: 403, code: 'PHONE_CALL_NOT_RECEIVED', details: {},
  }, 'another device cannot poll this verification');

  fake.guestCalls([...fake.checks.keys()][0]);
  const polled = await pollPhone(svc, { network, mac: device, verificationId: step.verificationId, now: clock.now() });
  if (polled.kind !== 'granted') throw new Error('not granted');
  const i = polled.activation.identification;
  t.equal(polled.activation.token, null);
  t.equal(polled.activation.existing, false);
  t.same([i.method, i.token_id, i.code, i.mac, i.network_id], ['phone', null, null, device, network.id]);
  t.equal(i.expires_at?.getTime(), clock.now().getTime() + 86_400_000, 'phoneDays 1: a day from the start');
  const row = await liveRow(env, device);
  t.equal(row!.phone_provider, 'smsru');
  t.match(row!.phone_reference as string, /^cc:\d+-\d+$/);
  t.equal(row!.phone_method, 'callcheck');
  t.not(row!.phone_sealed, phone, 'the number is not kept in clear');
  t.equal(phoneCrypto(svc.secret).open(row!.phone_sealed as string, `identification:${network.contractId}`), phone);

  const state = await sessionState(svc, { networkId: network.id, mac: device, now: clock.now() });
  t.same([state.authorized, state.tokenId, state.code, state.secondsRemaining], [true, null, null, 86_400]);
  t.same(await refusal(pollPhone(svc, { network, mac: device, verificationId: step.verificationId, now: clock.now() })), {
    status: 403, code: 'PHONE_CALL_NOT_RECEIVED', details: {},
  }, 'the verification is used up');
});

t.test('sms.ru call-check by signed callback: a wrongly signed one changes nothing, a right one lets the next poll grant', async (t) => {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const { svc, clock } = env;
  const { network, fake, contract } = await phoneSite(t, env, 'smsru');
  const app = await appFor(t, svc);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const device = mac();
  const step = await start(env, network, device, freshMobile(), 'callcheck');
  const checkId = [...fake.checks.keys()][0];
  const url = `${base}/api/v1/phone/callbacks/smsru/${contract.id}`;

  const forged = await deliver(url, fake.callback([{ checkId, status: '401' }], 'not-the-api-id'));
  t.equal(forged.status, 403);
  t.equal(JSON.parse(forged.body).error.code, 'CALLBACK_SIGNATURE_INVALID');
  t.same(await pollPhone(svc, { network, mac: device, verificationId: step.verificationId, now: clock.now() }), { kind: 'pending' }, 'still pending');

  const other = await deliver(`${base}/api/v1/phone/callbacks/smsru/00000000-0000-4000-8000-000000000000`, fake.callback([{ checkId, status: '401' }]));
  t.equal(other.status, 404, 'a contract with no sms.ru account');

  const signed = await deliver(url, fake.callback([{ checkId, status: '401' }]));
  t.same(signed, { status: 200, body: '100' }, 'sms.ru is answered "100"');
  const statusCalls = fake.calls.filter((c) => c.path === '/callcheck/status').length;
  const polled = await pollPhone(svc, { network, mac: device, verificationId: step.verificationId, now: clock.now() });
  t.equal(polled.kind, 'granted', 'the fake still says 400 (waiting): only the callback confirmed it');
  t.equal(fake.calls.filter((c) => c.path === '/callcheck/status').length, statusCalls, 'no status query after the callback');
});

t.test('sms.ru flash call: the caller number\'s last 4 digits; SMS: five wrong codes end it', async (t) => {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const { svc, clock } = env;
  const { network, fake } = await phoneSite(t, env, 'smsru');
  const d1 = mac();
  const flash = await start(env, network, d1, freshMobile(), 'flashcall');
  t.match(flash, { kind: 'code', method: 'flashcall', digits: 4 });
  t.equal(fake.calls.at(-1)!.form.ip, IP, 'the guest\'s address goes to sms.ru');
  const code = fake.sent.at(-1)!.code!;
  const wrong = code === '0000' ? '1111' : '0000';
  t.same(await refusal(confirmPhone(svc, { network, mac: d1, ip: IP, verificationId: flash.verificationId, code: wrong, now: clock.now() })), {
    status: 403, code: 'PHONE_CODE_WRONG', details: { triesLeft: 4 },
  });
  const granted = await confirmPhone(svc, { network, mac: d1, ip: IP, verificationId: flash.verificationId, code, now: clock.now() });
  t.equal(granted.activation.identification.method, 'phone');

  const d2 = mac();
  const sms = await start(env, network, d2, freshMobile(), 'sms');
  t.match(sms, { kind: 'code', method: 'sms', digits: 6 });
  const text = fake.sent.at(-1)!.text!;
  const smsCode = /(\d{6})/.exec(text)![1];
  t.match(text, /код/i, 'the Russian text by default');
  const bad = smsCode === '000000' ? '111111' : '000000';
  for (let left = 4; left >= 1; left--) {
    t.same(await refusal(confirmPhone(svc, { network, mac: d2, ip: IP, verificationId: sms.verificationId, code: bad, now: clock.now() })), {
      status: 403, code: 'PHONE_CODE_WRONG', details: { triesLeft: left },
    });
  }
  t.same(await refusal(confirmPhone(svc, { network, mac: d2, ip: IP, verificationId: sms.verificationId, code: bad, now: clock.now() })), {
    status: 403, code: 'PHONE_CODE_EXHAUSTED', details: {},
  }, 'the fifth wrong code ends it');
  t.equal((await refusal(confirmPhone(svc, { network, mac: d2, ip: IP, verificationId: sms.verificationId, code: smsCode, now: clock.now() }))).code,
    'PHONE_CODE_EXPIRED', 'the right code no longer works');
  t.equal(await liveRow(env, d2), null);
});

t.test('Twilio Verify SMS: Twilio checks the code; five wrong codes end it on our side too', async (t) => {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const { svc, clock } = env;
  const { network, fake } = await phoneSite(t, env, 'twilio');
  const d1 = mac();
  const phone = freshMobile();
  const step = await startPhone(svc, { network, mac: d1, ip: IP, phone, method: 'sms', now: clock.now(), lang: 'en' });
  t.match(step, { kind: 'code', method: 'sms', digits: 6 });
  t.same(fake.sent.at(-1), { to: phone, channel: 'sms', code: fake.sent.at(-1)!.code, locale: 'en' });
  t.same(await refusal(startPhone(svc, { network, mac: d1, ip: IP, phone: freshMobile(), method: 'flashcall', now: clock.now() })), {
    status: 403, code: 'PHONE_METHOD_NOT_ALLOWED', details: { methods: ['sms'] },
  });
  const code = fake.sent.at(-1)!.code;
  const granted = await confirmPhone(svc, { network, mac: d1, ip: IP, verificationId: step.verificationId, code, now: clock.now() });
  t.match((await liveRow(env, d1))!, { phone_provider: 'twilio', phone_reference: /^VE[0-9a-f]{32}$/ });
  t.equal(granted.activation.identification.method, 'phone');

  const d2 = mac();
  const s2 = await start(env, network, d2, freshMobile(), 'sms');
  const right = fake.sent.at(-1)!.code;
  const bad = right === '000000' ? '111111' : '000000';
  const answers = [];
  for (let i = 0; i < 5; i++) answers.push((await refusal(confirmPhone(svc, { network, mac: d2, ip: IP, verificationId: s2.verificationId, code: bad, now: clock.now() }))).code);
  t.same(answers, ['PHONE_CODE_WRONG', 'PHONE_CODE_WRONG', 'PHONE_CODE_WRONG', 'PHONE_CODE_WRONG', 'PHONE_CODE_EXHAUSTED']);
  t.equal((await refusal(confirmPhone(svc, { network, mac: d2, ip: IP, verificationId: s2.verificationId, code: right, now: clock.now() }))).code, 'PHONE_CODE_EXPIRED');
});

t.test('Twilio callbacks are checked against the contract\'s auth token', async (t) => {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const { svc, clock } = env;
  const { network, fake, contract } = await phoneSite(t, env, 'twilio');
  await start(env, network, mac(), freshMobile(), 'sms');
  const sid = [...fake.verifications.keys()][0];
  const url = `https://kalitka.example/api/v1/phone/callbacks/twilio/${contract.id}`;
  t.same(await refusal(phoneCallback(svc, { provider: 'twilio', contractId: contract.id, request: fake.callback(sid, 'approved', url, 'wrong-token'), now: clock.now() })), {
    status: 403, code: 'CALLBACK_SIGNATURE_INVALID', details: {},
  });
  t.same(await phoneCallback(svc, { provider: 'twilio', contractId: contract.id, request: fake.callback(sid, 'approved', url), now: clock.now() }), {
    contentType: 'text/plain', body: '',
  });
});

t.test('SMSC: flash call, SMS, and a call-check confirmed by the handler URL\'s token', async (t) => {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const { svc, clock } = env;
  const { network, fake, contract, callbackToken } = await phoneSite(t, env, 'smsc');
  t.match(callbackToken, /^[A-Za-z0-9_-]{32}$/);

  const d1 = mac();
  const flash = await start(env, network, d1, freshMobile(), 'flashcall');
  t.equal((await confirmPhone(svc, { network, mac: d1, ip: IP, verificationId: flash.verificationId, code: fake.sent.at(-1)!.code!, now: clock.now() })).kind, 'granted');

  const d2 = mac();
  const sms = await start(env, network, d2, freshMobile(), 'sms');
  const code = /(\d{6})/.exec(fake.sent.at(-1)!.text!)![1];
  t.equal((await confirmPhone(svc, { network, mac: d2, ip: IP, verificationId: sms.verificationId, code: ` ${code.slice(0, 3)}-${code.slice(3)} `, now: clock.now() })).kind, 'granted', 'spaces and dashes are ignored');

  const d3 = mac();
  const phone = freshMobile();
  const call = await start(env, network, d3, phone, 'callcheck');
  t.match(call, { kind: 'call', callNumber: '+74993220000' });
  const base = `https://kalitka.example/api/v1/phone/callbacks/smsc/${contract.id}`;
  t.equal((await refusal(phoneCallback(svc, { provider: 'smsc', contractId: contract.id, request: fake.callback(`${base}?token=guess`, phone.slice(1)), now: clock.now() }))).code, 'CALLBACK_SIGNATURE_INVALID');
  t.same(await pollPhone(svc, { network, mac: d3, verificationId: call.verificationId, now: clock.now() }), { kind: 'pending' });
  await phoneCallback(svc, { provider: 'smsc', contractId: contract.id, request: fake.callback(`${base}?token=${callbackToken}`, phone.slice(1)), now: clock.now() });
  t.equal((await pollPhone(svc, { network, mac: d3, verificationId: call.verificationId, now: clock.now() })).kind, 'granted');
});

t.test("SMSC reports a call by the caller's number: while two devices wait for a call from one number, the call lets neither in", async (t) => {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const { svc, clock } = env;
  const { network, fake, contract, callbackToken } = await phoneSite(t, env, 'smsc');
  const url = `https://kalitka.example/api/v1/phone/callbacks/smsc/${contract.id}?token=${callbackToken}`;
  const calls = (phone: string) => phoneCallback(svc, { provider: 'smsc', contractId: contract.id, request: fake.callback(url, phone.slice(1)), now: clock.now() });
  const poll = (device: string, step: PhoneStep) => pollPhone(svc, { network, mac: device, verificationId: step.verificationId, now: clock.now() });
  // A minute passes: the resend wait's counter lives in the cache, and dropping it is what its expiry does.
  const minute = (phone: string) => {
    clock.advance(61_000);
    return svc.cache.del(phoneKeys.resend(phoneCrypto(svc.secret).lookupHash(phone)));
  };

  // The owner waits for their call; a minute later another device names the same number.
  const phone = freshMobile();
  const owner = mac();
  const ownerStep = await start(env, network, owner, phone, 'callcheck');
  await minute(phone);
  const other = mac();
  const otherStep = await start(env, network, other, phone, 'callcheck');
  await calls(phone);
  t.same(await poll(other, otherStep), { kind: 'pending' }, 'the later device is not let in on the owner\'s call');
  t.same(await poll(owner, ownerStep), { kind: 'pending' }, 'nor the owner: which device called cannot be told');
  t.equal(await liveRow(env, other), null);

  // One device asking again for its own number is no such doubt: its call lets it in.
  const alone = freshMobile();
  const device = mac();
  await start(env, network, device, alone, 'callcheck');
  await minute(alone);
  const again = await start(env, network, device, alone, 'callcheck');
  await calls(alone);
  t.equal((await poll(device, again)).kind, 'granted');
});

t.test('a foreign number is sent to the voucher path; a landline and a method the network lacks are refused', async (t) => {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const { network, fake } = await phoneSite(t, env, 'smsru', { phoneMethods: ['callcheck', 'sms'] });
  t.same(await refusal(start(env, network, mac(), '+380 50 123 4567', 'sms')), {
    status: 403, code: 'PHONE_COUNTRY_NOT_ALLOWED', details: { country: 'UA', voucher: true },
  });
  t.same(await refusal(start(env, network, mac(), '+7 495 123-45-67', 'sms')), { status: 403, code: 'PHONE_NOT_MOBILE', details: { voucher: true } });
  t.equal((await refusal(start(env, network, mac(), '12', 'sms'))).status, 400);
  t.same(await refusal(start(env, network, mac(), freshMobile(), 'flashcall')), {
    status: 403, code: 'PHONE_METHOD_NOT_ALLOWED', details: { methods: ['callcheck', 'sms'] },
  });
  t.equal(fake.calls.length, 0, 'sms.ru was never asked');
  const kz = await phoneSite(t, env, 'smsru', { phoneCountries: ['RU', 'KZ'] });
  t.equal((await start(env, kz.network, mac(), '+7 701 123 4567', 'callcheck')).kind, 'call', 'a network that accepts Kazakhstan');
});

t.test('a provider answering 5xx is a 503 "try another method" and the send is not counted; one timing out is a 503 within the timeout', async (t) => {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const { network, fake } = await phoneSite(t, env, 'smsru');
  const phone = freshMobile();
  const device = mac();
  fake.failNext = { status: 502 };
  t.match(await refusal(start(env, network, device, phone, 'sms')), { status: 503, code: 'PHONE_PROVIDER_UNAVAILABLE' });
  t.equal((await start(env, network, device, phone, 'sms')).kind, 'code', 'no resend wait: the failed send did not count');
  fake.hang = true;
  const began = Date.now();
  t.match(await refusal(start(env, network, mac(), freshMobile(), 'callcheck')), { status: 503, code: 'PHONE_PROVIDER_UNAVAILABLE' });
  t.ok(Date.now() - began < 8000, 'within the adapter\'s timeout');
  fake.hang = false;
});

t.test('a provider that did not answer in time may have sent: that start keeps its count, so a slow provider does not make sends free', async (t) => {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const { network, fake } = await phoneSite(t, env, 'smsru', { phoneBudgetHour: 1 });
  const phone = freshMobile();
  fake.hang = true;
  t.match(await refusal(start(env, network, mac(), phone, 'sms')), { status: 503, code: 'PHONE_PROVIDER_UNAVAILABLE', details: { cause: 'timeout' } });
  fake.hang = false;
  t.match(await refusal(start(env, network, mac(), phone, 'sms')), { status: 429, code: 'PHONE_RESEND_WAIT' }, 'the number waits as after a send');
  t.match(await refusal(start(env, network, mac(), freshMobile(), 'sms')), { status: 429, code: 'PHONE_BUDGET_NETWORK' }, "and the network's budget paid for it");
});

t.test('a provider that cut the connection or answered what is not JSON may have sent: the start keeps its count; one that could not be connected to gives it back', async (t) => {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const { network, fake } = await phoneSite(t, env, 'smsru');
  const cutPhone = freshMobile();
  fake.cut = true;
  t.match(await refusal(start(env, network, mac(), cutPhone, 'sms')), { status: 503, code: 'PHONE_PROVIDER_UNAVAILABLE', details: { cause: 'connection', mayHaveSent: true } });
  fake.cut = false;
  t.match(await refusal(start(env, network, mac(), cutPhone, 'sms')), { status: 429, code: 'PHONE_RESEND_WAIT' }, 'a cut connection counts as a send');
  const garbledPhone = freshMobile();
  fake.failNext = { status: 200, body: '<html>OK</html>' };
  t.match(await refusal(start(env, network, mac(), garbledPhone, 'sms')), { status: 503, code: 'PHONE_PROVIDER_UNAVAILABLE', details: { mayHaveSent: true } });
  t.match(await refusal(start(env, network, mac(), garbledPhone, 'sms')), { status: 429, code: 'PHONE_RESEND_WAIT' }, 'so does an answer that could not be read');

  // A port nothing listens on: the request never left, so the send is given back.
  const closed = await new Promise<number>((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
  await saveProviderSettings(env.svc, operatorOf(network.contractId), network.contractId, 'smsru', { apiUrl: `http://127.0.0.1:${closed}`, apiId: fake.apiId }, env.clock.now());
  const phone = freshMobile();
  const device = mac();
  t.match(await refusal(start(env, network, device, phone, 'sms')), { status: 503, code: 'PHONE_PROVIDER_UNAVAILABLE', details: { cause: 'connection', mayHaveSent: false } });
  t.match(await refusal(start(env, network, device, phone, 'sms')), { status: 503, code: 'PHONE_PROVIDER_UNAVAILABLE' }, 'no resend wait: nothing was sent');
});

t.test('a script polling a call-check cannot make Kalitka query the provider more than 120 times', async (t) => {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const { network, fake } = await phoneSite(t, env, 'smsru');
  const device = mac();
  const step = await start(env, network, device, freshMobile(), 'callcheck');
  const poll = () => pollPhone(env.svc, { network, mac: device, verificationId: step.verificationId, now: env.clock.now() });
  for (let i = 0; i < 121; i++) await poll();
  t.equal(fake.calls.filter((c) => c.path === '/callcheck/status').length, 120);
  fake.guestCalls([...fake.checks.keys()][0]);
  t.same(await poll(), { kind: 'pending' }, 'past the cap the answer is pending without asking');
});

t.test('input of any shape is a refusal, never a crash; racing polls of one confirmed call-check make one identification', async (t) => {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const { svc, clock } = env;
  const { network, fake } = await phoneSite(t, env, 'smsru');
  const odd = [['+7912'], { n: 1 }, 79123456789, null, '\u0000', '+7 912 345 67 89'.repeat(5)] as unknown as string[];
  for (const phone of odd) t.equal((await refusal(start(env, network, mac(), phone, 'sms'))).code, 'PHONE_INVALID');
  const device = mac();
  const sms = await start(env, network, device, freshMobile(), 'sms');
  for (const code of [['1'], { a: 1 }, 123456, null] as unknown as string[]) {
    t.equal((await refusal(confirmPhone(svc, { network, mac: device, ip: IP, verificationId: sms.verificationId, code, now: clock.now() }))).code, 'PHONE_CODE_WRONG');
  }
  t.equal((await refusal(pollPhone(svc, { network, mac: device, verificationId: { x: 1 } as unknown as string, now: clock.now() }))).code, 'PHONE_CALL_NOT_RECEIVED');

  const caller = mac();
  const step = await start(env, network, caller, freshMobile(), 'callcheck');
  fake.guestCalls([...fake.checks.keys()].at(-1)!);
  const others = [svc, await env.another(), await env.another()];
  const results = await Promise.all(
    Array.from({ length: 9 }, (_, i) => pollPhone(others[i % 3], { network, mac: caller, verificationId: step.verificationId, now: clock.now() }).then(
      (r) => (r.kind === 'granted' ? `granted ${r.activation.identification.id}` : r.kind),
      (err: { code?: string }) => err.code ?? 'error',
    )),
  );
  const granted = results.filter((r) => r.startsWith('granted'));
  t.ok(granted.length >= 1, `${results.join(', ')}`);
  t.equal(new Set(granted).size, 1, 'every granted poll got the same identification');
  t.ok(results.every((r) => r.startsWith('granted') || r === 'PHONE_CALL_NOT_RECEIVED'), 'the others found it used');
  const { rows } = await svc.db.query(`select id from identifications where mac = $1::text`, [caller]);
  t.equal(rows.length, 1);
});
