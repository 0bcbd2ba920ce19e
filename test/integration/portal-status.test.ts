import t from 'tap';
import { activateToken } from '../../src/domain/activation.js';
import { buildApp } from '../../src/http/app.js';
import { mac, makeContract, makeNetwork, makeToken, makeUser } from '../helpers/factories.js';
import { testEnv } from '../helpers/services.js';

const rlm = (attrs: Record<string, string>) => Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, { value: [v] }]));

async function site(t: Parameters<typeof testEnv>[0], controller: 'generic' | 'mikrotik' | 'coova', env: Record<string, string> = {}) {
  const e = await testEnv(t, env);
  const app = await buildApp(e.svc);
  t.teardown(() => app.close());
  const contract = await makeContract(e.svc);
  const settings: Record<string, string> = controller === 'generic' ? {} : { loginHosts: '10.0.0.1' };
  const network = await makeNetwork(e.svc, contract.id, controller, { ...settings, nasIdentifier: `nas-${contract.id}`, venueInfoUrl: 'https://cafe.example/menu' });
  const { auth } = await makeUser(e.svc, contract.id);
  /** Identifies a device with a one-day token of `quotaMb`, and reports `used` bytes from `ip`. */
  const identified = async (quotaMb: number | null, used: number, ip: string) => {
    const device = mac();
    const token = await makeToken(e.svc, contract.id, { durationDays: 1 });
    await activateToken(e.svc, { networkId: network.id, mac: device, code: token.code, now: e.clock.now() });
    await e.svc.db.query(`update tokens set quota_mb = $2::bigint where id = $1::uuid`, [token.id, quotaMb]);
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/radius/accounting',
      headers: auth,
      payload: rlm({ 'Acct-Status-Type': 'Interim-Update', 'Acct-Session-Id': `s-${device}`, 'Calling-Station-Id': device, 'NAS-Identifier': `nas-${contract.id}`, 'Framed-IP-Address': ip, 'Acct-Output-Octets': String(used) }),
    });
    t.equal(res.statusCode, 204);
    return device;
  };
  return { ...e, app, network, identified };
}

t.test('RFC 8908: bytes-remaining with a quota, can-extend-session, venue-info-url, and the device found by its address', async (t) => {
  const { app, clock, network, identified } = await site(t, 'mikrotik');
  const device = await identified(100, 30 * 1048576, '10.5.0.20');
  clock.advance(3600_000);
  const api = (query: string, ip = '192.0.2.200') => app.inject({ url: `/portal/${network.id}/api${query}`, headers: { host: 'portal.example' }, remoteAddress: ip });

  const byMac = await api(`?mac=${device}`);
  t.equal(byMac.headers['content-type'], 'application/captive+json');
  t.same(byMac.json(), {
    captive: false,
    'user-portal-url': `http://portal.example/portal/${network.id}?mac=${encodeURIComponent(device)}`,
    'seconds-remaining': 23 * 3600,
    'bytes-remaining': 70 * 1048576,
    'can-extend-session': false,
    'venue-info-url': 'https://cafe.example/menu',
  });

  const byAddress = await api('', '10.5.0.20');
  t.same(byAddress.json(), {
    captive: false,
    'user-portal-url': `http://portal.example/portal/${network.id}`,
    'seconds-remaining': 23 * 3600,
    'bytes-remaining': 70 * 1048576,
    'can-extend-session': false,
    'venue-info-url': 'https://cafe.example/menu',
  }, 'found through accounting\'s Framed-IP-Address');

  const stranger = await api('', '10.5.0.21');
  t.same(stranger.json(), { captive: true, 'user-portal-url': `http://portal.example/portal/${network.id}`, 'venue-info-url': 'https://cafe.example/menu' }, 'an address nobody was given is captive');

  // The advertised user-portal-url answers on a MikroTik network, which has no login link here.
  const page = await app.inject({ url: `/portal/${network.id}?mac=${encodeURIComponent(device)}&lang=en` });
  t.equal(page.statusCode, 200);
  t.match(page.body, /Time left<\/dt><dd data-status="time">23 h<\/dd>/);
  t.match(page.body, /Data left<\/dt><dd data-status="data">70 MB<\/dd>/);
  t.match(page.body, new RegExp(network.name));
  const bare = await app.inject({ url: `/portal/${network.id}`, remoteAddress: '10.5.0.20', headers: { 'accept-language': 'ru' } });
  t.equal(bare.statusCode, 200, 'no parameters at all: found by address');
  t.match(bare.body, /Осталось времени<\/dt><dd data-status="time">23 ч<\/dd>/);
  t.match(bare.body, /Осталось трафика<\/dt><dd data-status="data">70 МБ<\/dd>/);
  const unknown = await app.inject({ url: `/portal/${network.id}`, remoteAddress: '10.5.0.99', headers: { 'accept-language': 'en' } });
  t.equal(unknown.statusCode, 200, 'not 400');
  t.match(unknown.body, /Open any website/);
});

