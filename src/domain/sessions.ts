// Domain layer: session state — is a device authorised in a network now — kept in the cache and
// refilled from Postgres. Use cases that take an actor enforce tenancy. May import src/store/*,
// src/cache/cache.ts (keys and the interface), src/errors.ts and other domain modules.
import { keys } from '../cache/cache.js';
import type { Services } from '../services.js';
import { limitsEnforced } from '../controllers/index.js';
import { quotaLeft } from '../store/accounting.js';
import { liveByMac, liveInContract, type Identification, type LiveIdentification } from '../store/identifications.js';
import type { Principal } from './actor.js';
import { findNetwork, type Network } from './networks.js';
import { findVisibleNetwork } from './tenancy.js';

/** What the cache keeps per MAC: the live identification, enough to answer a poll. */
interface CachedSession {
  contractId: string;
  networkId: string;
  tokenId: string | null;
  code: string | null;
  activatedAt: string;
  expiresAt: string | null;
  /** Rule 13, from the token copy (absent in entries written before limits: unlimited). */
  downKbps?: number | null;
  upKbps?: number | null;
  quotaMb?: number | null;
}

/** A session's limits as a token copy carries them (rule 13; null = unlimited, quota in MiB). */
export interface SessionLimits {
  downKbps: number | null;
  upKbps: number | null;
  quotaMb: number | null;
}

export interface SessionState {
  mac: string;
  authorized: boolean;
  tokenId: string | null;
  code: string | null;
  activatedAt: string | null;
  expiresAt: string | null;
  secondsRemaining: number | null;
  downKbps: number | null;
  upKbps: number | null;
  /** What is left of the quota in bytes: null when unlimited. */
  bytesRemaining: number | null;
  /** False when the network's controller cannot enforce limits (DESIGN §4). */
  limitsEnforced: boolean;
}

export const MIB = 1024 * 1024;

/** A whole quota in bytes (a copy nothing has been accounted to yet); null when unlimited. */
export const bytesRemaining = (quotaMb: number | null | undefined): number | null => (quotaMb == null ? null : quotaMb * MIB);

/** What is left of a copy's quota now: the quota less the bytes RADIUS accounting charged to it. */
async function leftOf(svc: Pick<Services, 'db'>, tokenId: string | null, quotaMb: number | null): Promise<number | null> {
  if (quotaMb === null || tokenId === null) return bytesRemaining(quotaMb);
  const left = await quotaLeft(svc.db, tokenId);
  return left === null ? null : Math.max(0, left);
}

const SESSION_TTL_S = 300;
// "No live identification". While it lives, a reader that saw an old row in Postgres cannot put
// it back; it is also what a poll for an unknown device finds, so Postgres is asked once per 30 s.
const TOMBSTONE_TTL_S = 30;
const TOMBSTONE = '-';

function toCached(i: Identification, limits: SessionLimits | null): CachedSession {
  return {
    contractId: i.contract_id,
    networkId: i.network_id,
    tokenId: i.token_id,
    code: i.code,
    activatedAt: i.started_at.toISOString(),
    expiresAt: i.expires_at?.toISOString() ?? null,
    downKbps: limits?.downKbps ?? null,
    upKbps: limits?.upKbps ?? null,
    quotaMb: limits?.quotaMb ?? null,
  };
}

const limitsOf = (i: LiveIdentification): SessionLimits => ({ downKbps: i.down_kbps, upKbps: i.up_kbps, quotaMb: i.quota_mb });

/**
 * Write-through after an identification starts or changes (overwrites a tombstone). `limits` are
 * its token copy's (none: unlimited, as for a phone identification).
 */
export async function rememberSession(svc: Pick<Services, 'cache'>, i: Identification, limits: SessionLimits | null = null): Promise<void> {
  await svc.cache.set(keys.session(i.mac), JSON.stringify(toCached(i, limits)), SESSION_TTL_S);
}

/**
 * After a live identification changed (an extension, rule 14): the cached entry goes, so the next
 * answer is read from PostgreSQL. Dropping it rather than writing the new value fails closed: an
 * end committed meanwhile (whose tombstone this removes) is what that read finds, where a late
 * write of the extended session would hide it for the entry's lifetime.
 */
export async function refreshSession(svc: Pick<Services, 'cache'>, mac: string): Promise<void> {
  await svc.cache.del(keys.session(mac));
}

/** Write-through after an identification ends. */
export async function forgetSession(svc: Pick<Services, 'cache'>, mac: string): Promise<void> {
  await svc.cache.set(keys.session(mac), TOMBSTONE, TOMBSTONE_TTL_S);
}

