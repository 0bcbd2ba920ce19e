// Store layer: the call to kalitka_activate (src/store/functions/30_activate.sql), which decides and
// writes an entry in one round trip. May import only src/store/db.ts and other store modules.
import type { Queryable } from './db.js';
import type { Identification } from './identifications.js';
import type { TokenRow } from './tokens.js';

/** A row as to_jsonb wrote it: timestamps are strings. */
export type Json<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] extends Date | null ? string | null : T[K] };

export type ActivateAnswer =
  | { refusal: 'TOKEN_UNKNOWN' | 'TOKEN_FOREIGN' | 'TOKEN_USED' | 'TOKEN_ANNULLED' | 'TOKEN_EXPIRED' | 'TOKEN_MOVE_LIMIT' | 'TOKEN_DEVICE_LIMIT' }
  | {
      refusal?: undefined;
      existing: boolean;
      token: Json<TokenRow>;
      identification: Json<Identification>;
      ended: Array<Json<Identification>>;
    };

export async function activate(
  q: Queryable,
  a: { code: string; mac: string; networkId: string; contractId: string; method: string; now: Date; termsVersion?: string | null },
): Promise<ActivateAnswer> {
  const { rows } = await q.query<{ answer: ActivateAnswer }>(
    `select kalitka_activate($1::text, $2::text, $3::uuid, $4::uuid, $5::text, $6::timestamptz, $7::text) as answer`,
    [a.code, a.mac, a.networkId, a.contractId, a.method, a.now, a.termsVersion ?? null],
  );
  return rows[0].answer;
}
