// Domain layer: the tenancy checks use cases make before they touch a contract's objects. Another
// contract's object is NOT_FOUND, exactly like a missing one. May import src/store/*, src/errors.ts
// and other domain modules.
import { notFound } from '../errors.js';
import type { Services } from '../services.js';
import { contractExists } from '../store/tenancy.js';
import { canSee, type Principal } from './actor.js';
import { isUuid } from './bounds.js';
import { findNetwork, type Network } from './networks.js';

/** The contract an actor names exists and the actor may see it; else NOT_FOUND. */
export async function requireVisibleContract(deps: Pick<Services, 'db'>, actor: Principal, contractId: string): Promise<void> {
  if (!isUuid(contractId) || !canSee(actor, contractId) || !(await contractExists(deps.db, contractId))) throw notFound('Contract');
}

/** The network an actor names, if it exists and the actor may see it; else NOT_FOUND. */
export async function findVisibleNetwork(deps: Pick<Services, 'db' | 'cache' | 'local'>, actor: Principal, networkId: string): Promise<Network> {
  if (!isUuid(networkId)) throw notFound('Network');
  const network = await findNetwork(deps, networkId);
  if (!canSee(actor, network.contractId)) throw notFound('Network');
  return network;
}
