import t from 'tap';
import { confirmPhone, startPhone } from '../../src/domain/phone/identify.js';
import { phoneCrypto } from '../../src/domain/phone/crypto.js';
import { phoneKeys } from '../../src/domain/phone/limits.js';
import { numberPrefix } from '../../src/domain/phone/number.js';
import type { Network } from '../../src/domain/networks.js';
import { appFor, call } from '../helpers/adminApi.js';
import { mac, makeUser } from '../helpers/factories.js';
import { flushCache, freshMobile, LOOPBACK_ALLOWED, phoneSite } from '../helpers/phone.js';
import { refusal } from '../helpers/refusal.js';
import { testEnv, type TestEnv } from '../helpers/services.js';

/* The abuse limits of issue 15 at the use-case level: counted in the cache, a refusal writes nothing to PostgreSQL. */

const IP = '198.51.100.9';
const start = (env: TestEnv, network: Network, device: string, phone: string, method = 'sms') =>
  startPhone(env.svc, { network, mac: device, ip: IP, phone, method, now: env.clock.now() });
const codeOf = (r: Awaited<ReturnType<typeof refusal>>) => `${r.status} ${r.code}`;

/** Rows a refusal must not have written: every table a start or an identification touches. */
async function pgWrites(env: TestEnv): Promise<number> {
  const { rows } = await env.svc.db.query<{ n: number }>(
    `select (select count(*) from identifications) + (select count(*) from phone_pauses) + (select count(*) from outbox) as n`,
  );
  return Number(rows[0].n);
}

t.test('60 s before a resend; 3 codes per number in 10 minutes (each after its wait)', async (t) => {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const { network, fake } = await phoneSite(t, env, 'smsru');
  const phone = freshMobile();
  const hash = phoneCrypto(env.svc.secret).lookupHash(phone);
  await start(env, network, mac(), phone);
  const wait = await refusal(start(env, network, mac(), phone));
  t.equal(codeOf(wait), '429 PHONE_RESEND_WAIT');
  t.ok((wait.details.seconds as number) > 50 && (wait.details.seconds as number) <= 60, 'with the seconds to wait');
  // The 60 s pass (the wait's counter lives in the cache; dropping it is what its expiry does).
  await env.svc.cache.del(phoneKeys.resend(hash));
  await start(env, network, mac(), phone);
  await env.svc.cache.del(phoneKeys.resend(hash));
  await start(env, network, mac(), phone);
  await env.svc.cache.del(phoneKeys.resend(hash));
  const before = await pgWrites(env);
  t.match(await refusal(start(env, network, mac(), phone)), { status: 429, code: 'PHONE_LIMIT_NUMBER', details: { minutes: 10 } });
  t.equal(fake.sent.length, 3, 'three SMS went out');
  t.equal(await pgWrites(env), before, 'the refusal wrote nothing to PostgreSQL');
  // An hour passes (the number's prefix is spent too): two more, then the day's 5 are spent.
  const prefix = phoneCrypto(env.svc.secret).lookupHash(numberPrefix(phone));
  for (let i = 0; i < 2; i++) {
    await env.svc.cache.del(phoneKeys.resend(hash), phoneKeys.numberTen(hash), phoneKeys.prefix(prefix));
    await start(env, network, mac(), phone);
  }
  await env.svc.cache.del(phoneKeys.resend(hash), phoneKeys.numberTen(hash), phoneKeys.prefix(prefix));
  const day = await refusal(start(env, network, mac(), phone));
  t.equal(codeOf(day), '429 PHONE_LIMIT_NUMBER');
  t.ok((day.details.minutes as number) > 1400, 'until the day\'s counter resets');
  t.equal(fake.sent.length, 5);
});

t.test('5 starts per device a day; 3 per prefix an hour', async (t) => {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const { network } = await phoneSite(t, env, 'smsru');
  const device = mac();
  for (let i = 0; i < 5; i++) await start(env, network, device, freshMobile(), 'callcheck');
  t.match(await refusal(start(env, network, device, freshMobile(), 'callcheck')), { status: 429, code: 'PHONE_LIMIT_DEVICE' });

  const prefix = '+7912555';
  for (const last of ['0001', '0002', '0003']) await start(env, network, mac(), prefix + last, 'callcheck');
  t.match(await refusal(start(env, network, mac(), `${prefix}0004`, 'callcheck')), { status: 429, code: 'PHONE_LIMIT_PREFIX' });
  t.equal((await start(env, network, mac(), '+79125560004', 'callcheck')).kind, 'call', 'another prefix is its own');
});

