import { Writable } from 'node:stream';
import t from 'tap';
import { loadConfig } from '../../src/config.js';
import { createApiToken } from '../../src/domain/apiTokens.js';
import { createUser } from '../../src/domain/users.js';
import { PROCESS_ACTOR } from '../../src/domain/actor.js';
import { buildApp } from '../../src/http/app.js';
import { createLogger } from '../../src/log.js';
import { openServices } from '../../src/services.js';

t.test('request logs never contain the Authorization header or token secrets', async (t) => {
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
  const user = await createUser(svc, PROCESS_ACTOR, { login: 'ops', password: null, contractId: null, tokenLoginAllowed: true, now: svc.now() });
  const { token } = await createApiToken(svc, { userId: user.id, label: 'x', now: svc.now() });
  const res = await app.inject({ method: 'GET', url: '/api/v1/contracts', headers: { authorization: `Bearer ${token}`, cookie: 'session=abc123secret' } });
  t.equal(res.statusCode, 200);
  svc.log.info({ token, password: 'hunter22', nested: { secret: 's3cr3t' } }, 'something with secrets');
  t.match(logged, /"url":"\/api\/v1\/contracts"/, 'the request was logged');
  t.notMatch(logged, new RegExp(token.slice(4)), 'no API token');
  t.notMatch(logged, /abc123secret|hunter22|s3cr3t/, 'no cookie, password or secret');
  t.match(logged, /\[redacted\]/);
});
