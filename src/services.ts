import type { Logger } from 'pino';
import type { Cache } from './cache/cache.js';
import { memoryCache } from './cache/memory.js';
import { redisCache } from './cache/redis.js';
import { resilientCache } from './cache/resilient.js';
import type { Config } from './config.js';
import { openPglite, openPostgres, type Db, type PgliteSession } from './store/db.js';
import { migrate } from './store/migrate.js';
import { loadPepper } from './domain/secret.js';
import { createMetrics, type Metrics } from './metrics.js';

/** Everything domain code is handed: stores, logger, the server secret and the clock. */
export interface Services {
  config: Config;
  db: Db;
  cache: Cache;
  log: Logger;
  /** Pepper for API-token hashes, cookie and context signing. */
  secret: Buffer;
  now: () => Date;
  metrics: Metrics;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Tests give each run its own Postgres schema. */
  schema?: string;
  /** Tests lend one PGlite per file instead of booting one per test (see openPglite). */
  pglite?: PgliteSession;
  now?: () => Date;
}

export async function openServices(config: Config, log: Logger, options: OpenOptions = {}): Promise<Services> {
  const db = config.databaseUrl
    ? openPostgres(config.databaseUrl, { schema: options.schema })
    : await openPglite(config.dataDir, options.pglite);
  const metrics = createMetrics();
  const cache = countLookups(
    config.redisUrl ? resilientCache(
          redisCache({ url: config.redisUrl, prefix: config.redisPrefix, sentinels: config.redisSentinels, sentinelName: config.redisSentinelName }, log),
          log,
        ) : memoryCache(),
    metrics,
  );
  try {
    await cache.ready();
    await migrate(db);
    const secret = await loadPepper(db, config.secret);
    return {
      config,
      db,
      cache,
      log,
      secret,
      now: options.now ?? (() => new Date()),
      metrics,
      async close() {
        await cache.close();
        await db.close();
      },
    };
  } catch (err) {
    await cache.close();
    await db.close();
    throw err;
  }
}

/** Counts cache hits and misses for the hit-ratio metric. */
function countLookups(cache: Cache, metrics: Metrics): Cache {
  const [hits, misses] = [metrics.cacheLookups.labels('hit'), metrics.cacheLookups.labels('miss')];
  return {
    ...cache,
    async get(key) {
      const value = await cache.get(key);
      (value === null ? misses : hits).inc();
      return value;
    },
  };
}
