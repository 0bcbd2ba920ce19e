import t from 'tap';
import { activateToken } from '../../src/domain/activation.js';
import { sessionState } from '../../src/domain/sessions.js';
import { buildApp } from '../../src/http/app.js';
import { usedBytes } from '../../src/store/accounting.js';
import { mac, makeContract, makeNetwork, makeToken, makeUser } from '../helpers/factories.js';
import { refusal } from '../helpers/refusal.js';
import { DAY, testEnv } from '../helpers/services.js';

const HOUR = 3600_000;

async function site(t: Parameters<typeof testEnv>[0]) {
  const e = await testEnv(t);
  const contract = await makeContract(e.svc);
  const rebinding = await makeNetwork(e.svc, contract.id, 'generic', { rebindOnReentry: true, nasIdentifier: `r-${contract.id}` });
  const plain = await makeNetwork(e.svc, contract.id, 'generic');
  return { ...e, contract, rebinding, plain };
}

type Row = { mac: string; token_id: string; expires_at: Date; end_reason: string | null };

t.test('rebindOnReentry moves a live single-use copy to the new device: old one de-authorised as `moved`, term and usage kept', async (t) => {
  const { svc, clock, contract, rebinding } = await site(t);
  const [a, b] = [mac(), mac()];
  const token = await makeToken(svc, contract.id, { durationDays: 2 });
  await activateToken(svc, { networkId: rebinding.id, mac: a, code: token.code, now: clock.now() });
  // Usage on the first device, reported by the NAS.
  const { auth } = await makeUser(svc, contract.id);
  const app = await buildApp(svc);
  t.teardown(() => app.close());
  const acct = (device: string, session: string, octets: number) =>
    app.inject({
      method: 'POST',
      url: '/api/v1/radius/accounting',
      headers: auth,
      payload: Object.fromEntries(Object.entries({ 'Acct-Status-Type': 'Interim-Update', 'Acct-Session-Id': session, 'Calling-Station-Id': device, 'NAS-Identifier': `r-${contract.id}`, 'Acct-Input-Octets': String(octets) }).map(([k, v]) => [k, { value: [v] }])),
    });
  t.equal((await acct(a, 'sa', 1000)).statusCode, 204);
  clock.advance(HOUR);

  const moved = await activateToken(svc, { networkId: rebinding.id, mac: b, code: token.code, now: clock.now() });
  t.equal(moved.token.id, token.id, 'the same copy');
  t.equal(moved.token.mac, b);
  t.equal(moved.token.status, 'active');
  t.equal(moved.identification.expires_at?.getTime(), moved.token.expires_at?.getTime(), 'the copy keeps its term');
  t.equal(moved.token.expires_at?.getTime(), new Date(clock.now().getTime() - HOUR + 2 * DAY).getTime());
  const { rows } = await svc.db.query<Row>(`select mac, token_id, expires_at, end_reason from identifications where token_id = $1::uuid order by id`, [token.id]);
  t.same(rows.map((r) => [r.mac, r.end_reason]), [[a, 'moved'], [b, null]], 'the old row ends as moved, a new row starts');
  t.equal((await sessionState(svc, { networkId: rebinding.id, mac: a, now: clock.now() })).authorized, false, 'old device: not authorised');
  t.equal((await sessionState(svc, { networkId: rebinding.id, mac: b, now: clock.now() })).authorized, true);
  const { rows: revokes } = await svc.db.query<{ payload: { mac: string; endReason: string } }>(`select payload from outbox where kind = 'revoke'`);
  t.same(revokes.map((r) => [r.payload.mac, r.payload.endReason]), [[a, 'moved']], 'the old device is de-authorised, in the same network too');

  t.equal((await acct(b, 'sb', 500)).statusCode, 204);
  t.equal(await usedBytes(svc.db, token.id), 1500, 'usage follows the copy');
  const again = await activateToken(svc, { networkId: rebinding.id, mac: b, code: token.code, now: clock.now() });
  t.equal(again.existing, true, 'the new device entering again is a re-entry, not a move');
});

