import t from 'tap';
import { signContext } from '../../src/http/portal/context.js';
import { freePort, startServer, tempDir } from '../helpers/process.js';

const SECRET = 'shutdown-test-secret-0123456789abcdef';
const ADMIN = 'shutdown_admin_token_0123456789_abcdef';

t.test('SIGTERM lets in-flight activations finish: nothing is cut in half', async (t) => {
  const dataDir = tempDir();
  const env = { KALITKA_DATA_DIR: dataDir, KALITKA_SECRET: SECRET, KALITKA_ADMIN_TOKEN: ADMIN, KALITKA_ROLES: 'portal,admin' };
  const server = await startServer(t, env, freePort());
  const api = async (method: string, url: string, body?: object) => {
    const res = await fetch(server.base + url, { method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
    return res.json();
  };
  const contract = await api('POST', '/api/v1/contracts', { name: 'Shutdown' });
  const network = await api('POST', `/api/v1/contracts/${contract.id}/networks`, { name: 'Lobby', controller: 'generic' });
  const { tokens } = await api('POST', `/api/v1/contracts/${contract.id}/tokens`, { count: 60, multiUse: false, durationDays: 1 });

  const requests = tokens.map((tok: { code: string }, i: number) => {
    const ctx = signContext(Buffer.from(SECRET), network.id, { mac: `AA:00:00:00:00:${i.toString(16).padStart(2, '0').toUpperCase()}`, originalUrl: null, clientIp: null, params: {} }, new Date());
    return fetch(`${server.base}/portal/${network.id}/activate`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tok.code, ctx }).toString(),
    }).then((r) => r.status, (e: Error) => `refused: ${e.message}`);
  });
  // Let the requests reach the server, then ask it to stop while they are in flight.
  await new Promise((r) => setTimeout(r, 30));
  server.child.kill('SIGTERM');
  const results = await Promise.all(requests);
  const exitCode = await new Promise((r) => (server.child.exitCode !== null ? r(server.child.exitCode) : server.child.once('exit', r)));
  t.equal(exitCode, 0, 'a clean exit');
  const ok = results.filter((r) => r === 200).length;
  // Requests that arrive once closing began get fastify's 503 before any work, or find the port shut.
  t.ok(
    results.every((r) => r === 200 || r === 503 || (typeof r === 'string' && r.startsWith('refused'))),
    `each request completed, or was turned away before any work (${ok} completed): ${[...new Set(results)].join(', ')}`,
  );
  t.ok(ok > 0, 'the requests in flight completed');

  // Reopen the store: every token is either active with its identification, or untouched.
  const again = await startServer(t, env, freePort());
  const list = await fetch(`${again.base}/api/v1/contracts/${contract.id}/tokens`, { headers: { authorization: `Bearer ${ADMIN}` } }).then((r) => r.json());
  const active = list.tokens.filter((x: { status: string }) => x.status === 'active');
  t.equal(active.length, ok, 'exactly the completed activations were stored');
  const sessions = await fetch(`${again.base}/api/v1/networks/${network.id}/sessions`, { headers: { authorization: `Bearer ${ADMIN}` } }).then((r) => r.json());
  t.equal(sessions.sessions.length, ok, 'each with its live identification');
});
