// Domain layer: what phone identification did today, per contract — sends, confirmations, failures
// and cost per provider and method — for the panel's "Phone identification" page, and the same
// events for /metrics. Counters live in the cache (every instance adds to the same ones), keyed by
// the contract's own day (its time zone), kept three days. They are a dashboard, not a ledger: a
// flushed cache starts the day's figures again. May import src/cache, src/store (through other
// domain modules), errors; never src/http.
import type { Cache } from '../../cache/cache.js';
import type { PhoneObserver } from '../../metrics.js';
import { PHONE_METHODS, type PhoneMethod, type ProviderName } from '../../phone/providers/types.js';
import { PROVIDER_NAMES } from '../../phone/providers/index.js';
import type { Services } from '../../services.js';
import { requireOperator, type Principal } from '../actor.js';
import { requireContract } from '../contracts.js';
import { timeZoneOf } from '../timeZone.js';
import { zonedClock } from '../zonedTime.js';

const KEEP_SECONDS = 3 * 86_400;
/** Cost is summed in hundredths (kopecks, cents): the cache adds whole numbers. */
const COST_SCALE = 100;

type Field = 'sent' | 'sendFailed' | 'confirmed' | 'failed' | 'cost';
const FIELDS: readonly Field[] = ['sent', 'sendFailed', 'confirmed', 'failed', 'cost'];

const statKey = (contractId: string, day: string, field: Field, provider: string, method: string) =>
  `phone:stats:${contractId}:${day}:${field}:${provider}:${method}`;

export type StatsDeps = Pick<Services, 'db' | 'cache' | 'config' | 'log'> & { metrics?: { phone: PhoneObserver } };

/** One thing a phone use case did, as it reports it. */
export type PhoneEvent =
  /** A provider was asked to call or text: it took it (`ok`, with its `cost` when it says) or failed. */
  | { kind: 'sent'; ok: boolean; cost?: number }
  /** A verification ended: confirmed, or failed for good (five wrong codes, no call, provider said failed). */
  | { kind: 'verified'; confirmed: boolean };

async function dayOf(deps: Pick<Services, 'db' | 'config'>, contractId: string, now: Date): Promise<string> {
  return zonedClock(await timeZoneOf(deps, contractId)).fileDate(now);
}

/**
 * Reports one event: to this process's metrics, and to the contract's counters for today. Never
 * throws: a statistic that could not be written must not fail a guest's identification.
 */
export async function reportPhone(
  deps: StatsDeps,
  e: PhoneEvent & { contractId: string; provider: string; method: string; now: Date },
): Promise<void> {
  try {
    if (e.kind === 'sent') deps.metrics?.phone.sent({ provider: e.provider, method: e.method, ok: e.ok, cost: e.cost });
    else deps.metrics?.phone.verified({ provider: e.provider, method: e.method, confirmed: e.confirmed });
    const day = await dayOf(deps, e.contractId, e.now);
    const key = (field: Field) => statKey(e.contractId, day, field, e.provider, e.method);
    if (e.kind === 'sent') {
      await deps.cache.hitAll([key(e.ok ? 'sent' : 'sendFailed')], KEEP_SECONDS);
      const cost = e.ok && e.cost !== undefined && Number.isFinite(e.cost) && e.cost > 0 ? Math.round(e.cost * COST_SCALE) : 0;
      if (cost > 0) await deps.cache.addTo(key('cost'), cost, KEEP_SECONDS);
    } else {
      await deps.cache.hitAll([key(e.confirmed ? 'confirmed' : 'failed')], KEEP_SECONDS);
    }
  } catch (err) {
    deps.log.warn({ err }, 'phone statistics not recorded');
  }
}

export interface PhoneStatsRow {
  provider: ProviderName;
  method: PhoneMethod;
  sent: number;
  sendFailed: number;
  confirmed: number;
  failed: number;
  /** In the provider's currency; null when it reported no cost today. */
  cost: number | null;
}

export interface PhoneStats {
  /** The contract's day these are for, yyyy-mm-dd in its zone. */
  day: string;
  timeZone: string;
  rows: PhoneStatsRow[];
  total: { sent: number; confirmed: number; failed: number; sendFailed: number; cost: number | null };
  /** Confirmed verifications per send, 0..1; null before the first send. */
  conversion: number | null;
}

/** Today's figures of a contract, per provider and method (only pairs that did something). */
export async function phoneStatsToday(deps: Pick<Services, 'db' | 'cache' | 'config'>, actor: Principal, contractId: string, now: Date): Promise<PhoneStats> {
  await requireContract(deps, actor, contractId);
  requireOperator(actor, 'Contract');
  const timeZone = await timeZoneOf(deps, contractId);
  const day = zonedClock(timeZone).fileDate(now);
  return { ...(await read(deps.cache, contractId, day)), day, timeZone };
}

async function read(cache: Cache, contractId: string, day: string): Promise<Omit<PhoneStats, 'day' | 'timeZone'>> {
  const pairs = PROVIDER_NAMES.flatMap((provider) => PHONE_METHODS.map((method) => ({ provider, method })));
  const values = await Promise.all(
    pairs.map(async ({ provider, method }) => {
      const got = await Promise.all(FIELDS.map((f) => cache.get(statKey(contractId, day, f, provider, method))));
      const n = (i: number) => Number(got[i] ?? 0) || 0;
      return { provider, method, sent: n(0), sendFailed: n(1), confirmed: n(2), failed: n(3), cost: got[4] === null ? null : n(4) / COST_SCALE };
    }),
  );
  const rows = values.filter((r) => r.sent || r.sendFailed || r.confirmed || r.failed || r.cost);
  const sum = (f: 'sent' | 'confirmed' | 'failed' | 'sendFailed') => rows.reduce((a, r) => a + r[f], 0);
  const costs = rows.filter((r) => r.cost !== null);
  const total = {
    sent: sum('sent'),
    confirmed: sum('confirmed'),
    failed: sum('failed'),
    sendFailed: sum('sendFailed'),
    cost: costs.length ? Math.round(costs.reduce((a, r) => a + r.cost!, 0) * COST_SCALE) / COST_SCALE : null,
  };
  return { rows, total, conversion: total.sent ? Math.min(1, total.confirmed / total.sent) : null };
}
