import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../../src/paths.js';

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

type StartOptions = { binary: string; kalitkaUrl: string; apiToken: string; readyTimeoutMs?: number };

class PortTaken extends Error {}

/**
 * Starts FreeRADIUS in the foreground with a throwaway configuration: a minimal radiusd.conf plus
 * this repo's deploy/freeradius module and site, pointed at Kalitka and at free loopback ports.
 * A port another test process took between our probe and FreeRADIUS's bind means a new try.
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

async function startOnce(opts: StartOptions): Promise<RadiusServer> {
  const libdir = LIB_DIRS.find((d) => existsSync(path.join(d, 'rlm_rest.so')));
  if (!libdir) throw new Error('rlm_rest.so not found: install the Debian package freeradius-rest');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kalitka-radius-'));
  const [authPort, acctPort] = [await freeUdpPort(), await freeUdpPort()];
  const secret = `test-${Math.random().toString(36).slice(2, 12)}`;
  await mkdir(path.join(dir, 'run'));
  await mkdir(path.join(dir, 'log'));

  const deploy = path.join(packageRoot, 'deploy', 'freeradius');
  const modFile = 'mods-available/kalitka';
  const siteFile = 'sites-available/kalitka';
  let mod = await readFile(path.join(deploy, modFile), 'utf8');
  mod = substitute(mod, 'http://127.0.0.1:8080', opts.kalitkaUrl, modFile);
  let site = await readFile(path.join(deploy, siteFile), 'utf8');
  site = substitute(site, 'klt_REPLACE_WITH_YOUR_API_TOKEN', opts.apiToken, siteFile);
  site = substitute(site, 'port = 1812', `port = ${authPort}`, siteFile);
  site = substitute(site, 'port = 1813', `port = ${acctPort}`, siteFile);
  site = substitute(site, 'ipaddr = *', 'ipaddr = 127.0.0.1', siteFile);
  await writeFile(path.join(dir, 'kalitka-module'), mod);
  await writeFile(path.join(dir, 'kalitka-site'), site);
  await writeFile(path.join(dir, 'dictionary'), '');
  // No `user`/`group` in security: the server stays whoever started it, root or not.
  await writeFile(
    path.join(dir, 'radiusd.conf'),
    `prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = ${dir}
sbindir = /usr/sbin
logdir = ${dir}/log
raddbdir = ${dir}
confdir = ${dir}
modconfdir = ${dir}
certdir = ${dir}
cadir = ${dir}
run_dir = ${dir}/run
db_dir = ${dir}
libdir = ${libdir}
pidfile = ${dir}/run/radiusd.pid
name = radiusd
max_request_time = 10
cleanup_delay = 2
max_requests = 1024
hostname_lookups = no
proxy_requests = no
log {
	destination = stdout
	colourise = no
	auth = no
}
security {
	allow_core_dumps = no
	max_attributes = 200
	reject_delay = 0
	status_server = no
}
thread pool {
	start_servers = 1
	max_servers = 4
	min_spare_servers = 1
	max_spare_servers = 2
	max_requests_per_server = 0
	auto_limit_acct = no
}
client loopback {
	ipaddr = 127.0.0.1
	secret = ${secret}
}
modules {
	$INCLUDE ${dir}/kalitka-module
}
instantiate {
}
policy {
}
$INCLUDE ${dir}/kalitka-site
`,
  );

  let out = '';
  const child: ChildProcess = spawn(opts.binary, ['-X', '-n', 'radiusd', '-d', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
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
