import { createHash } from 'node:crypto';
import t from 'tap';
import { decodeReply, encodeDisconnectRequest, sendDisconnect, sessionAttributes } from '../../../src/controllers/radius-disconnect.js';
import { AppError } from '../../../src/errors.js';
import { LOOPBACK_OK as outbound, STRICT } from '../../helpers/controllers.js';
import { attributeText, fakeNas } from '../../helpers/nas.js';

const SECRET = 'xyzzy5461';

t.test('the Request Authenticator is MD5 over the packet with 16 zero octets, then the secret', async (t) => {
  const packet = encodeDisconnectRequest(7, { 'User-Name': 'bob', 'Framed-IP-Address': '10.0.0.5' }, SECRET);
  // Built by hand from RFC 5176 §2.3 / RFC 2865 §5: code 40, id 7, length 20 + 5 + 6 = 31.
  const attrs = Buffer.from([1, 5, 0x62, 0x6f, 0x62, 8, 6, 10, 0, 0, 5]);
  const head = Buffer.from([40, 7, 0, 31]);
  const auth = createHash('md5').update(head).update(Buffer.alloc(16)).update(attrs).update(SECRET).digest();
  t.same(packet, Buffer.concat([head, auth, attrs]));
});

t.test('a reply counts only with the right id and a Response Authenticator made with the secret', async (t) => {
  const request = encodeDisconnectRequest(9, { 'User-Name': 'bob' }, SECRET);
  const reply = (code: number, id: number, attrs: Buffer, secret: string) => {
    const head = Buffer.from([code, id, 0, 20 + attrs.length]);
    const auth = createHash('md5').update(head).update(request.subarray(4, 20)).update(attrs).update(secret).digest();
    return Buffer.concat([head, auth, attrs]);
  };
  t.same(decodeReply(reply(41, 9, Buffer.alloc(0), SECRET), request, SECRET), { code: 41, errorCause: null });
  t.same(decodeReply(reply(42, 9, Buffer.from([101, 6, 0, 0, 0x01, 0xf7]), SECRET), request, SECRET), { code: 42, errorCause: 503 });
  t.equal(decodeReply(reply(41, 9, Buffer.alloc(0), 'wrong'), request, SECRET), null, 'forged with another secret');
  t.equal(decodeReply(reply(41, 10, Buffer.alloc(0), SECRET), request, SECRET), null, 'another identifier');
  t.equal(decodeReply(reply(2, 9, Buffer.alloc(0), SECRET), request, SECRET), null, 'not a Disconnect answer');
  t.equal(decodeReply(Buffer.alloc(12), request, SECRET), null, 'too short');
});

t.test('an ACK from the NAS completes the disconnect, carrying exactly the given attributes', async (t) => {
  const nas = await fakeNas(t, SECRET, 'ack');
  const result = await sendDisconnect({
    host: '127.0.0.1',
    outbound,
    port: nas.port,
    secret: SECRET,
    attributes: {
      'User-Name': 'AA:BB:CC:DD:EE:0F',
      'Calling-Station-Id': 'AA-BB-CC-DD-EE-0F',
      'NAS-Identifier': 'hotspot1',
      'Acct-Session-Id': '80000012',
      'Framed-IP-Address': '10.5.50.23',
    },
  });
  t.same(result, { attempts: 1 });
  t.equal(nas.received.length, 1);
  const [req] = nas.received;
  t.equal(req.code, 40);
  t.ok(req.authenticatorValid, 'the NAS verifies our Request Authenticator');
  t.same(attributeText(req).slice(0, 4), [
    [1, 'AA:BB:CC:DD:EE:0F'],
    [31, 'AA-BB-CC-DD-EE-0F'],
    [32, 'hotspot1'],
    [44, '80000012'],
  ]);
  t.same(req.attributes[4], [8, Buffer.from([10, 5, 50, 23])]);
});

