import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { request } from 'undici';
import { checkSavedTargets, validateSettings } from '../../../src/controllers/index.js';
import { AppError } from '../../../src/errors.js';
import { outboundAgent, outboundPolicy, outboundRefusalIn, refusalOf, resolveOutbound } from '../../../src/net/outbound.js';
import { LOOPBACK_ALLOW, thrown } from '../../helpers/controllers.js';

const operator = { isSystem: false };
const admin = { isSystem: true };

t.test('each address class gets its verdict: always refused, private only when approved, public allowed', async (t) => {
  const strict = outboundPolicy([], false);
  const approved = outboundPolicy([], true);
  const always = ['127.0.0.1', '127.9.9.9', '::1', '169.254.169.254', 'fe80::1', '0.0.0.0', '::', '224.0.0.251', 'ff02::1', '255.255.255.255', '::ffff:127.0.0.1', '::ffff:169.254.169.254'];
  for (const address of always) {
    t.equal(refusalOf(address, strict)?.reason, 'always', address);
    t.equal(refusalOf(address, approved)?.reason, 'always', `${address}, even approved`);
  }
  const privateOnes = ['10.0.0.1', '172.16.5.4', '172.31.255.255', '192.168.1.1', '100.64.0.1', '100.127.255.254', 'fd00::2', 'fc00::1', '::ffff:10.1.2.3'];
  for (const address of privateOnes) {
    t.equal(refusalOf(address, strict)?.reason, 'private', address);
    t.equal(refusalOf(address, approved), null, `${address}, approved`);
  }
  for (const address of ['192.0.2.10', '203.0.113.5', '172.32.0.1', '100.128.0.1', '8.8.8.8', '2001:db8::1']) {
    t.equal(refusalOf(address, strict), null, address);
  }
  const allowLoopback = outboundPolicy(LOOPBACK_ALLOW, false);
  t.equal(refusalOf('127.0.0.1', allowLoopback), null, 'KALITKA_OUTBOUND_ALLOW opens what it lists');
  t.equal(refusalOf('::1', allowLoopback), null);
  t.equal(refusalOf('169.254.169.254', allowLoopback)?.reason, 'always', 'and nothing else');
  t.equal(refusalOf('10.0.0.1', outboundPolicy(['10.0.0.0/8'], false)), null, 'a private range listed there needs no approval');
});

t.test('a name is checked by every address it resolves to', async (t) => {
  const strict = outboundPolicy([], false);
  const err = await resolveOutbound('localhost', strict).catch((e) => e);
  t.equal(err.code, 'OUTBOUND_REFUSED');
  t.match(err.message, /^localhost resolves to (127\.0\.0\.1|::1), a loopback address/);
  t.same(await resolveOutbound('[::1]', outboundPolicy(LOOPBACK_ALLOW, false)), [{ address: '::1', family: 6 }]);
  const unresolved = await resolveOutbound('no-such-host.invalid', strict).catch((e) => e);
  t.equal(unresolved.reason, 'unresolved');
});

