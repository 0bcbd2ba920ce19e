import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Test } from 'tap';
import { packageRoot } from '../../src/paths.js';
import type { Queryable } from '../../src/store/db.js';

/** Path of a program on PATH or in the sbin directories (root's PATH has them; others' may not). */
export function findProgram(name: string): string | null {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin', '/sbin']) {
    if (dir && existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  return null;
}

const LIB_DIRS = ['/usr/lib/freeradius', '/usr/lib/x86_64-linux-gnu/freeradius', '/usr/lib/aarch64-linux-gnu/freeradius', '/usr/lib64/freeradius'];

async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', resolve);
  });
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** Replaces `from` in a deploy file, failing loudly when the file no longer has it. */
function substitute(text: string, from: string, to: string, file: string): string {
  if (!text.includes(from)) throw new Error(`${file} no longer contains ${JSON.stringify(from)}; update the FreeRADIUS test`);
  return text.split(from).join(to);
}

export interface RadiusServer {
  authPort: number;
  acctPort: number;
  secret: string;
  /** Everything FreeRADIUS printed so far (for failure messages). */
  output(): string;
  /** The HTTP status rlm_rest last got from Kalitka in what FreeRADIUS printed after `from`. */
  restStatus(from: number): number | null;
  stop(): Promise<void>;
}

/**
 * Which shipped setup: `rest` (install.sh: rlm_rest → Kalitka's HTTP API) or `sql` (install.sh --sql:
 * rlm_sql → Kalitka's PostgreSQL, `radiusDb` being the libpq connection string README says to set).
 */
export type RaddbVariant = { kalitkaUrl: string; apiToken: string } | { sql: { radiusDb: string } };

type StartOptions = RaddbVariant & { binary: string; readyTimeoutMs?: number };

class PortTaken extends Error {}

/** Debian's stock configuration tree, which the test copies and applies deploy/freeradius to. */
export const STOCK_RADDB = process.env.KALITKA_TEST_RADDB ?? '/etc/freeradius/3.0';

/**
 * Starts FreeRADIUS in the foreground on a copy of Debian's stock configuration tree with
 * deploy/freeradius/install.sh applied and README's edits made (connect_uri, api_token), after
 * `freeradius -XC` has passed on it. Test-only changes: free loopback ports instead of 1812/1813,
 * and the stock `localhost` client's secret. A port another test process took between our probe
 * and FreeRADIUS's bind means a new try.
 */
export async function startFreeRadius(opts: StartOptions): Promise<RadiusServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      if (!(err instanceof PortTaken) || attempt >= 3) throw err;
    }
  }
}

/**
 * FreeRADIUS with the rest setup (install.sh: rlm_rest) in front of `app`, which this starts
 * listening on a loopback port. The test's teardown stops FreeRADIUS before the app closes, so its
 * keep-alive connections do not hold the app open.
 */
export async function startFreeRadiusForApp(t: Test, app: FastifyInstance, opts: { binary: string; apiToken: string }): Promise<RadiusServer> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  let radius: RadiusServer | null = null;
  t.teardown(async () => {
    await radius?.stop();
    await app.close();
  });
  radius = await startFreeRadius({ binary: opts.binary, kalitkaUrl: `http://127.0.0.1:${port}`, apiToken: opts.apiToken });
  return radius;
}

/** The libpq connection string for rlm_sql's radius_db: the test's database, in the test's schema. */
export function radiusDb(url: string, schema: string): string {
  const u = new URL(url);
  const parts = [`dbname=${u.pathname.slice(1)}`, `host=${u.hostname}`, `port=${u.port || 5432}`, `user=${decodeURIComponent(u.username || 'postgres')}`];
  if (u.password) parts.push(`password=${decodeURIComponent(u.password)}`);
  return `${parts.join(' ')} options='-c search_path=${schema}'`;
}

/**
 * FreeRADIUS with the SQL setup (install.sh --sql) asking the test's PostgreSQL (`databaseUrl`) in
 * the schema `db` works in; stopped at the test's end.
 */
export async function startSqlFreeRadius(t: Test, db: Queryable, opts: { binary: string; databaseUrl: string }): Promise<RadiusServer> {
  const schema = (await db.query<{ s: string }>('select current_schema() as s')).rows[0].s;
  const radius = await startFreeRadius({ binary: opts.binary, sql: { radiusDb: radiusDb(opts.databaseUrl, schema) } });
  t.teardown(() => radius.stop());
  return radius;
}

/** Runs a program to its end; rejects with its output when it exits non-zero. */
async function run(binary: string, args: string[]): Promise<string> {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`${binary} ${args.join(' ')} exited ${code}:\n${out.slice(-4000)}`);
  return out;
}

