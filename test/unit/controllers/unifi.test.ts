import t, { type Test } from 'tap';
import { createUnifiAdapter, UNLIMITED_MINUTES } from '../../../src/controllers/unifi.js';
import type { NetworkSettings } from '../../../src/domain/networks.js';
import { AppError } from '../../../src/errors.js';
import { fakeNetwork, LOOPBACK_OK as outbound, NOW as now, SECRET, STRICT, thrown } from '../../helpers/controllers.js';
import { fakeUnifi } from '../../helpers/fake-unifi.js';

// What every grant is handed besides network, context and time (UniFi grants server-side: no secret).
const extras = { outbound, grantSecret: async () => SECRET };

function adapter(t: Test, timeoutMs?: number) {
  const a = createUnifiAdapter({ timeoutMs });
  t.teardown(() => a.close());
  return a;
}

// The external portal redirect: /guest/s/default/?id=<client>&ap=<ap>&t=<time>&url=<orig>&ssid=<ssid>
const redirect = { id: 'f0:18:98:aa:bb:cc', ap: '78:8a:20:11:22:33', t: '1795428000', url: 'http://example.com/', ssid: 'Guest' };

t.test('the redirect gives the client MAC, original URL, AP and SSID', async (t) => {
  t.same(adapter(t).parseRedirect(redirect, fakeNetwork('unifi')), {
    mac: 'F0:18:98:AA:BB:CC',
    originalUrl: 'http://example.com/',
    clientIp: null,
    params: { ap: '78:8A:20:11:22:33', ssid: 'Guest' },
  });
  t.equal((thrown(() => adapter(t).parseRedirect({ ...redirect, id: '' }, fakeNetwork('unifi'))) as AppError).code, 'INVALID_MAC');
});

t.test('classic controller: one login, then authorize-guest with the minutes left; the session is kept', async (t) => {
  const ctl = await fakeUnifi(t, { unifiOs: false });
  const unifi = adapter(t);
  const network = fakeNetwork('unifi', { unifiUrl: ctl.url, username: ctl.username, password: ctl.password, site: 'default' });
  const context = unifi.parseRedirect(redirect, fakeNetwork('unifi'));

  const grant = await unifi.grant({ network, context, ...extras, secondsRemaining: 5401, now });
  t.same(grant, { kind: 'done', continueUrl: 'http://example.com/' });
  await unifi.grant({ network, context: { ...context, params: {} }, ...extras, secondsRemaining: 60, now });

  t.same(ctl.state.calls, [
    { path: '/api/login', cookie: null, csrf: null, body: { username: 'portal', password: 'pa55word' }, status: 200 },
    {
      path: '/api/s/default/cmd/stamgr',
      cookie: 'unifises=S1; csrf_token=C1',
      csrf: 'C1',
      body: { cmd: 'authorize-guest', mac: 'f0:18:98:aa:bb:cc', minutes: 91, ap_mac: '78:8a:20:11:22:33' },
      status: 200,
    },
    {
      path: '/api/s/default/cmd/stamgr',
      cookie: 'unifises=S1; csrf_token=C1',
      csrf: 'C1',
      body: { cmd: 'authorize-guest', mac: 'f0:18:98:aa:bb:cc', minutes: 1 },
      status: 200,
    },
  ]);
});

t.test('guests arriving together share one login', async (t) => {
  const ctl = await fakeUnifi(t, { unifiOs: true });
  const unifi = adapter(t);
  const network = fakeNetwork('unifi', { unifiUrl: ctl.url, username: ctl.username, password: ctl.password, unifiOs: true });
  const macs = ['f0:18:98:00:00:01', 'f0:18:98:00:00:02', 'f0:18:98:00:00:03'];
  await Promise.all(macs.map((id) => unifi.grant({ network, context: unifi.parseRedirect({ id }, fakeNetwork('unifi')), ...extras, secondsRemaining: 600, now })));
  t.equal(ctl.state.calls.filter((c) => c.path === '/api/auth/login').length, 1);
  t.same(ctl.state.calls.filter((c) => c.path !== '/api/auth/login').map((c) => c.body?.mac).sort(), macs);
});

