import type { Logger } from 'pino';
import type { Cache } from './cache.js';
import { memoryCache } from './memory.js';

/**
 * Redis going away must not take the portal with it: reads become misses (Postgres answers),
 * writes are skipped (the reconnect drops what may be stale), and the brute-force counters fall
 * back to this instance's memory until Redis returns.
 */
export function resilientCache(primary: Cache, log: Logger): Cache {
  const local = memoryCache();
  let warned = false;
  const degrade = (err: unknown) => {
    if (!warned) log.warn({ err: err instanceof Error ? err.message : String(err) }, 'cache unavailable; degrading');
    warned = true;
  };
  const ok = () => {
    warned = false;
  };
  async function guard<T>(op: () => Promise<T>, fallback: () => Promise<T>): Promise<T> {
    try {
      const result = await op();
      ok();
      return result;
    } catch (err) {
      degrade(err);
      return fallback();
    }
  }
  const served = <T>(value: T): T => {
    ok();
    return value;
  };
  const missed = (err: unknown): null => {
    degrade(err);
    return null;
  };
  return {
    kind: primary.kind,
    redis: primary.redis,
    // Without guard's closures: the hottest read.
    get: (key) => primary.get(key).then(served, missed),
    set: (key, value, ttl) => guard(() => primary.set(key, value, ttl), async () => {}),
    add: (key, value, ttl) => guard(() => primary.add(key, value, ttl), async () => {}),
    del: (...keys) => guard(() => primary.del(...keys), async () => {}),
    hitAll: (keys, window) => guard(() => primary.hitAll(keys, window), () => local.hitAll(keys, window)),
    unhitAll: (keys) => guard(() => primary.unhitAll(keys), () => local.unhitAll(keys)),
    addTo: (key, amount, window) => guard(() => primary.addTo(key, amount, window), () => local.addTo(key, amount, window)),
    hitUnder: (counters) => guard(() => primary.hitUnder(counters), () => local.hitUnder(counters)),
    // Never swallowed: generation must refuse when its codes did not reach the index.
    setAdd: (key, members) => primary.setAdd(key, members),
    setHas: (key, members) => guard(() => primary.setHas(key, members), async () => members.map(() => false)),
    setSwap: (key, witness, marker) => guard(() => primary.setSwap(key, witness, marker), async () => false),
    epoch: () => primary.epoch(),
    ping: () => primary.ping(),
    publish: (channel, message) => guard(() => primary.publish(channel, message), async () => {}),
    subscribe: (channel, handler) => primary.subscribe(channel, handler),
    ready: () => primary.ready(),
    async close() {
      await local.close();
      await primary.close();
    },
  };
}
