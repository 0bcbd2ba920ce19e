import { randomUUID } from 'node:crypto';
import type { Cache } from './cache.js';

/** Sets (the code index) with the name of their life; shared by caches on the same in-process store. */
export interface MemorySets {
  readonly epoch: string;
  readonly sets: Map<string, Set<string>>;
}

const setsByOwner = new WeakMap<object, MemorySets>();

/**
 * The sets that belong with an in-process database: instances opened on the same one (tests do)
 * see the same index, as instances on one Redis do.
 */
export function memorySetsOf(owner: object): MemorySets {
  let found = setsByOwner.get(owner);
  if (!found) setsByOwner.set(owner, (found = { epoch: randomUUID(), sets: new Map() }));
  return found;
}

interface Entry {
  value: string;
  expiresAt: number;
}

/** The embedded default: one process, one Map. Several instances need Redis to share state. */
export function memoryCache(clock: () => number = Date.now, shared?: MemorySets): Cache {
  const map = new Map<string, Entry>();
  const { epoch, sets } = shared ?? { epoch: randomUUID(), sets: new Map<string, Set<string>>() };
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
      for (const key of keys) {
        map.delete(key);
        sets.delete(key);
      }
    },
    async setAdd(key, members) {
      let set = sets.get(key);
      if (!set) sets.set(key, (set = new Set()));
      for (const m of members) set.add(m);
    },
    async setHas(key, members) {
      const set = sets.get(key);
      return members.map((m) => set?.has(m) ?? false);
    },
    async setSwap(key, witness, marker) {
      const set = sets.get(key);
      if (!set?.delete(witness)) return false;
      set.add(marker);
      return true;
    },
    async epoch() {
      return epoch;
    },
    async hitAll(keys, windowSeconds) {
      return keys.map((key) => {
        let entry = live(key);
        if (!entry) map.set(key, (entry = { value: '0', expiresAt: clock() + windowSeconds * 1000 }));
        entry.value = String(Number(entry.value) + 1);
        return { count: Number(entry.value), ttl: Math.ceil((entry.expiresAt - clock()) / 1000) };
      });
    },
    async addTo(key, amount, windowSeconds) {
      let entry = live(key);
      if (!entry) map.set(key, (entry = { value: '0', expiresAt: clock() + windowSeconds * 1000 }));
      entry.value = String(Number(entry.value) + Math.trunc(amount));
      return Number(entry.value);
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
