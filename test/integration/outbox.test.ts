import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { activateToken } from '../../src/domain/activation.js';
import { insertNetwork } from '../../src/store/networks.js';
import { sweepExpired } from '../../src/domain/sweep.js';
import { annulToken, deleteToken } from '../../src/domain/tokens.js';
import { signWebhook } from '../../src/controllers/webhook.js';
import { backoffSeconds, deliverDue } from '../../src/worker/outbox.js';
import { startWorker } from '../../src/worker/schedule.js';
import { fakeUnifi } from '../helpers/fake-unifi.js';
import { attributeText, fakeNas } from '../helpers/nas.js';
import { makeContract, makeSite, makeToken, mac, operatorOf } from '../helpers/factories.js';
import { tempDir } from '../helpers/process.js';
import { DAY, testEnv } from '../helpers/services.js';
import type { Services } from '../../src/services.js';

// The fake controllers and receivers listen on loopback, which only the server's allow-list opens.
const LOOPBACK = { KALITKA_OUTBOUND_ALLOW: '127.0.0.0/8,::1/128' };

/** A webhook receiver that can be taken down and brought back on the same port. */
async function receiver(t: Parameters<typeof testEnv>[0]) {
  const got: Array<{ headers: IncomingMessage['headers']; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return {
    url: `http://127.0.0.1:${port}/hook`,
    got,
    down: () => new Promise<void>((r) => server.close(() => r())),
    up: () => new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r())),
  };
}

/** A contract with one network behind a fake UniFi controller of this test's own. */
async function unifiSite(t: Parameters<typeof testEnv>[0], svc: Services, unifiOs = false) {
  const unifi = await fakeUnifi(t, { unifiOs });
  const contract = await makeContract(svc);
  const network = await insertNetwork(svc.db, {
    contractId: contract.id,
    name: 'Lobby',
    controller: 'unifi',
    settings: { unifiUrl: unifi.url, username: unifi.username, password: unifi.password, unifiOs },
    targetsApproved: false,
    now: svc.now(),
  }).then((n) => n!);
  return { unifi, contract, network };
}

t.test('annulling a token de-authorises the device at its UniFi controller', async (t) => {
  const { svc, clock } = await testEnv(t, LOOPBACK);
  const { unifi, contract, network } = await unifiSite(t, svc);
  const tok = await makeToken(svc, contract.id, { durationDays: null });
  await activateToken(svc, { networkId: network.id, mac: mac(1), code: tok.code, now: clock.now() });
  await annulToken(svc, operatorOf(contract.id), { tokenId: tok.id, now: clock.now() });
  t.same(await deliverDue(svc, { now: clock.now() }), { delivered: 1, failed: 0 });
  const stamgr = unifi.state.calls.filter((c) => c.path.endsWith('/cmd/stamgr'));
  t.same(stamgr.map((c) => c.body), [{ cmd: 'unauthorize-guest', mac: mac(1).toLowerCase() }]);
  t.same(await deliverDue(svc, { now: clock.now() }), { delivered: 0, failed: 0 }, 'sent once');
});

t.test('expiry and deletion send an RFC 5176 Disconnect-Request to a MikroTik NAS', async (t) => {
  const { svc, clock } = await testEnv(t, LOOPBACK);
  const nas = await fakeNas(t, 'nas-secret', 'ack');
  const contract = await makeContract(svc);
  const network = await insertNetwork(svc.db, {
    contractId: contract.id,
    name: 'Hall',
    controller: 'mikrotik',
    settings: { radiusHost: '127.0.0.1', radiusPort: nas.port, radiusSecret: 'nas-secret' },
    targetsApproved: false,
    now: clock.now(),
  }).then((n) => n!);
  const day = await makeToken(svc, contract.id, { durationDays: 1 });
  const other = await makeToken(svc, contract.id, { durationDays: null });
  await activateToken(svc, { networkId: network.id, mac: mac(1), code: day.code, now: clock.now() });
  await activateToken(svc, { networkId: network.id, mac: mac(2), code: other.code, now: clock.now() });
  await deleteToken(svc, operatorOf(contract.id), { tokenId: other.id, now: clock.now() });
  clock.advance(DAY);
  await sweepExpired(svc, { now: clock.now() });
  t.same(await deliverDue(svc, { now: clock.now() }), { delivered: 2, failed: 0 });
  t.equal(nas.received.length, 2);
  t.ok(nas.received.every((r) => r.code === 40 && r.authenticatorValid), 'Disconnect-Requests with valid authenticators');
  const macs = nas.received.map((r) => attributeText(r).find(([type]) => type === 31)?.[1]).sort();
  t.same(macs, [mac(1), mac(2)], 'Calling-Station-Id names each device');
});

