// Dates on pages are server-local: pin the zone so the expected strings are exact.
process.env.TZ = 'Europe/Moscow';
import t from 'tap';
import { createApiToken } from '../../src/domain/apiTokens.js';
import { makeContract } from '../helpers/factories.js';
import { panelEnv, signedIn, textOf } from '../helpers/panel.js';

const RULE = 'Название не должно содержать более 20 символов и не должно совпадать с названиями ранее созданных меток или быть пустым.';
const labelsOf = (html: string) => [...html.matchAll(/class="label">([^<]*)</g)].map((m) => m[1]);
const revealed = (html: string) => /id="new-token" class="secret" type="password" readonly value="(klt_[0-9A-Za-z]{36})"/.exec(html)?.[1] ?? null;

t.test('the token management page has the product wording, "never used" and last access', async (t) => {
  const { app, svc } = await panelEnv(t);
  const { user, client } = await signedIn(app, svc, (await makeContract(svc)).id);
  const used = await createApiToken(svc, { userId: user.id, label: 'Telegram', now: new Date('2023-06-19T13:40:19Z') });
  await createApiToken(svc, { userId: user.id, label: 'token1', now: new Date('2023-05-21T14:37:50Z') });
  await svc.db.query(`update api_tokens set last_used_at = $2 where id = $1`, [used.id, new Date('2023-06-20T14:32:41Z')]);
  const res = await client.get('/admin/profile/tokens');
  t.equal(res.statusCode, 200);
  t.equal(res.headers['cache-control'], 'no-store');
  t.match(res.body, '<h1>Токены</h1>');
  t.match(res.body, '<a class="button" id="create-token" href="/admin/profile/tokens/new" data-open-dialog="create-dialog">Создать токен</a>');
  t.match(res.body, '<a href="/admin/profile">Вернуться в профиль</a>');
  t.match(res.body, 'Токены необходимо хранить так же надежно, как и любые другие пароли.');
  t.match(res.body, '<th scope="col">Метка</th><th scope="col">Последний доступ</th><th scope="col">Создан</th><th scope="col">Действие</th>');
  t.same(labelsOf(res.body), ['token1', 'Telegram'], 'oldest first');
  t.match(res.body, '<td data-label="Последний доступ" class="last-used">20.06.2023 17:32:41</td>\n    <td data-label="Создан" class="created">19.06.2023 16:40:19</td>');
  t.match(res.body, '<td data-label="Последний доступ" class="last-used never">Доступ не выполнялся</td>\n    <td data-label="Создан" class="created">21.05.2023 17:37:50</td>');
  t.match(res.body, `<a class="small button danger" href="/admin/profile/tokens/${used.id}/revoke">Отозвать</a>`);
  t.match(res.body, '<h2 id="create-title">Новый токен</h2>');
  t.match(res.body, '<label for="label">Выберите название для метки.</label>');
  t.match(res.body, '<button type="submit" id="save-token">Сохранить</button>');
  t.match(res.body, '<button type="submit" formmethod="dialog" formnovalidate class="link" id="cancel-token">отмена</button>');
  t.equal(textOf(res.body, 'label-rule'), RULE);
  t.match(res.body, '<dialog id="create-dialog" aria-labelledby="create-title">', 'the dialog starts closed');
  const en = await client.get('/admin/profile/tokens?lang=en');
  t.match(en.body, '<td data-label="Last access" class="last-used never">never used</td>');
  t.match(en.body, '>Create token</a>');
});

