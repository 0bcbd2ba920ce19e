import { createHash } from 'node:crypto';
import t from 'tap';
import { chapResponse, decodeOctalEscapes, mikrotikAdapter } from '../../../src/controllers/mikrotik.js';
import { AppError } from '../../../src/errors.js';
import { fakeNetwork, grantInput, LOOPBACK_OK as outbound, NOW as now, SECRET, STRICT, thrown } from '../../helpers/controllers.js';
import { attributeText, fakeNas } from '../../helpers/nas.js';

// What a login.html forwarding $(chap-id) and $(chap-challenge) sends: JavaScript octal escapes.
const CHAP_ID = '\\340';
const CHAP_CHALLENGE = '\\043\\242\\062\\374\\062\\365\\062\\266\\201\\323\\145\\251\\200\\303\\025\\315';
const CODE = '100123456789';

const network = fakeNetwork('mikrotik', { loginHosts: '10.5.50.1' });

const redirect = (extra: Record<string, string> = {}) => ({
  mac: 'aa:bb:cc:dd:ee:0f',
  ip: '10.5.50.23',
  'link-login-only': 'http://10.5.50.1/login',
  'link-orig': 'http://example.com/news',
  ...extra,
});

t.test('octal-escaped chap values decode to the bytes the browser would hash', async (t) => {
  t.same(decodeOctalEscapes(CHAP_ID), Buffer.from([0o340]));
  t.equal(decodeOctalEscapes(CHAP_CHALLENGE)!.toString('hex'), '23a232fc32f532b681d365a980c315cd');
  t.same(decodeOctalEscapes('\\0\\12A'), Buffer.from([0, 10, 0x41]), 'short escapes and plain characters');
  t.equal(decodeOctalEscapes('\\x41'), null);
  t.equal(decodeOctalEscapes('\u0416'), null, 'not a byte');
});

t.test("the CHAP response matches MikroTik's md5.js on a vector computed independently", async (t) => {
  const id = Buffer.from([0o340]);
  const challenge = Buffer.from('23a232fc32f532b681d365a980c315cd', 'hex');
  const fromRawBytes = createHash('md5').update(Buffer.concat([id, Buffer.from(CODE, 'ascii'), challenge])).digest('hex');
  t.equal(chapResponse(id, CODE, challenge), fromRawBytes);
  // By hand: printf '\340100123456789\043\242\062\374\062\365\062\266\201\323\145\251\200\303\025\315' | md5sum
  t.equal(chapResponse(id, CODE, challenge), '57e73584d1186193859410b9b119dcb8');
});

t.test('the redirect gives MAC, client IP, original URL and the login URL', async (t) => {
  t.same(mikrotikAdapter.parseRedirect(redirect(), network), {
    mac: 'AA:BB:CC:DD:EE:0F',
    originalUrl: 'http://example.com/news',
    clientIp: '10.5.50.23',
    params: { linkLoginOnly: 'http://10.5.50.1/login' },
  });
  const chap = mikrotikAdapter.parseRedirect(redirect({ 'chap-id': CHAP_ID, 'chap-challenge': CHAP_CHALLENGE }), network);
  t.same(chap.params, {
    linkLoginOnly: 'http://10.5.50.1/login',
    chapId: 'e0',
    chapChallenge: '23a232fc32f532b681d365a980c315cd',
  });
});

t.test('a login URL that is not http(s), or a broken chap value, is refused with 400', async (t) => {
  for (const bad of ['javascript:alert(1)', 'ftp://10.5.50.1/login', '', 'login']) {
    const err = thrown(() => mikrotikAdapter.parseRedirect(redirect({ 'link-login-only': bad }), network)) as AppError;
    t.ok(err instanceof AppError, bad);
    t.equal(err.status, 400);
    t.equal(err.code, 'INVALID_REDIRECT');
  }
  const err = thrown(() => mikrotikAdapter.parseRedirect(redirect({ 'chap-id': '\\340\\341', 'chap-challenge': CHAP_CHALLENGE }), network)) as AppError;
  t.equal(err.code, 'INVALID_REDIRECT', 'chap-id is one octet');
  const noMac = thrown(() => mikrotikAdapter.parseRedirect(redirect({ mac: '' }), network)) as AppError;
  t.equal(noMac.code, 'INVALID_MAC');
});

t.test('without CHAP the guest is sent to link-login-only with the MAC, the grant secret (not the code) and dst', async (t) => {
  const context = mikrotikAdapter.parseRedirect(redirect(), network);
  const input = grantInput(network, context);
  const grant = await mikrotikAdapter.grant(input);
  t.same(grant, {
    kind: 'redirect',
    url: `http://10.5.50.1/login?username=AA%3ABB%3ACC%3ADD%3AEE%3A0F&password=${SECRET}&dst=http%3A%2F%2Fexample.com%2Fnews`,
  });
  t.equal(input.issued(), 1, 'one secret issued for the one login');
});

