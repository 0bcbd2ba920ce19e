import t from 'tap';
import { verifyPassword } from '../../src/domain/passwords.js';
import { makeContract, makeUser } from '../helpers/factories.js';
import { appFor, call } from '../helpers/adminApi.js';
import { testEnv } from '../helpers/services.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function passwordHash(db: { query: (sql: string, p: unknown[]) => Promise<{ rows: { password_hash: string | null }[] }> }, id: string) {
  return (await db.query(`select password_hash from users where id = $1::uuid`, [id])).rows[0].password_hash;
}

const countUsers = async (db: { query: (sql: string) => Promise<{ rows: { n: number }[] }> }) =>
  (await db.query(`select count(*)::int as n from users`)).rows[0].n;

t.test('a system administrator creates an operator; the answer never carries the password', async (t) => {
  const { svc, clock } = await testEnv(t);
  const app = await appFor(t, svc);
  const admin = await makeUser(svc, null);
  const c = await makeContract(svc);
  const res = await call(app, admin.token, 'POST', '/api/v1/users', {
    login: 'anna.petrova@cafe',
    password: 'correct horse',
    contractId: c.id,
    tokenLoginAllowed: true,
  });
  t.equal(res.statusCode, 201);
  const body = res.json();
  t.match(body.id, UUID);
  t.same(body, {
    id: body.id,
    login: 'anna.petrova@cafe',
    contractId: c.id,
    isSystem: false,
    role: 'operator',
    tokenLoginAllowed: true,
    createdAt: clock.now().toISOString(),
  });
  t.notOk(res.body.includes('scrypt'), 'no hash in the body');
  const stored = await passwordHash(svc.db, body.id);
  t.ok(await verifyPassword('correct horse', stored), 'the password is stored as a hash that verifies');
  t.notOk(await verifyPassword('wrong horse!', stored));
});

t.test('only a system administrator creates system administrators', async (t) => {
  const { svc } = await testEnv(t);
  const app = await appFor(t, svc);
  const admin = await makeUser(svc, null);
  const c = await makeContract(svc);
  const operator = await makeUser(svc, c.id);
  const byOperator = await call(app, operator.token, 'POST', '/api/v1/users', { login: 'root2', password: 'password1', contractId: null });
  t.equal(byOperator.statusCode, 403);
  t.equal(byOperator.json().error.code, 'FORBIDDEN');
  const byAdmin = await call(app, admin.token, 'POST', '/api/v1/users', { login: 'root2', password: 'password1', contractId: null });
  t.equal(byAdmin.statusCode, 201);
  t.equal(byAdmin.json().isSystem, true);
  t.equal(byAdmin.json().contractId, null);
  t.equal(byAdmin.json().tokenLoginAllowed, false, 'token login is off unless asked for');
});

t.test('an operator creates operators only in its own contract and may not allow token login', async (t) => {
  const { svc } = await testEnv(t);
  const app = await appFor(t, svc);
  const own = await makeContract(svc);
  const other = await makeContract(svc);
  const operator = await makeUser(svc, own.id);
  const before = await countUsers(svc.db);

  const elsewhere = await call(app, operator.token, 'POST', '/api/v1/users', { login: 'intruder', password: 'password1', contractId: other.id });
  t.equal(elsewhere.statusCode, 403);
  t.same(elsewhere.json(), { error: { code: 'FORBIDDEN', message: 'Operators may create users only in their own contract' } });
  const withTokens = await call(app, operator.token, 'POST', '/api/v1/users', {
    login: 'colleague',
    password: 'password1',
    contractId: own.id,
    tokenLoginAllowed: true,
  });
  t.equal(withTokens.statusCode, 403);
  t.equal(await countUsers(svc.db), before, 'refusals made no user');

  const ok = await call(app, operator.token, 'POST', '/api/v1/users', {
    login: 'colleague',
    password: 'password1',
    contractId: own.id,
    tokenLoginAllowed: false,
  });
  t.equal(ok.statusCode, 201);
  t.equal(ok.json().contractId, own.id);
  t.equal(ok.json().tokenLoginAllowed, false);
});

