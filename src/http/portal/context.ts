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

/**
 * What this process signed or verified lately, per server secret: the same guest's page, reloads
 * and retries (a captive device probes again and again; a brute-forcer posts the same form) cost a
 * map lookup instead of an HMAC, base64 and JSON. Bounded (emptied whole when full); what is
 * returned is frozen, so one request cannot change another's context.
 */
interface Recent {
  /** By network id and the context's JSON: the signed string and when it was signed. */
  signed: Map<string, { signed: string; issuedAt: number; kept: number }>;
  /** By signed string: what it carries. Only strings whose signature checked are kept. */
  verified: Map<string, { networkId: string; context: PortalContext; issuedAt: number; kept: number }>;
}
const recentBySecret = new WeakMap<Buffer, Recent>();
/** At most this many of each, none longer than RECENT_KEY_MAX characters: a few MB at worst. */
const RECENT_MAX = 5_000;
const RECENT_KEY_MAX = 1_024;
/** A signed context is handed out again for a minute (it is good for six hours); memories last as long. */
const RESIGN_AFTER_MS = 60_000;

function recentOf(secret: Buffer): Recent {
  let recent = recentBySecret.get(secret);
  if (!recent) recentBySecret.set(secret, (recent = { signed: new Map(), verified: new Map() }));
  return recent;
}

/** Wall-clock age of a memory (not domain time: tests move their clocks). */
const stale = (entry: { kept: number }) => Date.now() - entry.kept > RESIGN_AFTER_MS;

function remember<V extends { kept: number }>(map: Map<string, V>, key: string, value: V): void {
  if (key.length > RECENT_KEY_MAX) return; // long redirect URLs are signed each time
  if (map.size >= RECENT_MAX) map.clear();
  map.set(key, value);
}

const frozen = (context: PortalContext): PortalContext => {
  Object.freeze(context.params);
  return Object.freeze(context);
};

export function signContext(secret: Buffer, networkId: string, context: PortalContext, now: Date): string {
  const json = JSON.stringify(context);
  const recent = recentOf(secret).signed;
  const key = `${networkId} ${json}`;
  const last = recent.get(key);
  const at = now.getTime();
  // Not one signed "in the future" either: a clock set back must not hand out a context it would refuse.
  if (last && !stale(last) && last.issuedAt <= at && at - last.issuedAt < RESIGN_AFTER_MS) return last.signed;
  const payload = Buffer.from(`{"n":${JSON.stringify(networkId)},"c":${json},"i":${at}}`).toString('base64url');
  const signed = `${payload}.${hmac(secret, 'portal-context', payload)}`;
  remember(recent, key, { signed, issuedAt: at, kept: Date.now() });
  return signed;
}

/** The context if the signature is ours, it is for this network, and it is not stale; else null. */
export function verifyContext(secret: Buffer, networkId: string, signed: unknown, now: Date): PortalContext | null {
  return verifySigned(secret, networkId, signed, now)?.context ?? null;
}

const fresh = (issuedAt: number, now: Date) => now.getTime() - issuedAt <= MAX_AGE_MS && issuedAt <= now.getTime() + 60_000;

/** The same, with when it was signed (ms since epoch). */
export function verifySigned(secret: Buffer, networkId: string, signed: unknown, now: Date): { context: PortalContext; issuedAt: number } | null {
  if (typeof signed !== 'string' || signed.length > 8192) return null;
  const recent = recentOf(secret).verified;
  const known = recent.get(signed);
  if (known && !stale(known)) return known.networkId === networkId && fresh(known.issuedAt, now) ? { context: known.context, issuedAt: known.issuedAt } : null;
  const parts = signed.split('.');
  if (parts.length !== 2) return null;
  const [payload, mac] = parts;
  if (!payload || !mac) return null;
  const expected = Buffer.from(hmac(secret, 'portal-context', payload));
  const given = Buffer.from(mac);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  let data: Signed;
  try {
    data = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Signed;
  } catch {
    return null;
  }
  if (typeof data !== 'object' || data === null || typeof data.n !== 'string' || typeof data.i !== 'number' || typeof data.c !== 'object' || data.c === null) return null;
  const context = frozen(data.c);
  remember(recent, signed, { networkId: data.n, context, issuedAt: data.i, kept: Date.now() });
  if (data.n !== networkId || !fresh(data.i, now)) return null;
  return { context, issuedAt: data.i };
}
