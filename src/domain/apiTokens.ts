import type { Principal } from './actor.js';
import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { keys } from '../cache/cache.js';
import { nearCache } from '../cache/near.js';
import { conflict, notFound, unauthorized, unprocessable } from '../errors.js';
import type { Queryable } from '../store/db.js';
import { sqlState } from '../store/db.js';
import type { Services } from '../services.js';
import { checkLabel } from './text.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const PREFIX = 'klt_';

function base62(n: number, width: number): string {
  let out = '';
  for (let i = 0; i < width; i++) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

const checksum = (body: string) => base62(crc32(body), 6);

/** `klt_` + 30 random base62 characters + a 6-character base62 CRC32 of those 30. */
export function newApiToken(): string {
  let body = '';
  for (let i = 0; i < 30; i++) body += BASE62[randomInt(62)];
  return PREFIX + body + checksum(body);
}

/**
 * Tells a token worth looking up from noise, before any lookup: `klt_` tokens must carry a valid
 * checksum; the bootstrap administrator's configured token is 32+ characters of [A-Za-z0-9_].
 */
export function plausibleApiToken(token: string): boolean {
  if (token.startsWith(PREFIX)) {
    const body = token.slice(PREFIX.length, PREFIX.length + 30);
    return /^klt_[0-9A-Za-z]{36}$/.test(token) && checksum(body) === token.slice(-6);
  }
  return /^[A-Za-z0-9_]{32,128}$/.test(token);
}

export const hashApiToken = (secret: Buffer, token: string) => createHmac('sha256', secret).update(token).digest('hex');

export type { Principal } from './actor.js';

interface TokenLookup extends Principal {
  hash: string;
  allowed: boolean;
}

const LOOKUP_TTL_S = 60;
// Lookups are also kept in this process for a few seconds, so a poll costs no extra round trip.
// A revoke or a change of tokenLoginAllowed is broadcast, and every instance forgets at once.
const FORGET_CHANNEL = 'apitoken-forget';
const near = nearCache<TokenLookup | null>(5_000, 50_000);
const listening = new WeakSet<object>();

function listen(cache: Services['cache']): void {
  if (listening.has(cache)) return;
  listening.add(cache);
  cache.subscribe(FORGET_CHANNEL, (hash) => near.delete(hash));
}

/**
 * Forgets cached lookups of these token hashes on every instance: the local copies and Redis.
 * `refuse` leaves a cached refusal instead: a refill racing with the change (read from Postgres
 * just before it) only adds when the key is absent, so it cannot bring the old answer back.
 */
async function forgetLookups(svc: Pick<Services, 'cache'>, hashes: string[], mode: 'refuse' | 'drop'): Promise<void> {
  for (const hash of hashes) near.delete(hash);
  await Promise.all(
    hashes.map(async (hash) => {
      if (mode === 'refuse') await svc.cache.set(keys.apiToken(hash), '-', LOOKUP_TTL_S);
      else await svc.cache.del(keys.apiToken(hash));
      await svc.cache.publish(FORGET_CHANNEL, hash);
    }),
  );
}
const LAST_USED_EVERY_MS = 60_000;
const lastUsedWritten = new Map<string, number>();

/** Resolves a Bearer token; unknown, revoked and disallowed tokens all get the same 401. */
export async function authenticate(svc: Pick<Services, 'db' | 'cache' | 'secret' | 'log'>, token: string, now: Date): Promise<Principal> {
  if (!plausibleApiToken(token)) throw unauthorized();
  const hash = hashApiToken(svc.secret, token);
  listen(svc.cache);
  let found = near.get(hash);
  if (found === undefined) {
    found = await lookup(svc, hash);
    near.set(hash, found);
  }
  if (!found || !found.allowed || !timingSafeEqual(Buffer.from(found.hash), Buffer.from(hash))) throw unauthorized();
  noteLastUsed(svc, found.tokenId!, now);
  return { userId: found.userId, login: found.login, contractId: found.contractId, isSystem: found.isSystem, tokenId: found.tokenId };
}

/** The token's owner from the shared cache, or Postgres (which refills the cache). */
async function lookup(svc: Pick<Services, 'db' | 'cache'>, hash: string): Promise<TokenLookup | null> {
  const hit = await svc.cache.get(keys.apiToken(hash));
  if (hit) return hit === '-' ? null : (JSON.parse(hit) as TokenLookup);
  const { rows } = await svc.db.query<{ id: string; hash: string; user_id: string; login: string; contract_id: string | null; is_system: boolean; token_login_allowed: boolean }>(
    `select t.id, t.hash, u.id as user_id, u.login, u.contract_id, u.is_system, u.token_login_allowed
       from api_tokens t join users u on u.id = t.user_id
      where t.hash = $1::text and t.revoked_at is null`,
    [hash],
  );
  const r = rows[0];
  const found = r
    ? { tokenId: r.id, hash: r.hash, userId: r.user_id, login: r.login, contractId: r.contract_id, isSystem: r.is_system, allowed: r.token_login_allowed }
    : null;
  await svc.cache.add(keys.apiToken(hash), found ? JSON.stringify(found) : '-', LOOKUP_TTL_S);
  return found;
}

/** Last access, written at most once a minute per token (per instance here, across them in SQL), off the request path. */
function noteLastUsed(svc: Pick<Services, 'db' | 'log'>, tokenId: string, now: Date): void {
  const last = lastUsedWritten.get(tokenId);
  if (last !== undefined && now.getTime() - last < LAST_USED_EVERY_MS) return;
  lastUsedWritten.set(tokenId, now.getTime());
  setImmediate(() => {
    svc.db
      .query(
        `update api_tokens set last_used_at = $2::timestamptz
          where id = $1::uuid and (last_used_at is null or last_used_at <= $2::timestamptz - interval '1 minute')`,
        [tokenId, now],
      )
      .catch((err) => svc.log.warn({ err: err.message }, 'could not record API token use'));
  });
}

export interface ApiTokenJson {
  id: string;
  label: string;
  lastUsedAt: string | null;
  createdAt: string;
}

interface ApiTokenRow {
  id: string;
  label: string;
  last_used_at: Date | null;
  created_at: Date;
}

const toJson = (r: ApiTokenRow): ApiTokenJson => ({
  id: r.id,
  label: r.label,
  lastUsedAt: r.last_used_at?.toISOString() ?? null,
  createdAt: r.created_at.toISOString(),
});

export const MAX_LABEL = 20;

/** Makes a personal token; the secret is in the answer and nowhere else, ever. */
export async function createApiToken(
  svc: Pick<Services, 'db' | 'secret' | 'cache'>,
  input: { userId: string; label: string; now: Date; token?: string },
): Promise<ApiTokenJson & { token: string }> {
  const checked = checkLabel(input.label, MAX_LABEL);
  if ('problem' in checked) {
    throw unprocessable(
      'INVALID_LABEL',
      checked.problem === 'characters'
        ? 'A label may not hold control or invisible formatting characters (zero-width space, direction override, line break)'
        : `A label is 1 to ${MAX_LABEL} characters`,
    );
  }
  const { label } = checked;
  const token = input.token ?? newApiToken();
  try {
    const { rows } = await svc.db.query<ApiTokenRow>(
      `insert into api_tokens (user_id, label, hash, created_at) values ($1::uuid, $2::text, $3::text, $4::timestamptz)
       returning id, label, last_used_at, created_at`,
      [input.userId, label, hashApiToken(svc.secret, token), input.now],
    );
    // A configured token may have been tried before it existed; forget that cached "unknown".
    await forgetLookups(svc, [hashApiToken(svc.secret, token)], 'drop');
    return { ...toJson(rows[0]), token };
  } catch (err) {
    if (sqlState(err) === '23505') throw conflict('LABEL_TAKEN', `You already have a token labelled "${label}"`);
    throw err;
  }
}

export async function listApiTokens(q: Queryable, userId: string): Promise<ApiTokenJson[]> {
  const { rows } = await q.query<ApiTokenRow>(
    `select id, label, last_used_at, created_at from api_tokens
      where user_id = $1::uuid and revoked_at is null order by created_at, id`,
    [userId],
  );
  return rows.map(toJson);
}

/** Revokes at once on every instance: the cached lookup goes with it. */
export async function revokeApiToken(svc: Pick<Services, 'db' | 'cache'>, input: { userId: string; tokenId: string; now: Date }): Promise<void> {
  const { rows } = await svc.db.query<{ hash: string }>(
    `update api_tokens set revoked_at = $3::timestamptz
      where id = $1::uuid and user_id = $2::uuid and revoked_at is null returning hash`,
    [input.tokenId, input.userId, input.now],
  );
  if (!rows[0]) throw notFound('API token');
  await forgetLookups(svc, [rows[0].hash], 'refuse');
}

/** Forgets cached lookups of every token of a user on every instance (after tokenLoginAllowed changes). */
export async function forgetUserTokens(svc: Pick<Services, 'db' | 'cache'>, userId: string, allowed?: boolean): Promise<void> {
  const { rows } = await svc.db.query<{ hash: string }>(`select hash from api_tokens where user_id = $1::uuid`, [userId]);
  await forgetLookups(svc, rows.map((r) => r.hash), allowed === false ? 'refuse' : 'drop');
}
