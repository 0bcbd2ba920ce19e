import t, { type Test } from 'tap';
import { buildApp } from '../../src/http/app.js';
import { makeContract, makeUser } from '../helpers/factories.js';
import { testEnv } from '../helpers/services.js';

async function setup(t: Test) {
  const { svc } = await testEnv(t);
  const app = await buildApp(svc);
  t.teardown(() => app.close());
  const admin = await makeUser(svc, null);
  const contract = await makeContract(svc);
  const post = (body: Record<string, unknown>) =>
    app.inject({ method: 'POST', url: `/api/v1/contracts/${contract.id}/networks`, headers: admin.auth, payload: body });
  return { app, admin, contract, post };
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

t.test('the generic controller still takes free-form settings', async (t) => {
  const { post } = await setup(t);
  const res = await post({ name: 'Lobby', controller: 'generic', siteCode: 'B-12', floors: 3 });
  t.equal(res.statusCode, 201);
  t.equal(res.json().siteCode, 'B-12');
  t.equal(res.json().floors, 3);
});
