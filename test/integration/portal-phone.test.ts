import fc from 'fast-check';
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { insertPhonePause } from '../../src/store/phoneProviders.js';
import type { NetworkSettings } from '../../src/domain/networks.js';
import type { ProviderName } from '../../src/phone/providers/types.js';
import { freshMobile, LOOPBACK_ALLOWED, phoneSite } from '../helpers/phone.js';
import { appFor } from '../helpers/adminApi.js';
import { mac, makeContract, makeNetwork, makeToken } from '../helpers/factories.js';
import { testEnv } from '../helpers/services.js';

/*
 * The guest portal's phone pages (DESIGN §4 "Guest portal", rule 16) against each provider's fake:
 * the number form, each method to the grant, every kind of refusal with its status and its words.
 */

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** A contract whose account with `provider` points at its fake, and a generic network offering its methods. */
async function site<P extends ProviderName>(t: Parameters<typeof testEnv>[0], provider: P, settings: NetworkSettings = {}) {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const app = await appFor(t, env.svc);
  const { contract, network, fake } = await phoneSite(t, env, provider, settings);
  return { ...env, app, contract, network, fake };
}

const ctxOf = (html: string) => /name="ctx" value="([^"]+)"/.exec(html)?.[1] ?? '';
const vOf = (html: string) => /name="v" value="([^"]+)"/.exec(html)?.[1] ?? '';
const unescape = (s: string) => s.replaceAll('&amp;', '&').replaceAll('&#x3D;', '=');

async function open(app: FastifyInstance, networkId: string, device: string, lang = 'ru') {
  const page = await app.inject({ method: 'GET', url: `/portal/${networkId}?mac=${device}&url=http://example.com/&lang=${lang}` });
  return { page, ctx: ctxOf(page.body) };
}

const post = (app: FastifyInstance, url: string, form: Record<string, string>, remoteAddress = '10.1.1.1') =>
  app.inject({ method: 'POST', url, payload: new URLSearchParams(form).toString(), headers: FORM, remoteAddress });


t.test('a phone network offers the number form with its methods and a link to the token form', async (t) => {
  const { app, network } = await site(t, 'smsru');
  const device = mac();
  const { page } = await open(app, network.id, device);
  t.equal(page.statusCode, 200);
  t.match(page.body, /<input id="phone" name="phone" type="tel"/);
  t.same([...page.body.matchAll(/name="method" value="(\w+)"/g)].map((m) => m[1]), ['callcheck', 'flashcall', 'sms']);
  t.match(page.body, /Нет сим-карты или не можете позвонить на идентификационный номер\? Введите токен/);
  const link = unescape(/<a class="voucher" href="([^"]+)"/.exec(page.body)![1]);
  t.match(link, /form=token/);
  const tokenPage = await app.inject({ method: 'GET', url: link });
  t.equal(tokenPage.statusCode, 200);
  t.match(tokenPage.body, /<input id="token" name="token"/);
  t.match(tokenPage.body, /Войти по номеру телефона/, 'and back');
  t.notMatch(tokenPage.body, /name="phone"/);
  const en = await open(app, network.id, device, 'en');
  t.match(en.page.body, /No SIM card or cannot make a call\? Enter a token/);
  t.match(en.page.body, /Code by SMS/);
});

t.test('while paid sends are paused on a network, its page offers only the free call-check, or the token form when nothing is left', async (t) => {
  const { app, svc, contract, network } = await site(t, 'smsru');
  const smsOnly = await makeNetwork(svc, contract.id, 'generic', { phoneMethods: ['flashcall', 'sms'], phoneProvider: 'smsru', phoneDays: 1 } as never);
  for (const n of [network, smsOnly]) {
    await insertPhonePause(svc.db, { networkId: n.id, contractId: contract.id, provider: 'smsru', now: svc.now(), sent: 50, entered: 3 });
  }
  const { page } = await open(app, network.id, mac());
  t.equal(page.statusCode, 200);
  t.same([...page.body.matchAll(/name="method" value="(\w+)"/g)].map((m) => m[1]), ['callcheck'], 'the paid methods are not offered');
  t.match(page.body, 'Звонки и SMS с кодами в этой сети временно приостановлены', 'and the page says why');
  const other = await open(app, smsOnly.id, mac());
  t.equal(other.page.statusCode, 200);
  t.notMatch(other.page.body, 'name="phone"', 'no number form');
  t.match(other.page.body, /<input[^>]* name="token"/, 'the token form');
  t.match(other.page.body, 'Звонки и SMS с кодами в этой сети временно приостановлены', 'saying why');
});

