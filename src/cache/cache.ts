// Cache layer: Redis or in-process behind one interface, key builders and channel names. It may
// import nothing above src/cache (no domain, no http).
/**
 * The small cache interface the domain sees. Postgres is the truth: a miss, a flushed cache or a
 * cache that is down means "read Postgres", never "deny" or "allow".
 */
export interface Cache {
  readonly kind: 'redis' | 'memory';
  /** The ioredis client behind a Redis cache, for plugins that share it (rate limiting). */
  readonly redis?: import('ioredis').Redis;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  /** Sets only when the key is absent (a refill must not overwrite a newer write or a tombstone). */
  add(key: string, value: string, ttlSeconds: number): Promise<void>;
  del(...keys: string[]): Promise<void>;
  /**
   * Adds one to each counter (one that lives `windowSeconds` from its first hit) in one round trip;
   * returns each new value and the seconds until it resets.
   */
  hitAll(keys: string[], windowSeconds: number): Promise<Array<{ count: number; ttl: number }>>;
  /**
   * Adds `amount` (a whole number) to one counter that lives `windowSeconds` from its first add;
   * returns its new value (sums such as what phone sends cost, in hundredths).
   */
  addTo(key: string, amount: number, windowSeconds: number): Promise<number>;
  /** Takes one back from each counter that still lives, in one round trip. */
  unhitAll(keys: string[]): Promise<void>;
  /**
   * Adds one to every counter only if each is below its limit, atomically in one round trip (so
   * parallel requests cannot pass a limit, and a refusal counts nothing); each counter lives
   * `windowSeconds` from its first hit. Returns whether it counted, and each value and reset time.
   */
  hitUnder(counters: Array<{ key: string; limit: number; windowSeconds: number }>): Promise<{ ok: boolean; counts: Array<{ count: number; ttl: number }> }>;
  /**
   * Adds members to a set that never expires (the index of known codes). Unlike row writes, a
   * failure is thrown even through the resilient wrapper: the caller must know it was not written.
   */
  setAdd(key: string, members: string[]): Promise<void>;
  /** Which of these members the set holds, in one round trip (all false when it cannot tell). */
  setHas(key: string, members: string[]): Promise<boolean[]>;
  /** Atomically: if the set still holds `witness`, removes it and adds `marker`. Returns whether it did. */
  setSwap(key: string, witness: string, marker: string): Promise<boolean>;
  /**
   * Names the life of the cache's data: Redis's run_id (it changes on a restart, even one that
   * reloads an old snapshot, and on a failover), or one value per in-process store.
   */
  epoch(): Promise<string>;
  ping(): Promise<void>;
  /** Tells every instance sharing this cache (Redis pub/sub; in process for the memory cache). */
  publish(channel: string, message: string): Promise<void>;
  subscribe(channel: string, handler: (message: string) => void): void;
  /** Resolves once connected (or after a short wait if the server is away: the cache then degrades). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** Every key of cached rows (not counters), so they can be dropped together. */
export const keys = {
  session: (mac: string) => `session:${mac}`,
  network: (id: string) => `network:${id}`,
  apiToken: (hash: string) => `apitoken:${hash}`,
  panelFailLogin: (login: string) => `panel:fails:login:${login}`,
  panelFailLoginFrom: (login: string, ip: string) => `panel:fails:login-ip:${ip}:${login}`,
  panelFailIp: (ip: string) => `panel:fails:ip:${ip}`,
  failDevice: (mac: string) => `fails:mac:${mac}`,
  failIp: (ip: string) => `fails:ip:${ip}`,
  /** The set of every code in the tokens table, with its completeness marker (see domain/codeIndex.ts). */
  codeIndex: 'codes',
  rowPatterns: ['session:*', 'network:*', 'apitoken:*'],
};

/** Pub/sub channels on which an instance tells the others to forget their in-process copies. */
export const channels = {
  apiTokenForget: 'apitoken-forget',
  networkForget: 'network-forget',
  contractZoneForget: 'contract-zone-forget',
};
