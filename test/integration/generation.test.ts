import t from 'tap';
import { luhnValid } from '../../src/domain/code.js';
import { countUnused, generateTokens, listTokens, UNUSED_TOKEN_LIMIT } from '../../src/domain/tokens.js';
import { AppError } from '../../src/errors.js';
import { makeContract, makeToken, makeTokens, operatorOf } from '../helpers/factories.js';
import { testEnv } from '../helpers/services.js';

t.test('generated tokens are unused, well-formed and remember how they were made', async (t) => {
  const { svc, clock } = await testEnv(t);
  const c = await makeContract(svc);
  const made = await generateTokens(svc, operatorOf(c.id), { contractId: c.id, count: 3, multiUse: true, durationDays: 7, now: clock.now() });
  t.equal(made.length, 3);
  for (const tok of made) {
    t.match(tok.code, /^[1-9]\d{11}$/);
    t.ok(luhnValid(tok.code));
    t.equal(tok.status, 'unused');
    t.equal(tok.multi_use, true);
    t.equal(tok.duration_days, 7);
    t.equal(tok.mac, null);
    t.equal(tok.activated_at, null);
    t.same(tok.created_at, clock.now());
  }
  t.equal(new Set(made.map((m) => m.code)).size, 3);
});

t.test('a contract holds at most 200 unused tokens; a request past it is refused whole with what is left', async (t) => {
  const { svc } = await testEnv(t);
  const c = await makeContract(svc);
  await makeTokens(svc, c.id, { count: 150 });
  const err = await generateTokens(svc, operatorOf(c.id), { contractId: c.id, count: 51, multiUse: false, durationDays: 1, now: svc.now() }).catch((e) => e);
  t.ok(err instanceof AppError);
  t.equal(err.status, 409);
  t.equal(err.code, 'UNUSED_TOKEN_LIMIT');
  t.same(err.details, { limit: 200, available: 50 });
  t.equal(await countUnused(svc.db, c.id), 150, 'nothing of the refused request was made');
  await makeTokens(svc, c.id, { count: 50 });
  t.equal(await countUnused(svc.db, c.id), UNUSED_TOKEN_LIMIT);
  const again = await makeTokens(svc, c.id, { count: 1 }).catch((e) => e);
  t.same(again.details, { limit: 200, available: 0 });
});

t.test('the limit counts only unused tokens and only this contract', async (t) => {
  const { svc } = await testEnv(t);
  const a = await makeContract(svc);
  const b = await makeContract(svc);
  await makeTokens(svc, a.id, { count: 200 });
  t.equal((await makeTokens(svc, b.id, { count: 200 })).length, 200, 'another contract has its own 200');
  const [first] = await listTokens(svc, operatorOf(a.id), { contractId: a.id, limit: 1, offset: 0, now: svc.now() });
  await svc.db.query(`update tokens set status = 'annulled' where id = $1`, [first.id]);
  t.equal((await makeTokens(svc, a.id, { count: 1 })).length, 1, 'an annulled token frees a place');
});

t.test('concurrent generation from several instances never passes 200', async (t) => {
  const env = await testEnv(t);
  const instances = [env.svc, await env.another(), await env.another()];
  const c = await makeContract(env.svc);
  const results = await Promise.allSettled(
    Array.from({ length: 12 }, (_, i) =>
      generateTokens(instances[i % 3], operatorOf(c.id), { contractId: c.id, count: 30, multiUse: false, durationDays: null, now: env.svc.now() }),
    ),
  );
  const ok = results.filter((r) => r.status === 'fulfilled');
  const refused = results.filter((r) => r.status === 'rejected');
  t.equal(ok.length, 6, 'exactly 6 × 30 fit under 200');
  t.equal(refused.length, 6);
  for (const r of refused) t.equal((r as PromiseRejectedResult).reason.code, 'UNUSED_TOKEN_LIMIT');
  t.equal(await countUnused(env.svc.db, c.id), 180);
});

t.test('a code that is alive is never generated again', async (t) => {
  const { svc } = await testEnv(t);
  const c = await makeContract(svc);
  const tok = await makeToken(svc, c.id);
  // The partial unique index is the guard: a second unused row with a live code cannot exist.
  const dup = await svc.db
    .query(`insert into tokens (contract_id, code, multi_use) values ($1, $2, false)`, [c.id, tok.code])
    .catch((e) => e);
  t.equal(dup.code, '23505');
});

t.test('generation for an unknown contract is a 404', async (t) => {
  const { svc } = await testEnv(t);
  const err = await makeTokens(svc, '00000000-0000-4000-8000-000000000000').catch((e) => e);
  t.equal(err.status, 404);
});