t.test('a network without phone methods keeps the token form alone', async (t) => {
  const env = await testEnv(t);
  const app = await appFor(t, env.svc);
  const contract = await makeContract(env.svc);
  const network = await makeNetwork(env.svc, contract.id);
  const { page } = await open(app, network.id, mac());
  t.match(page.body, /name="token"/);
  t.notMatch(page.body, /name="phone"/);
  t.notMatch(page.body, /Войти по номеру телефона/);
  const phonePost = await post(app, `/portal/${network.id}/phone`, { phone: freshMobile(), method: 'sms', ctx: ctxOf(page.body) });
  t.equal(phonePost.statusCode, 403);
  t.equal(phonePost.headers['x-refusal'], 'PHONE_METHOD_NOT_ALLOWED');
});

t.test('call-check through sms.ru: the number to call as a tel: link, pending while not called, granted once the guest called', async (t) => {
  const { app, svc, network, fake } = await site(t, 'smsru');
  const device = mac();
  const { ctx } = await open(app, network.id, device);
  const phone = freshMobile();
  const started = await post(app, `/portal/${network.id}/phone`, { phone, method: 'callcheck', ctx });
  t.equal(started.statusCode, 200);
  t.match(started.body, /href="tel:\+78005008275"/);
  t.match(started.body, /Позвонить <span class="number">\+7 800 500-82-75<\/span>/);
  const refresh = /<meta http-equiv="refresh" content="3;url=([^"]+)">/.exec(started.body);
  t.ok(refresh, 'the page refreshes by itself');
  const statusUrl = unescape(refresh![1]);
  t.notMatch(statusUrl, new RegExp(phone.slice(1)), "the guest's number stays out of the URL");
  const waiting = await app.inject({ method: 'GET', url: statusUrl });
  t.equal(waiting.statusCode, 200);
  t.match(waiting.body, /Ждём вашего звонка/);
  // A status link that names another number to call is refused.
  const forged = statusUrl.replace('n=%2B78005008275', 'n=%2B78090000000');
  t.not(forged, statusUrl);
  t.equal((await app.inject({ method: 'GET', url: forged })).statusCode, 400);
  // The guest calls.
  const [checkId] = [...fake.checks.keys()];
  fake.guestCalls(checkId);
  const done = await app.inject({ method: 'GET', url: statusUrl });
  t.equal(done.statusCode, 200);
  t.match(done.body, /Вы подключены к Wi-Fi/);
  t.equal(done.headers['cache-control'], 'no-store');
  const row = await svc.db.query<{ method: string; phone_method: string }>(`select method, phone_method from identifications where mac = $1 and ended_at is null`, [device]);
  t.same(row.rows, [{ method: 'phone', phone_method: 'callcheck' }]);
});

t.test("a verification is bound to its device: another device's form cannot poll or confirm it", async (t) => {
  const { app, network, fake } = await site(t, 'smsru');
  const a = await open(app, network.id, mac());
  const b = await open(app, network.id, mac());
  const started = await post(app, `/portal/${network.id}/phone`, { phone: freshMobile(), method: 'callcheck', ctx: a.ctx });
  fake.guestCalls([...fake.checks.keys()][0]);
  const statusUrl = unescape(/content="3;url=([^"]+)"/.exec(started.body)![1]);
  const stolen = statusUrl.replace(/ctx=[^&]+/, `ctx=${encodeURIComponent(b.ctx)}`);
  const res = await app.inject({ method: 'GET', url: stolen });
  t.equal(res.statusCode, 403);
  t.equal(res.headers['x-refusal'], 'PHONE_CALL_NOT_RECEIVED');
  t.notMatch(res.body, /Вы подключены/);
});

for (const provider of ['smsru', 'smsc'] as const) {
  t.test(`flash call through ${provider}: the caller's last 4 digits let the device through`, async (t) => {
    const { app, network, fake } = await site(t, provider);
    const { ctx } = await open(app, network.id, mac());
    const started = await post(app, `/portal/${network.id}/phone`, { phone: freshMobile(), method: 'flashcall', ctx });
    t.equal(started.statusCode, 200);
    t.match(started.body, /Вам сейчас позвонят/);
    t.match(started.body, /<input id="code" name="code"/);
    const code = fake.sent.at(-1)!.code!;
    const ok = await post(app, `/portal/${network.id}/phone/confirm`, { v: vOf(started.body), code, ctx: ctxOf(started.body), method: 'flashcall' });
    t.equal(ok.statusCode, 200);
    t.match(ok.body, /Вы подключены к Wi-Fi/);
  });
}

