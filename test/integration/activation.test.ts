import t from 'tap';
import { activateToken } from '../../src/domain/activation.js';
import { groupCode, luhnDigit } from '../../src/domain/code.js';
import { sessionState } from '../../src/domain/sessions.js';
import { annulToken, deleteToken, listTokens, setIssuedTo } from '../../src/domain/tokens.js';
import type { Services } from '../../src/services.js';
import { mac, makeNetwork, makeSite, makeToken, operatorOf } from '../helpers/factories.js';
import { DAY, testEnv } from '../helpers/services.js';

const all = (svc: Services, contractId: string) => listTokens(svc, operatorOf(contractId), { contractId, limit: 1000, offset: 0, now: svc.now() });
const log = async (svc: Services) =>
  (await svc.db.query<Record<string, unknown>>(`select * from identifications order by id`)).rows;
const refusal = (p: Promise<unknown>) => p.then(() => 'activated', (e) => `${e.status} ${e.code}`);

t.test('a single-use token binds to the first device and stamps activation and expiry', async (t) => {
  const { svc, clock } = await testEnv(t);
  const { contract, network } = await makeSite(svc);
  const tok = await makeToken(svc, contract.id, { durationDays: 3 });
  const a = await activateToken(svc, { networkId: network.id, mac: mac(1), code: groupCode(tok.code), now: clock.now() });
  t.equal(a.existing, false);
  t.equal(a.token.id, tok.id, 'the row itself is activated');
  t.equal(a.token.status, 'active');
  t.equal(a.token.mac, mac(1));
  t.same(a.token.activated_at, clock.now());
  t.same(a.token.expires_at, new Date(clock.now().getTime() + 3 * DAY));
  t.equal(a.identification.contract_id, contract.id);
  t.equal(a.identification.network_id, network.id);
  t.equal(a.identification.method, 'token');
  t.same(a.identification.expires_at, a.token.expires_at);
});

t.test('another device is refused a used single-use token; the same device is let through again', async (t) => {
  const { svc, clock } = await testEnv(t);
  const { contract, network } = await makeSite(svc);
  const tok = await makeToken(svc, contract.id);
  const first = await activateToken(svc, { networkId: network.id, mac: mac(1), code: tok.code, now: clock.now() });
  clock.advance(60_000);
  t.equal(await refusal(activateToken(svc, { networkId: network.id, mac: mac(2), code: tok.code, now: clock.now() })), '403 TOKEN_USED');
  const again = await activateToken(svc, { networkId: network.id, mac: mac(1), code: tok.code, now: clock.now() });
  t.equal(again.existing, true);
  t.equal(again.identification.id, first.identification.id, 'no second identification');
  t.same(again.token.activated_at, first.token.activated_at, 'activation time kept');
  t.equal((await log(svc)).length, 1);
});

t.test('a multi-use token is cloned per device with exactly one unused copy left', async (t) => {
  const { svc, clock } = await testEnv(t);
  const { contract, network } = await makeSite(svc);
  const tok = await makeToken(svc, contract.id, { multiUse: true, durationDays: 2 });
  const a = await activateToken(svc, { networkId: network.id, mac: mac(1), code: tok.code, now: clock.now() });
  clock.advance(DAY / 2);
  const b = await activateToken(svc, { networkId: network.id, mac: mac(2), code: tok.code, now: clock.now() });
  t.not(a.token.id, tok.id, 'the activated copy is a new row');
  t.not(a.token.id, b.token.id);
  t.same(b.token.expires_at, new Date(clock.now().getTime() + 2 * DAY), 'each copy has its own expiry');
  const rows = await all(svc, contract.id);
  t.equal(rows.length, 3);
  t.same(rows.filter((r) => r.status === 'unused').map((r) => r.id), [tok.id], 'the original stays unused');
  t.same(rows.filter((r) => r.status === 'active').map((r) => r.mac).sort(), [mac(1), mac(2)]);
  t.ok(rows.every((r) => r.code === tok.code));
  const back = await activateToken(svc, { networkId: network.id, mac: mac(1), code: tok.code, now: clock.now() });
  t.equal(back.existing, true);
  t.equal(back.token.id, a.token.id, 'the same device gets its existing copy back');
  t.equal((await all(svc, contract.id)).length, 3);
});

