import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { keys, type Cache } from './cache.js';

const PROBE_EVERY_MS = 500;

/**
 * Redis through ioredis. Commands fail fast while Redis is away (no offline queue, short timeouts),
 * so callers fall back to Postgres instead of hanging.
 *
 * Staleness: a write-through that fails during an outage (an annul, an end) would leave an old
 * "authorised" row in Redis. So the first failed command marks this cache unhealthy: from then on
 * it answers nothing (callers read Postgres) until a probe finds Redis again and every cached row
 * has been dropped. Only then are reads served from Redis again.
 */
export interface RedisOptions {
  url: string;
  prefix: string;
  /** With Sentinel, ioredis asks these for the current primary; the URL still gives password and db. */
  sentinels?: Array<{ host: string; port: number }> | null;
  sentinelName?: string | null;
}

export function redisCache({ url, prefix, sentinels, sentinelName }: RedisOptions, log: Logger): Cache {
  const redis = new Redis(url, {
    ...(sentinels ? { sentinels, name: sentinelName ?? undefined } : {}),
    keyPrefix: prefix,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 1_000,
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    // Commands issued in the same tick (many requests' lookups under load) leave in one write.
    enableAutoPipelining: true,
  });
  const scripts = counterScripts(redis);
  let healthy = true;
  let probe: NodeJS.Timeout | null = null;
  let closed = false;
  // This server's run_id, asked once per connection (see Cache.epoch); forgotten on every outage.
  let runId: Promise<string> | null = null;

  function unhealthy(reason: string): void {
    runId = null;
    if (!healthy || closed) return;
    healthy = false;
    log.warn({ reason }, 'redis unavailable; serving from postgres until it is back');
    probe = setInterval(() => {
      recover().catch(() => {}); // still away; try again at the next tick
    }, PROBE_EVERY_MS);
    probe.unref();
  }

  let recovering = false;
  async function recover(): Promise<void> {
    if (recovering) return;
    recovering = true;
    try {
      await redis.ping();
      await dropCachedRows();
      runId = null;
      healthy = true;
      if (probe) clearInterval(probe);
      probe = null;
      log.info('redis is back; cached rows dropped, serving from redis again');
    } finally {
      recovering = false;
    }
  }

  redis.on('error', (err) => unhealthy(err.message));
  // A close before the first connection is just start-up; after it, writes may have been lost.
  let connected = false;
  redis.on('ready', () => {
    connected = true;
  });
  redis.on('close', () => {
    if (connected) unhealthy('connection closed');
  });

  async function dropCachedRows(): Promise<void> {
    for (const pattern of keys.rowPatterns) {
      let cursor = '0';
      do {
        // SCAN does not apply keyPrefix, so the prefix goes in by hand; DEL applies it again.
        const [next, found] = await redis.scan(cursor, 'MATCH', prefix + pattern, 'COUNT', 1000);
        cursor = next;
        if (found.length) await redis.del(...found.map((k) => k.slice(prefix.length)));
      } while (cursor !== '0');
    }
  }

  /** A failed command makes the cache unhealthy; the error goes on to the caller. */
  const failed = (err: unknown): never => {
    unhealthy(err instanceof Error ? err.message : String(err));
    throw err;
  };
  /** What every command answers while unhealthy. */
  const notServing = () => Promise.reject(new Error('redis is recovering'));

  /** Runs a command only while healthy; a failure makes the cache unhealthy and is rethrown. */
  async function run<T>(command: () => Promise<T>): Promise<T> {
    if (!healthy) return notServing();
    try {
      return await command();
    } catch (err) {
      return failed(err);
    }
  }

  // Channels are not keys, so keyPrefix does not apply: the prefix goes in by hand.
  let subscriber: Redis | null = null;
  const handlers = new Map<string, Array<(message: string) => void>>();

  return {
    kind: 'redis',
    redis,
    publish: (channel, message) => run(async () => void (await redis.publish(prefix + channel, message))),
    subscribe(channel, handler) {
      if (!subscriber) {
        subscriber = redis.duplicate({ keyPrefix: '', enableOfflineQueue: true, maxRetriesPerRequest: null });
        subscriber.on('error', () => {}); // the main connection reports outages
        subscriber.on('message', (name: string, message: string) => {
          for (const h of handlers.get(name.slice(prefix.length)) ?? []) h(message);
        });
      }
      if (!handlers.has(channel)) void subscriber.subscribe(prefix + channel).catch(() => {});
      handlers.set(channel, [...(handlers.get(channel) ?? []), handler]);
    },
    // The hottest read (every session poll and portal page): no async wrapper around the command.
    get: (key) => (healthy ? redis.get(key).catch(failed) : notServing()),
    set: (key, value, ttlSeconds) => run(async () => void (await redis.set(key, value, 'EX', Math.max(1, Math.ceil(ttlSeconds))))),
    add: (key, value, ttlSeconds) => run(async () => void (await redis.set(key, value, 'EX', Math.max(1, Math.ceil(ttlSeconds)), 'NX'))),
    del: (...names) => run(async () => void (names.length && (await redis.del(...names)))),
    hitAll: (names, windowSeconds) =>
      run(async () => {
        const flat = await scripts.hitAll(names.length, ...names, windowSeconds);
        return names.map((_, i) => ({ count: flat[2 * i], ttl: Math.max(0, flat[2 * i + 1]) }));
      }),
    unhitAll: (names) => run(async () => void (await scripts.unhitAll(names.length, ...names))),
    addTo: (key, amount, windowSeconds) => run(() => scripts.addTo(1, key, Math.trunc(amount), windowSeconds)),
    hitUnder: (counters) =>
      run(async () => {
        const flat = await scripts.hitUnder(counters.length, ...counters.map((c) => c.key), ...counters.flatMap((c) => [c.limit, c.windowSeconds]));
        return { ok: flat[0] === 1, counts: counters.map((_, i) => ({ count: flat[1 + 2 * i], ttl: Math.max(0, flat[2 + 2 * i]) })) };
      }),
    setAdd: (key, members) => run(async () => void (members.length && (await redis.sadd(key, ...members)))),
    setHas: (key, members) => run(async () => (await redis.smismember(key, ...members)).map((n) => n === 1)),
    setSwap: (key, witness, marker) => run(async () => (await scripts.setSwap(1, key, witness, marker)) === 1),
    epoch: () =>
      run(() => {
        runId ??= redis.info('server').then((info) => /run_id:(\w+)/.exec(info)![1]);
        return runId.catch((err) => {
          runId = null;
          throw err;
        });
      }),
    async ping() {
      await redis.ping();
    },
    async ready() {
      if (redis.status === 'ready') return;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          redis.off('ready', done);
          resolve();
        };
        const timer = setTimeout(done, 3_000);
        redis.once('ready', done);
      });
    },
    async close() {
      closed = true;
      if (probe) clearInterval(probe);
      subscriber?.disconnect();
      redis.disconnect();
    },
  };
}