t.test('a webhook whose receiver is down is retried with backoff and delivered once when it returns', async (t) => {
  const { svc, clock } = await testEnv(t, LOOPBACK);
  const hook = await receiver(t);
  const contract = await makeContract(svc);
  const network = await insertNetwork(svc.db, {
    contractId: contract.id,
    name: 'Cafe',
    controller: 'generic',
    settings: { webhookUrl: hook.url, webhookSecret: 'webhook-secret-0123456789' },
    targetsApproved: false,
    now: clock.now(),
  }).then((n) => n!);
  const tok = await makeToken(svc, contract.id, { durationDays: 1 });
  await hook.down();
  await activateToken(svc, { networkId: network.id, mac: mac(1), code: tok.code, now: clock.now() });
  t.same(await deliverDue(svc, { now: clock.now() }), { delivered: 0, failed: 1 });
  t.same(await deliverDue(svc, { now: clock.now() }), { delivered: 0, failed: 0 }, 'not retried before its backoff');
  await hook.up();
  clock.advance(backoffSeconds(1) * 1000);
  t.same(await deliverDue(svc, { now: clock.now() }), { delivered: 1, failed: 0 });
  clock.advance(3600_000);
  t.same(await deliverDue(svc, { now: clock.now() }), { delivered: 0, failed: 0 });
  t.equal(hook.got.length, 1, 'delivered exactly once');
  const [got] = hook.got;
  t.equal(got.headers['x-kalitka-event'], 'identification.started');
  t.equal(got.headers['x-kalitka-signature'], signWebhook('webhook-secret-0123456789', got.body), 'signed with the network secret');
  t.match(JSON.parse(got.body), { type: 'identification.started', mac: mac(1), networkId: network.id, code: tok.code, endedAt: null });
  const row = await svc.db.query<{ attempts: number; done: boolean }>(`select attempts, done_at is not null as done from outbox`);
  t.same(row.rows, [{ attempts: 2, done: true }]);
});

t.test('a restart between the end of an identification and its de-authorisation still de-authorises', async (t) => {
  const env = await testEnv(t, { ...LOOPBACK, KALITKA_DATA_DIR: tempDir() });
  const { unifi, contract, network } = await unifiSite(t, env.svc, true);
  const tok = await makeToken(env.svc, contract.id, { durationDays: 1 });
  await activateToken(env.svc, { networkId: network.id, mac: mac(7), code: tok.code, now: env.clock.now() });
  env.clock.advance(DAY);
  await sweepExpired(env.svc, { now: env.clock.now() });
  // The process dies here, before any controller call.
  const fresh = await env.restart(env.svc);
  t.same(await deliverDue(fresh, { now: env.clock.now() }), { delivered: 1, failed: 0 });
  t.same(unifi.state.calls.filter((c) => c.path.endsWith('/cmd/stamgr')).map((c) => c.body), [{ cmd: 'unauthorize-guest', mac: mac(7).toLowerCase() }]);
});

t.test('re-entering on the same network does not de-authorise the device that was just let in', async (t) => {
  const { svc, clock } = await testEnv(t, LOOPBACK);
  const { contract, network } = await makeSite(svc);
  const one = await makeToken(svc, contract.id);
  const two = await makeToken(svc, contract.id);
  await activateToken(svc, { networkId: network.id, mac: mac(1), code: one.code, now: clock.now() });
  await activateToken(svc, { networkId: network.id, mac: mac(1), code: two.code, now: clock.now() });
  const rows = await svc.db.query(`select 1 from outbox where kind = 'revoke'`);
  t.equal(rows.rowCount, 0);
});

t.test('the worker sweeps at start and delivers the de-authorisations it queued', async (t) => {
  const { svc, clock } = await testEnv(t, LOOPBACK);
  const { unifi, contract, network } = await unifiSite(t, svc);
  const tok = await makeToken(svc, contract.id, { durationDays: 1 });
  await activateToken(svc, { networkId: network.id, mac: mac(3), code: tok.code, now: clock.now() });
  clock.advance(DAY + 1);
  const stop = await startWorker(svc);
  t.teardown(stop);
  const deadline = Date.now() + 10_000;
  while (!unifi.state.calls.some((c) => c.path.endsWith('/cmd/stamgr')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const row = await svc.db.query<{ status: string }>(`select status from tokens where id = $1`, [tok.id]);
  t.equal(row.rows[0].status, 'expired');
  t.same(unifi.state.calls.filter((c) => c.path.endsWith('/cmd/stamgr')).map((c) => c.body), [{ cmd: 'unauthorize-guest', mac: mac(3).toLowerCase() }]);
});
