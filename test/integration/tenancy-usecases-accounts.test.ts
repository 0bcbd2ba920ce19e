import t from 'tap';
import { authenticate, createApiToken, revokeApiToken } from '../../src/domain/apiTokens.js';
import type { Principal } from '../../src/domain/actor.js';
import { getContract, requireContract, updateContract } from '../../src/domain/contracts.js';
import { createNetwork, deleteNetwork, getNetwork, listNetworks, updateNetwork } from '../../src/domain/networks.js';
import { deleteUser, getUser, updateUser } from '../../src/domain/users.js';
import { AppError } from '../../src/errors.js';
import type { Services } from '../../src/services.js';
import { makeSite, makeUser } from '../helpers/factories.js';
import { testEnv } from '../helpers/services.js';

/** B's objects that A's operator aims at. */
interface Theirs {
  contract: string;
  network: string;
  user: string;
  apiToken: string;
}

type Case = [name: string, call: (svc: Services, actor: Principal, o: Theirs) => Promise<unknown>];

// Every accounts use case that takes an id, called with another contract's operator as actor.
const cases: Case[] = [
  ['getContract', (svc, a, o) => getContract(svc, a, o.contract)],
  ['requireContract', (svc, a, o) => requireContract(svc, a, o.contract)],
  ['updateContract (rename)', (svc, a, o) => updateContract(svc, a, o.contract, { name: 'Mine now' }, svc.now())],
  ['updateContract (disable)', (svc, a, o) => updateContract(svc, a, o.contract, { disabled: true }, svc.now())],
  ['createNetwork', (svc, a, o) => createNetwork(svc, a, { contractId: o.contract, name: 'Evil twin', controller: 'generic', settings: {}, now: svc.now() })],
  ['listNetworks', (svc, a, o) => listNetworks(svc, a, o.contract)],
  ['getNetwork', (svc, a, o) => getNetwork(svc, a, o.network)],
  ['updateNetwork', (svc, a, o) => updateNetwork(svc, a, o.network, { name: 'Renamed', settings: { webhookUrl: 'https://evil.example/' } })],
  ['deleteNetwork', (svc, a, o) => deleteNetwork(svc, a, o.network, svc.now())],
  ['getUser', (svc, a, o) => getUser(svc, a, o.user)],
  ['updateUser (password)', (svc, a, o) => updateUser(svc, a, o.user, { password: 'taken over' })],
  ['updateUser (role)', (svc, a, o) => updateUser(svc, a, o.user, { role: 'issuer' })],
  ['deleteUser', (svc, a, o) => deleteUser(svc, a, o.user)],
  ['revokeApiToken', (svc, a, o) => revokeApiToken(svc, a, o.apiToken, svc.now())],
];

/** Every row a refused call could have touched (an API token's last access is written by authenticate, off the path). */
async function snapshot(svc: Services) {
  const queries = {
    contracts: 'select * from contracts order by id',
    networks: 'select * from networks order by id',
    users: 'select * from users order by id',
    api_tokens: 'select id, user_id, label, hash, created_at, revoked_at from api_tokens order by id',
    panel_sessions: 'select * from panel_sessions order by id_hash',
  };
  const out: Record<string, unknown> = {};
  for (const [table, sql] of Object.entries(queries)) out[table] = (await svc.db.query(sql)).rows;
  return out;
}

t.test("another contract's objects are NOT_FOUND from every accounts use case, without HTTP", async (t) => {
  const { svc } = await testEnv(t);
  const mine = await makeSite(svc);
  const theirs = await makeSite(svc);
  const intruder = await makeUser(svc, mine.contract.id);
  const owner = await makeUser(svc, theirs.contract.id);
  const spare = await createApiToken(svc, { userId: owner.user.id, label: 'spare', now: svc.now() });
  const o: Theirs = { contract: theirs.contract.id, network: theirs.network.id, user: owner.user.id, apiToken: spare.id };
  const actor = await authenticate(svc, intruder.token, svc.now());
  t.equal(actor.contractId, mine.contract.id);

  const before = await snapshot(svc);
  for (const [name, call] of cases) {
    const err = await call(svc, actor, o).then(() => null, (e: unknown) => e);
    t.ok(err instanceof AppError, `${name} refuses`);
    t.equal((err as AppError).status, 404, `${name} is 404`);
    t.equal((err as AppError).code, 'NOT_FOUND', `${name} is NOT_FOUND`);
  }
  t.same(await snapshot(svc), before, 'nothing of either contract changed');

  // The same calls by B's own operator go through (the ids are right), except what needs a system administrator.
  const ownActor = await authenticate(svc, owner.token, svc.now());
  t.equal((await getContract(svc, ownActor, o.contract)).id, o.contract);
  t.equal((await getNetwork(svc, ownActor, o.network)).id, o.network);
  t.equal((await getUser(svc, ownActor, o.user)).id, o.user);
  await t.rejects(updateContract(svc, ownActor, o.contract, { name: 'x' }, svc.now()), { status: 403, code: 'FORBIDDEN' });
});

t.test('an issuer reaches no network, user or contract change through the use cases', async (t) => {
  const { svc } = await testEnv(t);
  const site = await makeSite(svc);
  const colleague = await makeUser(svc, site.contract.id);
  const desk = await makeUser(svc, site.contract.id, { role: 'issuer' });
  const actor = await authenticate(svc, desk.token, svc.now());
  t.equal(actor.role, 'issuer');
  const o: Theirs = { contract: site.contract.id, network: site.network.id, user: colleague.user.id, apiToken: '00000000-0000-4000-8000-000000000000' };
  for (const [name, call] of cases.filter(([n]) => n !== 'revokeApiToken' && n !== 'getContract' && n !== 'requireContract')) {
    const err = await call(svc, actor, o).then(() => null, (e: unknown) => e);
    t.equal((err as AppError | null)?.status, 404, `${name} is 404 for an issuer`);
  }
  t.equal((await getContract(svc, actor, o.contract)).id, o.contract, 'an issuer sees its own contract (to generate in it)');
});
