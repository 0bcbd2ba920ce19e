import t from 'tap';
import { spawnSync } from 'node:child_process';
import { makeSite, makeToken, mac } from '../helpers/factories.js';
import { appFor } from '../helpers/adminApi.js';
import { testEnv } from '../helpers/services.js';

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
  t.match(res.body, /^kalitka_process_nodejs_active_handles\{type="[A-Za-z]+"\} \d+$/m, 'active handles are still there, by type');

  const check = spawnSync('promtool', ['check', 'metrics'], { input: res.body, encoding: 'utf8' });
  t.equal(check.error, undefined, 'promtool runs');
  t.equal(check.stdout + check.stderr, '', 'promtool finds nothing to say');
  t.equal(check.status, 0, 'promtool check metrics exits 0');
});
