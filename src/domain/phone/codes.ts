import { randomInt, timingSafeEqual } from 'node:crypto';
import type { Cache } from '../../cache/cache.js';
import { hmac } from '../secret.js';
import { phoneRefusal } from './refusals.js';

/*
 * One-time codes the guest types: the 6-digit SMS code Kalitka makes, or the 4 digits of a flash
 * call the provider told us. NIST SP 800-63B's out-of-band rules: drawn from a CSPRNG, valid 10
 * minutes, used once, compared in constant time; at most 5 wrong tries, then the code is ended.
 *
 * Codes live only in the cache, and only as an HMAC under the server secret bound to their
 * verification id, so a cache dump reveals none. A try is counted before the comparison, in one
 * atomic step (Cache.hitUnder), so parallel guesses cannot get more than 5 comparisons; a right
 * code is then claimed once (the first claim wins), so two parallel right answers identify once.
 */

export const CODE_TTL_SECONDS = 600;
export const MAX_CODE_TRIES = 5;

const codeKey = (id: string) => `phone:code:${id}`;
const triesKey = (id: string) => `phone:code:${id}:tries`;
const usedKey = (id: string) => `phone:code:${id}:used`;
const VERIFICATION_ID = /^[A-Za-z0-9_-]{8,64}$/;

interface Stored {
  /** HMAC of `<verification id>:<code>` */
  h: string;
  /** Expiry, ms since epoch (domain time). */
  exp: number;
}

/** A 6-digit code, every value from 000000 to 999999 equally likely. */
export function generateSmsCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0');
}

const digest = (secret: Buffer, id: string, code: string) => Buffer.from(hmac(secret, 'phone code', `${id}:${code}`), 'hex');

function requireId(id: string): void {
  if (!VERIFICATION_ID.test(id)) throw new Error('a verification id is 8-64 characters of [A-Za-z0-9_-]');
}

export interface IssueCode {
  verificationId: string;
  code: string;
  now: Date;
  ttlSeconds?: number;
}

/** Keeps a code (hashed) for its verification; a new code for the same id replaces the old one. */
export async function storeCode(cache: Cache, secret: Buffer, { verificationId, code, now, ttlSeconds = CODE_TTL_SECONDS }: IssueCode): Promise<void> {
  requireId(verificationId);
  if (!/^\d{4,8}$/.test(code)) throw new Error('a code is 4-8 digits');
  const stored: Stored = { h: digest(secret, verificationId, code).toString('hex'), exp: now.getTime() + ttlSeconds * 1000 };
  await cache.del(triesKey(verificationId), usedKey(verificationId));
  await cache.set(codeKey(verificationId), JSON.stringify(stored), ttlSeconds);
}

/**
 * Counts one try at a code before it is compared (also for codes a provider checks, e.g. Twilio):
 * returns the tries left after this one, or refuses `PHONE_CODE_EXHAUSTED` once 5 were used.
 */
export async function countCodeTry(cache: Cache, verificationId: string, ttlSeconds = CODE_TTL_SECONDS): Promise<number> {
  requireId(verificationId);
  const { ok, counts } = await cache.hitUnder([{ key: triesKey(verificationId), limit: MAX_CODE_TRIES, windowSeconds: ttlSeconds }]);
  if (!ok) {
    await cache.del(codeKey(verificationId));
    throw phoneRefusal('PHONE_CODE_EXHAUSTED', 'Five wrong codes: ask for a new one');
  }
  return MAX_CODE_TRIES - counts[0].count;
}

export interface CheckCode {
  verificationId: string;
  /** What the guest typed; spaces and dashes are ignored. */
  typed: string;
  now: Date;
}

/**
 * Resolves when the typed code is this verification's, unexpired and not used before; the code is
 * then gone. Refusals: PHONE_CODE_EXPIRED (none, too old, or used), PHONE_CODE_WRONG (with
 * `triesLeft`), PHONE_CODE_EXHAUSTED (the fifth wrong try, or any try after it).
 */
export async function checkCode(cache: Cache, secret: Buffer, { verificationId, typed, now }: CheckCode): Promise<void> {
  requireId(verificationId);
  const raw = await cache.get(codeKey(verificationId));
  const stored = raw === null ? null : (JSON.parse(raw) as Stored);
  if (!stored || now.getTime() >= stored.exp) {
    if (stored) await cache.del(codeKey(verificationId));
    throw phoneRefusal('PHONE_CODE_EXPIRED', 'This code has expired; ask for a new one');
  }
  const triesLeft = await countCodeTry(cache, verificationId);
  const code = typed.replace(/[\s-]/g, '');
  const right = /^\d{4,8}$/.test(code) && timingSafeEqual(digest(secret, verificationId, code), Buffer.from(stored.h, 'hex'));
  if (!right) {
    if (triesLeft === 0) {
      await cache.del(codeKey(verificationId));
      throw phoneRefusal('PHONE_CODE_EXHAUSTED', 'Five wrong codes: ask for a new one');
    }
    throw phoneRefusal('PHONE_CODE_WRONG', 'This is not the code we sent', { triesLeft });
  }
  const [{ count }] = await cache.hitAll([usedKey(verificationId)], CODE_TTL_SECONDS);
  if (count !== 1) throw phoneRefusal('PHONE_CODE_EXPIRED', 'This code was used already');
  await cache.del(codeKey(verificationId), triesKey(verificationId));
}
