// Domain layer: contracts (tenants). Use cases take narrow deps and the acting principal; they may
// import src/store, src/cache, errors and config, never src/http.
import type { Cache } from '../cache/cache.js';
import type { LocalCaches } from '../cache/local.js';
import { isTimeZone } from '../config.js';
import { notFound, unprocessable } from '../errors.js';
import type { Queryable } from '../store/db.js';
import * as store from '../store/contracts.js';
import { apiTokenHashesOfContract } from '../store/apiTokens.js';
import { networkIdsOfContract } from '../store/networks.js';
import { canSee, requireOperator, requireSystem, scopeOf, type Principal } from './actor.js';
import { forgetLookups } from './apiTokens.js';
import { cleanName } from './names.js';
import { republishNetworks } from './networks.js';
import { forgetTimeZone } from './timeZone.js';
import { UNUSED_TOKEN_LIMIT } from './tokens.js';

export interface Contract {
  id: string;
  name: string;
  /** IANA zone its times are shown in (the server's default when it has none of its own). */
  timeZone: string;
  disabled: boolean;
  createdAt: string;
  unusedTokens: number;
  unusedTokenLimit: number;
}

export interface ContractDeps {
  db: Queryable;
  cache: Cache;
  local: Pick<LocalCaches, 'networks' | 'apiTokens' | 'contractZones'>;
  config: { timeZone: string };
}

const toContract = (r: store.ContractRow, defaultZone: string): Contract => ({
  id: r.id,
  name: r.name,
  timeZone: r.time_zone ?? defaultZone,
  disabled: r.disabled_at !== null,
  createdAt: r.created_at.toISOString(),
  unusedTokens: r.unused_tokens,
  unusedTokenLimit: UNUSED_TOKEN_LIMIT,
});

function checkTimeZone(zone: string | null | undefined): void {
  if (typeof zone === 'string' && !isTimeZone(zone)) {
    throw unprocessable('INVALID_TIME_ZONE', `"${zone}" is not an IANA time zone (e.g. Europe/Moscow)`);
  }
}

export async function createContract(
  deps: Pick<ContractDeps, 'db' | 'config'>,
  actor: Principal,
  input: { name: string; timeZone?: string | null; now: Date },
): Promise<Contract> {
  requireSystem(actor);
  const name = cleanName(input.name, 'contract');
  checkTimeZone(input.timeZone);
  return toContract(await store.insertContract(deps.db, { name, timeZone: input.timeZone ?? null, now: input.now }), deps.config.timeZone);
}

/** The contract if the actor may see it; another contract's is NOT_FOUND like a missing one. */
export async function getContract(deps: Pick<ContractDeps, 'db' | 'config'>, actor: Principal, id: string): Promise<Contract> {
  const row = canSee(actor, id) ? await store.findContract(deps.db, id, scopeOf(actor)) : null;
  if (!row) throw notFound('Contract');
  return toContract(row, deps.config.timeZone);
}

/**
 * The guard before acting in a contract, without counting anything: an operator's own contract
 * needs no query (their row would be gone with it); a system administrator's is checked to exist.
 */
export async function requireContract(deps: Pick<ContractDeps, 'db'>, actor: Principal, id: string): Promise<void> {
  if (!canSee(actor, id)) throw notFound('Contract');
  if (actor.isSystem && !(await store.contractExists(deps.db, id))) throw notFound('Contract');
}

/** System administrators: every contract; anyone else: their own. */
export async function listContracts(deps: Pick<ContractDeps, 'db' | 'config'>, actor: Principal): Promise<Contract[]> {
  const rows = await store.listContracts(deps.db, actor.isSystem ? null : actor.contractId);
  return rows.map((r) => toContract(r, deps.config.timeZone));
}

export interface ContractChange {
  name?: string;
  timeZone?: string | null;
  disabled?: boolean;
}

/**
 * Renames, moves to another time zone, disables or enables. A disabled contract's networks stop
 * serving (portal, session answers, RADIUS) and its users' API tokens and panel sessions stop
 * working, on every instance at once; enabling brings them back.
 */
export async function updateContract(deps: ContractDeps, actor: Principal, id: string, change: ContractChange, now: Date): Promise<Contract> {
  if (!canSee(actor, id)) throw notFound('Contract');
  requireOperator(actor, 'Contract');
  requireSystem(actor);
  const name = change.name === undefined ? undefined : cleanName(change.name, 'contract');
  checkTimeZone(change.timeZone);
  const before = await store.findContract(deps.db, id, null);
  if (!before || !(await store.updateContract(deps.db, id, { name, timeZone: change.timeZone, disabled: change.disabled }, now))) {
    throw notFound('Contract');
  }
  const after = (await store.findContract(deps.db, id, null))!;
  if (before.time_zone !== after.time_zone) await forgetTimeZone(deps, id);
  if ((before.disabled_at === null) !== (after.disabled_at === null)) {
    await republishNetworks(deps, await networkIdsOfContract(deps.db, id));
    await forgetLookups(deps, await apiTokenHashesOfContract(deps.db, id), after.disabled_at ? 'refuse' : 'drop');
  }
  return toContract(after, deps.config.timeZone);
}

/**
 * @deprecated Callers not yet moved to use cases: use `requireContract` (a guard) or
 * `getContract` (with an actor). `scope` is the caller's contract, null for a system administrator.
 */
export async function findContract(q: Queryable, id: string, scope: string | null): Promise<Omit<Contract, 'timeZone'>> {
  const row = scope !== null && scope !== id ? null : await store.findContract(q, id, scope);
  if (!row) throw notFound('Contract');
  // The server's default zone is not known here: callers that show times use getContract.
  const { timeZone: _unknown, ...contract } = toContract(row, '');
  return contract;
}
