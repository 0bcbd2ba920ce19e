import t from 'tap';
import { activateToken } from '../../src/domain/activation.js';
import { sessionState } from '../../src/domain/sessions.js';
import { pruneLog, sweepExpired } from '../../src/domain/sweep.js';
import { listTokens } from '../../src/domain/tokens.js';
import { makeSite, makeToken, mac, operatorOf } from '../helpers/factories.js';
import { DAY, testEnv, usingServers } from '../helpers/services.js';

t.test('the sweep expires one-day, two-day multi-use copies and leaves unlimited tokens alone', async (t) => {
  const { svc, clock } = await testEnv(t);
  const { contract, network } = await makeSite(svc);
  const oneDay = await makeToken(svc, contract.id, { durationDays: 1 });
  const twoDayMulti = await makeToken(svc, contract.id, { multiUse: true, durationDays: 2 });
  const unlimited = await makeToken(svc, contract.id, { durationDays: null });
  const start = clock.now();
  await activateToken(svc, { networkId: network.id, mac: mac(1), code: oneDay.code, now: clock.now() });
  const m2 = await activateToken(svc, { networkId: network.id, mac: mac(2), code: twoDayMulti.code, now: clock.now() });
  clock.advance(DAY / 2);
  const m3 = await activateToken(svc, { networkId: network.id, mac: mac(3), code: twoDayMulti.code, now: clock.now() });
  await activateToken(svc, { networkId: network.id, mac: mac(4), code: unlimited.code, now: clock.now() });

  clock.set(new Date(start.getTime() + DAY - 1));
  t.same(await sweepExpired(svc, { now: clock.now() }), { expired: 0, batches: 0 }, 'nothing before its term');

  clock.set(new Date(start.getTime() + DAY));
  t.same(await sweepExpired(svc, { now: clock.now() }), { expired: 1, batches: 1 }, 'the one-day token at its instant');

  clock.set(new Date(start.getTime() + 2 * DAY));
  t.equal((await sweepExpired(svc, { now: clock.now() })).expired, 1, 'the first multi-use copy at two days');
  t.equal((await sessionState(svc, { networkId: network.id, mac: mac(3), now: clock.now() })).authorized, true, 'the later copy has its own term');

  clock.set(new Date(start.getTime() + 2.5 * DAY));
  t.equal((await sweepExpired(svc, { now: clock.now() })).expired, 1, 'the second copy half a day later');
  clock.advance(365 * DAY);
  t.equal((await sweepExpired(svc, { now: clock.now() })).expired, 0, 'unlimited never expires');

  const rows = await listTokens(svc, operatorOf(contract.id), { contractId: contract.id, limit: 100, offset: 0, now: clock.now() });
  const byMac = Object.fromEntries(rows.map((r) => [r.mac ?? 'unused', r]));
  t.equal(byMac[mac(1)].status, 'expired');
  t.equal(byMac[mac(2)].status, 'expired');
  t.equal(byMac[mac(3)].status, 'expired');
  t.equal(byMac[mac(4)].status, 'active');
  t.equal(byMac.unused.status, 'unused', 'the multi-use code stays usable for new devices');
  const log = await svc.db.query<{ mac: string; ended_at: Date | null; end_reason: string | null }>(`select mac, ended_at, end_reason from identifications order by mac`);
  t.same(
    log.rows.map((r) => [r.mac, r.end_reason, r.ended_at?.toISOString() ?? null]),
    [
      [mac(1), 'expired', new Date(start.getTime() + DAY).toISOString()],
      [mac(2), 'expired', m2.token.expires_at!.toISOString()],
      [mac(3), 'expired', m3.token.expires_at!.toISOString()],
      [mac(4), null, null],
    ],
    'each identification ends at its own expiry instant',
  );
  for (const m of [mac(1), mac(2), mac(3)]) {
    t.equal((await sessionState(svc, { networkId: network.id, mac: m, now: clock.now() })).authorized, false, `${m} cut off`);
  }
  const revokes = await svc.db.query<{ kind: string; n: number }>(`select kind, count(*)::int as n from outbox group by kind`);
  t.same(revokes.rows, [{ kind: 'revoke', n: 3 }], 'each expired device is queued for de-authorisation');
});

