import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import type { Cache } from '../cache/cache.js';

/*
 * Grant secrets: what a controller's login (MikroTik HotSpot, CoovaChilli UAM) carries as the
 * password instead of the voucher code, so the code never leaves Kalitka in a URL. A secret is
 * bound to one device in one network, lives five minutes and is good for one RADIUS
 * Access-Request; the controller then asks /api/v1/radius/authorize, which redeems it here.
 * It lives only in the cache (Redis, shared by every instance; in process when embedded): losing
 * it costs the guest one more page load, which issues a fresh one.
 */

export const GRANT_TTL_S = 300;
// 16 characters fit CoovaChilli's one-block UAM password and carry ~93 bits; no look-alikes, nobody types them.
const ALPHABET = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
export const GRANT_SECRET_LENGTH = 16;

const secretKey = (networkId: string, mac: string) => `grant:${networkId}:${mac}`;
const usedKey = (networkId: string, mac: string, secret: string) =>
  `grant:used:${networkId}:${mac}:${createHash('sha256').update(secret).digest('hex').slice(0, 32)}`;

/** A password as the NAS received it: PAP's User-Password, or CHAP's id, response and challenge. */
export type Credential =
  | { kind: 'pap'; password: string }
  | { kind: 'chap'; id: number; response: Buffer; challenge: Buffer | null };

/**
 * A fresh secret for this device in this network; it replaces any earlier one, so only the newest
 * page the device was sent from can sign it in.
 */
export async function issueGrantSecret(cache: Cache, input: { networkId: string; mac: string; now: Date }): Promise<string> {
  let secret = '';
  for (let i = 0; i < GRANT_SECRET_LENGTH; i++) secret += ALPHABET[randomInt(ALPHABET.length)];
  const value = JSON.stringify({ s: secret, e: input.now.getTime() + GRANT_TTL_S * 1000 });
  await cache.set(secretKey(input.networkId, input.mac), value, GRANT_TTL_S);
  return secret;
}

const md5 = (...parts: Buffer[]) => parts.reduce((h, p) => h.update(p), createHash('md5')).digest();

/** Whether `credential` proves knowledge of `password` (CHAP per RFC 1994: MD5(id + password + challenge)). */
export function credentialMatches(credential: Credential, password: string): boolean {
  if (credential.kind === 'pap') {
    const [a, b] = [Buffer.from(credential.password, 'utf8'), Buffer.from(password, 'utf8')];
    return a.length === b.length && timingSafeEqual(a, b);
  }
  if (!credential.challenge || credential.response.length !== 16) return false;
  const expected = md5(Buffer.from([credential.id]), Buffer.from(password, 'utf8'), credential.challenge);
  return timingSafeEqual(expected, credential.response);
}

/**
 * Uses up the device's grant secret if `credential` proves it and it has not expired or been
 * used. Returns the secret (FreeRADIUS checks PAP/CHAP against it once more), or null. One
 * atomic counter decides "first use", so two Access-Requests racing with one secret cannot both
 * pass, whichever instance answers them.
 */
export async function redeemGrantSecret(
  cache: Cache,
  input: { networkId: string; mac: string; credential: Credential; now: Date },
): Promise<string | null> {
  const stored = await cache.get(secretKey(input.networkId, input.mac));
  if (!stored) return null;
  let grant: { s: string; e: number };
  try {
    grant = JSON.parse(stored);
  } catch {
    return null;
  }
  if (typeof grant.s !== 'string' || typeof grant.e !== 'number' || grant.e <= input.now.getTime()) return null;
  if (!credentialMatches(input.credential, grant.s)) return null;
  const [use] = await cache.hitAll([usedKey(input.networkId, input.mac, grant.s)], GRANT_TTL_S);
  return use.count === 1 ? grant.s : null;
}

/** An octets attribute as FreeRADIUS prints it (`0x` + hex), or null. */
function octets(value: string): Buffer | null {
  return /^0x(?:[0-9a-fA-F]{2})+$/.test(value) ? Buffer.from(value.slice(2), 'hex') : null;
}

/**
 * The credential of an Access-Request from its User-Password, or CHAP-Password (one id octet and a
 * 16-octet response) with CHAP-Challenge; null when it carries none. A CHAP-Password that cannot
 * be read is a credential that matches nothing.
 */
export function credentialOf(attrs: { userPassword?: string; chapPassword?: string; chapChallenge?: string }): Credential | null {
  if (attrs.chapPassword !== undefined) {
    const chap = octets(attrs.chapPassword);
    const challenge = attrs.chapChallenge === undefined ? null : octets(attrs.chapChallenge);
    if (!chap || chap.length !== 17) return { kind: 'chap', id: 0, response: Buffer.alloc(0), challenge: null };
    return { kind: 'chap', id: chap[0], response: chap.subarray(1), challenge };
  }
  if (attrs.userPassword !== undefined) return { kind: 'pap', password: attrs.userPassword };
  return null;
}
