import t from 'tap';
import { confirmPhone, startPhone } from '../../src/domain/phone/identify.js';
import { appFor, call } from '../helpers/adminApi.js';
import { fakeSmsRu, fakeTwilio } from '../helpers/fake-providers.js';
import { mac, makeContract, makeNetwork, makeUser } from '../helpers/factories.js';
import { freshMobile, LOOPBACK_ALLOWED, phoneSite } from '../helpers/phone.js';
import { testEnv } from '../helpers/services.js';

/* The admin API of phone providers, the network settings of phone identification, and the log's numbers. */

t.test('a contract saves its provider accounts: secrets sealed at rest and masked in answers; checked names and shapes', async (t) => {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const { svc } = env;
  const contract = await makeContract(svc);
  const operator = await makeUser(svc, contract.id);
  const app = await appFor(t, svc);
  const sms = await fakeSmsRu(t);
  const twilio = await fakeTwilio(t);
  const url = `/api/v1/contracts/${contract.id}/phone-providers`;

  const saved = await call(app, operator.token, 'PUT', `${url}/smsru`, { apiId: sms.apiId, apiUrl: sms.url });
  t.equal(saved.statusCode, 200);
  t.match(saved.json(), { provider: 'smsru', apiUrl: sms.url, credentials: { apiId: `••••${sms.apiId.slice(-4)}` }, callbackPath: `/api/v1/phone/callbacks/smsru/${contract.id}`, paused: [] });
  t.notOk(saved.body.includes(sms.apiId), 'the secret never comes back');
  const tw = await call(app, operator.token, 'PUT', `${url}/twilio`, { accountSid: twilio.accountSid, authToken: twilio.authToken, serviceSid: twilio.serviceSid });
  t.match(tw.json(), { provider: 'twilio', apiUrl: 'https://verify.twilio.com', credentials: { accountSid: twilio.accountSid, serviceSid: twilio.serviceSid, authToken: `••••${twilio.authToken.slice(-4)}` } });

  const list = await call(app, operator.token, 'GET', url);
  t.same(list.json().providers.map((p: { provider: string }) => p.provider), ['smsru', 'twilio']);
  t.notOk(list.body.includes(twilio.authToken) || list.body.includes(sms.apiId));
  const { rows } = await svc.db.query<{ credentials_sealed: string }>(`select credentials_sealed from phone_providers`);
  t.equal(rows.length, 2);
  for (const r of rows) t.notOk(r.credentials_sealed.includes(sms.apiId) || r.credentials_sealed.includes(twilio.authToken), 'sealed at rest');

  const bad = async (provider: string, body: unknown) => {
    const res = await call(app, operator.token, 'PUT', `${url}/${provider}`, body);
    return `${res.statusCode} ${res.json().error.code}`;
  };
  t.equal(await bad('twilio', { accountSid: twilio.accountSid, serviceSid: twilio.serviceSid }), '400 INVALID_SETTINGS', 'authToken missing');
  t.equal(await bad('twilio', { accountSid: 'AC1', authToken: 'x', serviceSid: twilio.serviceSid }), '400 INVALID_SETTINGS', 'malformed sid');
  t.equal(await bad('smsru', { apiId: 'x', password: 'y' }), '400 INVALID_SETTINGS', 'unknown field');
  t.equal(await bad('smsru', { apiId: 'x', apiUrl: 'ftp://sms.ru' }), '400 INVALID_SETTINGS');
  t.equal(await bad('smsru', { apiId: 'x\u0000' }), '400 INVALID_TEXT');
  t.equal(await bad('nexmo', { apiId: 'x' }), '404 NOT_FOUND');
  t.equal(await bad('smsru', { apiId: 'x', apiUrl: 'http://10.1.2.3/' }), '422 OUTBOUND_REFUSED', 'a private address');
});

