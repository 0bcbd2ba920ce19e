// Worker layer: the schedule of the periodic work (sweep, pruning, outbox delivery). May import
// src/domain/*, src/store/* and src/services.ts; never src/http.
import cron from 'node-cron';
import { pruneAccounting } from '../domain/accounting.js';
import { pruneLog, sweepExpired } from '../domain/sweep.js';
import type { Services } from '../services.js';
import { drainOutbox, pruneOutbox } from './outbox.js';

const OUTBOX_EVERY_MS = 2_000;

/** One expiry sweep and log pruning, as `kalitka sweep` and the cron schedule run it. */
export async function sweepOnce(svc: Services): Promise<{ expired: number; pruned: number }> {
  const started = Date.now();
  const now = svc.now();
  const { expired } = await sweepExpired(svc, { now });
  const pruned = await pruneLog(svc, { now, retentionDays: svc.config.retentionDays });
  await pruneAccounting(svc, { now, retentionDays: svc.config.retentionDays });
  await pruneOutbox(svc, now);
  svc.metrics.sweepRows.inc(expired);
  svc.metrics.sweepDuration.observe((Date.now() - started) / 1000);
  svc.log.info({ expired, pruned, ms: Date.now() - started }, 'sweep done');
  return { expired, pruned };
}

/**
 * The worker role: a sweep at start and on EXPIRE_CRON, and the outbox delivered every few
 * seconds. Returns a stop function that waits for the work in hand.
 */
export async function startWorker(svc: Services): Promise<() => Promise<void>> {
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const guarded = (what: string, fn: () => Promise<unknown>) => () => {
    if (stopped) return;
    running = running
      .then(fn)
      .catch((err) => svc.log.error({ err }, `${what} failed`));
  };
  const sweep = guarded('sweep', () => sweepOnce(svc));
  const deliver = guarded('outbox delivery', () => drainOutbox(svc, 20, () => stopped));
  sweep();
  const task = cron.schedule(svc.config.expireCron, sweep, { noOverlap: true });
  const timer = setInterval(deliver, OUTBOX_EVERY_MS);
  timer.unref();
  return async () => {
    stopped = true;
    await task.stop();
    clearInterval(timer);
    await running;
  };
}
