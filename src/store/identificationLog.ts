// The identification log as operators export it. One query per function, client first.
import type { Queryable } from './db.js';

/** A log row with what a reader needs beside it: the network's name and to whom the token went. */
export interface LogRow {
  id: number;
  mac: string;
  contract_id: string;
  network_id: string;
  /** Null when the network is gone (the log keeps its rows). */
  network_name: string | null;
  token_id: string | null;
  code: string | null;
  /** Null when none was noted (a deleted token's note is kept for its log rows). */
  issued_to: string | null;
  method: string;
  started_at: Date;
  ended_at: Date | null;
  end_reason: string | null;
  /** Method `phone`: the sealed number (opened by the domain for the contract's operators only). */
  phone_sealed: string | null;
  phone_method: string | null;
  phone_provider: string | null;
  phone_reference: string | null;
}

/**
 * One keyset page of a contract's identifications that overlap [from, until): started before
 * `until` and not over by `from` (one not yet swept counts as over at its expiry); ids after
 * `after`, in id order.
 */
export async function logPage(
  q: Queryable,
  contractId: string,
  page: { after: number; from: Date; until: Date; limit: number },
): Promise<LogRow[]> {
  const { rows } = await q.query<LogRow>(
    `select i.id, i.mac, i.contract_id, i.network_id, n.name as network_name, i.token_id, i.code, coalesce(t.issued_to, d.issued_to) as issued_to,
            i.method, i.started_at, i.ended_at, i.end_reason,
            i.phone_sealed, i.phone_method, i.phone_provider, i.phone_reference
       from identifications i
       left join networks n on n.id = i.network_id
       left join tokens t on t.id = i.token_id
       left join deleted_token_notes d on d.token_id = i.token_id
      where i.contract_id = $1::uuid and i.id > $2::bigint
        and i.started_at < $4::timestamptz
        and coalesce(i.ended_at, i.expires_at, 'infinity') > $3::timestamptz
      order by i.id
      limit $5::int`,
    [contractId, page.after, page.from, page.until, page.limit],
  );
  return rows;
}