t.test('the same device must enter a new token after expiry', async (t) => {
  const { svc, clock } = await testEnv(t);
  const { contract, network } = await makeSite(svc);
  const tok = await makeToken(svc, contract.id, { multiUse: true, durationDays: 1 });
  await activateToken(svc, { networkId: network.id, mac: mac(1), code: tok.code, now: clock.now() });
  clock.advance(DAY);
  await sweepExpired(svc, { now: clock.now() });
  const err = await activateToken(svc, { networkId: network.id, mac: mac(1), code: tok.code, now: clock.now() }).catch((e) => e);
  t.equal(err.code, 'TOKEN_EXPIRED');
  const other = await activateToken(svc, { networkId: network.id, mac: mac(2), code: tok.code, now: clock.now() });
  t.equal(other.token.status, 'active', 'another device still can');
});

t.test('two workers sweeping 10 000 expired rows together process each row exactly once', async (t) => {
  const env = await testEnv(t);
  const second = await env.another();
  const { contract, network } = await makeSite(env.svc);
  const now = env.clock.now();
  // Arrange 10 000 active one-day copies directly in SQL (the portal path is tested elsewhere).
  await env.svc.db.query(
    `with made as (
       insert into tokens (contract_id, code, multi_use, duration_days, status, mac, activated_at, expires_at, created_at)
       select $1::uuid, (100000000000 + g)::text, false, 1, 'active',
              upper(lpad(to_hex(g), 12, '0')), $3::timestamptz, $3::timestamptz + interval '1 day', $3::timestamptz
         from generate_series(1, 10000) g
       returning id, code, mac, activated_at, expires_at)
     insert into identifications (mac, network_id, contract_id, token_id, code, started_at, expires_at)
     select mac, $2::uuid, $1::uuid, id, code, activated_at, expires_at from made`,
    [contract.id, network.id, now],
  );
  const later = new Date(now.getTime() + DAY);
  const [a, b] = await Promise.all([
    sweepExpired(env.svc, { now: later, batchSize: 250 }),
    sweepExpired(second, { now: later, batchSize: 250 }),
  ]);
  t.equal(a.expired + b.expired, 10_000, 'none missed, none twice');
  if (usingServers) t.ok(a.expired > 0 && b.expired > 0, `both workers took a share (${a.expired} / ${b.expired})`);
  const counts = await env.svc.db.query<{ tokens: number; idents: number; revokes: number }>(
    `select (select count(*)::int from tokens where status = 'expired') as tokens,
            (select count(*)::int from identifications where end_reason = 'expired') as idents,
            (select count(*)::int from outbox where kind = 'revoke') as revokes`,
  );
  t.same(counts.rows[0], { tokens: 10_000, idents: 10_000, revokes: 10_000 }, 'one revoke per row: nothing processed twice');
});

t.test('log retention prunes only ended identifications older than the limit', async (t) => {
  const { svc, clock } = await testEnv(t);
  const { contract, network } = await makeSite(svc);
  const old = await makeToken(svc, contract.id, { durationDays: 1 });
  const live = await makeToken(svc, contract.id, { durationDays: null });
  await activateToken(svc, { networkId: network.id, mac: mac(1), code: old.code, now: clock.now() });
  await activateToken(svc, { networkId: network.id, mac: mac(2), code: live.code, now: clock.now() });
  clock.advance(DAY);
  await sweepExpired(svc, { now: clock.now() });
  clock.advance(183 * DAY - 1000);
  t.equal(await pruneLog(svc, { now: clock.now(), retentionDays: 183 }), 0, 'kept until six months have passed');
  clock.advance(2000);
  t.equal(await pruneLog(svc, { now: clock.now(), retentionDays: 183 }), 1);
  const left = await svc.db.query<{ mac: string }>(`select mac from identifications`);
  t.same(left.rows, [{ mac: mac(2) }], 'a live identification is never pruned');
});
