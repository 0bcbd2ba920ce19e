// Store layer: one exported function per query, client first, lowercase SQL with explicit casts,
// typed rows out. Store modules import only src/store/db.ts and each other's row types.
import type { Queryable } from './db.js';

/** The controller kinds the networks table's check constraint allows. */
export const CONTROLLER_KINDS = ['generic', 'mikrotik', 'unifi', 'coova', 'opennds', 'meraki'] as const;
export type ControllerKind = (typeof CONTROLLER_KINDS)[number];

/** A setting's value; lists (phoneMethods, phoneCountries) are arrays of strings. */
export type NetworkSettings = Record<string, string | number | boolean | string[] | null>;

export interface Network {
  id: string;
  contractId: string;
  name: string;
  controller: ControllerKind;
  settings: NetworkSettings;
  /** A system administrator saved or approved the outbound targets (private addresses allowed). */
  targetsApproved: boolean;
  /** A hash of the uploaded logo's bytes; null when the network has none. */
  logoVersion: string | null;
  createdAt: string;
}

interface NetworkRow {
  id: string;
  contract_id: string;
  name: string;
  controller: ControllerKind;
  settings: NetworkSettings;
  targets_approved: boolean;
  logo_version: string | null;
  created_at: Date;
}

const COLUMNS = 'n.id, n.contract_id, n.name, n.controller, n.settings, n.targets_approved, n.logo_version, n.created_at';

const toNetwork = (r: NetworkRow): Network => ({
  id: r.id,
  contractId: r.contract_id,
  name: r.name,
  controller: r.controller,
  settings: r.settings,
  targetsApproved: r.targets_approved,
  logoVersion: r.logo_version,
  createdAt: r.created_at.toISOString(),
});

/** A new network in an existing contract; null when the contract does not exist. */
export async function insertNetwork(
  q: Queryable,
  input: { contractId: string; name: string; controller: ControllerKind; settings: NetworkSettings; targetsApproved: boolean; now: Date },
): Promise<Network | null> {
  const { rows } = await q.query<NetworkRow>(
    `insert into networks as n (contract_id, name, controller, settings, targets_approved, created_at)
     select id, $2::text, $3::text, $4::jsonb, $6::boolean, $5::timestamptz from contracts where id = $1::uuid
     returning ${COLUMNS}`,
    [input.contractId, input.name, input.controller, JSON.stringify(input.settings), input.now, input.targetsApproved],
  );
  return rows[0] ? toNetwork(rows[0]) : null;
}

/** A contract's networks that are not deleted, oldest first. */
export async function listNetworks(q: Queryable, contractId: string): Promise<Network[]> {
  const { rows } = await q.query<NetworkRow>(
    `select ${COLUMNS} from networks n where n.contract_id = $1::uuid and n.deleted_at is null order by n.created_at, n.id`,
    [contractId],
  );
  return rows.map(toNetwork);
}

/** A network that serves guests now: not deleted, and its contract not disabled. */
export async function findServingNetwork(q: Queryable, id: string): Promise<Network | null> {
  const { rows } = await q.query<NetworkRow>(
    `select ${COLUMNS} from networks n join contracts c on c.id = n.contract_id
      where n.id = $1::uuid and n.deleted_at is null and c.disabled_at is null`,
    [id],
  );
  return rows[0] ? toNetwork(rows[0]) : null;
}

/** Any network ever made, deleted or not (controller calls about its last devices need it). */
export async function findAnyNetwork(q: Queryable, id: string): Promise<Network | null> {
  const { rows } = await q.query<NetworkRow>(`select ${COLUMNS} from networks n where n.id = $1::uuid`, [id]);
  return rows[0] ? toNetwork(rows[0]) : null;
}

/** A network that is not deleted, within `scope` (null = any contract); `lock` holds it for the transaction. */
export async function findLiveNetwork(q: Queryable, id: string, scope: string | null, lock = false): Promise<Network | null> {
  const { rows } = await q.query<NetworkRow>(
    `select ${COLUMNS} from networks n
      where n.id = $1::uuid and n.deleted_at is null and ($2::uuid is null or n.contract_id = $2::uuid)${lock ? ' for update' : ''}`,
    [id, scope],
  );
  return rows[0] ? toNetwork(rows[0]) : null;
}

export async function updateNetwork(
  q: Queryable,
  id: string,
  change: { name: string; settings: NetworkSettings; targetsApproved: boolean },
): Promise<Network> {
  const { rows } = await q.query<NetworkRow>(
    `update networks n set name = $2::text, settings = $3::jsonb, targets_approved = $4::boolean where n.id = $1::uuid returning ${COLUMNS}`,
    [id, change.name, JSON.stringify(change.settings), change.targetsApproved],
  );
  return toNetwork(rows[0]);
}

/** Marks it deleted and drops its nasIdentifier, so that name may answer for another network. */
export async function markNetworkDeleted(q: Queryable, id: string, now: Date): Promise<void> {
  await q.query(
    `update networks set deleted_at = coalesce(deleted_at, $2::timestamptz), settings = settings - 'nasIdentifier' where id = $1::uuid`,
    [id, now],
  );
}

/** Ids of a contract's networks that are not deleted (to tell the caches when the contract changes). */
export async function networkIdsOfContract(q: Queryable, contractId: string): Promise<string[]> {
  const { rows } = await q.query<{ id: string }>(`select id from networks where contract_id = $1::uuid and deleted_at is null`, [contractId]);
  return rows.map((r) => r.id);
}

/** The token copies behind this network's live identifications (the ones a delete must end). */
export async function liveTokenIdsInNetwork(q: Queryable, networkId: string): Promise<Array<{ tokenId: string | null; mac: string }>> {
  const { rows } = await q.query<{ token_id: string | null; mac: string }>(
    `select token_id, mac from identifications where network_id = $1::uuid and ended_at is null order by id`,
    [networkId],
  );
  return rows.map((r) => ({ tokenId: r.token_id, mac: r.mac }));
}
