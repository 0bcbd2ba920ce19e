/**
 * A small map in this process whose entries live `ttlMs` (wall-clock cache expiry, not domain
 * time). It is emptied whole when it grows past `max`, which keeps it simple and bounded.
 */
export interface NearCache<T> {
  get(key: string): T | undefined;
  set(key: string, value: T): void;
  delete(key: string): void;
  clear(): void;
  /** Counts deletes and clears: a copy derived from this cache's entries is stale once it moved. */
  readonly generation: number;
}

export function nearCache<T>(ttlMs: number, max = 10_000): NearCache<T> {
  const map = new Map<string, { value: T; until: number }>();
  let generation = 0;
  return {
    get generation() {
      return generation;
    },
    get(key) {
      const entry = map.get(key);
      if (entry && entry.until > Date.now()) return entry.value;
      if (entry) map.delete(key);
      return undefined;
    },
    set(key, value) {
      if (map.size >= max) map.clear();
      map.set(key, { value, until: Date.now() + ttlMs });
    },
    delete(key) {
      generation++;
      map.delete(key);
    },
    clear() {
      generation++;
      map.clear();
    },
  };
}
