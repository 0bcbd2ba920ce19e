import t from 'tap';
import { createApiToken } from '../../src/domain/apiTokens.js';
import { activateToken } from '../../src/domain/activation.js';
import type { Services } from '../../src/services.js';
import { mac, makeSite, makeToken, makeUser } from '../helpers/factories.js';
import { appFor, call } from '../helpers/adminApi.js';
import { testEnv } from '../helpers/services.js';

/** Ids of contract B's objects that A's operator aims at. */
interface Target {
  contract: string;
  network: string;
  unused: string;
  active: string;
  doomed: string;
  noted: string;
  user: string;
  apiToken: string;
  mac: string;
}

interface Case {
  name: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: (o: Target) => string;
  body?: unknown;
  /** What another contract's operator gets. */
  foreign: 404 | 403;
  /** What B's own caller gets for the same request: proves the route and ids are right. */
  owner: number;
  ownerIs?: 'admin';
}

const cases: Case[] = [
  { name: 'show contract', method: 'GET', url: (o) => `/api/v1/contracts/${o.contract}`, foreign: 404, owner: 200 },
  { name: 'create contract', method: 'POST', url: () => '/api/v1/contracts', body: { name: 'Mine now' }, foreign: 403, owner: 201, ownerIs: 'admin' },
  { name: 'add network', method: 'POST', url: (o) => `/api/v1/contracts/${o.contract}/networks`, body: { name: 'Evil twin', controller: 'generic' }, foreign: 404, owner: 201 },
  { name: 'list networks', method: 'GET', url: (o) => `/api/v1/contracts/${o.contract}/networks`, foreign: 404, owner: 200 },
  { name: 'show network', method: 'GET', url: (o) => `/api/v1/networks/${o.network}`, foreign: 404, owner: 200 },
  { name: 'list tokens', method: 'GET', url: (o) => `/api/v1/contracts/${o.contract}/tokens`, foreign: 404, owner: 200 },
  { name: 'generate tokens', method: 'POST', url: (o) => `/api/v1/contracts/${o.contract}/tokens`, body: { count: 5 }, foreign: 404, owner: 201 },
  { name: 'annul an unused token', method: 'POST', url: (o) => `/api/v1/tokens/${o.unused}/annul`, foreign: 404, owner: 200 },
  { name: 'annul an active token', method: 'POST', url: (o) => `/api/v1/tokens/${o.active}/annul`, foreign: 404, owner: 200 },
  { name: 'delete a token', method: 'DELETE', url: (o) => `/api/v1/tokens/${o.doomed}`, foreign: 404, owner: 204 },
  { name: 'note whom a token went to', method: 'PATCH', url: (o) => `/api/v1/tokens/${o.noted}`, body: { issuedTo: 'someone' }, foreign: 404, owner: 200 },
  { name: 'print slips', method: 'GET', url: (o) => `/api/v1/contracts/${o.contract}/tokens.pdf`, foreign: 404, owner: 200 },
  { name: 'show user', method: 'GET', url: (o) => `/api/v1/users/${o.user}`, foreign: 404, owner: 200 },
  { name: "change a user's password", method: 'PATCH', url: (o) => `/api/v1/users/${o.user}`, body: { password: 'taken over' }, foreign: 404, owner: 200 },
  { name: "change a user's token login", method: 'PATCH', url: (o) => `/api/v1/users/${o.user}`, body: { tokenLoginAllowed: true }, foreign: 404, owner: 200, ownerIs: 'admin' },
  { name: 'create a user in the contract', method: 'POST', url: () => '/api/v1/users', body: 'contract', foreign: 403, owner: 201 },
  { name: "revoke a user's API token", method: 'DELETE', url: (o) => `/api/v1/me/tokens/${o.apiToken}`, foreign: 404, owner: 204 },
  { name: 'list sessions', method: 'GET', url: (o) => `/api/v1/networks/${o.network}/sessions`, foreign: 404, owner: 200 },
  { name: "a device's session", method: 'GET', url: (o) => `/api/v1/networks/${o.network}/sessions/${o.mac}`, foreign: 404, owner: 200 },
];