t.test('a loopback apiUrl is refused unless KALITKA_OUTBOUND_ALLOW opens it', async (t) => {
  const env = await testEnv(t);
  const contract = await makeContract(env.svc);
  const operator = await makeUser(env.svc, contract.id);
  const app = await appFor(t, env.svc);
  const res = await call(app, operator.token, 'PUT', `/api/v1/contracts/${contract.id}/phone-providers/smsru`, { apiId: 'abc', apiUrl: 'http://127.0.0.1:9/' });
  t.equal(res.statusCode, 422);
  t.match(res.json().error, { code: 'OUTBOUND_REFUSED', details: undefined });
  t.match(res.json().error.message, /loopback/);
});

t.test("a private apiUrl is refused even for a system administrator, with words true for a provider; KALITKA_OUTBOUND_ALLOW opens it", async (t) => {
  for (const [env, status] of [[{}, 422], [{ KALITKA_OUTBOUND_ALLOW: '10.0.0.0/24' }, 200]] as const) {
    const { svc } = await testEnv(t, env);
    const contract = await makeContract(svc);
    const admin = await makeUser(svc, null);
    const app = await appFor(t, svc);
    const res = await call(app, admin.token, 'PUT', `/api/v1/contracts/${contract.id}/phone-providers/smsru`, { apiId: 'abc', apiUrl: 'http://10.0.0.5/' });
    t.equal(res.statusCode, status);
    if (status === 200) {
      t.equal(res.json().apiUrl, 'http://10.0.0.5/');
      continue;
    }
    t.same(res.json().error, {
      code: 'OUTBOUND_REFUSED',
      message: "apiUrl: 10.0.0.5 is a private (RFC 1918) address: a phone provider's API must be on a public address; only the server's KALITKA_OUTBOUND_ALLOW can open this one",
      setting: 'apiUrl',
      address: '10.0.0.5',
      reason: 'private',
    });
    t.notMatch(res.body, /approve|network/);
  }
});

t.test('tenancy: another contract\'s operator and an issuer get 404; a system administrator may', async (t) => {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const { svc } = env;
  const a = await makeContract(svc);
  const b = await makeContract(svc);
  const other = await makeUser(svc, b.id);
  const issuer = await makeUser(svc, a.id, { role: 'issuer' });
  const admin = await makeUser(svc, null);
  const app = await appFor(t, svc);
  const base = `/api/v1/contracts/${a.id}/phone-providers`;
  for (const who of [other, issuer]) {
    t.equal((await call(app, who.token, 'GET', base)).statusCode, 404);
    t.equal((await call(app, who.token, 'PUT', `${base}/smsru`, { apiId: 'abc' })).statusCode, 404);
    t.equal((await call(app, who.token, 'POST', `${base}/smsru/resume`)).statusCode, 404);
  }
  t.equal((await call(app, admin.token, 'PUT', `${base}/smsru`, { apiId: 'abc' })).statusCode, 200);
  t.equal((await call(app, admin.token, 'POST', `${base}/smsc/resume`)).statusCode, 404, 'no SMSC account to resume');
  t.equal((await svc.db.query(`select 1 from phone_providers`)).rows.length, 1);
});

