import t from 'tap';
import { activateToken } from '../../src/domain/activation.js';
import { makeContract, makeSite, makeToken, makeUser, mac } from '../helpers/factories.js';
import { appFor, call } from '../helpers/adminApi.js';
import { makePanelUser, PanelClient } from '../helpers/panel.js';
import { testEnv } from '../helpers/services.js';

const ZONE = { KALITKA_TIME_ZONE: 'Asia/Yekaterinburg' };

t.test('contracts carry a time zone: their own, else the server default; a bad zone is 422', async (t) => {
  const { svc } = await testEnv(t, ZONE);
  const app = await appFor(t, svc);
  const admin = await makeUser(svc, null);
  const plain = await call(app, admin.token, 'POST', '/api/v1/contracts', { name: 'Plain' });
  t.equal(plain.statusCode, 201);
  t.equal(plain.json().timeZone, 'Asia/Yekaterinburg', 'no zone of its own: the server default');
  t.equal(plain.json().disabled, false);
  const zoned = await call(app, admin.token, 'POST', '/api/v1/contracts', { name: 'Zoned', timeZone: 'Europe/Kaliningrad' });
  t.equal(zoned.json().timeZone, 'Europe/Kaliningrad');
  const bad = await call(app, admin.token, 'POST', '/api/v1/contracts', { name: 'Bad', timeZone: 'Mars/Olympus' });
  t.equal(bad.statusCode, 422);
  t.equal(bad.json().error.code, 'INVALID_TIME_ZONE');

  const renamed = await call(app, admin.token, 'PATCH', `/api/v1/contracts/${zoned.json().id}`, { name: '  Kafe  ', timeZone: null });
  t.equal(renamed.statusCode, 200);
  t.equal(renamed.json().name, 'Kafe');
  t.equal(renamed.json().timeZone, 'Asia/Yekaterinburg', 'null goes back to the default');
  t.same((await call(app, admin.token, 'GET', `/api/v1/contracts/${zoned.json().id}`)).json(), renamed.json());
  t.equal((await call(app, admin.token, 'PATCH', `/api/v1/contracts/${zoned.json().id}`, { timeZone: 'Nowhere' })).statusCode, 422);
  t.equal((await call(app, admin.token, 'PATCH', `/api/v1/contracts/${zoned.json().id}`, {})).statusCode, 400);
  t.equal((await call(app, admin.token, 'PATCH', `/api/v1/contracts/${zoned.json().id}`, { name: '   ' })).statusCode, 400);
  t.equal((await call(app, admin.token, 'PATCH', '/api/v1/contracts/00000000-0000-4000-8000-000000000000', { name: 'x' })).statusCode, 404);

  const op = await makeUser(svc, plain.json().id);
  const listed = await call(app, op.token, 'GET', '/api/v1/contracts');
  t.same(listed.json().contracts.map((c: { id: string }) => c.id), [plain.json().id], 'an operator lists its own');
  const all = await call(app, admin.token, 'GET', '/api/v1/contracts');
  t.same(all.json().contracts.map((c: { name: string }) => c.name).sort(), ['Kafe', 'Plain'], 'a system administrator lists all');
  const own = await call(app, op.token, 'PATCH', `/api/v1/contracts/${plain.json().id}`, { name: 'Mine' });
  t.equal(own.statusCode, 403, 'only a system administrator changes a contract');
  const foreign = await call(app, op.token, 'PATCH', `/api/v1/contracts/${zoned.json().id}`, { name: 'Mine' });
  t.equal(foreign.statusCode, 404, "another contract's is not found");
});

