import type { Queryable } from '../store/db.js';

export type EndReason = 'expired' | 'annulled' | 'identified_elsewhere' | 'replaced' | 'deleted';

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
}

export async function liveIdentification(q: Queryable, mac: string, lock = false): Promise<Identification | null> {
  const { rows } = await q.query<Identification>(
    `select * from identifications where mac = $1::text and ended_at is null${lock ? ' for update' : ''}`,
    [mac],
  );
  return rows[0] ?? null;
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

/** Closes the live identification made with a token copy, if any; returns it closed. */
export async function endIdentification(
  q: Queryable,
  e: { tokenId: string; reason: EndReason; at: Date },
): Promise<Identification | null> {
  const { rows } = await q.query<Identification>(
    `update identifications set ended_at = $3::timestamptz, end_reason = $2::text
      where token_id = $1::uuid and ended_at is null
      returning *`,
    [e.tokenId, e.reason, e.at],
  );
  return rows[0] ?? null;
}

export interface IdentificationView extends Identification {
  /** Null when the network has been deleted since (the log outlives it). */
  network_name: string | null;
}

/** Live identifications in a contract's networks, as the panel's sessions page shows them. */
export async function liveIdentifications(q: Queryable, input: { contractId: string; now: Date }): Promise<IdentificationView[]> {
  const { rows } = await q.query<IdentificationView>(
    `select i.*, n.name as network_name from identifications i left join networks n on n.id = i.network_id
      where i.contract_id = $1::uuid and i.ended_at is null
        and (i.expires_at is null or i.expires_at > $2::timestamptz)
      order by i.started_at desc, i.id desc`,
    [input.contractId, input.now],
  );
  return rows;
}

/** The log of a contract: identifications that started in [from, to), newest first. */
export async function identificationLog(
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
