// Domain layer: the one attempt limiter, shared by the guest portal (codes) and the panel login
// (passwords). May import src/cache/cache.ts (keys and the interface) and src/services.ts types.
import { keys } from '../cache/cache.js';
import type { Config } from '../config.js';
import type { Services } from '../services.js';

/**
 * Brute-force limits: tries are counted in the cache (Redis, so every instance shares them) in
 * several counters at once (per device and per client IP; per login name and per client IP). A try
 * is counted before any lookup, in one round trip that also answers whether any counter is over its
 * limit; so tries sent in parallel cannot slip past it. A try that turns out not to be refused is
 * taken back. A refusal only ever touches the cache, never Postgres.
 */
export interface Attempt {
  /** Each counter this try is counted in, with the most tries it allows within the window. */
  counters: Array<{ key: string; max: number }>;
  windowS: number;
}

export interface LimitState {
  blocked: boolean;
  /** Seconds until the blocking counter resets. */
  retryAfter: number;
}

type Deps = Pick<Services, 'cache'>;

export async function countAttempt(deps: Deps, attempt: Attempt): Promise<LimitState> {
  const counts = await deps.cache.hitAll(attempt.counters.map((c) => c.key), attempt.windowS);
  // This try is counted already: it may go ahead while the tries before it are under the limit.
  const over = counts.filter((c, i) => c.count > attempt.counters[i].max);
  if (over.length === 0) return { blocked: false, retryAfter: 0 };
  return { blocked: true, retryAfter: Math.max(1, ...over.map((c) => c.ttl)) };
}

/** The try was not refused (let through, or a fault on our side): it does not count. */
export async function uncountAttempt(deps: Deps, attempt: Attempt): Promise<void> {
  await deps.cache.unhitAll(attempt.counters.map((c) => c.key));
}

/** A guest's device entering a code: PORTAL_MAX_FAILS_PER_DEVICE, _PER_IP within PORTAL_FAIL_WINDOW_S. */
export function portalAttempt(config: Pick<Config, 'maxFailsPerDevice' | 'maxFailsPerIp' | 'failWindowS'>, mac: string, ip: string): Attempt {
  return {
    counters: [
      { key: keys.failDevice(mac), max: config.maxFailsPerDevice },
      { key: keys.failIp(ip), max: config.maxFailsPerIp },
    ],
    windowS: config.failWindowS,
  };
}

export const countPortalTry = (svc: Pick<Services, 'cache' | 'config'>, mac: string, ip: string): Promise<LimitState> =>
  countAttempt(svc, portalAttempt(svc.config, mac, ip));

export const uncountPortalTry = (svc: Pick<Services, 'cache' | 'config'>, mac: string, ip: string): Promise<void> =>
  uncountAttempt(svc, portalAttempt(svc.config, mac, ip));

/**
 * Failed panel logins allowed within the window: per login name from one address, per address
 * across names, and per login name from everywhere. The last is high on purpose: with it alone at
 * ten, anyone who can reach the login page could keep a known login (every install has `admin`)
 * locked out; from one address a guesser is stopped at ten, a spread-out one at a hundred.
 */
export const MAX_LOGIN_FAILS = 10;
export const MAX_LOGIN_FAILS_PER_IP = 30;
export const MAX_LOGIN_FAILS_PER_LOGIN = 100;
export const LOGIN_FAIL_WINDOW_S = 15 * 60;

const loginName = (login: string) => login.toLowerCase().slice(0, 200);
const loginKey = (login: string) => keys.panelFailLogin(loginName(login));
const loginFromKey = (login: string, ip: string) => keys.panelFailLoginFrom(loginName(login), ip);

/** A panel login: counted per login name (case-insensitive) from the address, per address, and per login name. */
export function loginAttempt(login: string, ip: string): Attempt {
  return {
    counters: [
      { key: loginFromKey(login, ip), max: MAX_LOGIN_FAILS },
      { key: keys.panelFailIp(ip), max: MAX_LOGIN_FAILS_PER_IP },
      { key: loginKey(login), max: MAX_LOGIN_FAILS_PER_LOGIN },
    ],
    windowS: LOGIN_FAIL_WINDOW_S,
  };
}

export const countLoginTry = (deps: Deps, login: string, ip: string): Promise<LimitState> => countAttempt(deps, loginAttempt(login, ip));

/** A login that succeeded: the address's try is taken back and the login name's count forgotten. */
export async function loginSucceeded(deps: Deps, login: string, ip: string): Promise<void> {
  await deps.cache.unhitAll([keys.panelFailIp(ip)]);
  await deps.cache.del(loginKey(login), loginFromKey(login, ip));
}
