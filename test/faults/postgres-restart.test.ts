import t from 'tap';
import { buildApp } from '../../src/http/app.js';
import { makeSite, makeTokens, makeUser, mac } from '../helpers/factories.js';
import { privatePostgres } from '../helpers/pg-cluster.js';
import { freePort } from '../helpers/process.js';
import { testEnv } from '../helpers/services.js';

const ctxOf = (html: string) => /name="ctx" value="([^"]+)"/.exec(html)?.[1] ?? '';

t.test('Postgres restarted mid-load: clear 503s while it is down, nothing half-written, recovery by itself', async (t) => {
  const pg = privatePostgres(t, freePort());
  const env = await testEnv(t, { DATABASE_URL: pg.url });
  const app = await buildApp(env.svc);
  t.teardown(() => app.close());
  const { contract, network } = await makeSite(env.svc);
  const op = await makeUser(env.svc, contract.id);
  const tokens = await makeTokens(env.svc, contract.id, { count: 120, durationDays: null });

  // One guest after another enters a code while the database goes away and comes back.
  const statuses: number[] = [];
  const outcome = new Map<string, number>();
  let i = 0;
  let stopLoad = false;
  const load = (async () => {
    while (!stopLoad && i < tokens.length) {
      const tok = tokens[i];
      const device = mac(1000 + i++);
      const page = await app.inject(`/portal/${network.id}?mac=${device}`);
      if (page.statusCode !== 200) {
        statuses.push(page.statusCode);
        continue;
      }
      const res = await app.inject({
        method: 'POST',
        url: `/portal/${network.id}/activate`,
        payload: new URLSearchParams({ token: tok.code, ctx: ctxOf(page.body) }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      statuses.push(res.statusCode);
      outcome.set(tok.id, res.statusCode);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();

  await new Promise((r) => setTimeout(r, 500));
  pg.stop();
  const down = await app.inject({ method: 'GET', url: `/api/v1/contracts/${contract.id}/tokens`, headers: op.auth });
  t.equal(down.statusCode, 503);
  t.same(down.json(), { error: { code: 'STORE_UNAVAILABLE', message: 'The database is unavailable; try again shortly' } });
  const ready = await app.inject('/readyz');
  t.equal(ready.statusCode, 503);
  t.equal(ready.json().store, 'down');
  await new Promise((r) => setTimeout(r, 1_000));
  pg.start();
  await new Promise((r) => setTimeout(r, 1_500));
  stopLoad = true;
  await load;

  t.equal((await app.inject('/readyz')).statusCode, 200, 'ready again without a restart of Kalitka');
  const after = await app.inject({ method: 'GET', url: `/api/v1/contracts/${contract.id}/tokens?status=active`, headers: op.auth });
  t.equal(after.statusCode, 200);
  t.ok(statuses.every((s) => s === 200 || s === 503), `only successes and 503s (${[...new Set(statuses)].join(', ')})`);
  t.ok(statuses.includes(503), 'some requests met the outage');
  t.ok(statuses.filter((s) => s === 200).length > 2, 'and the others went through');

  // Nothing half-written: every token is either active with its identification, or untouched.
  const rows = await env.svc.db.query<{ id: string; status: string; idents: number }>(
    `select t.id, t.status, (select count(*)::int from identifications i where i.token_id = t.id) as idents from tokens t`,
  );
  for (const row of rows.rows) {
    if (row.status === 'active') t.equal(row.idents, 1, `active ${row.id} has its identification`);
    else t.same([row.status, row.idents], ['unused', 0], `untouched ${row.id}`);
    if (outcome.get(row.id) === 200) t.equal(row.status, 'active', 'a guest told "connected" really is');
  }
});
