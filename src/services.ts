// The composition root: opens the stores, builds every cache and subscription, and closes them all.
// It may import src/store, src/cache, config, log and metrics — never src/domain or src/http.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { channels, type Cache } from './cache/cache.js';
import { localCaches, type LocalCaches } from './cache/local.js';
import { memoryCache, memorySetsOf } from './cache/memory.js';
import { redisCache } from './cache/redis.js';
import { resilientCache } from './cache/resilient.js';
import type { Config } from './config.js';
import { openPglite, openPostgres, type Db, type PgliteSession } from './store/db.js';
import { migrate } from './store/migrate.js';
import { pingStore } from './store/health.js';
import { findSetting, insertSettingIfAbsent } from './store/settings.js';
import { createMetrics, type Metrics } from './metrics.js';

/** Everything one process runs on: stores, caches, logger, the server secret and the clock. */
export interface Services {
  config: Config;
  db: Db;
  cache: Cache;
  /** The Redis connection, when there is one, for third-party plugins that share it (rate limiting). */
  redis: Cache['redis'];
  /** This process's short-lived copies (networks, API-token lookups), forgotten on every instance at once. */
  local: LocalCaches;
  log: Logger;
  /** Pepper for API-token hashes, cookie and context signing. */
  secret: Buffer;
  now: () => Date;
  metrics: Metrics;
  /** Whether the store and the cache answer within 2 s each (readiness). */
  probe(): Promise<{ store: 'ok' | 'down'; cache: 'ok' | 'down' }>;
  close(): Promise<void>;
}

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);

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
        ) : memoryCache(Date.now, memorySetsOf(options.pglite ?? db)),
    metrics,
  );
  const local = localCaches();
  const close = async () => {
    local.clear();
    await cache.close();
    await db.close();
  };
  try {
    await cache.ready();
    // Another instance that revokes a token or edits a network tells this one to forget its copy.
    cache.subscribe(channels.apiTokenForget, (hash) => local.apiTokens.delete(hash));
    cache.subscribe(channels.networkForget, (id) => local.networks.delete(id));
    cache.subscribe(channels.contractZoneForget, (id) => local.contractZones.delete(id));
    await migrate(db);
    const secret = await loadPepper(db, config.secret);
    const probe = async () => {
      const [store, cached] = await Promise.all([
        within(pingStore(db), 2_000).then(() => 'ok' as const, () => 'down' as const),
        within(cache.ping(), 2_000).then(() => 'ok' as const, () => 'down' as const),
      ]);
      return { store, cache: cached };
    };
    return { config, db, cache, redis: cache.redis, local, log, secret, now: options.now ?? (() => new Date()), metrics, probe, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * The server pepper: KALITKA_SECRET when set, otherwise one generated on first start and kept in
 * the store, so that every instance on the same database agrees on it.
 */
async function loadPepper(db: Db, configured: string | null): Promise<Buffer> {
  if (configured) return Buffer.from(configured, 'utf8');
  await insertSettingIfAbsent(db, 'secret', randomBytes(32).toString('base64url'));
  return Buffer.from((await findSetting(db, 'secret'))!, 'utf8');
}

/** Counts cache hits and misses for the hit-ratio metric. */
function countLookups(cache: Cache, metrics: Metrics): Cache {
  return { ...cache, get: (key) => cache.get(key).then(metrics.cacheLookups.counted) };
}