t.test('network settings of phone identification are checked', async (t) => {
  const env = await testEnv(t);
  const contract = await makeContract(env.svc);
  const operator = await makeUser(env.svc, contract.id);
  const app = await appFor(t, env.svc);
  const network = await makeNetwork(env.svc, contract.id);
  const patch = async (body: unknown) => {
    const res = await call(app, operator.token, 'PATCH', `/api/v1/networks/${network.id}`, body);
    return res.statusCode === 200 ? res.json() : `${res.statusCode} ${res.json().error.code} ${res.json().error.message}`;
  };
  t.match(await patch({ phoneMethods: ['sms', 'fax'], phoneProvider: 'smsru' }), /^400 INVALID_SETTINGS .*phoneMethods may hold only/);
  t.match(await patch({ phoneMethods: ['sms'] }), /^400 INVALID_SETTINGS .*missing: phoneProvider/);
  t.match(await patch({ phoneMethods: ['sms', 'sms'], phoneProvider: 'smsru' }), /twice/);
  t.match(await patch({ phoneMethods: ['sms'], phoneProvider: 'nexmo' }), /phoneProvider is malformed/);
  t.match(await patch({ phoneCountries: ['XX'] }), /unknown countries: XX/);
  t.match(await patch({ phoneDays: 31 }), /phoneDays must be at most 30/);
  t.match(await patch({ phoneBudgetHour: 0 }), /phoneBudgetHour must be at least 1/);
  t.match(await patch({ phoneMethods: 'sms', phoneProvider: 'smsru' }), /must be a list/);
  await call(app, operator.token, 'PUT', `/api/v1/contracts/${contract.id}/phone-providers/smsru`, { apiId: 'abc' });
  const ok = await patch({ phoneMethods: ['callcheck', 'sms'], phoneProvider: 'smsru', phoneDays: 7, phoneCountries: ['RU', 'BY'], phoneBudgetHour: 30, phoneBudgetDay: 200 });
  t.match(ok, { phoneMethods: ['callcheck', 'sms'], phoneProvider: 'smsru', phoneDays: 7, phoneCountries: ['RU', 'BY'], phoneBudgetHour: 30, phoneBudgetDay: 200 });
  t.match(await patch({ phoneDays: null }), { phoneMethods: ['callcheck', 'sms'] }, 'null removes phoneDays (unlimited)');
});

t.test('the log carries the number (E.164) and the provider reference, the number only for the contract\'s operators', async (t) => {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const { svc, clock } = env;
  const { network, fake, contract } = await phoneSite(t, env, 'smsru');
  const device = mac();
  const phone = freshMobile();
  const step = await startPhone(svc, { network, mac: device, ip: '198.51.100.1', phone, method: 'sms', now: clock.now() });
  const code = /(\d{6})/.exec(fake.sent.at(-1)!.text!)![1];
  await confirmPhone(svc, { network, mac: device, ip: '198.51.100.1', verificationId: step.verificationId, code, now: clock.now() });
  const operator = await makeUser(svc, contract.id);
  const admin = await makeUser(svc, null);
  const stranger = await makeUser(svc, (await makeContract(svc)).id);
  const app = await appFor(t, svc);
  const url = `/api/v1/contracts/${contract.id}/identifications`;

  const mine = (await call(app, operator.token, 'GET', url)).json().identifications;
  t.match(mine, [{ mac: device, method: 'phone', tokenId: null, code: null, phone, phoneMethod: 'sms', provider: 'smsru', providerReference: /^sms:\d+-\d+$/ }]);
  const theirs = (await call(app, admin.token, 'GET', url)).json().identifications;
  t.match(theirs, [{ method: 'phone', phone: null, provider: 'smsru' }], 'a system administrator sees that it was a phone, not the number');
  t.equal((await call(app, stranger.token, 'GET', url)).statusCode, 404);

  const csv = (token: string) => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}`, accept: 'text/csv' } });
  const lines = (await csv(operator.token)).body.replace(/^\ufeff/, '').trim().split('\r\n');
  t.match(lines[0], /,phone,provider,providerReference$/);
  t.match(lines[1], new RegExp(`,'\\${phone},smsru,sms:\\d+-\\d+$`), "the number, kept as text by a spreadsheet (')");
  const adminLines = (await csv(admin.token)).body.trim().split('\r\n');
  t.notOk(adminLines[1].includes(phone.slice(1)), 'no number for a system administrator');
  t.match(adminLines[1], /,,smsru,sms:\d+-\d+$/);
});