t.test('SMS through Twilio Verify: a wrong code says how many tries are left; the fifth ends the code; the right one of a new code works', async (t) => {
  const { app, network, fake } = await site(t, 'twilio');
  const { ctx } = await open(app, network.id, mac());
  const phone = freshMobile();
  const started = await post(app, `/portal/${network.id}/phone`, { phone, method: 'sms', ctx });
  t.equal(started.statusCode, 200);
  t.match(started.body, /Введите код из SMS/);
  const v = vOf(started.body);
  const right = fake.sent.at(-1)!.code;
  const wrong = right === '000000' ? '111111' : '000000';
  for (let i = 1; i <= 4; i++) {
    const res = await post(app, `/portal/${network.id}/phone/confirm`, { v, code: wrong, ctx, method: 'sms', phone });
    t.equal(res.statusCode, 403);
    t.equal(res.headers['x-refusal'], 'PHONE_CODE_WRONG');
    t.match(res.body, new RegExp(`Код неверный. Осталось попыток: ${5 - i}.`));
    t.match(res.body, /name="code"/, 'the code form is there again');
  }
  const fifth = await post(app, `/portal/${network.id}/phone/confirm`, { v, code: wrong, ctx, method: 'sms', phone });
  t.equal(fifth.statusCode, 403);
  t.equal(fifth.headers['x-refusal'], 'PHONE_CODE_EXHAUSTED');
  t.match(fifth.body, /Пять раз введён неверный код/);
  t.notMatch(fifth.body, /name="code"/, 'only a new code helps now');
  t.match(fifth.body, /Получить новый код/);
  const late = await post(app, `/portal/${network.id}/phone/confirm`, { v, code: right, ctx, method: 'sms', phone });
  t.equal(late.statusCode, 403, 'the right code after five wrong ones no longer works');
});

t.test('refusals: a bad number 400, a landline 403, a foreign number to the token form, a limit 429 with its own words', async (t) => {
  const { app, network } = await site(t, 'smsru');
  const device = mac();
  const { ctx } = await open(app, network.id, device);
  const bad = await post(app, `/portal/${network.id}/phone`, { phone: '12345', method: 'sms', ctx });
  t.equal(bad.statusCode, 400);
  t.equal(bad.headers['x-refusal'], 'PHONE_INVALID');
  t.match(bad.body, /Это не похоже на номер телефона/);
  t.match(bad.body, /value="12345"/, 'what was typed stays');
  const landline = await post(app, `/portal/${network.id}/phone`, { phone: '+74951234567', method: 'sms', ctx });
  t.equal(landline.statusCode, 403);
  t.equal(landline.headers['x-refusal'], 'PHONE_NOT_MOBILE');
  const foreign = await post(app, `/portal/${network.id}/phone`, { phone: '+447400123456', method: 'sms', ctx });
  t.equal(foreign.statusCode, 403);
  t.equal(foreign.headers['x-refusal'], 'PHONE_COUNTRY_NOT_ALLOWED');
  t.match(foreign.body, /<input id="token" name="token"/, 'the voucher form');
  t.match(foreign.body, /можно войти только по российскому мобильному номеру/);
  const en = await post(app, `/portal/${network.id}/phone?lang=en`, { phone: '+447400123456', method: 'sms', ctx });
  t.match(en.body, /This network accepts Russian mobile numbers only/);
  // Same number twice within a minute: the resend wait.
  const phone = freshMobile();
  t.equal((await post(app, `/portal/${network.id}/phone`, { phone, method: 'sms', ctx })).statusCode, 200);
  const again = await post(app, `/portal/${network.id}/phone`, { phone, method: 'sms', ctx });
  t.equal(again.statusCode, 429);
  t.equal(again.headers['x-refusal'], 'PHONE_RESEND_WAIT');
  t.match(again.body, /Новый код можно запросить через \d+ с\./);
  t.ok(Number(again.headers['retry-after']) > 0);
  // Five starts a day per device: the sixth (each a new number) is the device limit.
  for (let i = 0; i < 4; i++) t.equal((await post(app, `/portal/${network.id}/phone`, { phone: freshMobile(), method: 'callcheck', ctx })).statusCode, 200);
  const sixth = await post(app, `/portal/${network.id}/phone`, { phone: freshMobile(), method: 'callcheck', ctx });
  t.equal(sixth.statusCode, 429);
  t.equal(sixth.headers['x-refusal'], 'PHONE_LIMIT_DEVICE');
  t.match(sixth.body, /С этого устройства уже запрошено слишком много кодов. Попробуйте снова через \d+ мин\./);
});

