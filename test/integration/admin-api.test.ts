import t from 'tap';
import { buildApp } from '../../src/http/app.js';
import { activateToken } from '../../src/domain/activation.js';
import { makeContract, makeSite, makeToken, makeUser, mac } from '../helpers/factories.js';
import { DAY, testEnv } from '../helpers/services.js';

async function api(t: Parameters<typeof testEnv>[0]) {
  const env = await testEnv(t);
  const app = await buildApp(env.svc);
  t.teardown(() => app.close());
  const admin = await makeUser(env.svc, null);
  return { ...env, app, admin };
}

t.test('every admin route needs a valid Bearer token, and every refusal looks the same', async (t) => {
  const { app, svc } = await api(t);
  const revokedUser = await makeUser(svc, null);
  await svc.db.query(`update api_tokens set revoked_at = now() where user_id = $1`, [revokedUser.user.id]);
  const barred = await makeUser(svc, (await makeContract(svc)).id, { tokenLoginAllowed: false });
  const bodies = new Set<string>();
  for (const authorization of [
    undefined,
    'Basic abc',
    'Bearer ',
    'Bearer klt_000000000000000000000000000000000000',
    'Bearer klt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' + 'zzzzzz',
    revokedUser.auth.authorization,
    barred.auth.authorization,
  ]) {
    const res = await app.inject({ method: 'GET', url: '/api/v1/contracts', headers: authorization ? { authorization } : {} });
    t.equal(res.statusCode, 401, String(authorization));
    bodies.add(res.body);
  }
  t.equal(bodies.size, 1, 'unknown, revoked and disallowed tokens get the same 401');
  t.same(JSON.parse([...bodies][0]), { error: { code: 'UNAUTHORIZED', message: 'Missing or invalid API token' } });
});

t.test('an administrator creates a contract and a network with its portal URL; secrets are not shown back', async (t) => {
  const { app, admin } = await api(t);
  const c = await app.inject({ method: 'POST', url: '/api/v1/contracts', headers: admin.auth, payload: { name: '  Кафе «Ромашка»  ' } });
  t.equal(c.statusCode, 201);
  const contract = c.json();
  t.equal(contract.name, 'Кафе «Ромашка»');
  t.match(contract.id, /^[0-9a-f-]{36}$/);
  t.equal(contract.unusedTokens, 0);
  const n = await app.inject({
    method: 'POST',
    url: `/api/v1/contracts/${contract.id}/networks`,
    headers: { ...admin.auth, host: 'wifi.example.net' },
    payload: { name: 'Зал', controller: 'unifi', unifiUrl: 'https://10.0.0.2:8443', username: 'kalitka', password: 'p4ss', site: 'default' },
  });
  t.equal(n.statusCode, 201);
  const network = n.json();
  t.equal(network.portalUrl, `http://wifi.example.net/portal/${network.id}`);
  t.equal(network.controller, 'unifi');
  t.equal(network.unifiUrl, 'https://10.0.0.2:8443');
  t.equal(network.password, undefined, 'the controller password is never shown');
  t.notMatch(n.body, /p4ss/);
  const got = await app.inject({ method: 'GET', url: `/api/v1/contracts/${contract.id}`, headers: admin.auth });
  t.same(got.json(), contract);
});

t.test('only a system administrator creates contracts', async (t) => {
  const { app, svc } = await api(t);
  const op = await makeUser(svc, (await makeContract(svc)).id);
  const res = await app.inject({ method: 'POST', url: '/api/v1/contracts', headers: op.auth, payload: { name: 'Mine' } });
  t.equal(res.statusCode, 403);
  t.equal(res.json().error.code, 'FORBIDDEN');
});

