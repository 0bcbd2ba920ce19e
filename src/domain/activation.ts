// Domain layer: a guest's device entering a code (rules 1-7). The decision and the writes run in one
// round trip in kalitka_activate (src/store/functions/30_activate.sql); here the code is parsed, the
// answer revived and the cache written through. May import src/store/*, src/errors.ts and other
// domain modules; never src/http.
import { AppError } from '../errors.js';
import type { Services } from '../services.js';
import { activate, type Json } from '../store/activation.js';
import { retryRaces } from '../store/db.js';
import { termsVersion } from './branding.js';
import { parseCode, requireCode } from './code.js';
import { isSurelyUnknown } from './codeIndex.js';
import { forgetEnded, type Identification } from './identifications.js';
import { countPortalTry, uncountPortalTry } from './limits.js';
import { findNetwork, type Network } from './networks.js';
import { rememberSession, type SessionLimits } from './sessions.js';
import type { TokenRow } from './tokens.js';

/** Why the portal refuses a well-formed code. All are 403: the code is not consumed. */
export type Refusal = 'TOKEN_UNKNOWN' | 'TOKEN_FOREIGN' | 'TOKEN_USED' | 'TOKEN_ANNULLED' | 'TOKEN_EXPIRED' | 'TOKEN_MOVE_LIMIT' | 'TOKEN_DEVICE_LIMIT';

const REFUSALS: Record<Refusal, string> = {
  TOKEN_UNKNOWN: 'No such token',
  TOKEN_FOREIGN: 'This token is not valid in this network',
  TOKEN_USED: 'This token has already been used on another device',
  TOKEN_ANNULLED: 'This token has been annulled',
  TOKEN_EXPIRED: 'This token has expired',
  TOKEN_MOVE_LIMIT: 'This token has moved to another device 3 times in the last 24 hours',
  TOKEN_DEVICE_LIMIT: 'This token has been used on as many devices as it allows',
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

const TIMESTAMPS = ['activated_at', 'expires_at', 'created_at', 'started_at', 'ended_at', 'extended_at'] as const;

export const limitsOfToken = (t: TokenRow): SessionLimits => ({
  downKbps: t.down_kbps ?? null,
  upKbps: t.up_kbps ?? null,
  quotaMb: t.quota_mb == null ? null : Number(t.quota_mb),
});

/** A row as to_jsonb wrote it, with its timestamps as Dates again. */
export function revive<T>(row: Json<T>): T {
  const out: Record<string, unknown> = { ...row };
  for (const field of TIMESTAMPS) {
    if (typeof out[field] === 'string') out[field] = new Date(out[field] as string);
  }
  return out as T;
}

/**
 * One entry of a well-formed code in a network (rules 1-7). One statement decides and writes
 * everything in one round trip: the function refuses having written nothing, and races on a row
 * are caught by row locks and unique indexes and run again. Then the cache is written through.
 * A code the index of known codes surely lacks is refused before that (src/domain/codeIndex.ts).
 */
async function enter(
  svc: Pick<Services, 'db' | 'cache' | 'local' | 'log'>,
  input: { network: Network; mac: string; code: string; now: Date; method?: string; termsVersion?: string | null; indexChecked?: boolean },
  alongWrites?: () => Promise<void>,
): Promise<Activation | { refusal: Refusal }> {
  const { network, mac, code, now } = input;
  // A code the complete index lacks was never generated: refused without PostgreSQL. (The portal
  // asks the index itself, in the round trip that counts the try: `indexChecked`.)
  if (!input.indexChecked && (await isSurelyUnknown(svc, code))) return { refusal: 'TOKEN_UNKNOWN' };
  const answer = await retryRaces(() =>
    activate(svc.db, { code, mac, networkId: network.id, contractId: network.contractId, method: input.method ?? 'token', now, termsVersion: input.termsVersion }),
  );
  if (answer.refusal) return { refusal: answer.refusal };
  const result: Activation = {
    existing: answer.existing,
    token: revive(answer.token),
    identification: revive(answer.identification),
    ended: answer.ended.map((i) => revive(i)),
  };
  // The writes (and the caller's, e.g. taking the try back) leave in one pipelined round trip.
  await Promise.all([forgetEnded(svc, result.ended, mac), rememberSession(svc, result.identification, limitsOfToken(result.token)), alongWrites?.()]);
  return result;
}

/** A device enters a code (as typed) in a network; a refusal is thrown as its 4xx AppError. */
export async function activateToken(svc: Pick<Services, 'db' | 'cache' | 'local' | 'log'>, input: ActivateInput): Promise<Activation> {
  const code = requireCode(input.code);
  const network = await findNetwork(svc, input.networkId);
  const result = await enter(svc, { network, mac: input.mac, code, now: input.now, method: input.method });
  if ('refusal' in result) throw refuse(result.refusal);
  return result;
}

/** What the portal shows after a guest typed a code. */
export type Entry =
  | { kind: 'granted'; activation: Activation }
  | { kind: 'refused'; reason: Refusal | 'TOKEN_FORMAT' | 'TOKEN_CHECK_DIGIT' | 'TERMS_REQUIRED' | 'TERMS_CHANGED' }
  | { kind: 'limited'; retryAfter: number };

/**
 * The guest portal's use case: a device types a code in a network. The try is counted before any
 * lookup (brute-force limits, shared by every instance); a malformed or mistyped code is refused
 * without a lookup; a well-formed one is entered. A try let through, or failing on our side, is
 * taken back; only refusals count. A network with terms of use wants the version the guest
 * accepted (the form's box) before anything else: without it the code is not even counted, and
 * the version is written with the identification it starts.
 */
export async function enterCode(
  svc: Pick<Services, 'db' | 'cache' | 'local' | 'config' | 'log'>,
  input: { network: Network; mac: string; ip: string; typed: string; now: Date; acceptedTerms?: string | null },
): Promise<Entry> {
  const terms = termsVersion(input.network);
  if (terms && input.acceptedTerms !== terms) return { kind: 'refused', reason: input.acceptedTerms ? 'TERMS_CHANGED' : 'TERMS_REQUIRED' };
  const parsed = parseCode(input.typed);
  // The count and the index lookup leave together (ioredis pipelines commands of one tick) and
  // Redis runs them in that order, so the try is still counted before anything is looked up; the
  // lookup's answer is used only for a try under the limits.
  const counting = countPortalTry(svc, input.mac, input.ip);
  const unknown = 'problem' in parsed ? null : isSurelyUnknown(svc, parsed.code);
  const limit = await counting;
  if (limit.blocked) return { kind: 'limited', retryAfter: limit.retryAfter };
  if ('problem' in parsed) return { kind: 'refused', reason: parsed.problem === 'check_digit' ? 'TOKEN_CHECK_DIGIT' : 'TOKEN_FORMAT' };
  if (await unknown) return { kind: 'refused', reason: 'TOKEN_UNKNOWN' };
  let result: Awaited<ReturnType<typeof enter>>;
  let uncounted = false;
  // A try let through is taken back in the same round trip as the session write.
  const uncount = async () => {
    uncounted = true;
    await uncountPortalTry(svc, input.mac, input.ip);
  };
  try {
    result = await enter(svc, { network: input.network, mac: input.mac, code: parsed.code, now: input.now, termsVersion: terms, indexChecked: true }, uncount);
  } catch (err) {
    if (!uncounted) await uncountPortalTry(svc, input.mac, input.ip);
    throw err;
  }
  if ('refusal' in result) return { kind: 'refused', reason: result.refusal };
  return { kind: 'granted', activation: result };
}
