import type { Cache } from '../../cache/cache.js';
import { phoneRefusal, type PhoneRefusalCode } from './refusals.js';

/*
 * Abuse limits on phone identification. SMS pumping — bots making a portal send SMS or flash calls
 * to premium numbers the attacker is paid for — is the known attack on every SMS portal, so sends
 * are counted per number, per device, per number prefix, and paid sends against a network's hourly
 * and a contract's daily budget, all in the cache (Redis: every instance shares them).
 *
 * A send is counted before it is made, in one atomic round trip that counts it against every
 * counter only if all are under their limits (Cache.hitUnder): parallel requests cannot pass a
 * limit, and a refused request counts nothing. A send the provider then failed to make is taken
 * back (`uncountSend`), unless the provider may have taken it (`details.mayHaveSent`: no answer in
 * time, a connection cut mid-answer, an unreadable answer). Nothing here writes to Postgres.
 *
 * The pumping breaker watches the last 50 paid sends of a network: when fewer than 30 % of their
 * codes were entered, paid sends on that network pause by themselves until an operator resumes
 * them. The window is 50 slots in the cache, overwritten round-robin; a code entered marks its slot.
 *
 * Which counters count which sends: the per-number, per-device, per-prefix limits and the 60 s
 * resend wait apply to every start (a call-check too: it still asks the provider for a number);
 * the budgets and the breaker only to paid sends (flash call, SMS, voice).
 */

export interface PhoneLimits {
  perNumberTenMinutes: number;
  perNumberDay: number;
  perDeviceDay: number;
  perPrefixHour: number;
  resendSeconds: number;
  /** Paid sends a network may make in an hour (network setting `phoneBudgetHour`). */
  networkPerHour: number;
  /** Paid sends a contract may make in a day (contract setting `phoneBudgetDay`). */
  contractPerDay: number;
  breakerWindow: number;
  breakerMinEntered: number;
}

export const DEFAULT_PHONE_LIMITS: PhoneLimits = {
  perNumberTenMinutes: 3,
  perNumberDay: 5,
  perDeviceDay: 5,
  perPrefixHour: 3,
  resendSeconds: 60,
  networkPerHour: 60,
  contractPerDay: 500,
  breakerWindow: 50,
  breakerMinEntered: 0.3,
};

const MINUTE = 60;
const HOUR = 3600;
const DAY = 86_400;
/** Breaker slots outlive a quiet week; an older slot no longer says anything about pumping. */
const SLOT_TTL = 7 * DAY;
/** A pause lasts until an operator resumes (the cache needs a TTL; a year is "until resumed"). */
const PAUSE_TTL = 365 * DAY;

export const phoneKeys = {
  numberTen: (phoneHash: string) => `phone:n10m:${phoneHash}`,
  numberDay: (phoneHash: string) => `phone:nday:${phoneHash}`,
  resend: (phoneHash: string) => `phone:resend:${phoneHash}`,
  device: (mac: string) => `phone:dev:${mac}`,
  prefix: (prefixHash: string) => `phone:pfx:${prefixHash}`,
  networkBudget: (networkId: string) => `phone:budget:net:${networkId}`,
  contractBudget: (contractId: string) => `phone:budget:contract:${contractId}`,
  paused: (networkId: string) => `phone:paused:${networkId}`,
  breakerSeq: (networkId: string) => `phone:breaker:${networkId}:seq`,
  breakerSlot: (networkId: string, i: number) => `phone:breaker:${networkId}:slot:${i}`,
  breakerRef: (networkId: string, reference: string) => `phone:breaker:${networkId}:ref:${reference}`,
};

export interface SendAttempt {
  networkId: string;
  contractId: string;
  /** AA:BB:CC:DD:EE:FF */
  mac: string;
  /** The number's keyed hash (crypto.ts lookupHash): numbers never sit in the cache in clear. */
  phoneHash: string;
  /** The keyed hash of numberPrefix(e164). */
  prefixHash: string;
  /** Flash call, SMS, voice: true. Call-check: false. */
  paid: boolean;
}

/** What `countSend` counted, for `uncountSend` when the provider then failed. */
export interface SendTicket {
  keys: string[];
}

interface Counter {
  key: string;
  limit: number;
  windowSeconds: number;
  refusal: PhoneRefusalCode;
}

function countersFor(a: SendAttempt, l: PhoneLimits): Counter[] {
  // The order is the order refusals are reported in when several limits are reached at once.
  const counters: Counter[] = [
    { key: phoneKeys.resend(a.phoneHash), limit: 1, windowSeconds: l.resendSeconds, refusal: 'PHONE_RESEND_WAIT' },
    { key: phoneKeys.numberTen(a.phoneHash), limit: l.perNumberTenMinutes, windowSeconds: 10 * MINUTE, refusal: 'PHONE_LIMIT_NUMBER' },
    { key: phoneKeys.numberDay(a.phoneHash), limit: l.perNumberDay, windowSeconds: DAY, refusal: 'PHONE_LIMIT_NUMBER' },
    { key: phoneKeys.prefix(a.prefixHash), limit: l.perPrefixHour, windowSeconds: HOUR, refusal: 'PHONE_LIMIT_PREFIX' },
    { key: phoneKeys.device(a.mac), limit: l.perDeviceDay, windowSeconds: DAY, refusal: 'PHONE_LIMIT_DEVICE' },
  ];
  if (l.resendSeconds <= 0) counters.shift(); // no resend wait configured
  if (a.paid) {
    counters.push(
      { key: phoneKeys.networkBudget(a.networkId), limit: l.networkPerHour, windowSeconds: HOUR, refusal: 'PHONE_BUDGET_NETWORK' },
      { key: phoneKeys.contractBudget(a.contractId), limit: l.contractPerDay, windowSeconds: DAY, refusal: 'PHONE_BUDGET_CONTRACT' },
    );
  }
  return counters;
}

