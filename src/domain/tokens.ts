// Domain layer: the token use cases (generate, list, find, annul, delete, note whom a slip went to).
// Each takes the acting principal and enforces tenancy and bounds itself: another contract's token
// or contract is NOT_FOUND whatever route calls it. May import src/store/*, src/errors.ts and other
// domain modules; never src/http.
import { adapterFor } from '../controllers/index.js';
import { badRequest, conflict, notFound, unprocessable } from '../errors.js';
import { extendLive } from '../store/identifications.js';
import { enqueueCoa } from '../store/outbox.js';
import type { Services } from '../services.js';
import { txRetry, type Queryable } from '../store/db.js';
import { lockContract } from '../store/tenancy.js';
import * as store from '../store/tokens.js';
import type { TokenRow, TokenStatus } from '../store/tokens.js';
import { canSee, requireOperator, scopeOf, type Principal } from './actor.js';
import { findPlan as findPlanRow } from '../store/plans.js';
import { checkGenerateRequest, checkIssuedTo, checkLimits, isUuid, LIMIT_BOUNDS, LIMIT_FIELDS, listLimit, UNUSED_TOKEN_LIMIT, type TokenLimits } from './bounds.js';
import { planValues } from './plans.js';
import { generateCode } from './code.js';
import { indexNewCodes } from './codeIndex.js';
import { endIdentifications, forgetEnded, type Identification } from './identifications.js';
import { findAnyNetwork } from '../store/networks.js';
import { refreshSession } from './sessions.js';
import { requireVisibleContract } from './tenancy.js';

export type { TokenRow, TokenStatus } from '../store/tokens.js';
export { countUnused } from '../store/tokens.js';
export { UNUSED_TOKEN_LIMIT } from './bounds.js';

type Deps = Pick<Services, 'db' | 'cache' | 'local'>;

export interface TokenJson {
  id: string;
  contractId: string;
  code: string;
  multiUse: boolean;
  durationDays: number | null;
  status: TokenStatus;
  mac: string | null;
  activatedAt: string | null;
  expiresAt: string | null;
  endReason: string | null;
  createdAt: string;
  issuedTo: string | null;
  downKbps: number | null;
  upKbps: number | null;
  quotaMb: number | null;
  maxDevices: number | null;
  /** When an operator last extended this copy (rule 14), else null. */
  extendedAt: string | null;
}

/** An active copy whose term has passed is expired from that instant, swept or not (rule 8). */
export function effectiveStatus(row: TokenRow, now: Date): { status: TokenStatus; endReason: string | null } {
  if (row.status === 'active' && row.expires_at && row.expires_at <= now) return { status: 'expired', endReason: 'expired' };
  return { status: row.status, endReason: row.end_reason };
}

export function tokenJson(row: TokenRow, now: Date): TokenJson {
  const { status, endReason } = effectiveStatus(row, now);
  return {
    id: row.id,
    contractId: row.contract_id,
    code: row.code,
    multiUse: row.multi_use,
    durationDays: row.duration_days,
    status,
    mac: row.mac,
    activatedAt: row.activated_at?.toISOString() ?? null,
    expiresAt: row.expires_at?.toISOString() ?? null,
    endReason,
    createdAt: row.created_at.toISOString(),
    issuedTo: row.issued_to,
    downKbps: row.down_kbps ?? null,
    upKbps: row.up_kbps ?? null,
    quotaMb: row.quota_mb == null ? null : Number(row.quota_mb),
    maxDevices: row.max_devices ?? null,
    extendedAt: row.extended_at ? new Date(row.extended_at).toISOString() : null,
  };
}

export interface GenerateInput extends Partial<TokenLimits> {
  contractId: string;
  count: number;
  /** Absent: the plan's, else single-use. */
  multiUse?: boolean;
  /** Absent: the plan's, else unlimited. */
  durationDays?: number | null;
  /**
   * A plan of the same contract: its values are copied onto the tokens; a field the request gives
   * (even null, "unlimited") wins over the plan's.
   */
  planId?: string | null;
  now: Date;
}

type Resolved = { multiUse: boolean; durationDays: number | null } & TokenLimits;

/** The values the tokens get: the request's fields over the plan's over the defaults. */
async function resolveGenerate(q: Queryable, input: GenerateInput): Promise<Resolved> {
  let base: Resolved = { multiUse: false, durationDays: null, downKbps: null, upKbps: null, quotaMb: null, maxDevices: null };
  if (input.planId !== undefined && input.planId !== null) {
    // A plan of another contract names nothing here, whoever asks.
    const plan = isUuid(input.planId) ? await findPlanRow(q, input.contractId, input.planId) : null;
    if (!plan) throw notFound('Plan');
    const { name: _name, ...values } = planValues(plan);
    base = values;
  }
  const given = Object.fromEntries(
    (['multiUse', 'durationDays', ...LIMIT_FIELDS] as const).filter((k) => input[k] !== undefined).map((k) => [k, input[k]]),
  ) as Partial<Resolved>;
  return { ...base, ...given };
}