t.test('tokens are generated, listed with filters, annulled, given issuedTo and deleted over HTTP', async (t) => {
  const { app, svc, clock } = await api(t);
  const { contract, network } = await makeSite(svc);
  const op = await makeUser(svc, contract.id);
  const gen = await app.inject({
    method: 'POST',
    url: `/api/v1/contracts/${contract.id}/tokens`,
    headers: op.auth,
    payload: { count: 3, multiUse: false, durationDays: 2 },
  });
  t.equal(gen.statusCode, 201);
  const tokens = gen.json().tokens;
  t.equal(tokens.length, 3);
  t.same(Object.keys(tokens[0]).sort(), [
    'activatedAt', 'code', 'contractId', 'createdAt', 'downKbps', 'durationDays', 'endReason', 'expiresAt', 'extendedAt', 'id', 'issuedTo', 'mac',
    'maxDevices', 'multiUse', 'quotaMb', 'status', 'upKbps',
  ]);
  t.match(tokens[0], { multiUse: false, durationDays: 2, status: 'unused', createdAt: clock.now().toISOString() });

  await activateToken(svc, { networkId: network.id, mac: mac(1), code: tokens[0].code, now: clock.now() });
  const list = async (qs: string) => {
    const res = await app.inject({ method: 'GET', url: `/api/v1/contracts/${contract.id}/tokens${qs}`, headers: op.auth });
    t.equal(res.statusCode, 200, qs);
    return res.json().tokens as Array<{ id: string; status: string; mac: string | null }>;
  };
  t.equal((await list('')).length, 3);
  t.same((await list('?status=active')).map((x) => x.mac), [mac(1)]);
  t.equal((await list('?status=unused')).length, 2);
  t.equal((await list('?status=&code=')).length, 3, 'empty filters (a form sent as it stood) filter nothing');
  const spaced = tokens[1].code.replace(/(\d{4})(?=\d)/g, '$1 ');
  t.same((await list(`?code=${encodeURIComponent(spaced)}`)).map((x) => x.id), [tokens[1].id]);

  const annul = await app.inject({ method: 'POST', url: `/api/v1/tokens/${tokens[0].id}/annul`, headers: op.auth });
  t.equal(annul.statusCode, 200);
  t.match(annul.json(), { id: tokens[0].id, status: 'annulled', endReason: 'annulled', mac: mac(1) });

  const patch = await app.inject({ method: 'PATCH', url: `/api/v1/tokens/${tokens[1].id}`, headers: op.auth, payload: { issuedTo: 'Петров П.П.' } });
  t.equal(patch.statusCode, 200);
  t.equal(patch.json().issuedTo, 'Петров П.П.');

  const del = await app.inject({ method: 'DELETE', url: `/api/v1/tokens/${tokens[2].id}`, headers: op.auth });
  t.equal(del.statusCode, 204);
  t.equal((await list('')).length, 2);
  const gone = await app.inject({ method: 'POST', url: `/api/v1/tokens/${tokens[2].id}/annul`, headers: op.auth });
  t.equal(gone.statusCode, 404);
});

t.test('an expired copy shows as expired in the list before the sweep', async (t) => {
  const { app, svc, clock, admin } = await api(t);
  const { contract, network } = await makeSite(svc);
  const tok = await makeToken(svc, contract.id, { durationDays: 1 });
  await activateToken(svc, { networkId: network.id, mac: mac(1), code: tok.code, now: clock.now() });
  clock.advance(DAY);
  const res = await app.inject({ method: 'GET', url: `/api/v1/contracts/${contract.id}/tokens?status=expired`, headers: admin.auth });
  t.match(res.json().tokens, [{ id: tok.id, status: 'expired', endReason: 'expired' }]);
});

t.test('the 200-unused limit answers 409 with limit and available', async (t) => {
  const { app, svc, admin } = await api(t);
  const c = await makeContract(svc);
  const url = `/api/v1/contracts/${c.id}/tokens`;
  t.equal((await app.inject({ method: 'POST', url, headers: admin.auth, payload: { count: 190, multiUse: true, durationDays: null } })).statusCode, 201);
  const over = await app.inject({ method: 'POST', url, headers: admin.auth, payload: { count: 11, multiUse: false, durationDays: 1 } });
  t.equal(over.statusCode, 409);
  t.same(over.json(), {
    error: { code: 'UNUSED_TOKEN_LIMIT', message: 'A contract may hold at most 200 unused tokens; 10 more can be made', limit: 200, available: 10 },
  });
});

