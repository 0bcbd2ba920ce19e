// Store layer: identifications by phone — the call to kalitka_identify_phone
// (src/store/functions/50_identify_phone.sql) and the sweep's claim of those past their term.
// May import only src/store/db.ts and other store modules.
import type { Json } from './activation.js';
import type { Queryable } from './db.js';
import type { Identification } from './identifications.js';

export type IdentifyPhoneAnswer = {
  existing: boolean;
  identification: Json<Identification>;
  ended: Array<Json<Identification>>;
};

export async function identifyPhone(
  q: Queryable,
  a: {
    mac: string;
    networkId: string;
    contractId: string;
    now: Date;
    /** Null: unlimited. */
    days: number | null;
    phoneSealed: string;
    phoneHash: string;
    phoneMethod: string;
    provider: string;
    reference: string;
    termsVersion?: string | null;
  },
): Promise<IdentifyPhoneAnswer> {
  const { rows } = await q.query<{ answer: IdentifyPhoneAnswer }>(
    `select kalitka_identify_phone($1::text, $2::uuid, $3::uuid, $4::timestamptz, $5::int, $6::text, $7::text, $8::text,
                                   $9::text, $10::text, $11::text) as answer`,
    [a.mac, a.networkId, a.contractId, a.now, a.days, a.phoneSealed, a.phoneHash, a.phoneMethod, a.provider, a.reference, a.termsVersion ?? null],
  );
  return rows[0].answer;
}

/** Live identifications without a token copy (by phone) past their term, locked for this sweep. */
export async function claimExpiredTokenless(q: Queryable, now: Date, limit: number): Promise<number[]> {
  const { rows } = await q.query<{ id: number }>(
    `select id from identifications
      where ended_at is null and token_id is null and expires_at <= $1::timestamptz
      order by expires_at
      limit $2::int
      for update skip locked`,
    [now, limit],
  );
  return rows.map((r) => r.id);
}

/** kalitka_end_identification by identification ids (those without a token copy: phone). */
export async function endIdentificationsById(
  q: Queryable,
  e: { ids: number[]; reason: string; now: Date },
): Promise<Identification[]> {
  const { rows } = await q.query<Identification>(
    `select * from kalitka_end_identification(null, $1::bigint[], $2::text, $3::timestamptz)`,
    [e.ids, e.reason, e.now],
  );
  return rows;
}

/** A network's live identifications without a token copy (ended when the network is deleted). */
export async function liveTokenlessInNetwork(q: Queryable, networkId: string): Promise<number[]> {
  const { rows } = await q.query<{ id: number }>(
    `select id from identifications where network_id = $1::uuid and ended_at is null and token_id is null order by id`,
    [networkId],
  );
  return rows.map((r) => r.id);
}
