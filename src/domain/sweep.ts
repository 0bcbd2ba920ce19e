import type { Services } from '../services.js';
import type { Identification } from './identifications.js';
import { recordEnded } from './outbox.js';
import { forgetSession } from './sessions.js';

export interface SweepResult {
  expired: number;
  batches: number;
}

/**
 * Rule 8: every active copy past its expiry becomes `expired`, its identification ends (`expired`,
 * at the expiry instant), its session leaves the cache and its device is queued for
 * de-authorisation. Batches are claimed with `for update skip locked`, so several workers split
 * the rows and none is processed twice; memory stays flat however many rows are due.
 */
export async function sweepExpired(svc: Pick<Services, 'db' | 'cache'>, input: { now: Date; batchSize?: number }): Promise<SweepResult> {
  const batchSize = input.batchSize ?? 500;
  let expired = 0;
  let batches = 0;
  for (;;) {
    const ended = await svc.db.tx(async (q) => {
      const { rows: due } = await q.query<{ id: string }>(
        `select id from tokens
          where status = 'active' and expires_at <= $1::timestamptz
          order by expires_at
          limit $2::int
          for update skip locked`,
        [input.now, batchSize],
      );
      if (due.length === 0) return null;
      const ids = due.map((r) => r.id);
      await q.query(`update tokens set status = 'expired', end_reason = 'expired' where id = any($1::uuid[])`, [ids]);
      const { rows } = await q.query<Identification>(
        `update identifications i set ended_at = t.expires_at, end_reason = 'expired'
           from tokens t
          where t.id = i.token_id and i.token_id = any($1::uuid[]) and i.ended_at is null
          returning i.*`,
        [ids],
      );
      await recordEnded(q, rows, input.now);
      return { count: ids.length, rows };
    });
    if (!ended) break;
    expired += ended.count;
    batches++;
    await Promise.all(ended.rows.map((i) => forgetSession(svc, i.mac)));
  }
  return { expired, batches };
}

/** Identification-log retention (default 183 days): only ended rows older than that go. */
export async function pruneLog(svc: Pick<Services, 'db'>, input: { now: Date; retentionDays: number; batchSize?: number }): Promise<number> {
  let pruned = 0;
  for (;;) {
    const { rowCount } = await svc.db.query(
      `delete from identifications where id in (
         select id from identifications
          where ended_at < $1::timestamptz - make_interval(days => $2::int)
          limit $3::int)`,
      [input.now, input.retentionDays, input.batchSize ?? 5000],
    );
    pruned += rowCount;
    if (rowCount === 0) return pruned;
  }
}
