// A contract's name and time zone, for the exports that show times in it (slips, the CSV log).
// One query per function, client first. Belongs with the other contract queries once
// src/store/contracts.ts exists.
import type { Queryable } from './db.js';

export interface ContractZoneRow {
  id: string;
  name: string;
  /** IANA name; null on contracts that never chose one (the server's default applies). */
  time_zone: string | null;
}

export async function findContractZone(q: Queryable, id: string): Promise<ContractZoneRow | null> {
  const { rows } = await q.query<ContractZoneRow>(
    'select id, name, time_zone from contracts where id = $1::uuid',
    [id],
  );
  return rows[0] ?? null;
}