t.test('at most 3 moves in 24 hours per copy, then a clear refusal that writes nothing', async (t) => {
  const { svc, clock, contract, rebinding } = await site(t);
  const [a, b] = [mac(), mac()];
  const token = await makeToken(svc, contract.id, { durationDays: null });
  await activateToken(svc, { networkId: rebinding.id, mac: a, code: token.code, now: clock.now() });
  for (const device of [b, a, b]) {
    clock.advance(HOUR);
    await activateToken(svc, { networkId: rebinding.id, mac: device, code: token.code, now: clock.now() });
  }
  clock.advance(HOUR);
  const before = await svc.db.query(`select count(*)::int as n from identifications`);
  const fourth = await refusal(activateToken(svc, { networkId: rebinding.id, mac: a, code: token.code, now: clock.now() }));
  t.same([fourth.status, fourth.code], [403, 'TOKEN_MOVE_LIMIT']);
  t.same((await svc.db.query(`select count(*)::int as n from identifications`)).rows, before.rows, 'nothing written');
  t.equal((await sessionState(svc, { networkId: rebinding.id, mac: b, now: clock.now() })).authorized, true, 'the copy stays where it is');

  // The portal words it for the guest.
  const app = await buildApp(svc);
  t.teardown(() => app.close());
  const page = await app.inject(`/portal/${rebinding.id}?mac=${a}&url=http://example.com/&lang=en`);
  const ctx = /name="ctx" value="([^"]+)"/.exec(page.body)![1];
  const res = await app.inject({
    method: 'POST',
    url: `/portal/${rebinding.id}/activate?lang=en`,
    payload: new URLSearchParams({ token: token.code, ctx }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  t.equal(res.statusCode, 403);
  t.equal(res.headers['x-refusal'], 'TOKEN_MOVE_LIMIT');
  t.match(res.body, /moved to another device too many times today/);

  // 24 hours after the first move, one move is allowed again.
  clock.advance(22 * HOUR);
  const later = await activateToken(svc, { networkId: rebinding.id, mac: a, code: token.code, now: clock.now() });
  t.equal(later.token.mac, a);
});

t.test('without rebindOnReentry the code is refused as in use on another device, and nothing moves', async (t) => {
  const { svc, clock, contract, rebinding, plain } = await site(t);
  const [a, b] = [mac(), mac()];
  const token = await makeToken(svc, contract.id, { durationDays: 1 });
  await activateToken(svc, { networkId: rebinding.id, mac: a, code: token.code, now: clock.now() });
  const refused = await refusal(activateToken(svc, { networkId: plain.id, mac: b, code: token.code, now: clock.now() }));
  t.same([refused.status, refused.code], [403, 'TOKEN_USED']);
  t.equal((await sessionState(svc, { networkId: plain.id, mac: a, now: clock.now() })).authorized, true);
  // A copy whose identification has ended does not move either: it is spent.
  clock.advance(DAY);
  const expired = await refusal(activateToken(svc, { networkId: rebinding.id, mac: b, code: token.code, now: clock.now() }));
  t.equal(expired.code, 'TOKEN_USED');
});

t.test('devices racing to move one copy: every entry is answered, and the copy ends on one device with one live identification', async (t) => {
  const { svc, clock, contract, rebinding } = await site(t);
  const [a, b, c] = [mac(), mac(), mac()];
  const token = await makeToken(svc, contract.id, { durationDays: null });
  await activateToken(svc, { networkId: rebinding.id, mac: a, code: token.code, now: clock.now() });
  clock.advance(HOUR);
  const results = await Promise.allSettled([b, b, c].map((device) => activateToken(svc, { networkId: rebinding.id, mac: device, code: token.code, now: clock.now() })));
  for (const r of results) {
    if (r.status === 'rejected') t.equal((r.reason as { code?: string }).code, 'TOKEN_MOVE_LIMIT', 'a refusal, if any, is a rule, never a failure');
  }
  t.ok(results.filter((r) => r.status === 'fulfilled').length >= 2, 'the double entry of one device counts once');
  const { rows: live } = await svc.db.query<{ mac: string }>(`select mac from identifications where token_id = $1::uuid and ended_at is null`, [token.id]);
  const { rows: [copy] } = await svc.db.query<{ mac: string; status: string }>(`select mac, status from tokens where id = $1::uuid`, [token.id]);
  t.equal(live.length, 1, 'one live identification');
  t.equal(live[0].mac, copy.mac, 'on the copy\'s device');
  t.equal(copy.status, 'active');
  const { rows: moves } = await svc.db.query(`select 1 from identifications where token_id = $1::uuid and end_reason = 'moved'`, [token.id]);
  t.ok(moves.length <= 3, `${moves.length} moves`);
});
