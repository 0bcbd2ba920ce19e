// HTTP layer: who a request acts as. No store or cache handle here; authentication is a domain call.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authenticate, type Principal } from '../../domain/apiTokens.js';
import { unauthorized } from '../../errors.js';
import type { Services } from '../../services.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** Every route registered after this in the same plugin needs `Authorization: Bearer <api token>`. */
export function requireApiToken(app: FastifyInstance, svc: Services): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request) => {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw unauthorized();
    request.principal = await authenticate(svc, match[1], svc.now());
  });
}

/** The acting principal of an authenticated request: what every use case takes as `actor`. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthorized();
  return request.principal;
}

export { scopeOf, requireSystem } from '../../domain/actor.js';
