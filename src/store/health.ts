// Store layer: one exported function per query, client first. Store modules import only
// src/store/db.ts and each other's row types.
import type { Queryable } from './db.js';

/** Answers when the database does (readiness). */
export async function pingStore(q: Queryable): Promise<void> {
  await q.query('select 1');
}
