import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { Redis } from 'ioredis';
import tap, { type Test } from 'tap';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { openServices, type Services } from '../../src/services.js';
import type { PgliteSession } from '../../src/store/db.js';

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
   * Embedded, a real restart needs a KALITKA_DATA_DIR on disk (in memory, the file's PGlite stays up).
   */
  restart(old: Services): Promise<Services>;
}

/**
 * A fresh PGlite runs initdb (~4 s of CPU here); the cluster initdb made, saved once per PGlite
 * version in the temp dir, loads in under one. It is written aside and renamed into place, so a
 * file starting at the same time never reads half of it.
 */
async function bootPglite(): Promise<PGlite> {
  const pkg = path.join(path.dirname(fileURLToPath(import.meta.resolve('@electric-sql/pglite'))), '..', 'package.json');
  const { version } = JSON.parse(await readFile(pkg, 'utf8')) as { version: string };
  const saved = path.join(tmpdir(), `kalitka-test-pglite-${version}.tar`);
  const cluster = await readFile(saved).catch(() => null);
  if (cluster) return PGlite.create({ loadDataDir: new Blob([cluster]) });
  const db = await PGlite.create();
  await db.exec('checkpoint');
  const dump = await db.dumpDataDir('none');
  await writeFile(`${saved}.${process.pid}`, Buffer.from(await dump.arrayBuffer()));
  await rename(`${saved}.${process.pid}`, saved);
  return db;
}

let shared: Promise<PGlite> | null = null;

/** The in-memory PGlite of this test file (tap runs each file in its own process), booted once. */
function sharedPglite(): Promise<PGlite> {
  shared ??= bootPglite().then((db) => {
    tap.teardown(() => db.close());
    return db;
  });
  return shared;
}

let leased = false;

/**
 * A schema of its own in the file's PGlite for one test, as the Postgres setup has. PGlite is one
 * session, so the schema is chosen by `search_path` and only one test may hold it at a time: a
 * second env while one is open (a nested test) gets null and boots a PGlite of its own. Once
 * ended, the lease refuses queries, so work a closed instance left behind cannot reach the next
 * test's schema.
 */
async function leasePglite(schema: string): Promise<{ session: PgliteSession; end(): Promise<void> } | null> {
  if (leased) return null;
  leased = true;
  const db = await sharedPglite();
  await db.exec(`create schema ${schema}; set search_path to ${schema}`);
  let open = true;
  const guard = <F extends (...args: never[]) => Promise<unknown>>(fn: F) =>
    ((...args) => (open ? fn(...args) : Promise.reject(new Error(`the PGlite schema ${schema} was released`)))) as F;
  return {
    session: {
      query: guard<PGlite['query']>(db.query.bind(db)),
      exec: guard<PGlite['exec']>(db.exec.bind(db)),
      transaction: guard<PGlite['transaction']>(db.transaction.bind(db)),
    },
    async end() {
      open = false;
      await db.exec(`drop schema ${schema} cascade`);
      leased = false;
    },
  };
}

/**
 * Fresh stores for one test: its own Postgres schema (or a schema in the file's in-memory PGlite)
 * and its own Redis key prefix, removed again when the test ends.
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
  // Embedded in memory: a schema in the file's PGlite. A data dir on disk gets a PGlite of its own.
  const lease = !databaseUrl && config.dataDir === 'memory://' ? await leasePglite(schema) : null;
  const clock = new TestClock();
  const log = createLogger(config.logLevel);
  const opened: Services[] = [];
  const open = async () => {
    const svc = await openServices(config, log, { schema: databaseUrl ? schema : undefined, pglite: lease?.session, now: clock.now });
    opened.push(svc);
    return svc;
  };
  t.teardown(async () => {
    for (const s of opened) await s.close();
    await lease?.end();
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
  const svc = await open();
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