/**
 * Makes `count` unused tokens in a contract the actor may see, or none: the contract row is locked
 * so that concurrent requests on any instance queue behind each other and the 200-unused limit is
 * never passed. The codes reach the index of known codes before the transaction commits; when they
 * cannot (the cache is unreachable), nothing is made and the answer is 503.
 */
export async function generateTokens(deps: Pick<Services, 'db' | 'cache'>, actor: Principal, input: GenerateInput): Promise<TokenRow[]> {
  if (!isUuid(input.contractId) || !canSee(actor, input.contractId)) throw notFound('Contract');
  const values = await resolveGenerate(deps.db, input);
  checkGenerateRequest({ count: input.count, ...values });
  checkLimits(values);
  return txRetry(deps.db, async (q) => {
    if (!(await lockContract(q, input.contractId))) throw notFound('Contract');
    const unused = await store.countUnused(q, input.contractId);
    const available = Math.max(0, UNUSED_TOKEN_LIMIT - unused);
    if (input.count > available) {
      throw conflict(
        'UNUSED_TOKEN_LIMIT',
        `A contract may hold at most ${UNUSED_TOKEN_LIMIT} unused tokens; ${available} more can be made`,
        { limit: UNUSED_TOKEN_LIMIT, available },
      );
    }
    const made: TokenRow[] = [];
    // A fresh code may collide with a live one (about 1 in 10^10); such codes are skipped and redrawn.
    while (made.length < input.count) {
      const codes = Array.from({ length: input.count - made.length }, generateCode);
      await indexNewCodes(deps, q, codes);
      made.push(...(await store.insertUnused(q, { contractId: input.contractId, now: input.now, ...values, codes })));
    }
    return made;
  });
}

export interface ListFilter extends Omit<store.TokenFilter, 'limit' | 'offset'> {
  /** At most TOKEN_BOUNDS.list.maxLimit; the default when absent. */
  limit?: number;
  offset?: number;
}

/** A contract's tokens, newest first, for an actor who may see the contract. */
export async function listTokens(deps: Pick<Services, 'db'>, actor: Principal, f: ListFilter): Promise<TokenRow[]> {
  await requireVisibleContract(deps, actor, f.contractId);
  return store.listTokens(deps.db, { ...f, limit: listLimit(f.limit), offset: f.offset ?? 0 });
}

/** A token the actor may see; another contract's is NOT_FOUND like a missing one. */
export async function findToken(deps: Pick<Services, 'db'>, actor: Principal, id: string): Promise<TokenRow> {
  const row = isUuid(id) ? await store.findTokenInContract(deps.db, scopeOf(actor), id) : null;
  if (!row) throw notFound('Token');
  return row;
}

export interface TokenChange {
  token: TokenRow | null;
  /** Identifications this change ended: their devices are queued for de-authorisation. */
  ended: Identification[];
}

/**
 * Runs `change` on the token the actor names, locked in one transaction; then forgets the ended
 * identifications in the cache.
 */
async function changeToken(
  deps: Deps,
  actor: Principal,
  id: string,
  change: (q: Queryable, row: TokenRow) => Promise<TokenChange>,
): Promise<TokenChange> {
  if (!isUuid(id)) throw notFound('Token');
  const result = await txRetry(deps.db, async (q) => {
    const row = await store.findTokenInContract(q, scopeOf(actor), id, { lock: true });
    if (!row) throw notFound('Token');
    return change(q, row);
  });
  await forgetEnded(deps, result.ended);
  return result;
}

/**
 * Rule 9: annulling an active copy ends its identification; annulling the unused copy of a code
 * stops new activations and leaves the activated copies alone. An annulled or expired token stays
 * as it is.
 */
export async function annulToken(deps: Deps, actor: Principal, input: { tokenId: string; now: Date }): Promise<TokenChange> {
  return changeToken(deps, actor, input.tokenId, async (q, row) => {
    if (row.status === 'unused') return { token: await store.annulUnused(q, row.id), ended: [] };
    if (row.status !== 'active') return { token: row, ended: [] };
    const ended = await endIdentifications(q, { tokenIds: [row.id], reason: 'annulled', now: input.now });
    return { token: await store.getToken(q, row.id), ended };
  });
}

/** Rule 9: a deleted token leaves the lists; an active identification ends first (the log keeps it). */
export async function deleteToken(deps: Deps, actor: Principal, input: { tokenId: string; now: Date }): Promise<TokenChange> {
  return changeToken(deps, actor, input.tokenId, async (q, row) => {
    const ended = row.status === 'active' ? await endIdentifications(q, { tokenIds: [row.id], reason: 'deleted', now: input.now }) : [];
    await store.deleteToken(q, row.id, input.now);
    return { token: null, ended };
  });
}

