import t from 'tap';
import { buildApp } from '../../src/http/app.js';
import { makeSite, makeToken, makeUser, mac } from '../helpers/factories.js';
import { testEnv, usingServers } from '../helpers/services.js';

const ctxOf = (html: string) => /name="ctx" value="([^"]+)"/.exec(html)?.[1] ?? '';

/** Three app instances behind an imaginary load balancer, on one Postgres and one Redis. */
async function cluster(t: Parameters<typeof testEnv>[0]) {
  const env = await testEnv(t, { PORTAL_MAX_FAILS_PER_DEVICE: '1000', PORTAL_MAX_FAILS_PER_IP: '1000' });
  const services = [env.svc, await env.another(), await env.another()];
  const apps = await Promise.all(services.map((s) => buildApp(s)));
  t.teardown(() => Promise.all(apps.map((a) => a.close())));
  return { ...env, apps };
}

async function enter(app: Awaited<ReturnType<typeof buildApp>>, networkId: string, device: string, code: string) {
  const page = await app.inject(`/portal/${networkId}?mac=${device}`);
  const ctx = ctxOf(page.body);
  // A device whose other entry already went through is let through by the page itself.
  if (!ctx) return page.statusCode;
  const res = await app.inject({
    method: 'POST',
    url: `/portal/${networkId}/activate`,
    payload: new URLSearchParams({ token: code, ctx }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  return res.statusCode;
}

t.test('three instances: 30 devices race one single-use code through the portal, one wins', async (t) => {
  const { svc, apps } = await cluster(t);
  const { contract, network } = await makeSite(svc);
  const tok = await makeToken(svc, contract.id);
  const statuses = await Promise.all(Array.from({ length: 30 }, (_, i) => enter(apps[i % 3], network.id, mac(500 + i), tok.code)));
  t.equal(statuses.filter((s) => s === 200).length, 1);
  t.equal(statuses.filter((s) => s === 403).length, 29);
});

t.test('three instances: devices race one multi-use code, one unused copy is left', async (t) => {
  const { svc, apps } = await cluster(t);
  const { contract, network } = await makeSite(svc);
  const tok = await makeToken(svc, contract.id, { multiUse: true });
  const statuses = await Promise.all(Array.from({ length: 24 }, (_, i) => enter(apps[i % 3], network.id, mac(600 + (i % 12)), tok.code)));
  t.ok(statuses.every((s) => s === 200));
  const rows = await svc.db.query<{ status: string; n: number }>(`select status, count(*)::int as n from tokens group by status order by status`);
  t.same(rows.rows, [{ status: 'active', n: 12 }, { status: 'unused', n: 1 }]);
});

t.test('three instances: generators racing the 200 limit never pass it', async (t) => {
  const { svc, apps } = await cluster(t);
  const { contract } = await makeSite(svc);
  const op = await makeUser(svc, contract.id);
  const statuses = await Promise.all(
    Array.from({ length: 9 }, (_, i) =>
      apps[i % 3].inject({ method: 'POST', url: `/api/v1/contracts/${contract.id}/tokens`, headers: op.auth, payload: { count: 50, multiUse: false, durationDays: 1 } }).then((r) => r.statusCode),
    ),
  );
  t.equal(statuses.filter((s) => s === 201).length, 4);
  t.equal(statuses.filter((s) => s === 409).length, 5);
  const n = await svc.db.query<{ n: number }>(`select count(*)::int as n from tokens where status = 'unused'`);
  t.equal(n.rows[0].n, 200);
});

t.test('three instances: an annul on one is seen by the others at once', async (t) => {
  const { svc, apps } = await cluster(t);
  const { contract, network } = await makeSite(svc);
  const op = await makeUser(svc, contract.id);
  const tok = await makeToken(svc, contract.id, { durationDays: null });
  t.equal(await enter(apps[0], network.id, mac(1), tok.code), 200);
  const poll = (i: number) =>
    apps[i].inject({ method: 'GET', url: `/api/v1/networks/${network.id}/sessions/${mac(1)}`, headers: op.auth }).then((r) => r.json().authorized);
  t.same(await Promise.all([poll(0), poll(1), poll(2)]), [true, true, true], 'all three answer from the shared cache');
  const annul = await apps[1].inject({ method: 'POST', url: `/api/v1/tokens/${tok.id}/annul`, headers: op.auth });
  t.equal(annul.statusCode, 200);
  t.same(await Promise.all([poll(0), poll(1), poll(2)]), [false, false, false], 'no instance still says authorised');
  if (!usingServers) t.comment('embedded setup: the three "instances" share one process store');
});
