import t from 'tap';
import { makeContract } from '../helpers/factories.js';
import { makePanelUser, PanelClient, panelEnv, PASSWORD, signedIn, textOf } from '../helpers/panel.js';

const SESSION = 'kalitka_panel';

t.test('a user signs in with login and password and gets an HttpOnly, Lax session cookie for /admin', async (t) => {
  const { app, svc } = await panelEnv(t);
  const user = await makePanelUser(svc, (await makeContract(svc)).id);
  const client = new PanelClient(app);
  const page = await client.get('/admin/login');
  t.equal(page.statusCode, 200);
  t.match(page.body, /<form method="post" action="\/admin\/login"/);
  t.match(page.body, /name="_csrf" value="[0-9a-f]{64}"/);
  t.equal(page.headers['cache-control'], 'no-store');

  const res = await client.post('/admin/login', { login: user.login, password: PASSWORD });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/admin/tokens');
  const cookie = [res.headers['set-cookie']].flat().find((c) => c!.startsWith(`${SESSION}=`))!;
  t.match(cookie, new RegExp(`^${SESSION}=[A-Za-z0-9_-]{43}; Path=/admin; HttpOnly; SameSite=Lax$`));
  t.notMatch(cookie, /Secure/, 'no Secure flag over plain HTTP');
  const rows = await svc.db.query<{ id_hash: string }>(`select id_hash from panel_sessions`);
  t.equal(rows.rows.length, 1);
  t.not(rows.rows[0].id_hash, client.cookies.get(SESSION), 'only a hash of the id is stored');

  const tokens = await client.get('/admin/tokens');
  t.equal(tokens.statusCode, 200);
  t.match(tokens.body, `<span class="login">${user.login}</span>`);
  const again = await client.get('/admin/login');
  t.equal(again.statusCode, 303, 'the login page sends a signed-in user on');
});

t.test('the session cookie is Secure when the request came over TLS', async (t) => {
  const { app, svc } = await panelEnv(t, { TRUST_PROXY: '127.0.0.1' });
  const user = await makePanelUser(svc, null);
  const client = new PanelClient(app, { headers: { 'x-forwarded-proto': 'https' } });
  const res = await client.login(user.login);
  t.equal(res.statusCode, 303);
  const cookie = [res.headers['set-cookie']].flat().find((c) => c!.startsWith(`${SESSION}=`))!;
  t.match(cookie, /; Path=\/admin; HttpOnly; Secure; SameSite=Lax$/);
});

t.test('a wrong password, an unknown login and empty fields are refused with the form again', async (t) => {
  const { app, svc } = await panelEnv(t);
  const user = await makePanelUser(svc, null);
  const client = new PanelClient(app);
  const wrong = await client.login(user.login, 'not the password');
  t.equal(wrong.statusCode, 401);
  t.equal(textOf(wrong.body, 'error'), 'Неверный логин или пароль.');
  t.match(wrong.body, `value="${user.login}"`, 'the login stays typed');
  const unknown = await client.login('nobody-here', PASSWORD);
  t.equal(unknown.statusCode, 401);
  t.equal(textOf(unknown.body, 'error'), 'Неверный логин или пароль.');
  const empty = await client.login('', '');
  t.equal(empty.statusCode, 400);
  t.equal(textOf(empty.body, 'error'), 'Введите логин и пароль.');
  t.equal(client.cookies.has(SESSION), false);
  const count = await svc.db.query<{ n: number }>(`select count(*)::int as n from panel_sessions`);
  t.equal(count.rows[0].n, 0);
});

t.test('a login form without its CSRF token or pre-login cookie is refused with 403', async (t) => {
  const { app, svc } = await panelEnv(t);
  const user = await makePanelUser(svc, null);
  const client = new PanelClient(app);
  await client.get('/admin/login');
  const noToken = await client.post('/admin/login', { login: user.login, password: PASSWORD, _csrf: null });
  t.equal(noToken.statusCode, 403);
  const forged = await client.post('/admin/login', { login: user.login, password: PASSWORD, _csrf: 'a'.repeat(64) });
  t.equal(forged.statusCode, 403);
  const stranger = new PanelClient(app);
  const noCookie = await stranger.post('/admin/login', { login: user.login, password: PASSWORD, _csrf: client.lastCsrf });
  t.equal(noCookie.statusCode, 403, "another browser's token does not fit");
  t.equal(client.cookies.has(SESSION) || stranger.cookies.has(SESSION), false);
});