t.test('a token works only in its own contract, and a refusal consumes nothing', async (t) => {
  const { svc, clock } = await testEnv(t);
  const home = await makeSite(svc);
  const away = await makeSite(svc);
  const tok = await makeToken(svc, home.contract.id);
  t.equal(await refusal(activateToken(svc, { networkId: away.network.id, mac: mac(1), code: tok.code, now: clock.now() })), '403 TOKEN_FOREIGN');
  const [row] = await all(svc, home.contract.id);
  t.equal(row.status, 'unused');
  t.equal(row.mac, null);
  t.equal((await log(svc)).length, 0);
  const second = await makeNetwork(svc, home.contract.id);
  const ok = await activateToken(svc, { networkId: second.id, mac: mac(1), code: tok.code, now: clock.now() });
  t.equal(ok.token.status, 'active', 'any network of the contract accepts it');
});

t.test('refusals name the reason: format, check digit, unknown, annulled, expired', async (t) => {
  const { svc, clock } = await testEnv(t);
  const { contract, network } = await makeSite(svc);
  const go = (code: string, m = mac(1)) => refusal(activateToken(svc, { networkId: network.id, mac: m, code, now: clock.now() }));
  t.equal(await go('12345'), '400 TOKEN_FORMAT');
  const valid = '10012345678' + luhnDigit('10012345678');
  const mistyped = '10012345678' + ((luhnDigit('10012345678') + 1) % 10);
  t.equal(await go(mistyped), '400 TOKEN_CHECK_DIGIT');
  t.equal(await go(valid), '403 TOKEN_UNKNOWN');
  const annulled = await makeToken(svc, contract.id);
  await annulToken(svc, operatorOf(contract.id), { tokenId: annulled.id, now: clock.now() });
  t.equal(await go(annulled.code), '403 TOKEN_ANNULLED');
  const day = await makeToken(svc, contract.id, { durationDays: 1 });
  await activateToken(svc, { networkId: network.id, mac: mac(5), code: day.code, now: clock.now() });
  clock.advance(DAY + 1);
  t.equal(await go(day.code, mac(5)), '403 TOKEN_EXPIRED', 'its own device is told it expired');
  t.equal(await go(day.code, mac(6)), '403 TOKEN_USED', 'another device is told it was used');
  const ghost = await svc.db.query(`select 1 from tokens where code = $1`, [valid]);
  t.equal(ghost.rowCount, 0);
});

t.test('identifying in another contract ends the old identification and annuls its token', async (t) => {
  const { svc, clock } = await testEnv(t);
  const a = await makeSite(svc);
  const b = await makeSite(svc);
  const unlimited = await makeToken(svc, a.contract.id, { durationDays: null });
  const other = await makeToken(svc, b.contract.id);
  const first = await activateToken(svc, { networkId: a.network.id, mac: mac(1), code: unlimited.code, now: clock.now() });
  t.equal(first.token.expires_at, null, 'an unlimited token has no expiry');
  clock.advance(3_600_000);
  const second = await activateToken(svc, { networkId: b.network.id, mac: mac(1), code: other.code, now: clock.now() });
  t.equal(second.ended.length, 1);
  t.equal(second.ended[0].end_reason, 'identified_elsewhere');
  const [old] = await all(svc, a.contract.id);
  t.equal(old.status, 'annulled');
  t.equal(old.end_reason, 'identified_elsewhere');
  const rows = await log(svc);
  t.equal(rows.length, 2);
  t.same(rows[0].ended_at, clock.now());
  t.equal(rows[0].end_reason, 'identified_elsewhere');
  t.equal(rows[1].ended_at, null);
  t.equal((await sessionState(svc, { networkId: a.network.id, mac: mac(1), now: clock.now() })).authorized, false);
  t.equal((await sessionState(svc, { networkId: b.network.id, mac: mac(1), now: clock.now() })).authorized, true);
  t.equal(await refusal(activateToken(svc, { networkId: a.network.id, mac: mac(1), code: unlimited.code, now: clock.now() })), '403 TOKEN_ANNULLED');
});

t.test('a device has one live identification: a new token in the same contract replaces the old', async (t) => {
  const { svc, clock } = await testEnv(t);
  const { contract, network } = await makeSite(svc);
  const one = await makeToken(svc, contract.id);
  const two = await makeToken(svc, contract.id);
  await activateToken(svc, { networkId: network.id, mac: mac(1), code: one.code, now: clock.now() });
  const second = await activateToken(svc, { networkId: network.id, mac: mac(1), code: two.code, now: clock.now() });
  t.equal(second.ended[0].end_reason, 'replaced');
  const live = await svc.db.query(`select * from identifications where mac = $1 and ended_at is null`, [mac(1)]);
  t.equal(live.rowCount, 1);
});

