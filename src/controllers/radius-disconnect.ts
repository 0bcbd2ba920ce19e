import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { AppError } from '../errors.js';
import type { Network } from '../domain/networks.js';
import { outboundRefusalIn, refusalText, resolveOutbound, type OutboundPolicy } from '../net/outbound.js';
import { controllerError, numberSetting, stringSetting } from './common.js';
import type { NasSessionInfo, SettingSchema } from './types.js';

/*
 * RFC 5176 Disconnect-Request over UDP. The encoder is small enough to keep here: the npm `radius`
 * package (1.1.4) only encodes packets, has had no release in years and brings its own dictionary
 * files, and we still would need the socket, retries and the reply check below.
 * The NAS's name is resolved and checked by the outbound gate, and the packet sent to the very
 * address that was checked.
 */

export const CODE = { disconnectRequest: 40, disconnectAck: 41, disconnectNak: 42 } as const;

// RFC 2865 §5 / RFC 5176 §3.5 attribute numbers.
const ATTRIBUTE_TYPES = {
  'User-Name': 1,
  'NAS-IP-Address': 4,
  'Framed-IP-Address': 8,
  'Calling-Station-Id': 31,
  'NAS-Identifier': 32,
  'Acct-Session-Id': 44,
} as const;
const ERROR_CAUSE = 101;

export type DisconnectAttributes = Partial<Record<keyof typeof ATTRIBUTE_TYPES, string>>;

export interface DisconnectOptions {
  host: string;
  /** The gate the NAS's address must pass. */
  outbound: OutboundPolicy;
  port?: number;
  secret: string;
  attributes: DisconnectAttributes;
  /** How long to wait for each answer. */
  timeoutMs?: number;
  /** Retransmissions after the first try (the same packet, as RFC 5176 §2.3 asks). */
  retries?: number;
}

/** RFC 5176 §3.6 Error-Cause values worth naming in a message. */
const ERROR_CAUSES: Record<number, string> = {
  401: 'Unsupported Attribute',
  403: 'NAS Identification Mismatch',
  404: 'Invalid Request',
  503: 'Session Context Not Found',
  504: 'Session Context Not Removable',
  506: 'Resources Unavailable',
};

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

const md5 = (...parts: Buffer[]) => {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** Code + Identifier + Length + Request Authenticator + Attributes (RFC 5176 §2.3, §3). */
export function encodeDisconnectRequest(identifier: number, attributes: DisconnectAttributes, secret: string): Buffer {
  const attrs = encodeAttributes(attributes);
  const header = Buffer.alloc(4);
  header.writeUInt8(CODE.disconnectRequest, 0);
  header.writeUInt8(identifier, 1);
  header.writeUInt16BE(20 + attrs.length, 2);
  // Request Authenticator = MD5(Code + Identifier + Length + 16 zero octets + Attributes + Secret).
  const authenticator = md5(header, Buffer.alloc(16), attrs, Buffer.from(secret, 'utf8'));
  return Buffer.concat([header, authenticator, attrs]);
}

export interface DisconnectReply {
  code: number;
  errorCause: number | null;
}

/**
 * The NAS's answer to `request`, or null when the datagram is not one (wrong id, bad length, or a
 * Response Authenticator that does not prove knowledge of the secret).
 */
export function decodeReply(msg: Buffer, request: Buffer, secret: string): DisconnectReply | null {
  if (msg.length < 20) return null;
  const code = msg.readUInt8(0);
  const length = msg.readUInt16BE(2);
  if (code !== CODE.disconnectAck && code !== CODE.disconnectNak) return null;
  if (msg.readUInt8(1) !== request.readUInt8(1) || length < 20 || length > msg.length) return null;
  const attrs = msg.subarray(20, length);
  // Response Authenticator = MD5(Code + Identifier + Length + Request Authenticator + Attributes + Secret).
  const expected = md5(msg.subarray(0, 4), request.subarray(4, 20), attrs, Buffer.from(secret, 'utf8'));
  if (!timingSafeEqual(expected, msg.subarray(4, 20))) return null;
  let errorCause: number | null = null;
  for (let i = 0; i + 2 <= attrs.length; ) {
    const type = attrs[i];
    const len = attrs[i + 1];
    if (len < 2 || i + len > attrs.length) return null;
    if (type === ERROR_CAUSE && len === 6) errorCause = attrs.readUInt32BE(i + 2);
    i += len;
  }
  return { code, errorCause };
}

/** Sends one Disconnect-Request and resolves on its ACK; a NAK, silence or a socket error throws CONTROLLER_ERROR. */
export async function sendDisconnect(opts: DisconnectOptions): Promise<{ attempts: number }> {
  const port = opts.port ?? 3799;
  const timeoutMs = opts.timeoutMs ?? 3000;
  const retries = opts.retries ?? 2;
  const request = encodeDisconnectRequest(randomInt(256), opts.attributes, opts.secret);
  let address: string;
  let family: 4 | 6;
  try {
    [{ address, family }] = await resolveOutbound(opts.host, opts.outbound);
  } catch (err) {
    const refused = outboundRefusalIn(err);
    if (!refused) throw err;
    throw controllerError(`The NAS at ${opts.host} ${refusalText(refused)}`, { reason: refused.code });
  }
  const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<{ attempts: number }>((resolve, reject) => {
      let attempts = 0;
      const send = () => {
        attempts++;
        socket.send(request, port, address, (err) => {
          if (err) reject(controllerError(`Could not send the Disconnect-Request to ${opts.host}:${port}`, { reason: err.message }));
        });
        timer = setTimeout(() => {
          if (attempts > retries) {
            reject(controllerError(`The NAS at ${opts.host}:${port} did not answer the Disconnect-Request`, { attempts }));
          } else {
            send();
          }
        }, timeoutMs);
      };
      socket.on('error', (err) => reject(controllerError(`Disconnect-Request to ${opts.host}:${port} failed`, { reason: err.message })));
      socket.on('message', (msg) => {
        const reply = decodeReply(msg, request, opts.secret);
        if (!reply) return; // not ours, or forged: keep waiting
        if (reply.code === CODE.disconnectAck) return resolve({ attempts });
        const cause = reply.errorCause;
        const named = cause === null ? '' : ` (Error-Cause ${cause}${ERROR_CAUSES[cause] ? ` ${ERROR_CAUSES[cause]}` : ''})`;
        reject(controllerError(`The NAS at ${opts.host}:${port} refused the Disconnect-Request${named}`, { errorCause: cause }));
      });
      send();
    });
  } finally {
    clearTimeout(timer);
    socket.close();
  }
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
