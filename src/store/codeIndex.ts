// Store layer: what the index of known codes needs from PostgreSQL (see src/domain/codeIndex.ts).
// May import only src/store/db.ts and other store modules.
import type { Db, Queryable } from './db.js';

// One lock per schema (tests share a database): generation holds it shared, a rebuild waits for it.
const LOCK = `hashtext(current_schema() || ':kalitka-code-index')`;

/** Taken by a generating transaction before its codes go to the index; held until it ends. */
export async function holdCodeIndexShared(q: Queryable): Promise<void> {
  await q.query(`select pg_advisory_xact_lock_shared(${LOCK})`);
}

/**
 * Waits until every transaction that holds the lock shared now has ended (committed or rolled
 * back); later ones queue behind this, which takes and releases it at once.
 */
export async function waitForGenerations(db: Db): Promise<void> {
  await db.tx(async (q) => {
    await q.query(`select pg_advisory_xact_lock(${LOCK})`);
  });
}

/** Every code in the tokens table after `after`, in order, at most `limit`. */
export async function codesAfter(q: Queryable, after: string, limit: number): Promise<string[]> {
  const { rows } = await q.query<{ code: string }>(
    `select distinct code from tokens where code > $1 order by code limit $2`,
    [after, limit],
  );
  return rows.map((r) => r.code);
}
