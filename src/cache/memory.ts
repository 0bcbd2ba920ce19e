import type { Cache } from './cache.js';

interface Entry {
  value: string;
  expiresAt: number;
}

/** The embedded default: one process, one Map. Several instances need Redis to share state. */
export function memoryCache(clock: () => number = Date.now): Cache {
  const map = new Map<string, Entry>();
  const live = (key: string): Entry | undefined => {
    const entry = map.get(key);
    if (entry && entry.expiresAt <= clock()) {
      map.delete(key);
      return undefined;
    }
    return entry;
  };
  const handlers = new Map<string, Array<(message: string) => void>>();
  // Drop expired entries now and then so that a long-running process does not grow.
  const sweeper = setInterval(() => {
    for (const key of map.keys()) live(key);
  }, 60_000);
  sweeper.unref();
  return {
    kind: 'memory',
    async get(key) {
      return live(key)?.value ?? null;
    },
    async set(key, value, ttlSeconds) {
      map.set(key, { value, expiresAt: clock() + ttlSeconds * 1000 });
    },
    async add(key, value, ttlSeconds) {
      if (!live(key)) map.set(key, { value, expiresAt: clock() + ttlSeconds * 1000 });
    },
    async del(...keys) {
      for (const key of keys) map.delete(key);
    },
    async hitAll(keys, windowSeconds) {
      return keys.map((key) => {
        let entry = live(key);
        if (!entry) map.set(key, (entry = { value: '0', expiresAt: clock() + windowSeconds * 1000 }));
        entry.value = String(Number(entry.value) + 1);
        return { count: Number(entry.value), ttl: Math.ceil((entry.expiresAt - clock()) / 1000) };
      });
    },
    async unhitAll(keys) {
      for (const key of keys) {
        const entry = live(key);
        if (entry) entry.value = String(Number(entry.value) - 1);
      }
    },
    async hitUnder(counters) {
      const before = counters.map((c) => Number(live(c.key)?.value ?? 0));
      const ok = counters.every((c, i) => before[i] < c.limit);
      const counts = counters.map((c, i) => {
        let entry = live(c.key);
        if (ok && !entry) map.set(c.key, (entry = { value: '0', expiresAt: clock() + c.windowSeconds * 1000 }));
        if (ok) entry!.value = String(before[i] + 1);
        return { count: Number(entry?.value ?? 0), ttl: entry ? Math.ceil((entry.expiresAt - clock()) / 1000) : 0 };
      });
      return { ok, counts };
    },
    async ping() {},
    async publish(channel, message) {
      for (const handler of handlers.get(channel) ?? []) handler(message);
    },
    subscribe(channel, handler) {
      handlers.set(channel, [...(handlers.get(channel) ?? []), handler]);
    },
    async ready() {},
    async close() {
      clearInterval(sweeper);
      map.clear();
    },
  };
}
