import type { AddressInfo } from 'node:net';
import t from 'tap';
import { activateToken } from '../../src/domain/activation.js';
import { sessionState } from '../../src/domain/sessions.js';
import { buildApp } from '../../src/http/app.js';
import { usedBytes } from '../../src/store/accounting.js';
import { deliverDue } from '../../src/worker/outbox.js';
import { mac, makeContract, makeNetwork, makeToken, makeUser } from '../helpers/factories.js';
import { findProgram, radclient, startFreeRadius, type RadiusServer } from '../helpers/freeradius.js';
import { fakeNas, attributeText } from '../helpers/nas.js';
import { testEnv } from '../helpers/services.js';

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
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    let radius: RadiusServer | null = null;
    t.teardown(async () => {
      await radius?.stop();
      await app.close();
    });
    radius = await startFreeRadius({ binary: freeradius!, kalitkaUrl: `http://127.0.0.1:${port}`, apiToken });
    const r = radius;
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