t.test('annulling an active copy ends its identification; annulling the unused copy of a multi-use code stops new devices only', async (t) => {
  const { svc, clock } = await testEnv(t);
  const { contract, network } = await makeSite(svc);
  const multi = await makeToken(svc, contract.id, { multiUse: true, durationDays: null });
  const a = await activateToken(svc, { networkId: network.id, mac: mac(1), code: multi.code, now: clock.now() });
  const b = await activateToken(svc, { networkId: network.id, mac: mac(2), code: multi.code, now: clock.now() });
  const annulled = await annulToken(svc, operatorOf(contract.id), { tokenId: a.token.id, now: clock.now() });
  t.equal(annulled.token!.status, 'annulled');
  t.equal(annulled.ended[0].end_reason, 'annulled');
  t.equal((await sessionState(svc, { networkId: network.id, mac: mac(1), now: clock.now() })).authorized, false);
  t.equal((await sessionState(svc, { networkId: network.id, mac: mac(2), now: clock.now() })).authorized, true);
  await annulToken(svc, operatorOf(contract.id), { tokenId: multi.id, now: clock.now() });
  t.equal(await refusal(activateToken(svc, { networkId: network.id, mac: mac(3), code: multi.code, now: clock.now() })), '403 TOKEN_ANNULLED');
  const again = await activateToken(svc, { networkId: network.id, mac: mac(2), code: multi.code, now: clock.now() });
  t.equal(again.token.id, b.token.id, 'an activated copy is left alone');
  const twice = await annulToken(svc, operatorOf(contract.id), { tokenId: a.token.id, now: clock.now() });
  t.equal(twice.token!.status, 'annulled', 'annulling twice is harmless');
  const foreign = await makeSite(svc);
  const err = await annulToken(svc, operatorOf(foreign.contract.id), { tokenId: b.token.id, now: clock.now() }).catch((e) => e);
  t.equal(err.status, 404, "another contract's token is not found");
});

t.test('deleting a token ends its identification first and keeps the log', async (t) => {
  const { svc, clock } = await testEnv(t);
  const { contract, network } = await makeSite(svc);
  const tok = await makeToken(svc, contract.id);
  await activateToken(svc, { networkId: network.id, mac: mac(1), code: tok.code, now: clock.now() });
  const change = await deleteToken(svc, operatorOf(contract.id), { tokenId: tok.id, now: clock.now() });
  t.equal(change.ended[0].end_reason, 'deleted');
  t.equal((await all(svc, contract.id)).length, 0);
  const rows = await log(svc);
  t.equal(rows.length, 1, 'the log row stays');
  t.equal(rows[0].token_id, tok.id);
  t.equal(rows[0].code, tok.code);
  t.equal((await sessionState(svc, { networkId: network.id, mac: mac(1), now: clock.now() })).authorized, false);
});

t.test('the identification log is append-only: a closed row cannot change', async (t) => {
  const { svc, clock } = await testEnv(t);
  const { contract, network } = await makeSite(svc);
  const tok = await makeToken(svc, contract.id);
  await activateToken(svc, { networkId: network.id, mac: mac(1), code: tok.code, now: clock.now() });
  const live = await svc.db.query(`update identifications set mac = 'XX' where ended_at is null`).catch((e) => e);
  t.match(live.message, /may only be closed/);
  await annulToken(svc, operatorOf(contract.id), { tokenId: tok.id, now: clock.now() });
  const closed = await svc.db.query(`update identifications set end_reason = 'expired'`).catch((e) => e);
  t.match(closed.message, /already ended/);
});

t.test('issuedTo is stored on the token for its contract only', async (t) => {
  const { svc } = await testEnv(t);
  const { contract } = await makeSite(svc);
  const tok = await makeToken(svc, contract.id);
  const row = await setIssuedTo(svc, operatorOf(contract.id), { tokenId: tok.id, issuedTo: 'Иванов И.И., паспорт 4510 123456' });
  t.equal(row.issued_to, 'Иванов И.И., паспорт 4510 123456');
  const other = await makeSite(svc);
  const err = await setIssuedTo(svc, operatorOf(other.contract.id), { tokenId: tok.id, issuedTo: 'x' }).catch((e) => e);
  t.equal(err.status, 404);
});