/** Rule 12: whom a slip was issued to (trimmed; empty clears it). */
export async function setIssuedTo(
  deps: Pick<Services, 'db'>,
  actor: Principal,
  input: { tokenId: string; issuedTo: string | null },
): Promise<TokenRow> {
  const issuedTo = input.issuedTo?.trim() || null;
  checkIssuedTo(issuedTo);
  const token = await findToken(deps, actor, input.tokenId);
  return store.setIssuedTo(deps.db, token.id, issuedTo);
}

export interface ExtendInput {
  tokenId: string;
  /** Days added to the copy's expiry (1..30). */
  days?: number | null;
  /** MiB added to the copy's quota (1..10 000 000). */
  quotaMb?: number | null;
  now: Date;
}

/**
 * Rule 14: an operator gives an active copy more days and/or more quota. The copy and its live
 * identification change in one transaction, which also queues a CoA-Request for the NAS where the
 * network's controller can take one (src/worker/outbox.ts); the session cache is written through
 * at once, so session state and RADIUS answers see the new term and quota from now on. Only an
 * active copy within its term can be extended (409 TOKEN_NOT_ACTIVE); what is unlimited cannot be
 * extended (422); the term from activation stays within a year and the quota within its bound.
 */
export async function extendToken(deps: Deps, actor: Principal, input: ExtendInput): Promise<TokenRow> {
  requireOperator(actor, 'Token');
  const days = input.days ?? null;
  const quotaMb = input.quotaMb ?? null;
  const { extendDays, quotaMb: quotaBound, maxTermDays, maxQuotaMb } = LIMIT_BOUNDS;
  if (days === null && quotaMb === null) throw badRequest('VALIDATION_ERROR', 'Give days and/or quotaMb to add');
  if (days !== null && (!Number.isInteger(days) || days < extendDays.min || days > extendDays.max)) {
    throw badRequest('VALIDATION_ERROR', `days must be an integer from ${extendDays.min} to ${extendDays.max}`);
  }
  if (quotaMb !== null && (!Number.isInteger(quotaMb) || quotaMb < quotaBound.min || quotaMb > quotaBound.max)) {
    throw badRequest('VALIDATION_ERROR', `quotaMb must be an integer from ${quotaBound.min} to ${quotaBound.max}`);
  }
  if (!isUuid(input.tokenId)) throw notFound('Token');
  const result = await txRetry(deps.db, async (q) => {
    const row = await store.findTokenInContract(q, scopeOf(actor), input.tokenId, { lock: true });
    if (!row) throw notFound('Token');
    if (effectiveStatus(row, input.now).status !== 'active') {
      throw conflict('TOKEN_NOT_ACTIVE', 'Only an activated copy within its term can be extended; this one is ' + effectiveStatus(row, input.now).status);
    }
    if (days !== null && row.expires_at === null) throw unprocessable('TOKEN_TERM_UNLIMITED', 'This copy has no term to extend: it is unlimited');
    if (quotaMb !== null && row.quota_mb === null) throw unprocessable('TOKEN_QUOTA_UNLIMITED', 'This copy has no quota to raise: its traffic is unlimited');
    const expiresAt = days === null || row.expires_at === null ? row.expires_at : new Date(row.expires_at.getTime() + days * 86_400_000);
    if (expiresAt && row.activated_at && expiresAt.getTime() - row.activated_at.getTime() > maxTermDays * 86_400_000) {
      throw unprocessable('EXTENSION_TOO_LONG', `A copy's term from its activation may not pass ${maxTermDays} days`);
    }
    const quota = quotaMb === null || row.quota_mb === null ? row.quota_mb : Number(row.quota_mb) + quotaMb;
    if (quota !== null && quota > maxQuotaMb) throw unprocessable('EXTENSION_TOO_LARGE', `A copy's quota may not pass ${maxQuotaMb} MiB`);
    const token = await store.extendCopy(q, row.id, { expiresAt, quotaMb: quota, now: input.now });
    const identification = await extendLive(q, row.id, expiresAt);
    if (identification && (await pushesUpdates(q, identification.network_id))) await enqueueCoa(q, identification.id, input.now);
    return { token, identification };
  });
  if (result.identification) await refreshSession(deps, result.identification.mac);
  return result.token;
}

/** Whether the network's controller takes a change of a live session (a CoA-Request or a new authorisation). */
async function pushesUpdates(q: Queryable, networkId: string): Promise<boolean> {
  // Read in the transaction: on the embedded store a second connection would wait for this one.
  const network = await findAnyNetwork(q, networkId);
  return network !== null && adapterFor(network.controller).update !== undefined;
}
