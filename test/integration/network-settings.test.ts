import t, { type Test } from 'tap';
import { buildApp } from '../../src/http/app.js';
import { makeContract, makeNetwork, makeUser } from '../helpers/factories.js';
import { testEnv } from '../helpers/services.js';

async function setup(t: Test) {
  const { svc } = await testEnv(t);
  const app = await buildApp(svc);
  t.teardown(() => app.close());
  const admin = await makeUser(svc, null);
  const contract = await makeContract(svc);
  const post = (body: Record<string, unknown>) =>
    app.inject({ method: 'POST', url: `/api/v1/contracts/${contract.id}/networks`, headers: admin.auth, payload: body });
  return { app, svc, admin, contract, post };
}

t.test('a UniFi network is created with its settings checked, defaults filled and the password hidden', async (t) => {
  const { app, admin, post } = await setup(t);
  const res = await post({ name: 'Lobby', controller: 'unifi', unifiUrl: 'https://unifi.example:8443', username: 'portal', password: 'pw-123456' });
  t.equal(res.statusCode, 201);
  const body = res.json();
  t.same(
    { ...body, id: undefined, contractId: undefined, createdAt: undefined, portalUrl: undefined },
    { unifiUrl: 'https://unifi.example:8443', username: 'portal', site: 'default', unifiOs: false, insecureTls: false, name: 'Lobby', controller: 'unifi' },
  );
  t.notMatch(res.body, 'pw-123456');
  const again = await app.inject({ method: 'GET', url: `/api/v1/networks/${body.id}`, headers: admin.auth });
  t.equal(again.json().site, 'default');
  t.equal(again.json().password, undefined);
});

t.test('missing or unknown controller settings are refused with 400 INVALID_SETTINGS', async (t) => {
  const { post } = await setup(t);
  const missing = await post({ name: 'Lobby', controller: 'opennds' });
  t.equal(missing.statusCode, 400);
  t.same(missing.json(), {
    error: { code: 'INVALID_SETTINGS', message: 'Settings for the opennds controller: missing: faskey', unknown: [], missing: ['faskey'], invalid: {} },
  });
  const unknown = await post({ name: 'Lobby', controller: 'meraki', apiKey: 'x' });
  t.equal(unknown.statusCode, 400);
  t.equal(unknown.json().error.code, 'INVALID_SETTINGS');
  t.same(unknown.json().error.unknown, ['apiKey']);
});

t.test('every controller refuses names it does not know, the generic one too, and stores nothing', async (t) => {
  const { app, admin, contract, post } = await setup(t);
  const cases: Array<[Record<string, unknown>, string[]]> = [
    [{ controller: 'generic', bogusKey: 'hello' }, ['bogusKey']],
    [{ controller: 'generic', typo_phoneDays: 5 }, ['typo_phoneDays']],
    [{ controller: 'generic', password: 'p' }, ['password']],
    [{ controller: 'generic', toString: 'x', constructor: 'y' }, ['toString', 'constructor']],
    [{ controller: 'mikrotik', loginHosts: 'hs.example', bogusKey: 'hello' }, ['bogusKey']],
    [{ controller: 'coova', uamSecret: 'abc', bogusKey: 'hello' }, ['bogusKey']],
  ];
  for (const [body, unknown] of cases) {
    const res = await post({ name: 'Lobby', ...body });
    t.equal(res.statusCode, 400, JSON.stringify(body));
    t.same(res.json().error.code, 'INVALID_SETTINGS');
    t.same(res.json().error.unknown, unknown);
    t.match(res.json().error.message, `Settings for the ${body.controller} controller: unknown: ${unknown.join(', ')}`);
  }
  t.notMatch(JSON.stringify(await post({ name: 'Lobby', controller: 'generic', password: 'p-secret' }).then((r) => r.json())), 'p-secret');
  const list = await app.inject({ method: 'GET', url: `/api/v1/contracts/${contract.id}/networks`, headers: admin.auth });
  t.same(list.json().networks, [], 'nothing was created');
  const ok = await post({ name: 'Lobby', controller: 'generic', nasIdentifier: 'lobby-ap', ssid: 'Lobby' });
  t.equal(ok.statusCode, 201);
  const patched = await app.inject({ method: 'PATCH', url: `/api/v1/networks/${ok.json().id}`, headers: admin.auth, payload: { siteCode: 'B-12' } });
  t.equal(patched.statusCode, 400);
  t.same(patched.json().error.unknown, ['siteCode']);
});

t.test('a generic network saved with names it no longer takes can still be edited, and they can be removed', async (t) => {
  const { app, svc, admin, contract } = await setup(t);
  const old = await makeNetwork(svc, contract.id, 'generic', { siteCode: 'B-12', floors: 3, apiPassword: 'kept' });
  const patch = (payload: Record<string, unknown>) => app.inject({ method: 'PATCH', url: `/api/v1/networks/${old.id}`, headers: admin.auth, payload });
  const renamed = await patch({ name: 'Renamed', ssid: 'Hall' });
  t.equal(renamed.statusCode, 200);
  t.match(renamed.json(), { name: 'Renamed', ssid: 'Hall', siteCode: 'B-12', floors: 3 });
  t.equal(renamed.json().apiPassword, undefined);
  t.equal((await patch({ siteCode: 'B-12' })).statusCode, 200, 'the same value again is no change');
  const changed = await patch({ siteCode: 'C-1' });
  t.equal(changed.statusCode, 400);
  t.same(changed.json().error.unknown, ['siteCode']);
  const removed = await patch({ siteCode: null, floors: null });
  t.equal(removed.statusCode, 200);
  t.equal(removed.json().siteCode, undefined);
  t.equal(removed.json().floors, undefined);
});

