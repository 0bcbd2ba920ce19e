// The panel's lifecycle forms: contracts, network edit/delete with the generated settings form, users.
process.env.TZ = 'Europe/Moscow';
import t from 'tap';
import { activateToken } from '../../src/domain/activation.js';
import { findUserByLogin } from '../../src/domain/users.js';
import { mac, makeContract, makeNetwork, makeToken } from '../helpers/factories.js';
import { makePanelUser, PanelClient, panelEnv, signedIn, textOf } from '../helpers/panel.js';

t.test('contracts: a system administrator lists, creates, renames, moves and disables them; nobody else', async (t) => {
  const { app, svc } = await panelEnv(t);
  const existing = await makeContract(svc, 'Кафе');
  const op = await signedIn(app, svc, existing.id);
  t.notMatch((await op.client.get('/admin/tokens')).body, 'href="/admin/contracts"');
  t.equal((await op.client.get('/admin/contracts')).statusCode, 403);
  t.equal((await op.client.post('/admin/contracts', { name: 'Чужой' })).statusCode, 403);

  const { client } = await signedIn(app, svc, null);
  const list = await client.get('/admin/contracts');
  t.equal(list.statusCode, 200);
  t.match(list.body, `data-contract="${existing.id}"`);
  t.match(list.body, 'href="/admin/contracts"');

  t.equal((await client.post('/admin/contracts', { name: 'Отель', timeZone: 'Europe/Moscow', _csrf: null })).statusCode, 403, 'no CSRF token');
  const badZone = await client.post('/admin/contracts', { name: 'Отель', timeZone: 'Mars/Olympus' });
  t.equal(badZone.statusCode, 400);
  t.equal(textOf(badZone.body, 'error'), '«Mars/Olympus» — не часовой пояс IANA (например, Europe/Moscow).');
  t.match(badZone.body, 'id="c-name" name="name" type="text" value="Отель"');
  const badName = await client.post('/admin/contracts', { name: '   ', timeZone: '' });
  t.equal(textOf(badName.body, 'error'), 'Название договора — от 1 до 200 символов.');
  const made = await client.post('/admin/contracts', { name: '  Отель  ', timeZone: 'Asia/Yekaterinburg' });
  t.equal(made.statusCode, 303);
  t.equal(made.headers.location, '/admin/contracts?done=created');
  const row = async (name: string) =>
    (await svc.db.query<{ id: string; name: string; time_zone: string | null; disabled: boolean }>(
      `select id, name, time_zone, disabled_at is not null as disabled from contracts where name = $1`,
      [name],
    )).rows[0];
  const hotel = await row('Отель');
  t.match(hotel, { time_zone: 'Asia/Yekaterinburg', disabled: false });
  t.match((await client.get('/admin/contracts?done=created')).body, 'Договор создан.');

  t.equal((await client.post(`/admin/contracts/${hotel.id}`, { action: 'save', name: 'X', timeZone: '', _csrf: 'f'.repeat(64) })).statusCode, 403);
  const renamed = await client.post(`/admin/contracts/${hotel.id}`, { action: 'save', name: 'Отель «Север»', timeZone: 'Europe/Samara' });
  t.equal(renamed.statusCode, 303);
  t.match(await row('Отель «Север»'), { id: hotel.id, time_zone: 'Europe/Samara' });
  const refusedZone = await client.post(`/admin/contracts/${hotel.id}`, { action: 'save', name: 'Отель', timeZone: 'nowhere' });
  t.equal(refusedZone.statusCode, 400);
  t.match(await row('Отель «Север»'), { time_zone: 'Europe/Samara' }, 'a refused change changes nothing');

  t.equal((await client.post(`/admin/contracts/${hotel.id}`, { action: 'disable' })).headers.location, '/admin/contracts?done=disabled');
  t.match(await row('Отель «Север»'), { disabled: true });
  t.match((await client.get('/admin/contracts')).body, 'Включить договор');
  await client.post(`/admin/contracts/${hotel.id}`, { action: 'enable' });
  t.match(await row('Отель «Север»'), { disabled: false });
  t.equal((await client.post('/admin/contracts/00000000-0000-4000-8000-000000000000', { action: 'disable' })).statusCode, 404);
  t.equal((await op.client.post(`/admin/contracts/${hotel.id}`, { action: 'disable' })).statusCode, 403);
  t.match(await row('Отель «Север»'), { disabled: false });
  const en = await client.get('/admin/contracts?lang=en');
  t.match(en.body, 'Disable contract');
});

