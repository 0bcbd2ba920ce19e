import t from 'tap';
import { refusal } from '../../helpers/refusal.js';
import type { Test } from 'tap';
import { twilioProvider, twilioSignature } from '../../../src/phone/providers/twilio.js';
import { fakeTwilio } from '../../helpers/fake-providers.js';


async function setup(t: Test, timeoutMs?: number) {
  const fake = await fakeTwilio(t);
  const twilio = twilioProvider(
    { accountSid: fake.accountSid, authToken: fake.authToken, serviceSid: fake.serviceSid, apiUrl: fake.url },
    { timeoutMs },
  );
  return { fake, twilio };
}

t.test('the signature matches the documented algorithm (URL + sorted parameters, HMAC-SHA1, base64)', async (t) => {
  // Twilio's worked example: auth token 12345, these parameters, this URL.
  const params = { CallSid: 'CA1234567890ABCDE', Caller: '+12349013030', Digits: '1234', From: '+12349013030', To: '+18005551212' };
  t.equal(twilioSignature('12345', 'https://mycompany.com/myapp.php?foo=1&bar=2', Object.entries(params).reverse()), '0/KCTR6DLpKmkAf8muzZqo1nDgQ=');
});

t.test('SMS: Verify sends its own code; a wrong code is "wrong", the right one confirms once', async (t) => {
  const { fake, twilio } = await setup(t);
  const started = await twilio.start({ method: 'sms', phone: '+447400123456', lang: 'en' });
  t.match(started, { reference: /^VE[0-9a-f]{32}$/, checkedBy: 'provider' });
  t.same(fake.calls[0].form, { To: '+447400123456', Channel: 'sms', Locale: 'en' });
  t.equal(fake.calls[0].authorization, `Basic ${Buffer.from(`${fake.accountSid}:${fake.authToken}`).toString('base64')}`);
  t.equal(fake.calls[0].path, `/v2/Services/${fake.serviceSid}/Verifications`);
  const code = fake.sent[0].code;
  const wrong = code === '000000' ? '111111' : '000000';
  t.equal(await twilio.check(started.reference, wrong), 'wrong');
  t.same(fake.calls[1].form, { VerificationSid: started.reference, Code: wrong });
  t.equal(await twilio.check(started.reference, code), 'confirmed');
  t.equal(await twilio.check(started.reference, code), 'failed', 'an approved verification is gone (404)');
  await t.rejects(twilio.check(started.reference), /needs the code/);
  await t.rejects(twilio.check('cc:1', code), /not a Twilio verification sid/);
});

t.test('voice: the call channel; other methods are not Twilio\'s', async (t) => {
  const { fake, twilio } = await setup(t);
  await twilio.start({ method: 'voice', phone: '+79123456789', lang: 'ru' });
  t.same(fake.sent.map((s) => [s.channel, s.locale]), [['call', 'ru']]);
  t.same(twilio.methods, ['sms', 'voice']);
  await t.rejects(twilio.start({ method: 'callcheck', phone: '+79123456789' }), /no callcheck method/);
});

t.test('wrong credentials and a bad number are the provider refusing, with Twilio\'s error code', async (t) => {
  const { fake } = await setup(t);
  const wrongToken = twilioProvider({ accountSid: fake.accountSid, authToken: 'nope', serviceSid: fake.serviceSid, apiUrl: fake.url });
  t.same(await refusal(wrongToken.start({ method: 'sms', phone: '+79123456789' })), {
    status: 503, code: 'PHONE_PROVIDER_REFUSED', details: { provider: 'twilio', providerCode: 20003, status: 401 },
  });
  const right = twilioProvider({ accountSid: fake.accountSid, authToken: fake.authToken, serviceSid: fake.serviceSid, apiUrl: fake.url });
  t.same(await refusal(right.start({ method: 'sms', phone: '+7912' })), {
    status: 503, code: 'PHONE_PROVIDER_REFUSED', details: { provider: 'twilio', providerCode: 60200, status: 400 },
  });
  t.throws(() => twilioProvider({ accountSid: 'AC1', authToken: 'x', serviceSid: fake.serviceSid }), /accountSid is malformed/);
});

t.test('5xx and timeouts are "provider unavailable"', async (t) => {
  const { fake, twilio } = await setup(t, 300);
  fake.failNext = { status: 503 };
  t.match(await refusal(twilio.start({ method: 'sms', phone: '+79123456789' })), { status: 503, code: 'PHONE_PROVIDER_UNAVAILABLE', details: { status: 503 } });
  fake.hang = true;
  t.match(await refusal(twilio.check(`VE${'0'.repeat(32)}`, '123456')), { code: 'PHONE_PROVIDER_UNAVAILABLE' });
});

t.test('a Verify Events callback signed with the auth token is read; a wrong signature or body is refused', async (t) => {
  const { fake, twilio } = await setup(t);
  const sid = `VE${'c3'.repeat(16)}`;
  const good = fake.callback(sid, 'approved', 'https://kalitka.example/api/v1/phone/callbacks/twilio/c1');
  t.same(twilio.parseCallback(good), [{ reference: sid, outcome: 'confirmed' }]);
  t.same(twilio.parseCallback(fake.callback(sid, 'expired', 'https://kalitka.example/cb')), [{ reference: sid, outcome: 'failed' }]);
  const forged = fake.callback(sid, 'approved', 'https://kalitka.example/cb', 'another-token');
  t.throws(() => twilio.parseCallback(forged), { status: 403, code: 'CALLBACK_SIGNATURE_INVALID' });
  t.throws(() => twilio.parseCallback({ ...good, body: good.body.replace('approved', 'canceled') }), { code: 'CALLBACK_SIGNATURE_INVALID' }, 'the body hash no longer matches');
  t.throws(() => twilio.parseCallback({ ...good, url: good.url.replace('kalitka.example', 'evil.example') }), { code: 'CALLBACK_SIGNATURE_INVALID' }, 'signed for another URL');
  t.throws(() => twilio.parseCallback({ ...good, headers: { 'content-type': 'application/json' } }), { code: 'CALLBACK_SIGNATURE_INVALID' }, 'unsigned');
});

t.test('a form-encoded status callback is verified over URL + sorted parameters', async (t) => {
  const { fake, twilio } = await setup(t);
  const sid = `VE${'d4'.repeat(16)}`;
  const url = 'https://kalitka.example/api/v1/phone/callbacks/twilio/c1';
  const form = new URLSearchParams({ VerificationSid: sid, Status: 'approved', To: '+79123456789' });
  const headers = { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilioSignature(fake.authToken, url, form.entries()) };
  t.same(twilio.parseCallback({ url, headers, body: form.toString() }), [{ reference: sid, outcome: 'confirmed' }]);
  form.set('Status', 'canceled');
  t.throws(() => twilio.parseCallback({ url, headers, body: form.toString() }), { code: 'CALLBACK_SIGNATURE_INVALID' });
});
