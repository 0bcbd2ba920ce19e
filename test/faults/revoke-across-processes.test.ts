import { randomBytes } from 'node:crypto';
import pg from 'pg';
import t from 'tap';
import { freePort, startServer } from '../helpers/process.js';
import { setup } from '../helpers/services.js';

// Two real processes on one Postgres and one Redis: each keeps token lookups a few seconds in
// memory, so this is where a revoke must travel between instances (Redis pub/sub).
const databaseUrl = setup.databaseUrl ?? 'postgres://postgres@127.0.0.1:5432/test';
const redisUrl = setup.redisUrl ?? 'redis://127.0.0.1:6379';

t.test('a personal token revoked on one instance gets 401 on another at once', async (t) => {
  const name = `kalitka_t_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  t.teardown(async () => {
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  });
  const env = {
    DATABASE_URL: Object.assign(new URL(databaseUrl), { pathname: `/${name}` }).toString(),
    REDIS_URL: redisUrl,
    KALITKA_REDIS_PREFIX: `${name}:`,
    KALITKA_ADMIN_TOKEN: 'revoke_admin_token_0123456789_abcdefgh',
    KALITKA_ROLES: 'portal,admin',
  };
  const a = await startServer(t, env, freePort());
  const b = await startServer(t, env, freePort());
  const asAdmin = { authorization: `Bearer ${env.KALITKA_ADMIN_TOKEN}`, 'content-type': 'application/json' };
  const made = await fetch(`${a.base}/api/v1/me/tokens`, { method: 'POST', headers: asAdmin, body: JSON.stringify({ label: 'poller' }) }).then((r) => r.json());
  t.match(made, { label: 'poller', token: /^klt_/ }, 'a token was made');
  const withToken = { authorization: `Bearer ${made.token}` };
  t.equal((await fetch(`${b.base}/api/v1/contracts`, { headers: withToken })).status, 200, 'B knows the token (and now keeps the lookup)');
  t.equal((await fetch(`${a.base}/api/v1/me/tokens/${made.id}`, { method: 'DELETE', headers: asAdmin })).status, 204, 'revoked on A');
  await new Promise((r) => setTimeout(r, 50)); // the broadcast crosses Redis in well under this
  t.equal((await fetch(`${b.base}/api/v1/contracts`, { headers: withToken })).status, 401, 'B refuses it');
  t.equal((await fetch(`${a.base}/api/v1/contracts`, { headers: withToken })).status, 401, 'and so does A');
});
