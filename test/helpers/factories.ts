import { PROCESS_ACTOR, type Principal, type UserRole } from '../../src/domain/actor.js';
import { createApiToken } from '../../src/domain/apiTokens.js';
import { createContract } from '../../src/domain/contracts.js';
import type { ControllerKind, NetworkSettings } from '../../src/domain/networks.js';
import { insertNetwork } from '../../src/store/networks.js';
import type { TokenLimits } from '../../src/domain/bounds.js';
import { generateTokens } from '../../src/domain/tokens.js';
import { createUser } from '../../src/domain/users.js';
import type { Services } from '../../src/services.js';

let seq = 0;
const next = () => ++seq;

export async function makeContract(svc: Services, name = `Contract ${next()}`) {
  return createContract(svc, PROCESS_ACTOR, { name, now: svc.now() });
}

/**
 * A network row as the test gives it: written straight to the store, so settings are not checked
 * (a test may want a loopback target) and its targets are not approved (tests approve by hand).
 */
export async function makeNetwork(svc: Services, contractId: string, controller: ControllerKind = 'generic', settings: NetworkSettings = {}) {
  const network = await insertNetwork(svc.db, { contractId, name: `Network ${next()}`, controller, settings, targetsApproved: false, now: svc.now() });
  if (!network) throw new Error(`no contract ${contractId}`);
  return network;
}

/** A contract with one network: the usual arrangement of a test. */
export async function makeSite(svc: Services) {
  const contract = await makeContract(svc);
  const network = await makeNetwork(svc, contract.id);
  return { contract, network };
}

export async function makeTokens(
  svc: Services,
  contractId: string,
  opts: { count?: number; multiUse?: boolean; durationDays?: number | null } & Partial<TokenLimits> = {},
) {
  return generateTokens(svc, operatorOf(contractId), {
    ...opts,
    contractId,
    count: opts.count ?? 1,
    multiUse: opts.multiUse ?? false,
    durationDays: opts.durationDays === undefined ? 1 : opts.durationDays,
    now: svc.now(),
  });
}

export async function makeToken(svc: Services, contractId: string, opts: { multiUse?: boolean; durationDays?: number | null } & Partial<TokenLimits> = {}) {
  return (await makeTokens(svc, contractId, { ...opts, count: 1 }))[0];
}

/** A user with a fresh API token; `contractId` null makes a system administrator. */
export async function makeUser(
  svc: Services,
  contractId: string | null,
  opts: { tokenLoginAllowed?: boolean; password?: string; role?: UserRole } = {},
) {
  const user = await createUser(svc, PROCESS_ACTOR, {
    login: `user${next()}-${Math.random().toString(36).slice(2, 8)}`,
    password: opts.password ?? null,
    contractId,
    role: opts.role,
    tokenLoginAllowed: opts.tokenLoginAllowed ?? true,
    now: svc.now(),
  });
  const { token } = await createApiToken(svc, { userId: user.id, label: 'test', now: svc.now() });
  return { user, token, auth: { authorization: `Bearer ${token}` } };
}

/**
 * Who acts in a use case called without HTTP: an operator of this contract, or with null a system
 * administrator. Use cases read only the contract and the system flag of their actor.
 */
export function operatorOf(contractId: string | null): Principal {
  return { userId: 'test-actor', login: 'test-actor', contractId, isSystem: contractId === null, tokenId: null, role: 'operator' as const };
}

/** A MAC address unique within the test run. */
export function mac(n = next()): string {
  const hex = n.toString(16).padStart(12, '0').toUpperCase();
  return hex.match(/../g)!.join(':');
}
