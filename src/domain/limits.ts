import { keys } from '../cache/cache.js';
import type { Services } from '../services.js';

/**
 * Brute-force limits on the portal: refused tries counted per device and per client IP in the
 * cache (Redis, so every instance shares them). Checked before any lookup; a refusal only ever
 * touches the cache, never Postgres.
 */
export interface LimitState {
  blocked: boolean;
  /** Seconds until the blocking counter resets. */
  retryAfter: number;
}

export async function checkPortalLimits(svc: Pick<Services, 'cache' | 'config'>, mac: string, ip: string): Promise<LimitState> {
  const { maxFailsPerDevice, maxFailsPerIp } = svc.config;
  const [device, client] = await svc.cache.countAll([keys.failDevice(mac), keys.failIp(ip)]);
  const over = [device >= maxFailsPerDevice ? keys.failDevice(mac) : null, client >= maxFailsPerIp ? keys.failIp(ip) : null].filter(
    (k): k is string => k !== null,
  );
  if (over.length === 0) return { blocked: false, retryAfter: 0 };
  const ttls = await Promise.all(over.map((k) => svc.cache.ttl(k)));
  return { blocked: true, retryAfter: Math.max(1, ...ttls) };
}

export async function notePortalRefusal(svc: Pick<Services, 'cache' | 'config'>, mac: string, ip: string): Promise<void> {
  const window = svc.config.failWindowS;
  await svc.cache.hitAll([keys.failDevice(mac), keys.failIp(ip)], window);
}
