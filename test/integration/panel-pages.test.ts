import { spawnSync } from 'node:child_process';
// Dates on pages are server-local: pin the zone so the expected strings are exact.
process.env.TZ = 'Europe/Moscow';
import t from 'tap';
import { activateToken } from '../../src/domain/activation.js';
import { annulToken } from '../../src/domain/tokens.js';
import { groupCode } from '../../src/domain/code.js';
import { findUserByLogin } from '../../src/domain/users.js';
import { mac, makeContract, makeNetwork, makeSite, makeToken, operatorOf } from '../helpers/factories.js';
import { makePanelUser, PanelClient, panelEnv, signedIn, textOf } from '../helpers/panel.js';
import { DAY } from '../helpers/services.js';

t.test('the sessions page lists live identifications of the contract only', async (t) => {
  const { app, svc, clock } = await panelEnv(t);
  const { contract, network } = await makeSite(svc);
  const other = await makeSite(svc);
  const timed = await makeToken(svc, contract.id, { durationDays: 2 });
  const forever = await makeToken(svc, contract.id, { durationDays: null, multiUse: true });
  const ended = await makeToken(svc, contract.id);
  const foreign = await makeToken(svc, other.contract.id);
  await activateToken(svc, { networkId: network.id, mac: mac(11), code: timed.code, now: clock.now() });
  clock.advance(60_000);
  await activateToken(svc, { networkId: network.id, mac: mac(12), code: forever.code, now: clock.now() });
  await activateToken(svc, { networkId: network.id, mac: mac(13), code: ended.code, now: clock.now() });
  await annulToken(svc, operatorOf(contract.id), { tokenId: ended.id, now: clock.now() });
  await activateToken(svc, { networkId: other.network.id, mac: mac(14), code: foreign.code, now: clock.now() });
  const { client } = await signedIn(app, svc, contract.id);
  const res = await client.get('/admin/sessions');
  t.equal(res.statusCode, 200);
  const macs = [...res.body.matchAll(/<td data-label="MAC-адрес" class="mono">([^<]+)<\/td>/g)].map((m) => m[1]);
  t.same(macs, [mac(12), mac(11)], 'newest first; ended and foreign ones are not shown');
  t.match(res.body, `<td data-label="Токен" class="code">${groupCode(timed.code)}</td><td data-label="Начало">23.11.2026 13:00:00</td><td data-label="Истекает">25.11.2026 13:00:00</td>`);
  t.match(res.body, `<td data-label="Сеть">${network.name}</td>`);
  t.match(res.body, '<td data-label="Истекает">Бессрочный</td>');
  clock.advance(2 * DAY);
  const later = await (await signedIn(app, svc, contract.id)).client.get('/admin/sessions');
  t.same([...later.body.matchAll(/class="mono">([^<]+)</g)].map((m) => m[1]), [mac(12)], 'an expired one leaves at its expiry, swept or not');
});

t.test('the identification log shows a date range and refuses bad dates with a message', async (t) => {
  const { app, svc, clock } = await panelEnv(t);
  const { contract, network } = await makeSite(svc);
  const old = await makeToken(svc, contract.id);
  const recent = await makeToken(svc, contract.id);
  clock.set('2026-11-01T09:00:00Z');
  await activateToken(svc, { networkId: network.id, mac: mac(21), code: old.code, now: clock.now() });
  await annulToken(svc, operatorOf(contract.id), { tokenId: old.id, now: new Date('2026-11-01T10:30:00Z') });
  clock.set('2026-11-23T10:00:00Z');
  await activateToken(svc, { networkId: network.id, mac: mac(22), code: recent.code, now: clock.now() });
  const { client } = await signedIn(app, svc, contract.id);
  const macsOf = (html: string) => [...html.matchAll(/class="mono">([^<]+)</g)].map((m) => m[1]);

  const week = await client.get('/admin/log');
  t.equal(week.statusCode, 200);
  t.match(week.body, 'name="from" type="date" value="2026-11-17"');
  t.match(week.body, 'name="to" type="date" value="2026-11-23"');
  t.same(macsOf(week.body), [mac(22)]);
  t.match(week.body, '<td data-label="Окончание">идёт</td>');

  const month = await client.get('/admin/log?from=2026-11-01&to=2026-11-30');
  t.same(macsOf(month.body), [mac(22), mac(21)]);
  t.match(month.body, '<td data-label="Начало">01.11.2026 12:00:00</td>\n    <td data-label="Окончание">01.11.2026 13:30:00</td>');
  t.match(month.body, '<td data-label="Способ">токен</td>\n    <td data-label="Причина окончания">аннулирован оператором</td>');
  t.same(macsOf((await client.get('/admin/log?from=2026-11-01&to=2026-11-01')).body), [mac(21)]);

  const cases: Array<[string, string]> = [
    ['?from=2026-13-01&to=2026-11-30', 'Даты нужны в виде ГГГГ-ММ-ДД. Показаны последние 7 дней.'],
    ['?from=2026-02-30&to=2026-03-01', 'Даты нужны в виде ГГГГ-ММ-ДД. Показаны последние 7 дней.'],
    ['?from=yesterday&to=2026-11-30', 'Даты нужны в виде ГГГГ-ММ-ДД. Показаны последние 7 дней.'],
    ['?from=2026-11-30&to=2026-11-01', 'Дата «С» позже даты «По». Показаны последние 7 дней.'],
    ['?from=2024-01-01&to=2026-11-30', 'Период — не больше 366 дней. Показаны последние 7 дней.'],
  ];
  for (const [qs, message] of cases) {
    const res = await client.get(`/admin/log${qs}`);
    t.equal(res.statusCode, 400, qs);
    t.equal(textOf(res.body, 'error'), message, qs);
    t.same(macsOf(res.body), [mac(22)], qs);
  }
});

