import t from 'tap';
import { merakiAdapter, UNLIMITED_DURATION_S } from '../../../src/controllers/meraki.js';
import { AppError } from '../../../src/errors.js';
import { fakeNetwork, NOW as now, thrown } from '../../helpers/controllers.js';

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
const network = fakeNetwork('meraki');

t.test('the redirect gives the client MAC, IP, continue URL and the grant URL', async (t) => {
  t.same(merakiAdapter.parseRedirect(redirect()), {
    mac: 'FF:FF:96:D5:D5:01',
    originalUrl: 'http://meraki.com/',
    clientIp: '10.162.50.40',
    params: { baseGrantUrl: 'https://n143.network-auth.com/splash/grant', nodeMac: '00:18:0A:13:DD:B0' },
  });
});

t.test('a grant URL that is not http(s) is refused, as is a missing MAC', async (t) => {
  for (const bad of ['javascript:alert(1)', '', 'n143.network-auth.com/splash/grant']) {
    const err = thrown(() => merakiAdapter.parseRedirect(redirect({ base_grant_url: bad }))) as AppError;
    t.ok(err instanceof AppError, bad);
    t.equal(err.status, 400);
    t.equal(err.code, 'INVALID_REDIRECT');
  }
  t.equal((thrown(() => merakiAdapter.parseRedirect(redirect({ client_mac: '' }))) as AppError).code, 'INVALID_MAC');
});

t.test('the grant sends the guest to base_grant_url with continue_url and the remaining seconds', async (t) => {
  const context = merakiAdapter.parseRedirect(redirect());
  t.same(await merakiAdapter.grant({ network, context, code: '100123456789', secondsRemaining: 86_399.2, now }), {
    kind: 'redirect',
    url: 'https://n143.network-auth.com/splash/grant?continue_url=http%3A%2F%2Fmeraki.com%2F&duration=86400',
  });
});

t.test('an unlimited token asks for a year; a missing continue URL is left out', async (t) => {
  t.equal(UNLIMITED_DURATION_S, 31_536_000);
  const context = merakiAdapter.parseRedirect(redirect({ user_continue_url: 'javascript:alert(1)' }));
  t.same(await merakiAdapter.grant({ network, context, code: '100123456789', secondsRemaining: null, now }), {
    kind: 'redirect',
    url: 'https://n143.network-auth.com/splash/grant?duration=31536000',
  });
  t.equal(merakiAdapter.revoke, undefined, 'the splash API has no de-authorisation');
});
