// Store layer: one exported function per query, client first, lowercase SQL with explicit casts,
// typed rows out. Store modules import only src/store/db.ts and each other's row types.
import type { Queryable } from './db.js';
import type { UserRole } from './users.js';

/** A live API token's owner, as authentication needs it (and as the caches keep it). */
export interface ApiTokenOwner {
  tokenId: string;
  hash: string;
  userId: string;
  login: string;
  contractId: string | null;
  isSystem: boolean;
  role: UserRole;
  /** False when the user may not log in by token, or their contract is disabled. */
  allowed: boolean;
}

export async function findApiTokenOwner(q: Queryable, hash: string): Promise<ApiTokenOwner | null> {
  const { rows } = await q.query<{
    id: string; hash: string; user_id: string; login: string; contract_id: string | null; is_system: boolean; role: UserRole; allowed: boolean;
  }>(
    `select t.id, t.hash, u.id as user_id, u.login, u.contract_id, u.is_system, u.role,
            u.token_login_allowed and c.disabled_at is null as allowed
       from api_tokens t join users u on u.id = t.user_id left join contracts c on c.id = u.contract_id
      where t.hash = $1::text and t.revoked_at is null`,
    [hash],
  );
  const r = rows[0];
  return r
    ? { tokenId: r.id, hash: r.hash, userId: r.user_id, login: r.login, contractId: r.contract_id, isSystem: r.is_system, role: r.role, allowed: r.allowed }
    : null;
}

/** Last access, at most once a minute per token however many instances write it. */
export async function touchApiToken(q: Queryable, tokenId: string, now: Date): Promise<void> {
  await q.query(
    `update api_tokens set last_used_at = $2::timestamptz
      where id = $1::uuid and (last_used_at is null or last_used_at <= $2::timestamptz - interval '1 minute')`,
    [tokenId, now],
  );
}

export interface ApiTokenRow {
  id: string;
  label: string;
  last_used_at: Date | null;
  created_at: Date;
}

/** Raises unique_violation (23505) when the user has a live token with this label. */
export async function insertApiToken(q: Queryable, input: { userId: string; label: string; hash: string; now: Date }): Promise<ApiTokenRow> {
  const { rows } = await q.query<ApiTokenRow>(
    `insert into api_tokens (user_id, label, hash, created_at) values ($1::uuid, $2::text, $3::text, $4::timestamptz)
     returning id, label, last_used_at, created_at`,
    [input.userId, input.label, input.hash, input.now],
  );
  return rows[0];
}

export async function listApiTokens(q: Queryable, userId: string): Promise<ApiTokenRow[]> {
  const { rows } = await q.query<ApiTokenRow>(
    `select id, label, last_used_at, created_at from api_tokens
      where user_id = $1::uuid and revoked_at is null order by created_at, id`,
    [userId],
  );
  return rows;
}

/** Revokes one of the user's live tokens; returns its hash, or null when there is none. */
export async function revokeApiToken(q: Queryable, input: { userId: string; tokenId: string; now: Date }): Promise<string | null> {
  const { rows } = await q.query<{ hash: string }>(
    `update api_tokens set revoked_at = $3::timestamptz
      where id = $1::uuid and user_id = $2::uuid and revoked_at is null returning hash`,
    [input.tokenId, input.userId, input.now],
  );
  return rows[0]?.hash ?? null;
}

export async function apiTokenHashesOfUser(q: Queryable, userId: string): Promise<string[]> {
  const { rows } = await q.query<{ hash: string }>(`select hash from api_tokens where user_id = $1::uuid`, [userId]);
  return rows.map((r) => r.hash);
}

export async function apiTokenHashesOfContract(q: Queryable, contractId: string): Promise<string[]> {
  const { rows } = await q.query<{ hash: string }>(
    `select t.hash from api_tokens t join users u on u.id = t.user_id where u.contract_id = $1::uuid`,
    [contractId],
  );
  return rows.map((r) => r.hash);
}
