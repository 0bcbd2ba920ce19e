import type { Queryable } from '../store/db.js';
import type { Identification } from './identifications.js';

/** What a revoke or webhook row carries about the identification it reports. */
export interface IdentificationEvent {
  [field: string]: unknown;
  type: 'identification.started' | 'identification.ended';
  identificationId: number;
  mac: string;
  networkId: string;
  contractId: string;
  tokenId: string | null;
  code: string | null;
  startedAt: string;
  expiresAt: string | null;
  endedAt: string | null;
  endReason: string | null;
}

/**
 * Inside the transaction that ended these identifications: de-authorise each device at its
 * network's controller, and report the end to the network's webhook if it has one.
 * (kalitka_activate in 0005_activate.sql does the same for the identification an entry ends.)
 */
export async function recordEnded(q: Queryable, ended: Identification[], now: Date): Promise<void> {
  if (ended.length === 0) return;
  await q.query(
    `insert into outbox (kind, network_id, payload, next_at)
     select k, i.network_id, kalitka_identification_event(i), $2::timestamptz
       from identifications i
       join networks n on n.id = i.network_id
       cross join unnest(array['revoke', 'webhook']) as k
      where i.id = any($1::bigint[])
        and (k = 'revoke' or (k = 'webhook' and n.settings ? 'webhookUrl'))`,
    [ended.map((i) => i.id), now],
  );
}
