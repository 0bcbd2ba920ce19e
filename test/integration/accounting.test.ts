import t, { type Test } from 'tap';
import { activateToken } from '../../src/domain/activation.js';
import type { ControllerKind } from '../../src/domain/networks.js';
import { buildApp } from '../../src/http/app.js';
import { usedBytes } from '../../src/store/accounting.js';
import { mac, makeContract, makeNetwork, makeToken, makeUser } from '../helpers/factories.js';
import { testEnv } from '../helpers/services.js';

/** rlm_rest's JSON body: every attribute as {"type","value":[...]}. */
const body = (attrs: Record<string, string>) =>
  Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, { type: 'string', value: [v] }]));

t.test('accounting is matched to the network as authorize is: another contract\'s NAS is 404 and records nothing', async (t) => {
  const { svc, clock } = await testEnv(t);
  const a = await makeContract(svc);
  const b = await makeContract(svc);
  const network = await makeNetwork(svc, a.id, 'generic', { nasIdentifier: 'a-nas' });
  const device = mac();
  const token = await makeToken(svc, a.id, { durationDays: 1 });
  await activateToken(svc, { networkId: network.id, mac: device, code: token.code, now: clock.now() });
  const { auth: authA } = await makeUser(svc, a.id);
  const { auth: authB } = await makeUser(svc, b.id);
  const app = await buildApp(svc);
  t.teardown(() => app.close());
  const packet = body({ 'Acct-Status-Type': 'Interim-Update', 'Acct-Session-Id': 'q', 'Calling-Station-Id': device, 'NAS-Identifier': 'a-nas', 'Acct-Input-Octets': '77' });

  const foreign = await app.inject({ method: 'POST', url: '/api/v1/radius/accounting', headers: authB, payload: packet });
  t.equal(foreign.statusCode, 404, 'contract B cannot report for A\'s NAS');
  t.equal(await usedBytes(svc.db, token.id), 0);
  const byId = await app.inject({ method: 'POST', url: '/api/v1/radius/accounting', headers: authB, payload: { ...packet, 'NAS-Identifier': { value: [network.id] } } });
  t.equal(byId.statusCode, 404, 'nor by the network id');
  t.equal(await usedBytes(svc.db, token.id), 0);
  const own = await app.inject({ method: 'POST', url: '/api/v1/radius/accounting', headers: authA, payload: packet });
  t.equal(own.statusCode, 204);
  t.equal(await usedBytes(svc.db, token.id), 77);
  const none = await app.inject({ method: 'POST', url: '/api/v1/radius/accounting', payload: packet });
  t.equal(none.statusCode, 401, 'no API token');

  for (const [name, value] of [['Acct-Input-Octets', '-1'], ['Acct-Input-Gigawords', '4294967296'], ['Acct-Output-Octets', '1e9'], ['Framed-IP-Address', 'not-an-ip']]) {
    const bad = await app.inject({ method: 'POST', url: '/api/v1/radius/accounting', headers: authA, payload: { ...packet, [name]: { value: [value] } } });
    t.equal(bad.statusCode, 400, `${name}=${value} is refused`);
    t.equal(bad.json().error.code, name === 'Framed-IP-Address' ? 'INVALID_ADDRESS' : 'INVALID_COUNTER');
  }
  t.equal(await usedBytes(svc.db, token.id), 77, 'refused packets counted nothing');
  const noMac = await app.inject({ method: 'POST', url: '/api/v1/radius/accounting', headers: authA, payload: body({ 'Acct-Status-Type': 'Accounting-On', 'NAS-Identifier': 'a-nas' }) });
  t.equal(noMac.statusCode, 204, 'Accounting-On names no device and is answered');
});

