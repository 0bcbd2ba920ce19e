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

export interface RadiusAttribute {
  attribute: string;
  value: string;
}

/** kalitka_limit_attributes (src/store/functions/35_limit_attributes.sql): a session's limits as RADIUS attributes of its NAS kind. */
export async function limitAttributes(
  q: Queryable,
  l: { controller: string; downKbps: number | null; upKbps: number | null; bytes: number | null },
): Promise<RadiusAttribute[]> {
  const { rows } = await q.query<RadiusAttribute>(
    `select attribute, value from kalitka_limit_attributes($1::text, $2::int, $3::int, $4::bigint)`,
    [l.controller, l.downKbps, l.upKbps, l.bytes],
  );
  return rows;
}
