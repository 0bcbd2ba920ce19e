import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import type { Test } from 'tap';

/** A redis-server of the test's own on a free loopback port, which the test may pause, resume or flush. */
export async function privateRedis(t: Test, port: number) {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  t.teardown(() => {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  });
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => 100, maxRetriesPerRequest: null });
  client.on('error', () => {}); // expected while the test has it paused or stopped
  await client.connect().catch(() => {});
  for (let i = 0; i < 50; i++) {
    if ((await client.ping().catch(() => null)) === 'PONG') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  t.teardown(() => client.disconnect());
  return {
    url: `redis://127.0.0.1:${port}`,
    client,
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
  };
}