t.test('the callback route: any bytes are a 4xx, never a 500; nothing needs an API token but the signature', async (t) => {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const { contract } = await phoneSite(t, env, 'twilio');
  const app = await appFor(t, env.svc);
  const post = async (url: string, payload: string | Buffer, contentType = 'application/x-www-form-urlencoded', headers: Record<string, string> = {}) =>
    (await app.inject({ method: 'POST', url, payload, headers: { 'content-type': contentType, ...headers } })).statusCode;
  const url = `/api/v1/phone/callbacks/twilio/${contract.id}`;
  t.equal(await post(url, 'VerificationSid=VE00&Status=approved'), 403, 'no X-Twilio-Signature');
  t.equal(await post(url, 'x', 'application/x-www-form-urlencoded', { 'x-twilio-signature': 'AAAA' }), 403);
  t.equal(await post(url, '[{"type":1}]', 'application/json', { 'x-twilio-signature': 'AAAA' }), 403, 'JSON without bodySHA256');
  t.equal(await post(url, Buffer.from([0xff, 0xfe, 0x00])), 400, 'not UTF-8');
  t.equal(await post(url, 'a=\u0000'), 400, 'a NUL');
  t.equal(await post(url, 'a'.repeat(70 * 1024)), 413);
  t.equal(await post(`/api/v1/phone/callbacks/twilio/not-a-uuid`, 'a=1'), 404);
  t.equal(await post(`/api/v1/phone/callbacks/nexmo/${contract.id}`, 'a=1'), 404);
  t.equal(await post(`/api/v1/phone/callbacks/smsru/${contract.id}`, 'a=1'), 404, 'a provider this contract has no account with');
  t.equal(await post(url, '', 'text/plain', { 'x-twilio-signature': 'AAAA' }), 403);
});

t.test('callback bodies follow the text rule (line breaks allowed, other control characters not)', async (t) => {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const { contract } = await phoneSite(t, env, 'smsru');
  const app = await appFor(t, env.svc);
  const url = `/api/v1/phone/callbacks/smsru/${contract.id}`;
  const post = async (payload: string, contentType: string) => (await app.inject({ method: 'POST', url, payload, headers: { 'content-type': contentType } })).json().error.code;
  t.equal(await post('data%5B0%5D=a%1B%5B2J&hash=00', 'application/x-www-form-urlencoded'), 'INVALID_TEXT', 'ESC, percent-encoded');
  t.equal(await post('{"a":"\\ud800"}', 'application/json'), 'INVALID_TEXT', 'a lone surrogate in JSON');
  t.equal(await post('{"a":"\\u001b"}', 'application/json'), 'INVALID_TEXT');
  t.equal(await post('data%5B0%5D=callcheck_status%0A1-2%0A401%0A1&hash=00', 'application/x-www-form-urlencoded'), 'CALLBACK_SIGNATURE_INVALID', 'line breaks reach the signature check');
});

