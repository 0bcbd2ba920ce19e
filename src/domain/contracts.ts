import { notFound } from '../errors.js';
import type { Queryable } from '../store/db.js';
import { countUnused, UNUSED_TOKEN_LIMIT } from './tokens.js';

export interface Contract {
  id: string;
  name: string;
  createdAt: string;
  unusedTokens: number;
  unusedTokenLimit: number;
}

interface ContractRow {
  id: string;
  name: string;
  created_at: Date;
}

async function withCounts(q: Queryable, r: ContractRow): Promise<Contract> {
  return {
    id: r.id,
    name: r.name,
    createdAt: r.created_at.toISOString(),
    unusedTokens: await countUnused(q, r.id),
    unusedTokenLimit: UNUSED_TOKEN_LIMIT,
  };
}

export async function createContract(q: Queryable, input: { name: string; now: Date }): Promise<Contract> {
  const { rows } = await q.query<ContractRow>(
    `insert into contracts (name, created_at) values ($1::text, $2::timestamptz) returning *`,
    [input.name, input.now],
  );
  return withCounts(q, rows[0]);
}

/** `scope` is the caller's contract (null for a system administrator): another one's is a 404. */
export async function findContract(q: Queryable, id: string, scope: string | null): Promise<Contract> {
  if (scope !== null && scope !== id) throw notFound('Contract');
  const { rows } = await q.query<ContractRow>(`select * from contracts where id = $1::uuid`, [id]);
  if (!rows[0]) throw notFound('Contract');
  return withCounts(q, rows[0]);
}

export async function listContracts(q: Queryable, scope: string | null): Promise<Contract[]> {
  const { rows } = await q.query<ContractRow>(
    `select * from contracts where $1::uuid is null or id = $1::uuid order by created_at, id`,
    [scope],
  );
  return Promise.all(rows.map((r) => withCounts(q, r)));
}