t.test("a disabled contract's portal, session answers and operators stop at once on every instance, and come back", async (t) => {
  const env = await testEnv(t);
  const { svc } = env;
  const app = await appFor(t, svc);
  const other = await appFor(t, await env.another());
  const admin = await makeUser(svc, null);
  const { contract, network } = await makeSite(svc);
  const op = await makeUser(svc, contract.id);
  const panelUser = await makePanelUser(svc, contract.id);
  const panel = new PanelClient(app);
  t.equal((await panel.login(panelUser.login)).statusCode, 303);
  const portal = `/portal/${network.id}?mac=${encodeURIComponent(mac())}`;
  // Warm every cache first: the lookups of the token and the network, on both instances.
  for (const a of [app, other]) {
    t.equal((await call(a, op.token, 'GET', `/api/v1/contracts/${contract.id}`)).statusCode, 200);
    t.equal((await a.inject(portal)).statusCode, 200);
  }

  const off = await call(app, admin.token, 'PATCH', `/api/v1/contracts/${contract.id}`, { disabled: true });
  t.equal(off.statusCode, 200);
  t.equal(off.json().disabled, true);
  for (const [name, a] of [['this instance', app], ['the other instance', other]] as const) {
    t.equal((await call(a, op.token, 'GET', `/api/v1/contracts/${contract.id}`)).statusCode, 401, `${name}: the operator's token is 401`);
    t.equal((await a.inject(portal)).statusCode, 404, `${name}: the portal refuses`);
    t.equal((await call(a, admin.token, 'GET', `/api/v1/networks/${network.id}/sessions`)).statusCode, 404, `${name}: no session answers`);
  }
  t.equal((await panel.get('/admin/tokens')).statusCode, 303, 'the panel session ends');
  t.equal((await panel.login(panelUser.login)).statusCode, 401, 'and a new sign-in is refused like a wrong password');
  t.equal((await call(app, admin.token, 'GET', `/api/v1/contracts/${contract.id}`)).json().disabled, true, 'the administrator still sees it');

  t.equal((await call(app, admin.token, 'PATCH', `/api/v1/contracts/${contract.id}`, { disabled: false })).statusCode, 200);
  for (const a of [app, other]) {
    t.equal((await call(a, op.token, 'GET', `/api/v1/contracts/${contract.id}`)).statusCode, 200, 'enabled: the token works again');
    t.equal((await a.inject(portal)).statusCode, 200, 'enabled: the portal serves again');
  }
  t.equal((await panel.login(panelUser.login)).statusCode, 303);
});

t.test('PATCH a network: name and settings change (null removes one), secrets stay unseen and kept, the controller is fixed', async (t) => {
  const { svc } = await testEnv(t);
  const app = await appFor(t, svc);
  const { contract } = await makeSite(svc);
  const op = await makeUser(svc, contract.id);
  const made = await call(app, op.token, 'POST', `/api/v1/contracts/${contract.id}/networks`, {
    name: 'Hall',
    controller: 'generic',
    webhookUrl: 'https://hooks.example/a',
    webhookSecret: 'a-very-long-secret-1',
  });
  t.equal(made.statusCode, 201);
  const id = made.json().id;
  const renamed = await call(app, op.token, 'PATCH', `/api/v1/networks/${id}`, { name: ' Lobby ', webhookUrl: 'https://hooks.example/b' });
  t.equal(renamed.statusCode, 200);
  t.equal(renamed.json().name, 'Lobby');
  t.equal(renamed.json().webhookUrl, 'https://hooks.example/b');
  t.equal(renamed.json().webhookSecret, undefined, 'the secret is not shown');
  const row = await svc.db.query<{ settings: Record<string, unknown> }>('select settings from networks where id = $1', [id]);
  t.equal(row.rows[0].settings.webhookSecret, 'a-very-long-secret-1', 'the secret not sent again is kept');
  t.same((await call(app, op.token, 'GET', `/api/v1/networks/${id}`)).json(), renamed.json());

  const needsSecret = await call(app, op.token, 'PATCH', `/api/v1/networks/${id}`, { webhookSecret: null });
  t.equal(needsSecret.statusCode, 400, 'a webhook without its secret is refused whole');
  t.equal(needsSecret.json().error.code, 'INVALID_SETTINGS');
  const removed = await call(app, op.token, 'PATCH', `/api/v1/networks/${id}`, { webhookUrl: null, webhookSecret: null });
  t.equal(removed.statusCode, 200);
  t.equal(removed.json().webhookUrl, undefined);
  t.equal((await call(app, op.token, 'PATCH', `/api/v1/networks/${id}`, { controller: 'unifi' })).statusCode, 400);
  t.equal((await call(app, op.token, 'PATCH', `/api/v1/networks/${id}`, { nasIdentifier: 'has space' })).statusCode, 400);
  t.equal((await call(app, op.token, 'PATCH', `/api/v1/networks/${id}`, {})).statusCode, 400);

  const stranger = await makeUser(svc, (await makeContract(svc)).id);
  t.equal((await call(app, stranger.token, 'PATCH', `/api/v1/networks/${id}`, { name: 'Mine' })).statusCode, 404);
  t.equal((await call(app, stranger.token, 'DELETE', `/api/v1/networks/${id}`)).statusCode, 404);
  t.equal((await call(app, op.token, 'GET', `/api/v1/networks/${id}`)).json().name, 'Lobby', 'the refusals changed nothing');
});