t.test('ten failed tries per login from one address lock it there for 15 minutes, even with the right password; others still sign in', async (t) => {
  const { app, svc } = await panelEnv(t);
  const user = await makePanelUser(svc, null);
  for (let i = 0; i < 10; i++) {
    const res = await new PanelClient(app, { remoteAddress: '10.0.0.1' }).login(user.login, `wrong ${i}`);
    t.equal(res.statusCode, 401, `try ${i + 1}`);
  }
  const locked = await new PanelClient(app, { remoteAddress: '10.0.0.1' }).login(user.login.toUpperCase(), PASSWORD);
  t.equal(locked.statusCode, 429, 'another spelling of the same login is the same counter');
  const right = await new PanelClient(app, { remoteAddress: '10.0.0.1' }).login(user.login, PASSWORD);
  t.equal(right.statusCode, 429);
  t.equal(textOf(right.body, 'error'), 'Слишком много неудачных попыток входа. Попробуйте снова через 15 мин.');
  const other = await makePanelUser(svc, null);
  t.equal((await new PanelClient(app, { remoteAddress: '10.0.0.1' }).login(other.login)).statusCode, 303, 'other logins from there are not locked');
  t.equal((await new PanelClient(app, { remoteAddress: '10.0.1.1' }).login(user.login)).statusCode, 303, "a guesser elsewhere does not lock the login's owner out");
});

t.test('a login guessed from many addresses locks after a hundred failures, everywhere', async (t) => {
  const { app, svc } = await panelEnv(t);
  const user = await makePanelUser(svc, null);
  for (let i = 0; i < 100; i++) {
    const res = await new PanelClient(app, { remoteAddress: `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}` }).login(user.login, `wrong ${i}`);
    if (res.statusCode !== 401) t.fail(`try ${i + 1}: ${res.statusCode}`);
  }
  t.equal((await new PanelClient(app, { remoteAddress: '10.2.0.1' }).login(user.login, PASSWORD)).statusCode, 429, 'the right password from a new address');
});

t.test('password guesses sent all at once cannot slip past the limit', async (t) => {
  const { app, svc } = await panelEnv(t);
  const user = await makePanelUser(svc, null);
  const statuses = await Promise.all(
    Array.from({ length: 25 }, (_, i) => new PanelClient(app, { remoteAddress: '10.0.2.1' }).login(user.login, `wrong ${i}`).then((r) => r.statusCode)),
  );
  t.equal(statuses.filter((s) => s === 401).length, 10, 'only ten passwords were checked');
  t.equal(statuses.filter((s) => s === 429).length, 15);
});

t.test('thirty failed tries from one address lock that address for every login', async (t) => {
  const { app, svc } = await panelEnv(t);
  const user = await makePanelUser(svc, null);
  for (let i = 0; i < 30; i++) {
    t.equal((await new PanelClient(app, { remoteAddress: '192.0.2.7' }).login(`guess${i}`, 'x')).statusCode, 401);
  }
  t.equal((await new PanelClient(app, { remoteAddress: '192.0.2.7' }).login(user.login)).statusCode, 429);
  t.equal((await new PanelClient(app, { remoteAddress: '192.0.2.8' }).login(user.login)).statusCode, 303);
});

t.test('a successful login clears its login counter', async (t) => {
  const { app, svc } = await panelEnv(t);
  const user = await makePanelUser(svc, null);
  for (let i = 0; i < 9; i++) await new PanelClient(app, { remoteAddress: `10.1.0.${i + 1}` }).login(user.login, 'wrong');
  t.equal((await new PanelClient(app, { remoteAddress: '10.2.0.1' }).login(user.login)).statusCode, 303);
  for (let i = 0; i < 9; i++) await new PanelClient(app, { remoteAddress: `10.3.0.${i + 1}` }).login(user.login, 'wrong');
  t.equal((await new PanelClient(app, { remoteAddress: '10.4.0.1' }).login(user.login)).statusCode, 303, 'nine more failures do not lock it');
});

t.test('pages need a session: without one, GET and POST go to the login page', async (t) => {
  const { app } = await panelEnv(t);
  const client = new PanelClient(app);
  for (const url of ['/admin', '/admin/tokens', '/admin/sessions', '/admin/networks', '/admin/log', '/admin/users', '/admin/profile', '/admin/profile/tokens', '/admin/tokens.pdf']) {
    const res = await client.get(url);
    t.equal(res.statusCode, 303, url);
    t.equal(res.headers.location, '/admin/login', url);
  }
  const post = await client.post('/admin/tokens/generate', { count: '1', uses: 'single', term: '1' });
  t.equal(post.statusCode, 303);
  t.equal(post.headers.location, '/admin/login');
  const forged = await new PanelClient(app).get('/admin/tokens', { cookie: `${SESSION}=${'A'.repeat(43)}` });
  t.equal(forged.statusCode, 303, 'an unknown session id is no session');
});

