import t from 'tap';
import { activateToken } from '../../src/domain/activation.js';
import { deleteNetwork, type Network } from '../../src/domain/networks.js';
import { confirmPhone, startPhone } from '../../src/domain/phone/identify.js';
import { sessionState } from '../../src/domain/sessions.js';
import { phoneCrypto } from '../../src/domain/phone/crypto.js';
import { phoneKeys } from '../../src/domain/phone/limits.js';
import { sweepExpired } from '../../src/domain/sweep.js';
import { listTokens } from '../../src/domain/tokens.js';
import { appFor, call } from '../helpers/adminApi.js';
import { mac, makeContract, makeNetwork, makeToken, makeUser, operatorOf } from '../helpers/factories.js';
import { freshMobile, LOOPBACK_ALLOWED, phoneSite } from '../helpers/phone.js';
import { DAY, testEnv, type TestEnv } from '../helpers/services.js';

/* A phone identification is an identification like a token's: rule 7 across methods, the expiry sweep, RADIUS, the log. */

type SmsRu = Awaited<ReturnType<typeof phoneSite<'smsru'>>>['fake'];

async function byPhone(env: TestEnv, network: Network, fake: SmsRu, device: string, phone = freshMobile()) {
  const step = await startPhone(env.svc, { network, mac: device, ip: '198.51.100.1', phone, method: 'flashcall', now: env.clock.now() });
  return confirmPhone(env.svc, { network, mac: device, ip: '198.51.100.1', verificationId: step.verificationId, code: fake.sent.at(-1)!.code!, now: env.clock.now() });
}

async function rows(env: TestEnv, device: string) {
  return (
    await env.svc.db.query<{ contract_id: string; method: string; ended_at: Date | null; end_reason: string | null }>(
      `select contract_id, method, ended_at, end_reason from identifications where mac = $1::text order by id`,
      [device],
    )
  ).rows;
}

async function outboxKinds(env: TestEnv, networkId: string) {
  return (await env.svc.db.query<{ kind: string }>(`select kind from outbox where network_id = $1::uuid order by id`, [networkId])).rows.map((r) => r.kind);
}

t.test('rule 7 across methods: a phone identification in B ends a token one in A (copy annulled), and a token in A ends the phone one in B', async (t) => {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const { svc, clock } = env;
  const a = await makeContract(svc);
  const netA = await makeNetwork(svc, a.id);
  const b = await phoneSite(t, env, 'smsru');
  const device = mac();
  const tok = await makeToken(svc, a.id, { durationDays: null });
  await activateToken(svc, { networkId: netA.id, mac: device, code: tok.code, now: clock.now() });

  clock.advance(60_000);
  const granted = await byPhone(env, b.network, b.fake, device);
  t.same(granted.activation.ended.map((i) => [i.contract_id, i.end_reason]), [[a.id, 'identified_elsewhere']]);
  const [copy] = await listTokens(svc, operatorOf(a.id), { contractId: a.id, limit: 10, offset: 0, now: clock.now() });
  t.same([copy.status, copy.end_reason], ['annulled', 'identified_elsewhere'], 'the token copy is annulled');
  t.equal((await sessionState(svc, { networkId: netA.id, mac: device, now: clock.now() })).authorized, false, 'no longer let through in A');
  t.equal((await sessionState(svc, { networkId: b.network.id, mac: device, now: clock.now() })).authorized, true);
  t.same(await outboxKinds(env, netA.id), ['revoke'], 'A\'s controller is told to de-authorise');

  clock.advance(60_000);
  const tok2 = await makeToken(svc, a.id, { durationDays: null });
  const back = await activateToken(svc, { networkId: netA.id, mac: device, code: tok2.code, now: clock.now() });
  t.same(back.ended.map((i) => [i.contract_id, i.method, i.end_reason]), [[b.contract.id, 'phone', 'identified_elsewhere']]);
  t.equal((await sessionState(svc, { networkId: b.network.id, mac: device, now: clock.now() })).authorized, false);
  t.same(await outboxKinds(env, b.network.id), ['revoke']);
  t.same((await rows(env, device)).map((r) => [r.method, r.end_reason]), [
    ['token', 'identified_elsewhere'],
    ['phone', 'identified_elsewhere'],
    ['token', null],
  ]);
});

t.test('in one contract: a second number replaces the first; the same number again gets the same identification back', async (t) => {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const { network, fake } = await phoneSite(t, env, 'smsru');
  const device = mac();
  const phone = freshMobile();
  const first = await byPhone(env, network, fake, device, phone);
  const second = '+7912999' + phone.slice(-4);
  const again = await byPhone(env, network, fake, device, second);
  t.same([again.activation.existing, again.activation.ended.map((i) => i.end_reason)], [false, ['replaced']]);
  t.equal(first.activation.identification.id, again.activation.ended[0].id);
  // A minute later (the resend wait over), the same number on the same device.
  await env.svc.cache.del(phoneKeys.resend(phoneCrypto(env.svc.secret).lookupHash(second)));
  const same = await byPhone(env, network, fake, device, second);
  t.same([same.activation.existing, same.activation.ended, same.activation.identification.id], [true, [], again.activation.identification.id]);
  t.equal((await rows(env, device)).length, 2, 'no third row');
});