t.test('networks: the settings form is generated from the schema; edit keeps secrets; delete says what ends', async (t) => {
  const { app, svc, clock } = await panelEnv(t);
  const contract = await makeContract(svc);
  const other = await makeContract(svc);
  const foreign = await makeNetwork(svc, other.id, 'generic');
  const { client } = await signedIn(app, svc, contract.id);
  const page = await client.get('/admin/networks');
  t.match(page.body, '<fieldset class="stack settings-form" data-controller="unifi">');
  t.match(page.body, 'name="s.unifi.unifiUrl" type="url"');
  t.match(page.body, 'name="s.unifi.password" type="password"');
  t.match(page.body, '<input id="f-unifi-unifiOs" type="checkbox" name="s.unifi.unifiOs"');
  t.match(page.body, 'id="f-unifi-unifiOs-hint">A UniFi OS console (UDM, Cloud Key Gen2+, UCG)</p>');
  t.match(page.body, 'name="s.mikrotik.radiusPort" type="number"');
  t.notMatch(page.body, 'name="settings" rows="3" spellcheck="false" aria-describedby="net-settings-hint-unifi"', 'no free-text box for a schema-only controller');

  const unifi = {
    contract: contract.id,
    name: 'Лобби',
    controller: 'unifi',
    's.unifi.unifiUrl': 'https://198.51.100.7:8443',
    's.unifi.username': 'hotspot',
    's.unifi.password': 'unifi-pass-1',
    's.unifi.unifiOs': 'on',
    's.unifi.site': '',
    // Another controller's fields are not read.
    's.coova.uamSecret': 'ignored',
  };
  t.equal((await client.post('/admin/networks', { ...unifi, _csrf: null })).statusCode, 403);
  const made = await client.post('/admin/networks', unifi);
  t.equal(made.statusCode, 303, made.body);
  const saved = async () =>
    (await svc.db.query<{ id: string; name: string; settings: Record<string, unknown>; deleted: boolean }>(
      `select id, name, settings, deleted_at is not null as deleted from networks where contract_id = $1`,
      [contract.id],
    )).rows;
  const [net] = await saved();
  t.same(net.settings, { unifiUrl: 'https://198.51.100.7:8443', username: 'hotspot', password: 'unifi-pass-1', unifiOs: true, site: 'default', insecureTls: false });

  const missing = await client.post('/admin/networks', { ...unifi, 's.unifi.password': '' });
  t.equal(missing.statusCode, 400);
  t.equal(textOf(missing.body, 'error'), 'Settings for the unifi controller: missing: password');
  t.match(missing.body, 'name="s.unifi.username" type="text" value="hotspot"', 'the form comes back filled');
  const notInt = await client.post('/admin/networks', { contract: contract.id, name: 'M', controller: 'mikrotik', 's.mikrotik.radiusPort': 'x' });
  t.equal(textOf(notInt.body, 'error'), 'Настройка radiusPort — целое число.');
  const refused = await client.post('/admin/networks', { ...unifi, 's.unifi.unifiUrl': 'https://127.0.0.1:8443' });
  t.equal(refused.statusCode, 422);
  t.match(textOf(refused.body, 'error'), /^Настройка unifiUrl: 127\.0\.0\.1 — адрес loopback/);
  t.equal((await saved()).length, 1);

  const edit = await client.get(`/admin/networks/${net.id}/edit`);
  t.equal(edit.statusCode, 200);
  t.notMatch(edit.body, 'unifi-pass-1', 'a secret is never sent back');
  t.match(edit.body, 'name="s.unifi.password" type="password" value=""');
  t.match(edit.body, 'Задан — оставьте пустым, чтобы не менять.');
  t.match(edit.body, 'name="s.unifi.unifiUrl" type="url" value="https://198.51.100.7:8443" required');
  const changed = await client.post(`/admin/networks/${net.id}`, {
    name: 'Лобби 2',
    's.unifi.unifiUrl': 'https://198.51.100.8:8443',
    's.unifi.username': 'hotspot',
    's.unifi.password': '',
    's.unifi.site': 'hotel',
    's.unifi.insecureTls': 'on',
  });
  t.equal(changed.statusCode, 303, changed.body);
  t.equal(changed.headers.location, '/admin/networks?done=saved');
  t.same((await saved())[0], {
    id: net.id,
    name: 'Лобби 2',
    deleted: false,
    // The common settings' boxes are in the edit form too: an unchecked one is saved as false.
    settings: { unifiUrl: 'https://198.51.100.8:8443', username: 'hotspot', password: 'unifi-pass-1', unifiOs: false, site: 'hotel', insecureTls: true, rebindOnReentry: false },
  });
  const outbound = await client.post(`/admin/networks/${net.id}`, { name: 'Лобби 2', 's.unifi.unifiUrl': 'http://10.0.0.1', 's.unifi.username': 'hotspot' });
  t.equal(outbound.statusCode, 422);
  t.match(textOf(outbound.body, 'error'), /^Настройка unifiUrl: 10\.0\.0\.1 — адрес частной сети/);
  t.equal((await saved())[0].settings.unifiUrl, 'https://198.51.100.8:8443');
  t.equal((await client.post(`/admin/networks/${net.id}`, { name: 'X', _csrf: null })).statusCode, 403);

  // Another contract's network is not there.
  t.equal((await client.get(`/admin/networks/${foreign.id}/edit`)).statusCode, 404);
  t.equal((await client.post(`/admin/networks/${foreign.id}`, { name: 'mine' })).statusCode, 404);
  t.equal((await client.get(`/admin/networks/${foreign.id}/delete`)).statusCode, 404);
  t.equal((await client.post(`/admin/networks/${foreign.id}/delete`)).statusCode, 404);
  t.equal((await client.get('/admin/networks/nope/edit')).statusCode, 404);

  const token = await makeToken(svc, contract.id);
  await activateToken(svc, { networkId: net.id, mac: mac(31), code: token.code, now: clock.now() });
  const confirm = await client.get(`/admin/networks/${net.id}/delete`);
  t.equal(confirm.statusCode, 200);
  t.equal(textOf(confirm.body, 'delete-warning'), 'Все идущие сессии в этой сети сразу закончатся (причина — «аннулирован»), устройства гостей будут отключены.');
  t.match(confirm.body, 'Адрес портала этой сети перестанет работать:');
  t.match(confirm.body, `/portal/${net.id}`);
  t.equal((await client.post(`/admin/networks/${net.id}/delete`, { _csrf: null })).statusCode, 403);
  t.equal((await saved())[0].deleted, false);
  const gone = await client.post(`/admin/networks/${net.id}/delete`);
  t.equal(gone.statusCode, 303);
  t.equal(gone.headers.location, '/admin/networks?done=deleted');
  t.equal((await saved())[0].deleted, true);
  const after = await client.get('/admin/networks?done=deleted');
  t.match(after.body, 'Сеть удалена.');
  t.notMatch(after.body, `data-network="${net.id}"`);
  t.notMatch((await client.get('/admin/sessions')).body, mac(31), 'its live session ended');
  t.equal((await app.inject({ method: 'GET', url: `/portal/${net.id}` })).statusCode, 404, 'the portal URL stops working');
  const { rows: foreignRows } = await svc.db.query(`select 1 from networks where id = $1 and deleted_at is null`, [foreign.id]);
  t.equal(foreignRows.length, 1);
});