t.test("DELETE a network: 204, its live identifications end (annulled) first, it serves nobody, the log keeps it", async (t) => {
  const env = await testEnv(t);
  const { svc } = env;
  const app = await appFor(t, svc);
  const other = await appFor(t, await env.another());
  const { contract, network } = await makeSite(svc);
  const keep = await call(app, (await makeUser(svc, null)).token, 'POST', `/api/v1/contracts/${contract.id}/networks`, { name: 'Kept', controller: 'generic' });
  const op = await makeUser(svc, contract.id);
  const token = await makeToken(svc, contract.id);
  const device = mac();
  await activateToken(svc, { networkId: network.id, mac: device, code: token.code, now: svc.now() });
  const portal = `/portal/${network.id}?mac=${encodeURIComponent(mac())}`;
  for (const a of [app, other]) t.equal((await a.inject(portal)).statusCode, 200, 'served before (and cached)');

  const res = await call(app, op.token, 'DELETE', `/api/v1/networks/${network.id}`);
  t.equal(res.statusCode, 204);
  t.equal(res.body, '');
  const ident = await svc.db.query<{ ended_at: Date | null; end_reason: string | null }>('select ended_at, end_reason from identifications where mac = $1', [device]);
  t.same(ident.rows, [{ ended_at: svc.now(), end_reason: 'annulled' }], 'the live identification ended, reason annulled');
  const copy = await call(app, op.token, 'GET', `/api/v1/contracts/${contract.id}/tokens?status=annulled`);
  t.same(copy.json().tokens.map((x: { id: string }) => x.id), [token.id], 'its token copy is annulled');
  const revokes = await svc.db.query<{ n: number }>(`select count(*)::int as n from outbox where kind = 'revoke' and network_id = $1`, [network.id]);
  t.equal(revokes.rows[0].n, 1, 'the controller is told to de-authorise the device');
  const session = await call(app, op.token, 'GET', `/api/v1/networks/${keep.json().id}/sessions/${encodeURIComponent(device)}`);
  t.equal(session.json().authorized, false);

  for (const a of [app, other]) t.equal((await a.inject(portal)).statusCode, 404, 'no instance serves its portal');
  t.equal((await call(app, op.token, 'GET', `/api/v1/networks/${network.id}`)).statusCode, 404);
  t.same((await call(app, op.token, 'GET', `/api/v1/contracts/${contract.id}/networks`)).json().networks.map((n: { id: string }) => n.id), [keep.json().id]);
  t.equal((await call(app, op.token, 'DELETE', `/api/v1/networks/${network.id}`)).statusCode, 404, 'a second delete finds nothing');
  const log = await svc.db.query<{ name: string }>('select n.name from identifications i join networks n on n.id = i.network_id where i.mac = $1', [device]);
  t.same(log.rows, [{ name: network.name }], 'the identification log still names the network');
});

t.test('DELETE a user: 204, their API tokens are 401 at once on every instance; not oneself, not another contract', async (t) => {
  const env = await testEnv(t);
  const { svc } = env;
  const app = await appFor(t, svc);
  const other = await appFor(t, await env.another());
  const admin = await makeUser(svc, null);
  const { contract } = await makeSite(svc);
  const op = await makeUser(svc, contract.id);
  const leaving = await makeUser(svc, contract.id);
  for (const a of [app, other]) t.equal((await call(a, leaving.token, 'GET', '/api/v1/me/tokens')).statusCode, 200, 'cached on both');

  const stranger = await makeUser(svc, (await makeContract(svc)).id);
  t.equal((await call(app, stranger.token, 'DELETE', `/api/v1/users/${leaving.user.id}`)).statusCode, 404);
  const self = await call(app, op.token, 'DELETE', `/api/v1/users/${op.user.id}`);
  t.equal(self.statusCode, 422);
  t.equal(self.json().error.code, 'CANNOT_DELETE_SELF');

  const res = await call(app, op.token, 'DELETE', `/api/v1/users/${leaving.user.id}`);
  t.equal(res.statusCode, 204);
  for (const a of [app, other]) t.equal((await call(a, leaving.token, 'GET', '/api/v1/me/tokens')).statusCode, 401, 'its token is 401 at once');
  t.equal((await call(app, op.token, 'GET', `/api/v1/users/${leaving.user.id}`)).statusCode, 404);
  t.equal((await call(app, admin.token, 'DELETE', `/api/v1/users/${leaving.user.id}`)).statusCode, 404);
  t.equal((await call(app, admin.token, 'DELETE', `/api/v1/users/${op.user.id}`)).statusCode, 204, 'a system administrator deletes anyone else');
});