t.test('the network\'s hourly and the contract\'s daily budget of paid sends; a call-check is not paid', async (t) => {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const a = await phoneSite(t, env, 'smsru', { phoneBudgetHour: 2, phoneBudgetDay: 100 });
  await start(env, a.network, mac(), freshMobile(), 'sms');
  await start(env, a.network, mac(), freshMobile(), 'flashcall');
  t.match(await refusal(start(env, a.network, mac(), freshMobile(), 'sms')), { status: 429, code: 'PHONE_BUDGET_NETWORK' });
  t.equal((await start(env, a.network, mac(), freshMobile(), 'callcheck')).kind, 'call', 'a free call-check still goes');

  const b = await phoneSite(t, env, 'smsru', { phoneBudgetDay: 3 });
  const b2 = await phoneSite(t, env, 'smsru', { phoneBudgetDay: 3 }, b.contract.id);
  await start(env, b.network, mac(), freshMobile(), 'sms');
  await start(env, b2.network, mac(), freshMobile(), 'sms');
  await start(env, b.network, mac(), freshMobile(), 'sms');
  t.match(await refusal(start(env, b2.network, mac(), freshMobile(), 'sms')), { status: 429, code: 'PHONE_BUDGET_CONTRACT' }, 'counted over the contract\'s networks');
});

t.test('the pumping breaker pauses paid sends at < 30 % of 50 codes entered, survives a cache flush, and an operator resumes', async (t) => {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const { svc, clock } = env;
  const { network, fake, contract } = await phoneSite(t, env, 'smsru', { phoneBudgetHour: 1000 });
  // 50 flash calls, 14 of them entered: 28 % < 30 %.
  for (let i = 0; i < 50; i++) {
    const device = mac();
    const step = await start(env, network, device, freshMobile(), 'flashcall');
    if (i < 14) await confirmPhone(svc, { network, mac: device, ip: IP, verificationId: step.verificationId, code: fake.sent.at(-1)!.code!, now: clock.now() });
  }
  const before = await svc.db.query<{ sent: number; entered: number; provider: string }>(`select sent, entered, provider from phone_pauses where network_id = $1::uuid`, [network.id]);
  t.same(before.rows, [{ sent: 50, entered: 14, provider: 'smsru' }], 'written to PostgreSQL once, when it tripped');
  const sent = fake.sent.length;
  t.same(await refusal(start(env, network, mac(), freshMobile(), 'sms')), { status: 429, code: 'PHONE_PAUSED', details: { voucher: true } });
  t.equal(fake.sent.length, sent, 'nothing sent');
  t.equal((await start(env, network, mac(), freshMobile(), 'callcheck')).kind, 'call', 'a call-check costs nothing and still goes');

  await flushCache(env, [phoneKeys.paused(network.id)]);
  t.equal((await refusal(start(env, network, mac(), freshMobile(), 'sms'))).code, 'PHONE_PAUSED', 'still paused after the cache lost it');

  const operator = await makeUser(svc, contract.id);
  const app = await appFor(t, svc);
  const listed = (await call(app, operator.token, 'GET', `/api/v1/contracts/${contract.id}/phone-providers`)).json();
  t.match(listed.providers[0].paused, [{ networkId: network.id, sent: 50, entered: 14 }]);
  const resumed = await call(app, operator.token, 'POST', `/api/v1/contracts/${contract.id}/phone-providers/smsru/resume`);
  t.equal(resumed.statusCode, 200);
  t.same(resumed.json().resumed, [network.id]);
  t.same(resumed.json().paused, []);
  t.equal((await svc.db.query(`select 1 from phone_pauses`)).rows.length, 0);
  t.equal((await start(env, network, mac(), freshMobile(), 'sms')).kind, 'code', 'paid sends again');
});

t.test('wrong codes count in the portal\'s per-address limit: one address cannot guess across many numbers', async (t) => {
  const env = await testEnv(t, { ...LOOPBACK_ALLOWED, PORTAL_MAX_FAILS_PER_IP: '3' });
  const { svc, clock } = env;
  const { network, fake } = await phoneSite(t, env, 'smsru');
  const confirm = (device: string, verificationId: string, code: string) =>
    confirmPhone(svc, { network, mac: device, ip: IP, verificationId, code, now: clock.now() });
  const wrongFor = (code: string) => (code === '0000' ? '1111' : '0000');
  // Three devices, three numbers, one wrong code each: the address's 3 refused tries are spent.
  for (let i = 0; i < 3; i++) {
    const device = mac();
    const step = await start(env, network, device, freshMobile(), 'flashcall');
    t.equal((await refusal(confirm(device, step.verificationId, wrongFor(fake.sent.at(-1)!.code!)))).code, 'PHONE_CODE_WRONG');
  }
  const device = mac();
  const step = await start(env, network, device, freshMobile(), 'flashcall');
  const right = fake.sent.at(-1)!.code!;
  t.match(await refusal(confirm(device, step.verificationId, wrongFor(right))), { status: 429, code: 'PHONE_LIMIT_IP', details: { minutes: 10 } });
  t.match(await refusal(confirm(device, step.verificationId, right)), { status: 429, code: 'PHONE_LIMIT_IP' }, 'not even the right code is looked at');
  t.equal((await svc.db.query(`select 1 from identifications`)).rows.length, 0);

  // The window passes (its counter expires): the right code goes through and does not count.
  await svc.cache.del(`fails:ip:${IP}`);
  t.equal((await confirm(device, step.verificationId, right)).activation.identification.method, 'phone');
  const again = await svc.cache.hitAll([`fails:ip:${IP}`], 600);
  t.equal(again[0].count, 1, 'a granted try was taken back');
});
