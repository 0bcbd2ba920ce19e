import { createHash, createHmac } from 'node:crypto';
import { createSocket, type RemoteInfo } from 'node:dgram';
import t, { type Test } from 'tap';
import { createUnifiAdapter } from '../../src/controllers/unifi.js';
import { openndsAdapter } from '../../src/controllers/opennds.js';
import { radiusAccounting } from '../../src/domain/accounting.js';
import { activateToken } from '../../src/domain/activation.js';
import type { ControllerKind, NetworkSettings } from '../../src/domain/networks.js';
import { extendToken } from '../../src/domain/tokens.js';
import type { Services } from '../../src/services.js';
import { insertNetwork } from '../../src/store/networks.js';
import { deliverDue } from '../../src/worker/outbox.js';
import { fakeNetwork, grantInput } from '../helpers/controllers.js';
import { fakeUnifi } from '../helpers/fake-unifi.js';
import { mac, makeContract, makeToken, operatorOf } from '../helpers/factories.js';
import { DAY, testEnv } from '../helpers/services.js';

// Rule 14: an extension reaches the NAS through the outbox (durable, retried) as an RFC 5176
// CoA-Request, or at UniFi as a new authorize-guest; and the grants carry a token's limits.
const LOOPBACK = { KALITKA_OUTBOUND_ALLOW: '127.0.0.0/8,::1/128' };
const SECRET = 'coa-s3cret';

interface Received {
  code: number;
  requestAuthenticatorValid: boolean;
  messageAuthenticatorValid: boolean;
  /** [type, value] in packet order; a Vendor-Specific one as [26, vendor, vendorType, value]. */
  attributes: Array<[number, Buffer] | [26, number, number, Buffer]>;
}

/**
 * A NAS's RFC 5176 listener on loopback that checks both authenticators itself (RFC 5176 §2.3, §3.5)
 * and answers CoA-ACK, CoA-NAK (Error-Cause) or nothing, as told.
 */
