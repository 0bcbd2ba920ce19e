import { createHash } from 'node:crypto';
import t, { type Test } from 'tap';
import { chapResponse } from '../../src/controllers/mikrotik.js';
import { GRANT_SECRET_LENGTH, GRANT_TTL_S } from '../../src/domain/grants.js';
import { buildApp } from '../../src/http/app.js';
import { mac, makeContract, makeNetwork, makeToken, makeUser } from '../helpers/factories.js';
import { testEnv } from '../helpers/services.js';

// MikroTik's $(chap-id) and $(chap-challenge) as its login.html writes them (JavaScript octal escapes).
const CHAP_ID = '\\340';
const CHAP_CHALLENGE = '\\043\\242\\062\\374\\062\\365\\062\\266\\201\\323\\145\\251\\200\\303\\025\\315';
const CHALLENGE_HEX = '23a232fc32f532b681d365a980c315cd';

/** The body rlm_rest sends with `body = 'json'` (octets as FreeRADIUS prints them: 0x + hex). */
const rlmJson = (attributes: Record<string, string>) =>
  Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, { type: v.startsWith('0x') ? 'octets' : 'string', value: [v] }]));

const ctxOf = (html: string) => /name="ctx" value="([^"]+)"/.exec(html)?.[1] ?? '';

async function arrange(t: Test) {
  const { svc, clock } = await testEnv(t);
  const contract = await makeContract(svc);
  const network = await makeNetwork(svc, contract.id, 'mikrotik', { loginHosts: '10.5.50.1', nasIdentifier: 'hs-1', radiusPort: 3799 });
  const operator = await makeUser(svc, contract.id);
  const app = await buildApp(svc);
  t.teardown(() => app.close());

  const redirect = (device: string, extra: Record<string, string> = {}) =>
    `/portal/${network.id}?${new URLSearchParams({ mac: device, 'link-login-only': 'http://10.5.50.1/login', 'link-orig': 'http://example.com/', ...extra })}`;
  /** The guest opens the portal and types the code; returns the answer (a 303 to the router). */
  const signIn = async (device: string, code: string, extra: Record<string, string> = {}) => {
    const page = await app.inject(redirect(device, extra));
    return app.inject({
      method: 'POST',
      url: `/portal/${network.id}/activate`,
      payload: new URLSearchParams({ token: code, ctx: ctxOf(page.body) }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  };
  const authorize = (attributes: Record<string, string>) =>
    app.inject({ method: 'POST', url: '/api/v1/radius/authorize', headers: operator.auth, payload: rlmJson({ 'NAS-Identifier': 'hs-1', ...attributes }) });
  return { svc, clock, contract, network, app, redirect, signIn, authorize };
}

const passwordIn = (location: string | undefined) => new URL(location ?? 'http://x/').searchParams.get('password') ?? '';

t.test('the router gets a grant secret, not the code; RADIUS accepts it once, for that device only', async (t) => {
  const { svc, contract, signIn, authorize, app, redirect } = await arrange(t);
  const [a, b] = [mac(), mac()];
  const tokA = await makeToken(svc, contract.id, { durationDays: 1 });
  const tokB = await makeToken(svc, contract.id, { durationDays: 1 });

  const res = await signIn(a, tokA.code);
  t.equal(res.statusCode, 303);
  t.notMatch(res.headers.location, tokA.code, 'the code is nowhere in the URL the browser gets');
  const secret = passwordIn(res.headers.location);
  t.equal(secret.length, GRANT_SECRET_LENGTH);
  t.not(secret, tokA.code);
  t.equal((await signIn(b, tokB.code)).statusCode, 303, 'B is identified too, so only the binding can refuse it');

  // The secret of A presented for B, or as A from B's port, is refused — and not used up by it.
  const asB = await authorize({ 'User-Name': b, 'Calling-Station-Id': b, 'User-Password': secret });
  t.equal(asB.statusCode, 403, 'a grant secret used for MAC A is refused for MAC B');
  const spoofed = await authorize({ 'User-Name': a, 'Calling-Station-Id': b, 'User-Password': secret });
  t.equal(spoofed.statusCode, 403, 'User-Name A from Calling-Station-Id B is refused');

  const ok = await authorize({ 'User-Name': a, 'Calling-Station-Id': a, 'User-Password': secret });
  t.equal(ok.statusCode, 200);
  t.same(ok.json(), { 'reply:Session-Timeout': 86400, 'control:Cleartext-Password': secret }, 'the secret comes back for FreeRADIUS to check PAP/CHAP');
  const again = await authorize({ 'User-Name': a, 'Calling-Station-Id': a, 'User-Password': secret });
  t.equal(again.statusCode, 403, 'refused the second time');

  // An identified device opening the portal again goes straight to the router with a fresh secret.
  const back = await app.inject(redirect(a));
  t.equal(back.statusCode, 303);
  t.notMatch(back.headers.location, tokA.code);
  const fresh = passwordIn(back.headers.location);
  t.not(fresh, secret);
  t.equal((await authorize({ 'User-Name': b, 'Calling-Station-Id': b, 'User-Password': fresh })).statusCode, 403, 'the fresh one is bound to A as well');
  t.equal((await authorize({ 'User-Name': a, 'Calling-Station-Id': a.replace(/:/g, '-'), 'User-Password': fresh })).statusCode, 200);

  const wrong = await authorize({ 'User-Name': a, 'Calling-Station-Id': a, 'User-Password': tokA.code });
  t.equal(wrong.statusCode, 403, 'the voucher code itself is not a password RADIUS accepts');
});

t.test('a grant secret expires five minutes after it was issued', async (t) => {
  const { svc, clock, contract, signIn, authorize, app, redirect } = await arrange(t);
  const device = mac();
  const tok = await makeToken(svc, contract.id, { durationDays: 1 });
  const first = passwordIn((await signIn(device, tok.code)).headers.location);
  clock.advance(GRANT_TTL_S * 1000);
  t.equal((await authorize({ 'User-Name': device, 'Calling-Station-Id': device, 'User-Password': first })).statusCode, 403, 'expired');

  const second = passwordIn((await app.inject(redirect(device))).headers.location);
  clock.advance(GRANT_TTL_S * 1000 - 1000);
  const ok = await authorize({ 'User-Name': device, 'Calling-Station-Id': device, 'User-Password': second });
  t.equal(ok.statusCode, 200, 'a second before expiry it still works');
});

t.test('with CHAP the router proves the secret by hash; FreeRADIUS gets it back to check the same', async (t) => {
  const { svc, contract, signIn, authorize } = await arrange(t);
  const device = mac();
  const tok = await makeToken(svc, contract.id, { durationDays: null });
  const res = await signIn(device, tok.code, { 'chap-id': CHAP_ID, 'chap-challenge': CHAP_CHALLENGE });
  t.equal(res.statusCode, 303);
  const response = passwordIn(res.headers.location);
  t.match(response, /^[0-9a-f]{32}$/, 'the browser carries only the MD5 response');

  const chap = { 'User-Name': device, 'Calling-Station-Id': device, 'CHAP-Password': `0xe0${response}` };
  t.equal((await authorize({ ...chap, 'CHAP-Challenge': `0x${'00'.repeat(16)}` })).statusCode, 403, 'another challenge does not match');
  t.equal((await authorize(chap)).statusCode, 403, 'no challenge, nothing to check against');
  const ok = await authorize({ ...chap, 'CHAP-Challenge': `0x${CHALLENGE_HEX}` });
  t.equal(ok.statusCode, 200);
  const secret = ok.json()['control:Cleartext-Password'];
  t.equal(chapResponse(Buffer.from([0xe0]), secret, Buffer.from(CHALLENGE_HEX, 'hex')), response, 'the returned secret is what the response was made from');
  t.equal(ok.json()['reply:Session-Timeout'], undefined, 'unlimited token');
  t.equal((await authorize({ ...chap, 'CHAP-Challenge': `0x${CHALLENGE_HEX}` })).statusCode, 403, 'single use');
});

t.test('a CoovaChilli logon carries the secret hidden with the challenge; Chilli\'s PAP of it is accepted once', async (t) => {
  const { svc, clock, contract, app, authorize } = await arrange(t);
  const network = await makeNetwork(svc, contract.id, 'coova', { loginHosts: '10.1.0.1:3990', uamSecret: 'uam-s3cret', nasIdentifier: 'chilli-1' });
  const device = mac();
  const tok = await makeToken(svc, contract.id, { durationDays: 1 });
  const challenge = 'c731395aca5dcf45446c0ae83db5319e';
  const page = await app.inject(`/portal/${network.id}?${new URLSearchParams({ res: 'notyet', uamip: '10.1.0.1', uamport: '3990', challenge, mac: device.replace(/:/g, '-') })}`);
  const res = await app.inject({
    method: 'POST',
    url: `/portal/${network.id}/activate`,
    payload: new URLSearchParams({ token: tok.code, ctx: ctxOf(page.body) }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  t.equal(res.statusCode, 303);
  const location = new URL(res.headers.location as string);
  t.equal(`${location.origin}${location.pathname}`, 'http://10.1.0.1:3990/logon');
  t.notMatch(res.headers.location, tok.code);
  // What Chilli does with it (hotspotlogin's inverse): XOR with MD5(challenge + uamsecret), drop the padding.
  const key = createHash('md5').update(Buffer.from(challenge, 'hex')).update('uam-s3cret').digest();
  const secret = Buffer.from(Buffer.from(location.searchParams.get('password')!, 'hex').map((b, i) => b ^ key[i])).toString('utf8').replace(/\0+$/, '');
  const attrs = { 'NAS-Identifier': 'chilli-1', 'User-Name': device, 'Calling-Station-Id': device.replace(/:/g, '-'), 'User-Password': secret };
  clock.advance(1000);
  const ok = await authorize(attrs);
  t.equal(ok.statusCode, 200);
  t.equal(ok.json()['control:Cleartext-Password'], secret);
  t.equal((await authorize(attrs)).statusCode, 403);
});

t.test('MAC authentication still decides by the device alone: no password, or its MAC as the password', async (t) => {
  const { svc, contract, signIn, authorize } = await arrange(t);
  const device = mac();
  const tok = await makeToken(svc, contract.id, { durationDays: 1 });
  await signIn(device, tok.code);
  for (const password of [undefined, '', device, device.replace(/:/g, '-').toLowerCase(), device.replace(/:/g, '')]) {
    const res = await authorize({ 'User-Name': device, 'Calling-Station-Id': device, ...(password === undefined ? {} : { 'User-Password': password }) });
    t.equal(res.statusCode, 200, `password ${JSON.stringify(password)}`);
    t.same(res.json(), { 'reply:Session-Timeout': 86400 }, 'no known-good password: the site accepts by MAC');
  }
  const other = await authorize({ 'User-Name': device, 'Calling-Station-Id': device, 'User-Password': 'guess-guess-123' });
  t.equal(other.statusCode, 403, 'any other password must be a grant secret');
});