const bodyFor = (c: Case, o: Target, login: string) =>
  c.body === 'contract' ? { login, password: 'password1', contractId: o.contract, tokenLoginAllowed: false } : c.body;

/** Everything in the store that a request could change (last access is written by any request). */
async function snapshot(svc: Services) {
  const tables = ['contracts', 'networks', 'tokens', 'users', 'identifications'];
  const out: Record<string, unknown[]> = {};
  for (const table of tables) out[table] = (await svc.db.query(`select * from ${table} order by 1`)).rows;
  out.api_tokens = (await svc.db.query(`select id, user_id, label, hash, created_at, revoked_at from api_tokens order by id`)).rows;
  return JSON.parse(JSON.stringify(out));
}

t.test("another contract's operator can reach nothing of a contract, and changes nothing", async (t) => {
  const { svc, clock } = await testEnv(t);
  const app = await appFor(t, svc);
  const admin = await makeUser(svc, null);
  const a = await makeSite(svc);
  const b = await makeSite(svc);
  const intruder = await makeUser(svc, a.contract.id);
  const owner = await makeUser(svc, b.contract.id);
  const device = mac();
  const active = await makeToken(svc, b.contract.id);
  await activateToken(svc, { networkId: b.network.id, mac: device, code: active.code, now: clock.now() });
  const spare = await createApiToken(svc, { userId: owner.user.id, label: 'spare', now: clock.now() });
  const target: Target = {
    contract: b.contract.id,
    network: b.network.id,
    unused: (await makeToken(svc, b.contract.id)).id,
    active: active.id,
    doomed: (await makeToken(svc, b.contract.id)).id,
    noted: (await makeToken(svc, b.contract.id)).id,
    user: owner.user.id,
    apiToken: spare.id,
    mac: device,
  };
  const unknown = '00000000-0000-4000-8000-000000000000';
  const nowhere: Target = { ...target, contract: unknown, network: unknown, unused: unknown, active: unknown, doomed: unknown, noted: unknown, user: unknown, apiToken: unknown };

  const before = await snapshot(svc);
  for (const c of cases) {
    const res = await call(app, intruder.token, c.method, c.url(target), bodyFor(c, target, 'intruder-made'));
    t.equal(res.statusCode, c.foreign, `${c.name}: ${c.method} ${c.url(target)}`);
    t.equal(res.json().error?.code, c.foreign === 404 ? 'NOT_FOUND' : 'FORBIDDEN', c.name);
    if (c.foreign === 404) {
      // Indistinguishable from an id that does not exist: nothing tells the intruder B's ids are real.
      const missing = await call(app, intruder.token, c.method, c.url(nowhere), bodyFor(c, nowhere, 'intruder-made'));
      t.same({ status: missing.statusCode, body: missing.json() }, { status: res.statusCode, body: res.json() }, `${c.name}: same as a missing id`);
    }
  }
  t.same(await snapshot(svc), before, 'nothing changed');

  const listed = await call(app, intruder.token, 'GET', '/api/v1/contracts');
  t.same(listed.json().contracts.map((x: { id: string }) => x.id), [a.contract.id], 'the contract list holds only its own');
  const users = await call(app, intruder.token, 'GET', '/api/v1/users');
  t.same(users.json().users.map((x: { id: string }) => x.id), [intruder.user.id], 'the user list holds only its own');

  // The very same requests work for the contract's own people, so the refusals above were isolation.
  for (const c of cases) {
    const caller = c.ownerIs === 'admin' ? admin : owner;
    const res = await call(app, caller.token, c.method, c.url(target), bodyFor(c, target, 'owner-made'));
    t.equal(res.statusCode, c.owner, `${c.name} by its owner`);
  }
});
