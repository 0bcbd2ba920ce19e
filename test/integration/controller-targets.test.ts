import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import t, { type Test } from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import { activateToken } from '../../src/domain/activation.js';
import { annulToken } from '../../src/domain/tokens.js';
import { buildApp } from '../../src/http/app.js';
import { refusalOf, outboundPolicy } from '../../src/net/outbound.js';
import { deliverDue } from '../../src/worker/outbox.js';
import { fakeUnifi } from '../helpers/fake-unifi.js';
import { mac, makeContract, makeNetwork, makeToken, makeUser, operatorOf } from '../helpers/factories.js';
import { fakeNas } from '../helpers/nas.js';
import { signedIn, textOf } from '../helpers/panel.js';
import { testEnv } from '../helpers/services.js';

const LOOPBACK = { KALITKA_OUTBOUND_ALLOW: '127.0.0.0/8,::1/128' };
const ctxOf = (html: string) => /name="ctx" value="([^"]+)"/.exec(html)?.[1] ?? '';

async function arrange(t: Test, env: Record<string, string> = {}) {
  const e = await testEnv(t, env);
  const app = await buildApp(e.svc);
  t.teardown(() => app.close());
  const contract = await makeContract(e.svc);
  const operator = await makeUser(e.svc, contract.id);
  const admin = await makeUser(e.svc, null);
  /** Every answer of this test, to look for the code in any Location afterwards. */
  const seen: LightMyRequestResponse[] = [];
  const get = async (url: string) => {
    const res = await app.inject(url);
    seen.push(res);
    return res;
  };
  const activate = async (networkId: string, query: Record<string, string>, code: string) => {
    const page = await get(`/portal/${networkId}?${new URLSearchParams(query)}`);
    const res = await app.inject({
      method: 'POST',
      url: `/portal/${networkId}/activate`,
      payload: new URLSearchParams({ token: code, ctx: ctxOf(page.body) }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    seen.push(res);
    return res;
  };
  const saveNetwork = (auth: Record<string, string>, body: Record<string, unknown>) =>
    app.inject({ method: 'POST', url: `/api/v1/contracts/${contract.id}/networks`, headers: auth, payload: { name: 'Site', ...body } });
  return { ...e, app, contract, operator, admin, seen, get, activate, saveNetwork };
}

t.test('the attack: a crafted link naming a foreign login host for an identified device is 400, and no Location ever carries its code', async (t) => {
  const { svc, contract, seen, get, activate } = await arrange(t);
  const network = await makeNetwork(svc, contract.id, 'mikrotik', { loginHosts: '10.5.50.1' });
  const device = mac();
  const tok = await makeToken(svc, contract.id, { multiUse: true, durationDays: null });
  const signedIn = await activate(network.id, { mac: device, 'link-login-only': 'http://10.5.50.1/login' }, tok.code);
  t.equal(signedIn.statusCode, 303, 'the device is identified');

  const crafted = [
    'http://attacker.example/',
    'http://10.5.50.1.attacker.example/login',
    'http://attacker.example/login?host=10.5.50.1',
    'https://10.5.50.1@attacker.example/',
    'http://10.5.50.2/login',
  ];
  for (const target of crafted) {
    const res = await get(`/portal/${network.id}?${new URLSearchParams({ mac: device, 'link-login-only': target })}`);
    t.equal(res.statusCode, 400, target);
    t.equal(res.headers.location, undefined, 'no redirect at all');
    t.notMatch(res.body, tok.code, 'the code is not on the page either');
  }
  const refused = await get(`/portal/${network.id}?${new URLSearchParams({ mac: device, 'link-login-only': 'http://attacker.example/' })}`);
  t.equal(refused.headers['x-refusal'], 'INVALID_REDIRECT');
  t.match(refused.body, /loginHosts/, 'the page names the setting the operator must change');

  const back = await get(`/portal/${network.id}?${new URLSearchParams({ mac: device, 'link-login-only': 'http://10.5.50.1/login' })}`);
  t.equal(back.statusCode, 303, 'the pinned router still lets the device straight through');
  const locations = seen.map((r) => r.headers.location).filter(Boolean);
  t.equal(locations.length, 2);
  for (const location of locations) {
    t.match(location, /^http:\/\/10\.5\.50\.1\/login\?/, 'only the pinned host');
    t.notMatch(location, tok.code);
  }
});

t.test('a network saved before loginHosts fails closed, and the refusal says what to set', async (t) => {
  const { svc, contract, get, activate } = await arrange(t);
  const network = await makeNetwork(svc, contract.id, 'mikrotik', {});
  const tok = await makeToken(svc, contract.id);
  const device = mac();
  await activateToken(svc, { networkId: network.id, mac: device, code: tok.code, now: svc.now() });
  const res = await get(`/portal/${network.id}?${new URLSearchParams({ mac: device, 'link-login-only': 'http://10.5.50.1/login', lang: 'en' })}`);
  t.equal(res.statusCode, 400);
  t.match(res.body, 'must add its address to the network&#x27;s loginHosts setting');
  const fresh = await activate(network.id, { mac: mac(), 'link-login-only': 'http://10.5.50.1/login' }, (await makeToken(svc, contract.id)).code);
  t.equal(fresh.statusCode, 400, 'no form to type a code into either');
});

t.test('each controller with a browser-side login is pinned: coova, meraki and opennds', async (t) => {
  const { svc, contract, get } = await arrange(t);
  const coova = await makeNetwork(svc, contract.id, 'coova', { loginHosts: '10.1.0.1:3990' });
  const meraki = await makeNetwork(svc, contract.id, 'meraki', { loginHosts: '*.network-auth.com' });
  const opennds = await makeNetwork(svc, contract.id, 'opennds', { faskey: 'k'.repeat(32), loginHosts: '192.168.8.1:2050' });
  const device = mac();
  for (const n of [coova, meraki, opennds]) {
    const tok = await makeToken(svc, contract.id);
    await activateToken(svc, { networkId: n.id, mac: device, code: tok.code, now: svc.now() });
  }
  const challenge = 'c731395aca5dcf45446c0ae83db5319e';
  const fas = (gateway: string) =>
    Buffer.from(`clientip=192.168.8.23, clientmac=${device}, hid=abc123, gatewayaddress=${gateway}, authdir=opennds_auth`).toString('base64');
  const cases: Array<[string, Record<string, string>, Record<string, string>, RegExp]> = [
    [coova.id, { mac: device, uamip: '10.1.0.1', uamport: '3990', challenge }, { uamip: '203.0.113.66' }, /^http:\/\/10\.1\.0\.1:3990\/logon\?/],
    [meraki.id, { client_mac: device, base_grant_url: 'https://n143.network-auth.com/splash/grant' }, { base_grant_url: 'https://attacker.example/splash/grant' }, /^https:\/\/n143\.network-auth\.com\/splash\/grant\?/],
    [opennds.id, { fas: fas('192.168.8.1:2050') }, { fas: fas('203.0.113.66:2050') }, /^http:\/\/192\.168\.8\.1:2050\/opennds_auth\/\?tok=/],
  ];
  for (const [id, good, bad, location] of cases) {
    const ok = await get(`/portal/${id}?${new URLSearchParams(good)}`);
    t.equal(ok.statusCode, 303, `${id} pinned`);
    t.match(ok.headers.location, location);
    const refused = await get(`/portal/${id}?${new URLSearchParams({ ...good, ...bad })}`);
    t.equal(refused.statusCode, 400, JSON.stringify(bad));
    t.equal(refused.headers['x-refusal'], 'INVALID_REDIRECT');
    t.equal(refused.headers.location, undefined);
  }
});

t.test('saving a network that points at a refused address is 422 with the reason', async (t) => {
  const { admin, operator, saveNetwork, svc } = await arrange(t);
  const secret = { webhookSecret: 'webhook-secret-0123456789' };
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ controller: 'unifi', unifiUrl: 'https://127.0.0.1:8443', username: 'u', password: 'p' }, /^unifiUrl: 127\.0\.0\.1 is a loopback address/],
    [{ controller: 'generic', webhookUrl: 'http://169.254.169.254/latest/meta-data/', ...secret }, /^webhookUrl: 169\.254\.169\.254 is a link-local address/],
    [{ controller: 'unifi', unifiUrl: 'https://[::1]:6379', username: 'u', password: 'p' }, /^unifiUrl: ::1 is a loopback address/],
    [{ controller: 'generic', webhookUrl: 'http://localhost:5432/', ...secret }, /^webhookUrl: localhost resolves to (127\.0\.0\.1|::1), a loopback address/],
    [{ controller: 'mikrotik', radiusHost: '127.0.0.1', radiusSecret: 's' }, /^radiusHost: 127\.0\.0\.1 is a loopback address, which only the server's KALITKA_OUTBOUND_ALLOW can open$/],
  ];
  for (const [body, message] of cases) {
    for (const who of [operator, admin]) {
      const res = await saveNetwork(who.auth, body);
      t.equal(res.statusCode, 422, JSON.stringify(body));
      t.equal(res.json().error.code, 'OUTBOUND_REFUSED');
      t.match(res.json().error.message, message);
    }
  }
  const count = await svc.db.query<{ n: number }>(`select count(*)::int as n from networks`);
  t.equal(count.rows[0].n, 0, 'nothing was saved');
});

t.test('a private target needs a system administrator: an operator gets 422 saying so, an administrator approves by saving', async (t) => {
  const { admin, operator, saveNetwork, svc, app, contract } = await arrange(t);
  const body = { controller: 'mikrotik', radiusHost: '192.168.88.1', radiusSecret: 's', loginHosts: '192.168.88.1' };
  const refused = await saveNetwork(operator.auth, body);
  t.equal(refused.statusCode, 422);
  t.same(refused.json().error, {
    code: 'OUTBOUND_REFUSED',
    message: "radiusHost: 192.168.88.1 is a private (RFC 1918) address: a system administrator can approve it by saving this network's settings",
    setting: 'radiusHost',
    address: '192.168.88.1',
    reason: 'private',
  });
  const saved = await saveNetwork(admin.auth, body);
  t.equal(saved.statusCode, 201);
  const publicOne = await saveNetwork(operator.auth, { ...body, radiusHost: '203.0.113.9' });
  t.equal(publicOne.statusCode, 201, 'an operator may name a public address');
  const { rows } = await svc.db.query<{ id: string; targets_approved: boolean }>(`select id, targets_approved from networks`);
  t.same(Object.fromEntries(rows.map((r) => [r.id, r.targets_approved])), { [saved.json().id]: true, [publicOne.json().id]: false });

  // The panel refuses the operator the same way and says who can approve.
  const { client } = await signedIn(app, svc, contract.id);
  await client.get('/admin/networks');
  const form = await client.post('/admin/networks', { contract: contract.id, name: 'Hall', controller: 'coova', settings: 'radiusHost=10.0.0.1\nradiusSecret=s' });
  t.equal(form.statusCode, 422);
  t.equal(textOf(form.body, 'error'), 'Настройка radiusHost: 10.0.0.1 — адрес частной сети; разрешить его может системный администратор, сохранив настройки этой сети.', "in the panel's language");
  const en = await client.post('/admin/networks?lang=en', { contract: contract.id, name: 'Hall', controller: 'coova', settings: 'radiusHost=127.0.0.1\nradiusSecret=s' });
  t.equal(en.statusCode, 422);
  t.equal(textOf(en.body, 'error'), "The setting radiusHost: 127.0.0.1 is a loopback or link-local address, which only the server's KALITKA_OUTBOUND_ALLOW can open.");
});

t.test('without the allow-list every call to a loopback controller is refused when it connects, and nothing reaches it', async (t) => {
  const { svc, contract, activate, clock } = await arrange(t);
  const unifi = await fakeUnifi(t, { unifiOs: false });
  const nas = await fakeNas(t, 'nas-secret', 'ack');
  const hook = await receiver(t, '127.0.0.1');
  // Saved before the gate existed (straight into the store): only the gate at connect time stands between.
  const site = await makeNetwork(svc, contract.id, 'unifi', {
    unifiUrl: unifi.url.replace('127.0.0.1', 'localhost'),
    username: unifi.username,
    password: unifi.password,
    webhookUrl: hook.url,
    webhookSecret: 'webhook-secret-0123456789',
  });
  const tok = await makeToken(svc, contract.id);
  const res = await activate(site.id, { id: mac(), url: 'http://example.com/' }, tok.code);
  t.equal(res.statusCode, 502, 'the guest is told the access point did not answer');
  t.equal(unifi.state.calls.length, 0, 'the UniFi login (with its password) was never sent');

  const radiusSite = await makeNetwork(svc, contract.id, 'mikrotik', { radiusHost: '127.0.0.1', radiusPort: nas.port, radiusSecret: 'nas-secret' });
  const other = await makeToken(svc, contract.id);
  await activateToken(svc, { networkId: radiusSite.id, mac: mac(), code: other.code, now: clock.now() });
  await annulToken(svc, operatorOf(contract.id), { tokenId: tok.id, now: clock.now() });
  await annulToken(svc, operatorOf(contract.id), { tokenId: other.id, now: clock.now() });
  t.same(await deliverDue(svc, { now: clock.now() }), { delivered: 0, failed: 4 }, 'two webhooks, the revoke at UniFi and the Disconnect: all refused');
  const errors = await svc.db.query<{ kind: string; last_error: string }>(`select kind, last_error from outbox order by kind, id`);
  for (const row of errors.rows) t.match(row.last_error, /may not be called: .*loopback address/, row.kind);
  t.equal(hook.got.length, 0);
  t.equal(nas.received.length, 0);
});

t.test('with KALITKA_OUTBOUND_ALLOW the same loopback controller is reached', async (t) => {
  const { svc, contract, activate } = await arrange(t, LOOPBACK);
  const unifi = await fakeUnifi(t, { unifiOs: false });
  const site = await makeNetwork(svc, contract.id, 'unifi', { unifiUrl: unifi.url, username: unifi.username, password: unifi.password });
  const res = await activate(site.id, { id: mac(), url: 'http://example.com/' }, (await makeToken(svc, contract.id)).code);
  t.equal(res.statusCode, 200);
  t.same(unifi.state.calls.map((c) => c.path), ['/api/login', '/api/s/default/cmd/stamgr']);
});

/** A private address of this machine (RFC 1918, 100.64/10 or fc00::/7), to listen on; null when it has none. */
function privateLocalAddress(): string | null {
  const probe = outboundPolicy([], false);
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal && refusalOf(a.address, probe)?.reason === 'private') return a.address;
  }
  return null;
}

