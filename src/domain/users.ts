import { conflict, forbidden, notFound, unprocessable } from '../errors.js';
import type { Queryable } from '../store/db.js';
import { sqlState } from '../store/db.js';
import type { Services } from '../services.js';
import { createApiToken, forgetUserTokens } from './apiTokens.js';
import { hashPassword } from './passwords.js';

export interface User {
  id: string;
  login: string;
  contractId: string | null;
  isSystem: boolean;
  tokenLoginAllowed: boolean;
  createdAt: string;
}

interface UserRow {
  id: string;
  login: string;
  contract_id: string | null;
  is_system: boolean;
  token_login_allowed: boolean;
  created_at: Date;
}

export const toUser = (r: UserRow): User => ({
  id: r.id,
  login: r.login,
  contractId: r.contract_id,
  isSystem: r.is_system,
  tokenLoginAllowed: r.token_login_allowed,
  createdAt: r.created_at.toISOString(),
});

export interface NewUser {
  login: string;
  password: string | null;
  contractId: string | null;
  isSystem: boolean;
  tokenLoginAllowed: boolean;
  now: Date;
}

export const LOGIN_PATTERN = /^[A-Za-z0-9._@-]{3,64}$/;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 200;

export function checkLogin(login: string): void {
  if (!LOGIN_PATTERN.test(login)) {
    throw unprocessable('INVALID_LOGIN', 'A login is 3 to 64 characters of A-Z, a-z, 0-9 and . _ @ -');
  }
}

export function checkPassword(password: string): void {
  const length = [...password].length;
  if (length < PASSWORD_MIN || length > PASSWORD_MAX) {
    throw unprocessable('INVALID_PASSWORD', `A password is ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`);
  }
}

export async function createUser(q: Queryable, input: NewUser): Promise<User> {
  checkLogin(input.login);
  if (input.password !== null) checkPassword(input.password);
  if (input.contractId) {
    const c = await q.query(`select 1 from contracts where id = $1::uuid`, [input.contractId]);
    if (c.rowCount === 0) throw notFound('Contract');
  }
  try {
    const { rows } = await q.query<UserRow>(
      `insert into users (login, password_hash, contract_id, is_system, token_login_allowed, created_at)
       values ($1::text, $2::text, $3::uuid, $4::boolean, $5::boolean, $6::timestamptz) returning *`,
      [
        input.login,
        input.password === null ? null : await hashPassword(input.password),
        input.contractId,
        input.isSystem,
        input.tokenLoginAllowed,
        input.now,
      ],
    );
    return toUser(rows[0]);
  } catch (err) {
    if (sqlState(err) === '23505') throw conflict('LOGIN_TAKEN', `The login "${input.login}" is taken`);
    throw err;
  }
}

/** `scope` is the caller's contract (null for a system administrator): others' users are a 404. */
export async function findUser(q: Queryable, id: string, scope: string | null): Promise<User> {
  const { rows } = await q.query<UserRow>(
    `select * from users where id = $1::uuid and ($2::uuid is null or contract_id = $2::uuid)`,
    [id, scope],
  );
  if (!rows[0]) throw notFound('User');
  return toUser(rows[0]);
}

export async function listUsers(q: Queryable, scope: string | null): Promise<User[]> {
  const { rows } = await q.query<UserRow>(
    `select * from users where $1::uuid is null or contract_id = $1::uuid order by created_at, login collate "C"`,
    [scope],
  );
  return rows.map(toUser);
}

export interface UserChange {
  id: string;
  scope: string | null;
  /** Whether a system administrator asks: only they may allow or forbid token login. */
  bySystem: boolean;
  password?: string;
  tokenLoginAllowed?: boolean;
}

/**
 * Sets a new password and/or token-login permission. When the permission changes, every instance's
 * cached lookup of the user's tokens is dropped, so the next request is answered from Postgres.
 */
export async function updateUser(svc: Pick<Services, 'db' | 'cache'>, change: UserChange): Promise<User> {
  const before = await findUser(svc.db, change.id, change.scope);
  if (change.tokenLoginAllowed !== undefined && !change.bySystem) {
    throw forbidden('Only a system administrator may allow or forbid token login');
  }
  if (change.password !== undefined) checkPassword(change.password);
  const { rows } = await svc.db.query<UserRow>(
    `update users
        set password_hash = coalesce($2::text, password_hash),
            token_login_allowed = coalesce($3::boolean, token_login_allowed)
      where id = $1::uuid returning *`,
    [before.id, change.password === undefined ? null : await hashPassword(change.password), change.tokenLoginAllowed ?? null],
  );
  const after = toUser(rows[0]);
  if (after.tokenLoginAllowed !== before.tokenLoginAllowed) await forgetUserTokens(svc, after.id, after.tokenLoginAllowed);
  return after;
}

export async function findUserByLogin(q: Queryable, login: string): Promise<(User & { passwordHash: string | null }) | null> {
  const { rows } = await q.query<UserRow & { password_hash: string | null }>(`select * from users where login = $1::text`, [login]);
  return rows[0] ? { ...toUser(rows[0]), passwordHash: rows[0].password_hash } : null;
}

/**
 * On a store with no system administrator, creates `admin` with the configured API token (or a
 * generated one, returned so the caller prints it once). Instances starting together race on the
 * unique login; only the winner makes the token.
 */
export async function bootstrapAdmin(svc: Pick<Services, 'db' | 'secret' | 'config' | 'cache'>, now: Date): Promise<{ login: string; token: string; generated: boolean } | null> {
  const exists = await svc.db.query(`select 1 from users where is_system limit 1`);
  if (exists.rowCount) return null;
  const { rows } = await svc.db.query<UserRow>(
    `insert into users (login, password_hash, is_system, created_at) values ('admin', $1::text, true, $2::timestamptz)
     on conflict (login) do nothing returning *`,
    [svc.config.adminPassword ? await hashPassword(svc.config.adminPassword) : null, now],
  );
  if (!rows[0]) return null;
  const made = await createApiToken(svc, {
    userId: rows[0].id,
    label: 'bootstrap',
    now,
    token: svc.config.adminToken ?? undefined,
  });
  return { login: 'admin', token: made.token, generated: svc.config.adminToken === null };
}
