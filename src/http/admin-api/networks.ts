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
import { deleteNetworkLogo, LOGO_MAX_BYTES, setNetworkLogo } from '../../domain/branding.js';
import { cleanText } from '../../domain/text.js';
import { badRequest } from '../../errors.js';
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
    ...(n.logoVersion ? { logoUrl: `${base}/portal/${n.id}/logo?v=${n.logoVersion}` } : {}),
    createdAt: n.createdAt,
  };
}

// Controller settings (URLs, secrets, site ids) ride beside name and controller, or inside a
// `settings` object (DESIGN §4 "(name, settings)"), or both; each controller's own schema is
// checked by the use case (validateSettings).
const settingsShape = {
  propertyNames: { pattern: '^[A-Za-z][A-Za-z0-9_]{0,63}$' },
  maxProperties: 40,
  additionalProperties: {
    type: ['string', 'number', 'boolean', 'null', 'array'],
    maxLength: 2000,
    // Lists (phoneMethods, phoneCountries): short strings; the controller's schema checks the values.
    items: { type: 'string', maxLength: 20 },
    maxItems: 50,
  },
} as const;
// The terms of use are the only settings longer than that (their schema says how long).
const longText = { type: ['string', 'null'], maxLength: 10000 } as const;
/** Texts that may hold line breaks. */
const MULTILINE = ['termsRu', 'termsEn', 'supportContact'];
const termsProps = { termsRu: longText, termsEn: longText } as const;
/** `settings: {...}`: the same names and values as the flat form. */
const nestedSettings = { settings: { type: 'object', ...settingsShape, properties: termsProps } } as const;

/**
 * The settings a body names: its flat ones merged with those nested in `settings`. A name given
 * both ways, or name/controller inside `settings`, is refused (400), never silently picked.
 */
export function settingsOfBody(flat: NetworkSettings, nested: NetworkSettings | undefined): NetworkSettings {
  if (nested === undefined) return flat;
  const fields = Object.keys(nested).filter((k) => k === 'name' || k === 'controller');
  if (fields.length) {
    throw badRequest('NOT_A_SETTING', `settings.${fields[0]}: name and controller are not settings; send them beside settings`, { fields });
  }
  const twice = Object.keys(nested).filter((k) => Object.hasOwn(flat, k));
  if (twice.length) {
    throw badRequest('SETTING_GIVEN_TWICE', `${twice.join(', ')} given both beside settings and inside it: send each setting once`, { settings: twice });
  }
  // The text boundary lets line breaks through under any field named `settings` (the panel's
  // textarea): here only the terms and the support contact may hold them, as in the flat form.
  for (const [k, v] of Object.entries(nested)) {
    const texts = typeof v === 'string' ? [v] : Array.isArray(v) ? v : [];
    if (texts.some((x) => typeof x === 'string' && !cleanText(x, MULTILINE.includes(k)))) {
      throw badRequest('INVALID_TEXT', `body.settings.${k} holds a control character or is not valid UTF-8 text`, { field: `body.settings.${k}` });
    }
  }
  return { ...flat, ...nested };
}

export async function networkRoutes(app: FastifyInstance) {
  const svc = app.services;

  app.post<{ Params: { id: string }; Body: { name: string; controller: ControllerKind; settings?: NetworkSettings } & NetworkSettings }>(
    '/api/v1/contracts/:id/networks',
    {
      config: { multilineFields: MULTILINE },
      schema: {
        params: idParams,
        body: { type: 'object', required: ['name', 'controller'], ...settingsShape, properties: { ...termsProps, ...nestedSettings, name: nameSchema, controller: { type: 'string', enum: CONTROLLERS } } },
      },
    },
    async (request, reply) => {
      const { name, controller, settings: nested, ...flat } = request.body;
      const network = await createNetwork(svc, principalOf(request), {
        contractId: request.params.id,
        name,
        controller,
        settings: settingsOfBody(flat as NetworkSettings, nested),
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

  // `{name?, <setting>: value}` or `{name?, settings: {<setting>: value}}`: the settings named are
  // set (null removes one), the others stay, so secrets that are never shown back need not be sent
  // again. The controller cannot change.
  app.patch<{ Params: { id: string }; Body: { name?: string; settings?: NetworkSettings } & NetworkSettings }>('/api/v1/networks/:id', {
    config: { multilineFields: MULTILINE },
    schema: {
      params: idParams,
      body: { type: 'object', ...settingsShape, properties: { ...termsProps, ...nestedSettings, name: nameSchema }, not: { required: ['controller'] }, minProperties: 1 },
    },
  }, async (request) => {
    const { name, settings: nested, ...flat } = request.body;
    const settings = settingsOfBody(flat as NetworkSettings, nested);
    const change = { name: name as string | undefined, settings: Object.keys(settings).length ? (settings as NetworkSettings) : undefined };
    return networkJson(await updateNetwork(svc, principalOf(request), request.params.id, change), baseUrl(request));
  });

  // The logo is the body itself (any image/* or application/octet-stream type; the bytes decide:
  // PNG, JPEG or WebP, never SVG), at most LOGO_MAX_BYTES (413 beyond).
  for (const type of [/^image\/[\w.+-]+$/, 'application/octet-stream']) {
    app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: LOGO_MAX_BYTES }, (_request, raw, done) => done(null, raw));
  }
  app.put<{ Params: { id: string }; Body: Buffer }>('/api/v1/networks/:id/logo', { schema: { params: idParams }, bodyLimit: LOGO_MAX_BYTES }, async (request) => {
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    return networkJson(await setNetworkLogo(svc, principalOf(request), request.params.id, body, svc.now()), baseUrl(request));
  });
  app.delete<{ Params: { id: string } }>('/api/v1/networks/:id/logo', { schema: { params: idParams } }, async (request, reply) => {
    await deleteNetworkLogo(svc, principalOf(request), request.params.id);
    return reply.status(204).send();
  });

  app.delete<{ Params: { id: string } }>('/api/v1/networks/:id', { schema: { params: idParams } }, async (request, reply) => {
    await deleteNetwork(svc, principalOf(request), request.params.id, svc.now());
    return reply.status(204).send();
  });
}
