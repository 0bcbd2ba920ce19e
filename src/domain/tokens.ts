import type { Queryable } from '../store/db.js';
import { txRetry } from '../store/db.js';
import { conflict, notFound } from '../errors.js';
import { generateCode } from './code.js';
import type { Services } from '../services.js';
import { endIdentification, type EndReason, type Identification } from './identifications.js';
import { forgetSession } from './sessions.js';
import { recordEnded } from './outbox.js';

export const UNUSED_TOKEN_LIMIT = 200;

export type TokenStatus = 'unused' | 'active' | 'expired' | 'annulled';

export interface TokenRow {
  id: string;
  contract_id: string;
  code: string;
  multi_use: boolean;
  duration_days: number | null;
  status: TokenStatus;
  mac: string | null;
  activated_at: Date | null;
  expires_at: Date | null;
  end_reason: string | null;
  issued_to: string | null;
  created_at: Date;
}

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

export async function countUnused(q: Queryable, contractId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `select count(*)::int as n from tokens where contract_id = $1::uuid and status = 'unused'`,
    [contractId],
  );
  return rows[0].n;
}

export interface GenerateInput {
  contractId: string;
  count: number;
  multiUse: boolean;
  durationDays: number | null;
  now: Date;
}

/**
 * Makes `count` unused tokens, or none: the contract row is locked so that concurrent requests on
 * any instance queue behind each other and the 200-unused limit is never passed.
 */
export async function generateTokens(svc: Pick<Services, 'db'>, input: GenerateInput): Promise<TokenRow[]> {
  return txRetry(svc.db, async (q) => {
    const contract = await q.query(`select id from contracts where id = $1::uuid for update`, [input.contractId]);
    if (contract.rowCount === 0) throw notFound('Contract');
    const unused = await countUnused(q, input.contractId);
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
      const { rows } = await q.query<TokenRow>(
        `insert into tokens (contract_id, code, multi_use, duration_days, created_at)
         select $1::uuid, c, $3::boolean, $4::int, $5::timestamptz
           from unnest($2::text[]) as c
          where not exists (select 1 from tokens t where t.code = c and t.status = 'active')
         on conflict (code) where status = 'unused' do nothing
         returning *`,
        [input.contractId, codes, input.multiUse, input.durationDays, input.now],
      );
      made.push(...rows);
    }
    return made;
  });
}

export interface ListFilter {
  contractId: string;
  status?: TokenStatus;
  code?: string;
  multiUse?: boolean;
  durationDays?: number | null;
  limit: number;
  offset: number;
  now: Date;
}

export async function listTokens(q: Queryable, f: ListFilter): Promise<TokenRow[]> {
  const { rows } = await q.query<TokenRow>(
    `select * from tokens
      where contract_id = $1::uuid
        and ($2::text is null or (case when status = 'active' and expires_at <= $7::timestamptz
                                        then 'expired' else status end) = $2::text)
        and ($3::text is null or code = $3::text)
        and ($4::boolean is null or multi_use = $4::boolean)
        and ($5::boolean is false or duration_days is not distinct from $6::int)
      order by created_at desc, code, activated_at nulls first, id
      limit $8::int offset $9::int`,
    [
      f.contractId,
      f.status ?? null,
      f.code ?? null,
      f.multiUse ?? null,
      f.durationDays !== undefined,
      f.durationDays ?? null,
      f.now,
      f.limit,
      f.offset,
    ],
  );
  return rows;
}

/** The token if it exists and the caller may see it (`contractId` null = system administrator). */
export async function findToken(q: Queryable, id: string, contractId: string | null, lock = false): Promise<TokenRow> {
  const { rows } = await q.query<TokenRow>(
    `select * from tokens where id = $1::uuid and ($2::uuid is null or contract_id = $2::uuid)${lock ? ' for update' : ''}`,
    [id, contractId],
  );
  if (!rows[0]) throw notFound('Token');
  return rows[0];
}

export interface TokenChange {
  token: TokenRow | null;
  /** Identifications this change ended: their devices must be de-authorised. */
  ended: Identification[];
}

/**
 * Ends the live identification of an active copy, if there is one, and moves the copy to its final
 * status. A copy whose term already passed ends as `expired` at its expiry instant, whatever the
 * caller wanted, so the log tells the truth.
 */
async function finishCopy(q: Queryable, row: TokenRow, reason: EndReason, now: Date): Promise<TokenChange> {
  const expired = row.expires_at !== null && row.expires_at <= now;
  const endReason: EndReason = expired ? 'expired' : reason;
  const status: TokenStatus = expired ? 'expired' : 'annulled';
  const endedAt = expired ? row.expires_at! : now;
  const ident = await endIdentification(q, { tokenId: row.id, reason: endReason, at: endedAt });
  if (ident) await recordEnded(q, [ident], now);
  const { rows } = await q.query<TokenRow>(
    `update tokens set status = $2::text, end_reason = $3::text where id = $1::uuid returning *`,
    [row.id, status, endReason],
  );
  return { token: rows[0], ended: ident ? [ident] : [] };
}

export async function annulToken(
  svc: Pick<Services, 'db' | 'cache'>,
  input: { tokenId: string; contractId: string | null; now: Date },
): Promise<TokenChange> {
  const change = await txRetry(svc.db, async (q) => {
    const row = await findToken(q, input.tokenId, input.contractId, true);
    if (row.status === 'unused') {
      const { rows } = await q.query<TokenRow>(
        `update tokens set status = 'annulled', end_reason = 'annulled' where id = $1::uuid returning *`,
        [row.id],
      );
      return { token: rows[0], ended: [] };
    }
    if (row.status === 'active') return finishCopy(q, row, 'annulled', input.now);
    return { token: row, ended: [] }; // already annulled or expired: nothing to do
  });
  await forgetSessions(svc, change.ended);
  return change;
}

export async function deleteToken(
  svc: Pick<Services, 'db' | 'cache'>,
  input: { tokenId: string; contractId: string | null; now: Date },
): Promise<TokenChange> {
  const change = await txRetry(svc.db, async (q) => {
    const row = await findToken(q, input.tokenId, input.contractId, true);
    const ended = row.status === 'active' ? (await finishCopy(q, row, 'deleted', input.now)).ended : [];
    await q.query(`delete from tokens where id = $1::uuid`, [row.id]);
    return { token: null, ended };
  });
  await forgetSessions(svc, change.ended);
  return change;
}

export async function setIssuedTo(
  svc: Pick<Services, 'db'>,
  input: { tokenId: string; contractId: string | null; issuedTo: string | null },
): Promise<TokenRow> {
  await findToken(svc.db, input.tokenId, input.contractId);
  const { rows } = await svc.db.query<TokenRow>(
    `update tokens set issued_to = $2::text where id = $1::uuid returning *`,
    [input.tokenId, input.issuedTo],
  );
  return rows[0];
}

export async function forgetSessions(svc: Pick<Services, 'cache'>, ended: Identification[]): Promise<void> {
  await Promise.all(ended.map((i) => forgetSession(svc, i.mac)));
}