t.test('the sweep ends a phone identification at its expiry; the answers say no from that instant', async (t) => {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const { svc, clock } = env;
  const { network, fake } = await phoneSite(t, env, 'smsru', { phoneDays: 2, nasIdentifier: 'phone-ap' });
  const device = mac();
  const started = clock.now();
  await byPhone(env, network, fake, device);
  const radius = async () =>
    (await svc.db.query<{ attribute: string; value: string }>(`select attribute, value from kalitka_radius_check($1, $2, null, $3)`, ['phone-ap', device, clock.now()])).rows;
  t.same(await radius(), [{ attribute: 'Auth-Type', value: 'Accept' }, { attribute: 'Session-Timeout', value: String(2 * 86_400) }], 'RADIUS (SQL) accepts it');

  clock.set(new Date(started.getTime() + 2 * DAY - 1000));
  t.equal((await sweepExpired(svc, { now: clock.now() })).expired, 0);
  t.equal((await sessionState(svc, { networkId: network.id, mac: device, now: clock.now() })).secondsRemaining, 1);

  clock.set(new Date(started.getTime() + 2 * DAY));
  t.equal((await sessionState(svc, { networkId: network.id, mac: device, now: clock.now() })).authorized, false, 'no at the instant, before the sweep');
  t.same(await radius(), [], 'RADIUS rejects at the instant');
  t.same(await sweepExpired(svc, { now: clock.now() }), { expired: 1, batches: 1 });
  const [row] = await rows(env, device);
  t.same([row.end_reason, row.ended_at?.toISOString()], ['expired', new Date(started.getTime() + 2 * DAY).toISOString()]);
  t.same(await outboxKinds(env, network.id), ['revoke'], 'the device is de-authorised at its controller');
  t.same(await sweepExpired(svc, { now: clock.now() }), { expired: 0, batches: 0 }, 'nothing twice');
});

t.test('the REST RADIUS path and session state accept a live phone identification with no token', async (t) => {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const { svc, clock } = env;
  const { network, fake, contract } = await phoneSite(t, env, 'smsru', { phoneDays: null, nasIdentifier: 'phone-rest' });
  const device = mac();
  await byPhone(env, network, fake, device);
  const operator = await makeUser(svc, contract.id);
  const app = await appFor(t, svc);
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/radius/authorize',
    headers: operator.auth,
    payload: { 'User-Name': { type: 'string', value: [device] }, 'Calling-Station-Id': { type: 'string', value: [device] }, 'NAS-Identifier': { type: 'string', value: ['phone-rest'] } },
  });
  t.equal(res.statusCode, 200, 'accepted; unlimited: no Session-Timeout');
  t.same(res.json(), {});
  const state = await call(app, operator.token, 'GET', `/api/v1/networks/${network.id}/sessions/${device}`);
  t.match(state.json(), { mac: device, authorized: true, tokenId: null, code: null, expiresAt: null, secondsRemaining: null });
  clock.advance(365 * DAY);
  t.equal((await sweepExpired(svc, { now: clock.now() })).expired, 0, 'an unlimited phone identification is never swept');
});

t.test('deleting a network ends its phone identifications (annulled)', async (t) => {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const { network, fake, contract } = await phoneSite(t, env, 'smsru');
  const device = mac();
  await byPhone(env, network, fake, device);
  await deleteNetwork(env.svc, operatorOf(contract.id), network.id, env.clock.now());
  t.same((await rows(env, device)).map((r) => r.end_reason), ['annulled']);
});

t.test('the identification log is append-only over the phone columns too', async (t) => {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const { network, fake } = await phoneSite(t, env, 'smsru');
  const device = mac();
  await byPhone(env, network, fake, device);
  for (const column of ['phone_sealed', 'phone_hash', 'phone_provider', 'phone_reference']) {
    await t.rejects(env.svc.db.query(`update identifications set ${column} = 'x' where mac = $1::text`, [device]), /may only be closed/, column);
  }
  await t.rejects(
    env.svc.db.query(`insert into identifications (mac, network_id, contract_id, method, started_at) values ('AA:AA:AA:AA:AA:AA', $1::uuid, $2::uuid, 'phone', now())`, [network.id, network.contractId]),
    /identifications_phone_fields/,
    'a phone row without its number',
  );
});