t.test('bad input gets a clear 400 and changes nothing', async (t) => {
  const { app, svc, admin } = await api(t);
  const c = await makeContract(svc);
  const url = `/api/v1/contracts/${c.id}/tokens`;
  const bad: Array<[unknown, string]> = [
    [{ count: 0 }, 'count 0'],
    [{ count: 201 }, 'count 201'],
    [{ count: '5' }, 'count as a string'],
    [{ count: 1.5 }, 'fractional count'],
    [{ count: 1, durationDays: 0 }, 'zero days'],
    [{ count: 1, durationDays: 31 }, '31 days'],
    [{ count: 1, durationDays: '7' }, 'days as a string'],
    [{ count: 1, multiUse: 'yes' }, 'multiUse not boolean'],
    [{ count: 1, color: 'red' }, 'unknown field'],
    [[], 'an array'],
  ];
  for (const [payload, why] of bad) {
    const res = await app.inject({ method: 'POST', url, headers: admin.auth, payload: payload as object });
    t.equal(res.statusCode, 400, why);
    t.equal(res.json().error.code, 'VALIDATION_ERROR', why);
  }
  const malformed = await app.inject({ method: 'POST', url, headers: { ...admin.auth, 'content-type': 'application/json' }, payload: '{"count":' });
  t.equal(malformed.statusCode, 400);
  t.equal(malformed.json().error.code, 'MALFORMED_JSON');
  const huge = await app.inject({ method: 'POST', url, headers: { ...admin.auth, 'content-type': 'application/json' }, payload: JSON.stringify({ count: 1, pad: 'x'.repeat(100_000) }) });
  t.equal(huge.statusCode, 413);
  t.equal(huge.json().error.code, 'BODY_TOO_LARGE');
  const badId = await app.inject({ method: 'GET', url: '/api/v1/contracts/not-a-uuid/tokens', headers: admin.auth });
  t.equal(badId.statusCode, 400);
  const badStatus = await app.inject({ method: 'GET', url: `${url}?status=lost`, headers: admin.auth });
  t.equal(badStatus.statusCode, 400);
  const badCode = await app.inject({ method: 'GET', url: `${url}?code=12`, headers: admin.auth });
  t.equal(badCode.statusCode, 400);
  const badController = await app.inject({ method: 'POST', url: `/api/v1/contracts/${c.id}/networks`, headers: admin.auth, payload: { name: 'x', controller: 'cisco' } });
  t.equal(badController.statusCode, 400);
  const unknown = await app.inject({ method: 'GET', url: '/api/v1/contracts/00000000-0000-4000-8000-000000000000', headers: admin.auth });
  t.equal(unknown.statusCode, 404);
  const count = await svc.db.query<{ n: number }>(`select count(*)::int as n from tokens`);
  t.equal(count.rows[0].n, 0, 'nothing was made');
});

t.test("another contract's objects are 404 to an operator", async (t) => {
  const { app, svc, clock } = await api(t);
  const mine = await makeSite(svc);
  const theirs = await makeSite(svc);
  const op = await makeUser(svc, mine.contract.id);
  const tok = await makeToken(svc, theirs.contract.id);
  await activateToken(svc, { networkId: theirs.network.id, mac: mac(9), code: tok.code, now: clock.now() });
  const calls: Array<[string, string, object?]> = [
    ['GET', `/api/v1/contracts/${theirs.contract.id}`],
    ['GET', `/api/v1/contracts/${theirs.contract.id}/tokens`],
    ['POST', `/api/v1/contracts/${theirs.contract.id}/tokens`, { count: 1 }],
    ['POST', `/api/v1/contracts/${theirs.contract.id}/networks`, { name: 'x', controller: 'generic' }],
    ['GET', `/api/v1/networks/${theirs.network.id}`],
    ['POST', `/api/v1/tokens/${tok.id}/annul`],
    ['PATCH', `/api/v1/tokens/${tok.id}`, { issuedTo: 'x' }],
    ['DELETE', `/api/v1/tokens/${tok.id}`],
    ['GET', `/api/v1/networks/${theirs.network.id}/sessions`],
    ['GET', `/api/v1/networks/${theirs.network.id}/sessions/${mac(9)}`],
  ];
  for (const [method, url, payload] of calls) {
    const res = await app.inject({ method: method as 'GET', url, headers: op.auth, payload });
    t.equal(res.statusCode, 404, `${method} ${url}`);
  }
  const list = await app.inject({ method: 'GET', url: '/api/v1/contracts', headers: op.auth });
  t.same(list.json().contracts.map((c: { id: string }) => c.id), [mine.contract.id]);
  const row = await svc.db.query(`select status, issued_to from tokens where id = $1`, [tok.id]);
  t.same(row.rows[0], { status: 'active', issued_to: null }, 'nothing changed');
});