t.test("the log page's days download as a CSV file a spreadsheet opens as UTF-8; Python's csv module reads it", async (t) => {
  const { app, svc, clock } = await panelEnv(t);
  const { contract, network } = await makeSite(svc);
  const tok = await makeToken(svc, contract.id);
  await svc.db.query(`update tokens set issued_to = 'Иванов, паспорт 4510 123456' where id = $1::uuid`, [tok.id]);
  clock.set('2026-11-23T10:00:00Z');
  await activateToken(svc, { networkId: network.id, mac: mac(31), code: tok.code, now: clock.now() });
  const { client } = await signedIn(app, svc, contract.id);

  const page = await client.get('/admin/log');
  const href = /href="(\/admin\/log\.csv\?[^"]+)" download>Скачать CSV</.exec(page.body)?.[1].replace(/&amp;/g, '&').replace(/&#x3D;/g, '=');
  t.equal(href, `/admin/log.csv?contract=${contract.id}&from=2026-11-17&to=2026-11-23`, 'the link carries the days shown');
  const res = await client.get(href!);
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-type'], 'text/csv; charset=utf-8');
  t.equal(res.headers['content-disposition'], 'attachment; filename="identifications-2026-11-17-2026-11-23.csv"');
  t.same([...res.rawPayload.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'starts with the UTF-8 byte order mark (Excel)');
  const run = spawnSync('python3', ['-c', "import csv, io, json, sys; print(json.dumps(list(csv.reader(io.TextIOWrapper(sys.stdin.buffer, encoding='utf-8-sig', newline=''), strict=True))))"], { input: res.rawPayload });
  t.equal(run.status, 0, String(run.stderr));
  const rows = JSON.parse(String(run.stdout)) as string[][];
  t.equal(rows.length, 2);
  t.same([rows[0][0], rows[0][6]], ['id', 'issuedTo']);
  t.same([rows[1][3], rows[1][5], rows[1][6]], [mac(31), groupCode(tok.code), 'Иванов, паспорт 4510 123456']);

  t.equal((await client.get('/admin/log.csv?from=2026-11-30&to=2026-11-01')).statusCode, 400, 'a bad period');
  const other = await makeContract(svc);
  t.equal((await client.get(`/admin/log.csv?contract=${other.id}`)).statusCode, 404, "another contract's log");
  const issuer = await makePanelUser(svc, contract.id, { role: 'issuer' });
  const desk = new PanelClient(app);
  await desk.login(issuer.login);
  t.equal((await desk.get(`/admin/log.csv?contract=${contract.id}`)).statusCode, 404, 'not for an issuer');
});