t.test('an expired session (401) logs in again once and repeats the command', async (t) => {
  const ctl = await fakeUnifi(t, { unifiOs: false });
  const unifi = adapter(t);
  const network = fakeNetwork('unifi', { unifiUrl: ctl.url, username: ctl.username, password: ctl.password });
  const context = unifi.parseRedirect(redirect, fakeNetwork('unifi'));
  await unifi.grant({ network, context, ...extras, secondsRemaining: 120, now });
  ctl.state.expireSessions();
  await unifi.revoke!({ network, mac: 'F0:18:98:AA:BB:CC', now, outbound });

  t.same(
    ctl.state.calls.map((c) => [c.path, c.status, c.cookie, c.body?.cmd ?? null]),
    [
      ['/api/login', 200, null, null],
      ['/api/s/default/cmd/stamgr', 200, 'unifises=S1; csrf_token=C1', 'authorize-guest'],
      ['/api/s/default/cmd/stamgr', 401, 'unifises=S1; csrf_token=C1', 'unauthorize-guest'],
      ['/api/login', 200, null, null],
      ['/api/s/default/cmd/stamgr', 200, 'unifises=S2; csrf_token=C2', 'unauthorize-guest'],
    ],
  );
  t.same(ctl.state.calls[4].body, { cmd: 'unauthorize-guest', mac: 'f0:18:98:aa:bb:cc' });
});

t.test('UniFi OS: login at /api/auth/login, the Network API under /proxy/network with the X-CSRF-Token', async (t) => {
  const ctl = await fakeUnifi(t, { unifiOs: true });
  const unifi = adapter(t);
  const network = fakeNetwork('unifi', { unifiUrl: `${ctl.url}/`, username: ctl.username, password: ctl.password, site: 'x7k2m9qa', unifiOs: true });
  const context = unifi.parseRedirect({ id: 'f0:18:98:aa:bb:cc', url: 'https://example.com/a' }, fakeNetwork('unifi'));

  t.same(await unifi.grant({ network, context, ...extras, secondsRemaining: null, now }), { kind: 'done', continueUrl: 'https://example.com/a' });
  await unifi.revoke!({ network, mac: 'F0:18:98:AA:BB:CC', now, outbound });

  t.same(ctl.state.calls, [
    { path: '/api/auth/login', cookie: null, csrf: null, body: { username: 'portal', password: 'pa55word' }, status: 200 },
    {
      path: '/proxy/network/api/s/x7k2m9qa/cmd/stamgr',
      cookie: 'TOKEN=S1',
      csrf: 'C1',
      body: { cmd: 'authorize-guest', mac: 'f0:18:98:aa:bb:cc', minutes: UNLIMITED_MINUTES },
      status: 200,
    },
    {
      path: '/proxy/network/api/s/x7k2m9qa/cmd/stamgr',
      cookie: 'TOKEN=S1',
      csrf: 'C1',
      body: { cmd: 'unauthorize-guest', mac: 'f0:18:98:aa:bb:cc' },
      status: 200,
    },
  ]);
  t.equal(UNLIMITED_MINUTES, 525_600);
});

t.test('a controller error surfaces as CONTROLLER_ERROR (502) with its message', async (t) => {
  const ctl = await fakeUnifi(t, { unifiOs: false });
  const unifi = adapter(t);
  const network = fakeNetwork('unifi', { unifiUrl: ctl.url, username: ctl.username, password: ctl.password });
  const context = unifi.parseRedirect(redirect, fakeNetwork('unifi'));

  ctl.state.failNext = { status: 400, body: { meta: { rc: 'error', msg: 'api.err.InvalidPayload' }, data: [] } };
  const err = await unifi.grant({ network, context, ...extras, secondsRemaining: 60, now }).catch((e) => e);
  t.ok(err instanceof AppError);
  t.equal(err.status, 502);
  t.equal(err.code, 'CONTROLLER_ERROR');
  t.equal(err.message, 'The UniFi controller refused authorize-guest');
  t.same(err.details, { status: 400, msg: 'api.err.InvalidPayload' });

  // A 200 whose meta says error is a refusal too.
  ctl.state.failNext = { status: 200, body: { meta: { rc: 'error', msg: 'api.err.UnknownStation' }, data: [] } };
  const err2 = await unifi.revoke!({ network, mac: 'F0:18:98:AA:BB:CC', now, outbound }).catch((e) => e);
  t.equal(err2.code, 'CONTROLLER_ERROR');
  t.same(err2.details, { status: 200, msg: 'api.err.UnknownStation' });
});

t.test('a refused login is CONTROLLER_ERROR and never echoes the password', async (t) => {
  for (const unifiOs of [false, true]) {
    const ctl = await fakeUnifi(t, { unifiOs });
    const unifi = adapter(t);
    const settings: NetworkSettings = { unifiUrl: ctl.url, username: ctl.username, password: 'wrong-Secret-42', unifiOs };
    const err = await unifi.grant({ network: fakeNetwork('unifi', settings), context: unifi.parseRedirect(redirect, fakeNetwork('unifi')), ...extras, secondsRemaining: 60, now }).catch((e) => e);
    t.ok(err instanceof AppError);
    t.equal(err.status, 502);
    t.equal(err.code, 'CONTROLLER_ERROR');
    t.equal(err.message, 'The UniFi controller refused the login');
    t.same(err.details, { status: unifiOs ? 401 : 400, msg: unifiOs ? null : 'api.err.Invalid' });
    t.notMatch(JSON.stringify({ m: err.message, d: err.details }), 'wrong-Secret-42');
    t.equal(ctl.state.calls.length, 1, 'no command without a session');
  }
});

