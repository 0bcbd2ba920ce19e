// Domain layer: what a RADIUS server is told (Access-Request answers). Takes the acting principal:
// a contract's RADIUS client sees only its own networks. May import src/store/*, src/errors.ts and
// other domain modules.
import { AppError, conflict, notFound } from '../errors.js';
import type { Services } from '../services.js';
import { limitAttributes, networkIdsByNasIdentifier, type RadiusAttribute } from '../store/radius.js';
import { canSee, scopeOf, type Principal } from './actor.js';
import { isUuid } from './bounds.js';
import { credentialMatches, redeemGrantSecret, type Credential } from './grants.js';
import { normalizeMac } from './mac.js';
import { findNetwork, type Network } from './networks.js';
import { sessionState } from './sessions.js';

/** What a RADIUS server is told about one device: let it through (for how long), or not. */
export type RadiusAnswer =
  | { accept: true; sessionTimeout: number | null; cleartextPassword: string | null; attributes: RadiusAttribute[] }
  | { accept: false };

export type { RadiusAttribute } from '../store/radius.js';

// kalitka_limit_attributes is immutable: its answers are kept per process (a bounded memo), so a
// limited session costs PostgreSQL one call per distinct set of limits, not one per Access-Request.
const MEMO_MAX = 1000;
const memo = new Map<string, RadiusAttribute[]>();

/**
 * Rule 13: a session's limits as the RADIUS attributes of the network's NAS kind. The names, units
 * and splits are kalitka_limit_attributes's, the one definition the rlm_sql path and the
 * CoA-Request use too. Nothing to ask when the session has no limits.
 */
export async function sessionLimitAttributes(
  svc: Pick<Services, 'db'>,
  l: { controller: string; downKbps: number | null; upKbps: number | null; bytesRemaining: number | null },
): Promise<RadiusAttribute[]> {
  if (l.downKbps === null && l.upKbps === null && l.bytesRemaining === null) return [];
  const key = `${l.controller}|${l.downKbps}|${l.upKbps}|${l.bytesRemaining}`;
  const known = memo.get(key);
  if (known) return known;
  const attributes = await limitAttributes(svc.db, { controller: l.controller, downKbps: l.downKbps, upKbps: l.upKbps, bytes: l.bytesRemaining });
  if (memo.size >= MEMO_MAX) memo.clear();
  memo.set(key, attributes);
  return attributes;
}

/**
 * The network a NAS stands for: the one whose `nasIdentifier` setting equals the NAS-Identifier,
 * or the network whose id it is, among the networks the actor may see.
 */
export async function networkForNas(svc: Pick<Services, 'db' | 'cache' | 'local'>, actor: Principal, nasIdentifier: string): Promise<Network> {
  if (isUuid(nasIdentifier)) {
    const byId = await findNetwork(svc, nasIdentifier).catch((err) => {
      if (err instanceof AppError && err.status === 404) return null;
      throw err;
    });
    if (byId && canSee(actor, byId.contractId)) return byId;
  }
  // Every Access-Request of a NAS names it: the answer is kept a few seconds in this process, and
  // forgotten as soon as any network changes (LocalCaches.nasNetworks).
  const key = `${scopeOf(actor) ?? '*'} ${nasIdentifier}`;
  const generation = svc.local.networks.generation;
  const near = svc.local.nasNetworks.get(key);
  if (near && near.generation === generation) return findNetwork(svc, near.id);
  const ids = await networkIdsByNasIdentifier(svc.db, nasIdentifier, scopeOf(actor));
  if (ids.length === 0) throw notFound('Network');
  // Two networks answering to one name would let one contract's guests in through the other's NAS.
  if (ids.length > 1) {
    throw conflict('NAS_IDENTIFIER_AMBIGUOUS', `More than one network has nasIdentifier "${nasIdentifier}"`);
  }
  const network = await findNetwork(svc, ids[0]);
  // Kept only if no network changed while it was read (a change bumps the generation).
  if (svc.local.networks.generation === generation) svc.local.nasNetworks.set(key, { id: ids[0], generation });
  return network;
}

/** Whether the password is what MAC authentication sends: nothing, or the device's MAC in any spelling. */
function isMacPassword(credential: Credential, mac: string): boolean {
  if (credential.kind === 'pap') return credential.password === '' || normalizeMac(credential.password) === mac;
  const hex = mac.replace(/:/g, '');
  const spellings = ['', mac, mac.replace(/:/g, '-'), hex, hex.replace(/^(.{4})(.{4})(.{4})$/, '$1.$2.$3')];
  return spellings.some((p) => credentialMatches(credential, p) || credentialMatches(credential, p.toLowerCase()));
}

/**
 * Access-Request: is this device authorised in the NAS's network now, and for how many seconds
 * more. Follows sessionState, so the answer is "no" from the instant of expiry.
 *
 * With no password, or the device's MAC (or nothing) as the password, this is MAC
 * authentication: the device's identification decides. Any other password — what a MikroTik or
 * Chilli login sends after the portal let the device through — must be the device's grant secret
 * in this network (PAP, or CHAP with its challenge); it is used up, and returned so that
 * FreeRADIUS checks PAP/CHAP against it too. A User-Name naming another MAC than
 * Calling-Station-Id is refused: a secret is bound to its device.
 */
export async function radiusAuthorize(
  svc: Pick<Services, 'db' | 'cache' | 'local'>,
  actor: Principal,
  input: { nasIdentifier: string; mac: string; userName?: string | null; credential?: Credential | null; now: Date },
): Promise<RadiusAnswer> {
  const network = await networkForNas(svc, actor, input.nasIdentifier);
  const named = input.userName ? normalizeMac(input.userName) : null;
  if (named && named !== input.mac) return { accept: false };
  const state = await sessionState(svc, { networkId: network.id, mac: input.mac, now: input.now });
  if (!state.authorized) return { accept: false };
  let cleartextPassword: string | null = null;
  const credential = input.credential;
  if (credential && !isMacPassword(credential, input.mac)) {
    cleartextPassword = await redeemGrantSecret(svc.cache, { networkId: network.id, mac: input.mac, credential, now: input.now });
    if (cleartextPassword === null) return { accept: false };
  }
  const attributes = await sessionLimitAttributes(svc, { controller: network.controller, ...state });
  // Less than a second left still counts as authorised; a Session-Timeout of 0 means "none" to some NASes.
  return { accept: true, sessionTimeout: state.secondsRemaining === null ? null : Math.max(1, state.secondsRemaining), cleartextPassword, attributes };
}
