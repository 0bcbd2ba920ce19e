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

const EVENT_JSON = `jsonb_build_object(
  'type', case when i.ended_at is null then 'identification.started' else 'identification.ended' end,
  'identificationId', i.id, 'mac', i.mac, 'networkId', i.network_id, 'contractId', i.contract_id,
  'tokenId', i.token_id, 'code', i.code, 'startedAt', i.started_at, 'expiresAt', i.expires_at,
  'endedAt', i.ended_at, 'endReason', i.end_reason)`;

/**
 * Inside the transaction that ended these identifications: de-authorise each device at its
 * network's controller, and report the end to the network's webhook if it has one. A device that
 * is being let in again on the same network (`keepNetworkId`) is not de-authorised there.
 */
export async function recordEnded(q: Queryable, ended: Identification[], now: Date, keepNetworkId?: string): Promise<void> {
  if (ended.length === 0) return;
  await q.query(
    `insert into outbox (kind, network_id, payload, next_at)
     select k, i.network_id, ${EVENT_JSON}, $2::timestamptz
       from identifications i
       join networks n on n.id = i.network_id
       cross join unnest(array['revoke', 'webhook']) as k
      where i.id = any($1::bigint[])
        and ((k = 'revoke' and i.network_id is distinct from $3::uuid) or (k = 'webhook' and n.settings ? 'webhookUrl'))`,
    [ended.map((i) => i.id), now, keepNetworkId ?? null],
  );
}

/** Inside the transaction that started an identification: report it to the webhook, if any. */
export async function recordStarted(q: Queryable, started: Identification, now: Date): Promise<void> {
  await q.query(
    `insert into outbox (kind, network_id, payload, next_at)
     select 'webhook', i.network_id, ${EVENT_JSON}, $2::timestamptz
       from identifications i join networks n on n.id = i.network_id
      where i.id = $1::bigint and n.settings ? 'webhookUrl'`,
    [started.id, now],
  );
}
