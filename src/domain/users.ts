// Domain layer: users (system administrators, operators, issuers). Use cases take narrow deps and
// the acting principal; they may import src/store, src/cache and errors, never src/http.
import type { Cache } from '../cache/cache.js';
import type { LocalCaches } from '../cache/local.js';
import { conflict, forbidden, notFound, unprocessable } from '../errors.js';
import type { Queryable } from '../store/db.js';
import { sqlState } from '../store/db.js';
import { contractExists } from '../store/contracts.js';
import * as store from '../store/users.js';
import { requireOperator, requireSystem, scopeOf, USER_ROLES, type Principal, type UserRole } from './actor.js';
import { createApiToken, forgetLookups, forgetUserTokens } from './apiTokens.js';
import { isUuid } from './bounds.js';
import { hashPassword } from './passwords.js';

export interface User {
  id: string;
  login: string;
  contractId: string | null;
  isSystem: boolean;
  role: UserRole;
  tokenLoginAllowed: boolean;
  createdAt: string;
}

export interface UserDeps {
  db: Queryable;
  cache: Cache;
  local: Pick<LocalCaches, 'apiTokens'>;
}

export const toUser = (r: store.UserRow): User => ({
  id: r.id,
  login: r.login,
  contractId: r.contract_id,
  isSystem: r.is_system,
  role: r.role,
  tokenLoginAllowed: r.token_login_allowed,
  createdAt: r.created_at.toISOString(),
});

/** Who a signed-in user acts as (the panel's actor; an API token's is made by authenticate). */
export const principalOfUser = (u: User, tokenId: string | null = null): Principal => ({
  userId: u.id,
  login: u.login,
  contractId: u.contractId,
  isSystem: u.isSystem,
  role: u.role,
  tokenId,
});

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

function checkRole(role: UserRole, isSystem: boolean): void {
  if (!USER_ROLES.includes(role)) throw unprocessable('INVALID_ROLE', `A role is one of ${USER_ROLES.join(', ')}`);
  if (isSystem && role !== 'operator') throw unprocessable('INVALID_ROLE', 'A system administrator is always an operator');
}

export interface NewUser {
  login: string;
  /** Null: no panel password (API tokens only). */
  password: string | null;
  /** Null makes a system administrator. */
  contractId: string | null;
  role?: UserRole;
  tokenLoginAllowed?: boolean;
  now: Date;
}

/**
 * System administrators create anyone; an operator creates users of its own contract only (403
 * elsewhere) and may not allow token login; issuers manage no users.
 */
export async function createUser(deps: Pick<UserDeps, 'db'>, actor: Principal, input: NewUser): Promise<User> {
  requireOperator(actor, 'User');
  const isSystem = input.contractId === null;
  const role = input.role ?? 'operator';
  const tokenLoginAllowed = input.tokenLoginAllowed ?? false;
  if (isSystem) requireSystem(actor);
  if (!actor.isSystem && input.contractId !== actor.contractId) throw forbidden('Operators may create users only in their own contract');
  if (tokenLoginAllowed && !actor.isSystem) throw forbidden('Only a system administrator may allow token login');
  checkLogin(input.login);
  if (input.password !== null) checkPassword(input.password);
  checkRole(role, isSystem);
  if (input.contractId !== null && !(isUuid(input.contractId) && (await contractExists(deps.db, input.contractId)))) throw notFound('Contract');
  try {
    const row = await store.insertUser(deps.db, {
      login: input.login,
      passwordHash: input.password === null ? null : await hashPassword(input.password),
      contractId: input.contractId,
      isSystem,
      role,
      tokenLoginAllowed,
      now: input.now,
    });
    return toUser(row);
  } catch (err) {
    if (sqlState(err) === '23505') throw conflict('LOGIN_TAKEN', `The login "${input.login}" is taken`);
    throw err;
  }
}

