import t from 'tap';
import { newApiToken } from '../../src/domain/apiTokens.js';
import { makeContract, makeUser } from '../helpers/factories.js';
import { appFor, call, eventually, sleep } from '../helpers/adminApi.js';
import { testEnv } from '../helpers/services.js';

const UNAUTHORIZED = { error: { code: 'UNAUTHORIZED', message: 'Missing or invalid API token' } };

t.test('a new personal token is shown once, not cached, and works at once', async (t) => {
  const { svc, clock } = await testEnv(t);
  const app = await appFor(t, svc);
  const c = await makeContract(svc);
  const me = await makeUser(svc, c.id);
  const firstAt = clock.now().toISOString();
  clock.advance(60_000);
  const res = await call(app, me.token, 'POST', '/api/v1/me/tokens', { label: 'Telegram' });
  t.equal(res.statusCode, 201);
  t.equal(res.headers['cache-control'], 'no-store');
  const made = res.json();
  t.same(Object.keys(made).sort(), ['createdAt', 'id', 'label', 'token']);
  t.equal(made.label, 'Telegram');
  t.equal(made.createdAt, clock.now().toISOString());
  t.match(made.token, /^klt_[0-9A-Za-z]{36}$/);

  const list = await call(app, me.token, 'GET', '/api/v1/me/tokens');
  t.equal(list.statusCode, 200);
  const [first] = list.json().tokens;
  t.same(list.json(), {
    tokens: [
      { id: first.id, label: 'test', lastUsedAt: first.lastUsedAt, createdAt: firstAt },
      { id: made.id, label: 'Telegram', lastUsedAt: null, createdAt: clock.now().toISOString() },
    ],
  });
  t.notOk(list.body.includes(made.token), 'the secret is never listed');
  t.notOk(list.body.includes('hash'), 'nor its hash');

  const withNew = await call(app, made.token, 'GET', '/api/v1/me/tokens');
  t.equal(withNew.statusCode, 200, 'the new token authenticates as its user');
  t.equal(withNew.json().tokens.length, 2);
});

t.test('labels are trimmed, 1–20 characters counted as code points, unique among live tokens', async (t) => {
  const { svc } = await testEnv(t);
  const app = await appFor(t, svc);
  const c = await makeContract(svc);
  const me = await makeUser(svc, c.id);
  const create = (label: unknown) => call(app, me.token, 'POST', '/api/v1/me/tokens', { label });

  // Trimmed of all Unicode white space (a tab is a control character: see the input-hygiene tests).
  const trimmed = await create('\u00A0 Telegram bot \u3000');
  t.equal(trimmed.statusCode, 201);
  t.equal(trimmed.json().label, 'Telegram bot');

  const cyrillic = 'Касса на ресепшене 1'; // 20 letters of two bytes each
  t.equal([...cyrillic].length, 20);
  t.equal((await create(cyrillic)).json().label, cyrillic);
  const emoji = '🔑 Бухгалтерия 2026!!'; // an astral-plane emoji counts as one
  t.equal([...emoji].length, 20);
  t.equal((await create(emoji)).statusCode, 201);

  for (const label of ['', '   ', 'Касса на ресепшене 12', 'x'.repeat(21), '🔑'.repeat(21)]) {
    const res = await create(label);
    t.equal(res.statusCode, 422, `label ${JSON.stringify(label)}`);
    t.same(res.json(), { error: { code: 'INVALID_LABEL', message: 'A label is 1 to 20 characters' } });
  }
  for (const body of [{ label: 42 }, { label: null }, { label: ['a'] }, {}, { label: 'ok', scope: 'all' }]) {
    const res = await call(app, me.token, 'POST', '/api/v1/me/tokens', body);
    t.equal(res.statusCode, 400, JSON.stringify(body));
    t.equal(res.json().error.code, 'VALIDATION_ERROR');
  }

  const family = '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}'; // one user-perceived character of five code points
  t.equal((await create(family.repeat(3))).statusCode, 201, 'three family emoji are three characters');
  t.equal((await create(family.repeat(20))).statusCode, 201);
  t.equal((await create(family.repeat(21))).statusCode, 422);
  for (const label of ['\u200B', 'a\u200Bb', '\u202Eexe.txt', 'ops\u2028bot']) {
    const res = await create(label);
    const shown = [...label].map((c) => (c.charCodeAt(0) > 0x7e ? `U+${c.codePointAt(0)!.toString(16)}` : c)).join('');
    t.equal(res.statusCode, 422, `label ${shown}`);
    t.equal(res.json().error.code, 'INVALID_LABEL');
    t.match(res.json().error.message, /control or invisible formatting characters/);
  }

  const dup = await create(' Telegram bot');
  t.equal(dup.statusCode, 409);
  t.same(dup.json(), { error: { code: 'LABEL_TAKEN', message: 'You already have a token labelled "Telegram bot"' } });

  const colleague = await makeUser(svc, c.id);
  t.equal((await call(app, colleague.token, 'POST', '/api/v1/me/tokens', { label: 'Telegram bot' })).statusCode, 201, 'labels are per user');

  t.equal((await call(app, me.token, 'DELETE', `/api/v1/me/tokens/${trimmed.json().id}`)).statusCode, 204);
  const reused = await create('Telegram bot');
  t.equal(reused.statusCode, 201, "a revoked token's label may be used again");
  t.not(reused.json().id, trimmed.json().id);
});

