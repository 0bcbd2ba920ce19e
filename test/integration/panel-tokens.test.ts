// Dates on pages are server-local: pin the zone so the expected strings are exact.
process.env.TZ = 'Europe/Moscow';
import t from 'tap';
import { activateToken } from '../../src/domain/activation.js';
import { groupCode } from '../../src/domain/code.js';
import type { TokenRow } from '../../src/domain/tokens.js';
import { mac, makeContract, makeSite, makeToken, makeTokens } from '../helpers/factories.js';
import { escaped, panelEnv, signedIn, textOf } from '../helpers/panel.js';

type Svc = Awaited<ReturnType<typeof panelEnv>>['svc'];

const tokenRows = (html: string) => [...html.matchAll(/<tr data-token="([0-9a-f-]{36})">/g)].map((m) => m[1]);
const countTokens = async (svc: Svc, contractId: string) =>
  (await svc.db.query<{ n: number }>(`select count(*)::int as n from tokens where contract_id = $1`, [contractId])).rows[0].n;
const tokenById = async (svc: Svc, id: string) => (await svc.db.query<TokenRow>(`select * from tokens where id = $1`, [id])).rows[0];

t.test('an operator generates tokens and sees them listed with how many of 200 remain', async (t) => {
  const { app, svc } = await panelEnv(t);
  const contract = await makeContract(svc);
  const { client } = await signedIn(app, svc, contract.id);
  const page = await client.get('/admin/tokens');
  t.equal(textOf(page.body, 'remaining'), 'Неиспользованных токенов: 0 из 200. Можно создать ещё 200.');
  const res = await client.post('/admin/tokens/generate', { contract: contract.id, count: '5', uses: 'multi', term: '7' });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/admin/tokens?done=generated&n=5');
  const list = await client.get(res.headers.location as string);
  t.match(list.body, '<p class="message ok" role="status">Создано токенов: 5.</p>');
  t.equal(textOf(list.body, 'remaining'), 'Неиспользованных токенов: 5 из 200. Можно создать ещё 195.');
  const rows = (await svc.db.query<TokenRow>(`select * from tokens where contract_id = $1 order by code`, [contract.id])).rows;
  t.same(rows.map((r) => [r.multi_use, r.duration_days, r.status]), Array(5).fill([true, 7, 'unused']));
  t.same(tokenRows(list.body).sort(), rows.map((r) => r.id).sort());
  t.match(list.body, `<td data-label="Токен" class="code">${groupCode(rows[0].code)}</td>`);
  t.match(list.body, '<td data-label="Срок действия">7 сут.</td>');
  t.match(list.body, '<td data-label="Создан">23.11.2026 13:00:00</td>', 'dd.mm.yyyy HH:MM:SS, server time');
  t.match(list.body, `<a class="button secondary" href="/admin/tokens.pdf?contract&#x3D;${contract.id}" id="pdf">Скачать PDF с токенами</a>`);
});

t.test('bad generate input shows the page again with a clear message and makes nothing', async (t) => {
  const { app, svc } = await panelEnv(t);
  const contract = await makeContract(svc);
  const { client } = await signedIn(app, svc, contract.id);
  const cases: Array<[Record<string, string>, string]> = [
    [{ count: '0', uses: 'single', term: '1' }, 'Количество — целое число от 1 до 200.'],
    [{ count: '201', uses: 'single', term: '1' }, 'Количество — целое число от 1 до 200.'],
    [{ count: '2.5', uses: 'single', term: '1' }, 'Количество — целое число от 1 до 200.'],
    [{ count: 'five', uses: 'single', term: '1' }, 'Количество — целое число от 1 до 200.'],
    [{ count: '', uses: 'single', term: '1' }, 'Количество — целое число от 1 до 200.'],
    [{ count: '3', uses: 'both', term: '1' }, 'Выберите, одноразовые или многоразовые токены создать.'],
    [{ count: '3', term: '1' }, 'Выберите, одноразовые или многоразовые токены создать.'],
    [{ count: '3', uses: 'single', term: '0' }, 'Срок — от 1 до 30 суток или «Бессрочный».'],
    [{ count: '3', uses: 'single', term: '31' }, 'Срок — от 1 до 30 суток или «Бессрочный».'],
    [{ count: '3', uses: 'single', term: 'forever' }, 'Срок — от 1 до 30 суток или «Бессрочный».'],
  ];
  for (const [form, message] of cases) {
    const res = await client.post('/admin/tokens/generate', { contract: contract.id, ...form });
    t.equal(res.statusCode, 400, JSON.stringify(form));
    t.equal(textOf(res.body, 'error'), message, JSON.stringify(form));
  }
  const kept = await client.post('/admin/tokens/generate', { contract: contract.id, count: '7', uses: 'multi', term: '99' });
  t.match(kept.body, 'name="count" type="number" inputmode="numeric" min="1" max="200" step="1" value="7"', 'what was typed stays');
  t.match(kept.body, '<input type="radio" name="uses" value="multi" checked>');
  t.equal(await countTokens(svc, contract.id), 0);
});

