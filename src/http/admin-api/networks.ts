// HTTP layer: routes translate HTTP to one use-case call and back, and shape the API's JSON. No
// store or cache handle here; tenancy and roles are the use cases' business.
import type { FastifyInstance } from 'fastify';
import {
  CONTROLLERS,
  createNetwork,
  deleteNetwork,
  getNetwork,
  isSecretSetting,
  listNetworks,
  updateNetwork,
  type ControllerKind,
  type Network,
  type NetworkSettings,
} from '../../domain/networks.js';
import { principalOf } from '../plugins/auth.js';
import { baseUrl, idParams } from '../schemas.js';
import { nameSchema } from './contracts.js';

/** The API's view: controller settings spread beside the fields, secrets left out. */
export function networkJson(n: Network, base: string) {
  const visible = Object.fromEntries(Object.entries(n.settings).filter(([k]) => !isSecretSetting(k)));
  return {
    ...visible,
    id: n.id,
    contractId: n.contractId,
    name: n.name,
    controller: n.controller,
    portalUrl: `${base}/portal/${n.id}`,
    createdAt: n.createdAt,
  };
}

// Controller settings (URLs, secrets, site ids) ride beside name and controller; each controller's
// own schema is checked by the use case (validateSettings).
const settingsShape = {
  propertyNames: { pattern: '^[A-Za-z][A-Za-z0-9_]{0,63}$' },
  maxProperties: 40,
  additionalProperties: { type: ['string', 'number', 'boolean', 'null'], maxLength: 2000 },
} as const;

export async function networkRoutes(app: FastifyInstance) {
  const svc = app.services;

  app.post<{ Params: { id: string }; Body: { name: string; controller: ControllerKind } & NetworkSettings }>(
    '/api/v1/contracts/:id/networks',
    {
      schema: {
        params: idParams,
        body: { type: 'object', required: ['name', 'controller'], properties: { name: nameSchema, controller: { type: 'string', enum: CONTROLLERS } }, ...settingsShape },
      },
    },
    async (request, reply) => {
      const { name, controller, ...settings } = request.body;
      const network = await createNetwork(svc, principalOf(request), {
        contractId: request.params.id,
        name,
        controller,
        settings: settings as NetworkSettings,
        now: svc.now(),
      });
      return reply.status(201).send(networkJson(network, baseUrl(request)));
    },
  );

  app.get<{ Params: { id: string } }>('/api/v1/contracts/:id/networks', { schema: { params: idParams } }, async (request) => {
    const networks = await listNetworks(svc, principalOf(request), request.params.id);
    return { networks: networks.map((n) => networkJson(n, baseUrl(request))) };
  });

  app.get<{ Params: { id: string } }>('/api/v1/networks/:id', { schema: { params: idParams } }, async (request) =>
    networkJson(await getNetwork(svc, principalOf(request), request.params.id), baseUrl(request)),
  );

  // `{name?, <setting>: value}`: the settings named are set (null removes one), the others stay,
  // so secrets that are never shown back need not be sent again. The controller cannot change.
  app.patch<{ Params: { id: string }; Body: { name?: string } & NetworkSettings }>('/api/v1/networks/:id', {
    schema: {
      params: idParams,
      body: { type: 'object', properties: { name: nameSchema }, not: { required: ['controller'] }, minProperties: 1, ...settingsShape },
    },
  }, async (request) => {
    const { name, ...settings } = request.body;
    const change = { name: name as string | undefined, settings: Object.keys(settings).length ? (settings as NetworkSettings) : undefined };
    return networkJson(await updateNetwork(svc, principalOf(request), request.params.id, change), baseUrl(request));
  });

  app.delete<{ Params: { id: string } }>('/api/v1/networks/:id', { schema: { params: idParams } }, async (request, reply) => {
    await deleteNetwork(svc, principalOf(request), request.params.id, svc.now());
    return reply.status(204).send();
  });
}
