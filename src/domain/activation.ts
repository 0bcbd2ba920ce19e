import { AppError } from '../errors.js';
import { retryRaces } from '../store/db.js';
import type { Services } from '../services.js';
import { requireCode } from './code.js';
import type { Identification } from './identifications.js';
import { findNetwork } from './networks.js';
import { forgetSession, rememberSession } from './sessions.js';
import type { TokenRow } from './tokens.js';

/** Why the portal refuses a well-formed code. All are 403: the code is not consumed. */
export type Refusal = 'TOKEN_UNKNOWN' | 'TOKEN_FOREIGN' | 'TOKEN_USED' | 'TOKEN_ANNULLED' | 'TOKEN_EXPIRED';

const REFUSALS: Record<Refusal, string> = {
  TOKEN_UNKNOWN: 'No such token',
  TOKEN_FOREIGN: 'This token is not valid in this network',
  TOKEN_USED: 'This token has already been used on another device',
  TOKEN_ANNULLED: 'This token has been annulled',
  TOKEN_EXPIRED: 'This token has expired',
};

export const refuse = (code: Refusal) => new AppError(403, code, REFUSALS[code]);

export interface ActivateInput {
  networkId: string;
  mac: string;
  /** As typed: spaces and dashes are allowed. */
  code: string;
  now: Date;
  method?: string;
}

export interface Activation {
  token: TokenRow;
  identification: Identification;
  /** True when the device already had this identification (re-entry): nothing new was made. */
  existing: boolean;
  /** Identifications this activation ended (elsewhere, replaced, or found expired): de-authorise them. */
  ended: Identification[];
}

/** What kalitka_activate (0005_activate.sql) answers; timestamps come back as JSON strings. */
type Answer =
  | { refusal: Refusal }
  | { refusal?: undefined; existing: boolean; token: Json<TokenRow>; identification: Json<Identification>; ended: Array<Json<Identification>> };
type Json<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] extends Date | null ? string | null : T[K] };

const TIMESTAMPS = ['activated_at', 'expires_at', 'created_at', 'started_at', 'ended_at'] as const;

/** A row as to_jsonb wrote it, with its timestamps as Dates again. */
function revive<T>(row: Json<T>): T {
  const out: Record<string, unknown> = { ...row };
  for (const field of TIMESTAMPS) {
    if (typeof out[field] === 'string') out[field] = new Date(out[field] as string);
  }
  return out as T;
}

/**
 * A guest's device enters a code in a network (rules 1-7). One statement decides and writes
 * everything in one round trip: the function refuses having written nothing, and races on a row
 * are caught by row locks and unique indexes and run again. Then the cache is written through.
 */
export async function activateToken(svc: Pick<Services, 'db' | 'cache' | 'local'>, input: ActivateInput): Promise<Activation> {
  const code = requireCode(input.code);
  const network = await findNetwork(svc, input.networkId);
  const answer = await retryRaces(async () => {
    const { rows } = await svc.db.query<{ answer: Answer }>(
      `select kalitka_activate($1::text, $2::text, $3::uuid, $4::uuid, $5::text, $6::timestamptz) as answer`,
      [code, input.mac, network.id, network.contractId, input.method ?? 'token', input.now],
    );
    return rows[0].answer;
  });
  if (answer.refusal) throw refuse(answer.refusal);
  const result: Activation = {
    existing: answer.existing,
    token: revive(answer.token),
    identification: revive(answer.identification),
    ended: answer.ended.map((i) => revive(i)),
  };
  // Both writes leave in one pipelined round trip.
  await Promise.all([
    ...result.ended.filter((i) => i.mac !== input.mac).map((i) => forgetSession(svc, i.mac)),
    rememberSession(svc, result.identification),
  ]);
  return result;
}