t.test('a request past the 200-unused limit is refused whole with how many can still be made', async (t) => {
  const { app, svc } = await panelEnv(t);
  const contract = await makeContract(svc);
  await makeTokens(svc, contract.id, { count: 195 });
  const { client } = await signedIn(app, svc, contract.id);
  const res = await client.post('/admin/tokens/generate', { contract: contract.id, count: '6', uses: 'single', term: 'unlimited' });
  t.equal(res.statusCode, 409);
  t.equal(textOf(res.body, 'error'), 'Неиспользованных токенов может быть не больше 200. Сейчас можно создать ещё 5, а запрошено 6. Ничего не создано.');
  t.equal(textOf(res.body, 'remaining'), 'Неиспользованных токенов: 195 из 200. Можно создать ещё 5.');
  t.equal(await countTokens(svc, contract.id), 195);
  const five = await client.post('/admin/tokens/generate', { contract: contract.id, count: '5', uses: 'single', term: 'unlimited' });
  t.equal(five.statusCode, 303);
  t.equal(await countTokens(svc, contract.id), 200);
});

t.test('the list filters by status, code, uses and term; a bad filter is named', async (t) => {
  const { app, svc, clock } = await panelEnv(t);
  const { contract, network } = await makeSite(svc);
  const [single1, single2] = await makeTokens(svc, contract.id, { count: 2, multiUse: false, durationDays: 3 });
  const multi = await makeToken(svc, contract.id, { multiUse: true, durationDays: null });
  await activateToken(svc, { networkId: network.id, mac: mac(1), code: single1.code, now: clock.now() });
  const { client } = await signedIn(app, svc, contract.id);
  const ids = async (qs: string) => {
    const res = await client.get(`/admin/tokens${qs}`);
    t.equal(res.statusCode, 200, qs);
    return tokenRows(res.body).sort();
  };
  t.same(await ids('?status=active'), [single1.id]);
  t.same(await ids('?status=unused&uses=single'), [single2.id]);
  t.same(await ids('?uses=multi'), [multi.id]);
  t.same(await ids('?term=unlimited'), [multi.id]);
  t.same(await ids('?term=3'), [single1.id, single2.id].sort());
  t.same(await ids(`?code=${encodeURIComponent(groupCode(single2.code))}`), [single2.id]);
  t.same(await ids('?status=expired'), []);
  const active = await client.get('/admin/tokens?status=active');
  t.match(active.body, `<td data-label="MAC-адрес" class="mono">${mac(1)}</td>`);
  t.match(active.body, '<td data-label="Активирован">23.11.2026 13:00:00</td>');
  t.match(active.body, '<td data-label="Истекает">26.11.2026 13:00:00</td>');
  t.match(active.body, '<span class="status active">Активен</span>');

  const badCode = await client.get(`/admin/tokens?code=${single2.code.slice(0, 11)}${(Number(single2.code[11]) + 1) % 10}`);
  t.equal(badCode.statusCode, 400);
  t.equal(textOf(badCode.body, 'error'), 'Токен в фильтре — 12 цифр, первая не ноль, последняя контрольная. Проверьте цифры.');
  const badStatus = await client.get('/admin/tokens?status=lost');
  t.equal(badStatus.statusCode, 400);
  t.equal(textOf(badStatus.body, 'error'), 'Неизвестный статус в фильтре — показаны все статусы.');
  t.equal(tokenRows(badStatus.body).length, 3);
  const badTerm = await client.get('/admin/tokens?term=45');
  t.equal(textOf(badTerm.body, 'error'), 'Срок в фильтре должен быть от 1 до 30 суток или «Бессрочный» — показаны все сроки.');
});

