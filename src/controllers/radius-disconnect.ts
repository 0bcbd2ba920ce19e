import { randomInt } from 'node:crypto';
import { isIP } from 'node:net';
import { AppError } from '../errors.js';
import type { Network } from '../domain/networks.js';
import type { OutboundPolicy } from '../net/outbound.js';
import { numberSetting, stringSetting } from './common.js';
import { decodeRadiusReply, radiusPacket, sendRadiusRequest, signRequest, type RadiusReply, type RadiusTarget } from './radius-client.js';
import type { NasSessionInfo, SettingSchema } from './types.js';

/*
 * RFC 5176 Disconnect-Request over UDP. The encoder is small enough to keep here: the npm `radius`
 * package (1.1.4) only encodes packets, has had no release in years and brings its own dictionary
 * files, and we still would need the socket, retries and the reply check (src/controllers/radius-client.ts,
 * shared with the CoA-Request).
 */

export const CODE = { disconnectRequest: 40, disconnectAck: 41, disconnectNak: 42 } as const;
const DISCONNECT = { name: 'Disconnect-Request', request: CODE.disconnectRequest, ack: CODE.disconnectAck, nak: CODE.disconnectNak };

// RFC 2865 §5 / RFC 5176 §3.5 attribute numbers.
const ATTRIBUTE_TYPES = {
  'User-Name': 1,
  'NAS-IP-Address': 4,
  'Framed-IP-Address': 8,
  'Calling-Station-Id': 31,
  'NAS-Identifier': 32,
  'Acct-Session-Id': 44,
} as const;

export type DisconnectAttributes = Partial<Record<keyof typeof ATTRIBUTE_TYPES, string>>;

export interface DisconnectOptions extends RadiusTarget {
  attributes: DisconnectAttributes;
}

function encodeAttributes(attributes: DisconnectAttributes): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined) continue;
    const type = ATTRIBUTE_TYPES[name as keyof typeof ATTRIBUTE_TYPES];
    let data: Buffer;
    if (name === 'Framed-IP-Address' || name === 'NAS-IP-Address') {
      if (isIP(value) !== 4) throw new TypeError(`${name} must be an IPv4 address, got ${value}`);
      data = Buffer.from(value.split('.').map(Number));
    } else {
      data = Buffer.from(value, 'utf8');
    }
    if (data.length === 0 || data.length > 253) throw new TypeError(`${name} must be 1 to 253 octets`);
    parts.push(Buffer.from([type, data.length + 2]), data);
  }
  return Buffer.concat(parts);
}

/** Code + Identifier + Length + Request Authenticator + Attributes (RFC 5176 §2.3, §3). */
export function encodeDisconnectRequest(identifier: number, attributes: DisconnectAttributes, secret: string): Buffer {
  return signRequest(radiusPacket(CODE.disconnectRequest, identifier, encodeAttributes(attributes)), secret);
}

export type DisconnectReply = RadiusReply;

/**
 * The NAS's answer to `request`, or null when the datagram is not one (wrong id, bad length, or a
 * Response Authenticator that does not prove knowledge of the secret).
 */
export function decodeReply(msg: Buffer, request: Buffer, secret: string): DisconnectReply | null {
  return decodeRadiusReply(msg, request, secret, DISCONNECT);
}

/** Sends one Disconnect-Request and resolves on its ACK; a NAK, silence or a socket error throws CONTROLLER_ERROR. */
export async function sendDisconnect(opts: DisconnectOptions): Promise<{ attempts: number }> {
  return sendRadiusRequest(opts, DISCONNECT, encodeDisconnectRequest(randomInt(256), opts.attributes, opts.secret));
}

/** Network settings for de-authorising through the NAS's RFC 5176 listener (MikroTik, CoovaChilli). */
export const RADIUS_DISCONNECT_SETTINGS: Record<string, SettingSchema> = {
  radiusHost: {
    type: 'string',
    pattern: '^[A-Za-z0-9.:-]{1,253}$',
    outbound: 'host',
    description: 'Address of the NAS (the router) that accepts RFC 5176 Disconnect-Request',
  },
  radiusSecret: { type: 'string', minLength: 1, maxLength: 128, description: 'Shared secret for Disconnect-Request' },
  radiusPort: { type: 'integer', minimum: 1, maximum: 65535, default: 3799 },
};
export const RADIUS_DISCONNECT_DEPENDENCIES = { radiusHost: ['radiusSecret'], radiusSecret: ['radiusHost'] };

/**
 * What accounting knows of the device's NAS session, as RFC 5176 §3 lets a NAS find it: the
 * session id, the address it gave the device, and the NAS itself (IPv4 NAS-IP-Address, else
 * NAS-Identifier). An IPv6 address has other attributes, so it is left out.
 */
export function sessionAttributes(session: NasSessionInfo | undefined): DisconnectAttributes {
  if (!session) return {};
  const v4 = (a: string | null) => (a && isIP(a) === 4 ? a : undefined);
  const nasIp = v4(session.nasIp);
  return {
    'Acct-Session-Id': session.acctSessionId || undefined,
    'Framed-IP-Address': v4(session.framedIp),
    ...(nasIp ? { 'NAS-IP-Address': nasIp } : { 'NAS-Identifier': session.nasIdentifier || undefined }),
  };
}

/**
 * De-authorises through the network's NAS when Disconnect is configured; otherwise the session
 * ends on the controller's own timer (the grant already carried the remaining time).
 */
export async function revokeViaRadius(network: Network, attributes: DisconnectAttributes, outbound: OutboundPolicy): Promise<void> {
  const host = stringSetting(network, 'radiusHost');
  const secret = stringSetting(network, 'radiusSecret');
  if (!host || !secret) return;
  try {
    await sendDisconnect({ host, outbound, port: numberSetting(network, 'radiusPort') ?? 3799, secret, attributes });
  } catch (err) {
    // Nothing to disconnect: the device has already left, which is what we wanted.
    if (err instanceof AppError && err.details.errorCause === 503) return;
    throw err;
  }
}
