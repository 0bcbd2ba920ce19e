import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { lockDataDir } from './lock.js';

export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

/** What every store function takes: a pool, a PGlite instance, or a transaction on either. */
export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>>;
  /** Runs several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** One transaction; rolled back when `fn` throws. */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

// int8 (count(*) and bigserial ids) fits a JS number everywhere we use it.
pg.types.setTypeParser(20, (v) => Number(v));

export interface PostgresOptions {
  /** Tests give each run its own schema; production uses the default search_path. */
  schema?: string;
  max?: number;
}

export function openPostgres(url: string, options: PostgresOptions = {}): Db {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    connectionTimeoutMillis: 5_000,
    options: options.schema ? `-c search_path=${options.schema}` : undefined,
  });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', () => {});
  return {
    kind: 'postgres',
    async query(sql, params) {
      const res = await pool.query(sql, params as unknown[]);
      return { rows: res.rows, rowCount: res.rowCount ?? 0 };
    },
    async exec(sql) {
      await pool.query(sql);
    },
    async tx(fn) {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query('begin');
        const result = await fn({
          async query(sql, params) {
            const res = await client.query(sql, params as unknown[]);
            return { rows: res.rows, rowCount: res.rowCount ?? 0 };
          },
          async exec(sql) {
            await client.query(sql);
          },
        });
        await client.query('commit');
        return result;
      } catch (err) {
        await client.query('rollback').catch(() => {
          broken = true;
        });
        throw err;
      } finally {
        client.release(broken);
      }
    },
    async close() {
      await pool.end();
    },
  };
}

/** What `openPglite` needs of a PGlite: tests lend one they share across a file (a schema each). */
export type PgliteSession = Pick<PGlite, 'query' | 'exec' | 'transaction'>;

/** Opens the embedded store, or uses `lent` (left open on close: its owner closes it). */
export async function openPglite(dataDir: string, lent?: PgliteSession): Promise<Db> {
  const lock = lent || dataDir === 'memory://' ? null : lockDataDir(dataDir); // one process per directory
  const owned = lent
    ? undefined
    : await PGlite.create(dataDir === 'memory://' ? undefined : dataDir).catch((err) => {
        lock?.release();
        throw err;
      });
  const db: PgliteSession = lent ?? owned!;
  const wrap = (q: Pick<PGlite, 'query' | 'exec'>): Queryable => ({
    async query(sql, params) {
      const res = await q.query(sql, params as unknown[]);
      return { rows: res.rows as never[], rowCount: Math.max(res.affectedRows ?? 0, res.rows.length) };
    },
    async exec(sql) {
      await q.exec(sql);
    },
  });
  const top = wrap(db);
  return {
    kind: 'pglite',
    query: top.query,
    exec: top.exec,
    tx: (fn) => db.transaction((tx) => fn(wrap(tx))),
    async close() {
      await owned?.close();
      lock?.release();
    },
  };
}

const RETRYABLE = new Set(['40001', '40P01', '23505']);

/** SQLSTATE of a driver error, if any. */
export function sqlState(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

/**
 * Runs `fn` again when it lost a race the database caught for us (unique violation on a partial
 * index, serialization failure, deadlock): the next run sees the winner's state.
 */
export async function retryRaces<T>(fn: () => Promise<T>, attempts = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !RETRYABLE.has(sqlState(err) ?? '')) throw err;
    }
  }
}

/** A transaction, run again when it lost a race (see `retryRaces`). */
export const txRetry = <T>(db: Db, fn: (q: Queryable) => Promise<T>, attempts = 4): Promise<T> =>
  retryRaces(() => db.tx(fn), attempts);
