import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { freePort, runCli, startServer, tempDir } from '../helpers/process.js';

// Process-level tests run on the embedded store: the real-server setup is exercised by the rest.
t.test('serve on the embedded defaults prints where it answers and a one-time admin token that works', async (t) => {
  const dataDir = tempDir();
  const server = await startServer(t, { KALITKA_DATA_DIR: dataDir }, freePort());
  const token = /API token \(shown once, keep it\): (klt_\w+)/.exec(server.output())?.[1];
  t.notMatch(server.output(), /KALITKA_ADMIN_PASSWORD sets/, 'no banner promises what a later start would not do');
  t.ok(token, 'the banner shows the generated admin token');
  t.match(server.output(), new RegExp(`admin API: +${server.base}/api/v1/contracts`));
  t.match(server.output(), /guest portal: /);
  const res = await fetch(`${server.base}/api/v1/contracts`, { headers: { authorization: `Bearer ${token}` } });
  t.equal(res.status, 200);
  t.same(await res.json(), { contracts: [] });
  const ready = await fetch(`${server.base}/readyz`);
  t.equal(ready.status, 200);

  // The store persists across restarts: the admin exists, so no new token is printed.
  server.child.kill('SIGTERM');
  await new Promise((r) => server.child.once('exit', r));
  const again = await startServer(t, { KALITKA_DATA_DIR: dataDir }, freePort());
  t.notMatch(again.output(), /API token/);
  const still = await fetch(`${again.base}/api/v1/contracts`, { headers: { authorization: `Bearer ${token}` } });
  t.equal(still.status, 200, 'the same token works after a restart');
});

t.test('KALITKA_ADMIN_TOKEN becomes the administrator token and is never printed', async (t) => {
  const adminToken = 'configured_admin_token_0123456789_abcdef';
  const server = await startServer(t, { KALITKA_DATA_DIR: 'memory://', KALITKA_ADMIN_TOKEN: adminToken }, freePort());
  t.notMatch(server.output(), new RegExp(adminToken));
  const res = await fetch(`${server.base}/api/v1/contracts`, { headers: { authorization: `Bearer ${adminToken}` } });
  t.equal(res.status, 200);
});

t.test('bad configuration stops the process with one line naming the variable', async (t) => {
  const res = await runCli(['serve'], { KALITKA_DATA_DIR: 'memory://', PORTAL_MAX_FAILS_PER_IP: 'many' });
  t.equal(res.code, 1);
  t.equal(res.stderr.trim().split('\n').length, 1);
  t.match(res.stderr, /^kalitka: configuration error: PORTAL_MAX_FAILS_PER_IP: /);
  const dataDir = path.join(tempDir(), 'never-made');
  const proxy = await runCli(['serve'], { KALITKA_DATA_DIR: dataDir, TRUST_PROXY: 'notanip', PORT: String(freePort()), HOST: '127.0.0.1' });
  t.equal(proxy.code, 1);
  t.match(proxy.stderr, /^kalitka: configuration error: TRUST_PROXY: "notanip"[^\n]*\n$/);
  t.notOk(existsSync(dataDir), 'nothing is made before the configuration is checked');
});

t.test('a HOST or PORT the listener cannot open stops the start with one line naming the variable', async (t) => {
  const busy = net.createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  t.teardown(() => busy.close());
  const taken = String((busy.address() as net.AddressInfo).port);
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ HOST: 'no-such-host.invalid', PORT: String(freePort()) }, /^kalitka: configuration error: HOST: "no-such-host\.invalid" /],
    [{ HOST: '192.0.2.1', PORT: String(freePort()) }, /^kalitka: configuration error: HOST: "192\.0\.2\.1" /],
    [{ HOST: '127.0.0.1', PORT: taken }, new RegExp(`^kalitka: configuration error: PORT: ${taken} `)],
  ];
  for (const [env, line] of cases) {
    const res = await runCli(['serve'], { KALITKA_DATA_DIR: 'memory://', ...env });
    t.equal(res.code, 1, JSON.stringify(env));
    t.equal(res.stderr.trim().split('\n').length, 1, 'one line');
    t.match(res.stderr, line);
    t.notMatch(res.stdout, /Kalitka is serving/, 'no banner');
  }
});

t.test('a KALITKA_ADMIN_TOKEN that could never sign in stops the start before anything is created', async (t) => {
  const dataDir = tempDir();
  const bad = 'klt_abcdefghij0123456789ABCDEFGHIJ30qLFL'; // klt_ + 36 characters, wrong checksum
  const res = await runCli(['serve'], { KALITKA_DATA_DIR: dataDir, KALITKA_ADMIN_TOKEN: bad, PORT: String(freePort()), HOST: '127.0.0.1' });
  t.equal(res.code, 1);
  t.equal(res.stdout, '', 'no banner');
  t.equal(res.stderr.trim().split('\n').length, 1);
  t.match(res.stderr, /^kalitka: configuration error: KALITKA_ADMIN_TOKEN: is not a token that can sign in/);
});

const COMMANDS = ['serve', 'migrate', 'sweep', 'demo', 'user create', 'user password'];

t.test('the CLI explains itself: --help, help COMMAND, a bare kalitka; unknown commands exit 2', async (t) => {
  const env = { KALITKA_DATA_DIR: 'memory://' };
  for (const args of [['--help'], ['help'], []]) {
    const res = await runCli(args, env);
    t.equal(res.code, 0, `kalitka ${args.join(' ')}`);
    t.equal(res.stderr, '');
    t.match(res.stdout, /^usage: kalitka <command>/);
    for (const c of COMMANDS) t.match(res.stdout, new RegExp(`\\n  ${c}\\b`), `lists ${c}`);
    t.notMatch(res.stdout, /Kalitka is serving/, 'nothing was started');
  }
  const demo = await runCli(['help', 'demo'], env);
  t.equal(demo.code, 0);
  t.match(demo.stdout, /^usage: kalitka demo\n\nCreates a contract/);
  const user = await runCli(['help', 'user'], env);
  t.match(user.stdout, /usage: kalitka user create --login L \(--contract ID \| --system\)[\s\S]*usage: kalitka user password LOGIN/);
  const password = await runCli(['user', 'password', '--help'], env);
  t.equal(password.code, 0);
  t.match(password.stdout, /standard input[\s\S]*never from the command line/);
  for (const args of [['frobnicate'], ['help', 'frobnicate'], ['user'], ['demo', 'extra'], ['user', 'create', '--login', 'x', '--system', '--password', 'secret123']]) {
    const res = await runCli(args, env);
    t.equal(res.code, 2, `kalitka ${args.join(' ')}`);
    t.equal(res.stdout, '');
    t.match(res.stderr, /^kalitka: .+\n\nusage: kalitka <command>/);
  }
});

