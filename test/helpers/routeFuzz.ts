import type { FastifyInstance } from 'fastify';
import type { Test } from 'tap';
import { buildApp } from '../../src/http/app.js';
import { dumpTables } from './dump.js';
import { makeSite, makeToken, makeUser } from './factories.js';
import { signedIn } from './panel.js';
import { testEnv } from './services.js';

/** A site with an operator and one token, served by an app with the portal's failure limits out of the way. */
export async function fuzzFixture(t: Parameters<typeof testEnv>[0]) {
  const env = await testEnv(t, { PORTAL_MAX_FAILS_PER_DEVICE: '1000000', PORTAL_MAX_FAILS_PER_IP: '1000000' });
  const app = await buildApp(env.svc);
  t.teardown(() => app.close());
  const site = await makeSite(env.svc);
  const op = await makeUser(env.svc, site.contract.id);
  const token = await makeToken(env.svc, site.contract.id);
  const snapshot = async () =>
    JSON.stringify(
      (await env.svc.db.query(`select id, status, mac, issued_to from tokens order by id`)).rows.concat(
        (await env.svc.db.query(`select count(*)::int as n from identifications`)).rows,
      ),
    );
  return { ...env, app, ...site, op, token, snapshot };
}

/** Every route the app serves, read from fastify's own route tree: a new route is covered as soon as it exists. */
function routesOf(app: FastifyInstance): Array<{ method: string; url: string }> {
  const out: Array<{ method: string; url: string }> = [];
  const stack = [''];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│├└─\s]*)(\S.*)$/u.exec(line);
    if (!m) continue;
    const depth = [...m[1]].length / 4;
    const [, segment, methods] = /^(.*?)(?: \(([A-Z, ]+)\))?$/.exec(m[2])!;
    const url = stack[depth - 1] + segment;
    stack[depth] = url;
    stack.length = depth + 1;
    for (const method of methods?.split(', ') ?? []) if (method !== 'HEAD' && !url.includes('*')) out.push({ method, url });
  }
  // Destructive calls last, so the others still find what they point at; logging out last of all.
  const rank = (r: { method: string; url: string }) => (r.url.endsWith('/logout') ? 2 : r.method === 'DELETE' || r.url.endsWith('/delete') ? 1 : 0);
  return out.sort((a, b) => rank(a) - rank(b));
}

const FIELDS = ['name', 'controller', 'count', 'multiUse', 'durationDays', 'issuedTo', 'label', 'login', 'password', 'contractId', 'tokenLoginAllowed', 'token', 'settings', 'uses', 'term', 'contract', 'back', 'from', 'status', 'code', 'lang', 'mac', 'url', 'NAS-Identifier', 'Calling-Station-Id', 'Acct-Status-Type', 'timeZone', 'disabled', 'days', 'quotaMb', 'role'];
const MEGABYTE = 'x'.repeat(1024 * 1024);
/** What a hostile client sends where text is expected; `text` marks the ones that must be 400. */
const ATTACKS: Array<{ what: string; value: unknown; text?: true }> = [
  { what: 'NUL', value: 'a\u0000b', text: true },
  { what: 'ESC', value: '\u001b[2J', text: true },
  { what: 'lone surrogate', value: '\uD800', text: true },
  { what: '1 MB string', value: MEGABYTE },
  { what: 'number', value: 123456789012 },
  { what: 'negative float', value: -1.5 },
  { what: 'boolean', value: true },
  { what: 'null', value: null },
  { what: 'array', value: ['a', 'b'] },
  { what: 'object', value: { nested: ['x'] } },
];

/** A form cannot carry a lone surrogate: URLSearchParams sends it as a real U+FFFD, which is text. */
const textAttack = (attack: (typeof ATTACKS)[number], kind: 'json' | 'form') => (kind === 'form' && attack.what === 'lone surrogate' ? undefined : attack.text);

/**
 * The routes of one part of the app ('/api/', '/admin', or everything else: the portal, status and
 * public pages), each sent NUL, invalid UTF-8, 1 MB strings, wrong types and arrays in every field
 * it reads and some it does not: none may answer 500, text attacks must be a 400, and a refusal
 * must leave every table as it was. The parts run as files of their own, so that tap runs them side
 * by side and none nears its time limit on a busy machine.
 */