t.test('concurrent duplicates and two sessions racing past the quota count each byte once and end the copy once', async (t) => {
  const { svc, clock } = await testEnv(t);
  const contract = await makeContract(svc);
  const network = await makeNetwork(svc, contract.id, 'generic', { nasIdentifier: 'nas' });
  const device = mac();
  const token = await makeToken(svc, contract.id, { durationDays: 1 });
  await activateToken(svc, { networkId: network.id, mac: device, code: token.code, now: clock.now() });
  await svc.db.query(`update tokens set quota_mb = 1 where id = $1::uuid`, [token.id]);
  const { auth } = await makeUser(svc, contract.id);
  const app = await buildApp(svc);
  t.teardown(() => app.close());
  const send = (session: string, octets: number) =>
    app.inject({
      method: 'POST',
      url: '/api/v1/radius/accounting',
      headers: auth,
      payload: body({ 'Acct-Status-Type': 'Interim-Update', 'Acct-Session-Id': session, 'Calling-Station-Id': device, 'NAS-Identifier': 'nas', 'Acct-Output-Octets': String(octets) }),
    });
  // Each session reports 600 KiB, twenty times over, all at once: 1200 KiB in all, past 1 MiB.
  const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => send(i % 2 ? 'a' : 'b', 600 * 1024)));
  t.same([...new Set(answers.map((r) => r.statusCode))], [204]);
  t.equal(await usedBytes(svc.db, token.id), 1200 * 1024, 'each session counted once');
  const { rows } = await svc.db.query<{ end_reason: string }>(`select end_reason from identifications where token_id = $1::uuid`, [token.id]);
  t.same(rows, [{ end_reason: 'quota_exceeded' }], 'one identification, ended once');
  const { rows: revokes } = await svc.db.query(`select 1 from outbox where kind = 'revoke'`);
  t.equal(revokes.length, 1, 'one revoke queued');
  const api = await app.inject({ method: 'GET', url: `/api/v1/contracts/${contract.id}/tokens`, headers: auth });
  const copy = api.json().tokens.find((x: { id: string }) => x.id === token.id);
  t.equal(copy.status, 'expired');
  t.equal(copy.endReason, 'quota_exceeded');
});

t.test('accounting rows follow the log\'s retention, but an active copy keeps its usage', async (t) => {
  const { svc, clock } = await testEnv(t);
  const contract = await makeContract(svc);
  const network = await makeNetwork(svc, contract.id, 'generic', { nasIdentifier: 'nas' });
  const { auth } = await makeUser(svc, contract.id);
  const app = await buildApp(svc);
  t.teardown(() => app.close());
  const [short, forever] = [await makeToken(svc, contract.id, { durationDays: 1 }), await makeToken(svc, contract.id, { durationDays: null })];
  const [a, b] = [mac(), mac()];
  await activateToken(svc, { networkId: network.id, mac: a, code: short.code, now: clock.now() });
  await activateToken(svc, { networkId: network.id, mac: b, code: forever.code, now: clock.now() });
  for (const device of [a, b]) {
    const res = await app.inject({ method: 'POST', url: '/api/v1/radius/accounting', headers: auth, payload: body({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 's', 'Calling-Station-Id': device, 'NAS-Identifier': 'nas', 'Acct-Input-Octets': '10' }) });
    t.equal(res.statusCode, 204);
  }
  const { sweepExpired } = await import('../../src/domain/sweep.js');
  const { pruneAccounting } = await import('../../src/domain/accounting.js');
  clock.advance(2 * 86_400_000);
  await sweepExpired(svc, { now: clock.now() });
  t.equal(await pruneAccounting(svc, { now: clock.now(), retentionDays: 1 }), 1);
  t.equal(await usedBytes(svc.db, short.id), 0, 'the spent copy\'s rows are gone');
  t.equal(await usedBytes(svc.db, forever.id), 10, 'the live copy keeps its usage');
});