t.test('users: password, role, token login and delete, by a system administrator and by an operator in their own contract', async (t) => {
  const { app, svc } = await panelEnv(t);
  const contract = await makeContract(svc, 'Кафе');
  const other = await makeContract(svc, 'Чужое');
  const op = await signedIn(app, svc, contract.id);
  const colleague = await makePanelUser(svc, contract.id, { login: 'kassa', tokenLoginAllowed: false });
  const stranger = await makePanelUser(svc, other.id, { login: 'stranger' });

  const list = await op.client.get('/admin/users');
  t.equal(list.statusCode, 200);
  t.match(list.body, 'data-user="kassa"');
  t.notMatch(list.body, 'stranger', "another contract's users are not listed");
  t.notMatch(list.body, '/token-login', 'an operator cannot change token login');

  t.equal((await op.client.post(`/admin/users/${colleague.id}/password`, { password: 'new password 1', _csrf: null })).statusCode, 403);
  const short = await op.client.post(`/admin/users/${colleague.id}/password`, { password: 'short' });
  t.equal(short.statusCode, 400);
  t.equal(textOf(short.body, 'error'), 'Пароль — от 8 до 200 символов.');
  const reset = await op.client.post(`/admin/users/${colleague.id}/password`, { password: 'new password 1' });
  t.equal(reset.headers.location, '/admin/users?done=password');
  t.equal((await new PanelClient(app).login('kassa', 'new password 1')).statusCode, 303, 'the new password signs in');
  t.equal((await op.client.post(`/admin/users/${colleague.id}/role`, { role: 'issuer' })).statusCode, 303);
  t.match(await findUserByLogin(svc, 'kassa'), { role: 'issuer' });
  t.equal((await op.client.post(`/admin/users/${colleague.id}/role`, { role: 'boss' })).statusCode, 400);
  t.equal((await op.client.post(`/admin/users/${colleague.id}/token-login`, { allowed: 'on' })).statusCode, 403);
  t.match(await findUserByLogin(svc, 'kassa'), { tokenLoginAllowed: false });

  for (const action of ['password', 'role', 'delete']) {
    const res = await op.client.post(`/admin/users/${stranger.id}/${action}`, { password: 'new password 2', role: 'issuer' });
    t.equal(res.statusCode, 404, `another contract's user: ${action}`);
  }
  t.not(await findUserByLogin(svc, 'stranger'), null);
  const self = await op.client.post(`/admin/users/${op.user.id}/delete`);
  t.equal(self.statusCode, 422);
  t.equal(textOf(self.body, 'error'), 'Себя удалить нельзя — попросите другого администратора.');
  t.equal((await op.client.post(`/admin/users/${colleague.id}/delete`, { _csrf: null })).statusCode, 403);
  t.not(await findUserByLogin(svc, 'kassa'), null);
  t.equal((await op.client.post(`/admin/users/${colleague.id}/delete`)).headers.location, '/admin/users?done=deleted');
  t.equal(await findUserByLogin(svc, 'kassa'), null);

  const admin = await signedIn(app, svc, null);
  t.equal((await admin.client.post(`/admin/users/${stranger.id}/token-login`, {})).statusCode, 303);
  t.match(await findUserByLogin(svc, 'stranger'), { tokenLoginAllowed: false });
  t.equal((await admin.client.post(`/admin/users/${stranger.id}/token-login`, { allowed: 'on' })).statusCode, 303);
  t.match(await findUserByLogin(svc, 'stranger'), { tokenLoginAllowed: true });
  t.equal((await admin.client.post(`/admin/users/${admin.user.id}/role`, { role: 'issuer' })).statusCode, 400, 'a system administrator stays an operator');
  t.equal((await admin.client.post(`/admin/users/${stranger.id}/delete`)).statusCode, 303);
  t.equal(await findUserByLogin(svc, 'stranger'), null);
  t.equal((await admin.client.post('/admin/users/00000000-0000-4000-8000-000000000000/delete')).statusCode, 404);
});

