// Store layer: one exported function per query, client first, lowercase SQL with explicit casts,
// typed rows out. Store modules import only src/store/db.ts and each other's row types; the rules
// (who may see what, bounds) live in src/domain.
import type { Queryable } from './db.js';

export interface ContractRow {
  id: string;
  name: string;
  time_zone: string | null;
  disabled_at: Date | null;
  created_at: Date;
  /** Unused tokens it holds now (counted in the same query). */
  unused_tokens: number;
}

const WITH_COUNT = `select c.id, c.name, c.time_zone, c.disabled_at, c.created_at,
  (select count(*) from tokens t where t.contract_id = c.id and t.status = 'unused')::int as unused_tokens
  from contracts c`;

export async function insertContract(q: Queryable, input: { name: string; timeZone: string | null; now: Date }): Promise<ContractRow> {
  const { rows } = await q.query<ContractRow>(
    `insert into contracts (name, time_zone, created_at) values ($1::text, $2::text, $3::timestamptz)
     returning id, name, time_zone, disabled_at, created_at, 0 as unused_tokens`,
    [input.name, input.timeZone, input.now],
  );
  return rows[0];
}

/** The contract with this id within `scope` (null = any contract). */
export async function findContract(q: Queryable, id: string, scope: string | null): Promise<ContractRow | null> {
  const { rows } = await q.query<ContractRow>(`${WITH_COUNT} where c.id = $1::uuid and ($2::uuid is null or c.id = $2::uuid)`, [id, scope]);
  return rows[0] ?? null;
}

/** Whether it exists, without counting anything: the cheap check before acting on a contract. */
export async function contractExists(q: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await q.query(`select 1 from contracts where id = $1::uuid`, [id]);
  return rowCount > 0;
}

export async function listContracts(q: Queryable, scope: string | null): Promise<ContractRow[]> {
  const { rows } = await q.query<ContractRow>(`${WITH_COUNT} where $1::uuid is null or c.id = $1::uuid order by c.created_at, c.id`, [scope]);
  return rows;
}

export interface ContractChange {
  name?: string;
  /** null = back to the server's default zone. */
  timeZone?: string | null;
  disabled?: boolean;
}

/** Applies the fields given; returns the contract's id, or null when there is no such contract. */
export async function updateContract(q: Queryable, id: string, change: ContractChange, now: Date): Promise<string | null> {
  const { rows } = await q.query<{ id: string }>(
    `update contracts
        set name = coalesce($2::text, name),
            time_zone = case when $3::boolean then $4::text else time_zone end,
            disabled_at = case when $5::boolean is null then disabled_at
                               when $5::boolean then coalesce(disabled_at, $6::timestamptz)
                               else null end
      where id = $1::uuid
      returning id`,
    [id, change.name ?? null, change.timeZone !== undefined, change.timeZone ?? null, change.disabled ?? null, now],
  );
  return rows[0]?.id ?? null;
}