async function receiver(t: Test, host: string) {
  const got: IncomingMessage['headers'][] = [];
  const server = createServer((req, res) => {
    got.push(req.headers);
    req.resume().on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/hook`, got };
}

t.test('at run time a private webhook is called for an approved network and refused for an unapproved one', async (t) => {
  const { svc, contract, clock } = await arrange(t);
  // A private address this machine has (docker bridges, LAN, ULA); without one, an unrouted one:
  // the approved call then fails later, but not at the gate.
  const local = privateLocalAddress();
  const hook = local ? await receiver(t, local) : { url: 'http://10.255.255.1:9/hook', got: [] };
  const settings = { webhookUrl: hook.url, webhookSecret: 'webhook-secret-0123456789' };
  const approved = await makeNetwork(svc, contract.id, 'generic', settings);
  await svc.db.query(`update networks set targets_approved = true where id = $1`, [approved.id]);
  const unapproved = await makeNetwork(svc, contract.id, 'generic', settings);
  for (const n of [approved, unapproved]) {
    await activateToken(svc, { networkId: n.id, mac: mac(), code: (await makeToken(svc, contract.id)).code, now: clock.now() });
  }
  await deliverDue(svc, { now: clock.now() });
  const { rows } = await svc.db.query<{ network_id: string; done: boolean; last_error: string | null }>(
    `select network_id, done_at is not null as done, last_error from outbox`,
  );
  const byNetwork = Object.fromEntries(rows.map((r) => [r.network_id, r]));
  t.match(byNetwork[unapproved.id].last_error, /may not be called: .* address: a system administrator can approve it/);
  t.notMatch(byNetwork[approved.id].last_error ?? '', /may not be called/, 'the approved one passed the gate');
  if (local) {
    t.equal(byNetwork[approved.id].done, true, `delivered to ${local}`);
    t.equal(hook.got.length, 1, 'exactly the approved network\'s event arrived');
  }
});