t.test('with CHAP only the MD5 response over the grant secret travels', async (t) => {
  const context = mikrotikAdapter.parseRedirect(redirect({ 'chap-id': CHAP_ID, 'chap-challenge': CHAP_CHALLENGE, 'link-orig': '' }), network);
  const grant = await mikrotikAdapter.grant(grantInput(network, context, { secondsRemaining: null }));
  const response = chapResponse(Buffer.from([0o340]), SECRET, Buffer.from('23a232fc32f532b681d365a980c315cd', 'hex'));
  t.same(grant, {
    kind: 'redirect',
    url: `http://10.5.50.1/login?username=AA%3ABB%3ACC%3ADD%3AEE%3A0F&password=${response}`,
  });
  t.notMatch(grant.kind === 'redirect' ? grant.url : '', SECRET);
});

t.test('link-login-only must be one of the network\'s loginHosts, on the page and again at the grant', async (t) => {
  const pinned = fakeNetwork('mikrotik', { loginHosts: 'hotspot.example.net:8080, 10.5.50.1, *.routers.example' });
  const allowed = ['http://10.5.50.1/login', 'https://10.5.50.1:8443/login', 'http://hotspot.example.net:8080/login', 'http://a.routers.example/login', 'http://b.c.routers.example/login'];
  for (const url of allowed) {
    t.equal(mikrotikAdapter.parseRedirect(redirect({ 'link-login-only': url }), pinned).params.linkLoginOnly, url, url);
  }
  const refused = ['http://attacker.example/', 'http://hotspot.example.net/login', 'http://hotspot.example.net:8081/login', 'http://routers.example/login', 'http://10.5.50.1.attacker.example/', 'http://evilrouters.example/'];
  for (const url of refused) {
    const err = thrown(() => mikrotikAdapter.parseRedirect(redirect({ 'link-login-only': url }), pinned)) as AppError;
    t.equal(err?.code, 'INVALID_REDIRECT', url);
    t.equal(err.status, 400);
    t.match(err.message, /add it to loginHosts/);
  }

  const unpinned = thrown(() => mikrotikAdapter.parseRedirect(redirect(), fakeNetwork('mikrotik'))) as AppError;
  t.equal(unpinned.code, 'INVALID_REDIRECT', 'a network without loginHosts trusts no login address');
  t.match(unpinned.message, /set its loginHosts setting/);

  // The form context is signed, but pins may change after the page: the grant checks again.
  const context = mikrotikAdapter.parseRedirect(redirect(), network);
  const input = grantInput(fakeNetwork('mikrotik', { loginHosts: '10.9.9.9' }), context);
  const err = await mikrotikAdapter.grant(input).catch((e) => e);
  t.equal(err.code, 'INVALID_REDIRECT');
  t.equal(input.issued(), 0, 'no secret is issued for a refused target');
});

t.test('revoke sends a Disconnect-Request naming the MAC to the configured NAS', async (t) => {
  const nas = await fakeNas(t, 's3cret', 'ack');
  const nasNetwork = fakeNetwork('mikrotik', { radiusHost: '127.0.0.1', radiusSecret: 's3cret', radiusPort: nas.port });
  await mikrotikAdapter.revoke!({ network: nasNetwork, mac: 'AA:BB:CC:DD:EE:0F', now, outbound });
  t.equal(nas.received.length, 1);
  t.equal(nas.received[0].code, 40);
  t.ok(nas.received[0].authenticatorValid);
  t.same(attributeText(nas.received[0]), [
    [1, 'AA:BB:CC:DD:EE:0F'],
    [31, 'AA:BB:CC:DD:EE:0F'],
  ]);
});

t.test('revoke without RADIUS settings does nothing, and a NAS that knows no such session is not an error', async (t) => {
  await mikrotikAdapter.revoke!({ network: fakeNetwork('mikrotik'), mac: 'AA:BB:CC:DD:EE:0F', now, outbound: STRICT });
  const nas = await fakeNas(t, 's3cret', 'nak', 503);
  const nasNetwork = fakeNetwork('mikrotik', { radiusHost: '127.0.0.1', radiusSecret: 's3cret', radiusPort: nas.port });
  await mikrotikAdapter.revoke!({ network: nasNetwork, mac: 'AA:BB:CC:DD:EE:0F', now, outbound });
  t.equal(nas.received.length, 1);
});

t.test('revoke refuses a NAS at a loopback address unless the server allows it', async (t) => {
  const nas = await fakeNas(t, 's3cret', 'ack');
  const nasNetwork = fakeNetwork('mikrotik', { radiusHost: '127.0.0.1', radiusSecret: 's3cret', radiusPort: nas.port });
  const err = await mikrotikAdapter.revoke!({ network: nasNetwork, mac: 'AA:BB:CC:DD:EE:0F', now, outbound: STRICT }).catch((e) => e);
  t.equal(err.code, 'CONTROLLER_ERROR');
  t.equal(err.details.reason, 'OUTBOUND_REFUSED');
  t.match(err.message, /127\.0\.0\.1 is a loopback address/);
  t.equal(nas.received.length, 0, 'nothing was sent');
});