t.test('a NAK is an error naming the Error-Cause', async (t) => {
  const nas = await fakeNas(t, SECRET, 'nak', 504);
  const err = await sendDisconnect({ host: '127.0.0.1', outbound, port: nas.port, secret: SECRET, attributes: { 'User-Name': 'x' } }).catch((e) => e);
  t.ok(err instanceof AppError);
  t.equal(err.status, 502);
  t.equal(err.code, 'CONTROLLER_ERROR');
  t.equal(err.message, `The NAS at 127.0.0.1:${nas.port} refused the Disconnect-Request (Error-Cause 504 Session Context Not Removable)`);
  t.same(err.details, { errorCause: 504 });
  t.equal(nas.received.length, 1, 'a refusal is not retried');
});

t.test('a silent NAS gets the same packet again on each retry, then an error', async (t) => {
  const nas = await fakeNas(t, SECRET, 'silent');
  const started = Date.now();
  const err = await sendDisconnect({
    host: '127.0.0.1', outbound, port: nas.port, secret: SECRET, attributes: { 'User-Name': 'x' }, timeoutMs: 80, retries: 2,
  }).catch((e) => e);
  t.ok(err instanceof AppError);
  t.equal(err.code, 'CONTROLLER_ERROR');
  t.same(err.details, { attempts: 3 });
  t.equal(nas.received.length, 3);
  t.ok(nas.received.every((r) => r.raw.equals(nas.received[0].raw)), 'retransmissions keep id and authenticator');
  t.ok(Date.now() - started >= 230, 'each try waited its timeout');
});

t.test('a forged ACK (wrong authenticator) is ignored', async (t) => {
  const nas = await fakeNas(t, SECRET, 'forged-ack');
  const err = await sendDisconnect({
    host: '127.0.0.1', outbound, port: nas.port, secret: SECRET, attributes: { 'User-Name': 'x' }, timeoutMs: 60, retries: 1,
  }).catch((e) => e);
  t.ok(err instanceof AppError);
  t.same(err.details, { attempts: 2 });
});

t.test('only IPv4 fits Framed-IP-Address', async (t) => {
  t.throws(() => encodeDisconnectRequest(1, { 'Framed-IP-Address': '::1' }, SECRET), TypeError);
});

t.test('the NAS is resolved and checked before any packet leaves: loopback needs the server allow-list', async (t) => {
  const nas = await fakeNas(t, SECRET, 'ack');
  for (const host of ['127.0.0.1', 'localhost', '::1', '169.254.169.254']) {
    const err = await sendDisconnect({ host, outbound: STRICT, port: nas.port, secret: SECRET, attributes: { 'User-Name': 'x' } }).catch((e) => e);
    t.equal(err.code, 'CONTROLLER_ERROR', host);
    t.equal(err.details.reason, 'OUTBOUND_REFUSED', host);
  }
  t.equal(nas.received.length, 0);
  // By name, with the allow-list: the packet goes to the address that was checked.
  t.same(await sendDisconnect({ host: 'localhost', outbound, port: nas.port, secret: SECRET, attributes: { 'User-Name': 'x' } }).catch((e) => e.message), { attempts: 1 });
});

t.test('the accounted NAS session names itself in a Disconnect-Request: NAS-IP-Address when IPv4, else NAS-Identifier', async (t) => {
  t.same(sessionAttributes(undefined), {});
  t.same(sessionAttributes({ acctSessionId: 's9', framedIp: '10.0.0.9', nasIp: '192.0.2.1', nasIdentifier: 'hall' }), {
    'Acct-Session-Id': 's9',
    'Framed-IP-Address': '10.0.0.9',
    'NAS-IP-Address': '192.0.2.1',
  });
  t.same(sessionAttributes({ acctSessionId: 's9', framedIp: '2001:db8::9', nasIp: '2001:db8::1', nasIdentifier: 'hall' }), {
    'Acct-Session-Id': 's9',
    'Framed-IP-Address': undefined,
    'NAS-Identifier': 'hall',
  }, 'IPv6 addresses have attributes of their own: left out');
  const packet = encodeDisconnectRequest(3, { 'User-Name': 'x', 'NAS-IP-Address': '192.0.2.1' }, SECRET);
  t.same([...packet.subarray(23, 29)], [4, 6, 192, 0, 2, 1], 'NAS-IP-Address is attribute 4, four octets');
  t.throws(() => encodeDisconnectRequest(1, { 'NAS-IP-Address': 'nas.example' }, SECRET), TypeError);
});