t.test('a POST without the session CSRF token is refused with 403 and changes nothing', async (t) => {
  const { app, svc } = await panelEnv(t);
  const contract = await makeContract(svc);
  const { client } = await signedIn(app, svc, contract.id);
  const other = await signedIn(app, svc, contract.id);
  const form = { contract: contract.id, count: '5', uses: 'single', term: '1' };
  const missing = await client.post('/admin/tokens/generate', { ...form, _csrf: null });
  t.equal(missing.statusCode, 403);
  t.match(missing.body, '<p class="message error" role="alert">Форма устарела или отправлена не со страницы панели. Откройте страницу заново и повторите действие.</p>');
  const foreign = await client.post('/admin/tokens/generate', { ...form, _csrf: other.client.lastCsrf });
  t.equal(foreign.statusCode, 403, "another session's token does not fit");
  const logout = await client.post('/admin/logout', { _csrf: null });
  t.equal(logout.statusCode, 403, 'logging out needs it too');
  const count = await svc.db.query<{ n: number }>(`select count(*)::int as n from tokens`);
  t.equal(count.rows[0].n, 0);
  const ok = await client.post('/admin/tokens/generate', form);
  t.equal(ok.statusCode, 303);
});

t.test('a session ends after 12 idle hours; each request moves the deadline', async (t) => {
  const { app, svc, clock } = await panelEnv(t);
  const { client } = await signedIn(app, svc, null);
  clock.advance(11 * 3600_000);
  t.equal((await client.get('/admin/profile')).statusCode, 200);
  clock.advance(11 * 3600_000);
  t.equal((await client.get('/admin/profile')).statusCode, 200, '22 hours after login, 11 after the last request');
  clock.advance(12 * 3600_000);
  const res = await client.get('/admin/profile');
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/admin/login');
});

t.test('logging out ends the session on the server and clears the cookie', async (t) => {
  const { app, svc } = await panelEnv(t);
  const { client } = await signedIn(app, svc, null);
  const stolen = client.cookies.get(SESSION)!;
  const res = await client.post('/admin/logout');
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/admin/login');
  t.match([res.headers['set-cookie']].flat().join('\n'), new RegExp(`${SESSION}=; Max-Age=0; Path=/admin`));
  const count = await svc.db.query<{ n: number }>(`select count(*)::int as n from panel_sessions`);
  t.equal(count.rows[0].n, 0);
  const replay = await new PanelClient(app).get('/admin/tokens', { cookie: `${SESSION}=${stolen}` });
  t.equal(replay.statusCode, 303, 'the old cookie opens nothing');
});

t.test('pages carry the security headers; the script is a file, nothing inline', async (t) => {
  const { app, svc } = await panelEnv(t);
  const { client } = await signedIn(app, svc, null);
  const res = await client.get('/admin/profile');
  t.equal(res.headers['content-security-policy'], "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  t.equal(res.headers['x-frame-options'], 'DENY');
  t.equal(res.headers['x-content-type-options'], 'nosniff');
  t.equal(res.headers['referrer-policy'], 'same-origin');
  t.equal(res.headers['cache-control'], 'no-store');
  t.notMatch(res.body, /<script(?![^>]*\bsrc=)/, 'no inline script');
  t.notMatch(res.body, /\sstyle="/, 'no inline style');
  const js = await client.get('/admin/assets/panel.js');
  t.equal(js.statusCode, 200);
  t.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
  const css = await new PanelClient(app).get('/admin/assets/panel.css');
  t.equal(css.statusCode, 200, 'assets need no session');
  t.equal(css.headers['content-type'], 'text/css; charset=utf-8');
  t.equal((await client.get('/admin/assets/..%2Fpages%2Flogin.hbs')).statusCode, 404);
  t.equal((await client.get('/admin/assets/nothing.js')).statusCode, 404);
});

t.test('pages speak English by Accept-Language or ?lang=, which is remembered', async (t) => {
  const { app, svc } = await panelEnv(t);
  const { client } = await signedIn(app, svc, null);
  const en = await client.get('/admin/profile', { 'accept-language': 'en-GB,en;q=0.9' });
  t.match(en.body, '<html lang="en">');
  t.match(en.body, '<h1>Profile</h1>');
  const ru = await client.get('/admin/profile');
  t.match(ru.body, '<h1>Профиль</h1>');
  const asked = await client.get('/admin/profile?lang=en');
  t.match(asked.body, '<h1>Profile</h1>');
  const kept = await client.get('/admin/profile');
  t.match(kept.body, '<h1>Profile</h1>', 'the choice is kept in a cookie');
  const login = await new PanelClient(app).get('/admin/login?lang=en');
  t.match(login.body, '<h1>Sign in to the control panel</h1>');
});

t.test('unknown panel pages are an HTML 404 in the layout', async (t) => {
  const { app, svc } = await panelEnv(t);
  const { client } = await signedIn(app, svc, null);
  const res = await client.get('/admin/nothing-here');
  t.equal(res.statusCode, 404);
  t.equal(res.headers['content-type'], 'text/html; charset=utf-8');
  t.match(res.body, '<h1>Не найдено</h1>');
});