export async function fuzzEveryRoute(t: Test, part: 'api' | 'panel' | 'portal', mustCover: string[]) {
  const f = await fuzzFixture(t);
  const admin = await makeUser(f.svc, null);
  const { client } = await signedIn(f.app, f.svc, null);
  await client.get(`/admin/tokens?contract=${f.contract.id}`);
  const page = await f.app.inject(`/portal/${f.network.id}?mac=aa:bb:cc:dd:ee:01`);
  const ctx = /name="ctx" value="([^"]+)"/.exec(page.body)![1];
  const apiToken = (await f.app.inject({ method: 'POST', url: '/api/v1/me/tokens', headers: admin.auth, payload: { label: 'fuzz' } })).json();
  // Last access is written once a minute per token, off the request path: let those writes land first.
  await f.app.inject({ url: '/api/v1/contracts', headers: f.op.auth });
  await new Promise((r) => setTimeout(r, 200));

  const partOf = (url: string) => (url.startsWith('/api/') ? 'api' : url.startsWith('/admin') ? 'panel' : 'portal');
  const routes = routesOf(f.app).filter((r) => partOf(r.url) === part);
  t.ok(routes.length >= 10, `found ${routes.length} routes`);
  for (const must of mustCover) {
    t.ok(routes.some((r) => `${r.method} ${r.url}` === must), `covers ${must}`);
  }
  const idFor = (url: string, name: string) => {
    if (name === 'mac') return 'AA:BB:CC:DD:EE:01';
    if (name === 'file') return 'panel.css';
    if (name === 'networkId' || /\/networks\/:id/.test(url)) return f.network.id;
    if (/\/me\/tokens\/:id|\/profile\/tokens\/:id/.test(url)) return apiToken.id;
    if (/\/contracts\/:id/.test(url)) return f.contract.id;
    if (/\/tokens\/:id/.test(url)) return f.token.id;
    if (/\/users\/:id/.test(url)) return f.op.user.id;
    return '00000000-0000-4000-8000-000000000000';
  };
  const send = async (method: string, url: string, kind: 'json' | 'form', body: unknown, query = '') => {
    const path = url.replace(/:(\w+)/g, (_, name: string) => idFor(url, name)) + query;
    const api = url.startsWith('/api/');
    const headers: Record<string, string> = api ? { ...admin.auth } : { cookie: [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
    let payload: string | Buffer | undefined;
    if (method !== 'GET' && body !== undefined) {
      if (Buffer.isBuffer(body)) payload = body;
      else if (kind === 'json') payload = JSON.stringify(body);
      else {
        const form = new URLSearchParams();
        for (const [k, v] of Object.entries(body as Record<string, unknown>)) for (const one of Array.isArray(v) ? v : [v]) form.append(k, typeof one === 'string' ? one : JSON.stringify(one));
        payload = form.toString();
      }
      headers['content-type'] = kind === 'json' ? 'application/json' : 'application/x-www-form-urlencoded';
    }
    return f.app.inject({ method: method as 'GET', url: path, headers, payload });
  };

  // Bodies that pass validation, so that one bad field at a time reaches the use case and the SQL
  // behind it (a route missing here is still fuzzed, from an empty body).
  const rlm = (value: string) => ({ type: 'string', value: [value] });
  const valid: Record<string, Record<string, unknown>> = {
    'POST /api/v1/contracts': { name: 'Fuzz' },
    'POST /api/v1/contracts/:id/networks': { name: 'Fuzz net', controller: 'generic', nasIdentifier: 'fuzz-ap' },
    'POST /api/v1/contracts/:id/tokens': { count: 1, multiUse: false, durationDays: 1 },
    'PATCH /api/v1/tokens/:id': { issuedTo: 'Ivanov' },
    'POST /api/v1/users': { login: 'fuzzer', password: 'long enough 1', contractId: f.contract.id },
    'PATCH /api/v1/users/:id': { password: 'long enough 2' },
    'POST /api/v1/me/tokens': { label: 'fuzz' },
    'POST /api/v1/radius/authorize': { 'NAS-Identifier': rlm('lobby-ap'), 'Calling-Station-Id': rlm('AA-BB-CC-DD-EE-01') },
    'POST /api/v1/radius/accounting': { 'Acct-Status-Type': 'Start', 'NAS-Identifier': 'lobby-ap', 'Calling-Station-Id': 'AA-BB-CC-DD-EE-01' },
    'POST /admin/networks': { name: 'Fuzz', controller: 'generic', settings: 'nasIdentifier=x', contract: f.contract.id },
    'POST /admin/tokens/generate': { count: '1', uses: 'single', term: '1', contract: f.contract.id },
    'POST /admin/tokens/:id/issued-to': { issuedTo: 'Ivanov', back: '/admin/tokens' },
    'POST /admin/users': { login: 'fuzzer2', password: 'long enough 1', role: 'operator', contract: f.contract.id },
    'POST /admin/profile/tokens': { label: 'fuzz2' },
    'POST /portal/:networkId/activate': { token: f.token.code },
  };

  let requests = 0;
  let refused = 0;
  let before = await dumpTables(f.svc.db);
  for (const { method, url } of routes) {
    const kind = url.startsWith('/api/') ? 'json' : 'form';
    const base: Record<string, unknown> = { ...(kind === 'form' ? { _csrf: client.lastCsrf, ctx } : {}), ...valid[`${method} ${url}`] };
    const tries: Array<{ label: string; body?: unknown; query?: string; text?: boolean }> = [];
    for (const field of new Set([...Object.keys(base).filter((k) => k !== '_csrf' && k !== 'ctx'), ...FIELDS])) {
      const attack = ATTACKS[requests++ % ATTACKS.length];
      tries.push({ label: `${field}=${attack.what}`, body: { ...base, [field]: attack.value }, text: textAttack(attack, kind) });
    }
    for (const attack of ATTACKS) tries.push({ label: `body ${attack.what}`, body: kind === 'json' ? attack.value : { ...base, token: attack.value }, text: kind === 'form' ? textAttack(attack, kind) : undefined });
    const invalid = Buffer.concat([Buffer.from(kind === 'json' ? '{"name":"' : `_csrf=${client.lastCsrf}&name=`), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from(kind === 'json' ? '"}' : '')]);
    tries.push({ label: 'invalid UTF-8 body', body: invalid, text: true });
    tries.push({ label: 'percent-encoded invalid UTF-8', body: kind === 'form' ? Buffer.from(`_csrf=${client.lastCsrf}&name=%C3%28`) : undefined, text: kind === 'form' ? true : undefined });
    tries.push({ label: 'NUL in the query', query: '?name=a%00b&code=%00&status=%00', text: true });
    tries.push({ label: 'invalid UTF-8 in the query', query: '?name=%FF%FE&lang=%C0%AF', text: true });
    tries.push({ label: '1 MB query', query: `?code=${MEGABYTE}&from=${MEGABYTE}` });
    tries.push({ label: 'repeated query keys', query: '?status=unused&status=active&contract=a&contract=b&from=1&from=2' });
    for (const attempt of tries) {
      if (method === 'GET' && attempt.body !== undefined && !attempt.query) continue;
      const res = await send(method, url, kind, attempt.body, attempt.query);
      const where = `${method} ${url} ${attempt.label}`;
      if (res.statusCode >= 500) t.fail(`${where} → ${res.statusCode} ${res.body.slice(0, 200)}`);
      // Once signed out (logout runs last), the panel answers 303 to its sign-in page before reading any body.
      const signedOut = res.statusCode === 303 && res.headers.location === '/admin/login';
      if (attempt.text && (method !== 'GET' || attempt.query) && !signedOut) {
        if (res.statusCode !== 400) t.fail(`${where} → ${res.statusCode}, not 400`);
        else if (kind === 'json' && res.json().error.code !== 'INVALID_TEXT') t.fail(`${where} → ${res.body}`);
      }
      // One dump per attempt: what the store held after the last attempt is this one's "before".
      const after = await dumpTables(f.svc.db);
      if (res.statusCode >= 400) {
        refused++;
        if (after !== before) t.fail(`${where} was refused (${res.statusCode}) but changed the store`);
      }
      before = after;
    }
  }
  t.ok(refused > routes.length * 10, `${refused} refusals, none with a 500 or a change`);
}
