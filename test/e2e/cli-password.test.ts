import t from 'tap';
import { freePort, panelLogin, runCli, startServer, tempDir } from '../helpers/process.js';

// Process-level tests on the embedded store: how an operator sets a panel password.
t.test('user password reads the password from standard input, never from argv', async (t) => {
  const env = { KALITKA_DATA_DIR: tempDir() };
  t.equal((await runCli(['migrate'], env)).code, 0);
  const made = await runCli(['user', 'create', '--login', 'desk', '--system'], env);
  t.equal(made.code, 0, made.stderr);
  t.match(made.stdout, /panel password: none yet; set one with: kalitka user password desk/);
  const set = await runCli(['user', 'password', 'desk'], env, 'piped secret 42\nignored second line\n');
  t.equal(set.code, 0, set.stderr);
  t.equal(set.stdout, 'password of desk changed\n');
  t.notMatch(set.stdout + set.stderr, /piped secret/);
  const short = await runCli(['user', 'password', 'desk'], env, 'short\n');
  t.equal(short.code, 1);
  t.match(short.stderr, /^kalitka: a password is 8 to 200 characters; nothing changed\n$/);
  const empty = await runCli(['user', 'password', 'desk'], env, '');
  t.equal(empty.code, 1);
  t.match(empty.stderr, /no password on standard input/);
  const nobody = await runCli(['user', 'password', 'nobody'], env, 'piped secret 42\n');
  t.equal(nobody.code, 1);
  t.match(nobody.stderr, /User "nobody" not found/);
  const argv = await runCli(['user', 'password', 'desk', '--password', 'piped secret 42'], env);
  t.equal(argv.code, 2);

  const server = await startServer(t, env, freePort());
  t.equal(await panelLogin(server.base, 'desk', 'piped secret 42'), 303, 'the new password signs in');
});

