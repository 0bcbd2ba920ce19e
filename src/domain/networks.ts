// Domain layer: networks (hotspot sites). Use cases take narrow deps and the acting principal; they
// may import src/store, src/cache, src/controllers and errors, never src/http.
// (The store import comes first: src/controllers reads CONTROLLERS while this module loads.)
import type { Services } from '../services.js';
import * as store from '../store/networks.js';
import { channels, keys, type Cache } from '../cache/cache.js';
import type { LocalCaches } from '../cache/local.js';
import { checkSavedTargets, schemaOf, validateSettings } from '../controllers/index.js';
import { notFound, unprocessable } from '../errors.js';
import type { Db, Queryable } from '../store/db.js';
import { requireOperator, scopeOf, type Principal } from './actor.js';
import { requireContract } from './contracts.js';
import { cleanName } from './names.js';
import { annulToken } from './tokens.js';
import { endIdentificationsById, liveTokenlessInNetwork } from '../store/phoneIdentifications.js';
import { forgetEnded } from './identifications.js';
import { checkNetworkPhone } from './phone/providerSettings.js';

export { CONTROLLER_KINDS as CONTROLLERS } from '../store/networks.js';
export type { ControllerKind, Network, NetworkSettings } from '../store/networks.js';
type Network = store.Network;
type NetworkSettings = store.NetworkSettings;

/** Setting names that hold secrets: stored, used by adapters, never shown back. */
export const isSecretSetting = (name: string) => /secret|password|faskey|apikey/i.test(name);

export interface NetworkDeps {
  db: Db;
  cache: Cache;
  local: Pick<LocalCaches, 'networks'>;
}
/** What the cached lookup needs (no transactions). */
type LookupDeps = { db: Queryable; cache: Cache; local: Pick<LocalCaches, 'networks'> };

const NETWORK_TTL_S = 300;
/** In the shared cache: "this network serves nobody" (deleted, or its contract disabled). */
const GONE = '-';

/**
 * A network that serves guests, by id, cached: every portal request and poll needs its contract.
 * A deleted network, or one whose contract is disabled, is NOT_FOUND here — unless `retired` is
 * asked for (the controller calls that de-authorise a deleted network's last devices).
 */
export async function findNetwork(deps: LookupDeps, id: string, options: { retired?: boolean } = {}): Promise<Network> {
  if (options.retired) {
    const any = await store.findAnyNetwork(deps.db, id);
    if (!any) throw notFound('Network');
    return any;
  }
  const near = deps.local.networks.get(id);
  if (near) return near;
  const hit = await deps.cache.get(keys.network(id));
  if (hit === GONE) throw notFound('Network');
  if (hit) {
    const network = JSON.parse(hit) as Network;
    deps.local.networks.set(id, network);
    return network;
  }
  const network = await store.findServingNetwork(deps.db, id);
  if (!network) throw notFound('Network');
  // "Add if absent": a refill racing an edit never overwrites what the edit wrote.
  await deps.cache.add(keys.network(id), JSON.stringify(network), NETWORK_TTL_S);
  return network;
}

/**
 * After a network or its contract changed: the shared cache gets the new state written through
 * (or GONE), and every instance forgets its own copy.
 */
export async function republishNetworks(deps: LookupDeps, ids: string[]): Promise<void> {
  await Promise.all(
    ids.map(async (id) => {
      const network = await store.findServingNetwork(deps.db, id);
      deps.local.networks.delete(id);
      await deps.cache.set(keys.network(id), network ? JSON.stringify(network) : GONE, NETWORK_TTL_S);
      await deps.cache.publish(channels.networkForget, id);
    }),
  );
}

/** KALITKA_OUTBOUND_ALLOW: what a network's outbound targets may reach besides public addresses. */
type OutboundConfig = { config: { outboundAllow: readonly string[] } };

export async function createNetwork(
  deps: LookupDeps & OutboundConfig,
  actor: Principal,
  input: { contractId: string; name: string; controller: store.ControllerKind; settings: NetworkSettings; now: Date },
): Promise<Network> {
  await requireContract(deps, actor, input.contractId);
  requireOperator(actor, 'Contract');
  const name = cleanName(input.name, 'network');
  // Each controller's own schema: required settings present, no unknown names, defaults filled in;
  // then no outbound target the saver may not approve (422 OUTBOUND_REFUSED says who can).
  const settings = validateSettings(input.controller, input.settings);
  await checkNetworkPhone(deps, input.contractId, settings);
  const { targetsApproved } = await checkSavedTargets(input.controller, settings, { allow: deps.config.outboundAllow, actor });
  const network = await store.insertNetwork(deps.db, { ...input, name, settings, targetsApproved });
  if (!network) throw notFound('Contract');
  // A new network may take a NAS-Identifier another one answers to: every instance forgets what
  // it knew of NAS names (LocalCaches.nasNetworks follows the networks cache's generation).
  await republishNetworks(deps, [network.id]);
  return network;
}

