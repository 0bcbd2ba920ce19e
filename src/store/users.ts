// Store layer: one exported function per query, client first, lowercase SQL with explicit casts,
// typed rows out. Store modules import only src/store/db.ts and each other's row types.
import type { Queryable } from './db.js';

export type UserRole = 'operator' | 'issuer';

export interface UserRow {
  id: string;
  login: string;
  contract_id: string | null;
  is_system: boolean;
  role: UserRole;
  token_login_allowed: boolean;
  created_at: Date;
}

const COLUMNS = 'u.id, u.login, u.contract_id, u.is_system, u.role, u.token_login_allowed, u.created_at';

export interface NewUserRow {
  login: string;
  passwordHash: string | null;
  contractId: string | null;
  isSystem: boolean;
  role: UserRole;
  tokenLoginAllowed: boolean;
  now: Date;
}

/** Raises unique_violation (23505) when the login is taken. */
export async function insertUser(q: Queryable, u: NewUserRow): Promise<UserRow> {
  const { rows } = await q.query<UserRow>(
    `insert into users as u (login, password_hash, contract_id, is_system, role, token_login_allowed, created_at)
     values ($1::text, $2::text, $3::uuid, $4::boolean, $5::text, $6::boolean, $7::timestamptz) returning ${COLUMNS}`,
    [u.login, u.passwordHash, u.contractId, u.isSystem, u.role, u.tokenLoginAllowed, u.now],
  );
  return rows[0];
}

/** The user with this id within `scope` (null = any contract, system administrators included). */
export async function findUser(q: Queryable, id: string, scope: string | null): Promise<UserRow | null> {
  const { rows } = await q.query<UserRow>(
    `select ${COLUMNS} from users u where u.id = $1::uuid and ($2::uuid is null or u.contract_id = $2::uuid)`,
    [id, scope],
  );
  return rows[0] ?? null;
}

export async function listUsers(q: Queryable, scope: string | null): Promise<UserRow[]> {
  const { rows } = await q.query<UserRow>(
    `select ${COLUMNS} from users u where $1::uuid is null or u.contract_id = $1::uuid order by u.created_at, u.login collate "C"`,
    [scope],
  );
  return rows;
}

/** Every user with their contract's name, system administrators first (the panel's list). */
export async function listUsersWithContracts(q: Queryable): Promise<Array<UserRow & { contract_name: string | null }>> {
  const { rows } = await q.query<UserRow & { contract_name: string | null }>(
    `select ${COLUMNS}, c.name as contract_name
       from users u left join contracts c on c.id = u.contract_id
      order by u.is_system desc, c.name nulls first, u.login collate "C"`,
  );
  return rows;
}

/** A user signing in to the panel, with their password hash; operators of a disabled contract are not found. */
export async function findUserForLogin(q: Queryable, login: string): Promise<(UserRow & { password_hash: string | null }) | null> {
  const { rows } = await q.query<UserRow & { password_hash: string | null }>(
    `select ${COLUMNS}, u.password_hash from users u left join contracts c on c.id = u.contract_id
      where u.login = $1::text and c.disabled_at is null`,
    [login],
  );
  return rows[0] ?? null;
}

export interface UserChangeRow {
  passwordHash?: string;
  tokenLoginAllowed?: boolean;
  role?: UserRole;
}

export async function updateUser(q: Queryable, id: string, change: UserChangeRow): Promise<UserRow> {
  const { rows } = await q.query<UserRow>(
    `update users u
        set password_hash = coalesce($2::text, password_hash),
            token_login_allowed = coalesce($3::boolean, token_login_allowed),
            role = coalesce($4::text, role)
      where u.id = $1::uuid returning ${COLUMNS}`,
    [id, change.passwordHash ?? null, change.tokenLoginAllowed ?? null, change.role ?? null],
  );
  return rows[0];
}

/**
 * Deletes the user (their API tokens and panel sessions go with them); returns those tokens'
 * hashes, or null when there was no such user. The select sees the rows as the statement began.
 */
export async function deleteUser(q: Queryable, id: string): Promise<string[] | null> {
  const { rows } = await q.query<{ hash: string | null }>(
    `with gone as (delete from users where id = $1::uuid returning id)
     select t.hash from gone left join api_tokens t on t.user_id = gone.id`,
    [id],
  );
  if (rows.length === 0) return null;
  return rows.flatMap((r) => (r.hash ? [r.hash] : []));
}

export async function anySystemUser(q: Queryable): Promise<boolean> {
  const { rowCount } = await q.query(`select 1 from users where is_system limit 1`);
  return rowCount > 0;
}

/** The bootstrap `admin`; null when another instance made it first (the unique login decides). */
export async function insertBootstrapAdmin(q: Queryable, input: { passwordHash: string | null; now: Date }): Promise<UserRow | null> {
  const { rows } = await q.query<UserRow>(
    `insert into users as u (login, password_hash, is_system, created_at) values ('admin', $1::text, true, $2::timestamptz)
     on conflict (login) do nothing returning ${COLUMNS}`,
    [input.passwordHash, input.now],
  );
  return rows[0] ?? null;
}
