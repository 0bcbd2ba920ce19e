import t, { type Test } from 'tap';
import { buildApp } from '../../src/http/app.js';
import { makeSite, makeToken, makeUser } from '../helpers/factories.js';
import { testEnv } from '../helpers/services.js';

// A real 1x1 PNG, and the first bytes of a JPEG and a WebP file.
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63f8cfc0f01f0005000201e2b5e3a80000000049454e44ae426082', 'hex');
const JPEG = Buffer.concat([Buffer.from('ffd8ffe000104a46494600', 'hex'), Buffer.alloc(64, 1)]);
const WEBP = Buffer.concat([Buffer.from('RIFF'), Buffer.from([40, 0, 0, 0]), Buffer.from('WEBPVP8 '), Buffer.alloc(32, 2)]);
const SVG = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');

async function setup(t: Test) {
  const env = await testEnv(t);
  const app = await buildApp(env.svc);
  t.teardown(() => app.close());
  const { contract, network } = await makeSite(env.svc);
  const operator = await makeUser(env.svc, contract.id);
  const put = (body: Buffer, type = 'image/png', auth = operator.auth) =>
    app.inject({ method: 'PUT', url: `/api/v1/networks/${network.id}/logo`, headers: { ...auth, 'content-type': type }, payload: body });
  const patch = (body: Record<string, unknown>) =>
    app.inject({ method: 'PATCH', url: `/api/v1/networks/${network.id}`, headers: operator.auth, payload: body });
  return { ...env, app, contract, network, operator, put, patch };
}

const ctxOf = (html: string) => /name="ctx" value="([^"]+)"/.exec(html)?.[1] ?? '';

t.test('a logo is uploaded, typed by its bytes, size-limited, and served with its type, nosniff and caching', async (t) => {
  const { app, svc, contract, network, put } = await setup(t);
  const res = await put(PNG, 'application/octet-stream');
  t.equal(res.statusCode, 200, res.body);
  const logoUrl: string = res.json().logoUrl;
  t.match(logoUrl, new RegExp(`/portal/${network.id}/logo\\?v=[0-9a-f]{16}$`));
  const path = new URL(logoUrl).pathname + new URL(logoUrl).search;
  const got = await app.inject({ method: 'GET', url: path });
  t.equal(got.statusCode, 200);
  t.equal(got.headers['content-type'], 'image/png', 'the sniffed type, not the one sent');
  t.equal(got.headers['x-content-type-options'], 'nosniff');
  t.match(got.headers['cache-control'], /max-age=86400/);
  t.ok(got.rawPayload.equals(PNG), 'the same bytes back');
  const again = await app.inject({ method: 'GET', url: `/portal/${network.id}/logo`, headers: { 'if-none-match': String(got.headers.etag) } });
  t.equal(again.statusCode, 304);
  t.match(again.headers['cache-control'], /max-age=300/, 'without the version a short time only');

  // The page shows it.
  const page = await app.inject({ method: 'GET', url: `/portal/${network.id}?mac=aa:bb:cc:dd:ee:01` });
  t.match(page.body, `<img class="logo" src="${path.replace('=', '&#x3D;')}"`);

  // JPEG and WebP are accepted whatever type they are sent as; a new upload is a new version.
  const jpeg = await put(JPEG, 'image/gif');
  t.equal(jpeg.statusCode, 200);
  t.not(jpeg.json().logoUrl, logoUrl);
  t.equal((await app.inject({ method: 'GET', url: `/portal/${network.id}/logo` })).headers['content-type'], 'image/jpeg');
  t.equal((await put(WEBP, 'image/webp')).statusCode, 200);
  t.equal((await app.inject({ method: 'GET', url: `/portal/${network.id}/logo` })).headers['content-type'], 'image/webp');

  // Refused: SVG (scripts), other bytes, empty, too large (nothing stored changes).
  const svg = await put(SVG, 'image/svg+xml');
  t.equal(svg.statusCode, 415);
  t.equal(svg.json().error.code, 'LOGO_TYPE');
  t.equal((await put(Buffer.from('GIF89a' + 'x'.repeat(40)), 'image/gif')).statusCode, 415);
  t.equal((await put(Buffer.alloc(0))).statusCode, 400);
  const big = await put(Buffer.concat([PNG, Buffer.alloc(256 * 1024)]));
  t.equal(big.statusCode, 413);
  t.equal((await app.inject({ method: 'GET', url: `/portal/${network.id}/logo` })).headers['content-type'], 'image/webp', 'the last good logo stays');
  const row = await svc.db.query<{ n: number }>(`select octet_length(body)::int as n from network_logos where network_id = $1`, [network.id]);
  t.equal(row.rows[0].n, WEBP.length, 'kept in PostgreSQL');

  // Another contract's operator cannot touch it; without a token neither.
  const stranger = await makeUser(svc, (await makeSite(svc)).contract.id);
  t.equal((await put(PNG, 'image/png', stranger.auth)).statusCode, 404);
  t.equal((await app.inject({ method: 'PUT', url: `/api/v1/networks/${network.id}/logo`, headers: { 'content-type': 'image/png' }, payload: PNG })).statusCode, 401);

  // Deleted: the page has no logo and the address is 404.
  const del = await app.inject({ method: 'DELETE', url: `/api/v1/networks/${network.id}/logo`, headers: (await makeUser(svc, contract.id)).auth });
  t.equal(del.statusCode, 204);
  t.equal((await app.inject({ method: 'GET', url: `/portal/${network.id}/logo` })).statusCode, 404);
  t.notMatch((await app.inject({ method: 'GET', url: `/portal/${network.id}?mac=aa:bb:cc:dd:ee:01` })).body, 'class="logo"');
});

