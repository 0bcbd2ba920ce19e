// Store layer: what RADIUS answers need beyond sessions (the network a NAS names). May import only
// src/store/db.ts.
import type { Queryable } from './db.js';

/** Ids of the networks (at most two, oldest first) whose `nasIdentifier` setting is this name. */
export async function networkIdsByNasIdentifier(q: Queryable, nasIdentifier: string, contractId: string | null): Promise<string[]> {
  const { rows } = await q.query<{ id: string }>(
    `select id from networks
      where settings ->> 'nasIdentifier' = $1::text and ($2::uuid is null or contract_id = $2::uuid)
      order by created_at, id
      limit 2`,
    [nasIdentifier, contractId],
  );
  return rows.map((r) => r.id);
}
