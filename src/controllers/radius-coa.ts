import { createHmac, randomInt } from 'node:crypto';
import { isIP } from 'node:net';
import type { Network } from '../domain/networks.js';
import { AppError } from '../errors.js';
import type { OutboundPolicy } from '../net/outbound.js';
import { numberSetting, stringSetting } from './common.js';
import { radiusPacket, sendRadiusRequest, signRequest, type RadiusTarget } from './radius-client.js';

/*
 * RFC 5176 CoA-Request (rule 14: an extension reaches the NAS at once). It goes to the same NAS
 * listener, with the same settings (radiusHost, radiusSecret, radiusPort) as the Disconnect-Request
 * of src/controllers/radius-disconnect.ts, through the same client (src/controllers/radius-client.ts);
 * its attributes live in their own file so that the two can change apart.
 * It carries User-Name and Calling-Station-Id to name the session, the new Session-Timeout, the
 * limit attributes kalitka_limit_attributes names for the NAS kind (vendor-specific), and a
 * Message-Authenticator (RFC 5176 §3.5, RFC 3579 §3.2).
 */

export const COA_CODE = { request: 43, ack: 44, nak: 45 } as const;
const COA = { name: 'CoA-Request', ...COA_CODE };

const TYPES = {
  'User-Name': 1,
  'NAS-IP-Address': 4,
  'Framed-IP-Address': 8,
  'Session-Timeout': 27,
  'Calling-Station-Id': 31,
  'NAS-Identifier': 32,
  'Acct-Session-Id': 44,
  'Message-Authenticator': 80,
} as const;
const VENDOR_SPECIFIC = 26;

/** Vendor-specific attributes a CoA can carry (FreeRADIUS's dictionary.wispr, .mikrotik, .chillispot). */
export const VENDOR_ATTRIBUTES: Record<string, { vendor: number; type: number; kind: 'integer' | 'string' }> = {
  'WISPr-Bandwidth-Max-Up': { vendor: 14122, type: 7, kind: 'integer' },
  'WISPr-Bandwidth-Max-Down': { vendor: 14122, type: 8, kind: 'integer' },
  'Mikrotik-Rate-Limit': { vendor: 14988, type: 8, kind: 'string' },
  'Mikrotik-Total-Limit': { vendor: 14988, type: 17, kind: 'integer' },
  'Mikrotik-Total-Limit-Gigawords': { vendor: 14988, type: 18, kind: 'integer' },
  'ChilliSpot-Max-Total-Octets': { vendor: 14559, type: 3, kind: 'integer' },
  'ChilliSpot-Bandwidth-Max-Up': { vendor: 14559, type: 4, kind: 'integer' },
  'ChilliSpot-Bandwidth-Max-Down': { vendor: 14559, type: 5, kind: 'integer' },
};

export interface CoaAttributes {
  'User-Name': string;
  'Calling-Station-Id': string;
  /** Seconds left; absent for an unlimited term. */
  'Session-Timeout'?: number;
  /** The NAS session accounting last reported, when known (sessionAttributes of radius-disconnect.ts). */
  'Acct-Session-Id'?: string;
  'Framed-IP-Address'?: string;
  'NAS-IP-Address'?: string;
  'NAS-Identifier'?: string;
  /** The limit attributes by name, as kalitka_limit_attributes gives them. */
  limits: Array<{ attribute: string; value: string }>;
}

const uint32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
};

function attribute(type: number, data: Buffer): Buffer {
  if (data.length === 0 || data.length > 253) throw new TypeError(`attribute ${type} must be 1 to 253 octets`);
  return Buffer.concat([Buffer.from([type, data.length + 2]), data]);
}

function encodeAttributes(a: CoaAttributes): Buffer {
  const parts = [attribute(TYPES['User-Name'], Buffer.from(a['User-Name'], 'utf8')), attribute(TYPES['Calling-Station-Id'], Buffer.from(a['Calling-Station-Id'], 'utf8'))];
  for (const name of ['NAS-IP-Address', 'Framed-IP-Address'] as const) {
    const ip = a[name];
    if (ip === undefined) continue;
    if (isIP(ip) !== 4) throw new TypeError(`${name} must be an IPv4 address, got ${ip}`);
    parts.push(attribute(TYPES[name], Buffer.from(ip.split('.').map(Number))));
  }
  for (const name of ['NAS-Identifier', 'Acct-Session-Id'] as const) {
    const text = a[name];
    if (text !== undefined) parts.push(attribute(TYPES[name], Buffer.from(text, 'utf8')));
  }
  if (a['Session-Timeout'] !== undefined) parts.push(attribute(TYPES['Session-Timeout'], uint32(a['Session-Timeout'])));
  for (const { attribute: name, value } of a.limits) {
    const known = VENDOR_ATTRIBUTES[name];
    if (!known) throw new TypeError(`No vendor attribute named ${name}`);
    const data = known.kind === 'integer' ? uint32(Number(value)) : Buffer.from(value, 'utf8');
    // Vendor-Specific: Vendor-Id (4 octets), then the vendor's Type, Length, Value.
    parts.push(attribute(VENDOR_SPECIFIC, Buffer.concat([uint32(known.vendor), Buffer.from([known.type, data.length + 2]), data])));
  }
  return Buffer.concat(parts);
}

/**
 * Code + Identifier + Length + Request Authenticator + Attributes. The Message-Authenticator is the
 * HMAC-MD5 of the packet with itself and the Request Authenticator zeroed; the Request
 * Authenticator is then MD5(Code + Identifier + Length + 16 zero octets + Attributes + Secret)
 * over the attributes with the Message-Authenticator filled in (RFC 5176 §2.3 and §3.5).
 */
export function encodeCoaRequest(identifier: number, attributes: CoaAttributes, secret: string): Buffer {
  const attrs = Buffer.concat([encodeAttributes(attributes), attribute(TYPES['Message-Authenticator'], Buffer.alloc(16))]);
  const packet = radiusPacket(COA_CODE.request, identifier, attrs);
  const mac = createHmac('md5', Buffer.from(secret, 'utf8')).update(packet).digest();
  mac.copy(packet, packet.length - 16);
  return signRequest(packet, secret);
}

export interface CoaOptions extends RadiusTarget {
  attributes: CoaAttributes;
}

/** Sends one CoA-Request and resolves on its ACK; a NAK, silence or a socket error throws CONTROLLER_ERROR. */
export async function sendCoa(opts: CoaOptions): Promise<{ attempts: number }> {
  return sendRadiusRequest(opts, COA, encodeCoaRequest(randomInt(256), opts.attributes, opts.secret));
}

/**
 * Pushes a session's new term and limits through the network's NAS when its RFC 5176 listener is
 * configured (the Disconnect settings); otherwise the NAS learns them at the next login.
 */
export async function changeViaRadius(network: Network, attributes: CoaAttributes, outbound: OutboundPolicy): Promise<void> {
  const host = stringSetting(network, 'radiusHost');
  const secret = stringSetting(network, 'radiusSecret');
  if (!host || !secret) return;
  try {
    await sendCoa({ host, outbound, port: numberSetting(network, 'radiusPort') ?? 3799, secret, attributes });
  } catch (err) {
    // No such session any more (the device left): there is nothing to change.
    if (err instanceof AppError && err.details.errorCause === 503) return;
    throw err;
  }
}
