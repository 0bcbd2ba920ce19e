// Domain layer: the pumping breaker's pause made durable. limits.ts judges the window of the last
// 50 paid sends in the cache; when it trips, the pause is written to PostgreSQL once (phone_pauses)
// as well, so a flushed or restarted Redis does not lift it: a cache miss on the paused key reads
// PostgreSQL and writes back what it found ("not paused" for a minute). Only an operator's resume
// lifts it. May import src/store/*, src/cache, errors and other domain modules.
import type { Cache } from '../../cache/cache.js';
import { notFound } from '../../errors.js';
import type { ProviderName } from '../../phone/providers/types.js';
import type { Queryable } from '../../store/db.js';
import { listNetworks } from '../../store/networks.js';
import { findPhonePause, insertPhonePause } from '../../store/phoneProviders.js';
import { requireOperator, type Principal } from '../actor.js';
import { requireContract } from '../contracts.js';
import { type BreakerState, isPaused, NOT_PAUSED, phoneKeys, resumePaidSends } from './limits.js';
import { phoneSettingsOf } from './settings.js';
import { liftPauses, listProviderSettings, requireProvider, type ProviderDeps, type ProviderView } from './providerSettings.js';

const NOT_PAUSED_TTL_S = 60;
const PAUSE_TTL_S = 365 * 86_400;

/** Whether paid sends are paused on this network: the cache, else PostgreSQL (then cached). */
export async function networkPaused(deps: { db: Queryable; cache: Cache }, networkId: string): Promise<boolean> {
  const hit = await deps.cache.get(phoneKeys.paused(networkId));
  if (hit !== null) return hit !== NOT_PAUSED;
  const pause = await findPhonePause(deps.db, networkId);
  if (pause) {
    await deps.cache.set(phoneKeys.paused(networkId), JSON.stringify({ sent: pause.sent, entered: pause.entered }), PAUSE_TTL_S);
    return true;
  }
  // "Add if absent": a trip racing this fill is never overwritten.
  await deps.cache.add(phoneKeys.paused(networkId), NOT_PAUSED, NOT_PAUSED_TTL_S);
  return isPaused(deps.cache, networkId);
}

/** After a paid send: if the breaker tripped on it, the pause is kept in PostgreSQL too (once). */
export async function keepPauseIfTripped(
  deps: { db: Queryable },
  input: { networkId: string; contractId: string; provider: ProviderName; state: BreakerState; wasPaused: boolean; now: Date },
): Promise<void> {
  if (!input.state.paused || input.wasPaused) return;
  await insertPhonePause(deps.db, {
    networkId: input.networkId,
    contractId: input.contractId,
    provider: input.provider,
    now: input.now,
    sent: input.state.sent,
    entered: input.state.entered,
  });
}

/**
 * An operator resumes paid sends of a contract's networks on a provider
 * (`POST /api/v1/contracts/:id/phone-providers/:provider/resume`): the pauses recorded for it end,
 * in PostgreSQL and in the cache, and each such network's window starts empty.
 */
export async function resumeProvider(
  deps: ProviderDeps & { cache: Cache },
  actor: Principal,
  contractId: string,
  providerName: string,
): Promise<ProviderView & { resumed: string[] }> {
  await requireContract(deps, actor, contractId);
  requireOperator(actor, 'Contract');
  const provider = requireProvider(providerName);
  if (!(await listProviderSettings(deps, actor, contractId)).some((v) => v.provider === provider)) throw notFound('Phone provider');
  const lifted = await liftPauses(deps, contractId, provider);
  // Networks sending through this provider whose pause only the cache knew (PostgreSQL's write failed) resume too.
  const using = (await listNetworks(deps.db, contractId)).filter((n) => phoneSettingsOf(n).provider === provider).map((n) => n.id);
  const resumed = [...new Set([...lifted, ...using])];
  for (const id of resumed) await resumePaidSends(deps.cache, id);
  const views = await listProviderSettings(deps, actor, contractId);
  return { ...views.find((v) => v.provider === provider)!, resumed: lifted };
}