t.test('logins are 3–64 of [A-Za-z0-9._@-], passwords 8–200 characters, logins unique', async (t) => {
  const { svc } = await testEnv(t);
  const app = await appFor(t, svc);
  const admin = await makeUser(svc, null);
  const c = await makeContract(svc);
  const create = (login: unknown, password: unknown = 'password1') =>
    call(app, admin.token, 'POST', '/api/v1/users', { login, password, contractId: c.id });

  for (const login of ['ab', 'a'.repeat(65), 'with space', 'иван', 'semi;colon', '']) {
    const res = await create(login);
    t.equal(res.statusCode, 422, `login ${JSON.stringify(login)}`);
    t.equal(res.json().error.code, 'INVALID_LOGIN');
  }
  for (const login of ['abc', 'a'.repeat(64), 'A.b_c-d@e.f', '007']) {
    t.equal((await create(login)).statusCode, 201, `login ${login}`);
  }
  for (const password of ['1234567', 'x'.repeat(201), '']) {
    const res = await create(`pass${password.length}`, password);
    t.equal(res.statusCode, 422, `password of ${password.length}`);
    t.equal(res.json().error.code, 'INVALID_PASSWORD');
  }
  t.equal((await create('eight', '12345678')).statusCode, 201);
  t.equal((await create('twohundred', 'я'.repeat(200))).statusCode, 201, '200 Cyrillic letters are 200 characters');

  const dup = await create('abc');
  t.equal(dup.statusCode, 409);
  t.same(dup.json(), { error: { code: 'LOGIN_TAKEN', message: 'The login "abc" is taken' } });
});

t.test('malformed user requests are 400 and an unknown contract is 404', async (t) => {
  const { svc } = await testEnv(t);
  const app = await appFor(t, svc);
  const admin = await makeUser(svc, null);
  const c = await makeContract(svc);
  const bodies = [
    { login: 123, password: 'password1', contractId: c.id },
    { login: 'abc', password: 12345678, contractId: c.id },
    { login: 'abc', password: 'password1' },
    { login: 'abc', password: 'password1', contractId: 'not-a-uuid' },
    { login: 'abc', password: 'password1', contractId: c.id, tokenLoginAllowed: 'true' },
    { login: 'abc', password: 'password1', contractId: c.id, role: 'admin' },
  ];
  for (const body of bodies) {
    const res = await call(app, admin.token, 'POST', '/api/v1/users', body);
    t.equal(res.statusCode, 400, JSON.stringify(body));
    t.equal(res.json().error.code, 'VALIDATION_ERROR');
  }
  const unknown = await call(app, admin.token, 'POST', '/api/v1/users', {
    login: 'abc',
    password: 'password1',
    contractId: '00000000-0000-4000-8000-000000000000',
  });
  t.equal(unknown.statusCode, 404);
  const anon = await app.inject({ method: 'POST', url: '/api/v1/users', payload: { login: 'abc', password: 'password1', contractId: c.id } });
  t.equal(anon.statusCode, 401);
});

t.test("a system administrator lists everyone; an operator only its own contract's users", async (t) => {
  const { svc } = await testEnv(t);
  const app = await appFor(t, svc);
  const admin = await makeUser(svc, null);
  const a = await makeContract(svc);
  const b = await makeContract(svc);
  const a1 = await makeUser(svc, a.id);
  const a2 = await makeUser(svc, a.id);
  const b1 = await makeUser(svc, b.id);

  const all = await call(app, admin.token, 'GET', '/api/v1/users');
  t.equal(all.statusCode, 200);
  t.same(all.json().users.map((u: { id: string }) => u.id).sort(), [admin.user.id, a1.user.id, a2.user.id, b1.user.id].sort());
  const mine = await call(app, a1.token, 'GET', '/api/v1/users');
  t.same(mine.json(), { users: [a1.user, a2.user].sort((x, y) => (x.login < y.login ? -1 : 1)) });
  t.notOk(all.body.includes('password'), 'no password field in any user');

  t.same((await call(app, a1.token, 'GET', `/api/v1/users/${a2.user.id}`)).json(), a2.user);
  t.equal((await call(app, a1.token, 'GET', `/api/v1/users/${b1.user.id}`)).statusCode, 404);
  t.equal((await call(app, a1.token, 'GET', `/api/v1/users/${admin.user.id}`)).statusCode, 404, 'system administrators are not shown to operators');
  t.same((await call(app, admin.token, 'GET', `/api/v1/users/${b1.user.id}`)).json(), b1.user);
  t.equal((await call(app, admin.token, 'GET', '/api/v1/users/nope')).statusCode, 400);
});

