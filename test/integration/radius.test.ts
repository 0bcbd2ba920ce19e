import t, { type Test } from 'tap';
import { activateToken } from '../../src/domain/activation.js';
import { buildApp } from '../../src/http/app.js';
import { mac, makeContract, makeNetwork, makeToken, makeUser } from '../helpers/factories.js';
import { DAY, testEnv } from '../helpers/services.js';

/** The body rlm_rest sends with `body = 'json'`. */
function rlmJson(attributes: Record<string, string | number>) {
  return Object.fromEntries(
    Object.entries(attributes).map(([k, v]) => [k, { type: typeof v === 'number' ? 'integer' : 'string', value: [v] }]),
  );
}

async function arrange(t: Test, env: Record<string, string> = {}) {
  const { svc, clock } = await testEnv(t, env);
  const contract = await makeContract(svc);
  const network = await makeNetwork(svc, contract.id, 'generic', { nasIdentifier: 'hall-1' });
  const operator = await makeUser(svc, contract.id);
  const app = await buildApp(svc);
  t.teardown(() => app.close());
  const authorize = (body: unknown, headers: Record<string, string> = operator.auth) =>
    app.inject({ method: 'POST', url: '/api/v1/radius/authorize', headers, payload: body as object });
  return { svc, clock, contract, network, operator, app, authorize };
}

t.test('an identified device is accepted with the seconds it has left as reply:Session-Timeout', async (t) => {
  const { svc, clock, contract, network, authorize } = await arrange(t);
  const device = mac();
  const tok = await makeToken(svc, contract.id, { durationDays: 2 });
  await activateToken(svc, { networkId: network.id, mac: device, code: tok.code, now: clock.now() });
  clock.advance(3_600_000);

  const res = await authorize(
    rlmJson({ 'User-Name': device.toLowerCase(), 'Calling-Station-Id': device.replace(/:/g, '-'), 'NAS-Identifier': 'hall-1', 'NAS-Port': 7 }),
  );
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^application\/json/);
  t.same(res.json(), { 'reply:Session-Timeout': 2 * 86_400 - 3_600 });
});

t.test('an unlimited identification is accepted with no Session-Timeout', async (t) => {
  const { svc, clock, contract, network, authorize } = await arrange(t);
  const device = mac();
  const tok = await makeToken(svc, contract.id, { durationDays: null });
  await activateToken(svc, { networkId: network.id, mac: device, code: tok.code, now: clock.now() });
  const res = await authorize(rlmJson({ 'Calling-Station-Id': device, 'NAS-Identifier': 'hall-1' }));
  t.equal(res.statusCode, 200);
  t.equal(res.body, '{}');
});

t.test('a device that is not identified, or whose time ran out, is refused with 403 (rlm_rest: userlock → Access-Reject)', async (t) => {
  const { svc, clock, contract, network, authorize } = await arrange(t);
  const stranger = await authorize(rlmJson({ 'Calling-Station-Id': mac(), 'NAS-Identifier': 'hall-1' }));
  t.equal(stranger.statusCode, 403);
  t.same(stranger.json(), { error: { code: 'DEVICE_NOT_AUTHORIZED', message: 'This device is not identified in this network' } });

  const device = mac();
  const tok = await makeToken(svc, contract.id, { durationDays: 1 });
  await activateToken(svc, { networkId: network.id, mac: device, code: tok.code, now: clock.now() });
  clock.advance(DAY - 500);
  const last = await authorize(rlmJson({ 'Calling-Station-Id': device, 'NAS-Identifier': 'hall-1' }));
  t.same(last.json(), { 'reply:Session-Timeout': 1 }, 'half a second left still gets a timeout, never 0');
  clock.advance(500);
  const expired = await authorize(rlmJson({ 'Calling-Station-Id': device, 'NAS-Identifier': 'hall-1' }));
  t.equal(expired.statusCode, 403, 'refused from the very instant of expiry');
});

t.test('a device identified in another contract is refused on this NAS', async (t) => {
  const { svc, clock, authorize } = await arrange(t);
  const other = await makeContract(svc);
  const otherNetwork = await makeNetwork(svc, other.id);
  const device = mac();
  const tok = await makeToken(svc, other.id, { durationDays: 1 });
  await activateToken(svc, { networkId: otherNetwork.id, mac: device, code: tok.code, now: clock.now() });
  const res = await authorize(rlmJson({ 'Calling-Station-Id': device, 'NAS-Identifier': 'hall-1' }));
  t.equal(res.statusCode, 403);
});

t.test('the NAS is found by its nasIdentifier setting or by the network id, within the caller\'s contract', async (t) => {
  const { svc, clock, contract, network, authorize } = await arrange(t);
  const device = mac();
  const tok = await makeToken(svc, contract.id, { durationDays: 1 });
  await activateToken(svc, { networkId: network.id, mac: device, code: tok.code, now: clock.now() });

  const byId = await authorize(rlmJson({ 'Calling-Station-Id': device, 'NAS-Identifier': network.id }));
  t.same(byId.json(), { 'reply:Session-Timeout': 86_400 });

  const unknown = await authorize(rlmJson({ 'Calling-Station-Id': device, 'NAS-Identifier': 'hall-2' }));
  t.equal(unknown.statusCode, 404, 'rlm_rest: notfound, which the site rejects');
  t.equal(unknown.json().error.code, 'NOT_FOUND');

  // Another contract's operator may not ask about this contract's NAS, by name or by id.
  const stranger = await makeUser(svc, (await makeContract(svc)).id);
  for (const nas of ['hall-1', network.id]) {
    const res = await authorize(rlmJson({ 'Calling-Station-Id': device, 'NAS-Identifier': nas }), stranger.auth);
    t.equal(res.statusCode, 404, `foreign NAS ${nas}`);
  }
  // A system administrator's token answers for every contract.
  const admin = await makeUser(svc, null);
  const res = await authorize(rlmJson({ 'Calling-Station-Id': device, 'NAS-Identifier': 'hall-1' }), admin.auth);
  t.same(res.json(), { 'reply:Session-Timeout': 86_400 });
});

