import { Redis } from 'ioredis';
import t from 'tap';
import { keys, type Cache } from '../../src/cache/cache.js';
import { activateToken } from '../../src/domain/activation.js';
import { generateCode } from '../../src/domain/code.js';
import { rebuildCodeIndex } from '../../src/domain/codeIndex.js';
import { generateTokens, listTokens } from '../../src/domain/tokens.js';
import type { Services } from '../../src/services.js';
import { mac, makeSite, makeToken, operatorOf } from '../helpers/factories.js';
import { testEnv, type TestEnv } from '../helpers/services.js';

const outcome = (p: Promise<unknown>) => p.then(() => 'activated', (e) => `${e.status} ${e.code}`);

/** Counts the queries an instance sends to its store while `fn` runs. */
async function queriesDuring(svc: Services, fn: () => Promise<unknown>): Promise<number> {
  const query = svc.db.query;
  let count = 0;
  svc.db.query = ((sql: string, params?: unknown[]) => {
    count++;
    return query.call(svc.db, sql, params);
  }) as typeof query;
  try {
    await fn();
  } finally {
    svc.db.query = query;
  }
  return count;
}

/** Drops every key of the instance's cache: FLUSHDB of its prefix with Redis, the set in process. */
async function flush(env: TestEnv): Promise<void> {
  if (!env.config.redisUrl) return env.svc.cache.del(keys.codeIndex);
  const redis = new Redis(env.config.redisUrl);
  const found = await redis.keys(`${env.config.redisPrefix}*`);
  if (found.length) await redis.del(...found);
  redis.disconnect();
}

async function site(env: TestEnv) {
  const { contract, network } = await makeSite(env.svc);
  const enter = (svc: Services, code: string) => outcome(activateToken(svc, { networkId: network.id, mac: mac(), code, now: env.clock.now() }));
  // One entry first, so that the network is in the instance's copy and only the code is looked up.
  await enter(env.svc, generateCode());
  return { contract, network, enter };
}

t.test('an unknown code is refused without PostgreSQL once the index is complete', async (t) => {
  const env = await testEnv(t);
  const { svc } = env;
  const { contract, enter } = await site(env);
  const tok = await makeToken(svc, contract.id);
  t.equal(await rebuildCodeIndex(svc), true, 'the rebuild marks the index complete');
  let answer = '';
  t.equal(await queriesDuring(svc, async () => (answer = await enter(svc, generateCode()))), 0, 'no query');
  t.equal(answer, '403 TOKEN_UNKNOWN');
  t.equal(await enter(svc, tok.code), 'activated', 'a generated code is known');
});

t.test('a code generated on one instance works on another at once', async (t) => {
  const env = await testEnv(t);
  const other = await env.another();
  const { contract, enter } = await site(env);
  t.equal(await rebuildCodeIndex(other), true);
  const [tok] = await generateTokens(env.svc, operatorOf(contract.id), { contractId: contract.id, count: 1, multiUse: false, durationDays: 1, now: env.clock.now() });
  t.equal(await enter(other, tok.code), 'activated');
  t.equal(await queriesDuring(other, () => enter(other, generateCode())), 0, 'the other instance trusts the shared index');
});

t.test('after a flush refusals come from PostgreSQL until the index is rebuilt', async (t) => {
  const env = await testEnv(t);
  const { svc } = env;
  const { contract, enter } = await site(env);
  const tok = await makeToken(svc, contract.id);
  t.equal(await rebuildCodeIndex(svc), true);
  await flush(env);
  let answer = '';
  t.ok((await queriesDuring(svc, async () => (answer = await enter(svc, generateCode())))) > 0, 'PostgreSQL is asked');
  t.equal(answer, '403 TOKEN_UNKNOWN');
  t.equal(await rebuildCodeIndex(svc), true, 'the refusal started a rebuild (this joins or follows it)');
  t.equal(await queriesDuring(svc, async () => (answer = await enter(svc, generateCode()))), 0, 'complete again');
  t.equal(answer, '403 TOKEN_UNKNOWN');
  t.equal(await enter(svc, tok.code), 'activated', 'the rebuilt index holds the code made before the flush');
});

t.test('a flush during a rebuild leaves the index incomplete', async (t) => {
  const env = await testEnv(t);
  const { svc } = env;
  const { contract, enter } = await site(env);
  await makeToken(svc, contract.id);
  let adds = 0;
  const flushing: Cache = {
    ...svc.cache,
    async setAdd(key, members) {
      await svc.cache.setAdd(key, members);
      if (++adds === 2) await flush(env); // after the witness and the first copied batch
    },
  };
  t.equal(await rebuildCodeIndex({ ...svc, cache: flushing }), false, 'not marked complete');
  t.ok((await queriesDuring(svc, () => enter(svc, generateCode()))) > 0, 'refusals still ask PostgreSQL');
});

t.test('without Redis: generation refuses 503 and writes nothing; refusals come from PostgreSQL', async (t) => {
  const env = await testEnv(t, { REDIS_URL: 'redis://127.0.0.1:1' });
  const { svc } = env;
  const { contract, enter } = await site(env);
  const err = await generateTokens(svc, operatorOf(contract.id), { contractId: contract.id, count: 3, multiUse: false, durationDays: 1, now: env.clock.now() }).catch((e) => e);
  t.equal(err.status, 503);
  t.equal(err.code, 'CACHE_UNAVAILABLE');
  t.same(await listTokens(svc, operatorOf(contract.id), { contractId: contract.id, limit: 10, offset: 0, now: env.clock.now() }), [], 'no tokens');
  t.equal(await enter(svc, generateCode()), '403 TOKEN_UNKNOWN');
  t.equal(await rebuildCodeIndex(svc).catch(() => 'failed'), 'failed', 'no rebuild without Redis');
});
