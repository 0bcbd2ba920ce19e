// Store layer: a contract's phone provider accounts (sealed credentials) and the pumping breaker's
// durable pauses. One exported function per query, client first; no rules. May import only
// src/store/db.ts.
import type { Queryable } from './db.js';

export interface PhoneProviderRow {
  contract_id: string;
  provider: string;
  api_url: string | null;
  /** The credentials as one JSON object, sealed (src/domain/phone/providerSettings.ts). */
  credentials_sealed: string;
  updated_at: Date;
}

export interface PhonePauseRow {
  network_id: string;
  contract_id: string;
  provider: string;
  paused_at: Date;
  sent: number;
  entered: number;
}

export async function upsertPhoneProvider(
  q: Queryable,
  p: { contractId: string; provider: string; apiUrl: string | null; credentialsSealed: string; now: Date },
): Promise<PhoneProviderRow> {
  const { rows } = await q.query<PhoneProviderRow>(
    `insert into phone_providers (contract_id, provider, api_url, credentials_sealed, updated_at)
     values ($1::uuid, $2::text, $3::text, $4::text, $5::timestamptz)
     on conflict (contract_id, provider) do update
       set api_url = excluded.api_url, credentials_sealed = excluded.credentials_sealed, updated_at = excluded.updated_at
     returning *`,
    [p.contractId, p.provider, p.apiUrl, p.credentialsSealed, p.now],
  );
  return rows[0];
}

export async function findPhoneProvider(q: Queryable, contractId: string, provider: string): Promise<PhoneProviderRow | null> {
  const { rows } = await q.query<PhoneProviderRow>(
    `select * from phone_providers where contract_id = $1::uuid and provider = $2::text`,
    [contractId, provider],
  );
  return rows[0] ?? null;
}

export async function listPhoneProviders(q: Queryable, contractId: string): Promise<PhoneProviderRow[]> {
  const { rows } = await q.query<PhoneProviderRow>(
    `select * from phone_providers where contract_id = $1::uuid order by provider`,
    [contractId],
  );
  return rows;
}

/** Records a network's pause once: a second trip (a race of two instances) changes nothing. */
export async function insertPhonePause(
  q: Queryable,
  p: { networkId: string; contractId: string; provider: string; now: Date; sent: number; entered: number },
): Promise<void> {
  await q.query(
    `insert into phone_pauses (network_id, contract_id, provider, paused_at, sent, entered)
     values ($1::uuid, $2::uuid, $3::text, $4::timestamptz, $5::int, $6::int)
     on conflict (network_id) do nothing`,
    [p.networkId, p.contractId, p.provider, p.now, p.sent, p.entered],
  );
}

export async function findPhonePause(q: Queryable, networkId: string): Promise<PhonePauseRow | null> {
  const { rows } = await q.query<PhonePauseRow>(`select * from phone_pauses where network_id = $1::uuid`, [networkId]);
  return rows[0] ?? null;
}

export async function listPhonePauses(q: Queryable, contractId: string): Promise<PhonePauseRow[]> {
  const { rows } = await q.query<PhonePauseRow>(
    `select * from phone_pauses where contract_id = $1::uuid order by paused_at, network_id`,
    [contractId],
  );
  return rows;
}

/** Lifts the pauses of a contract's networks that paused on this provider; returns their networks. */
export async function deletePhonePauses(q: Queryable, contractId: string, provider: string): Promise<string[]> {
  const { rows } = await q.query<{ network_id: string }>(
    `delete from phone_pauses where contract_id = $1::uuid and provider = $2::text returning network_id`,
    [contractId, provider],
  );
  return rows.map((r) => r.network_id);
}
