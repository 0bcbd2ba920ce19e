import { spawnSync } from 'node:child_process';
import t from 'tap';
import { runCli, tempDir } from '../helpers/process.js';

// Process-level tests run on the embedded store: the real-server setup is exercised by the rest.
t.test('migrate, user create and demo work on a fresh store', async (t) => {
  const env = { KALITKA_DATA_DIR: tempDir() };
  const migrated = await runCli(['migrate'], env);
  t.equal(migrated.code, 0, migrated.stderr);
  const demo = await runCli(['demo'], env);
  t.equal(demo.code, 0, demo.stderr);
  t.match(demo.stdout, /portal +http:\/\/127\.0\.0\.1:8080\/portal\/[0-9a-f-]{36}\?mac=/);
  t.match(demo.stdout, /one-day single-use tokens: \d{4} \d{4} \d{4}/);
  const contractId = /contract ([0-9a-f-]{36})/.exec(demo.stdout)![1];
  const user = await runCli(['user', 'create', '--login', 'cashier', '--contract', contractId], env);
  t.equal(user.code, 0, user.stderr);
  t.match(user.stdout, /API token \(shown once\): klt_[0-9A-Za-z]{36}\n/);
  const dup = await runCli(['user', 'create', '--login', 'cashier', '--contract', contractId], env);
  t.equal(dup.code, 1);
  t.match(dup.stderr, /login "cashier" is taken/);
  for (const contract of ['nonexist', '00000000-0000-4000-8000-000000000000']) {
    const missing = await runCli(['user', 'create', '--login', 'desk3', '--contract', contract], env);
    t.equal(missing.code, 1, contract);
    t.equal(missing.stderr, 'kalitka: Contract not found\n', `${contract}: one plain line, no database error`);
  }
  const usage = await runCli(['frobnicate'], env);
  t.equal(usage.code, 2, 'a usage mistake exits with 2');
  t.match(usage.stderr, /unknown command "frobnicate"\n\nusage: kalitka/);
});

t.test('on KALITKA_DATA_DIR=memory:// a store command changes nothing and says what to do instead of printing what no server has', async (t) => {
  const env = { KALITKA_DATA_DIR: 'memory://' };
  for (const args of [['demo'], ['user', 'create', '--login', 'desk', '--system'], ['user', 'password', 'admin'], ['migrate'], ['sweep']]) {
    const res = await runCli(args, env, 'long enough password\n');
    t.equal(res.code, 1, `kalitka ${args.join(' ')}`);
    t.equal(res.stdout, '', 'no portal URL, token or report of a store that is gone');
    t.equal(res.stderr.trim().split('\n').length, 1, 'one line');
    t.match(res.stderr, /^kalitka: KALITKA_DATA_DIR=memory:\/\/ keeps nothing .*KALITKA_DATA_DIR=\.\/data/);
  }
});

t.test('npx kalitka runs the built CLI (the bin is executable after a build)', async (t) => {
  const res = spawnSync('npx', ['--no-install', 'kalitka', 'frobnicate'], { encoding: 'utf8', env: { ...process.env, KALITKA_DATA_DIR: 'memory://' } });
  t.equal(res.status, 2);
  t.match(res.stderr, /kalitka: unknown command "frobnicate"/);
});
