import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { activateToken } from '../../src/domain/activation.js';
import { sessionState } from '../../src/domain/sessions.js';
import { makeSite, makeToken, mac } from '../helpers/factories.js';
import { freePort } from '../helpers/process.js';
import { privateRedis } from '../helpers/redis-server.js';
import { testEnv } from '../helpers/services.js';

t.test('with REDIS_SENTINELS the cache finds its primary through a real Redis Sentinel', async (t) => {
  const primary = await privateRedis(t, freePort());
  const sentinelPort = freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'kalitka-sentinel-'));
  const conf = path.join(dir, 'sentinel.conf');
  writeFileSync(conf, `port ${sentinelPort}\nbind 127.0.0.1\nsentinel monitor kalitka-primary ${new URL(primary.url).hostname} ${new URL(primary.url).port} 1\n`);
  const sentinel = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  t.teardown(() => sentinel.kill('SIGKILL'));
  await new Promise((r) => setTimeout(r, 500));

  // REDIS_URL names no reachable host: only the sentinel can tell where the primary is.
  const env = await testEnv(t, {
    REDIS_URL: 'redis://unused-host-name:1/0',
    REDIS_SENTINELS: `127.0.0.1:${sentinelPort}`,
    REDIS_SENTINEL_NAME: 'kalitka-primary',
    KALITKA_REDIS_PREFIX: 'sentinel:',
  });
  const { contract, network } = await makeSite(env.svc);
  const tok = await makeToken(env.svc, contract.id, { durationDays: null });
  await activateToken(env.svc, { networkId: network.id, mac: mac(1), code: tok.code, now: env.clock.now() });
  t.match(await primary.client.get(`sentinel:session:${mac(1)}`), /"tokenId"/, 'written to the primary the sentinel named');
  t.equal((await sessionState(env.svc, { networkId: network.id, mac: mac(1), now: env.clock.now() })).authorized, true);
});