t.test('phone settings are checked against the provider when saved: its methods, and an account of the contract', async (t) => {
  const env = await testEnv(t);
  const contract = await makeContract(env.svc);
  const other = await makeContract(env.svc);
  const operator = await makeUser(env.svc, contract.id);
  const admin = await makeUser(env.svc, null);
  const app = await appFor(t, env.svc);
  const network = await makeNetwork(env.svc, contract.id);
  const patch = async (body: Record<string, unknown>, id = network.id) => {
    const res = await call(app, operator.token, 'PATCH', `/api/v1/networks/${id}`, body);
    return res.statusCode === 200 ? res.json() : { status: res.statusCode, ...res.json().error };
  };
  const providers = `/api/v1/contracts/${contract.id}/phone-providers`;
  const twilio = { accountSid: `AC${'0'.repeat(32)}`, authToken: 'token-123', serviceSid: `VA${'0'.repeat(32)}` };
  t.equal((await call(app, operator.token, 'PUT', `${providers}/twilio`, twilio)).statusCode, 200);

  t.same(await patch({ phoneMethods: ['callcheck', 'flashcall'], phoneProvider: 'twilio' }), {
    status: 422,
    code: 'PHONE_METHOD_UNSUPPORTED',
    message: 'twilio cannot do callcheck, flashcall; it offers only sms',
    provider: 'twilio',
    methods: ['callcheck', 'flashcall'],
    offered: ['sms'],
  });
  t.match(await patch({ settings: { phoneMethods: ['sms', 'callcheck'], phoneProvider: 'twilio' } }), { status: 422, code: 'PHONE_METHOD_UNSUPPORTED', methods: ['callcheck'] }, 'nested too');
  t.match(await patch({ phoneMethods: ['sms'], phoneProvider: 'twilio' }), { phoneMethods: ['sms'], phoneProvider: 'twilio' });
  // Switching the provider alone is checked against the methods already saved.
  t.match(await patch({ phoneMethods: ['callcheck'], phoneProvider: 'smsru' }), {
    status: 422,
    code: 'PHONE_PROVIDER_UNSET',
    message: `This contract has no smsru account: save it first (PUT /api/v1/contracts/${contract.id}/phone-providers/smsru, or the panel's Phone identification page), then the network's phone settings`,
    provider: 'smsru',
  });
  t.match(await patch({ phoneMethods: ['callcheck'] }), { status: 422, code: 'PHONE_METHOD_UNSUPPORTED' }, 'methods alone are checked against the saved provider');
  // Another contract's account does not count.
  t.equal((await call(app, admin.token, 'PUT', `/api/v1/contracts/${other.id}/phone-providers/smsc`, { login: 'a', password: 'b' })).statusCode, 200);
  t.match(await patch({ phoneMethods: ['sms'], phoneProvider: 'smsc' }), { status: 422, code: 'PHONE_PROVIDER_UNSET' });
  // README's order: the provider first, then the network.
  t.equal((await call(app, operator.token, 'PUT', `${providers}/smsru`, { apiId: 'my-api-id' })).statusCode, 200);
  t.match(await patch({ phoneMethods: ['callcheck', 'flashcall', 'sms'], phoneProvider: 'smsru' }), { phoneMethods: ['callcheck', 'flashcall', 'sms'], phoneProvider: 'smsru' });
  t.match(await patch({ phoneMethods: null }), { phoneProvider: 'smsru' }, 'turning phone off needs nothing');
  const saved = await env.svc.db.query<{ settings: Record<string, unknown> }>('select settings from networks where id = $1', [network.id]);
  t.equal(saved.rows[0].settings.phoneMethods, undefined);

  // A new network is checked the same way, and nothing is created when refused.
  const create = (body: Record<string, unknown>) => call(app, operator.token, 'POST', `/api/v1/contracts/${contract.id}/networks`, { name: 'Hall', controller: 'generic', ...body });
  const refused = await create({ phoneMethods: ['sms'], phoneProvider: 'smsc' });
  t.equal(refused.statusCode, 422);
  t.equal(refused.json().error.code, 'PHONE_PROVIDER_UNSET');
  t.equal((await create({ settings: { phoneMethods: ['flashcall'], phoneProvider: 'twilio' } })).json().error.code, 'PHONE_METHOD_UNSUPPORTED');
  const made = await create({ settings: { phoneMethods: ['sms'], phoneProvider: 'twilio' } });
  t.equal(made.statusCode, 201);
  const count = await env.svc.db.query('select 1 from networks where contract_id = $1', [contract.id]);
  t.equal(count.rows.length, 2, 'the refused ones were not created');

  // A network saved before the check keeps working for edits that leave its phone settings alone.
  const legacy = await makeNetwork(env.svc, contract.id, 'generic', { phoneMethods: ['sms'], phoneProvider: 'smsc' });
  t.match(await patch({ ssid: 'Hall' }, legacy.id), { ssid: 'Hall', phoneProvider: 'smsc' });
  t.match(await patch({ phoneMethods: ['sms'] }, legacy.id), { status: 422, code: 'PHONE_PROVIDER_UNSET' });
});