t.test('settings may be nested in `settings` on create and edit, merged with flat ones', async (t) => {
  const { app, admin, post } = await setup(t);
  const made = await post({ name: 'Lobby', controller: 'unifi', settings: { unifiUrl: 'https://unifi.example:8443', username: 'portal' }, password: 'pw-123456' });
  t.equal(made.statusCode, 201);
  const body = made.json();
  t.same(
    { ...body, id: undefined, contractId: undefined, createdAt: undefined, portalUrl: undefined },
    { unifiUrl: 'https://unifi.example:8443', username: 'portal', site: 'default', unifiOs: false, insecureTls: false, name: 'Lobby', controller: 'unifi' },
    'the same answer as the flat form',
  );
  const patch = (payload: Record<string, unknown>) => app.inject({ method: 'PATCH', url: `/api/v1/networks/${body.id}`, headers: admin.auth, payload });
  const nested = await patch({ name: 'Hall', settings: { site: 'hall', ssid: 'Hall Wi-Fi' } });
  t.equal(nested.statusCode, 200);
  t.match(nested.json(), { name: 'Hall', site: 'hall', ssid: 'Hall Wi-Fi', unifiUrl: 'https://unifi.example:8443' });
  t.equal(nested.json().settings, undefined, 'no setting named settings');
  const removed = await patch({ settings: { ssid: null } });
  t.equal(removed.statusCode, 200);
  t.equal(removed.json().ssid, undefined);
  t.equal((await patch({ site: 'flat' })).json().site, 'flat', 'the flat form works as before');

  const generic = await post({ name: 'G', controller: 'generic', settings: {} });
  t.equal(generic.statusCode, 201);
  t.notOk('settings' in generic.json(), 'an empty settings object is no setting');
  const phone = await app.inject({ method: 'PATCH', url: `/api/v1/networks/${generic.json().id}`, headers: admin.auth, payload: { settings: { phoneCountries: ['RU', 'KZ'] } } });
  t.equal(phone.statusCode, 200);
  t.same(phone.json().phoneCountries, ['RU', 'KZ']);
});

t.test('nested settings are refused clearly: a name given twice, name or controller inside, wrong shapes', async (t) => {
  const { app, admin, post } = await setup(t);
  const made = await post({ name: 'Lobby', controller: 'generic' });
  const patch = (payload: Record<string, unknown>) => app.inject({ method: 'PATCH', url: `/api/v1/networks/${made.json().id}`, headers: admin.auth, payload });
  const twice = await patch({ ssid: 'A', settings: { ssid: 'B' } });
  t.equal(twice.statusCode, 400);
  t.same(twice.json(), { error: { code: 'SETTING_GIVEN_TWICE', message: 'ssid given both beside settings and inside it: send each setting once', settings: ['ssid'] } });
  const twiceOnCreate = await post({ name: 'X', controller: 'generic', ssid: 'A', settings: { ssid: 'A' } });
  t.equal(twiceOnCreate.json().error.code, 'SETTING_GIVEN_TWICE');
  for (const inner of [{ name: 'X' }, { controller: 'unifi' }]) {
    const res = await patch({ settings: inner });
    t.equal(res.statusCode, 400);
    t.equal(res.json().error.code, 'NOT_A_SETTING');
  }
  t.equal((await post({ name: 'X', controller: 'generic', settings: { controller: 'unifi' } })).json().error.code, 'NOT_A_SETTING');
  for (const bad of [{ settings: '{}' }, { settings: ['ssid'] }, { settings: null }, { settings: { ssid: { deep: 1 } } }, { settings: { '1bad': 'x' } }]) {
    const res = await patch(bad);
    t.equal(res.statusCode, 400, JSON.stringify(bad));
    t.type(res.json().error.code, 'string');
  }
  const unknown = await patch({ settings: { bogusKey: 'x' } });
  t.equal(unknown.statusCode, 400);
  t.same(unknown.json().error.unknown, ['bogusKey']);
  const lines = await patch({ settings: { displayName: 'Hall\nTwo' } });
  t.equal(lines.statusCode, 400);
  t.equal(lines.json().error.code, 'INVALID_TEXT', 'a line break only where the flat form allows one');
  const terms = await patch({ settings: { termsEn: 'One.\nTwo.' } });
  t.equal(terms.statusCode, 200);
  t.equal(terms.json().termsEn, 'One.\nTwo.');
  const get = await app.inject({ method: 'GET', url: `/api/v1/networks/${made.json().id}`, headers: admin.auth });
  t.equal(get.json().ssid, undefined, 'nothing refused was stored');
});

t.test("a saved name like toString is an own setting, not an inherited one: an edit that leaves it alone passes", async (t) => {
  const { app, svc, admin, contract } = await setup(t);
  const old = await makeNetwork(svc, contract.id, 'generic', { toString: 'x', constructor: 'y' } as never);
  const res = await app.inject({ method: 'PATCH', url: `/api/v1/networks/${old.id}`, headers: admin.auth, payload: { ssid: 'Hall' } });
  t.equal(res.statusCode, 200, res.body);
  t.match(res.json(), { ssid: 'Hall', toString: 'x', constructor: 'y' });
});