t.test('the agent checks at connect time, so the name is resolved when the socket opens, not before', async (t) => {
  const server = createServer((_req, res) => res.end('reached'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as AddressInfo).port;

  const strictAgent = outboundAgent(outboundPolicy([], false), { timeoutMs: 2000 });
  t.teardown(() => strictAgent.close());
  for (const host of ['127.0.0.1', 'localhost', '[::ffff:127.0.0.1]']) {
    const err = await request(`http://${host}:${port}/`, { dispatcher: strictAgent }).catch((e) => e);
    t.equal(outboundRefusalIn(err)?.reason, 'always', host);
  }
  const allowed = outboundAgent(outboundPolicy(LOOPBACK_ALLOW, false), { timeoutMs: 2000 });
  t.teardown(() => allowed.close());
  const res = await request(`http://localhost:${port}/`, { dispatcher: allowed });
  t.equal(await res.body.text(), 'reached', 'by name, through the checked address, with the allow-list');
});

t.test('loginHosts is validated as a host list and Meraki gets its default', async (t) => {
  t.same(validateSettings('mikrotik', { loginHosts: '10.5.50.1, hotspot.example.net:8080 *.routers.example' }), {
    loginHosts: '10.5.50.1, hotspot.example.net:8080 *.routers.example',
    radiusPort: 3799,
  });
  t.same(validateSettings('meraki', {}), { loginHosts: '*.network-auth.com' });
  for (const bad of ['http://10.5.50.1/', '10.5.50.1:99999', '*.com', '*', 'a b/c', '*.10.0.0.1', ',']) {
    const err = thrown(() => validateSettings('coova', { loginHosts: bad })) as AppError;
    t.equal(err?.code, 'INVALID_SETTINGS', bad);
    t.match(err.details, { invalid: { loginHosts: /host:port/ } });
  }
});

t.test('saving targets: loopback and metadata addresses are 422 for everyone, private ones for operators', async (t) => {
  const cases: [string, Record<string, string | number>, RegExp][] = [
    ['unifi', { unifiUrl: 'https://127.0.0.1:8443', username: 'u', password: 'p' }, /^unifiUrl: 127\.0\.0\.1 is a loopback address, which only the server's KALITKA_OUTBOUND_ALLOW can open$/],
    ['generic', { webhookUrl: 'http://169.254.169.254/latest', webhookSecret: 'x'.repeat(16) }, /^webhookUrl: 169\.254\.169\.254 is a link-local address/],
    ['unifi', { unifiUrl: 'https://[::1]:6379', username: 'u', password: 'p' }, /^unifiUrl: ::1 is a loopback address/],
    ['generic', { webhookUrl: 'http://localhost:5432/', webhookSecret: 'x'.repeat(16) }, /^webhookUrl: localhost resolves to (127\.0\.0\.1|::1), a loopback address/],
    ['mikrotik', { radiusHost: '127.0.0.1', radiusSecret: 's' }, /^radiusHost: 127\.0\.0\.1 is a loopback address/],
  ];
  for (const [kind, settings, message] of cases) {
    for (const actor of [operator, admin]) {
      const err = await checkSavedTargets(kind as 'unifi', settings, { allow: [], actor }).catch((e) => e);
      t.ok(err instanceof AppError, `${JSON.stringify(settings)} by ${actor.isSystem ? 'admin' : 'operator'}`);
      t.equal(err.status, 422);
      t.equal(err.code, 'OUTBOUND_REFUSED');
      t.match(err.message, message);
    }
  }
  t.same(
    await checkSavedTargets('mikrotik', { radiusHost: '127.0.0.1', radiusSecret: 's' }, { allow: LOOPBACK_ALLOW, actor: operator }),
    { targetsApproved: false },
    'the server allow-list opens loopback for an operator too',
  );

  const privateNas = { radiusHost: '10.5.50.1', radiusSecret: 's' };
  const refused = await checkSavedTargets('mikrotik', privateNas, { allow: [], actor: operator }).catch((e) => e);
  t.equal(refused.status, 422);
  t.equal(refused.message, "radiusHost: 10.5.50.1 is a private (RFC 1918) address: a system administrator can approve it by saving this network's settings");
  t.same(refused.details, { setting: 'radiusHost', address: '10.5.50.1', reason: 'private' });
  t.same(await checkSavedTargets('mikrotik', privateNas, { allow: [], actor: admin }), { targetsApproved: true }, 'a system administrator approves by saving');
});

t.test('an approval stays while an operator leaves the targets alone, and ends when one changes', async (t) => {
  const saved = { radiusHost: '10.5.50.1', radiusSecret: 's', loginHosts: '10.5.50.1' };
  const previous = { settings: saved, targetsApproved: true };
  t.same(
    await checkSavedTargets('mikrotik', { ...saved, loginHosts: '10.5.50.1, 10.5.50.2' }, { allow: [], actor: operator, previous }),
    { targetsApproved: true },
    'a change of loginHosts alone keeps the approval',
  );
  const moved = await checkSavedTargets('mikrotik', { ...saved, radiusHost: '10.5.50.9' }, { allow: [], actor: operator, previous }).catch((e) => e);
  t.equal(moved.code, 'OUTBOUND_REFUSED', 'another private NAS needs a new approval');
  t.same(
    await checkSavedTargets('mikrotik', { ...saved, radiusHost: '203.0.113.9' }, { allow: [], actor: operator, previous }),
    { targetsApproved: false },
    'a public one is fine, but the approval is gone',
  );
  t.same(await checkSavedTargets('mikrotik', saved, { allow: [], actor: admin, previous: { settings: saved, targetsApproved: false } }), { targetsApproved: true });
});
