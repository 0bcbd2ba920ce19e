import t from 'tap';
import { activateToken } from '../../src/domain/activation.js';
import type { TokenRow } from '../../src/domain/tokens.js';
import { mac, makeContract, makeNetwork, makeToken } from '../helpers/factories.js';
import { escaped, makePanelUser, PanelClient, panelEnv, signedIn, textOf } from '../helpers/panel.js';

// The panel's side of rules 13 and 14: limits and a plan on the generate form, the plans page, the
// Extend button, and the note on networks whose controller cannot enforce limits.

t.test('an operator makes a plan, generates from it with a limit typed over the plan\'s, and sees the limits listed', async (t) => {
  const { app, svc } = await panelEnv(t);
  const contract = await makeContract(svc);
  const { client } = await signedIn(app, svc, contract.id);

  const plansPage = await client.get('/admin/plans');
  t.equal(plansPage.statusCode, 200);
  t.match(plansPage.body, 'Тарифов пока нет.');
  const created = await client.post('/admin/plans', {
    contract: contract.id,
    name: 'Гостевой <день>',
    uses: 'multi',
    term: '1',
    downKbps: '8000',
    upKbps: '1000',
    quotaMb: '700',
    maxDevices: '3',
  });
  t.equal(created.statusCode, 303);
  t.equal(created.headers.location, '/admin/plans?done=created');
  const listed = await client.get('/admin/plans?done=created');
  t.match(listed.body, 'Тариф создан.');
  t.match(listed.body, `<td data-label="Название" class="name">${escaped('Гостевой <день>')}</td>`, 'the name is escaped');
  t.match(listed.body, '↓ 8000 ↑ 1000 кбит/с · 700 МБ · до 3 устройств');

  const dup = await client.post('/admin/plans', { contract: contract.id, name: 'гостевой <ДЕНЬ>', uses: 'single', term: '1' });
  t.equal(dup.statusCode, 409);
  t.equal(textOf(dup.body, 'error'), 'У договора уже есть тариф с таким названием.');
  const badLimit = await client.post('/admin/plans', { contract: contract.id, name: 'x', uses: 'single', term: '1', downKbps: '0' });
  t.equal(badLimit.statusCode, 400);
  t.equal(textOf(badLimit.body, 'error'), 'Скорость приёма — целое число кбит/с от 1 до 10 000 000.');
  const noCsrf = await client.post('/admin/plans', { _csrf: null, contract: contract.id, name: 'y', uses: 'single', term: '1' });
  t.equal(noCsrf.statusCode, 403, 'CSRF is checked');
  const [plan] = (await svc.db.query<{ id: string }>(`select id from plans where contract_id = $1`, [contract.id])).rows;

  const tokens = await client.get('/admin/tokens');
  t.match(tokens.body, `<option value="${plan.id}">${escaped('Гостевой <день>')}</option>`, 'the generate form offers the plan');
  const gen = await client.post('/admin/tokens/generate', { contract: contract.id, count: '2', uses: 'single', term: '7', plan: plan.id, downKbps: '', upKbps: '2000', quotaMb: '', maxDevices: '' });
  t.equal(gen.statusCode, 303);
  const rows = (await svc.db.query<TokenRow>(`select * from tokens where contract_id = $1`, [contract.id])).rows;
  t.same(
    rows.map((r) => [r.multi_use, r.duration_days, r.down_kbps, r.up_kbps, Number(r.quota_mb), r.max_devices]),
    Array(2).fill([true, 1, 8000, 2000, 700, 3]),
    'the plan\'s uses, term and limits; the typed upload speed over the plan\'s',
  );
  const list = await client.get('/admin/tokens');
  t.match(list.body, '<span class="limits" title="Ограничения">↓ 8000 ↑ 2000 кбит/с · 700 МБ · до 3 устройств</span>');

  const plain = await client.post('/admin/tokens/generate', { contract: contract.id, count: '1', uses: 'single', term: '1', plan: '', quotaMb: '50' });
  t.equal(plain.statusCode, 303);
  const singleCap = await client.post('/admin/tokens/generate', { contract: contract.id, count: '1', uses: 'single', term: '1', plan: '', maxDevices: '2' });
  t.equal(singleCap.statusCode, 422);
  t.equal(textOf(singleCap.body, 'error'), 'Ограничение числа устройств — только для многоразовых токенов.');
  const badQuota = await client.post('/admin/tokens/generate', { contract: contract.id, count: '1', uses: 'single', term: '1', quotaMb: '1e3' });
  t.equal(badQuota.statusCode, 400);
  const foreign = await makeContract(svc);
  const theirs = (await svc.db.query<{ id: string }>(`insert into plans (contract_id, name) values ($1, 'Theirs') returning id`, [foreign.id])).rows[0];
  const foreignPlan = await client.post('/admin/tokens/generate', { contract: contract.id, count: '1', uses: 'single', term: '1', plan: theirs.id });
  t.equal(foreignPlan.statusCode, 400, 'another contract\'s plan is no choice');
  t.equal(textOf(foreignPlan.body, 'error'), 'Выберите один из тарифов договора.');
  t.equal((await svc.db.query(`select 1 from tokens where contract_id = $1`, [contract.id])).rowCount, 3, 'refused forms made nothing');

  // Edit and delete; another contract's plan is a 404.
  const edit = await client.get(`/admin/plans/${plan.id}`);
  t.equal(edit.statusCode, 200);
  t.match(edit.body, 'value="8000"');
  const saved = await client.post(`/admin/plans/${plan.id}`, { name: 'Day', uses: 'multi', term: '2', downKbps: '', upKbps: '', quotaMb: '100', maxDevices: '' });
  t.equal(saved.statusCode, 303);
  t.match((await svc.db.query(`select name, duration_days, down_kbps, quota_mb::int as quota_mb from plans where id = $1`, [plan.id])).rows[0], {
    name: 'Day',
    duration_days: 2,
    down_kbps: null,
    quota_mb: 100,
  });
  t.equal((await client.get(`/admin/plans/${theirs.id}`)).statusCode, 404);
  t.equal((await client.post(`/admin/plans/${theirs.id}/delete`, {})).statusCode, 404);
  await client.get('/admin/plans');
  t.equal((await client.post(`/admin/plans/${plan.id}/delete`, {})).statusCode, 303);
  t.equal((await svc.db.query(`select 1 from plans where id = $1`, [plan.id])).rowCount, 0);
  t.equal((await svc.db.query(`select 1 from tokens where contract_id = $1 and down_kbps = 8000`, [contract.id])).rowCount, 2, 'its tokens stay as made');
});

