import t from 'tap';
import type { Principal } from '../../src/domain/actor.js';
import { activateToken } from '../../src/domain/activation.js';
import { identificationLog, liveIdentifications } from '../../src/domain/identifications.js';
import { radiusAuthorize } from '../../src/domain/radius.js';
import { deviceSession, listSessions } from '../../src/domain/sessions.js';
import { createPlan, listPlans, updatePlan } from '../../src/domain/plans.js';
import { annulToken, deleteToken, extendToken, findToken, generateTokens, listTokens, setIssuedTo } from '../../src/domain/tokens.js';
import { AppError } from '../../src/errors.js';
import type { Services } from '../../src/services.js';
import { mac, makeNetwork, makeSite, makeToken, makeUser } from '../helpers/factories.js';
import { DAY, testEnv } from '../helpers/services.js';

/**
 * The use cases themselves keep tenants apart, whatever calls them (API, panel, CLI, a route not
 * written yet): each is called here without HTTP, with another contract's operator as actor.
 */

/** Ids of contract B's objects that A's operator aims at. */
interface Target {
  contract: string;
  network: string;
  nasIdentifier: string;
  unused: string;
  active: string;
  doomed: string;
  noted: string;
  mac: string;
  plan: string;
}

interface Case {
  name: string;
  run: (svc: Services, actor: Principal, o: Target, now: Date) => Promise<unknown>;
}

const cases: Case[] = [
  { name: 'generate tokens in a contract', run: (svc, actor, o, now) => generateTokens(svc, actor, { contractId: o.contract, count: 5, multiUse: false, durationDays: 1, now }) },
  { name: "list a contract's tokens", run: (svc, actor, o, now) => listTokens(svc, actor, { contractId: o.contract, now }) },
  { name: 'find a token', run: (svc, actor, o) => findToken(svc, actor, o.unused) },
  // Before the annulment below, which ends the copy.
  { name: 'extend an active copy', run: (svc, actor, o, now) => extendToken(svc, actor, { tokenId: o.active, days: 1, now }) },
  { name: 'annul an unused token', run: (svc, actor, o, now) => annulToken(svc, actor, { tokenId: o.unused, now }) },
  { name: 'annul an active token', run: (svc, actor, o, now) => annulToken(svc, actor, { tokenId: o.active, now }) },
  { name: 'delete a token', run: (svc, actor, o, now) => deleteToken(svc, actor, { tokenId: o.doomed, now }) },
  { name: 'note whom a token went to', run: (svc, actor, o) => setIssuedTo(svc, actor, { tokenId: o.noted, issuedTo: 'someone' }) },
  { name: "list a contract's plans", run: (svc, actor, o) => listPlans(svc, actor, o.contract) },
  { name: 'change a plan', run: (svc, actor, o) => updatePlan(svc, actor, { planId: o.plan, changes: { name: 'Renamed', downKbps: 512 } }) },
  {
    name: 'generate tokens from a plan',
    run: (svc, actor, o, now) => generateTokens(svc, actor, { contractId: o.contract, count: 1, planId: o.plan, now }),
  },
  { name: "a device's session in a network", run: (svc, actor, o, now) => deviceSession(svc, actor, { networkId: o.network, mac: o.mac, now }) },
  { name: 'the sessions of a network', run: (svc, actor, o, now) => listSessions(svc, actor, { networkId: o.network, now }) },
  { name: "a contract's live identifications", run: (svc, actor, o, now) => liveIdentifications(svc, actor, { contractId: o.contract, now }) },
  {
    name: "a contract's identification log",
    run: (svc, actor, o, now) => identificationLog(svc, actor, { contractId: o.contract, from: new Date(now.getTime() - DAY), to: now, limit: 10 }),
  },
  { name: 'RADIUS authorize at a NAS named by network id', run: (svc, actor, o, now) => radiusAuthorize(svc, actor, { nasIdentifier: o.network, mac: o.mac, now }) },
  { name: 'RADIUS authorize at a NAS named by nasIdentifier', run: (svc, actor, o, now) => radiusAuthorize(svc, actor, { nasIdentifier: o.nasIdentifier, mac: o.mac, now }) },
];

/** What a call ended with: the error's status and code, or 'ok'. */
const outcome = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (err) => (err instanceof AppError ? `${err.status} ${err.code}` : `unexpected ${err}`),
  );

/** Everything a use case could change. */
async function snapshot(svc: Services) {
  const out: Record<string, unknown[]> = {};
  for (const table of ['contracts', 'networks', 'tokens', 'identifications', 'outbox', 'plans']) {
    out[table] = (await svc.db.query(`select * from ${table} order by 1`)).rows;
  }
  return JSON.parse(JSON.stringify(out));
}

const actorOf = (u: Awaited<ReturnType<typeof makeUser>>['user']): Principal => ({
  userId: u.id,
  login: u.login,
  contractId: u.contractId,
  isSystem: u.isSystem,
  role: 'operator',
  tokenId: null,
});

