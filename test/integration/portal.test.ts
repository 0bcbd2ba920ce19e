import t from 'tap';
import { activateToken } from '../../src/domain/activation.js';
import { annulToken } from '../../src/domain/tokens.js';
import { createNetwork } from '../../src/domain/networks.js';
import { updateContract } from '../../src/domain/contracts.js';
import { PROCESS_ACTOR } from '../../src/domain/actor.js';
import { luhnDigit } from '../../src/domain/code.js';
import { buildApp } from '../../src/http/app.js';
import { makeSite, makeToken, mac, operatorOf } from '../helpers/factories.js';
import { DAY, testEnv } from '../helpers/services.js';

type Env = Awaited<ReturnType<typeof testEnv>>;

async function portal(t: Parameters<typeof testEnv>[0], env: Record<string, string> = {}) {
  const e = await testEnv(t, env);
  const app = await buildApp(e.svc);
  t.teardown(() => app.close());
  const site = await makeSite(e.svc);
  return { ...e, app, ...site };
}

const ctxOf = (html: string) => /name="ctx" value="([^"]+)"/.exec(html)?.[1] ?? '';

/** Opens the portal as the controller would redirect a device, then submits a code from that page. */
async function enter(app: Awaited<ReturnType<typeof buildApp>>, networkId: string, device: string, code: string, opts: { ip?: string; lang?: string } = {}) {
  const page = await app.inject({ method: 'GET', url: `/portal/${networkId}?mac=${device}&url=${encodeURIComponent('http://example.com/news')}&lang=${opts.lang ?? 'ru'}`, remoteAddress: opts.ip });
  return app.inject({
    method: 'POST',
    url: `/portal/${networkId}/activate?lang=${opts.lang ?? 'ru'}`,
    payload: new URLSearchParams({ token: code, ctx: ctxOf(page.body) }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    remoteAddress: opts.ip,
  });
}

t.test('the token form: mobile, numeric keyboard, the network name, no framing, no caching', async (t) => {
  const { app, network } = await portal(t);
  const res = await app.inject({ method: 'GET', url: `/portal/${network.id}?mac=aa-bb-cc-dd-ee-01&url=http://example.com/`, headers: { 'accept-language': 'ru-RU,ru;q=0.9' } });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /text\/html/);
  t.match(res.body, /<input id="token" name="token" type="text" inputmode="numeric"/);
  t.match(res.body, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
  t.match(res.body, /Введите токен/);
  t.match(res.body, new RegExp(network.name));
  t.equal(res.headers['cache-control'], 'no-store');
  t.match(res.headers['content-security-policy'], /default-src 'none'/);
  t.match(res.headers['content-security-policy'], /frame-ancestors 'none'/);
  t.notMatch(res.body, /<script/i, 'works without JavaScript');
  t.equal(res.headers['x-frame-options'], 'DENY');
  const en = await app.inject({ method: 'GET', url: `/portal/${network.id}?mac=aa-bb-cc-dd-ee-01`, headers: { 'accept-language': 'en-GB,en;q=0.9,ru;q=0.5' } });
  t.match(en.body, /Enter your token/);
  const forced = await app.inject({ method: 'GET', url: `/portal/${network.id}?mac=aa-bb-cc-dd-ee-01&lang=ru`, headers: { 'accept-language': 'en' } });
  t.match(forced.body, /Введите токен/);
});

t.test('a valid code with spaces lets the device through and carries the original URL', async (t) => {
  const { app, svc, contract, network } = await portal(t);
  const tok = await makeToken(svc, contract.id, { durationDays: 2 });
  const res = await enter(app, network.id, 'aa:bb:cc:dd:ee:01', `${tok.code.slice(0, 4)} ${tok.code.slice(4, 8)}-${tok.code.slice(8)}`);
  t.equal(res.statusCode, 200);
  t.match(res.body, /Вы подключены к Wi-Fi/);
  t.match(res.body, /Доступ действует до/);
  t.match(res.body, /href="http:\/\/example.com\/news"/);
  const row = await svc.db.query<{ status: string; mac: string }>(`select status, mac from tokens where id = $1`, [tok.id]);
  t.same(row.rows[0], { status: 'active', mac: 'AA:BB:CC:DD:EE:01' });
  const back = await app.inject({ method: 'GET', url: `/portal/${network.id}?mac=AABBCCDDEE01&url=http://example.com/` });
  t.equal(back.statusCode, 200);
  t.match(back.body, /Вы подключены к Wi-Fi/, 'an identified device goes straight through');
});

t.test("the success page gives the end of access in the contract's time zone and names the zone", async (t) => {
  const { app, svc, contract, network } = await portal(t, { KALITKA_TIME_ZONE: 'Europe/Moscow' });
  const tok = await makeToken(svc, contract.id, { durationDays: 1 }); // entered 2026-11-23 10:00 UTC
  const first = await enter(app, network.id, 'AA:BB:CC:DD:EE:07', tok.code, { lang: 'en' });
  t.equal(first.statusCode, 200);
  t.match(first.body, 'Your access lasts until 24 November 2026 at 13:00 (Europe/Moscow, UTC+03:00).', 'a contract without a zone: the configured one');
  // Through the use case that owns the zone: the success page keeps each contract's zone a few
  // seconds in the process (guestTimeZoneOf), and the change must reach it at once.
  await updateContract(svc, PROCESS_ACTOR, contract.id, { timeZone: 'Asia/Vladivostok' }, svc.now());
  const back = await app.inject({ method: 'GET', url: `/portal/${network.id}?mac=AA:BB:CC:DD:EE:07&lang=ru` });
  t.equal(back.statusCode, 200);
  t.match(back.body, 'Доступ действует до 24 ноября 2026 г. в 20:00 (Asia/Vladivostok, UTC+10:00).', 'the contract names its zone');
});

t.test('every refusal is explained in plain words with the right status', async (t) => {
  const { app, svc, clock, contract, network } = await portal(t, { PORTAL_MAX_FAILS_PER_DEVICE: '100', PORTAL_MAX_FAILS_PER_IP: '100' });
  const other = await makeSite(svc);
  const used = await makeToken(svc, contract.id);
  await activateToken(svc, { networkId: network.id, mac: mac(50), code: used.code, now: clock.now() });
  const annulled = await makeToken(svc, contract.id);
  await annulToken(svc, operatorOf(contract.id), { tokenId: annulled.id, now: clock.now() });
  const foreign = await makeToken(svc, other.contract.id);
  const expiring = await makeToken(svc, contract.id, { durationDays: 1 });
  await activateToken(svc, { networkId: network.id, mac: mac(51), code: expiring.code, now: clock.now() });
  clock.advance(DAY);
  const payload = '10012345678';
  const cases: Array<[string, string, number, string, RegExp]> = [
    ['12345', mac(1), 400, 'TOKEN_FORMAT', /12 цифр/],
    [payload + ((luhnDigit(payload) + 1) % 10), mac(1), 400, 'TOKEN_CHECK_DIGIT', /опечатка/],
    [payload + luhnDigit(payload), mac(1), 403, 'TOKEN_UNKNOWN', /Такого токена нет/],
    [used.code, mac(1), 403, 'TOKEN_USED', /уже использован на другом устройстве/],
    [foreign.code, mac(1), 403, 'TOKEN_FOREIGN', /не действует в этой сети/],
    [annulled.code, mac(1), 403, 'TOKEN_ANNULLED', /аннулирован/],
    [expiring.code, mac(51), 403, 'TOKEN_EXPIRED', /истёк/],
  ];
  for (const [code, device, status, reason, text] of cases) {
    const res = await enter(app, network.id, device, code);
    t.equal(res.statusCode, status, reason);
    t.equal(res.headers['x-refusal'], reason);
    t.match(res.body, text, reason);
    t.match(res.body, /name="token"/, 'the form comes back to try again');
  }
  const en = await enter(app, network.id, mac(1), used.code, { lang: 'en' });
  t.match(en.body, /already been used on another device/);
  const rows = await svc.db.query<{ status: string }>(`select status from tokens where id = $1`, [foreign.id]);
  t.equal(rows.rows[0].status, 'unused', 'a foreign token is not consumed');
});

t.test('a tampered or foreign context is refused: the MAC cannot be changed between page and POST', async (t) => {
  const { app, svc, contract, network } = await portal(t);
  const tok = await makeToken(svc, contract.id);
  const page = await app.inject({ method: 'GET', url: `/portal/${network.id}?mac=aa:bb:cc:dd:ee:01` });
  const ctx = ctxOf(page.body);
  const [payload, sig] = ctx.split('.');
  const forged = Buffer.from(Buffer.from(payload, 'base64url').toString().replace('AA:BB:CC:DD:EE:01', 'AA:BB:CC:DD:EE:02')).toString('base64url');
  for (const bad of [`${forged}.${sig}`, 'garbage', '']) {
    const res = await app.inject({
      method: 'POST',
      url: `/portal/${network.id}/activate`,
      payload: new URLSearchParams({ token: tok.code, ctx: bad }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    t.equal(res.statusCode, 400);
    t.equal(res.headers['x-refusal'], 'CONTEXT_INVALID');
  }
  const otherNetwork = await createNetwork(svc, PROCESS_ACTOR, { contractId: contract.id, name: 'Other', controller: 'generic', settings: {}, now: svc.now() });
  const moved = await app.inject({
    method: 'POST',
    url: `/portal/${otherNetwork.id}/activate`,
    payload: new URLSearchParams({ token: tok.code, ctx }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  t.equal(moved.statusCode, 400, "one network's page cannot be replayed at another");
  const row = await svc.db.query<{ status: string }>(`select status from tokens where id = $1`, [tok.id]);
  t.equal(row.rows[0].status, 'unused');
});

t.test('brute force: 5 refused tries per device, then 429 without a lookup, even for a good code', async (t) => {
  const { app, svc, contract, network } = await portal(t);
  const tok = await makeToken(svc, contract.id);
  for (let i = 0; i < 5; i++) t.equal((await enter(app, network.id, mac(1), '100000000000')).statusCode, 400);
  const blocked = await enter(app, network.id, mac(1), tok.code);
  t.equal(blocked.statusCode, 429);
  t.equal(blocked.headers['x-refusal'], 'RATE_LIMITED');
  t.match(blocked.body, /Слишком много неудачных попыток. Попробуйте снова через 10 мин/);
  t.equal(blocked.headers['retry-after'], '600');
  const row = await svc.db.query<{ status: string }>(`select status from tokens where id = $1`, [tok.id]);
  t.equal(row.rows[0].status, 'unused', 'the good code was not even looked at');
  const otherDevice = await enter(app, network.id, mac(2), tok.code);
  t.equal(otherDevice.statusCode, 200, 'another device is not blocked');
});

/** Submits codes from one page of the portal, as a guest typing again and again would. */
async function pageOf(app: Awaited<ReturnType<typeof buildApp>>, networkId: string, device: string) {
  const ctx = ctxOf((await app.inject(`/portal/${networkId}?mac=${device}`)).body);
  return (code: string) =>
    app.inject({
      method: 'POST',
      url: `/portal/${networkId}/activate`,
      payload: new URLSearchParams({ token: code, ctx }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
}

t.test('brute force: tries sent all at once cannot slip past the limit', async (t) => {
  const { app, network } = await portal(t);
  const submit = await pageOf(app, network.id, mac(7));
  const statuses = (await Promise.all(Array.from({ length: 20 }, (_, i) => submit(`1000000000${10 + i}`)))).map((r) => r.statusCode);
  t.equal(statuses.filter((s) => s === 429).length, 15, 'only five were looked at');
  t.equal(statuses.filter((s) => s === 400 || s === 403).length, 5);
});

t.test('brute force: a try that lets the device through does not count against it', async (t) => {
  const { app, svc, contract, network } = await portal(t);
  const tok = await makeToken(svc, contract.id);
  const submit = await pageOf(app, network.id, mac(8));
  for (let i = 0; i < 4; i++) t.equal((await submit('100000000000')).statusCode, 400);
  t.equal((await submit(tok.code)).statusCode, 200);
  t.equal((await submit('100000000000')).statusCode, 400, 'a fifth refusal is still allowed');
  t.equal((await submit('100000000000')).statusCode, 429);
});

t.test('brute force: at most 30 refused tries per client IP across devices', async (t) => {
  const { app, network } = await portal(t, { PORTAL_MAX_FAILS_PER_IP: '30', PORTAL_MAX_FAILS_PER_DEVICE: '5' });
  for (let i = 0; i < 30; i++) {
    const res = await enter(app, network.id, mac(100 + Math.floor(i / 5)), '100000000000', { ip: '10.1.1.1' });
    t.equal(res.statusCode, 400);
  }
  t.equal((await enter(app, network.id, mac(200), '100000000000', { ip: '10.1.1.1' })).statusCode, 429, 'the IP is over its limit');
  t.equal((await enter(app, network.id, mac(200), '100000000000', { ip: '10.1.1.2' })).statusCode, 400, 'another IP is not');
});

t.test('limits are shared by every instance (Redis) and expire after the window', async (t) => {
  const env = await testEnv(t, { PORTAL_FAIL_WINDOW_S: '2' });
  const other = await env.another();
  const [a, b] = [await buildApp(env.svc), await buildApp(other)];
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  const { network } = await makeSite(env.svc);
  for (let i = 0; i < 5; i++) await enter(i % 2 ? a : b, network.id, mac(1), '100000000000');
  t.equal((await enter(a, network.id, mac(1), '100000000000')).statusCode, 429);
  t.equal((await enter(b, network.id, mac(1), '100000000000')).statusCode, 429);
  await new Promise((r) => setTimeout(r, 2100));
  t.equal((await enter(b, network.id, mac(1), '100000000000')).statusCode, 400, 'the window passed');
});

t.test('output is escaped: a network name cannot inject markup', async (t) => {
  const e = await testEnv(t);
  const app = await buildApp(e.svc);
  t.teardown(() => app.close());
  const { contract } = await makeSite(e.svc);
  const network = await createNetwork(e.svc, PROCESS_ACTOR, { contractId: contract.id, name: '<script>alert(1)</script>', controller: 'generic', settings: {}, now: e.svc.now() });
  const res = await app.inject({ method: 'GET', url: `/portal/${network.id}?mac=aa:bb:cc:dd:ee:01&url=${encodeURIComponent('"><img src=x onerror=alert(1)>')}` });
  t.notMatch(res.body, /<script>alert/);
  t.match(res.body, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  t.notMatch(res.body, /<img src=x/);
});

t.test('unknown network, a malformed MAC and no controller parameters get a clear page', async (t) => {
  const { app, network } = await portal(t);
  const unknown = await app.inject('/portal/00000000-0000-4000-8000-000000000000?mac=aa:bb:cc:dd:ee:01');
  t.equal(unknown.statusCode, 404);
  t.match(unknown.body, /Такой сети нет/);
  const junk = await app.inject('/portal/not-a-network?mac=aa:bb:cc:dd:ee:01');
  t.equal(junk.statusCode, 404);
  const badMac = await app.inject(`/portal/${network.id}?mac=zz&url=http://example.com/`);
  t.equal(badMac.statusCode, 400);
  t.match(badMac.body, /Не удалось определить ваше устройство/);
  // Opened by hand, with nothing from a controller: how to get to the sign-in page.
  const noMac = await app.inject(`/portal/${network.id}`);
  t.equal(noMac.statusCode, 200);
  t.match(noMac.body, /Откройте в браузере любой сайт/);
});

t.test('RFC 8908 captive-portal API', async (t) => {
  const { app, svc, clock, contract, network } = await portal(t);
  const tok = await makeToken(svc, contract.id, { durationDays: 1 });
  const before = await app.inject({ method: 'GET', url: `/portal/${network.id}/api?mac=aa:bb:cc:dd:ee:01`, headers: { host: 'portal.example' } });
  t.equal(before.statusCode, 200);
  t.equal(before.headers['content-type'], 'application/captive+json');
  t.same(before.json(), { captive: true, 'user-portal-url': `http://portal.example/portal/${network.id}?mac=AA%3ABB%3ACC%3ADD%3AEE%3A01` });
  await activateToken(svc, { networkId: network.id, mac: 'AA:BB:CC:DD:EE:01', code: tok.code, now: clock.now() });
  clock.advance(3600_000);
  const after = await app.inject({ method: 'GET', url: `/portal/${network.id}/api?mac=aa:bb:cc:dd:ee:01`, headers: { host: 'portal.example' } });
  t.same(after.json(), { captive: false, 'user-portal-url': `http://portal.example/portal/${network.id}?mac=AA%3ABB%3ACC%3ADD%3AEE%3A01`, 'seconds-remaining': 23 * 3600, 'can-extend-session': false });
});

export type { Env };

t.test('/metrics counts activations, refusals by reason, rate-limit hits and request latency', async (t) => {
  const { app, svc, contract, network } = await portal(t, { PORTAL_MAX_FAILS_PER_DEVICE: '2' });
  const tok = await makeToken(svc, contract.id);
  await enter(app, network.id, mac(1), tok.code);
  await enter(app, network.id, mac(2), '100000000000');
  await enter(app, network.id, mac(2), '100000000000');
  await enter(app, network.id, mac(2), '100000000000');
  const res = await app.inject('/metrics');
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/plain/);
  t.match(res.body, /^kalitka_activations_total 1$/m);
  t.match(res.body, /^kalitka_portal_refusals_total\{reason="TOKEN_CHECK_DIGIT"\} 2$/m);
  t.match(res.body, /^kalitka_portal_refusals_total\{reason="RATE_LIMITED"\} 1$/m);
  t.match(res.body, /^kalitka_portal_rate_limited_total 1$/m);
  t.match(res.body, /^kalitka_http_request_duration_seconds_count\{method="POST",route="\/portal\/:networkId\/activate",status="200"\} 1$/m);
  t.match(res.body, /^kalitka_cache_lookups_total\{result="hit"\} \d+$/m);
});
