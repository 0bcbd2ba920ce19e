// Store layer: the reads of the contracts table that token, session and portal use cases need
// (that a contract exists, its lock for generation, its time zone); src/store/contracts.ts owns
// the table otherwise. May import only src/store/db.ts.
import type { Queryable } from './db.js';

export async function contractExists(q: Queryable, contractId: string): Promise<boolean> {
  const { rowCount } = await q.query(`select 1 from contracts where id = $1::uuid`, [contractId]);
  return rowCount > 0;
}

/**
 * Locks the contract row for this transaction, so concurrent token requests of one contract queue
 * behind each other on every instance. False when there is no such contract.
 */
export async function lockContract(q: Queryable, contractId: string): Promise<boolean> {
  const { rowCount } = await q.query(`select id from contracts where id = $1::uuid for update`, [contractId]);
  return rowCount > 0;
}

/** The contract's IANA time zone; null when unset (the server default applies) or no such contract. */
export async function contractTimeZone(q: Queryable, contractId: string): Promise<string | null> {
  const { rows } = await q.query<{ time_zone: string | null }>(`select time_zone from contracts where id = $1::uuid`, [contractId]);
  return rows[0]?.time_zone ?? null;
}
