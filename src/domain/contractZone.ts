import { notFound } from '../errors.js';
import type { Queryable } from '../store/db.js';
import { findContractZone } from '../store/contractZones.js';
import { canSee, type Principal } from './actor.js';

/** What the exports need: the store, and the zone of contracts that never chose one. */
export interface ExportDeps {
  db: Queryable;
  config: { timeZone: string };
}

export interface ContractZone {
  id: string;
  name: string;
  /** The contract's own IANA zone, else the server's default (KALITKA_TIME_ZONE). */
  timeZone: string;
}

/** The contract an actor exports from; another contract's, like a missing one, is NOT_FOUND. */
export async function visibleContractZone(deps: ExportDeps, actor: Principal, contractId: string): Promise<ContractZone> {
  if (!canSee(actor, contractId)) throw notFound('Contract');
  const row = await findContractZone(deps.db, contractId);
  if (!row) throw notFound('Contract');
  return { id: row.id, name: row.name, timeZone: row.time_zone ?? deps.config.timeZone };
}
