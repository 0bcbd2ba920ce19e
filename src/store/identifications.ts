// Store layer: one function per query on the identifications table (the identification log),
// client or transaction first, typed rows out; no rules. May import only src/store/db.ts.
import type { Queryable } from './db.js';

export type EndReason = 'expired' | 'annulled' | 'identified_elsewhere' | 'replaced' | 'deleted' | 'quota_exceeded' | 'moved';

export interface Identification {
  id: number;
  mac: string;
  network_id: string;
  contract_id: string;
  token_id: string | null;
  code: string | null;
  method: string;
  started_at: Date;
  expires_at: Date | null;
  ended_at: Date | null;
  end_reason: EndReason | null;
  /** Phone identifications (method `phone`): the sealed number, its keyed hash, how it was confirmed. */
  phone_sealed?: string | null;
  phone_hash?: string | null;
  phone_method?: string | null;
  phone_provider?: string | null;
  phone_reference?: string | null;
}

/** A live identification with the limits of its token copy (rule 13; null = unlimited, quota in MiB). */
export interface LiveIdentification extends Identification {
  down_kbps: number | null;
  up_kbps: number | null;
  quota_mb: number | null;
}

const withQuota = <T extends { quota_mb: number | null }>(r: T): T => (r.quota_mb === null || typeof r.quota_mb === 'number' ? r : { ...r, quota_mb: Number(r.quota_mb) });

export interface IdentificationView extends Identification {
  /** Null when the network has been deleted since (the log outlives it). */
  network_name: string | null;
}

export async function liveByMac(q: Queryable, mac: string): Promise<LiveIdentification | null> {
  const { rows } = await q.query<LiveIdentification>(
    `select i.*, t.down_kbps, t.up_kbps, t.quota_mb
       from identifications i left join tokens t on t.id = i.token_id
      where i.mac = $1::text and i.ended_at is null`,
    [mac],
  );
  return rows[0] ? withQuota(rows[0]) : null;
}

export async function startIdentification(
  q: Queryable,
  i: Pick<Identification, 'mac' | 'network_id' | 'contract_id' | 'token_id' | 'code' | 'method' | 'started_at' | 'expires_at'>,
): Promise<Identification> {
  const { rows } = await q.query<Identification>(
    `insert into identifications (mac, network_id, contract_id, token_id, code, method, started_at, expires_at)
     values ($1::text, $2::uuid, $3::uuid, $4::uuid, $5::text, $6::text, $7::timestamptz, $8::timestamptz)
     returning *`,
    [i.mac, i.network_id, i.contract_id, i.token_id, i.code, i.method, i.started_at, i.expires_at],
  );
  return rows[0];
}

/**
 * kalitka_end_identification (src/store/functions/20_end_identification.sql): ends the live
 * identifications of these token copies, moves the copies to their final status and queues the
 * controller and webhook calls; returns the identifications it ended.
 */
export async function endIdentifications(
  q: Queryable,
  e: { tokenIds: string[]; reason: EndReason; now: Date },
): Promise<Identification[]> {
  const { rows } = await q.query<Identification>(
    `select * from kalitka_end_identification($1::uuid[], null, $2::text, $3::timestamptz)`,
    [e.tokenIds, e.reason, e.now],
  );
  return rows;
}

/** Live, unexpired identifications in a contract's networks, oldest first. */
export async function liveInContract(q: Queryable, contractId: string, now: Date): Promise<Array<LiveIdentification & { quota_left: number | null }>> {
  const { rows } = await q.query<LiveIdentification & { quota_left: number | null }>(
    `select i.*, t.down_kbps, t.up_kbps, t.quota_mb,
            (t.quota_mb::numeric * 1048576 - coalesce(
              (select sum(s.input_octets::numeric + s.output_octets) from accounting_sessions s where s.token_id = t.id), 0))::float8 as quota_left
       from identifications i left join tokens t on t.id = i.token_id
      where i.contract_id = $1::uuid and i.ended_at is null
        and (i.expires_at is null or i.expires_at > $2::timestamptz)
      order by i.started_at`,
    [contractId, now],
  );
  return rows.map(withQuota);
}

/** The same with each network's name, newest first (the panel's sessions page). */
export async function liveInContractWithNetwork(q: Queryable, contractId: string, now: Date): Promise<IdentificationView[]> {
  const { rows } = await q.query<IdentificationView>(
    `select i.*, n.name as network_name from identifications i left join networks n on n.id = i.network_id
      where i.contract_id = $1::uuid and i.ended_at is null
        and (i.expires_at is null or i.expires_at > $2::timestamptz)
      order by i.started_at desc, i.id desc`,
    [contractId, now],
  );
  return rows;
}

/** A contract's identifications that started in [from, to), newest first. */
export async function startedBetween(
  q: Queryable,
  input: { contractId: string; from: Date; to: Date; limit: number },
): Promise<IdentificationView[]> {
  const { rows } = await q.query<IdentificationView>(
    `select i.*, n.name as network_name from identifications i left join networks n on n.id = i.network_id
      where i.contract_id = $1::uuid and i.started_at >= $2::timestamptz and i.started_at < $3::timestamptz
      order by i.started_at desc, i.id desc
      limit $4::int`,
    [input.contractId, input.from, input.to, input.limit],
  );
  return rows;
}

/** Deletes up to `limit` identifications that ended more than `retentionDays` before `now`. */
export async function deleteEndedBefore(q: Queryable, now: Date, retentionDays: number, limit: number): Promise<number> {
  const { rowCount } = await q.query(
    `delete from identifications where id in (
       select id from identifications
        where ended_at < $1::timestamptz - make_interval(days => $2::int)
        limit $3::int)`,
    [now, retentionDays, limit],
  );
  return rowCount;
}

/**
 * Notes of tokens deleted more than `retentionDays` ago: every log row of such a token ended by its
 * deletion, so retention has taken them all.
 */
export async function pruneDeletedTokenNotes(q: Queryable, now: Date, retentionDays: number): Promise<number> {
  const { rowCount } = await q.query(
    `delete from deleted_token_notes where deleted_at < $1::timestamptz - make_interval(days => $2::int)`,
    [now, retentionDays],
  );
  return rowCount;
}

/** Rule 14: the live identification of an extended copy gets the copy's new expiry; null when it has none. */
export async function extendLive(q: Queryable, tokenId: string, expiresAt: Date | null): Promise<Identification | null> {
  const { rows } = await q.query<Identification>(
    `update identifications set expires_at = $2::timestamptz
      where token_id = $1::uuid and ended_at is null returning *`,
    [tokenId, expiresAt],
  );
  return rows[0] ?? null;
}
