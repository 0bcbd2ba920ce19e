import { createHash, createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import type { Network } from '../domain/networks.js';
import { AppError } from '../errors.js';
import { outboundRefusalIn, refusalText, resolveOutbound, type OutboundPolicy } from '../net/outbound.js';
import { controllerError, numberSetting, stringSetting } from './common.js';

/*
 * RFC 5176 CoA-Request (rule 14: an extension reaches the NAS at once). It goes to the same NAS
 * listener, with the same settings (radiusHost, radiusSecret, radiusPort) as the Disconnect-Request
 * of src/controllers/radius-disconnect.ts; it lives in its own file so that the two can change apart.
 * It carries User-Name and Calling-Station-Id to name the session, the new Session-Timeout, the
 * limit attributes kalitka_limit_attributes names for the NAS kind (vendor-specific), and a
 * Message-Authenticator (RFC 5176 §3.5, RFC 3579 §3.2).
 */

export const COA_CODE = { request: 43, ack: 44, nak: 45 } as const;

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
const ERROR_CAUSE = 101;

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

const md5 = (...parts: Buffer[]) => {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
};

/**
 * Code + Identifier + Length + Request Authenticator + Attributes. The Message-Authenticator is the
 * HMAC-MD5 of the packet with itself and the Request Authenticator zeroed; the Request
 * Authenticator is then MD5(Code + Identifier + Length + 16 zero octets + Attributes + Secret)
 * over the attributes with the Message-Authenticator filled in (RFC 5176 §2.3 and §3.5).
 */
export function encodeCoaRequest(identifier: number, attributes: CoaAttributes, secret: string): Buffer {
  const attrs = Buffer.concat([encodeAttributes(attributes), attribute(TYPES['Message-Authenticator'], Buffer.alloc(16))]);
  const packet = Buffer.concat([Buffer.alloc(20), attrs]);
  packet.writeUInt8(COA_CODE.request, 0);
  packet.writeUInt8(identifier, 1);
  packet.writeUInt16BE(packet.length, 2);
  const mac = createHmac('md5', Buffer.from(secret, 'utf8')).update(packet).digest();
  mac.copy(packet, packet.length - 16);
  md5(packet.subarray(0, 20), packet.subarray(20), Buffer.from(secret, 'utf8')).copy(packet, 4);
  return packet;
}

/** The NAS's CoA-ACK or CoA-NAK to `request` (with its Error-Cause), or null when the datagram is not one. */
export function decodeCoaReply(msg: Buffer, request: Buffer, secret: string): { code: number; errorCause: number | null } | null {
  if (msg.length < 20) return null;
  const code = msg.readUInt8(0);
  const length = msg.readUInt16BE(2);
  if (code !== COA_CODE.ack && code !== COA_CODE.nak) return null;
  if (msg.readUInt8(1) !== request.readUInt8(1) || length < 20 || length > msg.length) return null;
  const attrs = msg.subarray(20, length);
  const expected = md5(msg.subarray(0, 4), request.subarray(4, 20), attrs, Buffer.from(secret, 'utf8'));
  if (!timingSafeEqual(expected, msg.subarray(4, 20))) return null;
  let errorCause: number | null = null;
  for (let i = 0; i + 2 <= attrs.length; ) {
    const len = attrs[i + 1];
    if (len < 2 || i + len > attrs.length) return null;
    if (attrs[i] === ERROR_CAUSE && len === 6) errorCause = attrs.readUInt32BE(i + 2);
    i += len;
  }
  return { code, errorCause };
}

export interface CoaOptions {
  host: string;
  outbound: OutboundPolicy;
  port?: number;
  secret: string;
  attributes: CoaAttributes;
  timeoutMs?: number;
  retries?: number;
}

/** Sends one CoA-Request and resolves on its ACK; a NAK, silence or a socket error throws CONTROLLER_ERROR. */
export async function sendCoa(opts: CoaOptions): Promise<{ attempts: number }> {
  const port = opts.port ?? 3799;
  const timeoutMs = opts.timeoutMs ?? 3000;
  const retries = opts.retries ?? 2;
  const request = encodeCoaRequest(randomInt(256), opts.attributes, opts.secret);
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
          if (err) reject(controllerError(`Could not send the CoA-Request to ${opts.host}:${port}`, { reason: err.message }));
        });
        timer = setTimeout(() => {
          if (attempts > retries) reject(controllerError(`The NAS at ${opts.host}:${port} did not answer the CoA-Request`, { attempts }));
          else send();
        }, timeoutMs);
      };
      socket.on('error', (err) => reject(controllerError(`CoA-Request to ${opts.host}:${port} failed`, { reason: err.message })));
      socket.on('message', (msg) => {
        const reply = decodeCoaReply(msg, request, opts.secret);
        if (!reply) return; // not ours, or forged: keep waiting
        if (reply.code === COA_CODE.ack) return resolve({ attempts });
        reject(controllerError(`The NAS at ${opts.host}:${port} refused the CoA-Request${reply.errorCause === null ? '' : ` (Error-Cause ${reply.errorCause})`}`, { errorCause: reply.errorCause }));
      });
      send();
    });
  } finally {
    clearTimeout(timer);
    socket.close();
  }
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
