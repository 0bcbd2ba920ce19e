// Domain layer: the worker's periodic rules (rule 8 expiry, rule 11 log retention). The worker and
// `kalitka sweep` call these. May import src/store/*, src/errors.ts and other domain modules.
import type { Services } from '../services.js';
import { deleteEndedBefore, pruneDeletedTokenNotes } from '../store/identifications.js';
import { claimExpiredTokenless, endIdentificationsById } from '../store/phoneIdentifications.js';
import { claimExpired } from '../store/tokens.js';
import { endIdentifications, forgetEnded } from './identifications.js';

export interface SweepResult {
  expired: number;
  batches: number;
}

/**
 * Rule 8: every active copy past its expiry becomes `expired`, its identification ends (`expired`,
 * at the expiry instant; an identification by phone, which has no copy, ends the same way), its session leaves the cache and its device is queued for
 * de-authorisation. Batches are claimed with `for update skip locked`, so several workers split
 * the rows and none is processed twice; memory stays flat however many rows are due.
 */
export async function sweepExpired(svc: Pick<Services, 'db' | 'cache' | 'local'>, input: { now: Date; batchSize?: number }): Promise<SweepResult> {
  const batchSize = input.batchSize ?? 500;
  let expired = 0;
  let batches = 0;
  for (;;) {
    const batch = await svc.db.tx(async (q) => {
      const ids = await claimExpired(q, input.now, batchSize);
      if (ids.length === 0) return null;
      return { count: ids.length, ended: await endIdentifications(q, { tokenIds: ids, reason: 'expired', now: input.now }) };
    });
    if (!batch) break;
    expired += batch.count;
    batches++;
    await forgetEnded(svc, batch.ended);
  }
  // Identifications without a token copy (by phone) end at their own expiry the same way.
  for (;;) {
    const batch = await svc.db.tx(async (q) => {
      const ids = await claimExpiredTokenless(q, input.now, batchSize);
      if (ids.length === 0) return null;
      return { count: ids.length, ended: await endIdentificationsById(q, { ids, reason: 'expired', now: input.now }) };
    });
    if (!batch) break;
    expired += batch.count;
    batches++;
    await forgetEnded(svc, batch.ended);
  }
  return { expired, batches };
}

/** Identification-log retention (default 183 days): only ended rows older than that go. */
export async function pruneLog(svc: Pick<Services, 'db'>, input: { now: Date; retentionDays: number; batchSize?: number }): Promise<number> {
  let pruned = 0;
  for (;;) {
    const deleted = await deleteEndedBefore(svc.db, input.now, input.retentionDays, input.batchSize ?? 5000);
    pruned += deleted;
    if (deleted === 0) {
      await pruneDeletedTokenNotes(svc.db, input.now, input.retentionDays);
      return pruned;
    }
  }
}
