// Domain layer: the bounds of a token request, defined once. The API's JSON schemas, the panel's
// form checks and the use cases all read them from here. May import only src/errors.ts.
import { badRequest, unprocessable } from '../errors.js';

/** Rule 10: a contract holds at most this many unused tokens. */
export const UNUSED_TOKEN_LIMIT = 200;

export const TOKEN_BOUNDS = {
  /** Tokens made by one request. */
  count: { min: 1, max: UNUSED_TOKEN_LIMIT },
  /** Rule 3: a time-limited token's term in whole days. */
  durationDays: { min: 1, max: 30 },
  /** Characters (code points) of a note on whom a slip was issued to. */
  issuedToMax: 500,
  /** Rows of one token listing: the default and the most. */
  list: { defaultLimit: 1000, maxLimit: 5000 },
} as const;

/**
 * Rule 13: a token's limits (null = unlimited). Speeds in kbit/s, the quota in MiB per activated
 * copy, the device cap for multi-use codes only. Rule 14: an extension adds days and/or MiB.
 */
export const LIMIT_BOUNDS = {
  kbps: { min: 1, max: 10_000_000 },
  quotaMb: { min: 1, max: 10_000_000 },
  maxDevices: { min: 1, max: 1000 },
  /** One extension adds 1 to 30 days (the term of a new token)… */
  extendDays: { min: 1, max: 30 },
  /** …and the term from activation never passes a year… */
  maxTermDays: 366,
  /** …nor a copy's quota 100 000 000 MiB (about 95 TiB). */
  maxQuotaMb: 100_000_000,
} as const;

/** A token's limits as the API names them; null = unlimited. */
export interface TokenLimits {
  downKbps: number | null;
  upKbps: number | null;
  quotaMb: number | null;
  maxDevices: number | null;
}

export const LIMIT_FIELDS = ['downKbps', 'upKbps', 'quotaMb', 'maxDevices'] as const;

/** Every allowed term in days, as strings: the panel's choices and the API's query pattern. */
export const DURATION_CHOICES: string[] = Array.from(
  { length: TOKEN_BOUNDS.durationDays.max - TOKEN_BOUNDS.durationDays.min + 1 },
  (_, i) => String(TOKEN_BOUNDS.durationDays.min + i),
);

const within = (n: unknown, b: { min: number; max: number }): n is number =>
  typeof n === 'number' && Number.isInteger(n) && n >= b.min && n <= b.max;

export const validCount = (n: unknown): n is number => within(n, TOKEN_BOUNDS.count);
/** A term in days, or null for unlimited. */
export const validDuration = (n: unknown): n is number | null => n === null || within(n, TOKEN_BOUNDS.durationDays);
export const validIssuedTo = (s: string | null): boolean => s === null || [...s].length <= TOKEN_BOUNDS.issuedToMax;

/** The same refusal the API's schema gives, for a caller that did not go through it. */
const invalid = (message: string) => badRequest('VALIDATION_ERROR', message);

export function checkGenerateRequest(r: { count: unknown; multiUse: unknown; durationDays: unknown }): void {
  const { count, durationDays } = TOKEN_BOUNDS;
  if (!validCount(r.count)) throw invalid(`count must be an integer from ${count.min} to ${count.max}`);
  if (typeof r.multiUse !== 'boolean') throw invalid('multiUse must be true or false');
  if (!validDuration(r.durationDays)) {
    throw invalid(`durationDays must be null (unlimited) or an integer from ${durationDays.min} to ${durationDays.max}`);
  }
}

const limitBound = { downKbps: LIMIT_BOUNDS.kbps, upKbps: LIMIT_BOUNDS.kbps, quotaMb: LIMIT_BOUNDS.quotaMb, maxDevices: LIMIT_BOUNDS.maxDevices };

/** Each limit null or within its bounds (400 VALIDATION_ERROR); a device cap on a single-use token is a rule violation (422). */
export function checkLimits(r: { multiUse: unknown } & Partial<Record<(typeof LIMIT_FIELDS)[number], unknown>>): void {
  for (const field of LIMIT_FIELDS) {
    const v = r[field];
    if (v !== undefined && v !== null && !within(v, limitBound[field])) {
      throw invalid(`${field} must be null (unlimited) or an integer from ${limitBound[field].min} to ${limitBound[field].max}`);
    }
  }
  if (r.maxDevices !== undefined && r.maxDevices !== null && r.multiUse !== true) {
    throw unprocessable('MAX_DEVICES_SINGLE_USE', 'maxDevices applies to multi-use tokens only: a single-use token serves one device');
  }
}

export function checkIssuedTo(issuedTo: string | null): void {
  if (!validIssuedTo(issuedTo)) throw invalid(`issuedTo must be at most ${TOKEN_BOUNDS.issuedToMax} characters`);
}

/** A listing's page size: the default when not asked, never more than the most. */
export const listLimit = (asked: number | undefined): number =>
  Math.min(asked ?? TOKEN_BOUNDS.list.defaultLimit, TOKEN_BOUNDS.list.maxLimit);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An id that can name a row; anything else names nothing (NOT_FOUND, not a database error). */
export const isUuid = (id: string): boolean => UUID.test(id);
