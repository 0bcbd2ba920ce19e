import { createHash } from 'node:crypto';
import t from 'tap';
import { fasFields, openndsAdapter, rhid } from '../../../src/controllers/opennds.js';
import { AppError } from '../../../src/errors.js';
import { fakeNetwork, NOW as now, thrown } from '../../helpers/controllers.js';

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

t.test('the base64 fas payload is decoded into its fields', async (t) => {
  const f = fasFields({ fas });
  t.equal(f.clientmac, '04:15:52:6a:e4:ad');
  t.equal(f.hid, HID);
  t.equal(f.gatewayaddress, '192.168.8.1:2050');
  t.equal(f.gatewayname, 'Café Wifi');
  t.equal(f.originurl, 'http://example.com/page?a=1');
});

t.test('the redirect gives the MAC, IP, original URL and what the auth URL needs', async (t) => {
  t.same(openndsAdapter.parseRedirect({ fas }), {
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
  });
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
    const err = thrown(() => openndsAdapter.parseRedirect({ fas: enc(c) })) as AppError;
    t.ok(err instanceof AppError);
    t.equal(err.status, 400);
    t.equal(err.code, 'INVALID_REDIRECT');
  }
  t.equal((thrown(() => openndsAdapter.parseRedirect({ fas: 'not base64!' })) as AppError).code, 'INVALID_REDIRECT');
  t.equal((thrown(() => openndsAdapter.parseRedirect({ fas: enc(fasString.replace('clientmac=04:15:52:6a:e4:ad', 'clientmac=')) })) as AppError).code, 'INVALID_MAC');
});

t.test('tok is sha256 of hid followed by faskey, as fas-hid.php computes it', async (t) => {
  const expected = createHash('sha256').update(Buffer.concat([Buffer.from(HID, 'ascii'), Buffer.from(FASKEY, 'ascii')])).digest('hex');
  t.equal(rhid(HID, FASKEY), expected);
  // printf '%s' 'abc123' | sha256sum, worked outside the code under test.
  t.equal(rhid('abc', '123'), '6ca13d52ca70c883e0f0bb101e425a89e8624de51db2d2392593af6a84118090');
});

t.test('the grant sends the guest to the gateway auth dir with tok and redir', async (t) => {
  const network = fakeNetwork('opennds', { faskey: FASKEY });
  const context = openndsAdapter.parseRedirect({ fas });
  t.same(await openndsAdapter.grant({ network, context, code: '100123456789', secondsRemaining: 3600, now }), {
    kind: 'redirect',
    url: `http://192.168.8.1:2050/opennds_auth/?tok=${rhid(HID, FASKEY)}&redir=http%3A%2F%2Fexample.com%2Fpage%3Fa%3D1`,
  });
  t.equal(openndsAdapter.revoke, undefined, 'openNDS has no remote de-authorisation');
});