t.test('an operator changes passwords in its contract but not token login, and nothing elsewhere', async (t) => {
  const { svc } = await testEnv(t);
  const app = await appFor(t, svc);
  const a = await makeContract(svc);
  const b = await makeContract(svc);
  const operator = await makeUser(svc, a.id);
  const colleague = await makeUser(svc, a.id, { password: 'old password' });
  const stranger = await makeUser(svc, b.id, { password: 'old password' });

  const res = await call(app, operator.token, 'PATCH', `/api/v1/users/${colleague.user.id}`, { password: 'new password' });
  t.equal(res.statusCode, 200);
  t.same(res.json(), colleague.user);
  t.ok(await verifyPassword('new password', await passwordHash(svc.db, colleague.user.id)));

  const tokenLogin = await call(app, operator.token, 'PATCH', `/api/v1/users/${colleague.user.id}`, { tokenLoginAllowed: false });
  t.equal(tokenLogin.statusCode, 403);
  t.same(tokenLogin.json(), { error: { code: 'FORBIDDEN', message: 'Only a system administrator may allow or forbid token login' } });
  t.equal((await call(app, colleague.token, 'GET', '/api/v1/me/tokens')).statusCode, 200, 'the refused change changed nothing');

  const foreign = await call(app, operator.token, 'PATCH', `/api/v1/users/${stranger.user.id}`, { password: 'new password' });
  t.equal(foreign.statusCode, 404);
  t.ok(await verifyPassword('old password', await passwordHash(svc.db, stranger.user.id)), "another contract's user is untouched");

  t.equal((await call(app, operator.token, 'PATCH', `/api/v1/users/${colleague.user.id}`, {})).statusCode, 400);
  t.equal((await call(app, operator.token, 'PATCH', `/api/v1/users/${colleague.user.id}`, { login: 'renamed' })).statusCode, 400);
  const short = await call(app, operator.token, 'PATCH', `/api/v1/users/${colleague.user.id}`, { password: 'short' });
  t.equal(short.statusCode, 422);
  t.equal(short.json().error.code, 'INVALID_PASSWORD');
  t.ok(await verifyPassword('new password', await passwordHash(svc.db, colleague.user.id)));
});

t.test('forbidding token login refuses the user’s tokens at once on every instance, allowing it restores them', async (t) => {
  const env = await testEnv(t);
  const appA = await appFor(t, env.svc);
  const appB = await appFor(t, await env.another());
  const admin = await makeUser(env.svc, null);
  const c = await makeContract(env.svc);
  const operator = await makeUser(env.svc, c.id);

  // Both instances have the lookup cached.
  t.equal((await call(appA, operator.token, 'GET', '/api/v1/me/tokens')).statusCode, 200);
  t.equal((await call(appB, operator.token, 'GET', '/api/v1/me/tokens')).statusCode, 200);

  const off = await call(appA, admin.token, 'PATCH', `/api/v1/users/${operator.user.id}`, { tokenLoginAllowed: false });
  t.equal(off.statusCode, 200);
  t.equal(off.json().tokenLoginAllowed, false);
  for (const app of [appA, appB]) {
    const res = await call(app, operator.token, 'GET', '/api/v1/me/tokens');
    t.equal(res.statusCode, 401);
    t.same(res.json(), { error: { code: 'UNAUTHORIZED', message: 'Missing or invalid API token' } });
  }

  const on = await call(appB, admin.token, 'PATCH', `/api/v1/users/${operator.user.id}`, { tokenLoginAllowed: true });
  t.equal(on.json().tokenLoginAllowed, true);
  t.equal((await call(appA, operator.token, 'GET', '/api/v1/me/tokens')).statusCode, 200);
  t.equal((await call(appB, operator.token, 'GET', '/api/v1/me/tokens')).statusCode, 200);
});