async function coaListener(t: Test, secret: string) {
  const socket = createSocket('udp4');
  const received: Received[] = [];
  const state = { answer: 'ack' as 'ack' | 'nak' | 'silent' };
  socket.on('message', (msg: Buffer, from: RemoteInfo) => {
    const length = msg.readUInt16BE(2);
    const attrs = msg.subarray(20, length);
    const requestAuth = createHash('md5').update(msg.subarray(0, 4)).update(Buffer.alloc(16)).update(attrs).update(secret).digest();
    const attributes: Received['attributes'] = [];
    let messageAuth: Buffer | null = null;
    let messageAuthAt = -1;
    for (let i = 0; i < attrs.length; i += attrs[i + 1]) {
      const [type, len] = [attrs[i], attrs[i + 1]];
      const value = attrs.subarray(i + 2, i + len);
      if (type === 26) attributes.push([26, value.readUInt32BE(0), value[4], value.subarray(6, 6 + value[5] - 2)]);
      else attributes.push([type, value]);
      if (type === 80) {
        messageAuth = Buffer.from(value);
        messageAuthAt = 20 + i + 2;
      }
    }
    let messageAuthenticatorValid = false;
    if (messageAuth) {
      const zeroed = Buffer.from(msg.subarray(0, length));
      zeroed.fill(0, 4, 20);
      zeroed.fill(0, messageAuthAt, messageAuthAt + 16);
      messageAuthenticatorValid = createHmac('md5', secret).update(zeroed).digest().equals(messageAuth);
    }
    received.push({ code: msg[0], requestAuthenticatorValid: requestAuth.equals(msg.subarray(4, 20)), messageAuthenticatorValid, attributes });
    if (state.answer === 'silent') return;
    const replyAttrs = state.answer === 'nak' ? Buffer.from([101, 6, 0, 0, 0x01, 0x96]) : Buffer.alloc(0); // Error-Cause 406
    const header = Buffer.from([state.answer === 'ack' ? 44 : 45, msg[1], 0, 20 + replyAttrs.length]);
    const auth = createHash('md5').update(header).update(msg.subarray(4, 20)).update(replyAttrs).update(secret).digest();
    socket.send(Buffer.concat([header, auth, replyAttrs]), from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return { port: socket.address().port, received, state };
}

const text = (r: Received, type: number) => (r.attributes.find((a) => a[0] === type && a.length === 2) as [number, Buffer] | undefined)?.[1].toString('utf8');
const uint = (r: Received, type: number) => (r.attributes.find((a) => a[0] === type && a.length === 2) as [number, Buffer] | undefined)?.[1].readUInt32BE(0);
/** Vendor-Specific attributes as [vendor, type, value]: Mikrotik-Rate-Limit (14988/8) is a string, the rest integers. */
const vendor = (r: Received) =>
  r.attributes
    .filter((a): a is [26, number, number, Buffer] => a.length === 4)
    .map(([, v, type, value]) => [v, type, v === 14988 && type === 8 ? value.toString('utf8') : value.readUInt32BE(0)]);

async function site(svc: Services, controller: ControllerKind, settings: NetworkSettings) {
  const contract = await makeContract(svc);
  const network = (await insertNetwork(svc.db, { contractId: contract.id, name: 'Hall', controller, settings, targetsApproved: false, now: svc.now() }))!;
  return { contract, network };
}

t.test('extending a copy sends a CoA-Request (code 43) with the new Session-Timeout and limits to a MikroTik NAS', async (t) => {
  const { svc, clock } = await testEnv(t, LOOPBACK);
  const nas = await coaListener(t, SECRET);
  const { contract, network } = await site(svc, 'mikrotik', { radiusHost: '127.0.0.1', radiusPort: nas.port, radiusSecret: SECRET, nasIdentifier: 'hall-ap' });
  const tok = await makeToken(svc, contract.id, { durationDays: 1, downKbps: 4000, upKbps: 1000, quotaMb: 100 });
  await activateToken(svc, { networkId: network.id, mac: mac(1), code: tok.code, now: clock.now() });
  // The NAS reported the session: the CoA names it as the Disconnect does.
  await radiusAccounting(svc, operatorOf(contract.id), {
    nasIdentifier: 'hall-ap', mac: mac(1), status: 'Start', sessionId: '8100000a', inputOctets: 0, inputGigawords: 0,
    outputOctets: 0, outputGigawords: 0, framedIp: '10.5.50.23', nasIp: '192.0.2.1', now: clock.now(),
  });
  clock.advance(600_000);
  await extendToken(svc, operatorOf(contract.id), { tokenId: tok.id, days: 1, quotaMb: 50, now: clock.now() });
  t.same(await deliverDue(svc, { now: clock.now() }), { delivered: 1, failed: 0 });
  t.equal(nas.received.length, 1);
  const [coa] = nas.received;
  t.equal(coa.code, 43, 'CoA-Request');
  t.ok(coa.requestAuthenticatorValid, 'Request Authenticator: MD5 over the packet with 16 zero octets, then the secret');
  t.ok(coa.messageAuthenticatorValid, 'Message-Authenticator: HMAC-MD5 with the secret');
  t.equal(text(coa, 1), mac(1), 'User-Name');
  t.equal(text(coa, 31), mac(1), 'Calling-Station-Id');
  t.equal(uint(coa, 27), 2 * 86_400 - 600, 'Session-Timeout: two days less the ten minutes gone');
  t.equal(text(coa, 44), '8100000a', 'Acct-Session-Id of the accounted session');
  t.same((coa.attributes.find((a) => a[0] === 8) as [number, Buffer])[1], Buffer.from([10, 5, 50, 23]), 'Framed-IP-Address');
  t.same((coa.attributes.find((a) => a[0] === 4) as [number, Buffer])[1], Buffer.from([192, 0, 2, 1]), 'NAS-IP-Address');
  // 150 MiB = 157 286 400 bytes.
  t.same(vendor(coa), [
    [14122, 8, 4_000_000],
    [14122, 7, 1_000_000],
    [14988, 8, '1000k/4000k'],
    [14988, 17, 157_286_400],
    [14988, 18, 0],
  ]);
  t.same(await deliverDue(svc, { now: clock.now() }), { delivered: 0, failed: 0 }, 'sent once');
});

t.test('a CoA-NAK or silence is retried from the outbox; a copy no longer active is not pushed', async (t) => {
  const { svc, clock } = await testEnv(t, LOOPBACK);
  const nas = await coaListener(t, SECRET);
  const { contract, network } = await site(svc, 'coova', { radiusHost: '127.0.0.1', radiusPort: nas.port, radiusSecret: SECRET });
  const tok = await makeToken(svc, contract.id, { durationDays: 1, quotaMb: 10 });
  await activateToken(svc, { networkId: network.id, mac: mac(1), code: tok.code, now: clock.now() });
  await extendToken(svc, operatorOf(contract.id), { tokenId: tok.id, days: 2, now: clock.now() });
  nas.state.answer = 'nak';
  t.same(await deliverDue(svc, { now: clock.now() }), { delivered: 0, failed: 1 }, 'NAK: failed');
  const { rows } = await svc.db.query<{ last_error: string; attempts: number }>(`select last_error, attempts from outbox where kind = 'coa'`);
  t.match(rows[0], { attempts: 1, last_error: /refused the CoA-Request \(Error-Cause 406\)/ });
  nas.state.answer = 'ack';
  clock.advance(10_000);
  t.same(await deliverDue(svc, { now: clock.now() }), { delivered: 1, failed: 0 }, 'the retry goes through');
  const last = nas.received[nas.received.length - 1];
  t.equal(text(last, 31), mac(1).replace(/:/g, '-'), 'Chilli spells the MAC with dashes');
  t.equal(uint(last, 27), 3 * 86_400 - 10, 'the retry carries the Session-Timeout as of its sending');
  t.same(vendor(last), [[14559, 3, 10 * 1024 * 1024]], 'ChilliSpot-Max-Total-Octets');

  // Extended, then annulled before the worker ran: nothing to push.
  const other = await makeToken(svc, contract.id, { durationDays: 1 });
  await activateToken(svc, { networkId: network.id, mac: mac(2), code: other.code, now: clock.now() });
  await extendToken(svc, operatorOf(contract.id), { tokenId: other.id, days: 1, now: clock.now() });
  await svc.db.query(`update tokens set status = 'annulled', end_reason = 'annulled' where id = $1`, [other.id]);
  const before = nas.received.length;
  t.same(await deliverDue(svc, { now: clock.now() }), { delivered: 1, failed: 0 }, 'done without a packet');
  t.equal(nas.received.length, before);
});

t.test('a network whose controller takes no updates queues no CoA; one without a NAS listener sends nothing', async (t) => {
  const { svc, clock } = await testEnv(t, LOOPBACK);
  for (const [kind, settings] of [
    ['generic', {}],
    ['meraki', {}],
    ['opennds', { faskey: 'k' }],
  ] as const) {
    const { contract, network } = await site(svc, kind, settings);
    const tok = await makeToken(svc, contract.id, { durationDays: 1 });
    await activateToken(svc, { networkId: network.id, mac: mac(), code: tok.code, now: clock.now() });
    await extendToken(svc, operatorOf(contract.id), { tokenId: tok.id, days: 1, now: clock.now() });
  }
  t.equal((await svc.db.query(`select 1 from outbox where kind = 'coa'`)).rowCount, 0, 'generic, meraki, opennds: nothing queued');
  const { contract, network } = await site(svc, 'mikrotik', {});
  const tok = await makeToken(svc, contract.id, { durationDays: 1 });
  await activateToken(svc, { networkId: network.id, mac: mac(), code: tok.code, now: clock.now() });
  await extendToken(svc, operatorOf(contract.id), { tokenId: tok.id, days: 1, now: clock.now() });
  t.same(await deliverDue(svc, { now: clock.now() }), { delivered: 1, failed: 0 }, 'a MikroTik without radiusHost: the next login picks the change up');
});

t.test('UniFi: the grant carries up/down (kbit/s) and bytes (MB); an extension authorises the guest again', async (t) => {
  const { svc, clock } = await testEnv(t, LOOPBACK);
  const unifi = await fakeUnifi(t, { unifiOs: false });
  const adapter = createUnifiAdapter();
  t.teardown(() => adapter.close());
  const network = fakeNetwork('unifi', { unifiUrl: unifi.url, username: unifi.username, password: unifi.password });
  const context = { mac: 'AA:BB:CC:00:00:01', originalUrl: null, clientIp: null, params: {} };
  await adapter.grant(grantInput(network, context, { secondsRemaining: 3600, limits: { downKbps: 8000, upKbps: 2000, bytesRemaining: 500 * 1024 * 1024 } }));
  await adapter.grant(grantInput(network, { ...context, mac: 'AA:BB:CC:00:00:02' }, { secondsRemaining: 3600, limits: null }));
  const stamgr = unifi.state.calls.filter((c) => c.path.endsWith('/cmd/stamgr')).map((c) => c.body);
  t.same(stamgr, [
    { cmd: 'authorize-guest', mac: 'aa:bb:cc:00:00:01', minutes: 60, up: 2000, down: 8000, bytes: 500 },
    { cmd: 'authorize-guest', mac: 'aa:bb:cc:00:00:02', minutes: 60 },
  ]);

  // Through the outbox: an extension of a UniFi guest is a new authorize-guest with the new term.
  const { contract, network: stored } = await site(svc, 'unifi', { unifiUrl: unifi.url, username: unifi.username, password: unifi.password });
  const tok = await makeToken(svc, contract.id, { durationDays: 1, upKbps: 512 });
  await activateToken(svc, { networkId: stored.id, mac: mac(1), code: tok.code, now: clock.now() });
  await extendToken(svc, operatorOf(contract.id), { tokenId: tok.id, days: 1, now: clock.now() });
  t.same(await deliverDue(svc, { now: clock.now() }), { delivered: 1, failed: 0 });
  const last = unifi.state.calls.filter((c) => c.path.endsWith('/cmd/stamgr')).at(-1)!.body;
  t.same(last, { cmd: 'authorize-guest', mac: mac(1).toLowerCase(), minutes: (2 * DAY) / 60_000, up: 512 });
});

t.test('openNDS: with binauthLimits the auth URL carries the limits in `custom` (kb/s, kB, minutes); without, none', async (t) => {
  const context = { mac: 'AA:BB:CC:00:00:03', originalUrl: null, clientIp: null, params: { hid: 'abc123', gatewayaddress: '192.168.8.1:2050', authdir: 'opennds_auth' } };
  const settings = { faskey: 'key', loginHosts: '192.168.8.1:2050' };
  const limits = { downKbps: 3000, upKbps: 1000, bytesRemaining: 2 * 1024 * 1024 };
  const plain = await openndsAdapter.grant(grantInput(fakeNetwork('opennds', settings), context, { limits }));
  t.equal(plain.kind === 'redirect' && new URL(plain.url).searchParams.get('custom'), null);
  const withLimits = await openndsAdapter.grant(grantInput(fakeNetwork('opennds', { ...settings, binauthLimits: true }), context, { secondsRemaining: 5400, limits }));
  t.equal(
    withLimits.kind === 'redirect' && new URL(withLimits.url).searchParams.get('custom'),
    'sessionlength=90, uploadrate=1000, downloadrate=3000, uploadquota=2048, downloadquota=2048',
  );
  const unlimited = await openndsAdapter.grant(grantInput(fakeNetwork('opennds', { ...settings, binauthLimits: true }), context, { secondsRemaining: null, limits: null }));
  t.equal(
    unlimited.kind === 'redirect' && new URL(unlimited.url).searchParams.get('custom'),
    'sessionlength=0, uploadrate=0, downloadrate=0, uploadquota=0, downloadquota=0',
    '0 is "no limit" to openNDS',
  );
});
