import type { Logger } from 'pino';
import type { Cache } from './cache/cache.js';
import { memoryCache } from './cache/memory.js';
import { redisCache } from './cache/redis.js';
import { resilientCache } from './cache/resilient.js';
import type { Config } from './config.js';
import { openPglite, openPostgres, type Db } from './store/db.js';
import { migrate } from './store/migrate.js';
import { loadPepper } from './domain/secret.js';

/** Everything domain code is handed: stores, logger, the server secret and the clock. */
export interface Services {
  config: Config;
  db: Db;
  cache: Cache;
  log: Logger;
  /** Pepper for API-token hashes, cookie and context signing. */
  secret: Buffer;
  now: () => Date;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Tests give each run its own Postgres schema. */
  schema?: string;
  now?: () => Date;
}

export async function openServices(config: Config, log: Logger, options: OpenOptions = {}): Promise<Services> {
  const db = config.databaseUrl
    ? openPostgres(config.databaseUrl, { schema: options.schema })
    : await openPglite(config.dataDir);
  const cache = config.redisUrl ? resilientCache(redisCache(config.redisUrl, config.redisPrefix, log), log) : memoryCache();
  try {
    await migrate(db);
    const secret = await loadPepper(db, config.secret);
    return {
      config,
      db,
      cache,
      log,
      secret,
      now: options.now ?? (() => new Date()),
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