t.test('the address is the proxy\'s client only when TRUST_PROXY names the proxy', async (t) => {
  const { app, network, identified } = await site(t, 'coova', { TRUST_PROXY: '127.0.0.1' });
  await identified(null, 5, '10.6.0.5');
  const viaProxy = await app.inject({ url: `/portal/${network.id}/api`, remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': '10.6.0.5' } });
  t.equal(viaProxy.json().captive, false);
  t.equal(viaProxy.json()['bytes-remaining'], undefined, 'no quota, no bytes-remaining');
  const forged = await app.inject({ url: `/portal/${network.id}/api`, remoteAddress: '192.0.2.9', headers: { 'x-forwarded-for': '10.6.0.5' } });
  t.equal(forged.json().captive, true, 'a client that is not the proxy cannot claim the address');
  const coovaPage = await app.inject({ url: `/portal/${network.id}`, remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': '10.6.0.5', 'accept-language': 'en' } });
  t.equal(coovaPage.statusCode, 200, 'a Coova network without its login parameters');
  t.match(coovaPage.body, /data-status="data">no limit/);
});

t.test('at the quota the API and the page say captive / not connected at once', async (t) => {
  const { app, network, identified } = await site(t, 'generic');
  const device = await identified(1, 1048576, '10.7.0.1');
  const api = await app.inject({ url: `/portal/${network.id}/api?mac=${device}`, headers: { host: 'portal.example' } });
  t.equal(api.json().captive, true);
  t.equal(api.json()['bytes-remaining'], undefined);
  const status = await app.inject({ url: `/portal/${network.id}/status?mac=${encodeURIComponent(device)}&lang=en` });
  t.equal(status.statusCode, 200);
  t.match(status.body, /You are not connected yet/);
});

t.test('venueInfoUrl must be https', async (t) => {
  const e = await testEnv(t);
  const app = await buildApp(e.svc);
  t.teardown(() => app.close());
  const contract = await makeContract(e.svc);
  const { auth } = await makeUser(e.svc, contract.id);
  const created = await app.inject({ method: 'POST', url: `/api/v1/contracts/${contract.id}/networks`, headers: auth, payload: { name: 'Cafe', controller: 'generic', venueInfoUrl: 'http://cafe.example/' } });
  t.equal(created.statusCode, 400);
  t.equal(created.json().error.code, 'INVALID_SETTINGS');
  const ok = await app.inject({ method: 'POST', url: `/api/v1/contracts/${contract.id}/networks`, headers: auth, payload: { name: 'Cafe', controller: 'generic', venueInfoUrl: 'https://cafe.example/', rebindOnReentry: true } });
  t.equal(ok.statusCode, 201, ok.body);
});

t.test('a mac given twice in a guest link is a bad MAC (400, or captive in the API), never a 500', async (t) => {
  const { app, network } = await site(t, 'generic');
  const twice = 'mac=AA:BB:CC:DD:EE:01&mac=AA:BB:CC:DD:EE:02';
  for (const url of [`/portal/${network.id}?${twice}`, `/portal/${network.id}/status?${twice}`]) {
    const res = await app.inject({ method: 'GET', url });
    t.equal(res.statusCode, 400, url);
    t.equal(res.headers['x-refusal'], 'INVALID_MAC', url);
  }
  const api = await app.inject({ method: 'GET', url: `/portal/${network.id}/api?${twice}` });
  t.equal(api.statusCode, 200);
  t.equal(api.json().captive, true);
  // Any other parameter given twice is a page like any other, not a 500.
  for (const path of ['', '/status', '/api', '/phone/status']) {
    for (const query of [twice, 'mac=AA:BB:CC:DD:EE:01&lang=en&lang=ru', 'mac=AA:BB:CC:DD:EE:01&url=http://a.example/&url=http://b.example/', 'mac=AA:BB:CC:DD:EE:01&id=1&id=2&v=a&v=b']) {
      const res = await app.inject({ method: 'GET', url: `/portal/${network.id}${path}?${query}` });
      t.ok(res.statusCode < 500, `/portal/:id${path}?${query} → ${res.statusCode}`);
    }
  }
});