t.test('annul ends a token and goes back to the same filtered list', async (t) => {
  const { app, svc, clock } = await panelEnv(t);
  const { contract, network } = await makeSite(svc);
  const [unused, used] = await makeTokens(svc, contract.id, { count: 2 });
  await activateToken(svc, { networkId: network.id, mac: mac(2), code: used.code, now: clock.now() });
  const { client } = await signedIn(app, svc, contract.id);
  await client.get('/admin/tokens?status=active');
  const res = await client.post(`/admin/tokens/${used.id}/annul`, { back: '/admin/tokens?status=active' });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/admin/tokens?status=active&done=annulled');
  t.match(await tokenById(svc, used.id), { status: 'annulled', end_reason: 'annulled' });
  const log = await svc.db.query(`select end_reason from identifications where token_id = $1`, [used.id]);
  t.same(log.rows, [{ end_reason: 'annulled' }]);
  const absolute = await client.post(`/admin/tokens/${unused.id}/annul`, { back: 'https://evil.example/' });
  t.equal(absolute.headers.location, '/admin/tokens?done=annulled', 'only panel list URLs are followed back');
  const offsite = await client.post(`/admin/tokens/${unused.id}/annul`, { back: '//evil.example/admin/tokens' });
  t.equal(offsite.headers.location, '/admin/tokens?done=annulled', 'annulling again is harmless');
  t.match(await tokenById(svc, unused.id), { status: 'annulled' });
  const list = await client.get('/admin/tokens?status=annulled&done=annulled');
  t.match(list.body, 'Токен аннулирован.');
  t.notMatch(list.body, `/admin/tokens/${used.id}/annul`, 'no annul button on an annulled token');
});

t.test('delete asks for confirmation first, then removes the token but not its log rows', async (t) => {
  const { app, svc, clock } = await panelEnv(t);
  const { contract, network } = await makeSite(svc);
  const tok = await makeToken(svc, contract.id);
  await activateToken(svc, { networkId: network.id, mac: mac(3), code: tok.code, now: clock.now() });
  const { client } = await signedIn(app, svc, contract.id);
  const confirm = await client.get(`/admin/tokens/${tok.id}/delete?back=${encodeURIComponent('/admin/tokens?uses=single')}`);
  t.equal(confirm.statusCode, 200);
  t.match(confirm.body, `Удалить токен ${groupCode(tok.code)}?`);
  t.match(confirm.body, `Токен сейчас используется устройством ${mac(3)}: его доступ в сеть будет прекращён.`);
  t.match(confirm.body, `<input type="hidden" name="back" value="/admin/tokens?uses&#x3D;single">`);
  t.ok(await tokenById(svc, tok.id), 'opening the confirmation deletes nothing');
  const res = await client.post(`/admin/tokens/${tok.id}/delete`, { back: '/admin/tokens?uses=single' });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/admin/tokens?uses=single&done=deleted');
  t.equal(await tokenById(svc, tok.id), undefined);
  const log = await svc.db.query(`select end_reason from identifications where token_id = $1`, [tok.id]);
  t.same(log.rows, [{ end_reason: 'deleted' }]);
  t.equal((await client.get(`/admin/tokens/${tok.id}/delete`)).statusCode, 404);
});

t.test('issuedTo is edited, cleared, and refused over 500 characters', async (t) => {
  const { app, svc } = await panelEnv(t);
  const contract = await makeContract(svc);
  const tok = await makeToken(svc, contract.id);
  const { client } = await signedIn(app, svc, contract.id);
  const form = await client.get(`/admin/tokens/${tok.id}/issued-to`);
  t.equal(form.statusCode, 200);
  t.match(form.body, `<p class="code big">${groupCode(tok.code)}</p>`);
  const saved = await client.post(`/admin/tokens/${tok.id}/issued-to`, { issuedTo: '  Петров П. П., паспорт 4510 123456 <b>  ', back: '/admin/tokens' });
  t.equal(saved.statusCode, 303);
  t.equal(saved.headers.location, '/admin/tokens?done=issued');
  t.equal((await tokenById(svc, tok.id)).issued_to, 'Петров П. П., паспорт 4510 123456 <b>');
  const list = await client.get('/admin/tokens');
  t.match(list.body, `<td data-label="Кому выдан" class="issued">${escaped('Петров П. П., паспорт 4510 123456 <b>')}</td>`);
  const long = await client.post(`/admin/tokens/${tok.id}/issued-to`, { issuedTo: 'я'.repeat(501) });
  t.equal(long.statusCode, 400);
  t.equal(textOf(long.body, 'error'), 'Не больше 500 символов. Ничего не сохранено.');
  t.equal((await tokenById(svc, tok.id)).issued_to, 'Петров П. П., паспорт 4510 123456 <b>');
  t.equal((await client.post(`/admin/tokens/${tok.id}/issued-to`, { issuedTo: '😀'.repeat(500) })).statusCode, 303, '500 code points fit');
  await client.post(`/admin/tokens/${tok.id}/issued-to`, { issuedTo: '   ' });
  t.equal((await tokenById(svc, tok.id)).issued_to, null, 'blank clears it');
});

