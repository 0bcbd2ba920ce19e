import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { sendWebhook, signWebhook } from '../../../src/controllers/webhook.js';
import { AppError } from '../../../src/errors.js';
import { LOOPBACK_OK as outbound, STRICT } from '../../helpers/controllers.js';

const SECRET = 'whsec_test_0123456789';

/** An operator's endpoint on 127.0.0.1 that checks the signature over the raw body it received. */
async function receiver(t: Test, answer: { status: number; delayMs?: number }) {
  const received: { headers: IncomingHttpHeaders; raw: string; signatureValid: boolean }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`);
      const got = Buffer.from(String(req.headers['x-kalitka-signature'] ?? ''));
      received.push({ headers: req.headers, raw: raw.toString('utf8'), signatureValid: got.length === expected.length && timingSafeEqual(got, expected) });
      setTimeout(() => {
        res.writeHead(answer.status, answer.status === 302 ? { location: 'http://127.0.0.1:1/elsewhere' } : {});
        res.end('ok');
      }, answer.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/kalitka`, received };
}

const event = { type: 'identification.started', networkId: 'n1', mac: 'AA:BB:CC:DD:EE:0F', at: '2026-11-23T10:00:00.000Z' };

t.test('the event is POSTed as JSON with its type and a verifiable signature', async (t) => {
  const hook = await receiver(t, { status: 204 });
  t.same(await sendWebhook({ url: hook.url, secret: SECRET, event, outbound }), { status: 204 });
  t.equal(hook.received.length, 1);
  const [r] = hook.received;
  t.ok(r.signatureValid, 'the receiver verifies the HMAC over the raw body');
  t.equal(r.headers['content-type'], 'application/json');
  t.equal(r.headers['x-kalitka-event'], 'identification.started');
  t.same(JSON.parse(r.raw), event);
  t.equal(r.headers['x-kalitka-signature'], signWebhook(SECRET, r.raw));
});

t.test('the signature is hex HMAC-SHA256 of the body with the secret', async (t) => {
  // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
  t.equal(signWebhook('Jefe', 'what do ya want for nothing?'), 'sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
});

t.test('a non-2xx answer throws, and a redirect is not followed', async (t) => {
  for (const status of [500, 404, 302]) {
    const hook = await receiver(t, { status });
    const err = await sendWebhook({ url: hook.url, secret: SECRET, event, outbound }).catch((e) => e);
    t.ok(err instanceof AppError, String(status));
    t.equal(err.code, 'WEBHOOK_FAILED');
    t.equal(err.message, `The webhook endpoint answered ${status}`);
    t.equal(hook.received.length, 1);
  }
});

t.test('a slow endpoint times out; an unreachable one fails', async (t) => {
  const hook = await receiver(t, { status: 200, delayMs: 1000 });
  const err = await sendWebhook({ url: hook.url, secret: SECRET, event, outbound, timeoutMs: 100 }).catch((e) => e);
  t.ok(err instanceof AppError);
  t.equal(err.code, 'WEBHOOK_FAILED');
  t.equal(err.message, 'The webhook endpoint could not be reached');

  const closed = await sendWebhook({ url: 'http://127.0.0.1:1/hook', secret: SECRET, event, outbound }).catch((e) => e);
  t.equal(closed.code, 'WEBHOOK_FAILED');
  t.same(closed.details, { reason: 'ECONNREFUSED' });
});

t.test('only http(s) URLs are called', async (t) => {
  for (const url of ['file:///etc/passwd', 'javascript:alert(1)', 'ftp://example.com/']) {
    const err = await sendWebhook({ url, secret: SECRET, event, outbound }).catch((e) => e);
    t.equal(err.code, 'INVALID_URL', url);
  }
});

t.test('the endpoint is called only through the outbound gate: loopback and metadata addresses are refused', async (t) => {
  const hook = await receiver(t, { status: 204 });
  const port = new URL(hook.url).port;
  const cases: [string, RegExp][] = [
    [hook.url, /127\.0\.0\.1 is a loopback address/],
    [`http://localhost:${port}/hooks/kalitka`, /localhost resolves to (127\.0\.0\.1|::1), a loopback address/],
    [`http://[::1]:${port}/hooks/kalitka`, /::1 is a loopback address/],
    ['http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is a link-local address/],
    ['http://[::ffff:127.0.0.1]:1/x', /loopback/],
    ['http://2130706433:1/x', /127\.0\.0\.1 is a loopback/],
    ['http://10.0.0.5/hook', /10\.0\.0\.5 is a private \(RFC 1918\) address: a system administrator can approve it/],
  ];
  for (const [url, message] of cases) {
    const err = await sendWebhook({ url, secret: SECRET, event, outbound: STRICT }).catch((e) => e);
    t.equal(err.code, 'WEBHOOK_FAILED', url);
    t.equal(err.details.reason, 'OUTBOUND_REFUSED', url);
    t.match(err.message, message, url);
  }
  t.equal(hook.received.length, 0, 'nothing reached the endpoint');
});

t.test('a name that does not resolve is an unreachable endpoint, not a refusal', async (t) => {
  const err = await sendWebhook({ url: 'http://no-such-host.invalid/hook', secret: SECRET, event, outbound: STRICT }).catch((e) => e);
  t.equal(err.code, 'WEBHOOK_FAILED');
  t.match(err.message, /^The webhook endpoint could not be reached: no-such-host\.invalid does not resolve/);
});
