import fc from 'fast-check';
import t from 'tap';
import { fuzzFixture } from '../helpers/routeFuzz.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 60);

/** Anything a client could type, including digits-with-junk, unicode and control characters. */
const junk = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.stringMatching(/^[0-9 \-]{0,30}$/),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('', ' ', '0', '-1', 'null', '{}', '[]', '%00', '../../etc/passwd', '<script>', "'; drop table tokens; --", '１２３４５６７８９０１２'),
);

t.test('the portal never fails with a 500 and never changes state on a refusal, whatever is posted', async (t) => {
  const f = await fuzzFixture(t);
  const page = await f.app.inject(`/portal/${f.network.id}?mac=aa:bb:cc:dd:ee:01`);
  const goodCtx = /name="ctx" value="([^"]+)"/.exec(page.body)![1];
  const before = await f.snapshot();
  await fc.assert(
    fc.asyncProperty(junk, fc.oneof(junk, fc.constant(goodCtx)), fc.dictionary(fc.string({ maxLength: 10 }), junk, { maxKeys: 3 }), async (token, ctx, extra) => {
      const res = await f.app.inject({
        method: 'POST',
        url: `/portal/${f.network.id}/activate`,
        payload: new URLSearchParams({ ...extra, token, ctx }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      if (res.statusCode >= 500) throw new Error(`${res.statusCode} for ${JSON.stringify({ token, ctx, extra })}`);
      if (![400, 403, 429].includes(res.statusCode)) throw new Error(`unexpected ${res.statusCode}`);
    }),
    { numRuns: RUNS },
  );
  t.equal(await f.snapshot(), before, 'no refusal changed anything');
});

t.test('redirect parameters, MAC spellings and raw bodies of any shape never make a 500', async (t) => {
  const f = await fuzzFixture(t);
  await fc.assert(
    fc.asyncProperty(fc.dictionary(fc.constantFrom('mac', 'url', 'lang', 'id', 'ap', 'link-login-only', 'x'), junk, { maxKeys: 4 }), junk, fc.string({ maxLength: 200 }), async (query, macInput, rawBody) => {
      const qs = new URLSearchParams(query).toString();
      const pageRes = await f.app.inject(`/portal/${f.network.id}?${qs}`);
      if (pageRes.statusCode >= 500) throw new Error(`portal page ${pageRes.statusCode} for ${qs}`);
      const apiRes = await f.app.inject(`/portal/${f.network.id}/api?${new URLSearchParams({ mac: macInput })}`);
      if (apiRes.statusCode >= 500) throw new Error(`captive api ${apiRes.statusCode} for ${macInput}`);
      const poll = await f.app.inject({ method: 'GET', url: `/api/v1/networks/${f.network.id}/sessions/${encodeURIComponent(macInput) || 'x'}`, headers: f.op.auth });
      if (poll.statusCode !== 200 && poll.statusCode !== 400) throw new Error(`session ${poll.statusCode} for ${macInput}`);
      for (const type of ['application/json', 'application/x-www-form-urlencoded', 'text/plain']) {
        const res = await f.app.inject({ method: 'POST', url: `/portal/${f.network.id}/activate`, payload: rawBody, headers: { 'content-type': type } });
        if (res.statusCode >= 500) throw new Error(`activate ${res.statusCode} for ${type} ${JSON.stringify(rawBody)}`);
      }
    }),
    { numRuns: RUNS },
  );
  t.pass('no 500 in any run');
});

t.test('admin routes never fail with a 500 on JSON of any shape, and a refusal changes nothing', async (t) => {
  const f = await fuzzFixture(t);
  const value = fc.jsonValue({ maxDepth: 2 });
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(fc.oneof(value, fc.dictionary(fc.constantFrom('count', 'multiUse', 'durationDays', 'issuedTo', 'name', 'controller', 'label'), value, { maxKeys: 4 })), fc.string({ maxLength: 40 }), async (body, query) => {
      const calls = [
        { method: 'POST' as const, url: `/api/v1/contracts/${f.contract.id}/tokens` },
        { method: 'PATCH' as const, url: `/api/v1/tokens/${f.token.id}` },
        { method: 'POST' as const, url: `/api/v1/contracts/${f.contract.id}/networks` },
      ];
      for (const call of calls) {
        const before = await f.snapshot();
        const res = await f.app.inject({ ...call, headers: f.op.auth, payload: JSON.stringify(body) ?? 'null' });
        if (res.statusCode >= 500) throw new Error(`${call.method} ${call.url} → ${res.statusCode} for ${JSON.stringify(body)}`);
        // A body that is valid by chance is rightly accepted; every refusal must leave the state as it was.
        if (res.statusCode >= 400) {
          refused++;
          if ((await f.snapshot()) !== before) throw new Error(`refused ${call.url} but changed state for ${JSON.stringify(body)}`);
        }
      }
      const list = await f.app.inject({ method: 'GET', url: `/api/v1/contracts/${f.contract.id}/tokens?code=${encodeURIComponent(query)}&status=${encodeURIComponent(query)}`, headers: f.op.auth });
      if (list.statusCode >= 500) throw new Error(`list → ${list.statusCode} for ${query}`);
    }),
    { numRuns: RUNS },
  );
  t.ok(refused > RUNS, `most random bodies were refused (${refused})`);
});
