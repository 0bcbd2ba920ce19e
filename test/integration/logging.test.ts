import { Writable } from 'node:stream';
import t, { type Test } from 'tap';
import { loadConfig } from '../../src/config.js';
import { createApiToken } from '../../src/domain/apiTokens.js';
import { createUser } from '../../src/domain/users.js';
import { PROCESS_ACTOR } from '../../src/domain/actor.js';
import { buildApp } from '../../src/http/app.js';
import { createLogger } from '../../src/log.js';
import { openServices } from '../../src/services.js';

/** An app on an in-memory store logging at info into a string (`logged()`). */
async function loggedApp(t: Test) {
  let logged = '';
  const sink = new Writable({
    write(chunk, _enc, done) {
      logged += chunk;
      done();
    },
  });
  const config = loadConfig({ KALITKA_DATA_DIR: 'memory://', LOG_LEVEL: 'info' });
  const svc = await openServices(config, createLogger('info', sink));
  const app = await buildApp(svc);
  t.teardown(async () => {
    await app.close();
    await svc.close();
  });
  return { svc, app, logged: () => logged };
}

t.test('request logs never contain the Authorization header or token secrets', async (t) => {
  const { svc, app, logged } = await loggedApp(t);
  const user = await createUser(svc, PROCESS_ACTOR, { login: 'ops', password: null, contractId: null, tokenLoginAllowed: true, now: svc.now() });
  const { token } = await createApiToken(svc, { userId: user.id, label: 'x', now: svc.now() });
  const res = await app.inject({ method: 'GET', url: '/api/v1/contracts', headers: { authorization: `Bearer ${token}`, cookie: 'session=abc123secret' } });
  t.equal(res.statusCode, 200);
  svc.log.info({ token, password: 'hunter22', nested: { secret: 's3cr3t' } }, 'something with secrets');
  t.match(logged(), /"url":"\/api\/v1\/contracts"/, 'the request was logged');
  t.notMatch(logged(), new RegExp(token.slice(4)), 'no API token');
  t.notMatch(logged(), /abc123secret|hunter22|s3cr3t/, 'no cookie, password or secret');
  t.match(logged(), /\[redacted\]/);
});

t.test('RADIUS and session polls write no line per request at info, and do at debug', async (t) => {
  for (const level of ['info', 'debug'] as const) {
    let logged = '';
    const sink = new Writable({
      write(chunk, _enc, done) {
        logged += chunk;
        done();
      },
    });
    const config = loadConfig({ KALITKA_DATA_DIR: 'memory://', LOG_LEVEL: level });
    const svc = await openServices(config, createLogger(level, sink));
    const app = await buildApp(svc);
    const user = await createUser(svc, PROCESS_ACTOR, { login: 'radius', password: null, contractId: null, tokenLoginAllowed: true, now: svc.now() });
    const { token } = await createApiToken(svc, { userId: user.id, label: 'x', now: svc.now() });
    const headers = { authorization: `Bearer ${token}` };
    const radius = await app.inject({
      method: 'POST',
      url: '/api/v1/radius/authorize',
      headers,
      payload: { 'Calling-Station-Id': { type: 'string', value: ['AA-BB-CC-DD-EE-FF'] }, 'NAS-Identifier': { type: 'string', value: ['nowhere'] } },
    });
    t.equal(radius.statusCode, 404, 'an unknown NAS is answered');
    const poll = await app.inject({ method: 'GET', url: '/api/v1/networks/00000000-0000-4000-8000-000000000000/sessions/AA-BB-CC-DD-EE-FF', headers });
    t.equal(poll.statusCode, 404);
    const other = await app.inject({ method: 'GET', url: '/api/v1/contracts', headers });
    t.equal(other.statusCode, 200);
    const lines = logged.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { req?: { url?: string }; msg: string });
    const about = (path: string) => lines.filter((l) => l.req?.url?.startsWith(path));
    if (level === 'info') {
      t.same(about('/api/v1/radius'), [], 'no RADIUS line at info');
      t.same(about('/api/v1/networks'), [], 'no session-poll line at info');
      t.ok(about('/api/v1/contracts').length > 0, 'other routes still log their requests');
    } else {
      t.ok(about('/api/v1/radius').length > 0, 'RADIUS requests are logged at debug');
    }
    await app.close();
    await svc.close();
  }
});

t.test("request logs blank the SMSC callback's ?token= secret, a caller's number and a filtered voucher code", async (t) => {
  const { app, logged } = await loggedApp(t);
  const secret = 'Zq8v1Kp3Lm5Nx7Bc9Df2Gh4Jk6Ws0Ty';
  const url = `/api/v1/phone/callbacks/smsc/00000000-0000-4000-8000-000000000000?lang=ru&token=${secret}&phone=79123456789`;
  const res = await app.inject({ method: 'POST', url, headers: { 'content-type': 'text/plain' }, payload: 'x' });
  t.equal(res.statusCode, 404);
  t.match(logged(), /"url":"\/api\/v1\/phone\/callbacks\/smsc\/00000000-0000-4000-8000-000000000000\?lang=ru&token=\[redacted\]&phone=\[redacted\]"/, 'the request was logged, its token blanked');
  t.notMatch(logged(), new RegExp(secret), 'no callback token');
  t.notMatch(logged(), /79123456789/, "no caller's number");
  await app.inject({ method: 'GET', url: '/admin/tokens?code=1001+2345+6789' });
  t.match(logged(), /"url":"\/admin\/tokens\?code=\[redacted\]"/, 'nor a voucher code a token list was filtered by');
});
