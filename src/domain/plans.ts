// Domain layer: plans, a contract's named presets for generating tokens (DESIGN §4 "Plans"). Each
// use case takes the acting principal and enforces tenancy itself: another contract's plan is
// NOT_FOUND. Generating from a plan copies its values onto the tokens (src/domain/tokens.ts), so a
// plan changed or deleted later changes no token. May import src/store/*, src/errors.ts and other
// domain modules.
import { conflict, notFound, unprocessable } from '../errors.js';
import type { Services } from '../services.js';
import { sqlState, type Queryable } from '../store/db.js';
import * as store from '../store/plans.js';
import type { PlanRow, PlanValues } from '../store/plans.js';
import { requireOperator, scopeOf, type Principal } from './actor.js';
import { checkLimits, isUuid, validDuration, TOKEN_BOUNDS } from './bounds.js';
import { requireVisibleContract } from './tenancy.js';
import { checkLabel } from './text.js';
import { badRequest } from '../errors.js';

export type { PlanRow, PlanValues } from '../store/plans.js';

/** Characters of a plan's name (user-perceived, trimmed). */
export const PLAN_NAME_MAX = 100;

export type PlanJson = { id: string; contractId: string } & PlanValues & { createdAt: string };

export const planValues = (p: PlanRow): PlanValues => ({
  name: p.name,
  multiUse: p.multi_use,
  durationDays: p.duration_days,
  downKbps: p.down_kbps,
  upKbps: p.up_kbps,
  quotaMb: p.quota_mb,
  maxDevices: p.max_devices,
});

export const planJson = (p: PlanRow): PlanJson => ({ id: p.id, contractId: p.contract_id, ...planValues(p), createdAt: p.created_at.toISOString() });

/** A plan as given (a whole one): the name's rules and the token bounds; returns it with the name trimmed. */
function checkPlan(p: PlanValues): PlanValues {
  if (typeof p.name !== 'string') throw badRequest('VALIDATION_ERROR', 'name must be a string');
  const named = checkLabel(p.name, PLAN_NAME_MAX);
  if ('problem' in named) {
    throw unprocessable('INVALID_PLAN_NAME', `A plan's name is 1 to ${PLAN_NAME_MAX} visible characters`, { problem: named.problem });
  }
  if (typeof p.multiUse !== 'boolean') throw badRequest('VALIDATION_ERROR', 'multiUse must be true or false');
  if (!validDuration(p.durationDays)) {
    const { min, max } = TOKEN_BOUNDS.durationDays;
    throw badRequest('VALIDATION_ERROR', `durationDays must be null (unlimited) or an integer from ${min} to ${max}`);
  }
  checkLimits(p);
  return { ...p, name: named.label };
}

const nameTaken = (name: string) => conflict('PLAN_NAME_TAKEN', `The contract already has a plan named "${name}"`);

/** The contract's plans, for an actor who may see the contract (issuers too: they generate from them). */
export async function listPlans(deps: Pick<Services, 'db'>, actor: Principal, contractId: string): Promise<PlanRow[]> {
  await requireVisibleContract(deps, actor, contractId);
  return store.listPlans(deps.db, contractId);
}

/** A plan the actor may see; another contract's is NOT_FOUND like a missing one. */
export async function findPlan(q: Queryable, actor: Principal, id: string): Promise<PlanRow> {
  const plan = isUuid(id) ? await store.findPlan(q, scopeOf(actor), id) : null;
  if (!plan) throw notFound('Plan');
  return plan;
}

export async function createPlan(deps: Pick<Services, 'db'>, actor: Principal, input: { contractId: string; plan: PlanValues; now: Date }): Promise<PlanRow> {
  requireOperator(actor, 'Contract');
  await requireVisibleContract(deps, actor, input.contractId);
  const plan = checkPlan(input.plan);
  try {
    const row = await store.insertPlan(deps.db, input.contractId, plan, input.now);
    if (!row) throw notFound('Contract');
    return row;
  } catch (err) {
    if (sqlState(err) === '23505') throw nameTaken(plan.name);
    throw err;
  }
}

/** Changes the fields given; the others stay. Tokens made from the plan keep their values. */
export async function updatePlan(deps: Pick<Services, 'db'>, actor: Principal, input: { planId: string; changes: Partial<PlanValues> }): Promise<PlanRow> {
  requireOperator(actor, 'Plan');
  const current = await findPlan(deps.db, actor, input.planId);
  const defined = Object.fromEntries(Object.entries(input.changes).filter(([, v]) => v !== undefined)) as Partial<PlanValues>;
  const plan = checkPlan({ ...planValues(current), ...defined });
  try {
    return await store.updatePlan(deps.db, current.id, plan);
  } catch (err) {
    if (sqlState(err) === '23505') throw nameTaken(plan.name);
    throw err;
  }
}

export async function deletePlan(deps: Pick<Services, 'db'>, actor: Principal, planId: string): Promise<void> {
  requireOperator(actor, 'Plan');
  const plan = await findPlan(deps.db, actor, planId);
  await store.deletePlan(deps.db, plan.id);
}