t.test('a nasIdentifier two networks share is refused as ambiguous, not guessed', async (t) => {
  const { svc, contract, network, authorize } = await arrange(t);
  await makeNetwork(svc, contract.id, 'generic', { nasIdentifier: 'hall-1' });
  const res = await authorize(rlmJson({ 'Calling-Station-Id': mac(), 'NAS-Identifier': 'hall-1' }));
  t.equal(res.statusCode, 409);
  t.equal(res.json().error.code, 'NAS_IDENTIFIER_AMBIGUOUS');
  const byId = await authorize(rlmJson({ 'Calling-Station-Id': mac(), 'NAS-Identifier': network.id }));
  t.equal(byId.statusCode, 403, 'the network id still names one network');
});

t.test('User-Name stands in for a missing or unusable Calling-Station-Id', async (t) => {
  const { svc, clock, contract, network, authorize } = await arrange(t);
  const device = mac();
  const tok = await makeToken(svc, contract.id, { durationDays: 1 });
  await activateToken(svc, { networkId: network.id, mac: device, code: tok.code, now: clock.now() });
  const bare = device.replace(/:/g, '').toLowerCase();
  t.same((await authorize(rlmJson({ 'User-Name': bare, 'NAS-Identifier': 'hall-1' }))).json(), { 'reply:Session-Timeout': 86_400 });
  t.same(
    (await authorize(rlmJson({ 'Calling-Station-Id': '10.0.0.7', 'User-Name': bare, 'NAS-Identifier': 'hall-1' }))).json(),
    { 'reply:Session-Timeout': 86_400 },
  );
  const none = await authorize(rlmJson({ 'User-Name': 'guest', 'NAS-Identifier': 'hall-1' }));
  t.equal(none.statusCode, 400);
  t.equal(none.json().error.code, 'INVALID_MAC');
  const noNas = await authorize(rlmJson({ 'Calling-Station-Id': device }));
  t.equal(noNas.statusCode, 400);
  t.equal(noNas.json().error.code, 'NAS_IDENTIFIER_REQUIRED');
});

t.test('rlm_rest body = post (form encoding) is understood too', async (t) => {
  const { svc, clock, contract, network, app, operator } = await arrange(t);
  const device = mac();
  const tok = await makeToken(svc, contract.id, { durationDays: 1 });
  await activateToken(svc, { networkId: network.id, mac: device, code: tok.code, now: clock.now() });
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/radius/authorize',
    headers: { ...operator.auth, 'content-type': 'application/x-www-form-urlencoded' },
    payload: `User-Name=${encodeURIComponent(device)}&Calling-Station-Id=${device.replace(/:/g, '-')}&NAS-Identifier=hall-1&NAS-Port=3`,
  });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { 'reply:Session-Timeout': 86_400 });
});

t.test('the RADIUS endpoints need an API token (401: rlm_rest reject) and a well-formed body', async (t) => {
  const { authorize, app, operator } = await arrange(t);
  const body = rlmJson({ 'Calling-Station-Id': mac(), 'NAS-Identifier': 'hall-1' });
  const none = await authorize(body, {});
  t.equal(none.statusCode, 401);
  t.same(none.json(), { error: { code: 'UNAUTHORIZED', message: 'Missing or invalid API token' } });
  const acct = await app.inject({ method: 'POST', url: '/api/v1/radius/accounting', payload: body });
  t.equal(acct.statusCode, 401);

  const nested = await authorize({ 'Calling-Station-Id': { value: [{ deep: 1 }] } });
  t.equal(nested.statusCode, 400);
  t.equal(nested.json().error.code, 'VALIDATION_ERROR');
  const extra = await authorize({ 'Calling-Station-Id': { value: ['x'], surprise: true } });
  t.equal(extra.statusCode, 400);
  const notObject = await app.inject({ method: 'POST', url: '/api/v1/radius/authorize', headers: operator.auth, payload: [1, 2] });
  t.equal(notObject.statusCode, 400);
});

t.test('accounting Start, Interim-Update and Stop are answered 204', async (t) => {
  const { app, operator } = await arrange(t);
  for (const status of ['Start', 'Interim-Update', 'Stop']) {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/radius/accounting',
      headers: operator.auth,
      payload: rlmJson({ 'Acct-Status-Type': status, 'Acct-Session-Id': '81a0c1f2', 'Calling-Station-Id': mac(), 'NAS-Identifier': 'hall-1', 'Acct-Session-Time': 60 }),
    });
    t.equal(res.statusCode, 204, status);
    t.equal(res.body, '');
  }
  const missing = await app.inject({
    method: 'POST',
    url: '/api/v1/radius/accounting',
    headers: operator.auth,
    payload: rlmJson({ 'Calling-Station-Id': mac() }),
  });
  t.equal(missing.statusCode, 400);
  t.equal(missing.json().error.code, 'ACCT_STATUS_TYPE_REQUIRED');
});

t.test('the RADIUS endpoints are served by the portal role only', async (t) => {
  const { authorize } = await arrange(t, { KALITKA_ROLES: 'admin' });
  const res = await authorize(rlmJson({ 'Calling-Station-Id': mac(), 'NAS-Identifier': 'hall-1' }));
  t.equal(res.statusCode, 404);
});
