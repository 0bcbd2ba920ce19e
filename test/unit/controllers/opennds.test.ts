import { createHash } from 'node:crypto';
import t from 'tap';
import { fasFields, openndsAdapter, rhid } from '../../../src/controllers/opennds.js';
import { AppError } from '../../../src/errors.js';
import { fakeNetwork, grantInput, thrown } from '../../helpers/controllers.js';

const HID = '4b8f9a34bd1b3d57d3a5ddc76e8a1a5a2a70e1d14a9ab8c6a0c0b5c9d1f2e3a4';
const FASKEY = 'c775e7b757ede630cd0aa1113bd102661ab38829ca52a6422ab782862f268646';

// What openNDS 9+ at fas_secure_enabled 1 base64-encodes into `fas` (comma-space separated).
const fasString = [
  'clientip=192.168.8.23',
  'clientmac=04:15:52:6a:e4:ad',
  'client_type=cpd_can',
  'gatewayname=Caf%C3%A9%20Wifi',
  'version=10.2.0',
  `hid=${HID}`,
  'gatewayaddress=192.168.8.1:2050',
  'gatewaymac=00:11:22:33:44:55',
  'authdir=opennds_auth',
  'originurl=http%3A%2F%2Fexample.com%2Fpage%3Fa%3D1',
  'clientif=br-lan',
].join(', ');
const fas = Buffer.from(fasString).toString('base64');
const network = fakeNetwork('opennds', { faskey: FASKEY, loginHosts: '192.168.8.1:2050' });

t.test('the base64 fas payload is decoded into its fields', async (t) => {
  const f = fasFields({ fas });
  t.equal(f.clientmac, '04:15:52:6a:e4:ad');
  t.equal(f.hid, HID);
  t.equal(f.gatewayaddress, '192.168.8.1:2050');
  t.equal(f.gatewayname, 'Café Wifi');
  t.equal(f.originurl, 'http://example.com/page?a=1');
});

t.test('the redirect gives the MAC, IP, original URL and what the auth URL needs', async (t) => {
  t.same(openndsAdapter.parseRedirect({ fas }, network), {
    mac: '04:15:52:6A:E4:AD',
    originalUrl: 'http://example.com/page?a=1',
    clientIp: '192.168.8.23',
    params: { hid: HID, gatewayaddress: '192.168.8.1:2050', authdir: 'opennds_auth', gatewayname: 'Café Wifi' },
  });
});

t.test('an older openNDS sending plain query parameters works too', async (t) => {
  const ctx = openndsAdapter.parseRedirect({
    clientip: '192.168.8.23', clientmac: '04:15:52:6a:e4:ad', gatewayname: 'cafe', hid: HID,
    gatewayaddress: '192.168.8.1:2050', redir: 'http://example.com/',
  }, network);
  t.same(ctx.params, { hid: HID, gatewayaddress: '192.168.8.1:2050', authdir: 'opennds_auth', gatewayname: 'cafe' });
  t.equal(ctx.originalUrl, 'http://example.com/');
});

t.test('a redirect without hid, with a bad gateway address or authdir is refused', async (t) => {
  const enc = (s: string) => Buffer.from(s).toString('base64');
  const cases = [
    fasString.replace(`hid=${HID}`, 'hid='),
    fasString.replace('gatewayaddress=192.168.8.1:2050', 'gatewayaddress=evil.example/path'),
    fasString.replace('authdir=opennds_auth', 'authdir=../x'),
  ];
  for (const c of cases) {
    const err = thrown(() => openndsAdapter.parseRedirect({ fas: enc(c) }, network)) as AppError;
    t.ok(err instanceof AppError);
    t.equal(err.status, 400);
    t.equal(err.code, 'INVALID_REDIRECT');
  }
  t.equal((thrown(() => openndsAdapter.parseRedirect({ fas: 'not base64!' }, network)) as AppError).code, 'INVALID_REDIRECT');
  t.equal((thrown(() => openndsAdapter.parseRedirect({ fas: enc(fasString.replace('clientmac=04:15:52:6a:e4:ad', 'clientmac=')) }, network)) as AppError).code, 'INVALID_MAC');
});

t.test('tok is sha256 of hid followed by faskey, as fas-hid.php computes it', async (t) => {
  const expected = createHash('sha256').update(Buffer.concat([Buffer.from(HID, 'ascii'), Buffer.from(FASKEY, 'ascii')])).digest('hex');
  t.equal(rhid(HID, FASKEY), expected);
  // printf '%s' 'abc123' | sha256sum, worked outside the code under test.
  t.equal(rhid('abc', '123'), '6ca13d52ca70c883e0f0bb101e425a89e8624de51db2d2392593af6a84118090');
});

t.test('the grant sends the guest to the gateway auth dir with tok and redir', async (t) => {
  const context = openndsAdapter.parseRedirect({ fas }, network);
  t.same(await openndsAdapter.grant(grantInput(network, context, { secondsRemaining: 3600 })), {
    kind: 'redirect',
    url: `http://192.168.8.1:2050/opennds_auth/?tok=${rhid(HID, FASKEY)}&redir=http%3A%2F%2Fexample.com%2Fpage%3Fa%3D1`,
  });
  t.equal(openndsAdapter.revoke, undefined, 'openNDS has no remote de-authorisation');
});

t.test("gatewayaddress must be one of the network's loginHosts, on the page and again at the grant", async (t) => {
  const enc = (s: string) => Buffer.from(s).toString('base64');
  for (const address of ['203.0.113.7:2050', '192.168.8.1:80', 'attacker.example']) {
    const err = thrown(() => openndsAdapter.parseRedirect({ fas: enc(fasString.replace('gatewayaddress=192.168.8.1:2050', `gatewayaddress=${address}`)) }, network)) as AppError;
    t.equal(err?.code, 'INVALID_REDIRECT', address);
    t.match(err.message, /loginHosts/);
  }
  const unpinned = thrown(() => openndsAdapter.parseRedirect({ fas }, fakeNetwork('opennds', { faskey: FASKEY }))) as AppError;
  t.equal(unpinned.code, 'INVALID_REDIRECT', 'a network without loginHosts trusts no gateway');
  const context = openndsAdapter.parseRedirect({ fas }, network);
  const moved = fakeNetwork('opennds', { faskey: FASKEY, loginHosts: '192.168.9.1:2050' });
  t.equal((await openndsAdapter.grant(grantInput(moved, context)).catch((e) => e)).code, 'INVALID_REDIRECT');
});
