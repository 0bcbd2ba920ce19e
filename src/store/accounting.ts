// Store layer: RADIUS accounting — the call to kalitka_account (src/store/functions/60_accounting.sql)
// and the reads the portal and the revoke path need. May import only src/store/db.ts and other
// store modules.
import type { Queryable } from './db.js';
import type { Json } from './activation.js';
import type { Identification } from './identifications.js';

export interface AccountingInput {
  networkId: string;
  contractId: string;
  mac: string | null;
  status: string;
  sessionId: string | null;
  inputOctets: number;
  inputGigawords: number;
  outputOctets: number;
  outputGigawords: number;
  framedIp: string | null;
  nasIp: string | null;
  nasIdentifier: string | null;
  now: Date;
}

export interface AccountingAnswer {
  recorded: boolean;
  tokenId?: string | null;
  usedBytes?: number;
  quotaBytes?: number | null;
  ended: Array<Json<Identification>>;
}

export async function account(q: Queryable, a: AccountingInput): Promise<AccountingAnswer> {
  const { rows } = await q.query<{ answer: AccountingAnswer }>(
    `select kalitka_account($1::uuid, $2::uuid, $3::text, $4::text, $5::text, $6::bigint, $7::bigint, $8::bigint,
                            $9::bigint, $10::inet, $11::inet, $12::text, $13::timestamptz) as answer`,
    [a.networkId, a.contractId, a.mac, a.status, a.sessionId, a.inputOctets, a.inputGigawords, a.outputOctets,
      a.outputGigawords, a.framedIp, a.nasIp, a.nasIdentifier, a.now],
  );
  return rows[0].answer;
}

/** Bytes both ways accounted to a token copy, over all its NAS sessions. */
export async function usedBytes(q: Queryable, tokenId: string): Promise<number> {
  const { rows } = await q.query<{ used: string }>(
    `select coalesce(sum(input_octets::numeric + output_octets), 0)::text as used from accounting_sessions where token_id = $1::uuid`,
    [tokenId],
  );
  return Number(rows[0].used);
}

/** What is left of a copy's quota in bytes (may be negative); null when it has none, or no such copy. */
export async function quotaLeft(q: Queryable, tokenId: string): Promise<number | null> {
  const { rows } = await q.query<{ left: string | null }>(
    `select (t.quota_mb::numeric * 1048576 - coalesce(
              (select sum(s.input_octets::numeric + s.output_octets) from accounting_sessions s where s.token_id = t.id), 0))::text as left
       from tokens t where t.id = $1::uuid`,
    [tokenId],
  );
  return rows[0]?.left == null ? null : Number(rows[0].left);
}

export interface NasSession {
  acct_session_id: string;
  framed_ip: string | null;
  nas_ip: string | null;
  nas_identifier: string | null;
}

/** The NAS session last reported for an identification (what a Disconnect-Request names). */
export async function latestSessionOf(q: Queryable, identificationId: number): Promise<NasSession | null> {
  const { rows } = await q.query<NasSession>(
    `select acct_session_id, host(framed_ip) as framed_ip, host(nas_ip) as nas_ip, nas_identifier
       from accounting_sessions where identification_id = $1::bigint
      order by (stopped_at is null) desc, updated_at desc, id desc limit 1`,
    [identificationId],
  );
  return rows[0] ?? null;
}

/** The device a NAS last gave this address in a network, while its session is open. */
export async function macByFramedIp(q: Queryable, networkId: string, ip: string): Promise<string | null> {
  const { rows } = await q.query<{ mac: string }>(
    `select mac from accounting_sessions
      where network_id = $1::uuid and framed_ip = $2::inet and stopped_at is null
      order by updated_at desc limit 1`,
    [networkId, ip],
  );
  return rows[0]?.mac ?? null;
}

/**
 * Deletes up to `limit` NAS sessions last reported more than `retentionDays` before `now`, except
 * those of a copy still active (its usage is still counted against its quota), and the rows of a
 * session still reported for a later identification (its counters count from theirs).
 */
export async function deleteSessionsBefore(q: Queryable, now: Date, retentionDays: number, limit: number): Promise<number> {
  const { rowCount } = await q.query(
    `delete from accounting_sessions where id in (
       select s.id from accounting_sessions s
        where s.updated_at < $1::timestamptz - make_interval(days => $2::int)
          and not exists (select 1 from tokens t where t.id = s.token_id and t.status = 'active')
          and not (s.restarted_at is null and exists (
                select 1 from accounting_sessions o
                 where o.network_id = s.network_id and o.mac = s.mac and o.acct_session_id = s.acct_session_id
                   and o.restarted_at is null and o.updated_at >= $1::timestamptz - make_interval(days => $2::int)))
        limit $3::int)`,
    [now, retentionDays, limit],
  );
  return rowCount;
}
