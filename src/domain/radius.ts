import { AppError, conflict, notFound } from '../errors.js';
import type { Services } from '../services.js';
import { findNetwork, type Network } from './networks.js';
import { sessionState } from './sessions.js';

/** What a RADIUS server is told about one device: let it through (for how long), or not. */
export type RadiusAnswer = { accept: true; sessionTimeout: number | null } | { accept: false };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The network a NAS stands for: the one whose `nasIdentifier` setting equals the NAS-Identifier,
 * or the network whose id it is. `scope` confines the search to one contract (null: all).
 */
export async function networkForNas(
  svc: Pick<Services, 'db' | 'cache'>,
  nasIdentifier: string,
  scope: string | null,
): Promise<Network> {
  if (UUID.test(nasIdentifier)) {
    const byId = await findNetwork(svc, nasIdentifier).catch((err) => {
      if (err instanceof AppError && err.status === 404) return null;
      throw err;
    });
    if (byId && (scope === null || byId.contractId === scope)) return byId;
  }
  const { rows } = await svc.db.query<{ id: string }>(
    `select id from networks
      where settings ->> 'nasIdentifier' = $1::text and ($2::uuid is null or contract_id = $2::uuid)
      order by created_at, id
      limit 2`,
    [nasIdentifier, scope],
  );
  if (rows.length === 0) throw notFound('Network');
  // Two networks answering to one name would let one contract's guests in through the other's NAS.
  if (rows.length > 1) {
    throw conflict('NAS_IDENTIFIER_AMBIGUOUS', `More than one network has nasIdentifier "${nasIdentifier}"`);
  }
  return findNetwork(svc, rows[0].id);
}

/**
 * Access-Request: is this device authorised in the NAS's network now, and for how many seconds
 * more. Follows sessionState, so the answer is "no" from the instant of expiry.
 */
export async function radiusAuthorize(
  svc: Pick<Services, 'db' | 'cache'>,
  input: { nasIdentifier: string; mac: string; scope: string | null; now: Date },
): Promise<RadiusAnswer> {
  const network = await networkForNas(svc, input.nasIdentifier, input.scope);
  const state = await sessionState(svc, { networkId: network.id, mac: input.mac, now: input.now });
  if (!state.authorized) return { accept: false };
  // Less than a second left still counts as authorised; a Session-Timeout of 0 means "none" to some NASes.
  return { accept: true, sessionTimeout: state.secondsRemaining === null ? null : Math.max(1, state.secondsRemaining) };
}
