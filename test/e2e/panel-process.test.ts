import t from 'tap';
import { freePort, startServer } from '../helpers/process.js';

// Process-level, on the embedded store: the bootstrap administrator signs in to the panel.
t.test('a served process offers the panel, and KALITKA_ADMIN_PASSWORD lets "admin" sign in', async (t) => {
  const server = await startServer(t, { KALITKA_DATA_DIR: 'memory://', KALITKA_ADMIN_PASSWORD: 'first admin password' }, freePort());
  t.match(server.output(), new RegExp(`admin panel: +${server.base}/admin `));
  const page = await fetch(`${server.base}/admin/login`);
  t.equal(page.status, 200);
  const cookie = page.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const csrf = /name="_csrf" value="([0-9a-f]{64})"/.exec(await page.text())![1];
  const login = async (password: string) =>
    fetch(`${server.base}/admin/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, login: 'admin', password }).toString(),
    });
  t.equal((await login('wrong password')).status, 401);
  const ok = await login('first admin password');
  t.equal(ok.status, 303);
  t.equal(ok.headers.get('location'), '/admin/tokens');
  const session = ok.headers.getSetCookie().find((c) => c.startsWith('kalitka_panel='))!.split(';')[0];
  const users = await fetch(`${server.base}/admin/users`, { headers: { cookie: session } });
  t.equal(users.status, 200);
  t.match(await users.text(), '<td data-label="Логин">admin</td><td data-label="Роль">Системный администратор</td>');
});
