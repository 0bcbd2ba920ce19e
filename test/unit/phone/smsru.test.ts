import t from 'tap';
import { refusal } from '../../helpers/refusal.js';
import { smsRuProvider } from '../../../src/phone/providers/smsru.js';
import { fakeSmsRu } from '../../helpers/fake-providers.js';


t.test('call-check: the guest is given the number to call, pending until sms.ru sees the call', async (t) => {
  const fake = await fakeSmsRu(t);
  const sms = smsRuProvider({ apiId: fake.apiId, apiUrl: fake.url });
  const started = await sms.start({ method: 'callcheck', phone: '+79123456789' });
  const checkId = [...fake.checks.keys()][0];
  t.same(started, { reference: `cc:${checkId}`, checkedBy: 'provider', callNumber: '+78005008275' });
  t.same(fake.calls[0], {
    path: '/callcheck/add', form: { api_id: fake.apiId, json: '1', phone: '79123456789' }, authorization: null, status: 200,
  }, 'api_id travels in the form body, never the URL');
  t.equal(await sms.check(started.reference), 'pending');
  fake.guestCalls(checkId);
  t.equal(await sms.check(started.reference), 'confirmed');
  fake.expire(checkId);
  t.equal(await sms.check(started.reference), 'failed');
  t.equal(await sms.check('cc:000-000'), 'failed', 'an unknown check_id is 402 at sms.ru');
  await t.rejects(sms.check('sms:1'), /only call-checks/);
});

t.test('flash call: sms.ru calls, Kalitka keeps the 4 digits; the guest IP is passed on', async (t) => {
  const fake = await fakeSmsRu(t);
  const sms = smsRuProvider({ apiId: fake.apiId, apiUrl: fake.url });
  const started = await sms.start({ method: 'flashcall', phone: '+79123456789', clientIp: '10.0.0.7' });
  t.equal(fake.sent.length, 1);
  t.same(fake.sent[0], { kind: 'flashcall', to: '79123456789', code: started.expectedCode, ip: '10.0.0.7' });
  t.match(started, { reference: /^fc:000000-\d+$/, checkedBy: 'kalitka', expectedCode: /^\d{4}$/, cost: 0.4 });
});

t.test('SMS: our text goes to the guest, with the guest IP', async (t) => {
  const fake = await fakeSmsRu(t);
  const sms = smsRuProvider({ apiId: fake.apiId, apiUrl: fake.url });
  const started = await sms.start({ method: 'sms', phone: '+79123456789', message: 'Код Wi-Fi: 123456', clientIp: '10.0.0.7' });
  t.match(started, { reference: /^sms:000000-\d+$/, checkedBy: 'kalitka' });
  t.same(fake.sent, [{ kind: 'sms', to: '79123456789', text: 'Код Wi-Fi: 123456', ip: '10.0.0.7' }]);
  await t.rejects(sms.start({ method: 'sms', phone: '+79123456789' }), /needs a message/);
  await t.rejects(sms.start({ method: 'voice', phone: '+79123456789' }), /no voice method/);
});

t.test('a wrong api_id is the provider refusing, with its status code', async (t) => {
  const fake = await fakeSmsRu(t);
  const sms = smsRuProvider({ apiId: 'WRONG', apiUrl: fake.url });
  t.same(await refusal(sms.start({ method: 'callcheck', phone: '+79123456789' })), {
    status: 503, code: 'PHONE_PROVIDER_REFUSED', details: { provider: 'smsru', providerCode: 200 },
  });
});

t.test('a 5xx, a non-JSON answer, a refused connection and a timeout are all "provider unavailable"', async (t) => {
  const fake = await fakeSmsRu(t);
  const sms = smsRuProvider({ apiId: fake.apiId, apiUrl: fake.url }, { timeoutMs: 300 });
  fake.failNext = { status: 502 };
  t.same(await refusal(sms.start({ method: 'sms', phone: '+79123456789', message: 'x' })), {
    status: 503, code: 'PHONE_PROVIDER_UNAVAILABLE', details: { provider: 'smsru', status: 502 },
  });
  t.same(fake.sent, [], 'nothing was sent');
  fake.failNext = { status: 200, body: '<html>maintenance</html>' };
  t.match(await refusal(sms.start({ method: 'callcheck', phone: '+79123456789' })), { code: 'PHONE_PROVIDER_UNAVAILABLE' });
  fake.hang = true;
  const began = Date.now();
  t.match(await refusal(sms.check('cc:1-1')), { status: 503, code: 'PHONE_PROVIDER_UNAVAILABLE', details: { provider: 'smsru', cause: 'timeout', reason: /^no answer within / } });
  t.ok(Date.now() - began < 3000, 'the timeout bounds the wait');
  const closed = smsRuProvider({ apiId: fake.apiId, apiUrl: 'http://127.0.0.1:1' });
  t.match(await refusal(closed.start({ method: 'callcheck', phone: '+79123456789' })), {
    code: 'PHONE_PROVIDER_UNAVAILABLE', details: { cause: 'connection', reason: 'the connection failed (ECONNREFUSED)' },
  });
});

t.test('a callback signed with the api_id is read; a wrongly signed or unsigned one is refused', async (t) => {
  const fake = await fakeSmsRu(t);
  const sms = smsRuProvider({ apiId: fake.apiId, apiUrl: fake.url });
  const good = fake.callback([{ checkId: '201738-101', status: '401' }, { checkId: '201739-102', status: '402' }]);
  t.same(sms.parseCallback(good), [
    { reference: 'cc:201738-101', outcome: 'confirmed' },
    { reference: 'cc:201739-102', outcome: 'failed' },
  ]);
  t.same(sms.callbackReply, { contentType: 'text/plain', body: '100' });
  const forged = fake.callback([{ checkId: '201738-101', status: '401' }], 'SOMEONE-ELSES-API-ID');
  t.throws(() => sms.parseCallback(forged), { status: 403, code: 'CALLBACK_SIGNATURE_INVALID' });
  const altered = { ...good, body: good.body.replace('201738-101', '201738-999') };
  t.throws(() => sms.parseCallback(altered), { status: 403, code: 'CALLBACK_SIGNATURE_INVALID' }, 'a changed entry breaks the hash');
  const unsigned = { ...good, body: new URLSearchParams([...new URLSearchParams(good.body)].filter(([k]) => k !== 'hash')).toString() };
  t.throws(() => sms.parseCallback(unsigned), { status: 403, code: 'CALLBACK_SIGNATURE_INVALID' });
  t.throws(() => sms.parseCallback({ ...good, body: `hash=${'0'.repeat(63)}x` }), { code: 'CALLBACK_SIGNATURE_INVALID' });
});
