// Who acts in a use case. Use cases take an `actor` and enforce tenancy themselves, so that no
// route can forget it: another contract's object is NOT_FOUND from the use case, whatever calls it.
import { forbidden } from '../errors.js';

/** Who a request acts as. `contractId` null with `isSystem` = system administrator. */
export interface Principal {
  userId: string;
  login: string;
  contractId: string | null;
  isSystem: boolean;
  tokenId: string | null;
}

/** The contract an actor is confined to; null for a system administrator (sees all). */
export const scopeOf = (actor: Principal): string | null => (actor.isSystem ? null : actor.contractId);

/** True when the actor may see objects of this contract. */
export const canSee = (actor: Principal, contractId: string): boolean => actor.isSystem || actor.contractId === contractId;

export function requireSystem(actor: Principal): void {
  if (!actor.isSystem) throw forbidden('Only a system administrator may do this');
}

/** The process itself acting from a command line (`kalitka demo`): a system administrator. */
export const CLI_ACTOR: Principal = { userId: 'cli', login: 'cli', contractId: null, isSystem: true, tokenId: null };