t.test("an operator never sees or touches another contract's tokens: 404, and nothing changes", async (t) => {
  const { app, svc } = await panelEnv(t);
  const mine = await makeContract(svc);
  const theirs = await makeContract(svc);
  const foreign = await makeToken(svc, theirs.id);
  const own = await makeToken(svc, mine.id);
  const { client } = await signedIn(app, svc, mine.id);
  const list = await client.get('/admin/tokens');
  t.same(tokenRows(list.body), [own.id]);
  t.notMatch(list.body, 'name="contract" value="' + theirs.id);
  t.notMatch(list.body, '<form class="picker"', 'operators get no contract picker');
  const gets = [`/admin/tokens?contract=${theirs.id}`, `/admin/tokens/${foreign.id}/delete`, `/admin/tokens/${foreign.id}/issued-to`, `/admin/tokens.pdf?contract=${theirs.id}`,
    `/admin/sessions?contract=${theirs.id}`, `/admin/networks?contract=${theirs.id}`, `/admin/log?contract=${theirs.id}`, '/admin/tokens/not-a-uuid/delete'];
  for (const url of gets) {
    const res = await client.get(url);
    t.equal(res.statusCode, 404, url);
    t.match(res.body, '<h1>Не найдено</h1>', url);
  }
  const posts: Array<[string, Record<string, string>]> = [
    [`/admin/tokens/${foreign.id}/annul`, {}],
    [`/admin/tokens/${foreign.id}/delete`, {}],
    [`/admin/tokens/${foreign.id}/issued-to`, { issuedTo: 'x' }],
    ['/admin/tokens/generate', { contract: theirs.id, count: '1', uses: 'single', term: '1' }],
    ['/admin/networks', { contract: theirs.id, name: 'Чужая', controller: 'generic', settings: '' }],
  ];
  for (const [url, form] of posts) t.equal((await client.post(url, form)).statusCode, 404, url);
  t.match(await tokenById(svc, foreign.id), { status: 'unused', issued_to: null });
  t.equal(await countTokens(svc, theirs.id), 1);
  const nets = await svc.db.query(`select 1 from networks where contract_id = $1`, [theirs.id]);
  t.equal(nets.rowCount, 0);
});

t.test('a system administrator picks a contract, and the choice is remembered', async (t) => {
  const { app, svc, clock } = await panelEnv(t);
  const a = await makeContract(svc, 'Кафе «А»');
  clock.advance(1000); // contracts are listed in order of creation
  const b = await makeContract(svc, 'Гостиница «Б»');
  const tokA = await makeToken(svc, a.id);
  const tokB = await makeToken(svc, b.id);
  const { client } = await signedIn(app, svc, null);
  const first = await client.get('/admin/tokens');
  t.same(tokenRows(first.body), [tokA.id], 'the first contract by default');
  t.match(first.body, `<option value="${a.id}" selected>Кафе «А»</option><option value="${b.id}">Гостиница «Б»</option>`);
  t.same(tokenRows((await client.get(`/admin/tokens?contract=${b.id}`)).body), [tokB.id]);
  t.same(tokenRows((await client.get('/admin/tokens')).body), [tokB.id], 'remembered in the session');
  const gen = await client.post('/admin/tokens/generate', { contract: a.id, count: '2', uses: 'single', term: '1' });
  t.equal(gen.statusCode, 303);
  t.equal(await countTokens(svc, a.id), 3);
  t.equal((await client.get('/admin/tokens?contract=00000000-0000-4000-8000-000000000000')).statusCode, 404);
  t.equal((await client.post(`/admin/tokens/${tokB.id}/annul`, {})).statusCode, 303, 'and may act on any contract');
});

t.test("the PDF button downloads the contract's unused tokens as slips, for that contract only", async (t) => {
  const { app, svc } = await panelEnv(t);
  const contract = await makeContract(svc);
  await makeToken(svc, contract.id);
  const { client } = await signedIn(app, svc, contract.id);
  const page = await client.get('/admin/tokens');
  t.match(page.body, escaped(`/admin/tokens.pdf?contract=${contract.id}`));
  const res = await client.get(`/admin/tokens.pdf?contract=${contract.id}`);
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-type'], 'application/pdf');
  t.equal(res.headers['cache-control'], 'no-store');
  t.equal(res.rawPayload.subarray(0, 5).toString(), '%PDF-');
  const other = await makeContract(svc);
  t.equal((await client.get(`/admin/tokens.pdf?contract=${other.id}`)).statusCode, 404, "another contract's slips are not found");
});
