import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import t from 'tap';
import { freePort, panelLogin, runCli, startServer, tempDir } from '../helpers/process.js';
import { setup } from '../helpers/services.js';

t.test('one process per data directory; demo and user commands work beside the server, through it', async (t) => {
  const dataDir = tempDir();
  const server = await startServer(t, { KALITKA_DATA_DIR: dataDir }, freePort());
  const adminToken = /API token \(shown once, keep it\): (klt_\w+)/.exec(server.output())![1];

  const started = Date.now();
  const second = await runCli(['serve'], { KALITKA_DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: String(freePort()) });
  t.equal(second.code, 1);
  t.equal(second.stdout, '');
  t.equal(second.stderr, `kalitka: data directory ${dataDir} is in use by process ${server.child.pid}; only one process may open it\n`);
  t.ok(Date.now() - started < 10_000, 'refused at once, before opening the store');

  // README: `npm start`, then `npx kalitka demo`.
  const demo = await runCli(['demo'], { KALITKA_DATA_DIR: dataDir });
  t.equal(demo.code, 0, demo.stderr);
  const portal = new RegExp(`portal +(${server.base}/portal/[0-9a-f-]{36}\\?mac=\\S+)`).exec(demo.stdout)?.[1];
  t.ok(portal, "the demo's portal URL is the running server's");
  const page = await fetch(portal!);
  t.equal(page.status, 200, 'and the server knows the network');
  t.match(await page.text(), /name="token"/);
  const contractId = /contract ([0-9a-f-]{36})/.exec(demo.stdout)![1];
  const got = await fetch(`${server.base}/api/v1/contracts/${contractId}`, { headers: { authorization: `Bearer ${adminToken}` } });
  t.equal(got.status, 200, 'the contract is there for the API too');

  const user = await runCli(['user', 'create', '--login', 'cashier', '--contract', contractId], { KALITKA_DATA_DIR: dataDir });
  t.equal(user.code, 0, user.stderr);
  const userToken = /API token \(shown once\): (klt_\w+)/.exec(user.stdout)![1];
  const own = await fetch(`${server.base}/api/v1/contracts/${contractId}/tokens`, { headers: { authorization: `Bearer ${userToken}` } });
  t.equal(own.status, 200, "the new user's token works on the running server");
  const dup = await runCli(['user', 'create', '--login', 'cashier', '--contract', contractId], { KALITKA_DATA_DIR: dataDir });
  t.equal(dup.code, 1);
  t.match(dup.stderr, /^kalitka: The login "cashier" is taken\n$/);
  const pw = await runCli(['user', 'password', 'cashier'], { KALITKA_DATA_DIR: dataDir }, 'cashier password 1\n');
  t.equal(pw.code, 0, pw.stderr);
  t.equal(await panelLogin(server.base, 'cashier', 'cashier password 1'), 303);
  const sweep = await runCli(['sweep'], { KALITKA_DATA_DIR: dataDir });
  t.equal(sweep.code, 0, sweep.stderr);
  t.match(sweep.stdout, /^expired 0 identifications/);

  // After the server stops, the directory is free again and holds what was made through it.
  server.child.kill('SIGTERM');
  await new Promise((r) => server.child.once('exit', r));
  t.notOk(existsSync(path.join(dataDir, 'kalitka.lock')), 'the lock is gone with its process');
  const again = await startServer(t, { KALITKA_DATA_DIR: dataDir }, freePort());
  const still = await fetch(`${again.base}/api/v1/contracts/${contractId}`, { headers: { authorization: `Bearer ${adminToken}` } });
  t.equal(still.status, 200, 'nothing disappeared');
});

t.test('a stale lock (its process died) is taken over; a live process that is no server is named', async (t) => {
  const dataDir = tempDir();
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  writeFileSync(path.join(dataDir, 'kalitka.lock'), JSON.stringify({ pid: Number(gone.stdout), host: hostname(), start: '1' }));
  const migrated = await runCli(['migrate'], { KALITKA_DATA_DIR: dataDir });
  t.equal(migrated.code, 0, migrated.stderr);

  const killed = await startServer(t, { KALITKA_DATA_DIR: dataDir }, freePort());
  killed.child.kill('SIGKILL');
  await new Promise((r) => killed.child.once('exit', r));
  t.ok(existsSync(path.join(dataDir, 'kalitka.lock')), 'kill -9 leaves the lock behind');
  const after = await startServer(t, { KALITKA_DATA_DIR: dataDir }, freePort());
  t.match(after.output(), /Kalitka is serving/, 'and the next start takes it over');
  after.child.kill('SIGTERM');
  await new Promise((r) => after.child.once('exit', r));

  const sleeper = spawn('sleep', ['30']);
  t.teardown(() => void sleeper.kill());
  const stat = readFileSync(`/proc/${sleeper.pid}/stat`, 'utf8');
  const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  writeFileSync(path.join(dataDir, 'kalitka.lock'), JSON.stringify({ pid: sleeper.pid, host: hostname(), start }));
  const demo = await runCli(['demo'], { KALITKA_DATA_DIR: dataDir });
  t.equal(demo.code, 1);
  t.equal(demo.stderr.split('\n').length, 2, 'one line');
  t.match(demo.stderr, `kalitka: data directory ${dataDir} is in use by process ${sleeper.pid}; only one process may open it; it is not a Kalitka server that takes commands`);
});

// Process tests run the embedded store; this one is about DATABASE_URL, so it runs on this machine's PostgreSQL in both setups.
const DATABASE_URL = setup.databaseUrl ?? 'postgres://postgres@127.0.0.1:5432/test';

t.test('with DATABASE_URL there is no lock: processes share a PostgreSQL database', async (t) => {
  const schema = `t_cli_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  t.teardown(async () => {
    await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.end();
  });
  const url = new URL(DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const env = { DATABASE_URL: url.toString(), KALITKA_DATA_DIR: tempDir() };
  const one = await startServer(t, env, freePort());
  const two = await startServer(t, env, freePort());
  t.match(two.output(), /Kalitka is serving/, 'a second instance on the same database starts');
  t.notOk(existsSync(path.join(env.KALITKA_DATA_DIR, 'kalitka.lock')), 'no lock file in the unused data directory');
  const demo = await runCli(['demo'], env);
  t.equal(demo.code, 0, demo.stderr);
  const networkId = /network +([0-9a-f-]{36})/.exec(demo.stdout)![1];
  for (const s of [one, two]) t.equal((await fetch(`${s.base}/portal/${networkId}?mac=AA:BB:CC:DD:EE:01`)).status, 200);
});
