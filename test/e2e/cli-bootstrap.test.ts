import t from 'tap';
import { freePort, panelLogin, startServer, tempDir } from '../helpers/process.js';

// Process-level tests on the embedded store: how an operator gets into the panel.
t.test('the first start prints a way into the panel; a later KALITKA_ADMIN_PASSWORD is said to be ignored', async (t) => {
  const dataDir = tempDir();
  const first = await startServer(t, { KALITKA_DATA_DIR: dataDir }, freePort());
  const password = /sign in to the panel as "admin" with the password (\S+) \(shown once/.exec(first.output())?.[1];
  t.ok(password, 'a generated password is shown');
  t.equal(await panelLogin(first.base, 'admin', password!), 303, 'and it signs in');
  t.equal(await panelLogin(first.base, 'admin', 'wrong password 1'), 401);
  first.child.kill('SIGTERM');
  await new Promise((r) => first.child.once('exit', r));

  const later = await startServer(t, { KALITKA_DATA_DIR: dataDir, KALITKA_ADMIN_PASSWORD: 'a new one 12345' }, freePort());
  t.notMatch(later.output(), /password \S+ \(shown once/, 'shown once only');
  t.match(later.output(), /KALITKA_ADMIN_PASSWORD is ignored: it only sets the password of the first administrator, and this store has one\. To change a password: npx kalitka user password admin/);
  t.equal(await panelLogin(later.base, 'admin', 'a new one 12345'), 401, 'what the banner says is true');
  t.equal(await panelLogin(later.base, 'admin', password!), 303);

  const given = await startServer(t, { KALITKA_DATA_DIR: 'memory://', KALITKA_ADMIN_PASSWORD: 'given password 1' }, freePort());
  t.match(given.output(), /sign in to the panel as "admin" with the password from KALITKA_ADMIN_PASSWORD/);
  t.notMatch(given.output(), /given password 1/);
  t.equal(await panelLogin(given.base, 'admin', 'given password 1'), 303);
});
