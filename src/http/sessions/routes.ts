import type { FastifyInstance } from 'fastify';
import { requireMac } from '../../domain/mac.js';
import { findNetwork } from '../../domain/networks.js';
import { listSessions, sessionState } from '../../domain/sessions.js';
import { notFound } from '../../errors.js';
import type { Services } from '../../services.js';
import { principalOf, scopeOf } from '../plugins/auth.js';
import { uuid } from '../schemas.js';

/** Session state for controllers and RADIUS servers that poll. */
export async function sessionRoutes(app: FastifyInstance, { svc }: { svc: Services }) {
  async function ownNetwork(request: Parameters<typeof principalOf>[0], networkId: string) {
    const scope = scopeOf(principalOf(request));
    const network = await findNetwork(svc, networkId);
    if (scope !== null && network.contractId !== scope) throw notFound('Network');
    return network;
  }

  app.get<{ Params: { networkId: string; mac: string } }>(
    '/api/v1/networks/:networkId/sessions/:mac',
    { schema: { params: { type: 'object', properties: { networkId: uuid, mac: { type: 'string', maxLength: 40 } } } } },
    async (request) => {
      const mac = requireMac(request.params.mac);
      await ownNetwork(request, request.params.networkId);
      return sessionState(svc, { networkId: request.params.networkId, mac, now: svc.now() });
    },
  );

  app.get<{ Params: { networkId: string } }>(
    '/api/v1/networks/:networkId/sessions',
    { schema: { params: { type: 'object', properties: { networkId: uuid } } } },
    async (request) => {
      await ownNetwork(request, request.params.networkId);
      return { sessions: await listSessions(svc, { networkId: request.params.networkId, now: svc.now() }) };
    },
  );
}