/**
 * The brute-force counters as scripts (EVALSHA), so that counting a try and reading every
 * counter's value and reset time is one round trip, and taking a try back never revives a
 * counter that has already expired.
 */
function counterScripts(redis: Redis) {
  redis.defineCommand('kalitkaHitAll', {
    lua: `local out = {}
      for _, key in ipairs(KEYS) do
        out[#out + 1] = redis.call('INCR', key)
        redis.call('EXPIRE', key, ARGV[1], 'NX')
        out[#out + 1] = redis.call('TTL', key)
      end
      return out`,
  });
  redis.defineCommand('kalitkaAddTo', {
    lua: `local v = redis.call('INCRBY', KEYS[1], ARGV[1])
      redis.call('EXPIRE', KEYS[1], ARGV[2], 'NX')
      return v`,
  });
  redis.defineCommand('kalitkaUnhitAll', {
    lua: `for _, key in ipairs(KEYS) do
        if redis.call('EXISTS', key) == 1 then redis.call('DECR', key) end
      end
      return 0`,
  });
  // Checks every counter against its limit first; counts all or none (ARGV: limit, window per key).
  redis.defineCommand('kalitkaHitUnder', {
    lua: `local ok = 1
      for i, key in ipairs(KEYS) do
        if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[2 * i - 1]) then ok = 0 end
      end
      local out = { ok }
      for i, key in ipairs(KEYS) do
        if ok == 1 then
          out[#out + 1] = redis.call('INCR', key)
          redis.call('EXPIRE', key, ARGV[2 * i], 'NX')
        else
          out[#out + 1] = tonumber(redis.call('GET', key) or '0')
        end
        out[#out + 1] = redis.call('TTL', key)
      end
      return out`,
  });
  redis.defineCommand('kalitkaSetSwap', {
    lua: `if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return 0 end
      redis.call('SADD', KEYS[1], ARGV[2])
      return 1`,
  });
  const custom = redis as unknown as {
    kalitkaSetSwap(numberOfKeys: number, key: string, witness: string, marker: string): Promise<number>;
    kalitkaHitAll(numberOfKeys: number, ...keysThenWindow: Array<string | number>): Promise<number[]>;
    kalitkaUnhitAll(numberOfKeys: number, ...keys: string[]): Promise<number>;
    kalitkaAddTo(numberOfKeys: number, key: string, amount: number, windowSeconds: number): Promise<number>;
    kalitkaHitUnder(numberOfKeys: number, ...keysThenLimits: Array<string | number>): Promise<number[]>;
  };
  return {
    hitAll: custom.kalitkaHitAll.bind(custom),
    unhitAll: custom.kalitkaUnhitAll.bind(custom),
    addTo: custom.kalitkaAddTo.bind(custom),
    hitUnder: custom.kalitkaHitUnder.bind(custom),
    setSwap: custom.kalitkaSetSwap.bind(custom),
  };
}