t.test('a generic network saved with names it no longer takes is edited in the panel as shown: their values keep their types', async (t) => {
  const { app, svc } = await panelEnv(t);
  const contract = await makeContract(svc);
  const old = await makeNetwork(svc, contract.id, 'generic', { siteNo: '123', tags: ['a', 'b'], flag: 'true', floors: 3, toString: 'x' } as never);
  const { client } = await signedIn(app, svc, contract.id);
  const edit = await client.get(`/admin/networks/${old.id}/edit`);
  t.equal(edit.statusCode, 200);
  const shown = (/<textarea[^>]* name="settings"[^>]*>([\s\S]*?)<\/textarea>/.exec(edit.body)?.[1] ?? '').replace(/&#x3D;/g, '=');
  const lines = shown.trim().split('\n').sort();
  t.same(lines, ['flag=true', 'floors=3', 'siteNo=123', 'tags=a,b', 'toString=x'], 'every old name is shown, toString too');
  const saved = await client.post(`/admin/networks/${old.id}`, { name: 'Renamed', settings: shown });
  t.equal(saved.statusCode, 303, textOf(saved.body, 'error') ?? '');
  const { rows } = await svc.db.query<{ name: string; settings: Record<string, unknown> }>(`select name, settings from networks where id = $1::uuid`, [old.id]);
  t.equal(rows[0].name, 'Renamed');
  t.match(rows[0].settings, { siteNo: '123', tags: ['a', 'b'], flag: 'true', floors: 3, toString: 'x' }, 'the saved values, as they were');
  const dropped = await client.post(`/admin/networks/${old.id}`, { name: 'Renamed', settings: 'floors=3' });
  t.equal(dropped.statusCode, 303);
  const after = (await svc.db.query<{ settings: Record<string, unknown> }>(`select settings from networks where id = $1::uuid`, [old.id])).rows[0].settings;
  t.same(Object.keys(after).filter((k) => ['siteNo', 'tags', 'flag', 'floors', 'toString'].includes(k)), ['floors'], 'lines taken away are removed');
});
