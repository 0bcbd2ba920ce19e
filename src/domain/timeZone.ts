// Domain layer: the time zone a contract's times are shown in. May import src/store/*, src/config.ts.
import { isTimeZone } from '../config.js';
import type { Services } from '../services.js';
import { contractTimeZone } from '../store/tenancy.js';

/** The contract's IANA zone; the configured default (KALITKA_TIME_ZONE) when it names none. */
export async function timeZoneOf(deps: Pick<Services, 'db' | 'config'>, contractId: string): Promise<string> {
  const zone = await contractTimeZone(deps.db, contractId);
  // A zone this runtime does not know (written by hand, or dropped from its tz data) falls back too.
  return zone !== null && isTimeZone(zone) ? zone : deps.config.timeZone;
}
