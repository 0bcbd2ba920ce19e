import t from 'tap';
import { activateToken } from '../../src/domain/activation.js';
import { sessionState } from '../../src/domain/sessions.js';
import { buildApp } from '../../src/http/app.js';
import { usedBytes } from '../../src/store/accounting.js';
import { deliverDue } from '../../src/worker/outbox.js';
import { mac, makeContract, makeNetwork, makeToken, makeUser } from '../helpers/factories.js';
import { findProgram, radclient, startFreeRadiusForApp, startSqlFreeRadius } from '../helpers/freeradius.js';
import { fakeNas, attributeText } from '../helpers/nas.js';
import { setup, testEnv } from '../helpers/services.js';

const freeradius = findProgram('freeradius') ?? findProgram('radiusd');
const LOOPBACK = { KALITKA_OUTBOUND_ALLOW: '127.0.0.0/8,::1/128' };
const GIB = 4294967296;

t.test(
  'accounting through a real FreeRADIUS counts octets with gigawords once, ends the copy at its quota and disconnects the named session',
  { skip: freeradius ? false : 'the freeradius binary is not installed (apt-get install freeradius freeradius-rest freeradius-utils)' },
  async (t) => {
    const { svc, clock } = await testEnv(t, LOOPBACK);
    const nas = await fakeNas(t, 'nas-secret', 'ack');
    const contract = await makeContract(svc);
    const network = await makeNetwork(svc, contract.id, 'mikrotik', {
      nasIdentifier: 'hall-nas',
      loginHosts: '10.0.0.1',
      radiusHost: '127.0.0.1',
      radiusPort: nas.port,
      radiusSecret: 'nas-secret',
    });
    const { token: apiToken } = await makeUser(svc, contract.id);
    const app = await buildApp(svc);
    const r = await startFreeRadiusForApp(t, app, { binary: freeradius!, apiToken });
    const explain = (x: { raw: string }) => ({ radclient: x.raw.slice(-1500), freeradius: r.output().slice(-3000) });

    const device = mac();
    const token = await makeToken(svc, contract.id, { durationDays: 1 });
    await activateToken(svc, { networkId: network.id, mac: device, code: token.code, now: clock.now() });
    // 5000 MiB: more than one gigaword, so the quota cannot be reached without them.
    await svc.db.query(`update tokens set quota_mb = 5000 where id = $1::uuid`, [token.id]);
    const quota = 5000 * 1048576;

    const acct = async (attributes: Record<string, string>) => {
      const mark = r.output().length;
      const res = await radclient(r.acctPort, 'acct', r.secret, {
        'User-Name': device,
        'Calling-Station-Id': device,
        'NAS-Identifier': 'hall-nas',
        'NAS-IP-Address': '192.0.2.1',
        ...attributes,
      });
      t.equal(res.received, 'Accounting-Response', `answered: ${JSON.stringify(attributes)}`, explain(res));
      t.equal(r.restStatus(mark), 204);
      clock.advance(1000);
    };

    await acct({ 'Acct-Status-Type': 'Start', 'Acct-Session-Id': 's1', 'Framed-IP-Address': '10.0.0.7' });
    const interim1 = { 'Acct-Status-Type': 'Interim-Update', 'Acct-Session-Id': 's1', 'Acct-Input-Octets': '1000', 'Acct-Input-Gigawords': '1', 'Acct-Output-Octets': '500' };
    await acct(interim1);
    t.equal(await usedBytes(svc.db, token.id), GIB + 1500, 'a gigaword is 2^32 octets');
    await acct(interim1);
    t.equal(await usedBytes(svc.db, token.id), GIB + 1500, 'a duplicate counts nothing');
    await acct({ 'Acct-Status-Type': 'Interim-Update', 'Acct-Session-Id': 's1', 'Acct-Input-Octets': '300', 'Acct-Output-Octets': '200' });
    t.equal(await usedBytes(svc.db, token.id), GIB + 1500, 'an older update arriving late counts nothing');
    await acct({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 's1', 'Acct-Input-Octets': '2000', 'Acct-Input-Gigawords': '1', 'Acct-Output-Octets': '500' });
    t.equal(await usedBytes(svc.db, token.id), GIB + 2500, 'Stop carries the final counters');

    // The device roams back: a new NAS session is charged to the same copy.
    await acct({ 'Acct-Status-Type': 'Start', 'Acct-Session-Id': 's2', 'Framed-IP-Address': '10.0.0.9' });
    await acct({ 'Acct-Status-Type': 'Interim-Update', 'Acct-Session-Id': 's2', 'Acct-Input-Octets': String(quota - GIB - 2500 - 1) });
    t.equal(await usedBytes(svc.db, token.id), quota - 1, 'one byte short of the quota');
    t.equal((await sessionState(svc, { networkId: network.id, mac: device, now: clock.now() })).authorized, true, 'still authorised');
    t.equal(nas.received.length, 0, 'nobody disconnected yet');

    await acct({ 'Acct-Status-Type': 'Interim-Update', 'Acct-Session-Id': 's2', 'Acct-Input-Octets': String(quota - GIB - 2500) });
    t.equal(await usedBytes(svc.db, token.id), quota, 'the quota reached');
    t.equal((await sessionState(svc, { networkId: network.id, mac: device, now: clock.now() })).authorized, false, 'not authorised before any worker ran');
    const { rows: [copy] } = await svc.db.query<{ status: string; end_reason: string }>(`select status, end_reason from tokens where id = $1::uuid`, [token.id]);
    t.same(copy, { status: 'expired', end_reason: 'quota_exceeded' });
    const { rows: log } = await svc.db.query<{ end_reason: string }>(`select end_reason from identifications where token_id = $1::uuid`, [token.id]);
    t.same(log, [{ end_reason: 'quota_exceeded' }]);

    const mark = r.output().length;
    const auth = await radclient(r.authPort, 'auth', r.secret, { 'User-Name': device, 'Calling-Station-Id': device, 'NAS-Identifier': 'hall-nas' });
    t.equal(auth.received, 'Access-Reject', 'FreeRADIUS rejects the device', explain(auth));
    t.equal(r.restStatus(mark), 403);

    t.same(await deliverDue(svc, { now: clock.now() }), { delivered: 1, failed: 0 }, 'one revoke');
    t.equal(nas.received.length, 1);
    const sent = Object.fromEntries(attributeText(nas.received[0]));
    t.equal(nas.received[0].code, 40, 'a Disconnect-Request');
    t.ok(nas.received[0].authenticatorValid);
    t.equal(sent[1], device, 'User-Name');
    t.equal(sent[31], device, 'Calling-Station-Id');
    t.equal(sent[44], 's2', 'Acct-Session-Id of the open session');
    t.same([...nas.received[0].attributes.find(([type]) => type === 8)![1]], [10, 0, 0, 9], 'Framed-IP-Address');
    t.same([...nas.received[0].attributes.find(([type]) => type === 4)![1]], [192, 0, 2, 1], 'NAS-IP-Address');
    t.equal(sent[32], undefined, 'NAS-Identifier is left out when NAS-IP-Address names the NAS');

    // Late packets after the end count nothing twice and start nothing.
    await acct({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 's2', 'Acct-Input-Octets': String(quota - GIB - 2500) });
    t.equal(await usedBytes(svc.db, token.id), quota);

    // A device that never identified is answered and recorded nowhere.
    const stranger = mac();
    const res = await radclient(r.acctPort, 'acct', r.secret, {
      'Acct-Status-Type': 'Start', 'Acct-Session-Id': 'x1', 'User-Name': stranger, 'Calling-Station-Id': stranger, 'NAS-Identifier': 'hall-nas',
    });
    t.equal(res.received, 'Accounting-Response', 'a stranger is answered', explain(res));
    const { rows: none } = await svc.db.query(`select 1 from accounting_sessions where mac = $1::text`, [stranger]);
    t.equal(none.length, 0, 'and recorded nowhere');
  },
);

