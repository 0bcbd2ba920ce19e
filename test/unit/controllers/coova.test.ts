import { createHash } from 'node:crypto';
import t from 'tap';
import { coovaAdapter, coovaPapPassword } from '../../../src/controllers/coova.js';
import { AppError } from '../../../src/errors.js';
import { fakeNetwork, grantInput, LOOPBACK_OK as outbound, NOW as now, SECRET, thrown } from '../../helpers/controllers.js';
import { attributeText, fakeNas } from '../../helpers/nas.js';

const CHALLENGE = 'c731395aca5dcf45446c0ae83db5319e';
const CODE = '100123456789';

const network = fakeNetwork('coova', { loginHosts: '10.1.0.1:3990', uamSecret: 's3cret' });

const redirect = (extra: Record<string, string> = {}) => ({
  res: 'notyet',
  uamip: '10.1.0.1',
  uamport: '3990',
  challenge: CHALLENGE,
  mac: 'AA-BB-CC-DD-EE-0F',
  called: '00-11-22-33-44-55',
  nasid: 'lobby',
  userurl: 'http://example.com/',
  ...extra,
});

t.test('the UAM password matches the hotspotlogin vector and a step-by-step computation', async (t) => {
  // Published hotspotlogin.php output for challenge c731..319e, uamsecret "secret", password "password":
  // newchal 450b6cc3f8ffeda000dfe448fc483ce3, pappassword 356a1fb08f909fc400dfe448fc483ce3.
  t.equal(coovaPapPassword('password', CHALLENGE, 'secret'), '356a1fb08f909fc400dfe448fc483ce3');

  // Our codes, step by step: newchal = MD5(hexdecode(challenge) + uamsecret); XOR with the code padded to 16 octets.
  const newchal = createHash('md5').update(Buffer.from(CHALLENGE, 'hex')).update('s3cret').digest();
  const padded = Buffer.concat([Buffer.from(CODE), Buffer.alloc(4)]);
  const expected = Buffer.from(padded.map((b, i) => b ^ newchal[i])).toString('hex');
  t.equal(coovaPapPassword(CODE, CHALLENGE, 's3cret'), expected);

  // Without a uamsecret the challenge itself is the key, worked by hand: '1'^c7 = f6, '0'^31 = 01,
  // '0'^39 = 09, ... '9'^e8 = d1, and the four zero pad octets leave 3d b5 31 9e as they are.
  t.equal(coovaPapPassword(CODE, CHALLENGE, null), 'f601096bf86efb70725b32d13db5319e');
});

t.test('the redirect gives MAC, original URL and what the logon needs', async (t) => {
  t.same(coovaAdapter.parseRedirect(redirect(), network), {
    mac: 'AA:BB:CC:DD:EE:0F',
    originalUrl: 'http://example.com/',
    clientIp: null,
    params: { uamip: '10.1.0.1', uamport: '3990', challenge: CHALLENGE, called: '00-11-22-33-44-55', nasid: 'lobby' },
  });
});

t.test('a redirect without a usable uamip, uamport or challenge is refused', async (t) => {
  const bad: Record<string, string>[] = [{ uamip: '' }, { uamip: 'evil.example/x' }, { uamport: '0' }, { uamport: '70000' }, { challenge: 'abc' }, { challenge: 'zz'.repeat(16) }];
  for (const extra of bad) {
    const err = thrown(() => coovaAdapter.parseRedirect(redirect(extra), network)) as AppError;
    t.ok(err instanceof AppError, JSON.stringify(extra));
    t.equal(err.status, 400);
    t.equal(err.code, 'INVALID_REDIRECT');
  }
  t.equal((thrown(() => coovaAdapter.parseRedirect(redirect({ mac: 'x' }), network)) as AppError).code, 'INVALID_MAC');
});

t.test('the grant sends the guest to the logon URL with the grant secret encoded as the password', async (t) => {
  const context = coovaAdapter.parseRedirect(redirect(), network);
  const grant = await coovaAdapter.grant(grantInput(network, context, { secondsRemaining: 3600 }));
  const password = coovaPapPassword(SECRET, CHALLENGE, 's3cret');
  t.same(grant, {
    kind: 'redirect',
    url: `http://10.1.0.1:3990/logon?username=AA%3ABB%3ACC%3ADD%3AEE%3A0F&password=${password}&userurl=http%3A%2F%2Fexample.com%2F`,
  });
  t.notMatch(grant.kind === 'redirect' ? grant.url : '', SECRET);
  t.notMatch(grant.kind === 'redirect' ? grant.url : '', 's3cret');
});

t.test('uamip:uamport must be one of the network\'s loginHosts, on the page and again at the grant', async (t) => {
  for (const extra of [{ uamip: '10.1.0.2' }, { uamport: '3991' }, { uamip: '203.0.113.9', uamport: '80' }] as Record<string, string>[]) {
    const err = thrown(() => coovaAdapter.parseRedirect(redirect(extra), network)) as AppError;
    t.equal(err?.code, 'INVALID_REDIRECT', JSON.stringify(extra));
    t.match(err.message, /loginHosts/);
  }
  const unpinned = thrown(() => coovaAdapter.parseRedirect(redirect(), fakeNetwork('coova'))) as AppError;
  t.equal(unpinned.code, 'INVALID_REDIRECT', 'a network without loginHosts trusts no hotspot');
  t.match(unpinned.message, /set its loginHosts setting/);
  const context = coovaAdapter.parseRedirect(redirect(), network);
  const input = grantInput(fakeNetwork('coova', { loginHosts: '10.1.0.1:4990' }), context);
  t.equal((await coovaAdapter.grant(input).catch((e) => e)).code, 'INVALID_REDIRECT');
  t.equal(input.issued(), 0);
});

t.test('revoke disconnects through the NAS with the MAC as Chilli spells it', async (t) => {
  const nas = await fakeNas(t, 'radsecret', 'ack');
  const nasNetwork = fakeNetwork('coova', { radiusHost: '127.0.0.1', radiusSecret: 'radsecret', radiusPort: nas.port });
  await coovaAdapter.revoke!({ network: nasNetwork, mac: 'AA:BB:CC:DD:EE:0F', now, outbound });
  t.equal(nas.received.length, 1);
  t.ok(nas.received[0].authenticatorValid);
  t.same(attributeText(nas.received[0]), [
    [1, 'AA:BB:CC:DD:EE:0F'],
    [31, 'AA-BB-CC-DD-EE-0F'],
  ]);
});

t.test('a NAS refusing the disconnect for another reason surfaces as CONTROLLER_ERROR', async (t) => {
  const nas = await fakeNas(t, 'radsecret', 'nak', 506);
  const nasNetwork = fakeNetwork('coova', { radiusHost: '127.0.0.1', radiusSecret: 'radsecret', radiusPort: nas.port });
  const err = await coovaAdapter.revoke!({ network: nasNetwork, mac: 'AA:BB:CC:DD:EE:0F', now, outbound }).catch((e) => e);
  t.ok(err instanceof AppError);
  t.equal(err.code, 'CONTROLLER_ERROR');
  t.same(err.details, { errorCause: 506 });
});
