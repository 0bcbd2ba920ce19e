import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Test } from 'tap';
import type { Cache } from '../../src/cache/cache.js';
import { memoryCache } from '../../src/cache/memory.js';
import { redisCache } from '../../src/cache/redis.js';
import { createLogger } from '../../src/log.js';
import { setup } from './services.js';

/**
 * Just the cache of the setup under test — real Redis (its own key prefix, removed afterwards) when
 * REDIS_URL is set, else the in-process cache — for tests of counters that need no database.
 */
export async function testCache(t: Test): Promise<Cache> {
  if (!setup.redisUrl) {
    const cache = memoryCache();
    t.teardown(() => cache.close());
    return cache;
  }
  const prefix = `kalitka-test:${randomBytes(6).toString('hex')}:`;
  const cache = redisCache({ url: setup.redisUrl, prefix }, createLogger('silent'));
  await cache.ready();
  t.teardown(async () => {
    await cache.close();
    const redis = new Redis(setup.redisUrl!);
    const found = await redis.keys(`${prefix}*`);
    if (found.length) await redis.del(...found);
    redis.disconnect();
  });
  return cache;
}
