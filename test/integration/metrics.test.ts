import t from 'tap';
import { spawnSync } from 'node:child_process';
import { makeSite, makeToken, mac } from '../helpers/factories.js';
import { appFor } from '../helpers/adminApi.js';
import { testEnv } from '../helpers/services.js';
import { freshMobile, LOOPBACK_ALLOWED, phoneSite } from '../helpers/phone.js';

const ctxOf = (html: string) => /name="ctx" value="([^"]+)"/.exec(html)?.[1] ?? '';

t.test("/metrics passes promtool's check, with every family the app has filled in", async (t) => {
  const { svc } = await testEnv(t);
  const app = await appFor(t, svc);
  const { contract, network } = await makeSite(svc);
  const tok = await makeToken(svc, contract.id);
  // Fill the labelled families: a grant, a refusal, a 404 and a 401 beside the health routes.
  for (const [code, device] of [[tok.code, mac()], ['100000000000', mac()]]) {
    const page = await app.inject({ method: 'GET', url: `/portal/${network.id}?mac=${device}&url=http://example.com/` });
    await app.inject({
      method: 'POST',
      url: `/portal/${network.id}/activate`,
      payload: new URLSearchParams({ token: code, ctx: ctxOf(page.body) }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  }
  await app.inject('/healthz');
  await app.inject('/readyz');
  await app.inject('/no/such/page');
  await app.inject(`/api/v1/contracts/${contract.id}/tokens`);

  const res = await app.inject('/metrics');
  t.equal(res.statusCode, 200);
  t.match(res.body, /^kalitka_activations_total 1$/m, 'the grant was counted');
  t.match(res.body, /^kalitka_portal_refusals_total\{reason="TOKEN_CHECK_DIGIT"\} 1$/m, 'and the refusal');
  t.match(res.body, /^kalitka_process_cpu_seconds_total \d/m, 'process metrics carry the product prefix once');
  t.notMatch(res.body, /kalitka_process_process_/, 'not twice');
  t.match(res.body, /^kalitka_nodejs_active_handles\{type="[A-Za-z]+"\} \d+$/m, 'active handles are still there, by type');

  const check = spawnSync('promtool', ['check', 'metrics'], { input: res.body, encoding: 'utf8' });
  t.equal(check.error, undefined, 'promtool runs');
  t.equal(check.stdout + check.stderr, '', 'promtool finds nothing to say');
  t.equal(check.status, 0, 'promtool check metrics exits 0');
});

t.test('phone sends, verifications and cost per provider and method, and phone refusals, pass promtool too', async (t) => {
  const env = await testEnv(t, LOOPBACK_ALLOWED);
  const app = await appFor(t, env.svc);
  const { network, fake } = await phoneSite(t, env, 'smsru');
  const form = (v: Record<string, string>) => ({ payload: new URLSearchParams(v).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  const start = async (method: string) => {
    const page = await app.inject({ method: 'GET', url: `/portal/${network.id}?mac=${mac()}` });
    const ctx = ctxOf(page.body);
    const res = await app.inject({ method: 'POST', url: `/portal/${network.id}/phone`, ...form({ phone: freshMobile(), method, ctx }) });
    return { res, ctx, v: /name="v" value="([^"]+)"/.exec(res.body)?.[1] ?? '' };
  };
  // A flash call confirmed (sms.ru says it cost 0.4), two confirmed in all.
  for (let i = 0; i < 2; i++) {
    const fc = await start('flashcall');
    const ok = await app.inject({ method: 'POST', url: `/portal/${network.id}/phone/confirm`, ...form({ v: fc.v, ctx: fc.ctx, code: fake.sent.at(-1)!.code! }) });
    t.match(ok.body, /Вы подключены/);
  }
  // An SMS whose code is missed five times: a failed verification.
  const sms = await start('sms');
  for (let i = 0; i < 5; i++) await app.inject({ method: 'POST', url: `/portal/${network.id}/phone/confirm`, ...form({ v: sms.v, ctx: sms.ctx, code: '00000' + i }) });
  // sms.ru away: a failed send, and the portal's refusal.
  fake.failNext = { status: 503 };
  t.equal((await start('sms')).res.statusCode, 503);

  const res = await app.inject('/metrics');
  t.match(res.body, /^kalitka_phone_sends_total\{provider="smsru",method="flashcall",result="sent"\} 2$/m);
  t.match(res.body, /^kalitka_phone_sends_total\{provider="smsru",method="sms",result="sent"\} 1$/m);
  t.match(res.body, /^kalitka_phone_sends_total\{provider="smsru",method="sms",result="failed"\} 1$/m);
  t.match(res.body, /^kalitka_phone_verifications_total\{provider="smsru",method="flashcall",result="confirmed"\} 2$/m);
  t.match(res.body, /^kalitka_phone_verifications_total\{provider="smsru",method="sms",result="failed"\} 1$/m);
  t.match(res.body, /^kalitka_phone_cost_total\{provider="smsru",method="flashcall"\} 0\.8$/m);
  t.match(res.body, /^kalitka_phone_refusals_total\{reason="PHONE_PROVIDER_UNAVAILABLE"\} 1$/m);
  t.match(res.body, /^kalitka_phone_refusals_total\{reason="PHONE_CODE_WRONG"\} 4$/m);
  const check = spawnSync('promtool', ['check', 'metrics'], { input: res.body, encoding: 'utf8' });
  t.equal(check.stdout + check.stderr, '', 'promtool finds nothing to say');
  t.equal(check.status, 0);
});