t.test('a provider outage is a clear "try another way" page offering the other methods and the voucher, never a 500', async (t) => {
  const { app, network, fake } = await site(t, 'smsru');
  const { ctx } = await open(app, network.id, mac());
  fake.failNext = { status: 502 };
  const res = await post(app, `/portal/${network.id}/phone`, { phone: freshMobile(), method: 'sms', ctx });
  t.equal(res.statusCode, 503);
  t.equal(res.headers['x-refusal'], 'PHONE_PROVIDER_UNAVAILABLE');
  t.match(res.body, /Выберите другой способ/);
  t.match(res.body, /Сервис звонков и SMS сейчас не отвечает/);
  t.same([...res.body.matchAll(/name="method" value="(\w+)"/g)].map((m) => m[1]), ['callcheck', 'flashcall'], 'the failed method is not offered again');
  t.match(res.body, /class="voucher"/);
  // The provider is back: another method works from that page.
  const next = await post(app, `/portal/${network.id}/phone`, { phone: freshMobile(), method: 'flashcall', ctx: ctxOf(res.body) });
  t.equal(next.statusCode, 200);
});

t.test('rule 7 across methods: a device identified by phone in one contract, then by token in another, ends the first', async (t) => {
  const { app, svc, network, fake } = await site(t, 'smsru');
  const device = mac();
  const { ctx } = await open(app, network.id, device);
  const started = await post(app, `/portal/${network.id}/phone`, { phone: freshMobile(), method: 'flashcall', ctx });
  t.match((await post(app, `/portal/${network.id}/phone/confirm`, { v: vOf(started.body), code: fake.sent.at(-1)!.code!, ctx, method: 'flashcall' })).body, /Вы подключены/);
  const other = await makeContract(svc);
  const otherNet = await makeNetwork(svc, other.id);
  const tok = await makeToken(svc, other.id);
  const page = await open(app, otherNet.id, device);
  const res = await post(app, `/portal/${otherNet.id}/activate`, { token: tok.code, ctx: page.ctx });
  t.match(res.body, /Вы подключены/);
  const rows = await svc.db.query<{ method: string; end_reason: string | null }>(`select method, end_reason from identifications where mac = $1 order by id`, [device]);
  t.same(rows.rows, [{ method: 'phone', end_reason: 'identified_elsewhere' }, { method: 'token', end_reason: null }]);
});

t.test('hygiene: a forged or stale context is 400, a junk verification id is 400, control characters are 400, none is 500', async (t) => {
  const { app, network, clock } = await site(t, 'smsru');
  const { ctx } = await open(app, network.id, mac());
  // One character of the signature changed (a fixed replacement was the signature itself once in 4096 runs).
  const at = ctx.length - 10;
  const forged = ctx.slice(0, at) + (ctx[at] === 'A' ? 'B' : 'A') + ctx.slice(at + 1);
  t.equal((await post(app, `/portal/${network.id}/phone`, { phone: freshMobile(), method: 'sms', ctx: forged })).statusCode, 400);
  t.equal((await post(app, `/portal/${network.id}/phone/confirm`, { v: '../../etc', code: '1234', ctx })).statusCode, 400);
  t.equal((await post(app, `/portal/${network.id}/phone`, { phone: '+7912\u0000', method: 'sms', ctx })).statusCode, 400);
  t.equal((await app.inject({ method: 'GET', url: `/portal/${network.id}/phone/status?v=x&ctx=y` })).statusCode, 400);
  t.equal((await app.inject({ method: 'GET', url: `/portal/${network.id}?c=forged` })).statusCode, 400);
  const long = await post(app, `/portal/${network.id}/phone`, { phone: '9'.repeat(5000), method: 'sms', ctx });
  t.equal(long.statusCode, 400);
  t.equal(long.headers['x-refusal'], 'PHONE_INVALID');
  const junkMethod = await post(app, `/portal/${network.id}/phone`, { phone: freshMobile(), method: 'sms'.repeat(1000), ctx });
  t.equal(junkMethod.statusCode, 403);
  t.equal(junkMethod.headers['x-refusal'], 'PHONE_METHOD_NOT_ALLOWED');
  clock.advance(7 * 3600_000);
  t.equal((await post(app, `/portal/${network.id}/phone`, { phone: freshMobile(), method: 'sms', ctx })).statusCode, 400, 'a 7-hour-old form');
});