t.test('session state for a polling controller', async (t) => {
  const { app, svc, clock } = await api(t);
  const { contract, network } = await makeSite(svc);
  const op = await makeUser(svc, contract.id);
  const tok = await makeToken(svc, contract.id, { durationDays: 1 });
  await activateToken(svc, { networkId: network.id, mac: mac(1), code: tok.code, now: clock.now() });
  clock.advance(3600_000);
  const one = await app.inject({ method: 'GET', url: `/api/v1/networks/${network.id}/sessions/${mac(1).toLowerCase().replace(/:/g, '-')}`, headers: op.auth });
  t.equal(one.statusCode, 200);
  t.same(one.json(), {
    mac: mac(1),
    authorized: true,
    tokenId: tok.id,
    code: tok.code,
    activatedAt: new Date(clock.now().getTime() - 3600_000).toISOString(),
    expiresAt: new Date(clock.now().getTime() + DAY - 3600_000).toISOString(),
    secondsRemaining: 23 * 3600,
    downKbps: null,
    upKbps: null,
    bytesRemaining: null,
    limitsEnforced: true,
  });
  const none = await app.inject({ method: 'GET', url: `/api/v1/networks/${network.id}/sessions/${mac(2)}`, headers: op.auth });
  t.same(none.json(), {
    mac: mac(2),
    authorized: false,
    tokenId: null,
    code: null,
    activatedAt: null,
    expiresAt: null,
    secondsRemaining: null,
    downKbps: null,
    upKbps: null,
    bytesRemaining: null,
    limitsEnforced: true,
  });
  const badMac = await app.inject({ method: 'GET', url: `/api/v1/networks/${network.id}/sessions/zz`, headers: op.auth });
  t.equal(badMac.statusCode, 400);
  t.equal(badMac.json().error.code, 'INVALID_MAC');
  const list = await app.inject({ method: 'GET', url: `/api/v1/networks/${network.id}/sessions`, headers: op.auth });
  t.same(list.json().sessions.map((s: { mac: string }) => s.mac), [mac(1)]);
});

t.test('health and readiness', async (t) => {
  const { app } = await api(t);
  t.same((await app.inject('/healthz')).json(), { status: 'ok' });
  const ready = await app.inject('/readyz');
  t.equal(ready.statusCode, 200);
  t.same(ready.json(), { status: 'ready', store: 'ok', cache: 'ok' });
  const missing = await app.inject('/nope');
  t.equal(missing.statusCode, 404);
  t.equal(missing.json().error.code, 'NOT_FOUND');
});

t.test('readiness is 503 when the store does not answer', async (t) => {
  const env = await testEnv(t);
  const app = await buildApp(env.svc);
  t.teardown(() => app.close());
  const realQuery = env.svc.db.query;
  env.svc.db.query = async () => {
    throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  };
  t.teardown(() => {
    env.svc.db.query = realQuery;
  });
  const res = await app.inject('/readyz');
  t.equal(res.statusCode, 503);
  t.same(res.json(), { status: 'not_ready', store: 'down', cache: 'ok' });
});

t.test('an empty JSON body is no body: DELETE and annul work, a route that needs a body says so', async (t) => {
  const { app, svc, admin } = await api(t);
  const { contract } = await makeSite(svc);
  const [a, b] = [await makeToken(svc, contract.id), await makeToken(svc, contract.id)];
  const headers = { ...admin.auth, 'content-type': 'application/json' };
  t.equal((await app.inject({ method: 'POST', url: `/api/v1/tokens/${a.id}/annul`, headers, payload: '' })).statusCode, 200);
  t.equal((await app.inject({ method: 'DELETE', url: `/api/v1/tokens/${b.id}`, headers, payload: '' })).statusCode, 204);
  const none = await app.inject({ method: 'POST', url: `/api/v1/contracts/${contract.id}/tokens`, headers, payload: '' });
  t.equal(none.statusCode, 400);
  t.equal(none.json().error.code, 'VALIDATION_ERROR');
});
