import t from 'tap';
import { refusal } from '../../helpers/refusal.js';
import type { Test } from 'tap';
import { createProvider } from '../../../src/phone/providers/index.js';
import { fakeSmsc } from '../../helpers/fake-providers.js';


const TOKEN = 'cb-token-0123456789abcdef';

async function setup(t: Test, timeoutMs?: number) {
  const fake = await fakeSmsc(t);
  const smsc = createProvider(
    { provider: 'smsc', login: fake.login, password: fake.password, callbackToken: TOKEN, apiUrl: fake.url },
    { timeoutMs },
  );
  return { fake, smsc };
}

t.test('flash call: SMSC calls from a number ending in the code; Kalitka keeps its last 4 digits', async (t) => {
  const { fake, smsc } = await setup(t);
  const started = await smsc.start({ method: 'flashcall', phone: '+79123456789' });
  t.same(fake.calls[0].form, { login: 'kalitka', psw: 'smsc-password', fmt: '3', charset: 'utf-8', phones: '79123456789', mes: 'code', call: '1' });
  t.same(started, { reference: 'fc:1', checkedBy: 'kalitka', expectedCode: fake.sent[0].code });
});

t.test('SMS: our Cyrillic text, utf-8', async (t) => {
  const { fake, smsc } = await setup(t);
  t.same(await smsc.start({ method: 'sms', phone: '+79123456789', message: 'Код Wi-Fi: 123456' }), { reference: 'sms:1', checkedBy: 'kalitka' });
  t.same(fake.sent, [{ kind: 'sms', to: '79123456789', text: 'Код Wi-Fi: 123456' }]);
});

t.test('call-check: the guest is given a number; it stays pending until the handler hears the call', async (t) => {
  const { fake, smsc } = await setup(t);
  const started = await smsc.start({ method: 'callcheck', phone: '+79123456789' });
  t.same(started, { reference: 'wc:79123456789', checkedBy: 'provider', callNumber: '+74993220000' });
  t.equal(await smsc.check(started.reference), 'pending');
  const cb = fake.callback(`https://kalitka.example/api/v1/phone/callbacks/smsc/c1?token=${TOKEN}`, '79123456789');
  t.same(smsc.parseCallback(cb), [{ reference: 'wc:79123456789', outcome: 'confirmed' }]);
  t.same(smsc.callbackReply, { contentType: 'text/plain', body: 'OK' });
});

t.test('a handler post without our token, or with another, is refused', async (t) => {
  const { fake, smsc } = await setup(t);
  const base = 'https://kalitka.example/api/v1/phone/callbacks/smsc/c1';
  t.throws(() => smsc.parseCallback(fake.callback(base, '79123456789')), { status: 403, code: 'CALLBACK_SIGNATURE_INVALID' });
  t.throws(() => smsc.parseCallback(fake.callback(`${base}?token=${TOKEN.slice(0, -1)}x`, '79123456789')), { code: 'CALLBACK_SIGNATURE_INVALID' });
  t.throws(() => smsc.parseCallback(fake.callback(`${base}?token=${TOKEN}`, 'not-a-number')), { status: 400, code: 'CALLBACK_MALFORMED' });
});

t.test('a wrong password is SMSC refusing; 5xx and a hang are "unavailable"', async (t) => {
  const { fake, smsc } = await setup(t, 300);
  const wrong = createProvider({ provider: 'smsc', login: fake.login, password: 'nope', callbackToken: TOKEN, apiUrl: fake.url });
  t.same(await refusal(wrong.start({ method: 'sms', phone: '+79123456789', message: 'x' })), {
    status: 503, code: 'PHONE_PROVIDER_REFUSED', details: { provider: 'smsc', providerCode: 2 },
  });
  fake.failNext = { status: 500 };
  t.match(await refusal(smsc.start({ method: 'callcheck', phone: '+79123456789' })), { code: 'PHONE_PROVIDER_UNAVAILABLE', details: { status: 500 } });
  fake.hang = true;
  t.match(await refusal(smsc.start({ method: 'flashcall', phone: '+79123456789' })), { code: 'PHONE_PROVIDER_UNAVAILABLE' });
  t.same(fake.sent, []);
});