/** A user the actor may manage; another contract's is NOT_FOUND like a missing one. */
export async function getUser(deps: Pick<UserDeps, 'db'>, actor: Principal, id: string): Promise<User> {
  requireOperator(actor, 'User');
  const row = await store.findUser(deps.db, id, scopeOf(actor));
  if (!row) throw notFound('User');
  return toUser(row);
}

export async function listUsers(deps: Pick<UserDeps, 'db'>, actor: Principal): Promise<User[]> {
  requireOperator(actor, 'User');
  return (await store.listUsers(deps.db, scopeOf(actor))).map(toUser);
}

/** Every user with their contract's name: the panel's list, for system administrators. */
export async function listAllUsers(deps: Pick<UserDeps, 'db'>, actor: Principal): Promise<Array<User & { contractName: string | null }>> {
  requireSystem(actor);
  return (await store.listUsersWithContracts(deps.db)).map((r) => ({ ...toUser(r), contractName: r.contract_name }));
}

export interface UserChange {
  password?: string;
  /** Only a system administrator may allow or forbid token login. */
  tokenLoginAllowed?: boolean;
  role?: UserRole;
}

/**
 * Sets a new password, token-login permission and/or role. When who may log in or what they may
 * do changes, every instance's cached lookup of the user's tokens is dropped, so the next request
 * is answered from Postgres.
 */
export async function updateUser(deps: UserDeps, actor: Principal, id: string, change: UserChange): Promise<User> {
  const before = await getUser(deps, actor, id);
  if (change.tokenLoginAllowed !== undefined && !actor.isSystem) {
    throw forbidden('Only a system administrator may allow or forbid token login');
  }
  if (change.password !== undefined) checkPassword(change.password);
  if (change.role !== undefined) checkRole(change.role, before.isSystem);
  const after = toUser(
    await store.updateUser(deps.db, before.id, {
      passwordHash: change.password === undefined ? undefined : await hashPassword(change.password),
      tokenLoginAllowed: change.tokenLoginAllowed,
      role: change.role,
    }),
  );
  if (after.tokenLoginAllowed !== before.tokenLoginAllowed || after.role !== before.role) {
    await forgetUserTokens(deps, after.id, after.tokenLoginAllowed);
  }
  return after;
}

/** Deletes a user: their API tokens get 401 at once on every instance, their panel sessions end. */
export async function deleteUser(deps: UserDeps, actor: Principal, id: string): Promise<void> {
  const user = await getUser(deps, actor, id);
  if (user.id === actor.userId) throw unprocessable('CANNOT_DELETE_SELF', 'You cannot delete yourself; ask another administrator');
  const hashes = await store.deleteUser(deps.db, user.id);
  if (hashes === null) throw notFound('User');
  await forgetLookups(deps, hashes, 'refuse');
}

/** The user signing in with this login, with their password hash; null when there is none to sign in. */
export async function findUserByLogin(deps: Pick<UserDeps, 'db'>, login: string): Promise<(User & { passwordHash: string | null }) | null> {
  const row = await store.findUserForLogin(deps.db, login);
  return row ? { ...toUser(row), passwordHash: row.password_hash } : null;
}

/**
 * On a store with no system administrator, creates `admin` with the configured API token (or a
 * generated one, returned so the caller prints it once). Instances starting together race on the
 * unique login; only the winner makes the token.
 */
export async function bootstrapAdmin(
  deps: UserDeps & { secret: Buffer; local: Pick<LocalCaches, 'apiTokens'>; config: { adminPassword: string | null; adminToken: string | null } },
  now: Date,
): Promise<{ login: string; token: string; generated: boolean } | null> {
  if (await store.anySystemUser(deps.db)) return null;
  const row = await store.insertBootstrapAdmin(deps.db, {
    passwordHash: deps.config.adminPassword ? await hashPassword(deps.config.adminPassword) : null,
    now,
  });
  if (!row) return null;
  const made = await createApiToken(deps, { userId: row.id, label: 'bootstrap', now, token: deps.config.adminToken ?? undefined });
  return { login: 'admin', token: made.token, generated: deps.config.adminToken === null };
}
