// Domain layer: what the outbox carries. Its rows are written by the stored functions
// (kalitka_enqueue_events in src/store/functions/10_identification_event.sql) in the transaction
// that starts or ends an identification, and delivered by src/worker/outbox.ts. Imports nothing.

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
