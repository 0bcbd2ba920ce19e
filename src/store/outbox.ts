// Store layer: one function per query on the outbox table (calls to controllers and webhooks
// waiting to be made). Rows are written by the stored functions (kalitka_enqueue_events). May
// import only src/store/db.ts.
import type { Queryable } from './db.js';

export interface OutboxRow<Payload = unknown> {
  id: number;
  kind: 'revoke' | 'webhook' | 'coa';
  network_id: string;
  payload: Payload;
  attempts: number;
}

/**
 * Takes up to `limit` due rows and pushes their next try `leaseS` seconds ahead in one statement
 * (`skip locked`), so several workers never take the same row.
 */
export async function leaseDue<Payload>(q: Queryable, now: Date, limit: number, leaseS: number): Promise<Array<OutboxRow<Payload>>> {
  const { rows } = await q.query<OutboxRow<Payload>>(
    `update outbox o set next_at = $1::timestamptz + make_interval(secs => $3::int)
       from (select id from outbox
              where done_at is null and next_at <= $1::timestamptz
              order by next_at limit $2::int
              for update skip locked) due
      where o.id = due.id
      returning o.id, o.kind, o.network_id, o.payload, o.attempts`,
    [now, limit, leaseS],
  );
  return rows;
}

export async function markDelivered(q: Queryable, id: number, at: Date): Promise<void> {
  await q.query(
    `update outbox set done_at = $2::timestamptz, attempts = attempts + 1, last_error = null where id = $1::bigint`,
    [id, at],
  );
}

export async function markFailed(q: Queryable, id: number, error: string, retryAt: Date, backoffS: number): Promise<void> {
  await q.query(
    `update outbox set attempts = attempts + 1, last_error = $2::text,
            next_at = $3::timestamptz + make_interval(secs => $4::int)
      where id = $1::bigint`,
    [id, error, retryAt, backoffS],
  );
}

/** Delivered rows older than a week go. */
export async function deleteDeliveredBefore(q: Queryable, now: Date): Promise<number> {
  const { rowCount } = await q.query(`delete from outbox where done_at < $1::timestamptz - interval '7 days'`, [now]);
  return rowCount;
}

/**
 * Queues a CoA-Request for an identification whose term or limits changed (rule 14), in the
 * caller's transaction. The payload is the identification as kalitka_identification_event reports
 * it; the worker reads the copy's values when it sends, so a retry carries the latest ones.
 */
export async function enqueueCoa(q: Queryable, identificationId: number, now: Date): Promise<void> {
  await q.query(
    `insert into outbox (kind, network_id, payload, next_at)
     select 'coa', i.network_id, kalitka_identification_event(i), $2::timestamptz
       from identifications i where i.id = $1::bigint`,
    [identificationId, now],
  );
}
