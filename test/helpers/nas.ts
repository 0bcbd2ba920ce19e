import { createHash } from 'node:crypto';
import { createSocket, type RemoteInfo } from 'node:dgram';
import type { Test } from 'tap';

/** One Disconnect-Request as the fake NAS decoded it, checked independently of the code under test. */
export interface ReceivedRequest {
  code: number;
  identifier: number;
  /** Whether the Request Authenticator is MD5(Code+ID+Length+16 zero octets+Attributes+Secret). */
  authenticatorValid: boolean;
  /** Attribute type → values, in packet order. */
  attributes: [number, Buffer][];
  raw: Buffer;
}

export type NasBehaviour = 'ack' | 'nak' | 'silent' | 'forged-ack';

/**
 * A NAS listening for RFC 5176 Disconnect-Request on 127.0.0.1 (an ephemeral port). It answers
 * each request as told; `errorCause` goes into a NAK.
 */
export async function fakeNas(t: Test, secret: string, behaviour: NasBehaviour, errorCause?: number) {
  const socket = createSocket('udp4');
  const received: ReceivedRequest[] = [];
  const md5 = (...parts: Buffer[]) => parts.reduce((h, p) => h.update(p), createHash('md5')).digest();

  socket.on('message', (msg: Buffer, from: RemoteInfo) => {
    const length = msg.readUInt16BE(2);
    const attrs = msg.subarray(20, length);
    const expected = md5(msg.subarray(0, 4), Buffer.alloc(16), attrs, Buffer.from(secret));
    const attributes: [number, Buffer][] = [];
    for (let i = 0; i < attrs.length; i += attrs[i + 1]) attributes.push([attrs[i], attrs.subarray(i + 2, i + attrs[i + 1])]);
    received.push({
      code: msg[0],
      identifier: msg[1],
      authenticatorValid: expected.equals(msg.subarray(4, 20)),
      attributes,
      raw: Buffer.from(msg),
    });
    if (behaviour === 'silent') return;
    const replyAttrs = behaviour === 'nak' && errorCause !== undefined ? Buffer.from([101, 6, 0, 0, 0, 0]) : Buffer.alloc(0);
    if (replyAttrs.length) replyAttrs.writeUInt32BE(errorCause!, 2);
    const header = Buffer.from([behaviour === 'nak' ? 42 : 41, msg[1], 0, 0]);
    header.writeUInt16BE(20 + replyAttrs.length, 2);
    const auth = behaviour === 'forged-ack'
      ? Buffer.alloc(16, 7)
      : md5(header, msg.subarray(4, 20), replyAttrs, Buffer.from(secret));
    socket.send(Buffer.concat([header, auth, replyAttrs]), from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return { port: socket.address().port, received };
}

/** Attribute values by RADIUS type as strings (User-Name is 1, Calling-Station-Id 31, ...). */
export const attributeText = (r: ReceivedRequest) => r.attributes.map(([type, value]) => [type, value.toString('utf8')]);
