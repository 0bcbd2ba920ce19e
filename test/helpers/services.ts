import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';
import type { Test } from 'tap';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { openServices, type Services } from '../../src/services.js';

/** Which setup this run exercises: real servers when DATABASE_URL/REDIS_URL are set, else embedded. */
export const setup = {
  databaseUrl: process.env.DATABASE_URL || null,
  redisUrl: process.env.REDIS_URL || null,
};
export const usingServers = setup.databaseUrl !== null;

/** A clock tests move by hand: time is injected, never slept through. */
export class TestClock {
  constructor(public current = new Date('2026-11-23T10:00:00.000Z')) {}
  now = () => new Date(this.current);
  advance(ms: number) {
    this.current = new Date(this.current.getTime() + ms);
  }
  set(at: Date | string) {
    this.current = new Date(at);
  }
}

export const DAY = 86_400_000;

export interface TestEnv {
  svc: Services;
  clock: TestClock;
  config: Config;
  /** Opens another instance on the same stores (a second server behind the load balancer). */
  another(): Promise<Services>;
  /**
   * Closes an instance as a crash or restart would and opens a new one on the same stores.
   * Embedded, this needs a KALITKA_DATA_DIR on disk (memory:// keeps nothing).
   */
  restart(old: Services): Promise<Services>;
}

/**
 * Fresh stores for one test: its own Postgres schema (or an in-memory PGlite) and its own Redis
 * key prefix, removed again when the test ends.
 */
export async function testEnv(t: Test, env: Record<string, string> = {}): Promise<TestEnv> {
  const id = randomBytes(6).toString('hex');
  const schema = `t_${id}`;
  const config = loadConfig({
    KALITKA_DATA_DIR: 'memory://',
    ...(setup.databaseUrl ? { DATABASE_URL: setup.databaseUrl } : {}),
    ...(setup.redisUrl ? { REDIS_URL: setup.redisUrl } : {}),
    KALITKA_REDIS_PREFIX: `kalitka-test:${id}:`,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    KALITKA_SECRET: 'test-secret-test-secret-test-secret-0123',
    ...env,
  });
  // A test may point DATABASE_URL elsewhere (a cluster of its own): the schema goes where the app goes.
  const databaseUrl = config.databaseUrl;
  if (databaseUrl) {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    await client.query(`create schema ${schema}`);
    await client.end();
  }
  const clock = new TestClock();
  const log = createLogger(config.logLevel);
  const opened: Services[] = [];
  const open = async () => {
    const svc = await openServices(config, log, { schema: databaseUrl ? schema : undefined, now: clock.now });
    opened.push(svc);
    return svc;
  };
  const svc = await open();
  t.teardown(async () => {
    for (const s of opened) await s.close();
    if (databaseUrl) {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect().catch(() => null);
      await client.query(`drop schema if exists ${schema} cascade`).catch(() => null); // a private cluster may be gone already
      await client.end().catch(() => null);
    }
    if (setup.redisUrl) {
      const redis = new Redis(setup.redisUrl);
      const found = await redis.keys(`${config.redisPrefix}*`);
      if (found.length) await redis.del(...found);
      redis.disconnect();
    }
  });
  return {
    svc,
    clock,
    config,
    async restart(old) {
      opened.splice(opened.indexOf(old), 1);
      await old.close();
      return open();
    },
    async another() {
      // Embedded PGlite is one process's store: a second instance only exists with real servers.
      if (!databaseUrl) return svc;
      return open();
    },
  };
}