/** A contract with one network whose NAS is `nasIdentifier`, an operator, and an app that takes its accounting. */
async function nasSite(t: Test, controller: ControllerKind = 'generic', nasIdentifier = 'nas') {
  const env = await testEnv(t);
  const contract = await makeContract(env.svc);
  const network = await makeNetwork(env.svc, contract.id, controller, { nasIdentifier });
  const { auth } = await makeUser(env.svc, contract.id);
  const app = await buildApp(env.svc);
  t.teardown(() => app.close());
  const account = (attrs: Record<string, string>) =>
    app.inject({ method: 'POST', url: '/api/v1/radius/accounting', headers: auth, payload: body({ 'NAS-Identifier': nasIdentifier, ...attrs }) });
  /** The packets of one device's NAS session: its status and input octets. */
  const session = (device: string, id: string) => (status: string, octets: number) =>
    account({ 'Acct-Status-Type': status, 'Acct-Session-Id': id, 'Calling-Station-Id': device, 'Acct-Input-Octets': String(octets) });
  /** A new token of the contract, activated by `device` in the network. */
  const activated = async (device: string, opts: Parameters<typeof makeToken>[2]) => {
    const token = await makeToken(env.svc, contract.id, opts);
    await activateToken(env.svc, { networkId: network.id, mac: device, code: token.code, now: env.clock.now() });
    return token;
  };
  return { ...env, network, auth, app, account, session, activated };
}

t.test('a NAS session that outlives its identification charges what follows to the device\'s new copy, not the ended one', async (t) => {
  const { svc, session, activated } = await nasSite(t);
  const device = mac();
  const send = session(device, 'long');
  const first = await activated(device, { durationDays: 1 });
  t.equal((await send('Start', 0)).statusCode, 204);
  t.equal((await send('Interim-Update', 400_000)).statusCode, 204);
  // The same device enters a second code: the first identification ends (`replaced`) and the
  // device is not de-authorised, so the NAS goes on reporting the same session.
  const second = await activated(device, { durationDays: 1, quotaMb: 1 });
  t.equal((await send('Interim-Update', 1_000_000)).statusCode, 204);
  t.equal(await usedBytes(svc.db, first.id), 400_000, 'the first copy keeps what it was charged');
  t.equal(await usedBytes(svc.db, second.id), 600_000, 'the second copy is charged from where the session stood');
  t.equal((await send('Interim-Update', 900_000)).statusCode, 204, 'a late Interim-Update');
  t.equal((await send('Interim-Update', 1_000_000)).statusCode, 204, 'a duplicate');
  t.equal(await usedBytes(svc.db, second.id), 600_000, 'late and duplicate packets count nothing');
  t.equal((await send('Interim-Update', 400_000 + 1024 * 1024)).statusCode, 204);
  const { rows } = await svc.db.query<{ end_reason: string | null }>(`select end_reason from identifications where token_id = $1::uuid`, [second.id]);
  t.same(rows, [{ end_reason: 'quota_exceeded' }], 'the second copy\'s quota ends it');
  t.equal((await send('Stop', 2 * 1024 * 1024)).statusCode, 204, 'a Stop after the end');
  t.equal(await usedBytes(svc.db, first.id), 400_000, 'is still not charged to the first copy');
});

t.test('after a NAS restarts, a session id it hands out again is a new session; another NAS of the network is not restarted with it', async (t) => {
  const { svc, clock, account: send, activated } = await nasSite(t, 'mikrotik');
  const [device, other] = [mac(), mac()];
  const packet = (status: string, nasIp: string, who: string, octets: number) =>
    send({ 'Acct-Status-Type': status, 'NAS-IP-Address': nasIp, 'Acct-Session-Id': '81000001', 'Calling-Station-Id': who, 'Acct-Input-Octets': String(octets) });
  const token = await activated(device, { durationDays: 1 });
  const otherToken = await activated(other, { durationDays: 1 });
  t.equal((await packet('Start', '10.0.0.1', device, 0)).statusCode, 204);
  t.equal((await packet('Stop', '10.0.0.1', device, 5_000_000)).statusCode, 204);
  t.equal((await packet('Interim-Update', '10.0.0.2', other, 7_000_000)).statusCode, 204, 'a second access point of the network');

  clock.advance(60_000);
  t.equal((await send({ 'Acct-Status-Type': 'Accounting-On', 'NAS-IP-Address': '10.0.0.1' })).statusCode, 204, 'the first restarts');
  t.equal((await packet('Start', '10.0.0.1', device, 0)).statusCode, 204, 'and hands out the same session id again');
  t.equal((await packet('Interim-Update', '10.0.0.1', device, 3_000_000)).statusCode, 204);
  t.equal(await usedBytes(svc.db, token.id), 8_000_000, 'both sessions are counted');
  t.equal((await packet('Interim-Update', '10.0.0.2', other, 7_500_000)).statusCode, 204);
  t.equal(await usedBytes(svc.db, otherToken.id), 7_500_000, 'the other access point\'s session goes on, counted once');
  const { rows } = await svc.db.query<{ stopped: boolean }>(`select stopped_at is not null as stopped from accounting_sessions where mac = $1`, [other]);
  t.same(rows, [{ stopped: false }], 'and stays open');
});