t.test(
  'the SQL setup (install.sh --sql) counts accounting by the same stored rule and ends the copy at its quota',
  {
    skip: !freeradius
      ? 'the freeradius binary is not installed (apt-get install freeradius freeradius-postgresql freeradius-utils)'
      : !setup.databaseUrl
        ? 'the SQL variant needs a PostgreSQL server: PGlite has no network port for FreeRADIUS; runs in the servers setup'
        : false,
  },
  async (t) => {
    const { svc, clock } = await testEnv(t);
    clock.set(new Date()); // the function uses the database's now()
    const contract = await makeContract(svc);
    const network = await makeNetwork(svc, contract.id, 'generic', { nasIdentifier: 'sql-nas' });
    const radius = await startSqlFreeRadius(t, svc.db, { binary: freeradius!, databaseUrl: setup.databaseUrl! });
    const explain = (x: { raw: string }) => ({ radclient: x.raw.slice(-1500), freeradius: radius.output().slice(-3000) });

    const device = mac();
    const dashed = device.replace(/:/g, '-');
    const token = await makeToken(svc, contract.id, { durationDays: 1 });
    await activateToken(svc, { networkId: network.id, mac: device, code: token.code, now: clock.now() });
    await svc.db.query(`update tokens set quota_mb = 5000 where id = $1::uuid`, [token.id]);
    const quota = 5000 * 1048576;
    const acct = async (attributes: Record<string, string>, who = dashed) => {
      const res = await radclient(radius.acctPort, 'acct', radius.secret, { 'User-Name': who, 'Calling-Station-Id': who, 'NAS-Identifier': 'sql-nas', ...attributes });
      t.equal(res.received, 'Accounting-Response', `answered: ${JSON.stringify(attributes)}`, explain(res));
    };

    await acct({ 'Acct-Status-Type': 'Start', 'Acct-Session-Id': 'q1', 'Framed-IP-Address': '10.9.0.7' });
    const interim = { 'Acct-Status-Type': 'Interim-Update', 'Acct-Session-Id': 'q1', 'Acct-Input-Octets': '1000', 'Acct-Input-Gigawords': '1', 'Acct-Output-Octets': '500' };
    await acct(interim);
    await acct(interim);
    await acct({ 'Acct-Status-Type': 'Interim-Update', 'Acct-Session-Id': 'q1', 'Acct-Input-Octets': '10' });
    t.equal(await usedBytes(svc.db, token.id), GIB + 1500, 'gigawords counted, the duplicate and the late update not');
    const { rows: [session] } = await svc.db.query<{ framed_ip: string; nas_ip: string }>(
      `select host(framed_ip) as framed_ip, host(nas_ip) as nas_ip from accounting_sessions where acct_session_id = 'q1'`);
    t.same(session, { framed_ip: '10.9.0.7', nas_ip: '127.0.0.1' }, 'the NAS by its packet\'s source when it sends no NAS-IP-Address');

    // The session-state answer is cached now (it was read once): the SQL path cannot drop it.
    t.equal((await sessionState(svc, { networkId: network.id, mac: device, now: clock.now() })).authorized, true);
    await acct({ 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'q1', 'Acct-Input-Octets': String(quota - GIB - 500), 'Acct-Input-Gigawords': '1', 'Acct-Output-Octets': '500' });
    t.equal(await usedBytes(svc.db, token.id), quota, 'the quota reached by the Stop');
    const { rows: [copy] } = await svc.db.query<{ status: string; end_reason: string }>(`select status, end_reason from tokens where id = $1::uuid`, [token.id]);
    t.same(copy, { status: 'expired', end_reason: 'quota_exceeded' });
    const { rows: revokes } = await svc.db.query<{ payload: { mac: string; endReason: string } }>(`select payload from outbox where kind = 'revoke'`);
    t.same(revokes.map((r) => [r.payload.mac, r.payload.endReason]), [[device, 'quota_exceeded']], 'a revoke queued');
    t.same(await deliverDue(svc, { now: new Date() }), { delivered: 1, failed: 0 }, 'the revoke delivered');
    t.equal((await sessionState(svc, { networkId: network.id, mac: device, now: clock.now() })).authorized, false,
      'the worker delivering the revoke drops the cached answer: session state follows at once');
    const auth = await radclient(radius.authPort, 'auth', radius.secret, { 'User-Name': dashed, 'Calling-Station-Id': dashed, 'NAS-Identifier': 'sql-nas' });
    t.equal(auth.received, 'Access-Reject', 'the device is rejected from then on', explain(auth));

    const stranger = mac();
    await acct({ 'Acct-Status-Type': 'Start', 'Acct-Session-Id': 'x' }, stranger);
    await acct({ 'Acct-Status-Type': 'Start', 'Acct-Session-Id': 'y', 'NAS-Identifier': 'no-such-nas' });
    // What radclient cannot send, straight to the function: garbage is read as nothing, never an error.
    const { rows: garbage } = await svc.db.query<{ recorded: boolean }>(
      `select recorded from kalitka_radius_account('sql-nas', $1, '', 'Interim-Update', 'z', '99999999999', 'x', '-1', '1e9', '10.9.0.300', 'nas')`, [device]);
    t.same(garbage, [{ recorded: false }]);
    const { rows } = await svc.db.query<{ acct_session_id: string }>(`select acct_session_id from accounting_sessions order by id`);
    t.same(rows.map((r) => r.acct_session_id), ['q1'], 'a stranger, an unknown NAS and a session after the end recorded nowhere');
  },
);
