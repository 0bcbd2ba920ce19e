// HTTP layer: routes translate HTTP to one use-case call and back. No store or cache handle here;
// tenancy and roles are the use cases' business (they take the principal as `actor`).
import type { FastifyInstance } from 'fastify';
import { createContract, getContract, listContracts, updateContract } from '../../domain/contracts.js';
import { NAME_MAX } from '../../domain/names.js';
import { principalOf } from '../plugins/auth.js';
import { idParams } from '../schemas.js';

export const nameSchema = { type: 'string', minLength: 1, maxLength: NAME_MAX, pattern: '\\S' } as const;
// Checked against the IANA database by the use case (422 INVALID_TIME_ZONE).
const timeZone = { type: 'string', minLength: 1, maxLength: 64 } as const;

export async function contractRoutes(app: FastifyInstance) {
  const svc = app.services;

  app.post<{ Body: { name: string; timeZone?: string } }>('/api/v1/contracts', {
    schema: { body: { type: 'object', required: ['name'], properties: { name: nameSchema, timeZone }, additionalProperties: false } },
  }, async (request, reply) => {
    const contract = await createContract(svc, principalOf(request), { ...request.body, now: svc.now() });
    return reply.status(201).send(contract);
  });

  app.get('/api/v1/contracts', async (request) => ({ contracts: await listContracts(svc, principalOf(request)) }));

  app.get<{ Params: { id: string } }>('/api/v1/contracts/:id', { schema: { params: idParams } }, async (request) =>
    getContract(svc, principalOf(request), request.params.id),
  );

  app.patch<{ Params: { id: string }; Body: { name?: string; timeZone?: string | null; disabled?: boolean } }>('/api/v1/contracts/:id', {
    schema: {
      params: idParams,
      body: {
        type: 'object',
        properties: { name: nameSchema, timeZone: { anyOf: [timeZone, { type: 'null' }] }, disabled: { type: 'boolean' } },
        minProperties: 1,
        additionalProperties: false,
      },
    },
  }, async (request) => updateContract(svc, principalOf(request), request.params.id, request.body, svc.now()));
}