const MESSAGES: Partial<Record<PhoneRefusalCode, string>> = {
  PHONE_RESEND_WAIT: 'Wait before asking for another code',
  PHONE_LIMIT_NUMBER: 'Too many codes to this number',
  PHONE_LIMIT_PREFIX: 'Too many codes to similar numbers',
  PHONE_LIMIT_DEVICE: 'Too many codes from this device',
  PHONE_BUDGET_NETWORK: 'This network has sent its codes for this hour',
  PHONE_BUDGET_CONTRACT: "This network's operator has sent its codes for today",
};

/**
 * Counts one start against every limit, or refuses it (429, counting nothing) with the first
 * limit reached and `retryAfter` seconds / `minutes` until its counter resets.
 */
export async function countSend(cache: Cache, attempt: SendAttempt, limits: PhoneLimits = DEFAULT_PHONE_LIMITS): Promise<SendTicket> {
  if (attempt.paid && (await isPaused(cache, attempt.networkId))) {
    throw phoneRefusal('PHONE_PAUSED', 'Codes by SMS and call are paused on this network', { voucher: true });
  }
  const counters = countersFor(attempt, limits);
  const { ok, counts } = await cache.hitUnder(counters.map(({ key, limit, windowSeconds }) => ({ key, limit, windowSeconds })));
  if (ok) return { keys: counters.map((c) => c.key) };
  const i = counters.findIndex((c, j) => counts[j].count >= c.limit);
  const blocking = counters[i];
  const retryAfter = Math.max(1, counts[i].ttl);
  throw phoneRefusal(blocking.refusal, MESSAGES[blocking.refusal]!, {
    retryAfter,
    minutes: Math.ceil(retryAfter / 60),
    seconds: retryAfter,
  });
}

/** The provider did not send (an outage, a refusal): the start does not count. */
export async function uncountSend(cache: Cache, ticket: SendTicket): Promise<void> {
  await cache.unhitAll(ticket.keys);
}

// --- the pumping breaker -------------------------------------------------------------------------

/**
 * What the paused key holds when PostgreSQL was asked and the network is not paused (see
 * src/domain/phone/breaker.ts): a miss means "ask PostgreSQL", this means "not paused".
 */
export const NOT_PAUSED = '-';

export async function isPaused(cache: Cache, networkId: string): Promise<boolean> {
  const v = await cache.get(phoneKeys.paused(networkId));
  return v !== null && v !== NOT_PAUSED;
}

export interface BreakerState {
  /** Paid sends seen in the window (up to its size). */
  sent: number;
  /** Of those, how many codes were entered. */
  entered: number;
  paused: boolean;
}

/**
 * Records a paid send that went out (its reference), then judges the window: once it holds
 * `breakerWindow` sends and fewer than `breakerMinEntered` of them were entered, the network pauses.
 */
export async function recordPaidSend(
  cache: Cache,
  networkId: string,
  reference: string,
  limits: PhoneLimits = DEFAULT_PHONE_LIMITS,
): Promise<BreakerState> {
  const [{ count: seq }] = await cache.hitAll([phoneKeys.breakerSeq(networkId)], SLOT_TTL);
  const slot = (seq - 1) % limits.breakerWindow;
  await Promise.all([
    cache.set(phoneKeys.breakerSlot(networkId, slot), `0:${reference}`, SLOT_TTL),
    cache.set(phoneKeys.breakerRef(networkId, reference), String(slot), DAY),
  ]);
  const state = await breakerState(cache, networkId, limits);
  if (!state.paused && state.sent >= limits.breakerWindow && state.entered < limits.breakerMinEntered * state.sent) {
    await cache.set(phoneKeys.paused(networkId), JSON.stringify({ sent: state.sent, entered: state.entered }), PAUSE_TTL);
    return { ...state, paused: true };
  }
  return state;
}

/** The guest entered the code of this send (confirmed): its slot counts as entered. */
export async function recordCodeEntered(cache: Cache, networkId: string, reference: string): Promise<void> {
  const slot = await cache.get(phoneKeys.breakerRef(networkId, reference));
  if (slot === null) return;
  const key = phoneKeys.breakerSlot(networkId, Number(slot));
  // Only if the slot still holds this send (50 newer sends may have overwritten it).
  if ((await cache.get(key)) === `0:${reference}`) await cache.set(key, `1:${reference}`, SLOT_TTL);
}

export async function breakerState(cache: Cache, networkId: string, limits: PhoneLimits = DEFAULT_PHONE_LIMITS): Promise<BreakerState> {
  const slots = await Promise.all(
    Array.from({ length: limits.breakerWindow }, (_, i) => cache.get(phoneKeys.breakerSlot(networkId, i))),
  );
  const present = slots.filter((s): s is string => s !== null);
  return {
    sent: present.length,
    entered: present.filter((s) => s.startsWith('1:')).length,
    paused: await isPaused(cache, networkId),
  };
}

/** An operator resumes paid sends: the pause ends and the window starts empty. */
export async function resumePaidSends(cache: Cache, networkId: string, limits: PhoneLimits = DEFAULT_PHONE_LIMITS): Promise<void> {
  await cache.del(
    phoneKeys.paused(networkId),
    phoneKeys.breakerSeq(networkId),
    ...Array.from({ length: limits.breakerWindow }, (_, i) => phoneKeys.breakerSlot(networkId, i)),
  );
}
