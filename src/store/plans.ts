// Store layer: one function per query on the plans table (named presets of a contract's tokens),
// client first, typed rows out; no rules. May import only src/store/db.ts.
import type { Queryable } from './db.js';

export interface PlanRow {
  id: string;
  contract_id: string;
  name: string;
  multi_use: boolean;
  duration_days: number | null;
  down_kbps: number | null;
  up_kbps: number | null;
  quota_mb: number | null;
  max_devices: number | null;
  created_at: Date;
}

export interface PlanValues {
  name: string;
  multiUse: boolean;
  durationDays: number | null;
  downKbps: number | null;
  upKbps: number | null;
  quotaMb: number | null;
  maxDevices: number | null;
}

const numeric = (r: PlanRow): PlanRow => (r.quota_mb === null || typeof r.quota_mb === 'number' ? r : { ...r, quota_mb: Number(r.quota_mb) });

export async function listPlans(q: Queryable, contractId: string): Promise<PlanRow[]> {
  const { rows } = await q.query<PlanRow>(`select * from plans where contract_id = $1::uuid order by lower(name), id`, [contractId]);
  return rows.map(numeric);
}

/** A plan of this contract (`contractId` null: of any contract); else null. */
export async function findPlan(q: Queryable, contractId: string | null, id: string): Promise<PlanRow | null> {
  const { rows } = await q.query<PlanRow>(
    `select * from plans where id = $1::uuid and ($2::uuid is null or contract_id = $2::uuid)`,
    [id, contractId],
  );
  return rows[0] ? numeric(rows[0]) : null;
}

/** Raises unique_violation (23505) when the contract has a plan of this name (case-insensitive). */
export async function insertPlan(q: Queryable, contractId: string, p: PlanValues, now: Date): Promise<PlanRow | null> {
  const { rows } = await q.query<PlanRow>(
    `insert into plans (contract_id, name, multi_use, duration_days, down_kbps, up_kbps, quota_mb, max_devices, created_at)
     select $1::uuid, $2::text, $3::boolean, $4::int, $5::int, $6::int, $7::bigint, $8::int, $9::timestamptz
      where exists (select 1 from contracts where id = $1::uuid)
     returning *`,
    [contractId, p.name, p.multiUse, p.durationDays, p.downKbps, p.upKbps, p.quotaMb, p.maxDevices, now],
  );
  return rows[0] ? numeric(rows[0]) : null;
}

/** Raises unique_violation (23505) when another plan of the contract has this name. */
export async function updatePlan(q: Queryable, id: string, p: PlanValues): Promise<PlanRow> {
  const { rows } = await q.query<PlanRow>(
    `update plans set name = $2::text, multi_use = $3::boolean, duration_days = $4::int, down_kbps = $5::int,
            up_kbps = $6::int, quota_mb = $7::bigint, max_devices = $8::int
      where id = $1::uuid returning *`,
    [id, p.name, p.multiUse, p.durationDays, p.downKbps, p.upKbps, p.quotaMb, p.maxDevices],
  );
  return numeric(rows[0]);
}

export async function deletePlan(q: Queryable, id: string): Promise<void> {
  await q.query(`delete from plans where id = $1::uuid`, [id]);
}
