import t from 'tap';
import Fastify from 'fastify';
import { ConfigError, loadConfig } from '../../src/config.js';

t.test('defaults follow the design', async (t) => {
  const c = loadConfig({});
  t.equal(c.port, 8080);
  t.equal(c.host, '0.0.0.0');
  t.equal(c.databaseUrl, null);
  t.equal(c.redisUrl, null);
  t.equal(c.dataDir, './data');
  t.same([...c.roles].sort(), ['admin', 'portal', 'worker']);
  t.equal(c.expireCron, '* * * * *');
  t.equal(c.redisPrefix, 'kalitka:');
  t.equal(c.maxFailsPerDevice, 5);
  t.equal(c.maxFailsPerIp, 30);
  t.equal(c.failWindowS, 600);
  t.equal(c.retentionDays, 183);
  t.equal(c.logLevel, 'info');
});

t.test('TRUST_PROXY takes what the HTTP server takes', async (t) => {
  const accepted = ['true', '*', '127.0.0.1', '10.0.0.0/8, 192.168.0.0/255.255.0.0', 'loopback,uniquelocal', '::1', 'fd00::/8', '10.0.0.0/32', '10.0.0.0/255.255.255.255', '::1/128'];
  for (const value of accepted) {
    t.equal(loadConfig({ TRUST_PROXY: value }).trustProxy, value, value);
    // And the HTTP server takes it as it is (fastify compiles the list with proxy-addr at start).
    const app = Fastify({ trustProxy: ['true', '*'].includes(value) ? true : value.split(',').map((v) => v.trim()) });
    await app.ready();
    await app.close();
  }
  t.equal(loadConfig({ TRUST_PROXY: '' }).trustProxy, null);
});

t.test('a bad value stops the start with one line naming the variable', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: 'eighty' }, /^PORT: /],
    [{ PORT: '70000' }, /^PORT: /],
    [{ DATABASE_URL: 'mysql://x' }, /^DATABASE_URL: /],
    [{ DATABASE_URL: 'not a url' }, /^DATABASE_URL: /],
    [{ REDIS_URL: 'http://x' }, /^REDIS_URL: /],
    [{ KALITKA_ROLES: 'portal,cook' }, /^KALITKA_ROLES: unknown role "cook"/],
    [{ KALITKA_ADMIN_TOKEN: 'short' }, /^KALITKA_ADMIN_TOKEN: /],
    [{ KALITKA_ADMIN_TOKEN: 'x'.repeat(31) + '!' }, /^KALITKA_ADMIN_TOKEN: /],
    [{ EXPIRE_CRON: 'every minute' }, /^EXPIRE_CRON: /],
    [{ PORTAL_MAX_FAILS_PER_DEVICE: '0' }, /^PORTAL_MAX_FAILS_PER_DEVICE: /],
    [{ PORTAL_FAIL_WINDOW_S: '-5' }, /^PORTAL_FAIL_WINDOW_S: /],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL: /],
    [{ KALITKA_SECRET: 'tiny' }, /^KALITKA_SECRET: /],
    [{ TRUST_PROXY: 'notanip' }, /^TRUST_PROXY: "notanip" is not an address/],
    [{ TRUST_PROXY: '10.0.0.1,10.0.0.0/33' }, /^TRUST_PROXY: "10.0.0.0\/33"/],
    [{ TRUST_PROXY: '::1/129' }, /^TRUST_PROXY: /],
    [{ TRUST_PROXY: '10.0.0.0/8/8' }, /^TRUST_PROXY: /],
    // What fastify's proxy-addr refuses at start: a zero or non-contiguous range ("everyone" is `true`).
    ...['0.0.0.0/0', '::/0', '10.0.0.0/255.0.255.0', '10.0.0.0/0.0.0.0', '10.0.0.0/000', '10.0.0.0/08'].map(
      (v): [Record<string, string>, RegExp] => [{ TRUST_PROXY: v }, /^TRUST_PROXY: .*or true\)$/],
    ),
  ];
  for (const [env, message] of cases) {
    t.throws(() => loadConfig(env), ConfigError, JSON.stringify(env));
    try {
      loadConfig(env);
    } catch (err) {
      t.match((err as Error).message, message);
      t.notOk((err as Error).message.includes('\n'), 'one line');
    }
  }
});

t.test('roles can be narrowed', async (t) => {
  t.same([...loadConfig({ KALITKA_ROLES: 'worker' }).roles], ['worker']);
  t.same([...loadConfig({ KALITKA_ROLES: 'portal, admin' }).roles].sort(), ['admin', 'portal']);
});

t.test('Redis Sentinel settings are checked together', async (t) => {
  const c = loadConfig({ REDIS_URL: 'redis://:pw@group/0', REDIS_SENTINELS: 's1:26379, 10.0.0.2:26380', REDIS_SENTINEL_NAME: 'mymaster' });
  t.same(c.redisSentinels, [{ host: 's1', port: 26379 }, { host: '10.0.0.2', port: 26380 }]);
  t.equal(c.redisSentinelName, 'mymaster');
  t.throws(() => loadConfig({ REDIS_URL: 'redis://x', REDIS_SENTINELS: 's1:26379' }), /^REDIS_SENTINEL_NAME: /);
  t.throws(() => loadConfig({ REDIS_URL: 'redis://x', REDIS_SENTINELS: 's1', REDIS_SENTINEL_NAME: 'm' }), /^REDIS_SENTINELS: /);
  t.throws(() => loadConfig({ REDIS_SENTINELS: 's1:1', REDIS_SENTINEL_NAME: 'm' }), /^REDIS_URL: /);
});

t.test('KALITKA_ADMIN_TOKEN accepts exactly the tokens that can sign in', async (t) => {
  const issued = 'klt_abcdefghij0123456789ABCDEFGHIJ30qLFK'; // a valid klt_ token (checksum 30qLFK)
  t.equal(loadConfig({ KALITKA_ADMIN_TOKEN: issued }).adminToken, issued);
  t.equal(loadConfig({ KALITKA_ADMIN_TOKEN: 'a'.repeat(32) }).adminToken, 'a'.repeat(32), 'the plain form, 32 characters');
  t.equal(loadConfig({ KALITKA_ADMIN_TOKEN: 'b_'.repeat(64) }).adminToken, 'b_'.repeat(64), 'the plain form, 128 characters');
  const refused: Array<[string, string]> = [
    ['klt_ + 36 characters with a bad checksum', 'klt_abcdefghij0123456789ABCDEFGHIJ30qLFL'],
    ['klt_ + 42 characters', 'klt_' + 'A'.repeat(42)],
    ['klt_ with an underscore', 'klt_abcdefghij0123456789ABCDEFGHIJ_0qLFK'],
    ['129 characters', 'c'.repeat(129)],
    ['klt_ + underscores of the plain form', 'klt_' + '_'.repeat(40)],
  ];
  for (const [what, value] of refused) {
    t.throws(() => loadConfig({ KALITKA_ADMIN_TOKEN: value }), ConfigError, what);
    try {
      loadConfig({ KALITKA_ADMIN_TOKEN: value });
    } catch (err) {
      t.match((err as Error).message, /^KALITKA_ADMIN_TOKEN: is not a token that can sign in/, what);
      t.notOk((err as Error).message.includes('\n'), 'one line');
      t.notOk((err as Error).message.includes(value), 'the value itself is not repeated');
    }
  }
});
