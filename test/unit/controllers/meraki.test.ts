import t from 'tap';
import { merakiAdapter, UNLIMITED_DURATION_S } from '../../../src/controllers/meraki.js';
import { AppError } from '../../../src/errors.js';
import { fakeNetwork, grantInput, thrown } from '../../helpers/controllers.js';

// The sample redirect from Meraki's click-through documentation (client_mac completed to six octets).
const redirect = (extra: Record<string, string> = {}) => ({
  base_grant_url: 'https://n143.network-auth.com/splash/grant',
  user_continue_url: 'http://meraki.com/',
  node_id: '1301936',
  node_mac: '00:18:0a:13:dd:b0',
  gateway_id: '1301936',
  client_ip: '10.162.50.40',
  client_mac: 'ff:ff:96:d5:d5:01',
  ...extra,
});
// A network saved before loginHosts existed: Meraki's own *.network-auth.com is its default.
const network = fakeNetwork('meraki');

t.test('the redirect gives the client MAC, IP, continue URL and the grant URL', async (t) => {
  t.same(merakiAdapter.parseRedirect(redirect(), network), {
    mac: 'FF:FF:96:D5:D5:01',
    originalUrl: 'http://meraki.com/',
    clientIp: '10.162.50.40',
    params: { baseGrantUrl: 'https://n143.network-auth.com/splash/grant', nodeMac: '00:18:0A:13:DD:B0' },
  });
});

t.test('a grant URL that is not http(s) is refused, as is a missing MAC', async (t) => {
  for (const bad of ['javascript:alert(1)', '', 'n143.network-auth.com/splash/grant']) {
    const err = thrown(() => merakiAdapter.parseRedirect(redirect({ base_grant_url: bad }), network)) as AppError;
    t.ok(err instanceof AppError, bad);
    t.equal(err.status, 400);
    t.equal(err.code, 'INVALID_REDIRECT');
  }
  t.equal((thrown(() => merakiAdapter.parseRedirect(redirect({ client_mac: '' }), network)) as AppError).code, 'INVALID_MAC');
});

t.test('the grant sends the guest to base_grant_url with continue_url and the remaining seconds', async (t) => {
  const context = merakiAdapter.parseRedirect(redirect(), network);
  t.same(await merakiAdapter.grant(grantInput(network, context, { secondsRemaining: 86_399.2 })), {
    kind: 'redirect',
    url: 'https://n143.network-auth.com/splash/grant?continue_url=http%3A%2F%2Fmeraki.com%2F&duration=86400',
  });
});

t.test('an unlimited token asks for a year; a missing continue URL is left out', async (t) => {
  t.equal(UNLIMITED_DURATION_S, 31_536_000);
  const context = merakiAdapter.parseRedirect(redirect({ user_continue_url: 'javascript:alert(1)' }), network);
  t.same(await merakiAdapter.grant(grantInput(network, context, { secondsRemaining: null })), {
    kind: 'redirect',
    url: 'https://n143.network-auth.com/splash/grant?duration=31536000',
  });
  t.equal(merakiAdapter.revoke, undefined, 'the splash API has no de-authorisation');
});

t.test("base_grant_url must be under Meraki's *.network-auth.com, or one of the network's loginHosts", async (t) => {
  for (const bad of ['https://attacker.example/splash/grant', 'https://network-auth.com.attacker.example/', 'https://network-auth.com/splash/grant']) {
    const err = thrown(() => merakiAdapter.parseRedirect(redirect({ base_grant_url: bad }), network)) as AppError;
    t.equal(err?.code, 'INVALID_REDIRECT', bad);
    t.match(err.message, /loginHosts/);
  }
  const own = fakeNetwork('meraki', { loginHosts: 'splash.example.org' });
  t.equal(merakiAdapter.parseRedirect(redirect({ base_grant_url: 'https://splash.example.org/grant' }), own).params.baseGrantUrl, 'https://splash.example.org/grant');
  t.equal((thrown(() => merakiAdapter.parseRedirect(redirect(), own)) as AppError).code, 'INVALID_REDIRECT', 'naming others replaces the default');
  const context = merakiAdapter.parseRedirect(redirect(), network);
  t.equal((await merakiAdapter.grant(grantInput(own, context)).catch((e) => e)).code, 'INVALID_REDIRECT', 'checked again at the grant');
});