t.test('the accent colour is #rrggbb only and reaches the page through a stylesheet, not inline style', async (t) => {
  const { app, network, patch } = await setup(t);
  for (const bad of ['red', '#fff', '#12345g', '#1234567', 'url(x)', '#123456;}body{x:y', ' #123456', 'rgb(1,2,3)']) {
    const res = await patch({ accentColor: bad });
    t.equal(res.statusCode, 400, `refused: ${bad}`);
    t.equal(res.json().error.code, 'INVALID_SETTINGS');
  }
  const ok = await patch({ accentColor: '#AA3311', displayName: 'Кафе «Ромашка»', supportContact: '+7 900 000-00-00, <b>help</b>@example.ru' });
  t.equal(ok.statusCode, 200, ok.body);
  const page = await app.inject({ method: 'GET', url: `/portal/${network.id}?mac=aa:bb:cc:dd:ee:01&lang=ru` });
  t.match(page.body, `<link rel="stylesheet" href="/portal/${network.id}/theme.css?c&#x3D;aa3311">`);
  t.notMatch(page.body, /style=/, 'no inline style (the CSP forbids it)');
  t.match(page.headers['content-security-policy'], /style-src 'self';/);
  t.match(page.body, '<p class="network">Кафе «Ромашка»</p>');
  t.match(page.body, 'Поддержка: +7 900 000-00-00, &lt;b&gt;help&lt;/b&gt;@example.ru', 'the contact is escaped');
  const css = await app.inject({ method: 'GET', url: `/portal/${network.id}/theme.css?c=000000` });
  t.equal(css.statusCode, 200);
  t.equal(css.headers['content-type'], 'text/css; charset=utf-8');
  t.equal(css.body, ':root { --accent: #aa3311; }\n', 'the saved colour, whatever the query says');
});

t.test('terms of use must be accepted before the code is checked; the accepted version is logged', async (t) => {
  const { app, svc, contract, network, patch } = await setup(t);
  const set = await patch({ termsRu: 'Не нарушайте закон.\nНе шумите.', termsEn: 'Obey the law.\nKeep quiet.' });
  t.equal(set.statusCode, 200, set.body);
  const tok = await makeToken(svc, contract.id, { durationDays: 1 });
  const open = async (lang: string) => app.inject({ method: 'GET', url: `/portal/${network.id}?mac=aa:bb:cc:dd:ee:07&lang=${lang}` });
  const en = await open('en');
  t.match(en.body, 'Terms of use');
  t.match(en.body, 'Obey the law.\nKeep quiet.');
  const version = /name="terms" value="([0-9a-f]{16})" required/.exec(en.body)?.[1];
  t.ok(version, 'a required checkbox carrying the version');
  const ru = await open('ru');
  t.match(ru.body, 'Не нарушайте закон.');
  t.match(ru.body, 'Я прочитал(а) правила пользования и принимаю их');
  const post = (fields: Record<string, string>, lang = 'ru') =>
    app.inject({
      method: 'POST',
      url: `/portal/${network.id}/activate?lang=${lang}`,
      payload: new URLSearchParams({ token: tok.code, ctx: ctxOf(ru.body), ...fields }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  const unticked = await post({});
  t.equal(unticked.statusCode, 400);
  t.equal(unticked.headers['x-refusal'], 'TERMS_REQUIRED');
  t.match(unticked.body, 'Чтобы подключиться, примите правила пользования');
  t.match((await post({}, 'en')).body, 'To connect, accept the terms of use');
  const stale = await post({ terms: '0123456789abcdef' });
  t.equal(stale.statusCode, 400);
  t.equal(stale.headers['x-refusal'], 'TERMS_CHANGED');
  t.equal((await svc.db.query(`select 1 from tokens where id = $1 and status = 'unused'`, [tok.id])).rows.length, 1, 'the code was not checked');
  const yes = await post({ terms: version! });
  t.equal(yes.statusCode, 200, yes.body);
  const logged = await svc.db.query<{ terms_version: string }>(`select terms_version from identifications where token_id = $1`, [tok.id]);
  t.same(logged.rows, [{ terms_version: version }]);

  // Changing the text changes the version; a network without terms logs none.
  const changed = await patch({ termsEn: 'Obey the law.' });
  t.not(/name="terms" value="([0-9a-f]{16})"/.exec((await open('en')).body)?.[1], version);
  t.equal(changed.statusCode, 200);
  await patch({ termsRu: null, termsEn: null });
  t.notMatch((await open('ru')).body, 'name="terms"');
  const other = await makeToken(svc, contract.id, { durationDays: 1 });
  const page = await app.inject({ method: 'GET', url: `/portal/${network.id}?mac=aa:bb:cc:dd:ee:08` });
  const plain = await app.inject({
    method: 'POST',
    url: `/portal/${network.id}/activate`,
    payload: new URLSearchParams({ token: other.code, ctx: ctxOf(page.body) }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  t.equal(plain.statusCode, 200);
  const none = await svc.db.query(`select terms_version from identifications where token_id = $1`, [other.id]);
  t.same(none.rows, [{ terms_version: null }]);
});
