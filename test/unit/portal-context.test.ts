import t from 'tap';
import { signContext, verifyContext, verifySigned } from '../../src/http/portal/context.js';

const SECRET = Buffer.from('portal-context-test-secret-0123456789');
const NET = '11111111-2222-4333-8444-555555555555';
const OTHER = '11111111-2222-4333-8444-666666666666';
const ctx = (mac: string, url: string | null = null) => ({ mac, originalUrl: url, clientIp: null, params: { a: '1' } });
const at = (iso: string) => new Date(iso);

t.test('a context verifies for its own network while it is fresh, and nowhere else', async (t) => {
  const signed = signContext(SECRET, NET, ctx('AA:BB:CC:00:00:01'), at('2026-11-30T10:00:00Z'));
  for (let i = 0; i < 2; i++) {
    // The second round is answered from the process's memory of verified contexts: the same rules hold.
    t.match(verifySigned(SECRET, NET, signed, at('2026-11-30T10:00:00Z')), { context: { mac: 'AA:BB:CC:00:00:01' }, issuedAt: Date.parse('2026-11-30T10:00:00Z') });
    t.equal(verifyContext(SECRET, OTHER, signed, at('2026-11-30T10:00:00Z')), null, 'another network');
    t.equal(verifyContext(SECRET, NET, signed, at('2026-11-30T16:00:01Z')), null, 'older than six hours');
    t.equal(verifyContext(SECRET, NET, signed, at('2026-11-30T09:58:59Z')), null, 'signed more than a minute in the future');
    t.not(verifyContext(SECRET, NET, signed, at('2026-11-30T15:59:59Z')), null, 'under six hours');
  }
  t.equal(verifyContext(Buffer.from('another secret, another server'), NET, signed, at('2026-11-30T10:00:00Z')), null, 'another secret');
});

t.test('a forged, altered or padded context is refused, and what verifies cannot be changed', async (t) => {
  const now = at('2026-11-30T10:00:00Z');
  const signed = signContext(SECRET, NET, ctx('AA:BB:CC:00:00:02'), now);
  const [payload, mac] = signed.split('.');
  const other = Buffer.from(Buffer.from(payload, 'base64url').toString().replace('AA:BB:CC:00:00:02', 'AA:BB:CC:00:00:99')).toString('base64url');
  for (const bad of [`${other}.${mac}`, `${payload}.${mac.slice(0, -1)}0`, `${signed}.junk`, `${signed}.`, `.${signed}`, payload, '', 'x'.repeat(9000), 42, null]) {
    t.equal(verifyContext(SECRET, NET, bad, now), null, String(bad).slice(0, 40));
  }
  const context = verifyContext(SECRET, NET, signed, now)!;
  t.throws(() => {
    (context as { mac: string }).mac = 'AA:BB:CC:00:00:99';
  }, TypeError, 'frozen');
  t.throws(() => {
    context.params.a = '2';
  }, TypeError, 'params too');
  t.equal(verifyContext(SECRET, NET, signed, now)!.mac, 'AA:BB:CC:00:00:02');
});

t.test('the same context is signed once a minute; a new one after that, or for a clock set back', async (t) => {
  const c = ctx('AA:BB:CC:00:00:03', 'http://example.com/');
  const first = signContext(SECRET, NET, c, at('2026-11-30T10:00:00Z'));
  t.equal(signContext(SECRET, NET, { ...c }, at('2026-11-30T10:00:59Z')), first, 'within the minute');
  t.not(signContext(SECRET, NET, c, at('2026-11-30T10:01:00Z')), first, 'a minute later');
  t.not(signContext(SECRET, NET, c, at('2026-11-30T09:59:00Z')), first, 'a clock set back gets one it would accept');
  t.not(signContext(SECRET, OTHER, c, at('2026-11-30T10:00:00Z')), first, 'another network');
  t.not(signContext(SECRET, NET, ctx('AA:BB:CC:00:00:04', 'http://example.com/'), at('2026-11-30T10:00:00Z')), first, 'another device');
  const long = ctx('AA:BB:CC:00:00:05', `http://example.com/${'a'.repeat(2000)}`);
  const l1 = signContext(SECRET, NET, long, at('2026-11-30T10:00:00Z'));
  t.equal(verifyContext(SECRET, NET, l1, at('2026-11-30T10:00:00Z'))?.originalUrl, long.originalUrl, 'a long context still works (signed and checked each time)');
});
