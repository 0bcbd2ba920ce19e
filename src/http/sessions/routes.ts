// HTTP layer: the session-state API for controllers and RADIUS servers that poll. Translation only;
// the use cases enforce tenancy. May import src/domain/*, src/errors.ts and http helpers.
import type { FastifyInstance } from 'fastify';
import { requireMac } from '../../domain/mac.js';
import { deviceSession, listSessions } from '../../domain/sessions.js';
import type { Services } from '../../services.js';
import { principalOf } from '../plugins/auth.js';
import { uuid } from '../schemas.js';

export async function sessionRoutes(app: FastifyInstance, { svc }: { svc: Services }) {
  app.get<{ Params: { networkId: string; mac: string } }>(
    '/api/v1/networks/:networkId/sessions/:mac',
    { schema: { params: { type: 'object', properties: { networkId: uuid, mac: { type: 'string', maxLength: 40 } } } } },
    async (request) => {
      const mac = requireMac(request.params.mac);
      return deviceSession(svc, principalOf(request), { networkId: request.params.networkId, mac, now: svc.now() });
    },
  );

  app.get<{ Params: { networkId: string } }>(
    '/api/v1/networks/:networkId/sessions',
    { schema: { params: { type: 'object', properties: { networkId: uuid } } } },
    async (request) => ({ sessions: await listSessions(svc, principalOf(request), { networkId: request.params.networkId, now: svc.now() }) }),
  );
}
