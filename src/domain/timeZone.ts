// Domain layer: the time zone a contract's times are shown in. May import src/store/*, src/config.ts.
import { channels } from '../cache/cache.js';
import { isTimeZone } from '../config.js';
import type { Services } from '../services.js';
import { contractTimeZone } from '../store/tenancy.js';

/** The contract's IANA zone; the configured default (KALITKA_TIME_ZONE) when it names none. */
export async function timeZoneOf(deps: Pick<Services, 'db' | 'config'>, contractId: string): Promise<string> {
  return shown(deps, await contractTimeZone(deps.db, contractId));
}

/**
 * The same for a guest's page after each activation: the contract's own zone is kept in this
 * process for a few seconds (LocalCaches.contractZones), so that a success page costs no query
 * beside the activation's. A change of zone is forgotten at once by every instance (forgetTimeZone).
 */
export async function guestTimeZoneOf(deps: Pick<Services, 'db' | 'config' | 'local'>, contractId: string): Promise<string> {
  let zone = deps.local.contractZones.get(contractId);
  if (zone === undefined) {
    zone = shown(deps, await contractTimeZone(deps.db, contractId));
    deps.local.contractZones.set(contractId, zone);
  }
  return zone;
}

/** After a contract's zone changed: this instance and every other forget their copy. */
export async function forgetTimeZone(deps: Pick<Services, 'cache'> & { local: Pick<Services['local'], 'contractZones'> }, contractId: string): Promise<void> {
  deps.local.contractZones.delete(contractId);
  await deps.cache.publish(channels.contractZoneForget, contractId);
}

// A zone this runtime does not know (written by hand, or dropped from its tz data) falls back too.
const shown = (deps: Pick<Services, 'config'>, zone: string | null) => (zone !== null && isTimeZone(zone) ? zone : deps.config.timeZone);
