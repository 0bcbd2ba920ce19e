// Domain layer: operators' personal API tokens (DESIGN §5). Use cases take narrow deps; they may
// import src/store, src/cache and errors, never src/http.
import { createHmac, hash, randomInt, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { Logger } from 'pino';
import { channels, keys, type Cache } from '../cache/cache.js';
import type { LocalCaches } from '../cache/local.js';
import { conflict, notFound, unauthorized, unprocessable } from '../errors.js';
import type { Queryable } from '../store/db.js';
import { sqlState } from '../store/db.js';
import * as store from '../store/apiTokens.js';
import type { Principal } from './actor.js';
import { checkLabel as checkLabelText } from './text.js';

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

export interface ApiTokenDeps {
  db: Queryable;
  cache: Cache;
  secret: Buffer;
  log: Logger;
  local: Pick<LocalCaches, 'apiTokens' | 'apiTokenHashes' | 'apiTokenLastUsed'>;
}

// Lookups are kept a minute in the shared cache and a few seconds in this process (deps.local),
// so a poll costs no extra round trip. A revoke or a change of who may log in is broadcast, and
// every instance forgets at once (openServices subscribes to the channel).
const LOOKUP_TTL_S = 60;

/**
 * Forgets cached lookups of these token hashes on every instance: the local copies and Redis.
 * `refuse` leaves a cached refusal instead: a refill racing with the change (read from Postgres
 * just before it) only adds when the key is absent, so it cannot bring the old answer back.
 */
export async function forgetLookups(
  deps: { cache: Cache; local: Pick<LocalCaches, 'apiTokens'> },
  hashes: string[],
  mode: 'refuse' | 'drop',
): Promise<void> {
  for (const hash of hashes) deps.local.apiTokens.delete(hash);
  await Promise.all(
    hashes.map(async (hash) => {
      if (mode === 'refuse') await deps.cache.set(keys.apiToken(hash), '-', LOOKUP_TTL_S);
      else await deps.cache.del(keys.apiToken(hash));
      await deps.cache.publish(channels.apiTokenForget, hash);
    }),
  );
}
const LAST_USED_EVERY_MS = 60_000;

/** Resolves a Bearer token; unknown, revoked and disallowed tokens all get the same 401. */
export async function authenticate(deps: ApiTokenDeps, token: string, now: Date): Promise<Principal> {
  const hash = storedHashOf(deps, token);
  // Only owners are kept in this process: a refusal is read from the shared cache each time, so a
  // token allowed again works on every instance at once, without waiting for the broadcast.
  let found: store.ApiTokenOwner | null | undefined = deps.local.apiTokens.get(hash);
  if (found === undefined) {
    found = await lookup(deps, hash);
    if (found) deps.local.apiTokens.set(hash, found);
  }
  if (!found || !found.allowed || !timingSafeEqual(Buffer.from(found.hash), Buffer.from(hash))) throw unauthorized();
  noteLastUsed(deps, found.tokenId, now);
  return { userId: found.userId, login: found.login, contractId: found.contractId, isSystem: found.isSystem, role: found.role, tokenId: found.tokenId };
}

/**
 * The token's stored hash (HMAC with the pepper), remembered a few seconds in this process under
 * the token's SHA-256, so a poller's every request does not pay for a fresh HMAC. Noise is refused
 * before anything is computed or kept.
 */
function storedHashOf(deps: Pick<ApiTokenDeps, 'secret' | 'local'>, token: string): string {
  const key = hash('sha256', token, 'base64');
  const known = deps.local.apiTokenHashes.get(key);
  if (known !== undefined) return known;
  if (!plausibleApiToken(token)) throw unauthorized();
  const stored = hashApiToken(deps.secret, token);
  deps.local.apiTokenHashes.set(key, stored);
  return stored;
}

/** The token's owner from the shared cache, or Postgres (which refills the cache). */
async function lookup(deps: Pick<ApiTokenDeps, 'db' | 'cache'>, hash: string): Promise<store.ApiTokenOwner | null> {
  const hit = await deps.cache.get(keys.apiToken(hash));
  if (hit) return hit === '-' ? null : (JSON.parse(hit) as store.ApiTokenOwner);
  const found = await store.findApiTokenOwner(deps.db, hash);
  await deps.cache.add(keys.apiToken(hash), found ? JSON.stringify(found) : '-', LOOKUP_TTL_S);
  return found;
}

/** Last access, written at most once a minute per token (per instance here, across them in SQL), off the request path. */
function noteLastUsed(deps: Pick<ApiTokenDeps, 'db' | 'log' | 'local'>, tokenId: string, now: Date): void {
  const written = deps.local.apiTokenLastUsed;
  const last = written.get(tokenId);
  if (last !== undefined && now.getTime() - last < LAST_USED_EVERY_MS) return;
  written.set(tokenId, now.getTime());
  setImmediate(() => {
    store.touchApiToken(deps.db, tokenId, now).catch((err) => deps.log.warn({ err: err.message }, 'could not record API token use'));
  });
}

export interface ApiTokenJson {
  id: string;
  label: string;
  lastUsedAt: string | null;
  createdAt: string;
}

const toJson = (r: store.ApiTokenRow): ApiTokenJson => ({
  id: r.id,
  label: r.label,
  lastUsedAt: r.last_used_at?.toISOString() ?? null,
  createdAt: r.created_at.toISOString(),
});

export const MAX_LABEL = 20;

/**
 * The label as kept: trimmed of all Unicode white space, 1 to MAX_LABEL user-perceived characters
 * (a family emoji is one), nothing invisible or direction-changing (src/domain/text.ts).
 */
export function checkLabel(raw: string): string {
  const checked = checkLabelText(raw, MAX_LABEL);
  if ('problem' in checked) {
    throw unprocessable(
      'INVALID_LABEL',
      checked.problem === 'characters'
        ? 'A label may not hold control or invisible formatting characters (zero-width space, direction override, line break)'
        : `A label is 1 to ${MAX_LABEL} characters`,
    );
  }
  return checked.label;
}

/** Makes a personal token; the secret is in the answer and nowhere else, ever. */
export async function createApiToken(
  deps: Pick<ApiTokenDeps, 'db' | 'secret' | 'cache'> & { local: Pick<LocalCaches, 'apiTokens'> },
  input: { userId: string; label: string; now: Date; token?: string },
): Promise<ApiTokenJson & { token: string }> {
  const label = checkLabel(input.label);
  const token = input.token ?? newApiToken();
  try {
    const row = await store.insertApiToken(deps.db, { userId: input.userId, label, hash: hashApiToken(deps.secret, token), now: input.now });
    // A configured token may have been tried before it existed; forget that cached "unknown".
    await forgetLookups(deps, [hashApiToken(deps.secret, token)], 'drop');
    return { ...toJson(row), token };
  } catch (err) {
    if (sqlState(err) === '23505') throw conflict('LABEL_TAKEN', `You already have a token labelled "${label}"`);
    throw err;
  }
}

/** The actor's own live tokens. */
export async function listApiTokens(deps: Pick<ApiTokenDeps, 'db'>, actor: Pick<Principal, 'userId'>): Promise<ApiTokenJson[]> {
  return (await store.listApiTokens(deps.db, actor.userId)).map(toJson);
}

/** Revokes one of the actor's own tokens at once on every instance: the cached lookup goes with it. */
export async function revokeApiToken(
  deps: Pick<ApiTokenDeps, 'db' | 'cache'> & { local: Pick<LocalCaches, 'apiTokens'> },
  actor: Pick<Principal, 'userId'>,
  tokenId: string,
  now: Date,
): Promise<void> {
  const hash = await store.revokeApiToken(deps.db, { userId: actor.userId, tokenId, now });
  if (!hash) throw notFound('API token');
  await forgetLookups(deps, [hash], 'refuse');
}

/** Forgets cached lookups of every token of a user on every instance (after who may log in changed). */
export async function forgetUserTokens(deps: Pick<ApiTokenDeps, 'db' | 'cache'> & { local: Pick<LocalCaches, 'apiTokens'> }, userId: string, allowed?: boolean): Promise<void> {
  await forgetLookups(deps, await store.apiTokenHashesOfUser(deps.db, userId), allowed === false ? 'refuse' : 'drop');
}