t.test('the phone pages never answer 500, whatever is posted or asked', async (t) => {
  const { app, network } = await site(t, 'smsru');
  const { ctx } = await open(app, network.id, mac());
  const junk = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.stringMatching(/^[0-9 +()\-]{0,30}$/),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.constantFrom('', ' ', '+79123456789', '+447400123456', 'callcheck', 'flashcall', 'sms', 'voice', '%00', '../../etc/passwd', '<script>', "'; drop table identifications; --", '１２３４'),
  );
  const maybeCtx = fc.oneof(fc.constant(ctx), junk);
  await fc.assert(
    fc.asyncProperty(junk, junk, junk, junk, maybeCtx, junk, junk, async (phone, method, code, v, c, n, s) => {
      const posts = [
        post(app, `/portal/${network.id}/phone`, { phone, method, ctx: c }),
        post(app, `/portal/${network.id}/phone/confirm`, { v, code, ctx: c, method, phone }),
      ];
      for (const res of await Promise.all(posts)) if (res.statusCode >= 500 && res.statusCode !== 503) throw new Error(`${res.statusCode}: ${res.body.slice(0, 200)}`);
      const gets = [
        `/portal/${network.id}/phone/status?${new URLSearchParams({ v, n, s, ctx: c })}`,
        `/portal/${network.id}?${new URLSearchParams({ c, form: method })}`,
      ];
      for (const url of gets) {
        const res = await app.inject({ method: 'GET', url });
        if (res.statusCode >= 500) throw new Error(`${url} → ${res.statusCode}`);
      }
    }),
    { numRuns: Number(process.env.FUZZ_RUNS ?? 40) },
  );
  t.pass('no 500');
});

t.test('a network whose provider account is missing sends the guest to the voucher and logs one warning naming network and provider', async (t) => {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const app = await appFor(t, env.svc);
  const contract = await makeContract(env.svc);
  // Saved before the save-time check (or its account gone from the store): the portal must cope.
  const network = await makeNetwork(env.svc, contract.id, 'generic', { phoneMethods: ['sms'], phoneProvider: 'smsc' } as never);
  const warned: Array<[unknown, string]> = [];
  const warn = env.svc.log.warn.bind(env.svc.log);
  env.svc.log.warn = ((obj: unknown, msg: string) => {
    warned.push([obj, msg]);
    return warn(obj as object, msg);
  }) as typeof env.svc.log.warn;
  t.teardown(() => {
    env.svc.log.warn = warn;
  });
  const { page, ctx } = await open(app, network.id, mac());
  t.equal(page.statusCode, 200);
  const res = await post(app, `/portal/${network.id}/phone`, { phone: freshMobile(), method: 'sms', ctx });
  t.equal(res.statusCode, 503);
  t.equal(res.headers['x-refusal'], 'PHONE_PROVIDER_UNAVAILABLE');
  t.match(res.body, /class="voucher"/, 'the voucher is still offered');
  t.same([...res.body.matchAll(/name="method" value="(\w+)"/g)].map((m) => m[1]), [], 'no method to try again');
  t.equal(warned.length, 1, 'one warning line');
  t.same(warned[0][0], { networkId: network.id, contractId: contract.id, provider: 'smsc' });
  t.match(warned[0][1], `network ${network.id}: its contract's smsc account is not set up`);
  for (let i = 0; i < 3; i++) {
    const again = await open(app, network.id, mac());
    t.equal((await post(app, `/portal/${network.id}/phone`, { phone: freshMobile(), method: 'sms', ctx: again.ctx }, `10.1.2.${i + 1}`)).statusCode, 503);
  }
  t.equal(warned.length, 1, 'more guests within the minute add no line (bots cannot flood the log)');
  const token = await makeToken(env.svc, contract.id);
  const link = unescape(/<a class="voucher" href="([^"]+)"/.exec(res.body)![1]);
  const form = await app.inject({ method: 'GET', url: link });
  t.match(form.body, /name="token"/);
  const voucher = await post(app, `/portal/${network.id}/activate`, { token: token.code, ctx: ctxOf(form.body) });
  t.equal(voucher.statusCode, 200, 'the voucher path lets the guest through');
});
