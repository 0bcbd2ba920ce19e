// HTTP layer: the FreeRADIUS rlm_rest endpoints. Translation only: attributes in, one use case,
// status and reply attributes out. May import src/domain/*, src/errors.ts and http helpers.
import { isIP } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { normalizeMac } from '../../domain/mac.js';
import { credentialOf } from '../../domain/grants.js';
import { radiusAccounting } from '../../domain/accounting.js';
import { radiusAuthorize } from '../../domain/radius.js';
import { AppError, badRequest } from '../../errors.js';
import type { Services } from '../../services.js';
import { principalOf } from '../plugins/auth.js';

/**
 * FreeRADIUS rlm_rest calls these (deploy/freeradius). It sends the request's attributes with
 * `body = 'json'` as `{"User-Name":{"type":"string","value":["..."]},...}`, or with `body = 'post'`
 * as a form `User-Name=...&...`. It reads our answer by status: 2xx → ok (the JSON body's
 * attributes land in the reply list), 403 → userlock, 401 → reject, 404 → notfound, other 4xx →
 * invalid, 5xx → fail; the site turns anything but ok into Access-Reject.
 */
type Scalar = string | number | boolean;
type RadiusBody = Record<string, Scalar | Scalar[] | { type?: string; attr_num?: number; value: Scalar[] }>;

const scalar = { type: ['string', 'number', 'boolean'], maxLength: 1000 } as const;
const radiusBody = {
  type: 'object',
  maxProperties: 200,
  propertyNames: { minLength: 1, maxLength: 100 },
  additionalProperties: {
    anyOf: [
      scalar, // body = 'post'
      { type: 'array', maxItems: 50, items: scalar }, // body = 'post', an attribute sent twice
      {
        type: 'object', // body = 'json'
        required: ['value'],
        properties: {
          type: { type: 'string', maxLength: 40 },
          attr_num: { type: 'integer' },
          value: { type: 'array', maxItems: 50, items: scalar },
        },
        additionalProperties: false,
      },
    ],
  },
} as const;

/** Each attribute's first value in either encoding, by its name in lower case (the first of a name wins). */
type Attributes = Map<string, string | undefined>;

/** Reads the body once (each request asks for several attributes); names match without regard to case. */
function attributesOf(body: RadiusBody): Attributes {
  const out: Attributes = new Map();
  for (const key in body) {
    const name = key.toLowerCase().replace(/^request:/, '');
    if (out.has(name)) continue;
    const raw = body[key];
    const values = Array.isArray(raw) ? raw : typeof raw === 'object' ? raw.value : [raw];
    out.set(name, values.length ? String(values[0]) : undefined);
  }
  return out;
}

/** First value of an attribute in either encoding; names match without regard to case. */
export function attribute(body: RadiusBody | Attributes, name: string): string | undefined {
  return (body instanceof Map ? body : attributesOf(body)).get(name.toLowerCase());
}

/** The guest device: Calling-Station-Id, else User-Name (MAC authentication sends the MAC there too). */
function deviceMac(body: RadiusBody | Attributes): string | null {
  const attributes = body instanceof Map ? body : attributesOf(body);
  for (const name of ['Calling-Station-Id', 'User-Name']) {
    const value = attribute(attributes, name);
    const mac = value === undefined ? null : normalizeMac(value);
    if (mac) return mac;
  }
  return null;
}