t.test('a controller that does not answer times out as CONTROLLER_ERROR', async (t) => {
  const ctl = await fakeUnifi(t, { unifiOs: false });
  ctl.state.hang = true;
  const unifi = adapter(t, 150);
  const network = fakeNetwork('unifi', { unifiUrl: ctl.url, username: ctl.username, password: ctl.password });
  const started = Date.now();
  const err = await unifi.grant({ network, context: unifi.parseRedirect(redirect, fakeNetwork('unifi')), ...extras, secondsRemaining: 60, now }).catch((e) => e);
  t.ok(err instanceof AppError);
  t.equal(err.code, 'CONTROLLER_ERROR');
  t.equal(err.message, 'The UniFi controller could not be reached');
  t.ok(Date.now() - started < 2000, 'gave up after its timeout');
});

t.test('a self-signed console is refused unless insecureTls is set', async (t) => {
  const ctl = await fakeUnifi(t, { unifiOs: true, tls: true });
  const unifi = adapter(t);
  const settings = { unifiUrl: ctl.url, username: ctl.username, password: ctl.password, unifiOs: true };
  const context = unifi.parseRedirect(redirect, fakeNetwork('unifi'));
  const err = await unifi.grant({ network: fakeNetwork('unifi', settings), context, ...extras, secondsRemaining: 60, now }).catch((e) => e);
  t.ok(err instanceof AppError);
  t.equal(err.code, 'CONTROLLER_ERROR');
  t.equal(err.details.reason, 'DEPTH_ZERO_SELF_SIGNED_CERT');
  t.equal(ctl.state.calls.length, 0, 'the TLS handshake failed before any request');

  const ok = await unifi.grant({ network: fakeNetwork('unifi', { ...settings, insecureTls: true }), context, ...extras, secondsRemaining: 60, now });
  t.same(ok, { kind: 'done', continueUrl: 'http://example.com/' });
  t.same(ctl.state.calls.map((c) => c.path), ['/api/auth/login', '/proxy/network/api/s/default/cmd/stamgr']);
});

t.test('the console is called only through the outbound gate: loopback needs the server allow-list', async (t) => {
  const ctl = await fakeUnifi(t, { unifiOs: false });
  const unifi = adapter(t);
  const network = fakeNetwork('unifi', { unifiUrl: ctl.url, username: ctl.username, password: ctl.password });
  const context = unifi.parseRedirect(redirect, network);
  const err = await unifi.grant({ network, context, ...extras, outbound: STRICT, secondsRemaining: 60, now }).catch((e) => e);
  t.equal(err.code, 'CONTROLLER_ERROR');
  t.equal(err.details.reason, 'OUTBOUND_REFUSED');
  t.match(err.message, /127\.0\.0\.1 is a loopback address/);
  t.equal(ctl.state.calls.length, 0, 'not even the login (with its password) was sent');

  // By name too: localhost resolves to loopback, and the check is on the address connected to.
  const byName = fakeNetwork('unifi', { unifiUrl: ctl.url.replace('127.0.0.1', 'localhost'), username: ctl.username, password: ctl.password });
  const err2 = await unifi.grant({ network: byName, context, ...extras, outbound: STRICT, secondsRemaining: 60, now }).catch((e) => e);
  t.equal(err2.details.reason, 'OUTBOUND_REFUSED');
  t.match(err2.message, /localhost resolves to (127\.0\.0\.1|::1), a loopback address/);
  t.equal(ctl.state.calls.length, 0);
});

t.test('two networks naming the same console and user with different passwords do not share a session', async (t) => {
  const ctl = await fakeUnifi(t, { unifiOs: false });
  const unifi = adapter(t);
  const owner = fakeNetwork('unifi', { unifiUrl: ctl.url, username: ctl.username, password: ctl.password });
  await unifi.grant({ network: owner, context: unifi.parseRedirect(redirect, owner), ...extras, secondsRemaining: 60, now });
  const other = fakeNetwork('unifi', { unifiUrl: ctl.url, username: ctl.username, password: 'a-guess' });
  const err = await unifi.grant({ network: other, context: unifi.parseRedirect(redirect, other), ...extras, secondsRemaining: 60, now }).catch((e) => e);
  t.equal(err.message, 'The UniFi controller refused the login');
  t.equal(ctl.state.calls.filter((c) => c.path === '/api/s/default/cmd/stamgr').length, 1, 'only the owner\'s command went through');
});
