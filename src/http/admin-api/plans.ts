// HTTP layer: the plan endpoints of the admin API (named presets for generating tokens).
// Translation only: each handler calls one use case with the acting principal. May import
// src/domain/*, src/errors.ts and http helpers; never the store or the cache.
import type { FastifyInstance } from 'fastify';
import { TOKEN_BOUNDS } from '../../domain/bounds.js';
import { createPlan, deletePlan, listPlans, planJson, updatePlan, type PlanValues } from '../../domain/plans.js';
import type { Services } from '../../services.js';
import { principalOf } from '../plugins/auth.js';
import { idParams } from '../schemas.js';
import { LIMIT_SCHEMA } from './tokens.js';

const { durationDays } = TOKEN_BOUNDS;
const planProperties = {
  name: { type: 'string', maxLength: 1000 },
  multiUse: { type: 'boolean' },
  durationDays: { type: ['integer', 'null'], minimum: durationDays.min, maximum: durationDays.max },
  ...LIMIT_SCHEMA,
} as const;

export async function planRoutes(app: FastifyInstance, { svc }: { svc: Services }) {
  app.get<{ Params: { id: string } }>('/api/v1/contracts/:id/plans', { schema: { params: idParams } }, async (request) => {
    const plans = await listPlans(svc, principalOf(request), request.params.id);
    return { plans: plans.map(planJson) };
  });

  app.post<{ Params: { id: string }; Body: Partial<PlanValues> & { name: string } }>(
    '/api/v1/contracts/:id/plans',
    { schema: { params: idParams, body: { type: 'object', required: ['name'], properties: planProperties, additionalProperties: false } } },
    async (request, reply) => {
      const b = request.body;
      const plan = await createPlan(svc, principalOf(request), {
        contractId: request.params.id,
        plan: {
          name: b.name,
          multiUse: b.multiUse ?? false,
          durationDays: b.durationDays ?? null,
          downKbps: b.downKbps ?? null,
          upKbps: b.upKbps ?? null,
          quotaMb: b.quotaMb ?? null,
          maxDevices: b.maxDevices ?? null,
        },
        now: svc.now(),
      });
      return reply.status(201).send(planJson(plan));
    },
  );

  app.patch<{ Params: { id: string }; Body: Partial<PlanValues> }>(
    '/api/v1/plans/:id',
    { schema: { params: idParams, body: { type: 'object', minProperties: 1, properties: planProperties, additionalProperties: false } } },
    async (request) => planJson(await updatePlan(svc, principalOf(request), { planId: request.params.id, changes: request.body })),
  );

  app.delete<{ Params: { id: string } }>('/api/v1/plans/:id', { schema: { params: idParams } }, async (request, reply) => {
    await deletePlan(svc, principalOf(request), request.params.id);
    return reply.status(204).send();
  });
}