t.test('a new token is shown once, masked, and works against the API; a reload does not show it', async (t) => {
  const { app, svc } = await panelEnv(t);
  const { user, client } = await signedIn(app, svc, (await makeContract(svc)).id);
  const res = await client.post('/admin/profile/tokens', { label: ' Telegram ' });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/admin/profile/tokens');
  const stash = await svc.db.query<{ reveal: string }>(`select reveal from panel_sessions where user_id = $1`, [user.id]);
  t.match(stash.rows[0].reveal, /^[A-Za-z0-9_-]+$/, 'waiting, encrypted');

  const shown = await client.get('/admin/profile/tokens');
  t.equal(shown.headers['cache-control'], 'no-store');
  const token = revealed(shown.body);
  t.ok(token, 'the token is in a password (masked) field');
  t.notMatch(stash.rows[0].reveal, token!, 'never stored in clear');
  t.match(shown.body, '<dialog id="reveal-dialog" open data-modal data-secret aria-labelledby="reveal-title">');
  t.match(shown.body, '<p>Не забудьте скопировать новый токен. Вы не сможете скопировать его позже.</p>');
  t.match(shown.body, '<button type="button" id="copy-token" data-copy="new-token" hidden>Копировать</button>');
  t.match(shown.body, '<button type="submit" class="link" id="close-token">Закрыть</button>');
  t.same(labelsOf(shown.body), ['Telegram'], 'trimmed');

  const api = await app.inject({ method: 'GET', url: '/api/v1/contracts', headers: { authorization: `Bearer ${token}` } });
  t.equal(api.statusCode, 200);

  const reload = await client.get('/admin/profile/tokens');
  t.equal(revealed(reload.body), null);
  t.notMatch(reload.body, token!);
  t.notMatch(reload.body, 'reveal-dialog');
  const cleared = await svc.db.query(`select reveal from panel_sessions where user_id = $1`, [user.id]);
  t.same(cleared.rows, [{ reveal: null }]);
});

t.test('label rules: empty, over 20 code points and duplicates are refused in the dialog with the rule', async (t) => {
  const { app, svc } = await panelEnv(t);
  const { user, client } = await signedIn(app, svc, (await makeContract(svc)).id);
  await client.post('/admin/profile/tokens', { label: 'Telegram' });
  await client.get('/admin/profile/tokens');
  const cases: Array<[string, number, string]> = [
    ['', 422, 'Название метки пустое.'],
    ['    ', 422, 'Название метки пустое.'],
    ['x'.repeat(21), 422, 'Название метки длиннее 20 символов.'],
    ['😀'.repeat(21), 422, 'Название метки длиннее 20 символов.'],
    ['Telegram', 409, 'Метка «Telegram» уже есть.'],
    ['  Telegram  ', 409, 'Метка «Telegram» уже есть.'],
  ];
  for (const [label, status, message] of cases) {
    const res = await client.post('/admin/profile/tokens', { label });
    t.equal(res.statusCode, status, JSON.stringify(label));
    t.equal(textOf(res.body, 'label-error'), message, JSON.stringify(label));
    t.match(res.body, '<dialog id="create-dialog" aria-labelledby="create-title" open data-modal>', 'the dialog is open again');
    t.match(res.body, `<p class="hint rule-error" id="label-rule">${RULE}</p>`);
    t.equal(revealed(res.body), null);
  }
  const kept = await client.post('/admin/profile/tokens', { label: 'x'.repeat(21) });
  t.match(kept.body, `name="label" type="text" value="${'x'.repeat(21)}"`, 'what was typed stays');
  const count = async () => (await svc.db.query<{ n: number }>(`select count(*)::int as n from api_tokens where user_id = $1`, [user.id])).rows[0].n;
  t.equal(await count(), 1, 'nothing was made');

  t.equal((await client.post('/admin/profile/tokens', { label: 'x'.repeat(20) })).statusCode, 303, '20 characters fit');
  t.equal((await client.post('/admin/profile/tokens', { label: '😀'.repeat(20) })).statusCode, 303, '20 emoji are 20 characters');
  t.equal((await client.post('/admin/profile/tokens', { label: 'telegram' })).statusCode, 303, 'labels differ by case');
  t.equal(await count(), 4);
  for (const label of ['\u200B', '\u202Egnp.exe']) {
    const res = await client.post('/admin/profile/tokens', { label });
    t.equal(res.statusCode, 422, `label U+${label.codePointAt(0)!.toString(16)}…`);
    t.match(textOf(res.body, 'label-error'), /^В метке есть невидимый или управляющий символ/);
  }
  const family = '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}';
  t.equal((await client.post('/admin/profile/tokens', { label: family.repeat(3) })).statusCode, 303, 'three family emoji fit');
  t.equal(await count(), 5);
});

