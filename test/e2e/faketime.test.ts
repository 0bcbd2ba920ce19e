import t from 'tap';
import { fakeUnifi } from '../helpers/fake-unifi.js';
import { findProgram, radclient, startFreeRadius } from '../helpers/freeradius.js';
import { freePort, startServer, tempDir } from '../helpers/process.js';

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const ADMIN = 'faketime_admin_token_0123456789_abcdef';
const DEVICE = 'AA:BB:CC:00:11:22';

/**
 * The whole product, two days later: a guest connects with a one-day token through a UniFi
 * controller; Kalitka is then restarted under libfaketime with the clock two days ahead. The
 * device must be cut off everywhere: not authorised, token expired, controller told, log saying
 * why, and FreeRADIUS (asked by radclient) rejecting it.
 */
t.test('with the clock moved past a term, the device is no longer authorised anywhere', async (t) => {
  const unifi = await fakeUnifi(t, { unifiOs: false });
  // The fake UniFi listens on loopback, which only the server's allow-list opens.
  const env = { KALITKA_DATA_DIR: tempDir(), KALITKA_ADMIN_TOKEN: ADMIN, EXPIRE_CRON: '* * * * *', KALITKA_OUTBOUND_ALLOW: '127.0.0.0/8,::1/128' };
  const today = await startServer(t, env, freePort());
  const api = (base: string, method: string, url: string, body?: object) =>
    fetch(base + url, { method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body) }).then((r) => r.json());

  const contract = await api(today.base, 'POST', '/api/v1/contracts', { name: 'Hotel' });
  const network = await api(today.base, 'POST', `/api/v1/contracts/${contract.id}/networks`, {
    name: 'Hall',
    controller: 'unifi',
    unifiUrl: unifi.url,
    username: unifi.username,
    password: unifi.password,
    nasIdentifier: 'hall-ap',
  });
  const [tok] = (await api(today.base, 'POST', `/api/v1/contracts/${contract.id}/tokens`, { count: 1, multiUse: false, durationDays: 1 })).tokens;

  const page = await fetch(`${today.base}/portal/${network.id}?id=${DEVICE.toLowerCase()}&ap=00:11:22:33:44:55&t=1&url=http://example.com/&ssid=Hall`);
  const ctx = /name="ctx" value="([^"]+)"/.exec(await page.text())![1];
  const connected = await fetch(`${today.base}/portal/${network.id}/activate`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: tok.code, ctx }),
  });
  t.equal(connected.status, 200, 'connected today');
  t.same(unifi.state.calls.filter((c) => c.path.endsWith('/cmd/stamgr')).map((c) => c.body?.cmd), ['authorize-guest'], 'the controller let it in');
  t.equal((await api(today.base, 'GET', `/api/v1/networks/${network.id}/sessions/${DEVICE}`)).authorized, true);

  today.child.kill('SIGTERM');
  await new Promise((r) => today.child.once('exit', r));
  const later = await startServer(t, { ...env, LD_PRELOAD: LIBFAKETIME, FAKETIME: '+2d' }, freePort());

  const deadline = Date.now() + 20_000;
  const revoked = () => unifi.state.calls.some((c) => c.body?.cmd === 'unauthorize-guest');
  while (!revoked() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  t.same(
    unifi.state.calls.filter((c) => c.path.endsWith('/cmd/stamgr')).map((c) => c.body),
    [
      { cmd: 'authorize-guest', mac: DEVICE.toLowerCase(), minutes: 1440, ap_mac: '00:11:22:33:44:55' },
      { cmd: 'unauthorize-guest', mac: DEVICE.toLowerCase() },
    ],
    'the controller was told to cut it off',
  );
  const state = await api(later.base, 'GET', `/api/v1/networks/${network.id}/sessions/${DEVICE}`);
  t.equal(state.authorized, false, 'not authorised');
  const [row] = (await api(later.base, 'GET', `/api/v1/contracts/${contract.id}/tokens`)).tokens;
  t.match(row, { status: 'expired', endReason: 'expired', mac: DEVICE });
  const log = await api(later.base, 'GET', `/api/v1/contracts/${contract.id}/identifications`);
  t.match(log.identifications, [{ mac: DEVICE, endReason: 'expired', endedAt: row.expiresAt }], 'the log says why and when');

  const freeradius = findProgram('freeradius');
  if (!freeradius) {
    t.fail('freeradius is not installed (.ci/run installs it)');
    return;
  }
  const radius = await startFreeRadius({ binary: freeradius, kalitkaUrl: later.base, apiToken: ADMIN });
  t.teardown(() => radius.stop());
  const answer = await radclient(radius.authPort, 'auth', radius.secret, { 'User-Name': DEVICE, 'Calling-Station-Id': DEVICE, 'NAS-Identifier': 'hall-ap' });
  t.equal(answer.received, 'Access-Reject', 'FreeRADIUS rejects it');
});
