// Domain layer: rules and use cases. A use case takes its deps (narrow types, never request/reply)
// and the acting principal; it may import src/store, src/cache, errors and config types, never
// src/http. Another contract's object is NOT_FOUND from the use case, whatever calls it.
import { forbidden, notFound } from '../errors.js';
import type { UserRole } from '../store/users.js';

export type { UserRole };
export const USER_ROLES: readonly UserRole[] = ['operator', 'issuer'];

/** Who acts. `contractId` null with `isSystem` = system administrator. */
export interface Principal {
  userId: string;
  login: string;
  contractId: string | null;
  isSystem: boolean;
  /** `issuer` may only list, generate, print and annul tokens and note issuedTo. */
  role: UserRole;
  tokenId: string | null;
}

/** The process itself (CLI, first start): a system administrator that is no user. */
export const PROCESS_ACTOR: Principal = Object.freeze({
  userId: '00000000-0000-0000-0000-000000000000',
  login: 'kalitka',
  contractId: null,
  isSystem: true,
  role: 'operator',
  tokenId: null,
});

/** The contract an actor is confined to; null for a system administrator (sees all). */
export const scopeOf = (actor: Principal): string | null => (actor.isSystem ? null : actor.contractId);

/** True when the actor may see objects of this contract. */
export const canSee = (actor: Principal, contractId: string): boolean => actor.isSystem || actor.contractId === contractId;

export function requireSystem(actor: Principal): void {
  if (!actor.isSystem) throw forbidden('Only a system administrator may do this');
}

/**
 * Everything but tokens is out of an issuer's sight: the thing asked for is NOT_FOUND, as if it
 * did not exist (the API answers 404 on those routes).
 */
export function requireOperator(actor: Principal, what: string): void {
  if (actor.role !== 'operator') throw notFound(what);
}
