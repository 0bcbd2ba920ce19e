// Domain layer: the token use cases (generate, list, find, annul, delete, note whom a slip went to).
// Each takes the acting principal and enforces tenancy and bounds itself: another contract's token
// or contract is NOT_FOUND whatever route calls it. May import src/store/*, src/errors.ts and other
// domain modules; never src/http.
import { conflict, notFound } from '../errors.js';
import type { Services } from '../services.js';
import { txRetry, type Queryable } from '../store/db.js';
import { lockContract } from '../store/tenancy.js';
import * as store from '../store/tokens.js';
import type { TokenRow, TokenStatus } from '../store/tokens.js';
import { canSee, scopeOf, type Principal } from './actor.js';
import { checkGenerateRequest, checkIssuedTo, isUuid, listLimit, UNUSED_TOKEN_LIMIT } from './bounds.js';
import { generateCode } from './code.js';
import { indexNewCodes } from './codeIndex.js';
import { endIdentifications, forgetEnded, type Identification } from './identifications.js';
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
  };
}

export interface GenerateInput {
  contractId: string;
  count: number;
  multiUse: boolean;
  durationDays: number | null;
  now: Date;
}

/**
 * Makes `count` unused tokens in a contract the actor may see, or none: the contract row is locked
 * so that concurrent requests on any instance queue behind each other and the 200-unused limit is
 * never passed. The codes reach the index of known codes before the transaction commits; when they
 * cannot (the cache is unreachable), nothing is made and the answer is 503.
 */
export async function generateTokens(deps: Pick<Services, 'db' | 'cache'>, actor: Principal, input: GenerateInput): Promise<TokenRow[]> {
  checkGenerateRequest(input);
  if (!isUuid(input.contractId) || !canSee(actor, input.contractId)) throw notFound('Contract');
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
      made.push(...(await store.insertUnused(q, { ...input, codes })));
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
    await store.deleteToken(q, row.id);
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