/** Copies the stock tree and applies the documented steps; returns the copy's path. */
export async function preparedRaddb(opts: RaddbVariant & { authPort: number; acctPort: number }): Promise<string> {
  if (!existsSync(path.join(STOCK_RADDB, 'radiusd.conf'))) throw new Error(`${STOCK_RADDB} not found: install the Debian package freeradius`);
  const lib = 'sql' in opts ? 'rlm_sql_postgresql.so' : 'rlm_rest.so';
  if (!LIB_DIRS.some((d) => existsSync(path.join(d, lib)))) {
    throw new Error(`${lib} not found: install the Debian package ${'sql' in opts ? 'freeradius-postgresql' : 'freeradius-rest'}`);
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kalitka-raddb-'));
  // cp -a keeps the stock owners and modes (root:freerad, 0640): FreeRADIUS reads some files
  // after it has dropped to the freerad user, as the installed service does.
  await run('cp', ['-a', `${STOCK_RADDB}/.`, dir]);
  const top = await stat(STOCK_RADDB);
  await chown(dir, top.uid, top.gid).catch(() => null); // not root: the tree is ours anyway
  await chmod(dir, top.mode & 0o7777);
  const install = path.join(packageRoot, 'deploy', 'freeradius', 'install.sh');
  await run('sh', 'sql' in opts ? [install, '--sql', dir] : [install, dir]);
  const edit = async (file: string, changes: Array<[string, string]>) => {
    let text = await readFile(path.join(dir, file), 'utf8');
    for (const [from, to] of changes) text = substitute(text, from, to, file);
    await writeFile(path.join(dir, file), text);
  };
  const testPorts: Array<[string, string]> = [
    // Test-only: free loopback ports, so parallel test files do not meet.
    ['port = 1812', `port = ${opts.authPort}`],
    ['port = 1813', `port = ${opts.acctPort}`],
    ['ipaddr = *', 'ipaddr = 127.0.0.1'],
  ];
  if ('sql' in opts) {
    // README's edit: Kalitka's database.
    await edit('mods-available/kalitka_sql', [
      ['dbname=kalitka host=127.0.0.1 port=5432 user=freeradius password=REPLACE_WITH_THE_PASSWORD', opts.sql.radiusDb],
    ]);
    await edit('sites-available/kalitka_sql', testPorts);
    return dir;
  }
  // README's edits: where Kalitka listens, and the API token.
  await edit('mods-available/kalitka', [['http://127.0.0.1:8080', opts.kalitkaUrl]]);
  await edit('sites-available/kalitka', [
    ['klt_REPLACE_WITH_YOUR_API_TOKEN', opts.apiToken],
    ...testPorts,
  ]);
  return dir;
}

async function startOnce(opts: StartOptions): Promise<RadiusServer> {
  const binary = opts.binary;
  const [authPort, acctPort] = [await freeUdpPort(), await freeUdpPort()];
  // The stock clients.conf's `localhost` client (127.0.0.1, secret testing123), as README's example uses.
  const secret = 'testing123';
  const dir = await preparedRaddb({ ...opts, authPort, acctPort });
  // As README says: check the configuration before starting.
  await run(binary, ['-XC', '-d', dir]).catch(async (err) => {
    await rm(dir, { recursive: true, force: true });
    throw err;
  });

  let out = '';
  const child: ChildProcess = spawn(binary, ['-X', '-d', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  // A few kilobytes per request: the whole of a test's output fits in memory.
  const keep = (chunk: Buffer) => (out += chunk.toString());
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  while (!out.includes('Ready to process requests')) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      if (/Address already in use/i.test(out)) throw new PortTaken(out.slice(-1000));
      throw new Error(`FreeRADIUS exited before it was ready:\n${out.slice(-4000)}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`FreeRADIUS was not ready in time:\n${out.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const restStatus = (from: number) => {
    const found = [...out.slice(from).matchAll(/kalitka:\s+Status : (\d{3})/g)];
    return found.length ? Number(found[found.length - 1][1]) : null;
  };
  return { authPort, acctPort, secret, output: () => out, restStatus, stop };
}

export interface RadclientResult {
  /** The packet type received, e.g. `Access-Accept`; null when none came. */
  received: string | null;
  /** Attributes of the reply, name → value as radclient prints them. */
  attributes: Record<string, string>;
  raw: string;
}

/**
 * Sends one packet with radclient and reads its answer. Asynchronous on purpose: FreeRADIUS asks
 * the Kalitka in this very process, which must keep serving meanwhile.
 */
export async function radclient(port: number, kind: 'auth' | 'acct', secret: string, attributes: Record<string, string>): Promise<RadclientResult> {
  const binary = findProgram('radclient');
  if (!binary) throw new Error('radclient not found: install the Debian package freeradius-utils');
  const input = Object.entries(attributes).map(([k, v]) => `${k} = "${v}"`).join('\n') + '\n';
  const child = spawn(binary, ['-x', '-r', '2', '-t', '5', `127.0.0.1:${port}`, kind, secret], { stdio: ['pipe', 'pipe', 'pipe'] });
  let raw = '';
  child.stdout!.on('data', (c: Buffer) => (raw += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (raw += c.toString()));
  child.stdin!.end(input);
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await new Promise((resolve) => child.once('close', resolve));
  clearTimeout(killer);
  const received = /Received (\S+) Id/.exec(raw)?.[1] ?? null;
  const reply = received ? raw.slice(raw.indexOf(`Received ${received}`)) : '';
  const attrs: Record<string, string> = {};
  for (const m of reply.matchAll(/^\s+([A-Za-z][\w-]*) = (.*)$/gm)) attrs[m[1]] = m[2].replace(/^"|"$/g, '');
  return { received, attributes: attrs, raw };
}