t.test('an active copy has an Extend button; extending moves its expiry; bad input says why; an issuer has neither', async (t) => {
  const { app, svc, clock } = await panelEnv(t);
  const contract = await makeContract(svc);
  const network = await makeNetwork(svc, contract.id);
  const tok = await makeToken(svc, contract.id, { durationDays: 1, quotaMb: 100 });
  await activateToken(svc, { networkId: network.id, mac: mac(1), code: tok.code, now: clock.now() });
  const unused = await makeToken(svc, contract.id, { durationDays: 1 });
  const { client } = await signedIn(app, svc, contract.id);
  const list = await client.get('/admin/tokens');
  t.match(list.body, `href="/admin/tokens/${tok.id}/extend?back=`);
  t.notMatch(list.body, `href="/admin/tokens/${unused.id}/extend`, 'no button on an unused token');

  const page = await client.get(`/admin/tokens/${tok.id}/extend`);
  t.equal(page.statusCode, 200);
  t.match(page.body, 'name="days"');
  t.match(page.body, 'name="quotaMb"');
  const empty = await client.post(`/admin/tokens/${tok.id}/extend`, { back: '/admin/tokens', days: '', quotaMb: '' });
  t.equal(empty.statusCode, 400);
  t.equal(textOf(empty.body, 'error'), 'Укажите, сколько суток и/или трафика добавить.');
  const tooMany = await client.post(`/admin/tokens/${tok.id}/extend`, { back: '/admin/tokens', days: '31' });
  t.equal(tooMany.statusCode, 400);
  const done = await client.post(`/admin/tokens/${tok.id}/extend`, { back: '/admin/tokens', days: '3', quotaMb: '20' });
  t.equal(done.statusCode, 303);
  t.equal(done.headers.location, '/admin/tokens?done=extended');
  const row = (await svc.db.query<TokenRow>(`select * from tokens where id = $1`, [tok.id])).rows[0];
  t.equal(row.expires_at!.getTime(), clock.now().getTime() + 4 * 86_400_000);
  t.equal(Number(row.quota_mb), 120);
  await client.get(`/admin/tokens/${unused.id}/extend`);
  const notActive = await client.post(`/admin/tokens/${unused.id}/extend`, { back: '/admin/tokens', days: '1' });
  t.equal(notActive.statusCode, 409);
  t.equal(textOf(notActive.body, 'error'), 'Продлить можно только активный токен, пока не истёк его срок.');

  const other = await makeContract(svc);
  const { client: stranger } = await signedIn(app, svc, other.id);
  t.equal((await stranger.get(`/admin/tokens/${tok.id}/extend`)).statusCode, 404, 'another contract\'s token');

  const issuerUser = await makePanelUser(svc, contract.id, { role: 'issuer' });
  const issuer = new PanelClient(app);
  await issuer.login(issuerUser.login);
  const issuerList = await issuer.get('/admin/tokens');
  t.notMatch(issuerList.body, '/extend', 'no Extend button for an issuer');
  t.equal((await issuer.get(`/admin/tokens/${tok.id}/extend`)).statusCode, 404);
  t.notMatch(issuerList.body, '/delete', 'nor a Delete button, which would lead to a 404');
  t.match(issuerList.body, `/admin/tokens/${tok.id}/issued-to`, 'what an issuer may do is still there');
  t.equal((await issuer.get(`/admin/tokens/${tok.id}/delete`)).statusCode, 404);
  t.match((await client.get('/admin/tokens')).body, `/admin/tokens/${tok.id}/delete`, 'an operator has Delete');
  t.equal((await issuer.get('/admin/plans')).statusCode, 404, 'nor the plans page');
});

t.test('a network whose controller cannot enforce limits carries a note on the networks page and its settings form', async (t) => {
  const { app, svc } = await panelEnv(t);
  const contract = await makeContract(svc);
  const meraki = await makeNetwork(svc, contract.id, 'meraki');
  const mikrotik = await makeNetwork(svc, contract.id, 'mikrotik');
  const { client } = await signedIn(app, svc, contract.id);
  const page = await client.get('/admin/networks');
  const note = 'Этот контроллер не применяет ограничения токенов';
  const section = (id: string) => new RegExp(`<section class="box network" data-network="${id}">[\\s\\S]*?</section>`).exec(page.body)![0];
  t.match(section(meraki.id), note);
  t.notMatch(section(mikrotik.id), note);
  t.match(page.body, new RegExp(`data-controller="meraki">\\s*<legend>[^<]*</legend>\\s*<p class="hint" data-limits-note>${note}`), 'the create form says so for Meraki');
  t.match((await client.get(`/admin/networks/${meraki.id}/edit`)).body, note);
  t.notMatch((await client.get(`/admin/networks/${mikrotik.id}/edit`)).body, note);
});
