import t from 'tap';
import { appFor } from '../helpers/adminApi.js';
import { dumpTables } from '../helpers/dump.js';
import { makeSite, makeToken, makeUser } from '../helpers/factories.js';
import { PanelClient, signedIn } from '../helpers/panel.js';
import { testEnv } from '../helpers/services.js';

async function fixture(t: Parameters<typeof testEnv>[0]) {
  const env = await testEnv(t);
  const app = await appFor(t, env.svc);
  const site = await makeSite(env.svc);
  const admin = await makeUser(env.svc, null);
  const token = await makeToken(env.svc, site.contract.id);
  await env.svc.db.query(`update networks set settings = '{"nasIdentifier":"lobby-ap"}' where id = $1`, [site.network.id]);
  // The first use of a token writes its last access (off the request path); let it land first.
  await app.inject({ url: '/api/v1/contracts', headers: admin.auth });
  await new Promise((r) => setTimeout(r, 100));
  const json = (method: 'POST' | 'PATCH' | 'PUT', url: string, payload: string | Buffer) =>
    app.inject({ method, url, headers: { ...admin.auth, 'content-type': 'application/json' }, payload });
  return { ...env, ...site, app, admin, token, json, dump: () => dumpTables(env.svc.db) };
}

const NUL = 'a\u0000b';

t.test('a NUL in any JSON text field is 400 INVALID_TEXT, and nothing is written', async (t) => {
  const f = await fixture(t);
  const before = await f.dump();
  const cases: Array<[string, 'POST' | 'PATCH', string, Record<string, unknown>]> = [
    ['API token label', 'POST', '/api/v1/me/tokens', { label: NUL }],
    ['contract name', 'POST', '/api/v1/contracts', { name: NUL }],
    ['network name', 'POST', `/api/v1/contracts/${f.contract.id}/networks`, { name: NUL, controller: 'generic' }],
    ['a generic network setting', 'POST', `/api/v1/contracts/${f.contract.id}/networks`, { name: 'Hall', controller: 'generic', nasIdentifier: NUL }],
    ['issuedTo', 'PATCH', `/api/v1/tokens/${f.token.id}`, { issuedTo: `Ivan\n${NUL}` }],
    ['a user login', 'POST', '/api/v1/users', { login: NUL, password: 'long enough 1', contractId: null }],
    ['a user password', 'POST', '/api/v1/users', { login: 'someone', password: `long enough ${NUL}`, contractId: null }],
    ['RADIUS NAS-Identifier (rlm_rest json)', 'POST', '/api/v1/radius/authorize', { 'NAS-Identifier': { type: 'string', value: [NUL] }, 'Calling-Station-Id': { type: 'string', value: ['AA-BB-CC-DD-EE-01'] } }],
    ['a RADIUS attribute name', 'POST', '/api/v1/radius/accounting', { [`Acct-Status-Type${NUL}`]: 'Start' }],
    ['another C0 control (ESC)', 'POST', '/api/v1/contracts', { name: 'Caf\u001b[31mé' }],
    ['a tab in a single-line field', 'POST', '/api/v1/me/tokens', { label: '  Telegram bot \t' }],
    ['a C1 control', 'POST', '/api/v1/contracts', { name: 'Caf\u0085é' }],
    ['a lone surrogate (JSON escape)', 'POST', '/api/v1/contracts', { name: 'Caf\uD800é' }],
  ];
  for (const [what, method, url, body] of cases) {
    const res = await f.json(method, url, JSON.stringify(body));
    t.equal(res.statusCode, 400, what);
    t.equal(res.json().error.code, 'INVALID_TEXT', what);
    t.match(res.json().error.message, /control character or is not valid UTF-8/, what);
  }
  t.equal(await f.dump(), before, 'no refusal wrote anything');
});

t.test('invalid UTF-8 is refused, never stored as U+FFFD; valid text of any script is kept as sent', async (t) => {
  const f = await fixture(t);
  const before = await f.dump();
  const invalid = [
    Buffer.concat([Buffer.from('{"name":"Caf'), Buffer.from([0xe9]), Buffer.from('"}')]), // Latin-1 é
    Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]), // an encoded surrogate
    Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]), // overlong /
  ];
  for (const payload of invalid) {
    const res = await f.json('POST', '/api/v1/contracts', payload);
    t.equal(res.statusCode, 400, payload.toString('hex'));
    t.equal(res.json().error.code, 'INVALID_TEXT');
  }
  t.equal(await f.dump(), before);
  const name = 'Кафе «Ёлка» 🎄 \uFFFD';
  const made = await f.json('POST', '/api/v1/contracts', Buffer.from(JSON.stringify({ name }), 'utf8'));
  t.equal(made.statusCode, 201);
  t.equal(made.json().name, name, 'a real U+FFFD that was sent is kept');
  const noted = await f.json('PATCH', `/api/v1/tokens/${f.token.id}`, JSON.stringify({ issuedTo: 'Иванов И. И.\r\nпаспорт\t4510 123456' }));
  t.equal(noted.statusCode, 200, 'issuedTo is multi-line: tab and newlines are fine there');
  t.equal(noted.json().issuedTo, 'Иванов И. И.\r\nпаспорт\t4510 123456');
});

t.test('query strings and path parameters follow the same rule', async (t) => {
  const f = await fixture(t);
  for (const url of [
    `/api/v1/contracts/${f.contract.id}/tokens?code=%00`,
    `/api/v1/contracts/${f.contract.id}/tokens?status=%FF`,
    `/api/v1/contracts/${f.contract.id}/tokens?st%00atus=unused`,
    `/api/v1/networks/${f.network.id}/sessions/AA%00BB`,
    `/api/v1/contracts/%00`,
    `/api/v1/contracts/${f.contract.id}/identifications?from=%0a2026`,
  ]) {
    const res = await f.app.inject({ url, headers: f.admin.auth });
    t.equal(res.statusCode, 400, url);
    t.equal(res.json().error.code, 'INVALID_TEXT', url);
  }
  const fine = await f.app.inject({ url: `/api/v1/contracts/${f.contract.id}/tokens?code=1001%202345`, headers: f.admin.auth });
  t.not(fine.statusCode, 500);
});

