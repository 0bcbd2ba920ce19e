// Cache layer: what one process keeps in memory for a few seconds. Built by openServices and
// emptied by its close(); it may import src/cache and row types of src/store, nothing above.
import { nearCache, type NearCache } from './near.js';
import type { ApiTokenOwner } from '../store/apiTokens.js';
import type { Network } from '../store/networks.js';

/** This instance's short-lived copies; every other instance is told to forget over pub/sub. */
export interface LocalCaches {
  /** Networks that serve guests, by id (a poll or portal hit needs its contract). */
  networks: NearCache<Network>;
  /** API-token owners by token hash (refusals are not kept here, only in the shared cache). */
  apiTokens: NearCache<ApiTokenOwner>;
  /** Each presented token's stored hash, by the token's SHA-256 (the HMAC is the dearer of the two). */
  apiTokenHashes: NearCache<string>;
  /**
   * Which network a RADIUS NAS-Identifier names (by scope and name), while `networks` has not
   * moved since (its generation): any network edited, deleted or made, here or on another
   * instance, forgets them all. Only a single match is kept.
   */
  nasNetworks: NearCache<{ id: string; generation: number }>;
  /** The time zone each contract's times are shown in, for guests' pages that show an end time. */
  contractZones: NearCache<string>;
  /** When this instance last wrote each API token's last access (ms since epoch). */
  apiTokenLastUsed: Map<string, number>;
  clear(): void;
}

export function localCaches(): LocalCaches {
  const caches = {
    networks: nearCache<Network>(10_000),
    apiTokens: nearCache<ApiTokenOwner>(5_000, 50_000),
    apiTokenHashes: nearCache<string>(60_000, 50_000),
    contractZones: nearCache<string>(10_000),
    nasNetworks: nearCache<{ id: string; generation: number }>(5_000),
    apiTokenLastUsed: new Map<string, number>(),
    clear() {
      caches.networks.clear();
      caches.apiTokens.clear();
      caches.apiTokenHashes.clear();
      caches.contractZones.clear();
      caches.nasNetworks.clear();
      caches.apiTokenLastUsed.clear();
    },
  };
  return caches;
}