export async function listNetworks(deps: { db: Queryable }, actor: Principal, contractId: string): Promise<Network[]> {
  await requireContract(deps, actor, contractId);
  requireOperator(actor, 'Contract');
  return store.listNetworks(deps.db, contractId);
}

/** A network the actor may manage; another contract's (or a deleted one) is NOT_FOUND. */
export async function getNetwork(deps: { db: Queryable }, actor: Principal, id: string): Promise<Network> {
  requireOperator(actor, 'Network');
  const network = await store.findLiveNetwork(deps.db, id, scopeOf(actor));
  if (!network) throw notFound('Network');
  return network;
}

export interface NetworkChange {
  name?: string;
  /** Settings to set; a null value removes that setting. Those not named stay as they are. */
  settings?: NetworkSettings;
}

/** Renames and/or changes settings (checked whole against the controller's schema); every instance sees it at once. */
export async function updateNetwork(deps: LookupDeps & OutboundConfig, actor: Principal, id: string, change: NetworkChange): Promise<Network> {
  const before = await getNetwork(deps, actor, id);
  const name = change.name === undefined ? before.name : cleanName(change.name, 'network');
  let settings = before.settings;
  let targetsApproved = before.targetsApproved;
  if (change.settings !== undefined) {
    const given = change.settings;
    if (Object.hasOwn(given, 'name') || Object.hasOwn(given, 'controller')) {
      throw unprocessable('CONTROLLER_FIXED', "A network's controller cannot change; make a new network instead");
    }
    const merged: NetworkSettings = { ...before.settings, ...change.settings };
    for (const [k, v] of Object.entries(merged)) if (v === null) delete merged[k];
    // Names outside the schema saved before it refused them stay while this change leaves them alone.
    const known = schemaOf(before.controller).properties;
    const kept = Object.keys(before.settings).filter(
      (k) => !Object.hasOwn(known, k) && (!Object.hasOwn(given, k) || JSON.stringify(given[k]) === JSON.stringify(before.settings[k])),
    );
    settings = validateSettings(before.controller, merged, kept);
    // Phone settings are checked against the provider when they change (an edit of anything else
    // of a network saved before this check leaves them alone; the portal then logs the gap).
    if (Object.hasOwn(given, 'phoneMethods') || Object.hasOwn(given, 'phoneProvider')) await checkNetworkPhone(deps, before.contractId, settings);
    // An operator's change of a target clears an earlier approval; a system administrator's save approves.
    ({ targetsApproved } = await checkSavedTargets(before.controller, settings, {
      allow: deps.config.outboundAllow,
      actor,
      previous: { settings: before.settings, targetsApproved: before.targetsApproved },
    }));
  }
  const after = await store.updateNetwork(deps.db, id, { name, settings, targetsApproved });
  await republishNetworks(deps, [id]);
  return after;
}

/**
 * Deletes a network: it stops serving at once on every instance, then its live identifications
 * end (reason `annulled`, through the token annul path, so the controller is told and the log
 * closed). A second pass catches an entry that was already under way when it stopped serving.
 */
export async function deleteNetwork(deps: NetworkDeps & Pick<Services, 'local'>, actor: Principal, id: string, now: Date): Promise<void> {
  await getNetwork(deps, actor, id);
  await store.markNetworkDeleted(deps.db, id, now);
  await republishNetworks(deps, [id]);
  for (let pass = 0; pass < 3; pass++) {
    const live = (await store.liveTokenIdsInNetwork(deps.db, id)).filter((l) => l.tokenId !== null);
    if (live.length === 0) break;
    for (const l of live) await annulToken(deps, actor, { tokenId: l.tokenId!, now });
  }
  // Identifications by phone have no copy to annul: they end by themselves, with the same reason.
  const phone = await liveTokenlessInNetwork(deps.db, id);
  if (phone.length > 0) await forgetEnded(deps, await endIdentificationsById(deps.db, { ids: phone, reason: 'annulled', now }));
}