t.test('a path the router cannot decode or take is still answered in the error shape, invalid UTF-8 as INVALID_TEXT', async (t) => {
  const f = await fixture(t);
  for (const url of [`/api/v1/contracts/%FF`, `/api/v1/networks/${f.network.id}/sessions/AA%C3`, `/portal/%FF`, `/admin/%C0%AF`, '/%FF']) {
    const res = await f.app.inject({ url, headers: f.admin.auth });
    t.equal(res.statusCode, 400, url);
    t.same(res.json(), { error: { code: 'INVALID_TEXT', message: 'the URL path holds a control character or is not valid UTF-8 text', field: 'the URL path' } }, url);
  }
  const stray = await f.app.inject({ url: '/api/v1/contracts/%zz', headers: f.admin.auth });
  t.equal(stray.statusCode, 400, 'a % that escapes nothing');
  t.equal(stray.json().error.code, 'MALFORMED_REQUEST');
  const long = await f.app.inject({ url: `/api/v1/contracts/${'a'.repeat(120)}`, headers: f.admin.auth });
  t.equal(long.statusCode, 414, 'a path parameter longer than the router takes');
  t.equal(long.json().error.code, 'URI_TOO_LONG');
  t.type(long.json().error.message, 'string');
});

t.test('guest portal: a NUL or invalid UTF-8 in the link or the form is the page with a 400', async (t) => {
  const f = await fixture(t);
  const before = await f.dump();
  for (const url of [`/portal/${f.network.id}?mac=aa:bb:cc:dd:ee:01&url=http://x/%00`, `/portal/${f.network.id}?mac=%FF`, `/portal/${f.network.id}%00`]) {
    const res = await f.app.inject(url);
    t.equal(res.statusCode, 400, url);
    t.match(res.headers['content-type'], /^text\/html/);
    t.match(res.body, /characters that cannot be text|символы, которые не могут быть текстом/);
  }
  const page = await f.app.inject(`/portal/${f.network.id}?mac=aa:bb:cc:dd:ee:01`);
  const ctx = /name="ctx" value="([^"]+)"/.exec(page.body)![1];
  for (const payload of [`token=${f.token.code}%00&ctx=${encodeURIComponent(ctx)}`, `token=%C3&ctx=${encodeURIComponent(ctx)}`]) {
    const res = await f.app.inject({ method: 'POST', url: `/portal/${f.network.id}/activate`, payload, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    t.equal(res.statusCode, 400, payload.slice(0, 20));
    t.match(res.headers['content-type'], /^text\/html/);
  }
  const raw = Buffer.concat([Buffer.from(`ctx=${encodeURIComponent(ctx)}&token=`), Buffer.from([0xff, 0xfe])]);
  const res = await f.app.inject({ method: 'POST', url: `/portal/${f.network.id}/activate`, payload: raw, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  t.equal(res.statusCode, 400, 'raw invalid bytes in a form body');
  t.equal(await f.dump(), before, 'nothing activated, nothing counted in the store');
  const ok = await f.app.inject({
    method: 'POST',
    url: `/portal/${f.network.id}/activate`,
    payload: `token=${f.token.code}&ctx=${encodeURIComponent(ctx)}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  t.equal(ok.statusCode, 200, 'the clean form still activates');
});

t.test('panel: the sign-in name, a network, issuedTo; textareas keep their newlines', async (t) => {
  const f = await fixture(t);
  const anonymous = new PanelClient(f.app);
  await anonymous.get('/admin/login');
  const before = await f.dump();
  const login = await anonymous.post('/admin/login', { login: NUL, password: 'whatever 123' });
  t.equal(login.statusCode, 400, 'the sign-in name, with no login');
  t.match(login.headers['content-type'], /^text\/html/);
  t.equal(await f.dump(), before);

  const { client } = await signedIn(f.app, f.svc, f.contract.id);
  await client.get('/admin/networks');
  const steady = await f.dump();
  const refused = [
    await client.post('/admin/networks', { name: NUL, controller: 'generic', settings: '' }),
    await client.post('/admin/networks', { name: 'Hall', controller: 'generic', settings: `nasIdentifier=${NUL}` }),
    await client.post(`/admin/tokens/${f.token.id}/issued-to`, { issuedTo: NUL, back: '/admin/tokens' }),
    await client.post('/admin/profile/tokens', { label: NUL }),
  ];
  for (const res of refused) {
    t.equal(res.statusCode, 400);
    t.match(res.headers['content-type'], /^text\/html/);
  }
  t.equal(await f.dump(), steady, 'nothing written');
  const made = await client.post('/admin/networks', { name: 'Hall', controller: 'generic', settings: 'nasIdentifier=hall-ap\r\nssid=Hall' });
  t.equal(made.statusCode, 303, 'the settings textarea keeps its CR LF lines');
  const issued = await client.post(`/admin/tokens/${f.token.id}/issued-to`, { issuedTo: 'Иванов\r\nпаспорт 4510', back: '/admin/tokens' });
  t.equal(issued.statusCode, 303);
  const row = await f.svc.db.query<{ issued_to: string }>(`select issued_to from tokens where id = $1`, [f.token.id]);
  t.equal(row.rows[0].issued_to, 'Иванов\r\nпаспорт 4510');
});
