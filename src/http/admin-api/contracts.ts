import type { FastifyInstance } from 'fastify';
import { checkSavedTargets, validateSettings } from '../../controllers/index.js';
import { createContract, findContract, listContracts } from '../../domain/contracts.js';
import { CONTROLLERS, createNetwork, findNetwork, listNetworks, networkJson, type ControllerKind, type NetworkSettings } from '../../domain/networks.js';
import { notFound } from '../../errors.js';
import type { Services } from '../../services.js';
import { principalOf, requireSystem, scopeOf } from '../plugins/auth.js';
import { baseUrl, idParams } from '../schemas.js';

const name = { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' } as const;

export async function contractRoutes(app: FastifyInstance, { svc }: { svc: Services }) {
  app.post<{ Body: { name: string } }>('/api/v1/contracts', {
    schema: { body: { type: 'object', required: ['name'], properties: { name }, additionalProperties: false } },
  }, async (request, reply) => {
    requireSystem(principalOf(request));
    const contract = await createContract(svc.db, { name: request.body.name.trim(), now: svc.now() });
    return reply.status(201).send(contract);
  });

  app.get('/api/v1/contracts', async (request) => ({
    contracts: await listContracts(svc.db, scopeOf(principalOf(request))),
  }));

  app.get<{ Params: { id: string } }>('/api/v1/contracts/:id', { schema: { params: idParams } }, async (request) =>
    findContract(svc.db, request.params.id, scopeOf(principalOf(request))),
  );

  app.post<{ Params: { id: string }; Body: { name: string; controller: ControllerKind } & NetworkSettings }>(
    '/api/v1/contracts/:id/networks',
    {
      schema: {
        params: idParams,
        body: {
          type: 'object',
          required: ['name', 'controller'],
          properties: { name, controller: { type: 'string', enum: CONTROLLERS } },
          // Controller settings (URLs, secrets, site ids) ride beside name and controller; each
          // controller's own schema is checked in the handler (validateSettings).
          propertyNames: { pattern: '^[A-Za-z][A-Za-z0-9_]{0,63}$' },
          maxProperties: 40,
          additionalProperties: { type: ['string', 'number', 'boolean', 'null'], maxLength: 2000 },
        },
      },
    },
    async (request, reply) => {
      const actor = principalOf(request);
      await findContract(svc.db, request.params.id, scopeOf(actor));
      const { name: networkName, controller, ...settings } = request.body;
      const checked = validateSettings(controller, settings as NetworkSettings);
      const { targetsApproved } = await checkSavedTargets(controller, checked, { allow: svc.config.outboundAllow, actor });
      const network = await createNetwork(svc.db, {
        contractId: request.params.id,
        name: networkName.trim(),
        controller,
        settings: checked,
        targetsApproved,
        now: svc.now(),
      });
      return reply.status(201).send(networkJson(network, baseUrl(request)));
    },
  );

  app.get<{ Params: { id: string } }>('/api/v1/contracts/:id/networks', { schema: { params: idParams } }, async (request) => {
    await findContract(svc.db, request.params.id, scopeOf(principalOf(request)));
    const networks = await listNetworks(svc.db, request.params.id);
    return { networks: networks.map((n) => networkJson(n, baseUrl(request))) };
  });

  app.get<{ Params: { id: string } }>('/api/v1/networks/:id', { schema: { params: idParams } }, async (request) => {
    const scope = scopeOf(principalOf(request));
    const network = await findNetwork(svc, request.params.id);
    if (scope !== null && network.contractId !== scope) throw notFound('Network');
    return networkJson(network, baseUrl(request));
  });
}