t.test('networks are listed with their portal URL and setup notes, and created from the form', async (t) => {
  const { app, svc } = await panelEnv(t);
  const contract = await makeContract(svc);
  const existing = await makeNetwork(svc, contract.id, 'mikrotik', { radiusHost: '10.0.0.1', radiusSecret: 's3cret-value' });
  const { client } = await signedIn(app, svc, contract.id);
  const page = await client.get('/admin/networks', { host: 'wifi.example.net' });
  t.equal(page.statusCode, 200);
  t.match(page.body, `<input class="url" type="text" readonly value="http://wifi.example.net/portal/${existing.id}"`);
  t.match(page.body, '<li><code>radiusHost</code> = 10.0.0.1</li>');
  t.match(page.body, '<li><code>radiusSecret</code> = ••••••</li>');
  t.notMatch(page.body, 's3cret-value', 'secrets are never shown');
  t.match(page.body, 'IP → Hotspot → Server Profiles');
  t.match(page.body, 'в Walled Garden');

  const made = await client.post('/admin/networks', {
    contract: contract.id,
    name: '  Зал  ',
    controller: 'coova',
    settings: 'uamSecret=abc\r\n# comment\r\nradiusHost=192.0.2.1\r\nradiusSecret=s3cret\r\nradiusPort=3799\r\n',
  });
  t.equal(made.statusCode, 303);
  t.equal(made.headers.location, '/admin/networks?done=created');
  const { rows } = await svc.db.query<{ name: string; controller: string; settings: unknown }>(
    `select name, controller, settings from networks where contract_id = $1 and controller = 'coova'`,
    [contract.id],
  );
  // An operator saves: a public NAS address (a private one waits for a system administrator).
  t.same(rows, [{ name: 'Зал', controller: 'coova', settings: { uamSecret: 'abc', radiusHost: '192.0.2.1', radiusSecret: 's3cret', radiusPort: 3799 } }]);
  const after = await client.get('/admin/networks?done=created');
  t.match(after.body, 'Сеть создана.');
  t.match(after.body, '<h2>Зал</h2>');
});

t.test('bad network input shows the form again with the reason and creates nothing', async (t) => {
  const { app, svc } = await panelEnv(t);
  const contract = await makeContract(svc);
  const { client } = await signedIn(app, svc, contract.id);
  const cases: Array<[Record<string, string>, string]> = [
    [{ name: '   ', controller: 'generic' }, 'Название сети — от 1 до 200 символов.'],
    [{ name: 'x'.repeat(201), controller: 'generic' }, 'Название сети — от 1 до 200 символов.'],
    [{ name: 'Зал', controller: 'cisco' }, 'Выберите тип контроллера из списка.'],
    [{ name: 'Зал', controller: 'generic', settings: 'no equals sign' }, 'Строка «no equals sign» не похожа на имя=значение (имя — латинские буквы, цифры и _, начинается с буквы).'],
    [{ name: 'Зал', controller: 'generic', settings: '1abc=x' }, 'Строка «1abc=x» не похожа на имя=значение (имя — латинские буквы, цифры и _, начинается с буквы).'],
    [{ name: 'Зал', controller: 'generic', settings: 'controller=unifi' }, 'Строка «controller=unifi» не похожа на имя=значение (имя — латинские буквы, цифры и _, начинается с буквы).'],
    [{ name: 'Зал', controller: 'generic', settings: 'a=1\nb=2\na=3' }, 'Настройка a указана дважды.'],
    [{ name: 'Зал', controller: 'generic', settings: `a=${'x'.repeat(2001)}` }, 'Значение настройки a длиннее 2000 символов.'],
    [{ name: 'Зал', controller: 'unifi', settings: 'site=default' }, 'Settings for the unifi controller: missing: unifiUrl, username, password'],
    [{ name: 'Зал', controller: 'coova', settings: 'flag=true' }, 'Settings for the coova controller: unknown: flag'],
  ];
  for (const [form, message] of cases) {
    const res = await client.post('/admin/networks', { contract: contract.id, settings: '', ...form });
    t.equal(res.statusCode, 400, message);
    t.equal(textOf(res.body, 'error'), message);
  }
  const kept = await client.post('/admin/networks', { contract: contract.id, name: 'Мой зал', controller: 'opennds', settings: 'bad line' });
  t.match(kept.body, 'id="net-name" name="name" type="text" value="Мой зал"');
  t.match(kept.body, '<option value="opennds" selected>openNDS</option>');
  t.match(kept.body, '>bad line</textarea>');
  const count = await svc.db.query<{ n: number }>(`select count(*)::int as n from networks`);
  t.equal(count.rows[0].n, 0);
});