t.test('the session answer says "not authorised" from the instant of expiry, before any sweep', async (t) => {
  const { svc, clock } = await testEnv(t);
  const { contract, network } = await makeSite(svc);
  const tok = await makeToken(svc, contract.id, { durationDays: 1 });
  const a = await activateToken(svc, { networkId: network.id, mac: mac(1), code: tok.code, now: clock.now() });
  clock.advance(DAY - 1000);
  const before = await sessionState(svc, { networkId: network.id, mac: mac(1), now: clock.now() });
  t.same(before, {
    mac: mac(1),
    authorized: true,
    tokenId: tok.id,
    code: tok.code,
    activatedAt: a.token.activated_at!.toISOString(),
    expiresAt: a.token.expires_at!.toISOString(),
    secondsRemaining: 1,
    downKbps: null,
    upKbps: null,
    bytesRemaining: null,
    limitsEnforced: true,
  });
  clock.advance(1000);
  const at = await sessionState(svc, { networkId: network.id, mac: mac(1), now: clock.now() });
  t.equal(at.authorized, false);
  t.equal(at.secondsRemaining, null);
  const [row] = await all(svc, contract.id);
  t.equal(row.status, 'active', 'not swept yet, yet not authorised');
});

t.test('a flushed cache loses nothing: sessions are read back from Postgres', async (t) => {
  const { svc, clock } = await testEnv(t);
  const { contract, network } = await makeSite(svc);
  const tok = await makeToken(svc, contract.id, { durationDays: null });
  await activateToken(svc, { networkId: network.id, mac: mac(1), code: tok.code, now: clock.now() });
  await svc.cache.del(`session:${mac(1)}`, `network:${network.id}`);
  const state = await sessionState(svc, { networkId: network.id, mac: mac(1), now: clock.now() });
  t.equal(state.authorized, true);
  t.equal(state.secondsRemaining, null);
  t.ok(await svc.cache.get(`session:${mac(1)}`), 'the cache refilled');
});

t.test('races: devices racing one single-use code — exactly one wins', async (t) => {
  const env = await testEnv(t);
  const instances = [env.svc, await env.another(), await env.another()];
  const { contract, network } = await makeSite(env.svc);
  const tok = await makeToken(env.svc, contract.id);
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      refusal(activateToken(instances[i % 3], { networkId: network.id, mac: mac(100 + i), code: tok.code, now: env.clock.now() })),
    ),
  );
  t.equal(results.filter((r) => r === 'activated').length, 1);
  t.equal(results.filter((r) => r === '403 TOKEN_USED').length, 19);
  t.equal((await log(env.svc)).length, 1);
});

t.test('races: devices racing one multi-use code — one copy each and always one unused copy', async (t) => {
  const env = await testEnv(t);
  const instances = [env.svc, await env.another(), await env.another()];
  const { contract, network } = await makeSite(env.svc);
  const tok = await makeToken(env.svc, contract.id, { multiUse: true });
  // 15 devices, each entering the code twice at once.
  const results = await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      activateToken(instances[i % 3], { networkId: network.id, mac: mac(200 + (i % 15)), code: tok.code, now: env.clock.now() }),
    ),
  );
  t.equal(results.length, 30);
  const rows = await all(env.svc, contract.id);
  t.equal(rows.filter((r) => r.status === 'unused').length, 1);
  t.equal(rows.filter((r) => r.status === 'active').length, 15);
  t.equal(new Set(rows.filter((r) => r.status === 'active').map((r) => r.mac)).size, 15);
  t.equal((await log(env.svc)).length, 15);
});

t.test('races: one device entering two codes at once ends with one live identification', async (t) => {
  const env = await testEnv(t);
  const other = await env.another();
  const { contract, network } = await makeSite(env.svc);
  const one = await makeToken(env.svc, contract.id);
  const two = await makeToken(env.svc, contract.id);
  await Promise.all([
    activateToken(env.svc, { networkId: network.id, mac: mac(1), code: one.code, now: env.clock.now() }),
    activateToken(other, { networkId: network.id, mac: mac(1), code: two.code, now: env.clock.now() }),
  ]);
  const live = await env.svc.db.query(`select * from identifications where mac = $1 and ended_at is null`, [mac(1)]);
  t.equal(live.rowCount, 1);
  const active = (await all(env.svc, contract.id)).filter((r) => r.status === 'active');
  t.equal(active.length, 1, 'the replaced token is no longer active');
});
