import { keys } from '../cache/cache.js';
import type { Services } from '../services.js';

/**
 * Brute-force limits on the portal: refused tries counted per device and per client IP in the
 * cache (Redis, so every instance shares them). A try is counted before any lookup, in one round
 * trip that also answers whether the device or the IP is over its limit; so tries sent in
 * parallel cannot slip past it. A try that turns out not to be refused is taken back. A refusal
 * only ever touches the cache, never Postgres.
 */
export interface LimitState {
  blocked: boolean;
  /** Seconds until the blocking counter resets. */
  retryAfter: number;
}

const tryKeys = (mac: string, ip: string) => [keys.failDevice(mac), keys.failIp(ip)];

export async function countPortalTry(svc: Pick<Services, 'cache' | 'config'>, mac: string, ip: string): Promise<LimitState> {
  const { maxFailsPerDevice, maxFailsPerIp, failWindowS } = svc.config;
  const [device, client] = await svc.cache.hitAll(tryKeys(mac, ip), failWindowS);
  // This try is counted already: it may go ahead while the tries before it are under the limit.
  const over = [device.count > maxFailsPerDevice ? device : null, client.count > maxFailsPerIp ? client : null].filter((c) => c !== null);
  if (over.length === 0) return { blocked: false, retryAfter: 0 };
  return { blocked: true, retryAfter: Math.max(1, ...over.map((c) => c.ttl)) };
}

/** The try was not refused (let through, or a fault on our side): it does not count. */
export async function uncountPortalTry(svc: Pick<Services, 'cache'>, mac: string, ip: string): Promise<void> {
  await svc.cache.unhitAll(tryKeys(mac, ip));
}