t.test('the users page: an operator works in their own contract only; a system administrator creates anyone', async (t) => {
  const { app, svc } = await panelEnv(t);
  const contract = await makeContract(svc, 'Кафе «Ромашка»');
  const op = await signedIn(app, svc, contract.id);
  t.match((await op.client.get('/admin/tokens')).body, 'href="/admin/users"', 'a Users link for an operator (their own contract)');
  const own = await op.client.get('/admin/users');
  t.equal(own.statusCode, 200);
  t.notMatch(own.body, '<option value="system"', 'no system administrator role to pick');
  const post = await op.client.post('/admin/users', { login: 'sneaky', password: 'long enough pw', role: 'system' });
  t.equal(post.statusCode, 400);
  t.equal(await findUserByLogin(svc, 'sneaky'), null);
  const elsewhere = await makeContract(svc);
  t.equal((await op.client.post('/admin/users', { login: 'sneaky', password: 'long enough pw', role: elsewhere.id })).statusCode, 400);
  t.equal(await findUserByLogin(svc, 'sneaky'), null);

  const { client } = await signedIn(app, svc, null);
  const page = await client.get('/admin/users');
  t.equal(page.statusCode, 200);
  t.match(page.body, `<td data-label="Логин">${op.user.login}</td><td data-label="Роль">Оператор договора «Кафе «Ромашка»»</td>`);
  const made = await client.post('/admin/users', { login: 'kassa.1', password: 'пароль-кассы', role: contract.id });
  t.equal(made.statusCode, 303);
  t.equal(made.headers.location, '/admin/users?done=created');
  t.match(await findUserByLogin(svc, 'kassa.1'), { contractId: contract.id, isSystem: false, tokenLoginAllowed: false });
  const sys = await client.post('/admin/users', { login: 'root2', password: 'another password', role: 'system', tokenLoginAllowed: 'on' });
  t.equal(sys.statusCode, 303);
  t.match(await findUserByLogin(svc, 'root2'), { contractId: null, isSystem: true, tokenLoginAllowed: true });
  const newcomer = await new PanelClient(app).login('kassa.1', 'пароль-кассы');
  t.equal(newcomer.statusCode, 303, 'the new user can sign in');
});

t.test('bad user input is refused with the reason and creates nobody', async (t) => {
  const { app, svc } = await panelEnv(t);
  const contract = await makeContract(svc);
  const { client, user } = await signedIn(app, svc, null);
  const cases: Array<[Record<string, string>, number, string]> = [
    [{ login: 'ab', password: 'long enough', role: 'system' }, 400, 'Логин — от 3 до 64 символов: латинские буквы, цифры и . _ @ -'],
    [{ login: 'иван', password: 'long enough', role: 'system' }, 400, 'Логин — от 3 до 64 символов: латинские буквы, цифры и . _ @ -'],
    [{ login: 'ivan', password: 'short', role: 'system' }, 400, 'Пароль — от 8 до 200 символов.'],
    [{ login: 'ivan', password: 'long enough', role: 'boss' }, 400, 'Выберите роль из списка.'],
    [{ login: 'ivan', password: 'long enough', role: '00000000-0000-4000-8000-000000000000' }, 400, 'Выберите роль из списка.'],
    [{ login: user.login, password: 'long enough', role: contract.id }, 409, `Логин «${user.login}» уже занят.`],
  ];
  for (const [form, status, message] of cases) {
    const res = await client.post('/admin/users', form);
    t.equal(res.statusCode, status, message);
    t.equal(textOf(res.body, 'error'), message);
  }
  const count = await svc.db.query<{ n: number }>(`select count(*)::int as n from users`);
  t.equal(count.rows[0].n, 1);
});

t.test('the profile shows the user and links «Управление токенами» only when token login is allowed', async (t) => {
  const { app, svc } = await panelEnv(t);
  const contract = await makeContract(svc, 'Кафе');
  const allowed = await signedIn(app, svc, contract.id, { tokenLoginAllowed: true });
  const page = await allowed.client.get('/admin/profile');
  t.equal(page.statusCode, 200);
  t.match(page.body, '<dt>Роль</dt><dd>Оператор договора «Кафе»</dd>');
  t.match(page.body, '<dt>Создан</dt><dd>23.11.2026 13:00:00</dd>');
  t.match(page.body, '<a href="/admin/profile/tokens" id="token-management">Управление токенами</a>');
  const barred = await signedIn(app, svc, contract.id, { tokenLoginAllowed: false });
  const barredPage = await barred.client.get('/admin/profile');
  t.notMatch(barredPage.body, 'Управление токенами');
  t.equal((await barred.client.get('/admin/profile/tokens')).statusCode, 404);
  t.equal((await barred.client.get('/admin/profile/tokens/new')).statusCode, 404);
  t.equal((await barred.client.post('/admin/profile/tokens', { label: 'x' })).statusCode, 404);
  const count = await svc.db.query<{ n: number }>(`select count(*)::int as n from api_tokens`);
  t.equal(count.rows[0].n, 0);
});