/** The device's live identification anywhere, from the cache or Postgres (which refills the cache). */
async function liveSession(svc: Pick<Services, 'db' | 'cache' | 'local'>, mac: string): Promise<CachedSession | null> {
  const hit = await svc.cache.get(keys.session(mac));
  if (hit === TOMBSTONE) return null;
  if (hit) return JSON.parse(hit) as CachedSession;
  const live = await liveByMac(svc.db, mac);
  // Fills use "set if absent", so a fill racing an activation or an end never overwrites it.
  if (!live) {
    await svc.cache.add(keys.session(mac), TOMBSTONE, TOMBSTONE_TTL_S);
    return null;
  }
  const cached = toCached(live, limitsOf(live));
  await svc.cache.add(keys.session(mac), JSON.stringify(cached), SESSION_TTL_S);
  return cached;
}

/** Is this device authorised in this network now? "No" from the instant of expiry, swept or not. */
export async function sessionState(
  svc: Pick<Services, 'db' | 'cache' | 'local'>,
  input: { networkId: string; mac: string; now: Date },
): Promise<SessionState> {
  // Both reads go out together (one pipelined round trip to Redis).
  const [network, live] = await Promise.all([findNetwork(svc, input.networkId), liveSession(svc, input.mac)]);
  return stateIn(svc, network, live, input);
}

const notAuthorized = (network: Network, mac: string): SessionState => ({
  mac,
  authorized: false,
  tokenId: null,
  code: null,
  activatedAt: null,
  expiresAt: null,
  secondsRemaining: null,
  downKbps: null,
  upKbps: null,
  bytesRemaining: null,
  limitsEnforced: limitsEnforced(network),
});

/** The answer for a device whose live identification (if any) has been read. */
function stateIn(svc: Pick<Services, 'db'>, network: Network, live: CachedSession | null, input: { mac: string; now: Date }): SessionState | Promise<SessionState> {
  const expiresAt = live?.expiresAt ? new Date(live.expiresAt) : null;
  if (!live || live.contractId !== network.contractId || (expiresAt && expiresAt <= input.now)) return notAuthorized(network, input.mac);
  // A quota used up is "no" at once, as the instant of expiry is: the end it causes may not have
  // reached the cache (the rlm_sql accounting path cannot tell it).
  const state = (left: number | null): SessionState => {
    if (left === 0) return notAuthorized(network, input.mac);
    return {
      mac: input.mac,
      authorized: true,
      tokenId: live.tokenId,
      code: live.code,
      activatedAt: live.activatedAt,
      expiresAt: live.expiresAt,
      secondsRemaining: expiresAt ? Math.floor((expiresAt.getTime() - input.now.getTime()) / 1000) : null,
      ...limitFields(network, { downKbps: live.downKbps ?? null, upKbps: live.upKbps ?? null }, left),
    };
  };
  // Only a quota needs PostgreSQL (what accounting charged); the rest is answered from the cache.
  const quotaMb = live.quotaMb ?? null;
  return quotaMb === null || live.tokenId === null ? state(bytesRemaining(quotaMb)) : leftOf(svc, live.tokenId, quotaMb).then(state);
}

function limitFields(network: Network, limits: Pick<SessionLimits, 'downKbps' | 'upKbps'>, left: number | null) {
  return {
    downKbps: limits.downKbps,
    upKbps: limits.upKbps,
    bytesRemaining: left,
    limitsEnforced: limitsEnforced(network),
  };
}

/** A device's state in a network the actor may see (the session-state API). */
export async function deviceSession(
  svc: Pick<Services, 'db' | 'cache' | 'local'>,
  actor: Principal,
  input: { networkId: string; mac: string; now: Date },
): Promise<SessionState> {
  // The network (checked for the actor) and the device's session in one round trip; the session
  // read is answered only once the network is known to be the actor's.
  const [network, live] = await Promise.all([findVisibleNetwork(svc, actor, input.networkId), liveSession(svc, input.mac)]);
  return stateIn(svc, network, live, input);
}

/** Live identifications in the contract of a network the actor may see (the controller's view). Read from Postgres. */
export async function listSessions(
  svc: Pick<Services, 'db' | 'cache' | 'local'>,
  actor: Principal,
  input: { networkId: string; now: Date },
): Promise<SessionState[]> {
  const network = await findVisibleNetwork(svc, actor, input.networkId);
  const rows = await liveInContract(svc.db, network.contractId, input.now);
  return rows.map((i) => ({
    mac: i.mac,
    authorized: true,
    tokenId: i.token_id,
    code: i.code,
    activatedAt: i.started_at.toISOString(),
    expiresAt: i.expires_at?.toISOString() ?? null,
    secondsRemaining: i.expires_at ? Math.floor((i.expires_at.getTime() - input.now.getTime()) / 1000) : null,
    ...limitFields(network, limitsOf(i), i.quota_left === null ? null : Math.max(0, i.quota_left)),
  }));
}
