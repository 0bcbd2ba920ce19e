import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';

const BIN = path.join('/usr/lib/postgresql', readdirSync('/usr/lib/postgresql').sort().at(-1)!, 'bin');

/**
 * A PostgreSQL cluster of the test's own (initdb in a temp dir, trust auth, loopback only) that
 * the test may stop and start. PostgreSQL refuses to run as root, so as root it runs as `postgres`.
 */
export function privatePostgres(t: Test, port: number) {
  const dir = mkdtempSync('/tmp/kalitka-pg-');
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    const pgUid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const pgGid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    chownSync(dir, pgUid, pgGid);
  }
  const run = (cmd: string, args: string[]) =>
    execFileSync(asRoot ? 'runuser' : path.join(BIN, cmd), asRoot ? ['-u', 'postgres', '--', path.join(BIN, cmd), ...args] : args, {
      stdio: 'pipe',
      timeout: 60_000,
    });
  run('initdb', ['-D', path.join(dir, 'data'), '--auth=trust', '-U', 'postgres', '--no-sync']);
  const ctl = (action: 'start' | 'stop') =>
    action === 'start'
      ? run('pg_ctl', ['-D', path.join(dir, 'data'), '-l', path.join(dir, 'log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start'])
      : run('pg_ctl', ['-D', path.join(dir, 'data'), '-m', 'fast', '-w', 'stop']);
  ctl('start');
  t.teardown(() => {
    try {
      ctl('stop');
    } catch {
      // already stopped
    }
  });
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, stop: () => ctl('stop'), start: () => ctl('start') };
}