t.test('a copy whose quota the rlm_sql path used up is not authorised by the session-state answers, cached or not', async (t) => {
  const { svc, clock, network, auth, app, activated } = await nasSite(t, 'mikrotik', 'sql-nas');
  const device = mac();
  await activated(device, { durationDays: 1, quotaMb: 1 });
  const state = async () => (await app.inject({ url: `/api/v1/networks/${network.id}/sessions/${device}`, headers: auth })).json();
  t.match(await state(), { authorized: true, bytesRemaining: 1024 * 1024 }, 'read once: the session is cached');
  await svc.db.query(
    `select kalitka_radius_account('sql-nas', $1, '', 'Interim-Update', 's', '0', '0', $2, '0', '', '', $3)`,
    [device, String(1024 * 1024), clock.now()],
  );
  t.match(await state(), { authorized: false, bytesRemaining: null }, 'at once, not after the cache\'s lifetime');
  const radius = await app.inject({ method: 'POST', url: '/api/v1/radius/authorize', headers: auth, payload: body({ 'Calling-Station-Id': device, 'NAS-Identifier': 'sql-nas' }) });
  t.equal(radius.statusCode, 403, 'the rest path rejects it too');
  const captive = await app.inject({ url: `/portal/${network.id}/api?mac=${device}` });
  t.equal(JSON.parse(captive.body).captive, true);
});

t.test('a late Stop of a session cut at its quota is its own copy\'s, even after the device entered a new code', async (t) => {
  const { svc, session, activated } = await nasSite(t);
  const device = mac();
  const send = session(device, 'cut');
  const first = await activated(device, { durationDays: 1, quotaMb: 1 });
  t.equal((await send('Interim-Update', 1024 * 1024)).statusCode, 204, 'the quota is reached: the device is de-authorised');
  const second = await activated(device, { durationDays: 1, quotaMb: 1 });
  t.equal((await send('Stop', 1024 * 1024 + 500_000)).statusCode, 204, 'the cut session\'s Stop arrives late');
  t.equal(await usedBytes(svc.db, first.id), 1024 * 1024 + 500_000);
  t.equal(await usedBytes(svc.db, second.id), 0, 'the new copy is charged nothing of it');
});

t.test('retention keeps a replaced copy\'s rows while their NAS session goes on for the new copy', async (t) => {
  const { svc, clock, session, activated } = await nasSite(t);
  const device = mac();
  const interim = session(device, 'kiosk');
  const send = (octets: number) => interim('Interim-Update', octets);
  await activated(device, { durationDays: 1 });
  await send(400_000);
  const second = await activated(device, { durationDays: null, quotaMb: 100 });
  await send(500_000);
  clock.advance(3 * 86_400_000);
  await send(600_000);
  const { pruneAccounting } = await import('../../src/domain/accounting.js');
  t.equal(await pruneAccounting(svc, { now: clock.now(), retentionDays: 1 }), 0, 'the first copy\'s row stays');
  await send(700_000);
  t.equal(await usedBytes(svc.db, second.id), 300_000, 'the new copy is charged only its own part');
});
