// HTTP layer: who a request acts as. No store or cache handle here; authentication is a domain call.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authenticate, type Principal } from '../../domain/apiTokens.js';
import { notFound, unauthorized } from '../../errors.js';
import type { Services } from '../../services.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/**
 * What an issuer (reception desk, kiosk) may reach: list, generate, print and annul tokens, note
 * issuedTo, see their contract, and manage their own API tokens. The use cases refuse the rest
 * too; this list is the fail-closed net, so a route added later is an issuer's 404 until named here.
 */
const ISSUER_ROUTES = new Set([
  'GET /api/v1/contracts',
  'GET /api/v1/contracts/:id',
  'GET /api/v1/contracts/:id/tokens',
  'POST /api/v1/contracts/:id/tokens',
  // Issuers generate from the contract's plans; only operators change them.
  'GET /api/v1/contracts/:id/plans',
  'GET /api/v1/contracts/:id/tokens.pdf',
  'POST /api/v1/tokens/:id/annul',
  'PATCH /api/v1/tokens/:id',
  'GET /api/v1/me/tokens',
  'POST /api/v1/me/tokens',
  'DELETE /api/v1/me/tokens/:id',
]);

/** Every route registered after this in the same plugin needs `Authorization: Bearer <api token>`. */
export function requireApiToken(app: FastifyInstance, svc: Services): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request) => {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw unauthorized();
    request.principal = await authenticate(svc, match[1], svc.now());
    if (request.principal.role === 'issuer' && !ISSUER_ROUTES.has(`${request.method} ${request.routeOptions.url}`)) {
      throw notFound('Route');
    }
  });
}

/** The acting principal of an authenticated request: what every use case takes as `actor`. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthorized();
  return request.principal;
}

export { scopeOf, requireSystem } from '../../domain/actor.js';