t.test('a revoked token gets 401 from then on, on every instance', async (t) => {
  const env = await testEnv(t);
  const appA = await appFor(t, env.svc);
  const appB = await appFor(t, await env.another());
  const c = await makeContract(env.svc);
  const me = await makeUser(env.svc, c.id);
  const made = (await call(appA, me.token, 'POST', '/api/v1/me/tokens', { label: 'script' })).json();

  // Instance B has the token's lookup cached before the revocation.
  t.equal((await call(appB, made.token, 'GET', '/api/v1/me/tokens')).statusCode, 200);
  t.equal((await call(appA, made.token, 'GET', '/api/v1/me/tokens')).statusCode, 200);

  const del = await call(appA, me.token, 'DELETE', `/api/v1/me/tokens/${made.id}`);
  t.equal(del.statusCode, 204);
  t.equal(del.body, '');
  for (const app of [appA, appB]) {
    const res = await call(app, made.token, 'GET', '/api/v1/me/tokens');
    t.equal(res.statusCode, 401);
    t.same(res.json(), UNAUTHORIZED);
  }
  const list = await call(appB, me.token, 'GET', '/api/v1/me/tokens');
  t.same(list.json().tokens.map((x: { label: string }) => x.label), ['test'], 'it leaves the list');
  t.equal((await call(appA, me.token, 'DELETE', `/api/v1/me/tokens/${made.id}`)).statusCode, 404, 'revoking twice is a 404');
});

t.test("another user's token cannot be revoked or seen", async (t) => {
  const { svc } = await testEnv(t);
  const app = await appFor(t, svc);
  const c = await makeContract(svc);
  const me = await makeUser(svc, c.id);
  const colleague = await makeUser(svc, c.id);
  const admin = await makeUser(svc, null);
  const theirs = (await call(app, colleague.token, 'POST', '/api/v1/me/tokens', { label: 'mine' })).json();

  for (const caller of [me, admin]) {
    const res = await call(app, caller.token, 'DELETE', `/api/v1/me/tokens/${theirs.id}`);
    t.equal(res.statusCode, 404);
    t.same(res.json(), { error: { code: 'NOT_FOUND', message: 'API token not found' } });
    t.notOk((await call(app, caller.token, 'GET', '/api/v1/me/tokens')).body.includes(theirs.id));
  }
  t.equal((await call(app, theirs.token, 'GET', '/api/v1/me/tokens')).statusCode, 200, 'it still works');
  t.equal((await call(app, me.token, 'DELETE', '/api/v1/me/tokens/42')).statusCode, 400);
});

t.test('a user without token login gets the same 401 as an unknown token', async (t) => {
  const { svc } = await testEnv(t);
  const app = await appFor(t, svc);
  const c = await makeContract(svc);
  const barred = await makeUser(svc, c.id, { tokenLoginAllowed: false });
  const barredRes = await call(app, barred.token, 'GET', '/api/v1/me/tokens');
  const unknownRes = await call(app, newApiToken(), 'GET', '/api/v1/me/tokens');
  const noneRes = await app.inject({ method: 'GET', url: '/api/v1/me/tokens' });
  for (const res of [barredRes, unknownRes, noneRes]) {
    t.equal(res.statusCode, 401);
    t.same(res.json(), UNAUTHORIZED);
  }
  t.equal(barredRes.body, unknownRes.body);
});

t.test('last access is written at most once a minute per token', async (t) => {
  const { svc, clock } = await testEnv(t);
  const app = await appFor(t, svc);
  const c = await makeContract(svc);
  const me = await makeUser(svc, c.id);
  const lastUsed = async () => {
    const res = await call(app, me.token, 'GET', '/api/v1/me/tokens');
    return res.json().tokens[0].lastUsedAt as string | null;
  };
  const readRow = async () =>
    (await svc.db.query<{ last_used_at: Date | null }>(`select last_used_at from api_tokens where user_id = $1::uuid`, [me.user.id])).rows[0]
      .last_used_at?.toISOString() ?? null;

  const t0 = clock.now().toISOString();
  t.equal(await readRow(), null, 'never used');
  await lastUsed();
  t.equal(await eventually(readRow, (v) => v === t0), t0, 'the first use is written');

  clock.advance(30_000);
  await lastUsed();
  await sleep(100); // give a write that should not happen the time to happen
  t.equal(await readRow(), t0, '30 s later: unchanged');

  clock.advance(31_000);
  const t61 = clock.now().toISOString();
  await lastUsed();
  t.equal(await eventually(readRow, (v) => v === t61), t61, '61 s after the first use: written again');
  t.equal(await lastUsed(), t61, 'and listed');
});
