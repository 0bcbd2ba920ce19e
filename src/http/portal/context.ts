import { timingSafeEqual } from 'node:crypto';
import { hmac } from '../../domain/secret.js';
import type { PortalContext } from '../../controllers/types.js';

/** The controller context carried by the form, signed so a guest cannot change MAC or grant URL. */
interface Signed {
  n: string; // network id
  c: PortalContext;
  i: number; // issued at, ms
}

const MAX_AGE_MS = 6 * 3600_000;

export function signContext(secret: Buffer, networkId: string, context: PortalContext, now: Date): string {
  const payload = Buffer.from(JSON.stringify({ n: networkId, c: context, i: now.getTime() } satisfies Signed)).toString('base64url');
  return `${payload}.${hmac(secret, 'portal-context', payload)}`;
}

/** The context if the signature is ours, it is for this network, and it is not stale; else null. */
export function verifyContext(secret: Buffer, networkId: string, signed: unknown, now: Date): PortalContext | null {
  return verifySigned(secret, networkId, signed, now)?.context ?? null;
}

/** The same, with when it was signed (ms since epoch). */
export function verifySigned(secret: Buffer, networkId: string, signed: unknown, now: Date): { context: PortalContext; issuedAt: number } | null {
  if (typeof signed !== 'string' || signed.length > 8192) return null;
  const [payload, mac] = signed.split('.');
  if (!payload || !mac) return null;
  const expected = Buffer.from(hmac(secret, 'portal-context', payload));
  const given = Buffer.from(mac);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  try {
    const data = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Signed;
    if (data.n !== networkId || now.getTime() - data.i > MAX_AGE_MS || data.i > now.getTime() + 60_000) return null;
    return { context: data.c, issuedAt: data.i };
  } catch {
    return null;
  }
}
