// HTTP layer: a contract's phone provider accounts (DESIGN §4 "Admin API"). Translation only:
// tenancy, roles (an issuer gets 404) and validation are the use cases'.
import type { FastifyInstance } from 'fastify';
import { resumeProvider } from '../../domain/phone/breaker.js';
import { listProviderSettings, saveProviderSettings } from '../../domain/phone/providerSettings.js';
import { principalOf } from '../plugins/auth.js';
import { uuid } from '../schemas.js';

const params = {
  type: 'object',
  required: ['id', 'provider'],
  properties: { id: uuid, provider: { type: 'string', maxLength: 20 } },
  additionalProperties: false,
} as const;

export async function phoneProviderRoutes(app: FastifyInstance) {
  const svc = app.services;

  app.get<{ Params: { id: string } }>(
    '/api/v1/contracts/:id/phone-providers',
    { schema: { params: { type: 'object', required: ['id'], properties: { id: uuid }, additionalProperties: false } } },
    async (request) => ({ providers: await listProviderSettings(svc, principalOf(request), request.params.id) }),
  );

  // `{apiUrl?, ...credentials}`: every credential of the provider (secrets are never shown back, so a
  // save names them all again). The use case checks names and shapes (400 INVALID_SETTINGS) and the
  // apiUrl's address (422 OUTBOUND_REFUSED).
  app.put<{ Params: { id: string; provider: string }; Body: Record<string, unknown> }>(
    '/api/v1/contracts/:id/phone-providers/:provider',
    {
      schema: {
        params,
        body: { type: 'object', maxProperties: 10, additionalProperties: { type: ['string', 'null'], maxLength: 2000 } },
      },
    },
    async (request) => saveProviderSettings(svc, principalOf(request), request.params.id, request.params.provider, request.body ?? {}, svc.now()),
  );

  app.post<{ Params: { id: string; provider: string } }>(
    '/api/v1/contracts/:id/phone-providers/:provider/resume',
    { schema: { params } },
    async (request) => resumeProvider(svc, principalOf(request), request.params.id, request.params.provider),
  );
}
