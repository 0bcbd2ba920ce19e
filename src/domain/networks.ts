import { keys } from '../cache/cache.js';
import { nearCache } from '../cache/near.js';
import { notFound } from '../errors.js';
import type { Queryable } from '../store/db.js';
import type { Services } from '../services.js';

export const CONTROLLERS = ['generic', 'mikrotik', 'unifi', 'coova', 'opennds', 'meraki'] as const;
export type ControllerKind = (typeof CONTROLLERS)[number];

export type NetworkSettings = Record<string, string | number | boolean | null>;

export interface Network {
  id: string;
  contractId: string;
  name: string;
  controller: ControllerKind;
  settings: NetworkSettings;
  /** A system administrator saved or approved the outbound targets (private addresses allowed). */
  targetsApproved: boolean;
  createdAt: string;
}

interface NetworkRow {
  id: string;
  contract_id: string;
  name: string;
  controller: ControllerKind;
  settings: NetworkSettings;
  targets_approved: boolean;
  created_at: Date;
}

const toNetwork = (r: NetworkRow): Network => ({
  id: r.id,
  contractId: r.contract_id,
  name: r.name,
  controller: r.controller,
  settings: r.settings,
  targetsApproved: r.targets_approved,
  createdAt: r.created_at.toISOString(),
});

/** Setting names that hold secrets: stored, used by adapters, never shown back. */
export const isSecretSetting = (name: string) => /secret|password|faskey|apikey/i.test(name);

/** The API's view: controller settings spread beside the fields, secrets left out. */
export function networkJson(n: Network, baseUrl: string) {
  const visible = Object.fromEntries(Object.entries(n.settings).filter(([k]) => !isSecretSetting(k)));
  return {
    ...visible,
    id: n.id,
    contractId: n.contractId,
    name: n.name,
    controller: n.controller,
    portalUrl: `${baseUrl}/portal/${n.id}`,
    createdAt: n.createdAt,
  };
}

export async function createNetwork(
  q: Queryable,
  input: { contractId: string; name: string; controller: ControllerKind; settings: NetworkSettings; targetsApproved?: boolean; now: Date },
): Promise<Network> {
  const { rows } = await q.query<NetworkRow>(
    `insert into networks (contract_id, name, controller, settings, targets_approved, created_at)
     select id, $2::text, $3::text, $4::jsonb, $6::boolean, $5::timestamptz from contracts where id = $1::uuid
     returning *`,
    [input.contractId, input.name, input.controller, JSON.stringify(input.settings), input.now, input.targetsApproved ?? false],
  );
  if (!rows[0]) throw notFound('Contract');
  return toNetwork(rows[0]);
}

export async function listNetworks(q: Queryable, contractId: string): Promise<Network[]> {
  const { rows } = await q.query<NetworkRow>(
    `select * from networks where contract_id = $1::uuid order by created_at, id`,
    [contractId],
  );
  return rows.map(toNetwork);
}

const NETWORK_TTL_S = 300;
// Networks are created, never edited, so this process may keep them a few seconds more.
const local = nearCache<Network>(10_000);

/** A network by id, cached: every portal request and poll needs its contract. */
export async function findNetwork(svc: Pick<Services, 'db' | 'cache'>, id: string): Promise<Network> {
  const near = local.get(id);
  if (near) return near;
  const hit = await svc.cache.get(keys.network(id));
  if (hit) {
    const network = JSON.parse(hit) as Network;
    local.set(id, network);
    return network;
  }
  const { rows } = await svc.db.query<NetworkRow>(`select * from networks where id = $1::uuid`, [id]);
  if (!rows[0]) throw notFound('Network');
  const network = toNetwork(rows[0]);
  await svc.cache.add(keys.network(id), JSON.stringify(network), NETWORK_TTL_S);
  return network;
}
