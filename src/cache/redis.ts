import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { keys, type Cache } from './cache.js';

/**
 * Redis through ioredis. Commands fail fast while Redis is away (no offline queue), so callers fall
 * back to Postgres instead of hanging. When the connection comes back, every cached row is
 * dropped: writes made during the outage never reached Redis, so what it holds may be stale.
 */
export function redisCache(url: string, prefix: string, log: Logger): Cache {
  const redis = new Redis(url, {
    keyPrefix: prefix,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 1_000,
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    lazyConnect: false,
  });
  let lost = false;
  redis.on('error', (err) => {
    if (!lost) log.warn({ err: err.message }, 'redis unavailable; serving from postgres');
    lost = true;
  });
  redis.on('close', () => {
    lost = true;
  });
  redis.on('ready', () => {
    if (!lost) return;
    lost = false;
    log.info('redis is back; dropping cached rows that may be stale');
    dropCachedRows().catch((err) => log.warn({ err: err.message }, 'could not drop cached rows'));
  });

  async function dropCachedRows(): Promise<void> {
    for (const pattern of keys.rowPatterns) {
      let cursor = '0';
      do {
        // SCAN does not apply keyPrefix, so the prefix goes in by hand; DEL applies it again.
        const [next, found] = await redis.scan(cursor, 'MATCH', prefix + pattern, 'COUNT', 500);
        cursor = next;
        if (found.length) await redis.del(...found.map((k) => k.slice(prefix.length)));
      } while (cursor !== '0');
    }
  }

  return {
    kind: 'redis',
    redis,
    get: (key) => redis.get(key),
    async set(key, value, ttlSeconds) {
      await redis.set(key, value, 'EX', Math.max(1, Math.ceil(ttlSeconds)));
    },
    async add(key, value, ttlSeconds) {
      await redis.set(key, value, 'EX', Math.max(1, Math.ceil(ttlSeconds)), 'NX');
    },
    async del(...keys) {
      if (keys.length) await redis.del(...keys);
    },
    async hit(key, windowSeconds) {
      const res = await redis.multi().incr(key).expire(key, windowSeconds, 'NX').exec();
      return Number(res?.[0]?.[1] ?? 0);
    },
    async count(key) {
      return Number((await redis.get(key)) ?? 0);
    },
    async ttl(key) {
      return Math.max(0, await redis.ttl(key));
    },
    async ping() {
      await redis.ping();
    },
    async close() {
      redis.disconnect();
    },
  };
}
