import { createHash, timingSafeEqual } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { outboundRefusalIn, refusalText, resolveOutbound, type OutboundPolicy } from '../net/outbound.js';
import { controllerError } from './common.js';

/*
 * The RFC 5176 client both dynamic-authorization requests share: the Disconnect-Request
 * (src/controllers/radius-disconnect.ts) and the CoA-Request (src/controllers/radius-coa.ts) differ
 * only in their codes and attributes; the header, the authenticators, the socket, the retries and
 * the reply check are one thing, kept here.
 */

/** A request kind: its name for messages, its code and the codes of its ACK and NAK. */
export interface RadiusExchange {
  name: string;
  request: number;
  ack: number;
  nak: number;
}

export const ERROR_CAUSE = 101;

/** RFC 5176 §3.6 Error-Cause values worth naming in a message. */
const ERROR_CAUSES: Record<number, string> = {
  401: 'Unsupported Attribute',
  403: 'NAS Identification Mismatch',
  404: 'Invalid Request',
  503: 'Session Context Not Found',
  504: 'Session Context Not Removable',
  506: 'Resources Unavailable',
};

const md5 = (...parts: Buffer[]) => {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** Code + Identifier + Length + a zero Request Authenticator + Attributes, to be signed by signRequest. */
export function radiusPacket(code: number, identifier: number, attrs: Buffer): Buffer {
  const packet = Buffer.concat([Buffer.alloc(20), attrs]);
  packet.writeUInt8(code, 0);
  packet.writeUInt8(identifier, 1);
  packet.writeUInt16BE(packet.length, 2);
  return packet;
}

/**
 * Fills in the Request Authenticator of a packet whose authenticator octets are still zero:
 * MD5(Code + Identifier + Length + 16 zero octets + Attributes + Secret) (RFC 5176 §2.3, §3).
 */
export function signRequest(packet: Buffer, secret: string): Buffer {
  md5(packet, Buffer.from(secret, 'utf8')).copy(packet, 4);
  return packet;
}

export interface RadiusReply {
  code: number;
  errorCause: number | null;
}

/**
 * The NAS's ACK or NAK to `request`, or null when the datagram is not one (another code, wrong id,
 * bad length, or a Response Authenticator that does not prove knowledge of the secret).
 */
export function decodeRadiusReply(msg: Buffer, request: Buffer, secret: string, exchange: RadiusExchange): RadiusReply | null {
  if (msg.length < 20) return null;
  const code = msg.readUInt8(0);
  const length = msg.readUInt16BE(2);
  if (code !== exchange.ack && code !== exchange.nak) return null;
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

/** Where a request goes and how patiently. */
export interface RadiusTarget {
  host: string;
  /** The gate the NAS's address must pass. */
  outbound: OutboundPolicy;
  port?: number;
  secret: string;
  /** How long to wait for each answer. */
  timeoutMs?: number;
  /** Retransmissions after the first try (the same packet, as RFC 5176 §2.3 asks). */
  retries?: number;
}

/**
 * Sends an encoded request and resolves on its ACK; a NAK, silence or a socket error throws
 * CONTROLLER_ERROR. The NAS's name is resolved and checked by the outbound gate, and the packet
 * sent to the very address that was checked.
 */
export async function sendRadiusRequest(target: RadiusTarget, exchange: RadiusExchange, request: Buffer): Promise<{ attempts: number }> {
  const { host, secret } = target;
  const port = target.port ?? 3799;
  const timeoutMs = target.timeoutMs ?? 3000;
  const retries = target.retries ?? 2;
  const name = exchange.name;
  let address: string;
  let family: 4 | 6;
  try {
    [{ address, family }] = await resolveOutbound(host, target.outbound);
  } catch (err) {
    const refused = outboundRefusalIn(err);
    if (!refused) throw err;
    throw controllerError(`The NAS at ${host} ${refusalText(refused)}`, { reason: refused.code });
  }
  const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<{ attempts: number }>((resolve, reject) => {
      let attempts = 0;
      const send = () => {
        attempts++;
        socket.send(request, port, address, (err) => {
          if (err) reject(controllerError(`Could not send the ${name} to ${host}:${port}`, { reason: err.message }));
        });
        timer = setTimeout(() => {
          if (attempts > retries) reject(controllerError(`The NAS at ${host}:${port} did not answer the ${name}`, { attempts }));
          else send();
        }, timeoutMs);
      };
      socket.on('error', (err) => reject(controllerError(`${name} to ${host}:${port} failed`, { reason: err.message })));
      socket.on('message', (msg) => {
        const reply = decodeRadiusReply(msg, request, secret, exchange);
        if (!reply) return; // not ours, or forged: keep waiting
        if (reply.code === exchange.ack) return resolve({ attempts });
        const cause = reply.errorCause;
        const named = cause === null ? '' : ` (Error-Cause ${cause}${ERROR_CAUSES[cause] ? ` ${ERROR_CAUSES[cause]}` : ''})`;
        reject(controllerError(`The NAS at ${host}:${port} refused the ${name}${named}`, { errorCause: cause }));
      });
      send();
    });
  } finally {
    clearTimeout(timer);
    socket.close();
  }
}