t.test("every token use case that takes an id answers another contract's operator NOT_FOUND and changes nothing", async (t) => {
  const { svc, clock } = await testEnv(t);
  const a = await makeSite(svc);
  const b = await makeSite(svc);
  const nasIdentifier = `nas-b-${mac().replace(/:/g, '')}`;
  await makeNetwork(svc, b.contract.id, 'generic', { nasIdentifier });
  const intruder = actorOf((await makeUser(svc, a.contract.id)).user);
  const owner = actorOf((await makeUser(svc, b.contract.id)).user);
  const admin = actorOf((await makeUser(svc, null)).user);
  const device = mac();
  const active = await makeToken(svc, b.contract.id);
  await activateToken(svc, { networkId: b.network.id, mac: device, code: active.code, now: clock.now() });
  const target: Target = {
    contract: b.contract.id,
    network: b.network.id,
    nasIdentifier,
    unused: (await makeToken(svc, b.contract.id)).id,
    active: active.id,
    doomed: (await makeToken(svc, b.contract.id)).id,
    noted: (await makeToken(svc, b.contract.id)).id,
    mac: device,
    plan: (await createPlan(svc, owner, { contractId: b.contract.id, plan: { name: 'Day', multiUse: false, durationDays: 1, downKbps: null, upKbps: null, quotaMb: null, maxDevices: null }, now: clock.now() })).id,
  };
  const unknown = '00000000-0000-4000-8000-000000000000';
  const nowhere: Target = { ...target, contract: unknown, network: unknown, nasIdentifier: 'no-such-nas', unused: unknown, active: unknown, doomed: unknown, noted: unknown, plan: unknown };

  const before = await snapshot(svc);
  for (const c of cases) {
    const got = await outcome(c.run(svc, intruder, target, clock.now()));
    t.equal(got, '404 NOT_FOUND', c.name);
    // Indistinguishable from an id that does not exist: nothing tells the intruder B's ids are real.
    t.equal(await outcome(c.run(svc, intruder, nowhere, clock.now())), got, `${c.name}: same as a missing id`);
  }
  t.same(await snapshot(svc), before, 'nothing changed');

  // The very same calls work for the contract's own operator and for a system administrator, so
  // the refusals above were isolation, not wrong ids.
  for (const c of cases) t.equal(await outcome(c.run(svc, owner, target, clock.now())), 'ok', `${c.name} by its own operator`);
  const fresh = async () => (await makeToken(svc, b.contract.id)).id;
  // The owner's run annulled the active copy: the administrator extends and annuls another.
  const second = await makeToken(svc, b.contract.id);
  await activateToken(svc, { networkId: b.network.id, mac: mac(), code: second.code, now: clock.now() });
  const adminTarget = { ...target, unused: await fresh(), doomed: await fresh(), noted: await fresh(), active: second.id };
  for (const c of cases) t.equal(await outcome(c.run(svc, admin, adminTarget, clock.now())), 'ok', `${c.name} by a system administrator`);
});

t.test('token requests out of bounds are refused by the use case itself, before anything is made', async (t) => {
  const { svc, clock } = await testEnv(t);
  const { contract } = await makeSite(svc);
  const operator = actorOf((await makeUser(svc, contract.id)).user);
  const generate = (count: number, durationDays: number | null) =>
    outcome(generateTokens(svc, operator, { contractId: contract.id, count, multiUse: false, durationDays, now: clock.now() }));
  t.equal(await generate(0, 1), '400 VALIDATION_ERROR', 'no tokens');
  t.equal(await generate(201, 1), '400 VALIDATION_ERROR', 'more than 200 at once');
  t.equal(await generate(1.5, 1), '400 VALIDATION_ERROR', 'a fraction');
  t.equal(await generate(1, 0), '400 VALIDATION_ERROR', 'a term of no days');
  t.equal(await generate(1, 31), '400 VALIDATION_ERROR', 'a term over 30 days');
  t.equal(await generate(200, 30), 'ok', 'the largest request within bounds');
  t.equal(await generate(1, null), '409 UNUSED_TOKEN_LIMIT', 'the 200-unused limit still holds');
  const tok = (await listTokens(svc, operator, { contractId: contract.id, now: clock.now(), limit: 1 }))[0];
  t.equal(await outcome(setIssuedTo(svc, operator, { tokenId: tok.id, issuedTo: 'я'.repeat(501) })), '400 VALIDATION_ERROR', 'a note over 500 characters');
  t.equal(await outcome(setIssuedTo(svc, operator, { tokenId: tok.id, issuedTo: ` ${'я'.repeat(500)} ` })), 'ok', '500 characters once trimmed');
  t.equal(await outcome(findToken(svc, operator, 'not-a-uuid')), '404 NOT_FOUND', 'a malformed id names nothing');
});
