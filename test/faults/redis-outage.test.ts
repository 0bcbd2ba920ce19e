import t from 'tap';
import { activateToken } from '../../src/domain/activation.js';
import { countPortalTry } from '../../src/domain/limits.js';
import { sessionState } from '../../src/domain/sessions.js';
import { annulToken } from '../../src/domain/tokens.js';
import { makeSite, makeToken, mac, operatorOf } from '../helpers/factories.js';
import { freePort } from '../helpers/process.js';
import { privateRedis } from '../helpers/redis-server.js';
import { testEnv } from '../helpers/services.js';
import { startPhone } from '../../src/domain/phone/identify.js';
import { freshMobile, LOOPBACK_ALLOWED, phoneSite } from '../helpers/phone.js';
import { refusal } from '../helpers/refusal.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('Redis flushed: nothing is lost, live sessions stay authorised and the cache refills', async (t) => {
  const redis = await privateRedis(t, freePort());
  const env = await testEnv(t, { REDIS_URL: redis.url, KALITKA_REDIS_PREFIX: 'flush:' });
  const { contract, network } = await makeSite(env.svc);
  const tok = await makeToken(env.svc, contract.id, { durationDays: null });
  await activateToken(env.svc, { networkId: network.id, mac: mac(1), code: tok.code, now: env.clock.now() });
  t.ok(await redis.client.get(`flush:session:${mac(1)}`), 'written through');
  await redis.client.flushall();
  const state = await sessionState(env.svc, { networkId: network.id, mac: mac(1), now: env.clock.now() });
  t.equal(state.authorized, true, 'read back from Postgres');
  t.match(await redis.client.get(`flush:session:${mac(1)}`), /"tokenId"/, 'refilled');
});

t.test('Redis stopped: the portal works from Postgres, limits degrade to this instance, and no stale "authorised" survives its return', async (t) => {
  const redis = await privateRedis(t, freePort());
  const env = await testEnv(t, { REDIS_URL: redis.url, KALITKA_REDIS_PREFIX: 'outage:' });
  const a = env.svc;
  const b = await env.another();
  const { contract, network } = await makeSite(a);
  const annulled = await makeToken(a, contract.id, { durationDays: null });
  const fresh = await makeToken(a, contract.id, { durationDays: null });
  await activateToken(a, { networkId: network.id, mac: mac(1), code: annulled.code, now: env.clock.now() });
  t.equal((await sessionState(b, { networkId: network.id, mac: mac(1), now: env.clock.now() })).authorized, true);
  t.match(await redis.client.get(`outage:session:${mac(1)}`), /"tokenId"/, 'cached as authorised');

  redis.pause();
  const started = Date.now();
  await annulToken(a, operatorOf(contract.id), { tokenId: annulled.id, now: env.clock.now() });
  t.equal((await sessionState(a, { networkId: network.id, mac: mac(1), now: env.clock.now() })).authorized, false, 'the annul is seen at once, from Postgres');
  const activated = await activateToken(a, { networkId: network.id, mac: mac(2), code: fresh.code, now: env.clock.now() });
  t.equal(activated.token.status, 'active', 'activation keeps working without Redis');
  t.equal((await sessionState(a, { networkId: network.id, mac: mac(2), now: env.clock.now() })).authorized, true);
  for (let i = 0; i < 5; i++) t.equal((await countPortalTry(a, mac(3), '10.0.0.9')).blocked, false);
  t.equal((await countPortalTry(a, mac(3), '10.0.0.9')).blocked, true, 'brute-force limits still hold, per instance');
  t.ok(Date.now() - started < 15_000, 'nothing hung on the paused Redis');

  redis.resume();
  await sleep(1_500);
  const stale = await redis.client.get(`outage:session:${mac(1)}`);
  t.notMatch(stale ?? '', /"tokenId"/, 'the stale authorised row was dropped when Redis came back');
  t.equal((await sessionState(b, { networkId: network.id, mac: mac(1), now: env.clock.now() })).authorized, false, 'no instance sees it authorised');
  t.equal((await sessionState(b, { networkId: network.id, mac: mac(2), now: env.clock.now() })).authorized, true);
  t.match(await redis.client.get(`outage:session:${mac(2)}`), /"tokenId"/, 'the cache refills after the outage');
});

t.test('Redis stopped: a phone start sends nothing, since its verification could not be kept to be confirmed', async (t) => {
  const redis = await privateRedis(t, freePort());
  const env = await testEnv(t, { ...LOOPBACK_ALLOWED, REDIS_URL: redis.url, KALITKA_REDIS_PREFIX: 'outage-phone:' });
  const { network, fake } = await phoneSite(t, env, 'smsru');
  redis.pause();
  const began = Date.now();
  const refused = await refusal(startPhone(env.svc, { network, mac: mac(7), ip: '10.0.0.9', phone: freshMobile(), method: 'sms', now: env.clock.now() }));
  t.match(refused, { status: 503, code: 'PHONE_PROVIDER_UNAVAILABLE', details: { voucher: true } });
  t.equal(fake.sent.length, 0, 'no SMS was paid for');
  t.ok(Date.now() - began < 15_000, 'nothing hung on the paused Redis');
  redis.resume();
  await sleep(1_500);
  t.equal((await startPhone(env.svc, { network, mac: mac(7), ip: '10.0.0.9', phone: freshMobile(), method: 'sms', now: env.clock.now() })).kind, 'code', 'sent again once Redis is back');
  t.equal(fake.sent.length, 1);
});
