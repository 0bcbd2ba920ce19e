// Store layer: one function per query on the tokens table, client or transaction first, typed rows
// out; no rules. May import only src/store/db.ts.
import type { Queryable } from './db.js';

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
  /** Rule 13 limits, null = unlimited (quota in MiB). */
  down_kbps: number | null;
  up_kbps: number | null;
  quota_mb: number | null;
  max_devices: number | null;
  extended_at: Date | null;
}

/** int8 may come back as a string or a bigint depending on the driver; a quota always fits a number. */
export function numericQuota<T extends { quota_mb: number | null }>(row: T): T {
  if (row && row.quota_mb !== null && typeof row.quota_mb !== 'number') row.quota_mb = Number(row.quota_mb);
  return row;
}

export async function countUnused(q: Queryable, contractId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `select count(*)::int as n from tokens where contract_id = $1::uuid and status = 'unused'`,
    [contractId],
  );
  return rows[0].n;
}

/**
 * Inserts unused tokens with these codes; a code that is unused or active already is skipped
 * (the caller draws again for those).
 */
export async function insertUnused(
  q: Queryable,
  t: {
    contractId: string;
    codes: string[];
    multiUse: boolean;
    durationDays: number | null;
    downKbps: number | null;
    upKbps: number | null;
    quotaMb: number | null;
    maxDevices: number | null;
    now: Date;
  },
): Promise<TokenRow[]> {
  const { rows } = await q.query<TokenRow>(
    `insert into tokens (contract_id, code, multi_use, duration_days, created_at, down_kbps, up_kbps, quota_mb, max_devices)
     select $1::uuid, c, $3::boolean, $4::int, $5::timestamptz, $6::int, $7::int, $8::bigint, $9::int
       from unnest($2::text[]) as c
      where not exists (select 1 from tokens t where t.code = c and t.status = 'active')
     on conflict (code) where status = 'unused' do nothing
     returning *`,
    [t.contractId, t.codes, t.multiUse, t.durationDays, t.now, t.downKbps, t.upKbps, t.quotaMb, t.maxDevices],
  );
  return rows.map(numericQuota);
}

export interface TokenFilter {
  contractId: string;
  /** As the API shows it: an active copy past its term counts as expired. */
  status?: TokenStatus;
  code?: string;
  multiUse?: boolean;
  /** Undefined: any term; null: unlimited only. */
  durationDays?: number | null;
  limit: number;
  offset: number;
  now: Date;
}

export async function listTokens(q: Queryable, f: TokenFilter): Promise<TokenRow[]> {
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
  return rows.map(numericQuota);
}

/** A token of this contract (`contractId` null: of any contract), locked if asked; else null. */
export async function findTokenInContract(
  q: Queryable,
  contractId: string | null,
  id: string,
  options: { lock?: boolean } = {},
): Promise<TokenRow | null> {
  const { rows } = await q.query<TokenRow>(
    `select * from tokens where id = $1::uuid and ($2::uuid is null or contract_id = $2::uuid)${options.lock ? ' for update' : ''}`,
    [id, contractId],
  );
  return rows[0] ? numericQuota(rows[0]) : null;
}

export async function getToken(q: Queryable, id: string): Promise<TokenRow> {
  const { rows } = await q.query<TokenRow>(`select * from tokens where id = $1::uuid`, [id]);
  return numericQuota(rows[0]);
}

/** An unused token (or the unused copy of a multi-use code) stops being usable. */
export async function annulUnused(q: Queryable, id: string): Promise<TokenRow> {
  const { rows } = await q.query<TokenRow>(
    `update tokens set status = 'annulled', end_reason = 'annulled' where id = $1::uuid returning *`,
    [id],
  );
  return numericQuota(rows[0]);
}

/**
 * Deletes a token row. To whom it was issued stays for the log rows that name it (deleted_token_notes):
 * only a copy that was activated has any; a slip never used leaves nothing behind.
 */
export async function deleteToken(q: Queryable, id: string, now: Date): Promise<void> {
  await q.query(
    `with gone as (delete from tokens where id = $1::uuid returning id, contract_id, issued_to, activated_at)
     insert into deleted_token_notes (token_id, contract_id, issued_to, deleted_at)
     select g.id, g.contract_id, g.issued_to, $2::timestamptz from gone g
      where g.issued_to is not null and g.activated_at is not null`,
    [id, now],
  );
}

export async function setIssuedTo(q: Queryable, id: string, issuedTo: string | null): Promise<TokenRow> {
  const { rows } = await q.query<TokenRow>(
    `update tokens set issued_to = $2::text where id = $1::uuid returning *`,
    [id, issuedTo],
  );
  return numericQuota(rows[0]);
}

/**
 * Active copies past their term, oldest first, locked for this transaction; rows another worker
 * holds are skipped, so several sweeps split the work.
 */
export async function claimExpired(q: Queryable, now: Date, limit: number): Promise<string[]> {
  const { rows } = await q.query<{ id: string }>(
    `select id from tokens
      where status = 'active' and expires_at <= $1::timestamptz
      order by expires_at
      limit $2::int
      for update skip locked`,
    [now, limit],
  );
  return rows.map((r) => r.id);
}

/** Rule 14: an active copy's new expiry and quota, stamped with when it was extended. */
export async function extendCopy(q: Queryable, id: string, e: { expiresAt: Date | null; quotaMb: number | null; now: Date }): Promise<TokenRow> {
  const { rows } = await q.query<TokenRow>(
    `update tokens set expires_at = $2::timestamptz, quota_mb = $3::bigint, extended_at = $4::timestamptz
      where id = $1::uuid returning *`,
    [id, e.expiresAt, e.quotaMb, e.now],
  );
  return numericQuota(rows[0]);
}