t.test('without JavaScript the dialog is a page of its own, with the same rules', async (t) => {
  const { app, svc } = await panelEnv(t);
  const { client } = await signedIn(app, svc, (await makeContract(svc)).id);
  const page = await client.get('/admin/profile/tokens/new');
  t.equal(page.statusCode, 200);
  t.match(page.body, '<h1>Новый токен</h1>');
  t.match(page.body, '<input type="hidden" name="from" value="page">');
  t.match(page.body, '<a class="button secondary" href="/admin/profile/tokens">отмена</a>');
  const bad = await client.post('/admin/profile/tokens', { label: '', from: 'page' });
  t.equal(bad.statusCode, 422);
  t.match(bad.body, '<h1>Новый токен</h1>');
  t.equal(textOf(bad.body, 'label-error'), 'Название метки пустое.');
  const ok = await client.post('/admin/profile/tokens', { label: 'cron', from: 'page' });
  t.equal(ok.statusCode, 303);
  t.ok(revealed((await client.get('/admin/profile/tokens')).body));
});

t.test('revoke asks first, then the token stops working at once; a revoked label may be used again', async (t) => {
  const { app, svc } = await panelEnv(t);
  const contract = await makeContract(svc);
  const { user, client } = await signedIn(app, svc, contract.id);
  await client.post('/admin/profile/tokens', { label: 'Telegram' });
  const token = revealed((await client.get('/admin/profile/tokens')).body)!;
  const { rows } = await svc.db.query<{ id: string }>(`select id from api_tokens where user_id = $1`, [user.id]);
  const id = rows[0].id;
  const auth = { authorization: `Bearer ${token}` };
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/contracts', headers: auth })).statusCode, 200);

  const confirm = await client.get(`/admin/profile/tokens/${id}/revoke`);
  t.equal(confirm.statusCode, 200);
  t.match(confirm.body, 'Отозвать токен «Telegram»? Программы, которые им пользуются, сразу потеряют доступ.');
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/contracts', headers: auth })).statusCode, 200, 'asking revokes nothing');

  const res = await client.post(`/admin/profile/tokens/${id}/revoke`);
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/admin/profile/tokens?done=revoked');
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/contracts', headers: auth })).statusCode, 401);
  const list = await client.get('/admin/profile/tokens?done=revoked');
  t.match(list.body, 'Токен отозван.');
  t.same(labelsOf(list.body), []);
  t.equal((await client.post(`/admin/profile/tokens/${id}/revoke`)).statusCode, 404, 'twice is a 404');
  t.equal((await client.post('/admin/profile/tokens', { label: 'Telegram' })).statusCode, 303);
});

t.test("another user's personal token is a 404 and stays alive", async (t) => {
  const { app, svc } = await panelEnv(t);
  const contract = await makeContract(svc);
  const owner = await signedIn(app, svc, contract.id);
  const other = await signedIn(app, svc, contract.id);
  const theirs = await createApiToken(svc, { userId: owner.user.id, label: 'mine', now: svc.now() });
  t.equal((await other.client.get(`/admin/profile/tokens/${theirs.id}/revoke`)).statusCode, 404);
  t.equal((await other.client.post(`/admin/profile/tokens/${theirs.id}/revoke`)).statusCode, 404);
  t.equal((await other.client.get('/admin/profile/tokens/not-a-uuid/revoke')).statusCode, 404);
  const api = await app.inject({ method: 'GET', url: '/api/v1/contracts', headers: { authorization: `Bearer ${theirs.token}` } });
  t.equal(api.statusCode, 200);
  t.same(labelsOf((await other.client.get('/admin/profile/tokens')).body), []);
});
