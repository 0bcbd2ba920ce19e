// Domain layer: identifications (a device identified in a contract) — how one ends, and what
// operators may see of them. Use cases take the acting principal and enforce tenancy. May import
// src/store/*, src/cache/cache.ts (the interface), src/errors.ts and other domain modules; never
// src/http.
import * as store from '../store/identifications.js';
import type { Services } from '../services.js';
import type { Principal } from './actor.js';
import { numberContext, phoneCrypto } from './phone/crypto.js';
import { forgetSession } from './sessions.js';
import { requireVisibleContract } from './tenancy.js';

export type { EndReason, Identification, IdentificationView } from '../store/identifications.js';
export { startIdentification } from '../store/identifications.js';
import type { EndReason, Identification } from '../store/identifications.js';
import type { Queryable } from '../store/db.js';

/**
 * The one definition of an end (DESIGN §1 rules 7-9), inside the caller's transaction: the live
 * identifications of these token copies end, the copies get their final status, and the controller
 * and webhook calls are queued — all by kalitka_end_identification, which activation calls too.
 * After the transaction commits, the caller runs `forgetEnded` with what this returns.
 */
export function endIdentifications(q: Queryable, e: { tokenIds: string[]; reason: EndReason; now: Date }): Promise<Identification[]> {
  if (e.tokenIds.length === 0) return Promise.resolve([]);
  return store.endIdentifications(q, e);
}

/** The end's last part, after commit: a tombstone in the cache for each device (not `exceptMac`). */
export async function forgetEnded(deps: Pick<Services, 'cache'>, ended: Identification[], exceptMac?: string): Promise<void> {
  await Promise.all(ended.filter((i) => i.mac !== exceptMac).map((i) => forgetSession(deps, i.mac)));
}

/** Live identifications in a contract's networks, as the panel's sessions page shows them. */
export async function liveIdentifications(
  deps: Pick<Services, 'db'> & { secret?: Buffer },
  actor: Principal,
  input: { contractId: string; now: Date },
): Promise<ShownIdentification[]> {
  await requireVisibleContract(deps, actor, input.contractId);
  return withPhone(deps, actor, input.contractId, await store.liveInContractWithNetwork(deps.db, input.contractId, input.now));
}

/** A row as the panel shows it: `phone` (E.164) of a phone identification, for the contract's own operators only. */
export type ShownIdentification = store.IdentificationView & { phone: string | null };

/** Rule 16: the number is opened only for an operator of the row's own contract (not a system administrator, not an issuer). */
function withPhone(deps: { secret?: Buffer }, actor: Principal, contractId: string, rows: store.IdentificationView[]): ShownIdentification[] {
  const box = deps.secret && !actor.isSystem && actor.contractId === contractId && actor.role === 'operator' ? phoneCrypto(deps.secret) : null;
  return rows.map((r) => {
    let phone: string | null = null;
    if (box && r.phone_sealed) {
      try {
        phone = box.open(r.phone_sealed, numberContext(contractId));
      } catch {
        phone = null; // sealed under another server secret
      }
    }
    return { ...r, phone };
  });
}

/** The log of a contract: identifications that started in [from, to), newest first. */
export async function identificationLog(
  deps: Pick<Services, 'db'> & { secret?: Buffer },
  actor: Principal,
  input: { contractId: string; from: Date; to: Date; limit: number },
): Promise<ShownIdentification[]> {
  await requireVisibleContract(deps, actor, input.contractId);
  return withPhone(deps, actor, input.contractId, await store.startedBetween(deps.db, input));
}