export async function radiusRoutes(app: FastifyInstance, { svc }: { svc: Services }) {
  app.post<{ Body: RadiusBody }>(
    '/api/v1/radius/authorize',
    {
      schema: {
        body: radiusBody,
        response: {
          200: {
            type: 'object',
            properties: { 'reply:Session-Timeout': { type: 'integer', minimum: 1 }, 'control:Cleartext-Password': { type: 'string' } },
            // The limit attributes of the NAS kind (kalitka_limit_attributes names them).
            patternProperties: { '^reply:(WISPr|Mikrotik|ChilliSpot)-[A-Za-z-]+$': { type: ['integer', 'string'] } },
            additionalProperties: false,
          },
        },
      },
    },
    async (request) => {
      const actor = principalOf(request);
      const attributes = attributesOf(request.body);
      const nasIdentifier = attribute(attributes, 'NAS-Identifier');
      if (!nasIdentifier) throw badRequest('NAS_IDENTIFIER_REQUIRED', 'NAS-Identifier is required to find the network');
      const mac = deviceMac(attributes);
      if (!mac) throw badRequest('INVALID_MAC', 'Calling-Station-Id (or User-Name) must be the device MAC address');
      const credential = credentialOf({
        userPassword: attribute(attributes, 'User-Password'),
        chapPassword: attribute(attributes, 'CHAP-Password'),
        chapChallenge: attribute(attributes, 'CHAP-Challenge'),
      });
      const userName = attribute(attributes, 'User-Name') ?? null;
      const answer = await radiusAuthorize(svc, actor, { nasIdentifier, mac, userName, credential, now: svc.now() });
      request.log.debug({ mac, nasIdentifier, accept: answer.accept, password: credential?.kind ?? null }, 'radius authorize');
      // 403 is rlm_rest's "userlock": Access-Reject, and its body is not read as attributes.
      if (!answer.accept) throw new AppError(403, 'DEVICE_NOT_AUTHORIZED', 'This device is not identified in this network');
      // A grant secret goes back as the known-good password, so FreeRADIUS's pap/chap check the login too.
      // Integer attributes go as JSON numbers, Mikrotik-Rate-Limit ("512k/2M") as a string.
      const limits = Object.fromEntries(answer.attributes.map((a) => [`reply:${a.attribute}`, /^\d+$/.test(a.value) ? Number(a.value) : a.value]));
      return {
        ...(answer.sessionTimeout === null ? {} : { 'reply:Session-Timeout': answer.sessionTimeout }),
        ...limits,
        ...(answer.cleartextPassword === null ? {} : { 'control:Cleartext-Password': answer.cleartextPassword }),
      };
    },
  );

  app.post<{ Body: RadiusBody }>('/api/v1/radius/accounting', { schema: { body: radiusBody } }, async (request, reply) => {
    const actor = principalOf(request);
    const body = request.body;
    const status = attribute(body, 'Acct-Status-Type');
    if (!status) throw badRequest('ACCT_STATUS_TYPE_REQUIRED', 'Acct-Status-Type is required');
    const nasIdentifier = attribute(body, 'NAS-Identifier');
    if (!nasIdentifier) throw badRequest('NAS_IDENTIFIER_REQUIRED', 'NAS-Identifier is required to find the network');
    const answer = await radiusAccounting(svc, actor, {
      nasIdentifier,
      mac: deviceMac(body),
      status,
      sessionId: attribute(body, 'Acct-Session-Id') ?? null,
      inputOctets: counter(body, 'Acct-Input-Octets'),
      inputGigawords: counter(body, 'Acct-Input-Gigawords'),
      outputOctets: counter(body, 'Acct-Output-Octets'),
      outputGigawords: counter(body, 'Acct-Output-Gigawords'),
      framedIp: address(body, 'Framed-IP-Address'),
      nasIp: address(body, 'NAS-IP-Address'),
      now: svc.now(),
    });
    request.log.debug({ status, recorded: answer.recorded, ended: answer.ended.length }, 'radius accounting');
    // 204 is rlm_rest's "ok": FreeRADIUS sends the Accounting-Response. A device with no
    // identification here is answered the same, and recorded nowhere.
    return reply.status(204).send();
  });
}

/** A 32-bit accounting counter (absent: 0). */
function counter(body: RadiusBody, name: string): number {
  const value = attribute(body, name);
  if (value === undefined || value === '') return 0;
  if (!/^\d{1,10}$/.test(value) || Number(value) > 0xffffffff) throw badRequest('INVALID_COUNTER', `${name} must be a 32-bit unsigned integer`);
  return Number(value);
}

/** An IP address attribute, or null when absent. */
function address(body: RadiusBody, name: string): string | null {
  const value = attribute(body, name);
  if (value === undefined || value === '') return null;
  if (!isIP(value)) throw badRequest('INVALID_ADDRESS', `${name} must be an IP address`);
  return value;
}