t.test('an issuer lists, generates, prints, annuls and notes issuedTo; every other route is 404', async (t) => {
  const { svc } = await testEnv(t);
  const app = await appFor(t, svc);
  const admin = await makeUser(svc, null);
  const { contract, network } = await makeSite(svc);
  const made = await call(app, admin.token, 'POST', '/api/v1/users', { login: 'reception', password: 'password1', contractId: contract.id, role: 'issuer', tokenLoginAllowed: true });
  t.equal(made.statusCode, 201);
  t.equal(made.json().role, 'issuer');
  const desk = await call(app, admin.token, 'POST', '/api/v1/users', { login: 'root-issuer', password: 'password1', contractId: null, role: 'issuer' });
  t.equal(desk.statusCode, 422, 'a system administrator is never an issuer');
  t.equal(desk.json().error.code, 'INVALID_ROLE');
  const issuer = await makeUser(svc, contract.id, { role: 'issuer' });

  const gen = await call(app, issuer.token, 'POST', `/api/v1/contracts/${contract.id}/tokens`, { count: 2, multiUse: false, durationDays: 1 });
  t.equal(gen.statusCode, 201);
  const [a, b] = gen.json().tokens;
  t.equal((await call(app, issuer.token, 'GET', `/api/v1/contracts/${contract.id}/tokens`)).statusCode, 200);
  t.equal((await call(app, issuer.token, 'GET', `/api/v1/contracts/${contract.id}/tokens.pdf`)).statusCode, 200);
  t.equal((await call(app, issuer.token, 'POST', `/api/v1/tokens/${a.id}/annul`)).statusCode, 200);
  t.equal((await call(app, issuer.token, 'PATCH', `/api/v1/tokens/${b.id}`, { issuedTo: 'Паспорт 4510 123456' })).statusCode, 200);
  t.equal((await call(app, issuer.token, 'GET', `/api/v1/contracts/${contract.id}`)).statusCode, 200, 'its own contract');
  t.equal((await call(app, issuer.token, 'GET', '/api/v1/me/tokens')).statusCode, 200, 'its own API tokens');

  for (const [method, url, body] of [
    ['DELETE', `/api/v1/tokens/${b.id}`],
    ['GET', `/api/v1/contracts/${contract.id}/networks`],
    ['POST', `/api/v1/contracts/${contract.id}/networks`, { name: 'x', controller: 'generic' }],
    ['GET', `/api/v1/networks/${network.id}`],
    ['PATCH', `/api/v1/networks/${network.id}`, { name: 'x' }],
    ['DELETE', `/api/v1/networks/${network.id}`],
    ['GET', `/api/v1/networks/${network.id}/sessions`],
    ['GET', `/api/v1/contracts/${contract.id}/identifications`],
    ['GET', '/api/v1/users'],
    ['GET', `/api/v1/users/${issuer.user.id}`],
    ['POST', '/api/v1/users', { login: 'another', password: 'password1', contractId: contract.id }],
    ['PATCH', `/api/v1/contracts/${contract.id}`, { name: 'x' }],
  ] as Array<[string, string, unknown?]>) {
    const res = await call(app, issuer.token, method as 'GET', url, body);
    t.equal(res.statusCode, 404, `${method} ${url}`);
    t.equal(res.json().error.code, 'NOT_FOUND');
  }
  t.equal((await call(app, issuer.token, 'GET', `/api/v1/contracts/${contract.id}/tokens?status=unused`)).json().tokens.length, 1, 'the refused delete deleted nothing');

  // Made an operator, the same token reaches the networks at once (its cached lookup is dropped).
  const promoted = await call(app, admin.token, 'PATCH', `/api/v1/users/${issuer.user.id}`, { role: 'operator' });
  t.equal(promoted.statusCode, 200);
  t.equal((await call(app, issuer.token, 'GET', `/api/v1/networks/${network.id}`)).statusCode, 200);
});

t.test('in the panel an issuer sees tokens and its profile only', async (t) => {
  const { svc } = await testEnv(t);
  const app = await appFor(t, svc);
  const { contract } = await makeSite(svc);
  const user = await makePanelUser(svc, contract.id, { role: 'issuer' });
  const client = new PanelClient(app);
  t.equal((await client.login(user.login)).statusCode, 303);
  const tokens = await client.get('/admin/tokens');
  t.equal(tokens.statusCode, 200);
  t.notMatch(tokens.body, /href="\/admin\/networks"/, 'no networks in the navigation');
  t.notMatch(tokens.body, /href="\/admin\/log"/);
  t.notMatch(tokens.body, /href="\/admin\/sessions"/);
  for (const page of ['/admin/networks', '/admin/sessions', '/admin/log', '/admin/users']) {
    t.equal((await client.get(page)).statusCode, 404, page);
  }
  t.equal((await client.post('/admin/tokens/generate', { count: '3', uses: 'single', term: '1' })).statusCode, 303, 'it generates');
  t.equal((await client.get('/admin/profile')).statusCode, 200);
});
