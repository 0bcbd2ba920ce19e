// What printed slips are made of: a contract's networks and its unused tokens.
// One query per function, client first.
import type { Queryable } from './db.js';

export interface SlipNetworkRow {
  id: string;
  name: string;
  /** The `ssid` setting, when the operator gave one. */
  ssid: string | null;
}

/** A contract's networks that are not deleted, in the order they were made: the first is the one the QR code points at. */
export async function listSlipNetworks(q: Queryable, contractId: string): Promise<SlipNetworkRow[]> {
  const { rows } = await q.query<SlipNetworkRow>(
    `select id, name, nullif(settings ->> 'ssid', '') as ssid
       from networks where contract_id = $1::uuid and deleted_at is null order by created_at, id`,
    [contractId],
  );
  return rows;
}

export interface SlipTokenRow {
  code: string;
  multi_use: boolean;
  duration_days: number | null;
  created_at: Date;
  issued_to: string | null;
  down_kbps: number | null;
  up_kbps: number | null;
  quota_mb: number | null;
  max_devices: number | null;
}

/** A contract's unused tokens (one row per multi-use code: its unused copy), in the order they were made. */
export async function listUnusedSlipTokens(q: Queryable, contractId: string): Promise<SlipTokenRow[]> {
  const { rows } = await q.query<SlipTokenRow>(
    `select code, multi_use, duration_days, created_at, issued_to, down_kbps, up_kbps, quota_mb::float8 as quota_mb, max_devices from tokens
      where contract_id = $1::uuid and status = 'unused' order by created_at, code`,
    [contractId],
  );
  return rows;
}
