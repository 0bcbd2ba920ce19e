import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { activateToken } from '../../src/domain/activation.js';
import { buildApp } from '../../src/http/app.js';
import { limitAttributes } from '../../src/store/radius.js';
import type { ControllerKind, NetworkSettings } from '../../src/domain/networks.js';
import { mac, makeContract, makeNetwork, makeSite, makeToken, makeUser } from '../helpers/factories.js';
import { DAY, testEnv } from '../helpers/services.js';

// DESIGN §1 rules 13 and 14 through the admin API: limits on tokens, the device cap, plans, and
// extending an active copy.

async function api(t: Parameters<typeof testEnv>[0]) {
  const env = await testEnv(t);
  const app = await buildApp(env.svc);
  t.teardown(() => app.close());
  const site = await makeSite(env.svc);
  const operator = await makeUser(env.svc, site.contract.id);
  return { ...env, app, ...site, operator };
}

type App = Awaited<ReturnType<typeof buildApp>>;
const json = (res: { body: string }) => JSON.parse(res.body);

const ctxOf = (html: string) => /name="ctx" value="([^"]+)"/.exec(html)?.[1] ?? '';
async function enter(app: App, networkId: string, device: string, code: string, lang = 'ru') {
  const page = await app.inject({ method: 'GET', url: `/portal/${networkId}?mac=${device}&lang=${lang}` });
  return app.inject({
    method: 'POST',
    url: `/portal/${networkId}/activate?lang=${lang}`,
    payload: new URLSearchParams({ token: code, ctx: ctxOf(page.body) }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
}

t.test('tokens are generated with limits, listed with them, and bad limits are refused with clear errors', async (t) => {
  const { app, contract, operator } = await api(t);
  const url = `/api/v1/contracts/${contract.id}/tokens`;
  const made = await app.inject({
    method: 'POST',
    url,
    headers: operator.auth,
    payload: { count: 2, multiUse: true, durationDays: 7, downKbps: 10000, upKbps: 2000, quotaMb: 500, maxDevices: 3 },
  });
  t.equal(made.statusCode, 201);
  const tokens = json(made).tokens;
  t.equal(tokens.length, 2);
  t.match(tokens[0], { multiUse: true, durationDays: 7, status: 'unused', downKbps: 10000, upKbps: 2000, quotaMb: 500, maxDevices: 3, extendedAt: null });
  const plain = json(await app.inject({ method: 'POST', url, headers: operator.auth, payload: { count: 1 } })).tokens[0];
  t.match(plain, { multiUse: false, durationDays: null, downKbps: null, upKbps: null, quotaMb: null, maxDevices: null }, 'no limits: unlimited');
  const listed = json(await app.inject({ method: 'GET', url, headers: operator.auth })).tokens;
  t.same(
    listed.map((r: Record<string, unknown>) => [r.downKbps, r.upKbps, r.quotaMb, r.maxDevices]).sort(),
    [[10000, 2000, 500, 3], [10000, 2000, 500, 3], [null, null, null, null]].sort(),
    'the list shows every token\'s limits',
  );

  const refused = async (payload: Record<string, unknown>) => {
    const res = await app.inject({ method: 'POST', url, headers: operator.auth, payload: { count: 1, ...payload } });
    return `${res.statusCode} ${json(res).error.code}`;
  };
  t.equal(await refused({ downKbps: 0 }), '400 VALIDATION_ERROR', 'below 1 kbit/s');
  t.equal(await refused({ upKbps: 10_000_001 }), '400 VALIDATION_ERROR', 'above 10 Gbit/s');
  t.equal(await refused({ quotaMb: 10_000_001 }), '400 VALIDATION_ERROR', 'quota above its bound');
  t.equal(await refused({ quotaMb: 1.5 }), '400 VALIDATION_ERROR', 'a fraction');
  t.equal(await refused({ downKbps: '100' }), '400 VALIDATION_ERROR', 'a string');
  t.equal(await refused({ multiUse: true, maxDevices: 1001 }), '400 VALIDATION_ERROR', 'more than 1000 devices');
  t.equal(await refused({ multiUse: false, maxDevices: 2 }), '422 MAX_DEVICES_SINGLE_USE', 'a device cap on a single-use token');
  t.equal(await refused({ maxDevices: 2 }), '422 MAX_DEVICES_SINGLE_USE', 'single-use by default');
  const message = json(await app.inject({ method: 'POST', url, headers: operator.auth, payload: { count: 1, downKbps: 0 } })).error.message;
  t.match(message, /downKbps/, 'the message names the field');
});

t.test('an activated copy carries its code\'s limits, and session state answers them (limitsEnforced per controller)', async (t) => {
  const { app, svc, clock, contract, network, operator } = await api(t);
  const tok = await makeToken(svc, contract.id, { multiUse: true, durationDays: 2, downKbps: 4096, upKbps: 1024, quotaMb: 300 });
  const a = await activateToken(svc, { networkId: network.id, mac: mac(1), code: tok.code, now: clock.now() });
  t.match(a.token, { down_kbps: 4096, up_kbps: 1024, max_devices: null });
  t.equal(Number(a.token.quota_mb), 300);
  const one = json(await app.inject({ method: 'GET', url: `/api/v1/networks/${network.id}/sessions/${mac(1)}`, headers: operator.auth }));
  t.match(one, { authorized: true, downKbps: 4096, upKbps: 1024, bytesRemaining: 300 * 1024 * 1024, limitsEnforced: true, secondsRemaining: 2 * DAY / 1000 });
  const all = json(await app.inject({ method: 'GET', url: `/api/v1/networks/${network.id}/sessions`, headers: operator.auth })).sessions;
  t.match(all, [{ mac: mac(1), downKbps: 4096, upKbps: 1024, bytesRemaining: 300 * 1024 * 1024, limitsEnforced: true }]);
  // The cache is dropped: the same answer is read back from PostgreSQL.
  await svc.cache.del(`session:${mac(1)}`);
  t.match(json(await app.inject({ method: 'GET', url: `/api/v1/networks/${network.id}/sessions/${mac(1)}`, headers: operator.auth })), {
    downKbps: 4096,
    bytesRemaining: 300 * 1024 * 1024,
  });

  const open = await makeToken(svc, contract.id, { durationDays: null });
  await activateToken(svc, { networkId: network.id, mac: mac(2), code: open.code, now: clock.now() });
  t.match(json(await app.inject({ method: 'GET', url: `/api/v1/networks/${network.id}/sessions/${mac(2)}`, headers: operator.auth })), {
    authorized: true,
    downKbps: null,
    upKbps: null,
    bytesRemaining: null,
  });

  // A controller that cannot enforce limits says so, on every answer for its network.
  const kinds: Array<[ControllerKind, NetworkSettings, boolean]> = [
    ['meraki', {}, false],
    ['opennds', { faskey: 'k' }, false],
    ['opennds', { faskey: 'k', binauthLimits: true }, true],
    ['mikrotik', {}, true],
    ['coova', {}, true],
    ['unifi', { unifiUrl: 'https://127.0.0.1:8443', username: 'u', password: 'p' }, true],
  ];
  for (const [kind, settings, enforced] of kinds) {
    const n = await makeNetwork(svc, contract.id, kind, settings);
    const state = json(await app.inject({ method: 'GET', url: `/api/v1/networks/${n.id}/sessions/${mac(1)}`, headers: operator.auth }));
    t.equal(state.limitsEnforced, enforced, `${kind} ${JSON.stringify(settings)}`);
  }
});

t.test('maxDevices: the last device takes the unused copy, a further one is refused TOKEN_DEVICE_LIMIT in Russian and English', async (t) => {
  const { app, svc, clock, contract, network, operator } = await api(t);
  const tok = await makeToken(svc, contract.id, { multiUse: true, durationDays: 1, maxDevices: 3, quotaMb: 100 });
  for (const n of [1, 2, 3]) {
    const res = await enter(app, network.id, mac(n), tok.code);
    t.equal(res.statusCode, 200, `device ${n} let through`);
  }
  const rows = json(await app.inject({ method: 'GET', url: `/api/v1/contracts/${contract.id}/tokens?code=${tok.code}`, headers: operator.auth })).tokens;
  t.equal(rows.length, 3, 'three copies, no unused one left');
  t.same(rows.map((r: { status: string }) => r.status), ['active', 'active', 'active']);
  t.ok(rows.every((r: { maxDevices: number; quotaMb: number }) => r.maxDevices === 3 && r.quotaMb === 100), 'each copy keeps the limits');

  const ru = await enter(app, network.id, mac(4), tok.code, 'ru');
  t.equal(ru.statusCode, 403);
  t.match(ru.body, /уже использован на стольких устройствах/);
  const en = await enter(app, network.id, mac(5), tok.code, 'en');
  t.equal(en.statusCode, 403);
  t.match(en.body, /as many devices as it allows/);
  const err = await activateToken(svc, { networkId: network.id, mac: mac(6), code: tok.code, now: clock.now() }).catch((e) => e);
  t.equal(`${err.status} ${err.code}`, '403 TOKEN_DEVICE_LIMIT');

  const again = await activateToken(svc, { networkId: network.id, mac: mac(2), code: tok.code, now: clock.now() });
  t.equal(again.existing, true, 'a device already let in comes back in');
  t.equal((await svc.db.query(`select 1 from tokens where code = $1`, [tok.code])).rowCount, 3, 'nothing new made');

  // A cap of one: the first device takes the code itself.
  const solo = await makeToken(svc, contract.id, { multiUse: true, maxDevices: 1 });
  const first = await activateToken(svc, { networkId: network.id, mac: mac(7), code: solo.code, now: clock.now() });
  t.equal(first.token.id, solo.id);
  const second = await activateToken(svc, { networkId: network.id, mac: mac(8), code: solo.code, now: clock.now() }).catch((e) => e);
  t.equal(second.code, 'TOKEN_DEVICE_LIMIT');
});

t.test('devices racing for the last slots on several instances never pass maxDevices', async (t) => {
  const env = await testEnv(t);
  const { svc, clock } = env;
  const { contract, network } = await makeSite(svc);
  const instances = [svc, await env.another(), await env.another()];
  for (const [cap, devices] of [[2, 8], [5, 12]] as const) {
    const tok = await makeToken(svc, contract.id, { multiUse: true, durationDays: 1, maxDevices: cap });
    const outcomes = await Promise.all(
      Array.from({ length: devices }, (_, i) =>
        activateToken(instances[i % instances.length], { networkId: network.id, mac: mac(1000 * cap + i), code: tok.code, now: clock.now() }).then(
          () => 'in',
          (e) => e.code as string,
        ),
      ),
    );
    t.equal(outcomes.filter((o) => o === 'in').length, cap, `exactly ${cap} of ${devices} devices let in`);
    t.same([...new Set(outcomes.filter((o) => o !== 'in'))], ['TOKEN_DEVICE_LIMIT'], 'the others are refused for the cap');
    const { rows } = await svc.db.query<{ status: string; n: number }>(
      `select status, count(*)::int as n from tokens where code = $1 group by status`,
      [tok.code],
    );
    t.same(rows, [{ status: 'active', n: cap }], 'as many active copies as the cap, no unused one');
    const live = await svc.db.query(`select 1 from identifications where code = $1 and ended_at is null`, [tok.code]);
    t.equal(live.rowCount, cap, 'as many identifications');
  }
});

t.test('plans: create, list, change, delete; names unique per contract; another contract\'s plan is 404', async (t) => {
  const { app, svc, contract, operator } = await api(t);
  const base = `/api/v1/contracts/${contract.id}/plans`;
  const created = await app.inject({
    method: 'POST',
    url: base,
    headers: operator.auth,
    payload: { name: '  Guest day  ', multiUse: true, durationDays: 1, downKbps: 5000, upKbps: 1000, quotaMb: 2000, maxDevices: 2 },
  });
  t.equal(created.statusCode, 201);
  const plan = json(created);
  t.match(plan, { name: 'Guest day', multiUse: true, durationDays: 1, downKbps: 5000, upKbps: 1000, quotaMb: 2000, maxDevices: 2, contractId: contract.id });
  const basic = json(await app.inject({ method: 'POST', url: base, headers: operator.auth, payload: { name: 'Basic' } }));
  t.match(basic, { multiUse: false, durationDays: null, downKbps: null, quotaMb: null, maxDevices: null }, 'absent fields: single-use, unlimited');

  const dup = await app.inject({ method: 'POST', url: base, headers: operator.auth, payload: { name: 'GUEST DAY' } });
  t.equal(dup.statusCode, 409);
  t.equal(json(dup).error.code, 'PLAN_NAME_TAKEN');
  const bad = async (payload: Record<string, unknown>) => {
    const res = await app.inject({ method: 'POST', url: base, headers: operator.auth, payload });
    return `${res.statusCode} ${json(res).error.code}`;
  };
  t.equal(await bad({ name: '   ' }), '422 INVALID_PLAN_NAME');
  t.equal(await bad({ name: 'x'.repeat(101) }), '422 INVALID_PLAN_NAME');
  t.equal(await bad({ name: 'a\u0000b' }), '400 INVALID_TEXT');
  t.equal(await bad({ name: 'Cap', maxDevices: 2 }), '422 MAX_DEVICES_SINGLE_USE');
  t.equal(await bad({ name: 'Slow', downKbps: 0 }), '400 VALIDATION_ERROR');
  t.equal(await bad({ name: 'Long', durationDays: 31 }), '400 VALIDATION_ERROR');

  const listed = json(await app.inject({ method: 'GET', url: base, headers: operator.auth })).plans;
  t.same(listed.map((p: { name: string }) => p.name), ['Basic', 'Guest day']);

  const patched = await app.inject({ method: 'PATCH', url: `/api/v1/plans/${plan.id}`, headers: operator.auth, payload: { downKbps: 8000, quotaMb: null } });
  t.equal(patched.statusCode, 200);
  t.match(json(patched), { name: 'Guest day', downKbps: 8000, quotaMb: null, maxDevices: 2 }, 'only the given fields change');
  const clash = await app.inject({ method: 'PATCH', url: `/api/v1/plans/${basic.id}`, headers: operator.auth, payload: { name: 'guest day' } });
  t.equal(`${clash.statusCode} ${json(clash).error.code}`, '409 PLAN_NAME_TAKEN');
  const single = await app.inject({ method: 'PATCH', url: `/api/v1/plans/${plan.id}`, headers: operator.auth, payload: { multiUse: false } });
  t.equal(`${single.statusCode} ${json(single).error.code}`, '422 MAX_DEVICES_SINGLE_USE', 'a change may not break the rules either');

  // Another contract's operator sees none of it.
  const other = await makeContract(svc);
  const stranger = await makeUser(svc, other.id);
  t.equal((await app.inject({ method: 'GET', url: base, headers: stranger.auth })).statusCode, 404);
  t.equal((await app.inject({ method: 'PATCH', url: `/api/v1/plans/${plan.id}`, headers: stranger.auth, payload: { name: 'mine' } })).statusCode, 404);
  t.equal((await app.inject({ method: 'DELETE', url: `/api/v1/plans/${plan.id}`, headers: stranger.auth })).statusCode, 404);
  t.equal((await app.inject({ method: 'POST', url: base, headers: stranger.auth, payload: { name: 'x' } })).statusCode, 404);
  t.equal((await app.inject({ method: 'PATCH', url: `/api/v1/plans/not-a-uuid`, headers: operator.auth, payload: { name: 'x' } })).statusCode, 400);
  // The same name in another contract is fine.
  const admin = await makeUser(svc, null);
  t.equal((await app.inject({ method: 'POST', url: `/api/v1/contracts/${other.id}/plans`, headers: admin.auth, payload: { name: 'Guest day' } })).statusCode, 201);

  // An issuer reads the plans to generate from them, and changes none.
  const issuer = await makeUser(svc, contract.id, { role: 'issuer' });
  t.equal((await app.inject({ method: 'GET', url: base, headers: issuer.auth })).statusCode, 200);
  t.equal((await app.inject({ method: 'POST', url: base, headers: issuer.auth, payload: { name: 'z' } })).statusCode, 404);
  t.equal((await app.inject({ method: 'DELETE', url: `/api/v1/plans/${plan.id}`, headers: issuer.auth })).statusCode, 404);

  t.equal((await app.inject({ method: 'DELETE', url: `/api/v1/plans/${basic.id}`, headers: operator.auth })).statusCode, 204);
  t.equal((await app.inject({ method: 'DELETE', url: `/api/v1/plans/${basic.id}`, headers: operator.auth })).statusCode, 404, 'gone');
});

t.test('generating with planId copies the plan\'s values; fields given override them; a later change of the plan changes no token', async (t) => {
  const { app, svc, contract, operator } = await api(t);
  const plan = json(
    await app.inject({
      method: 'POST',
      url: `/api/v1/contracts/${contract.id}/plans`,
      headers: operator.auth,
      payload: { name: 'Week', multiUse: true, durationDays: 7, downKbps: 3000, upKbps: 700, quotaMb: 1000, maxDevices: 4 },
    }),
  );
  const url = `/api/v1/contracts/${contract.id}/tokens`;
  const fromPlan = json(await app.inject({ method: 'POST', url, headers: operator.auth, payload: { count: 2, planId: plan.id } })).tokens;
  t.equal(fromPlan.length, 2);
  for (const tok of fromPlan) t.match(tok, { multiUse: true, durationDays: 7, downKbps: 3000, upKbps: 700, quotaMb: 1000, maxDevices: 4 });

  const overridden = json(
    await app.inject({ method: 'POST', url, headers: operator.auth, payload: { count: 1, planId: plan.id, durationDays: 2, quotaMb: null, downKbps: 9000 } }),
  ).tokens[0];
  t.match(overridden, { multiUse: true, durationDays: 2, downKbps: 9000, upKbps: 700, quotaMb: null, maxDevices: 4 }, 'given fields win, even null');

  const clash = await app.inject({ method: 'POST', url, headers: operator.auth, payload: { count: 1, planId: plan.id, multiUse: false } });
  t.equal(`${clash.statusCode} ${json(clash).error.code}`, '422 MAX_DEVICES_SINGLE_USE', 'the merged values are checked');

  await app.inject({ method: 'PATCH', url: `/api/v1/plans/${plan.id}`, headers: operator.auth, payload: { downKbps: 1, durationDays: 30 } });
  await app.inject({ method: 'DELETE', url: `/api/v1/plans/${plan.id}`, headers: operator.auth });
  const after = json(await app.inject({ method: 'GET', url: `/api/v1/contracts/${contract.id}/tokens?code=${fromPlan[0].code}`, headers: operator.auth })).tokens[0];
  t.match(after, { durationDays: 7, downKbps: 3000 }, 'the token keeps what it was made with');
  const gone = await app.inject({ method: 'POST', url, headers: operator.auth, payload: { count: 1, planId: plan.id } });
  t.equal(`${gone.statusCode} ${json(gone).error.code}`, '404 NOT_FOUND', 'a deleted plan');

  // Another contract's plan names nothing here, even for a system administrator.
  const other = await makeContract(svc);
  const admin = await makeUser(svc, null);
  const foreign = json(await app.inject({ method: 'POST', url: `/api/v1/contracts/${other.id}/plans`, headers: admin.auth, payload: { name: 'Theirs' } }));
  const viaAdmin = await app.inject({ method: 'POST', url, headers: admin.auth, payload: { count: 1, planId: foreign.id } });
  t.equal(viaAdmin.statusCode, 404);
  const viaOperator = await app.inject({ method: 'POST', url, headers: operator.auth, payload: { count: 1, planId: foreign.id } });
  t.equal(viaOperator.statusCode, 404);
  t.equal(
    (await svc.db.query(`select 1 from tokens where contract_id = $1`, [contract.id])).rowCount,
    3,
    'no refused request made a token',
  );
});

t.test('extend: an active copy gets more days and quota; session state and the RADIUS answer change at once', async (t) => {
  const { app, svc, clock, contract, operator } = await api(t);
  const network = await makeNetwork(svc, contract.id, 'generic', { nasIdentifier: 'ext-ap' });
  const tok = await makeToken(svc, contract.id, { durationDays: 1, quotaMb: 100, downKbps: 1000 });
  const a = await activateToken(svc, { networkId: network.id, mac: mac(1), code: tok.code, now: clock.now() });
  // Read once so that the cache holds the session before the extension.
  const before = json(await app.inject({ method: 'GET', url: `/api/v1/networks/${network.id}/sessions/${mac(1)}`, headers: operator.auth }));
  t.equal(before.secondsRemaining, 86_400);
  clock.advance(3_600_000);

  const res = await app.inject({ method: 'POST', url: `/api/v1/tokens/${tok.id}/extend`, headers: operator.auth, payload: { days: 2, quotaMb: 50 } });
  t.equal(res.statusCode, 200);
  const extended = json(res);
  const newExpiry = new Date(a.token.expires_at!.getTime() + 2 * DAY).toISOString();
  t.match(extended, { id: tok.id, status: 'active', expiresAt: newExpiry, quotaMb: 150, extendedAt: clock.now().toISOString(), durationDays: 1 });
  const { rows } = await svc.db.query<{ expires_at: Date }>(`select expires_at from identifications where token_id = $1 and ended_at is null`, [tok.id]);
  t.equal(rows[0].expires_at.toISOString(), newExpiry, 'the identification\'s expiry moved too');
  const state = json(await app.inject({ method: 'GET', url: `/api/v1/networks/${network.id}/sessions/${mac(1)}`, headers: operator.auth }));
  t.match(state, { expiresAt: newExpiry, secondsRemaining: 3 * 86_400 - 3600, bytesRemaining: 150 * 1024 * 1024, downKbps: 1000 }, 'the cached answer changed at once');
  const radius = await app.inject({
    method: 'POST',
    url: '/api/v1/radius/authorize',
    headers: operator.auth,
    payload: { 'Calling-Station-Id': mac(1), 'NAS-Identifier': 'ext-ap' },
  });
  t.equal(radius.statusCode, 200);
  t.same(json(radius), { 'reply:Session-Timeout': 3 * 86_400 - 3600, 'reply:WISPr-Bandwidth-Max-Down': 1_000_000 });

  const onlyQuota = json(await app.inject({ method: 'POST', url: `/api/v1/tokens/${tok.id}/extend`, headers: operator.auth, payload: { quotaMb: 10 } }));
  t.match(onlyQuota, { quotaMb: 160, expiresAt: newExpiry });

  const refused = async (id: string, payload: Record<string, unknown>, who = operator.auth) => {
    const r = await app.inject({ method: 'POST', url: `/api/v1/tokens/${id}/extend`, headers: who, payload });
    return `${r.statusCode} ${json(r).error.code}`;
  };
  t.equal(await refused(tok.id, {}), '400 VALIDATION_ERROR', 'nothing to add');
  t.equal(await refused(tok.id, { days: 0 }), '400 VALIDATION_ERROR');
  t.equal(await refused(tok.id, { days: 31 }), '400 VALIDATION_ERROR');
  t.equal(await refused(tok.id, { quotaMb: 10_000_001 }), '400 VALIDATION_ERROR');
  t.equal(await refused(tok.id, { hours: 5 }), '400 VALIDATION_ERROR');
  // A year from activation at most: 3 days now, 12 × 30 more would pass 366.
  for (let i = 0; i < 12; i++) {
    const step = await app.inject({ method: 'POST', url: `/api/v1/tokens/${tok.id}/extend`, headers: operator.auth, payload: { days: 30 } });
    t.equal(step.statusCode, 200, `extension ${i + 1} fits within a year`);
  }
  t.equal(await refused(tok.id, { days: 30 }), '422 EXTENSION_TOO_LONG');

  const unused = await makeToken(svc, contract.id, { durationDays: 1, quotaMb: 5 });
  t.equal(await refused(unused.id, { days: 1 }), '409 TOKEN_NOT_ACTIVE', 'an unused token');
  const open = await makeToken(svc, contract.id, { durationDays: null });
  await activateToken(svc, { networkId: network.id, mac: mac(2), code: open.code, now: clock.now() });
  t.equal(await refused(open.id, { days: 1 }), '422 TOKEN_TERM_UNLIMITED');
  t.equal(await refused(open.id, { quotaMb: 1 }), '422 TOKEN_QUOTA_UNLIMITED');
  await app.inject({ method: 'POST', url: `/api/v1/tokens/${open.id}/annul`, headers: operator.auth });
  t.equal(await refused(open.id, { days: 1 }), '409 TOKEN_NOT_ACTIVE', 'an annulled copy');
  const short = await makeToken(svc, contract.id, { durationDays: 1 });
  await activateToken(svc, { networkId: network.id, mac: mac(3), code: short.code, now: clock.now() });
  clock.advance(DAY);
  t.equal(await refused(short.id, { days: 1 }), '409 TOKEN_NOT_ACTIVE', 'past its term, swept or not');

  const other = await makeUser(svc, (await makeContract(svc)).id);
  t.equal(await refused(tok.id, { days: 1 }, other.auth), '404 NOT_FOUND', 'another contract\'s token');
  const issuer = await makeUser(svc, contract.id, { role: 'issuer' });
  t.equal(await refused(tok.id, { days: 1 }, issuer.auth), '404 NOT_FOUND', 'an issuer may not extend');
  t.equal(await refused('00000000-0000-0000-0000-000000000000', { days: 1 }), '404 NOT_FOUND');
});

t.test('the slips PDF states each token\'s limits in Russian and English', async (t) => {
  const { app, svc, contract, operator } = await api(t);
  await makeToken(svc, contract.id, { multiUse: true, durationDays: 3, downKbps: 10000, upKbps: 512, quotaMb: 500, maxDevices: 3 });
  await makeToken(svc, contract.id, { durationDays: 1 });
  const res = await app.inject({ method: 'GET', url: `/api/v1/contracts/${contract.id}/tokens.pdf`, headers: operator.auth });
  t.equal(res.statusCode, 200);
  const dir = mkdtempSync(path.join(tmpdir(), 'kalitka-limits-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'slips.pdf'), res.rawPayload);
  const text = execFileSync('pdftotext', [path.join(dir, 'slips.pdf'), '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
  const line = 'Скорость ↓ 10 Мбит/с ↑ 512 кбит/с · Трафик 500 МБ · Устройств 3 / Speed ↓ 10 Mbit/s ↑ 512 kbit/s · Data 500 MB · Devices 3';
  t.equal(text.split(line).length - 1, 1, 'on the guest\'s copy of the limited token');
  t.equal(text.split('Скорость').length - 1, 1, 'and on no other slip');
});

t.test('kalitka_limit_attributes at the edges: 32-bit clamps, exact gigawords, a missing limit is never sent', async (t) => {
  const { svc } = await testEnv(t);
  const attrs = async (controller: string, down: number | null, up: number | null, bytes: number | null) =>
    Object.fromEntries((await limitAttributes(svc.db, { controller, downKbps: down, upKbps: up, bytes })).map((a) => [a.attribute, a.value]));
  t.same(await attrs('mikrotik', 10_000_000, 1, 4 * 1024 ** 3), {
    'WISPr-Bandwidth-Max-Down': '4294967295', // 10 Gbit/s does not fit 32 bits
    'WISPr-Bandwidth-Max-Up': '1000',
    'Mikrotik-Rate-Limit': '1k/10000000k',
    'Mikrotik-Total-Limit': '0',
    'Mikrotik-Total-Limit-Gigawords': '1',
  });
  t.same(await attrs('mikrotik', null, 64, null), { 'WISPr-Bandwidth-Max-Up': '64000', 'Mikrotik-Rate-Limit': '64k/0' });
  t.same(await attrs('mikrotik', null, null, 0), { 'Mikrotik-Total-Limit': '1', 'Mikrotik-Total-Limit-Gigawords': '0' }, 'a quota used up is 1 byte, never 0 ("none")');
  t.same(await attrs('coova', null, null, 10_000_000 * 1024 * 1024), { 'ChilliSpot-Max-Total-Octets': '4294967295' });
  t.same(await attrs('coova', 300, null, 4294967295), { 'WISPr-Bandwidth-Max-Down': '300000', 'ChilliSpot-Bandwidth-Max-Down': '300', 'ChilliSpot-Max-Total-Octets': '4294967295' });
  t.same(await attrs('unifi', 300, 200, 5), { 'WISPr-Bandwidth-Max-Down': '300000', 'WISPr-Bandwidth-Max-Up': '200000' }, 'other kinds: WISPr only');
  t.same(await attrs('generic', null, null, null), {});
});

t.test('bytesRemaining is the quota less what accounting charged, in session state and in the RADIUS limit attributes', async (t) => {
  const { app, svc, clock, contract, operator } = await api(t);
  const network = await makeNetwork(svc, contract.id, 'mikrotik', { nasIdentifier: 'acct-ap' });
  const tok = await makeToken(svc, contract.id, { durationDays: 1, quotaMb: 10 });
  await activateToken(svc, { networkId: network.id, mac: mac(1), code: tok.code, now: clock.now() });
  const account = await app.inject({
    method: 'POST',
    url: '/api/v1/radius/accounting',
    headers: operator.auth,
    payload: { 'Acct-Status-Type': 'Interim-Update', 'Acct-Session-Id': 's1', 'Calling-Station-Id': mac(1), 'NAS-Identifier': 'acct-ap', 'Acct-Input-Octets': '1000000', 'Acct-Output-Octets': '2000000' },
  });
  t.equal(account.statusCode, 204);
  const left = 10 * 1024 * 1024 - 3_000_000;
  const state = json(await app.inject({ method: 'GET', url: `/api/v1/networks/${network.id}/sessions/${mac(1)}`, headers: operator.auth }));
  t.equal(state.bytesRemaining, left);
  const listed = json(await app.inject({ method: 'GET', url: `/api/v1/networks/${network.id}/sessions`, headers: operator.auth })).sessions;
  t.equal(listed[0].bytesRemaining, left, 'the list says the same');
  const radius = json(await app.inject({ method: 'POST', url: '/api/v1/radius/authorize', headers: operator.auth, payload: { 'Calling-Station-Id': mac(1), 'NAS-Identifier': 'acct-ap' } }));
  t.equal(radius['reply:Mikrotik-Total-Limit'], left, 'REST: what is left');
  const sql = (await svc.db.query<{ attribute: string; value: string }>(`select attribute, value from kalitka_radius_check('acct-ap', $1, null, $2)`, [mac(1), clock.now()])).rows;
  t.same(sql.find((r) => r.attribute === 'Mikrotik-Total-Limit')?.value, String(left), 'SQL: the same');
});
