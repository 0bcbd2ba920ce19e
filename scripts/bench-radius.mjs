#!/usr/bin/env node
// RADIUS benchmark: Debian's stock FreeRADIUS tree with Kalitka's shipped configurations against
// the same FreeRADIUS answering from its own SQL tables (rlm_sql, PostgreSQL radcheck/radreply,
// daloRADIUS style) on the same PostgreSQL:
//   radius       install.sh (the default): rlm_rest → Kalitka's HTTP API (any store; grant secrets)
//   radius-sql   install.sh --sql: rlm_sql → Kalitka's stored function kalitka_radius_check
//                (Kalitka on PostgreSQL, MAC authentication; deploy/freeradius/README.md)
// One FreeRADIUS process serves all three virtual servers; radclient drives them in interleaved
// rounds with the same authorised MAC, so machine drift cancels out. Prints a table; `--json FILE`
// writes {"results":[{"name":"radius","rps":…,"baseline":"rlm_sql","baselineRps":…,"ratio":…},…]}.
// Beside throughput it prints the CPU each path costs per Access-Request (FreeRADIUS, the
// PostgreSQL backends of the two bench databases, Kalitka; from /proc), which moves much less than
// throughput when other work shares the machine: `cpuRatio` is the baseline's CPU per request
// over the path's (≥ 1: the path costs no more than the baseline). Redis is shared with other
// work, so it is not counted (the rest path's one GET per request).
//
//   npm run bench:radius -- [--rounds 8] [--requests 20000] [--parallel 50] [--json FILE] [--keep]
//                           [--profile DIR]   (a V8 CPU profile of Kalitka, for scripts/profile-summary.mjs)
//
// Needs the Debian packages freeradius, freeradius-rest, freeradius-postgresql, freeradius-utils,
// a PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test) and a Redis (REDIS_URL).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, chownSync, chmodSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { cpuSeconds, cpuUsed, freshDatabase, mean, stopAll, table } from './bench-lib.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '8' },
    requests: { type: 'string', default: '20000' },
    parallel: { type: 'string', default: '50' },
    json: { type: 'string' },
    keep: { type: 'boolean', default: false },
    profile: { type: 'string' },
  },
});
const ROUNDS = Number(opts.rounds);
const REQUESTS = Number(opts.requests);
const PARALLEL = Number(opts.parallel);
const STOCK = process.env.KALITKA_BENCH_RADDB ?? '/etc/freeradius/3.0';
const PG_ADMIN = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECRET = 'bench-secret-' + randomBytes(16).toString('hex');
const RADIUS_SECRET = 'testing123'; // the stock clients.conf's localhost client
const MAC = 'AA-BB-CC-00-00-01';
const NAS = 'bench-nas';
const children = [];
/** The processes whose CPU a run costs: Kalitka, FreeRADIUS, and the bench databases' backends. */
const pids = { kalitka: null, freeradius: null };

function which(name) {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin']) {
    if (dir && existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  throw new Error(`${name} not found: apt-get install freeradius freeradius-rest freeradius-postgresql freeradius-utils`);
}

function sh(cmd, args, input) {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${(r.stdout ?? '') + (r.stderr ?? '')}`.slice(-4000));
  return r.stdout;
}

async function freeUdpPort() {
  const socket = dgram.createSocket('udp4');
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise((resolve) => socket.close(resolve));
  return port;
}

function startKalitka(env) {
  return new Promise((resolve, reject) => {
    const prof = opts.profile ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(opts.profile)] : [];
    const child = spawn(process.execPath, [...prof, 'dist/cli.js', 'serve'], { cwd: root, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    pids.kalitka = child.pid;
    children.push(child);
    let out = '';
    const onData = (d) => {
      out += d;
      const m = /(?:listening at|serving .* at) (http:\/\/[\d.:]+)/.exec(out);
      if (m) resolve(m[1]);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`kalitka exited with ${code}:\n${out}`)));
  });
}

/** An operator's API token for the bench contract, made through the admin API. */
async function arrangeKalitka(base, adminToken) {
  const api = async (method, url, body, token = adminToken) => {
    const res = await fetch(base + url, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
    return res.status === 204 ? null : res.json();
  };
  const contract = await api('POST', '/api/v1/contracts', { name: 'RADIUS bench' });
  const network = await api('POST', `/api/v1/contracts/${contract.id}/networks`, { name: 'Bench Wi-Fi', controller: 'generic', nasIdentifier: NAS });
  const [token] = (await api('POST', `/api/v1/contracts/${contract.id}/tokens`, { count: 1, multiUse: false, durationDays: 30 })).tokens;
  // Identify the device through the portal, as a guest would.
  const page = await fetch(`${base}/portal/${network.id}?mac=${MAC}&url=http://example.com/`);
  const html = await page.text();
  const ctx = /name="ctx" value="([^"]+)"/.exec(html)?.[1];
  if (!ctx) throw new Error(`portal form without ctx (${page.status})`);
  const activated = await fetch(`${base}/portal/${network.id}/activate`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: token.code, ctx }).toString(),
    redirect: 'manual',
  });
  if (activated.status >= 400) throw new Error(`activation failed: ${activated.status}`);
  return { contract, network };
}

/** rlm_sql's stock PostgreSQL schema with the same device, accepted for 30 days. */
async function arrangeBaseline(url) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(readFileSync(path.join(STOCK, 'mods-config/sql/main/postgresql/schema.sql'), 'utf8'));
  await client.query(`insert into radcheck (username, attribute, op, value) values ($1, 'Auth-Type', ':=', 'Accept')`, [MAC]);
  await client.query(`insert into radreply (username, attribute, op, value) values ($1, 'Session-Timeout', ':=', '2592000')`, [MAC]);
  await client.end();
}

function edit(file, pairs) {
  let text = readFileSync(file, 'utf8');
  for (const [from, to] of pairs) {
    if (!text.includes(from)) throw new Error(`${file} has no ${JSON.stringify(from)}`);
    text = text.split(from).join(to);
  }
  writeFileSync(file, text);
}

/** README's "A database role for FreeRADIUS": it may only execute kalitka_radius_check. */
const RADIUS_ROLE = 'kalitka_bench_freeradius';
async function arrangeRadiusRole(url) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`do $$ begin
    if not exists (select from pg_roles where rolname = '${RADIUS_ROLE}') then create role ${RADIUS_ROLE} login; end if;
  end $$`);
  await client.query(`grant usage on schema public to ${RADIUS_ROLE}`);
  await client.query(`grant execute on function kalitka_radius_check(text, text, text, timestamptz) to ${RADIUS_ROLE}`);
  await client.end();
}

/** A libpq connection string (rlm_sql's radius_db) for a postgres:// URL, as `user`. */
function conninfo(url, user) {
  const db = new URL(url);
  return `dbname=${db.pathname.slice(1)} host=${db.hostname} port=${db.port || 5432} user=${user ?? (db.username || 'postgres')}`;
}

/**
 * The stock tree with both of install.sh's variants applied and README's edits (each on its own
 * ports: install.sh enables one at a time, the bench links the other back), plus an rlm_sql
 * baseline server.
 */
function prepareTree({ kalitkaUrl, apiToken, ports, baselineDb, kalitkaDb }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'kalitka-bench-raddb-'));
  sh('cp', ['-a', `${STOCK}/.`, dir]);
  const top = statSync(STOCK);
  try { chownSync(dir, top.uid, top.gid); } catch { /* not root */ }
  chmodSync(dir, top.mode & 0o7777);
  sh('sh', [path.join(root, 'deploy/freeradius/install.sh'), dir]);
  sh('sh', [path.join(root, 'deploy/freeradius/install.sh'), '--sql', dir]);
  sh('ln', ['-sfn', '../mods-available/kalitka', path.join(dir, 'mods-enabled/kalitka')]);
  sh('ln', ['-sfn', '../sites-available/kalitka', path.join(dir, 'sites-enabled/kalitka')]);
  edit(path.join(dir, 'mods-available/kalitka_sql'), [
    ['dbname=kalitka host=127.0.0.1 port=5432 user=freeradius password=REPLACE_WITH_THE_PASSWORD', conninfo(kalitkaDb, RADIUS_ROLE)],
  ]);
  edit(path.join(dir, 'sites-available/kalitka_sql'), [
    ['port = 1812', `port = ${ports.sql}`],
    ['port = 1813', `port = ${ports.sqlAcct}`],
    ['ipaddr = *', 'ipaddr = 127.0.0.1'],
  ]);
  edit(path.join(dir, 'mods-available/kalitka'), [['http://127.0.0.1:8080', kalitkaUrl]]);
  edit(path.join(dir, 'sites-available/kalitka'), [
    ['klt_REPLACE_WITH_YOUR_API_TOKEN', apiToken],
    ['port = 1812', `port = ${ports.kalitka}`],
    ['port = 1813', `port = ${ports.kalitkaAcct}`],
    ['ipaddr = *', 'ipaddr = 127.0.0.1'],
  ]);
  // The baseline: the stock sql module on PostgreSQL, as a daloRADIUS-style install has it.
  edit(path.join(dir, 'mods-available/sql'), [
    ['dialect = "sqlite"', 'dialect = "postgresql"'],
    ['driver = "rlm_sql_null"', 'driver = "rlm_sql_${dialect}"'],
    ['radius_db = "radius"', `radius_db = "${conninfo(baselineDb)}"`],
  ]);
  sh('ln', ['-sfn', '../mods-available/sql', path.join(dir, 'mods-enabled/sql')]);
  writeFileSync(
    path.join(dir, 'sites-enabled/baseline-sql'),
    `server baseline-sql {
	listen {
		type = auth
		ipaddr = 127.0.0.1
		port = ${ports.baseline}
	}
	authorize {
		sql
		if (!(ok || updated)) {
			reject
		}
	}
	authenticate {
	}
}
`,
  );
  return dir;
}

function startFreeRadius(dir) {
  return new Promise((resolve, reject) => {
    const child = spawn(which('freeradius'), ['-f', '-l', 'stdout', '-d', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    pids.freeradius = child.pid;
    children.push(child);
    let out = '';
    const onData = (d) => {
      out += d;
      if (out.includes('Ready to process requests')) resolve(child);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`freeradius exited with ${code}:\n${out.slice(-4000)}`)));
  });
}

/** PostgreSQL backends serving the bench databases now (FreeRADIUS's pools and Kalitka's). */
async function backendPids(admin, names) {
  const { rows } = await admin.query('select pid from pg_stat_activity where datname = any($1::text[])', [names]);
  return rows.map((r) => r.pid);
}

/** One measured run: requests per second, and CPU seconds per request by process kind. */
async function measure(admin, dbNames, port, requestFile) {
  const read = async () => ({
    freeradius: cpuSeconds([pids.freeradius]),
    kalitka: cpuSeconds([pids.kalitka]),
    postgres: cpuSeconds(await backendPids(admin, dbNames)),
  });
  const before = await read();
  const rps = await drive(port, requestFile);
  const after = await read();
  const cpu = Object.fromEntries(Object.keys(before).map((k) => [k, cpuUsed(before[k], after[k]) / REQUESTS]));
  return { rps, cpu };
}

/** One radclient run of REQUESTS Access-Requests, PARALLEL in flight; requests per second. */
function drive(port, requestFile) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(which('radclient'), ['-q', '-s', '-p', String(PARALLEL), '-r', '1', '-t', '5', '-f', requestFile, `127.0.0.1:${port}`, 'auth', RADIUS_SECRET], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const approved = Number(/Accepted\s*:\s*(\d+)/.exec(out)?.[1] ?? -1);
      if (approved !== REQUESTS) return reject(new Error(`port ${port}: ${approved} of ${REQUESTS} accepted:\n${out.slice(-2000)}`));
      resolve(REQUESTS / seconds);
    });
  });
}

async function main() {
  process.stdout.write('building…\n');
  sh('npx', ['tsc', '-p', 'tsconfig.json']);
  const adminToken = sh(process.execPath, ['-e', `import('${path.join(root, 'dist/domain/apiTokens.js')}').then((m) => process.stdout.write(m.newApiToken()))`]);
  const kalitkaDb = await freshDatabase(PG_ADMIN, 'kalitka_bench_radius');
  const baselineDb = await freshDatabase(PG_ADMIN, 'kalitka_bench_rlmsql');
  const base = await startKalitka({
    DATABASE_URL: kalitkaDb, REDIS_URL, KALITKA_REDIS_PREFIX: `kalitka-bench-radius:${randomBytes(4).toString('hex')}:`,
    KALITKA_ADMIN_TOKEN: adminToken, KALITKA_SECRET: SECRET, LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: '0', KALITKA_ROLES: 'portal,admin',
  });
  process.stdout.write(`kalitka at ${base}; arranging the device…\n`);
  await arrangeKalitka(base, adminToken);
  await arrangeBaseline(baselineDb);
  await arrangeRadiusRole(kalitkaDb);
  const ports = { kalitka: await freeUdpPort(), kalitkaAcct: await freeUdpPort(), sql: await freeUdpPort(), sqlAcct: await freeUdpPort(), baseline: await freeUdpPort() };
  const dir = prepareTree({ kalitkaUrl: base, apiToken: adminToken, ports, baselineDb, kalitkaDb });
  sh(which('freeradius'), ['-XC', '-d', dir]);
  await startFreeRadius(dir);
  const requestFile = path.join(dir, 'requests.txt');
  const packet = `User-Name = "${MAC}"\nCalling-Station-Id = "${MAC}"\nNAS-Identifier = "${NAS}"\n`;
  writeFileSync(requestFile, Array.from({ length: REQUESTS }, () => packet).join('\n'));

  // Warm every path (connections, caches) before measuring.
  const paths = [
    { name: 'radius', port: ports.kalitka, runs: [] },
    { name: 'radius-sql', port: ports.sql, runs: [] },
    { name: 'rlm_sql', port: ports.baseline, runs: [] },
  ];
  for (const p of paths) await drive(p.port, requestFile);
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect();
  const dbNames = [kalitkaDb, baselineDb].map((u) => new URL(u).pathname.slice(1));
  for (let r = 0; r < ROUNDS; r++) {
    // Rotate which goes first, so none always runs on a warmer machine.
    for (let k = 0; k < paths.length; k++) {
      const p = paths[(r + k) % paths.length];
      p.runs.push(await measure(admin, dbNames, p.port, requestFile));
    }
    process.stdout.write(`  round ${r + 1}/${ROUNDS}: ${paths.map((p) => `${p.name} ${Math.round(p.runs.at(-1).rps)} req/s`).join(', ')}\n`);
  }
  await admin.end();
  if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  const summary = (p) => {
    const cpu = Object.fromEntries(Object.keys(p.runs[0].cpu).map((k) => [k, mean(p.runs.map((x) => x.cpu[k])) * 1e6]));
    return { rps: mean(p.runs.map((x) => x.rps)), cpu, cpuTotal: Object.values(cpu).reduce((a, b) => a + b, 0) };
  };
  const reference = summary(paths[2]);
  const round1 = (x) => Math.round(x * 10) / 10;
  cpuRows.push(...paths.map((p) => {
    const s = summary(p);
    return [p.name, ...Object.values(s.cpu).map((v) => String(round1(v))), String(round1(s.cpuTotal))];
  }));
  return paths.slice(0, 2).map((p) => {
    const s = summary(p);
    return {
      name: p.name, rps: Math.round(s.rps), baseline: 'rlm_sql', baselineRps: Math.round(reference.rps), ratio: Number((s.rps / reference.rps).toFixed(2)),
      cpuUsPerRequest: round1(s.cpuTotal), baselineCpuUsPerRequest: round1(reference.cpuTotal), cpuRatio: Number((reference.cpuTotal / s.cpuTotal).toFixed(2)),
    };
  });
}
const cpuRows = [];

try {
  const results = await main();
  const rows = [['name', 'req/s', 'baseline', 'baseline req/s', 'ratio', 'CPU µs/req', 'baseline CPU µs/req', 'CPU ratio']].concat(
    results.map((r) => [r.name, r.rps, r.baseline, r.baselineRps, r.ratio, r.cpuUsPerRequest, r.baselineCpuUsPerRequest, r.cpuRatio].map(String)),
  );
  process.stdout.write(`\nradclient -p ${PARALLEL}, ${REQUESTS} Access-Requests per run, ${ROUNDS} interleaved rounds, one FreeRADIUS process\n`);
  process.stdout.write(table(rows));
  process.stdout.write('\nCPU µs per Access-Request, by process (Redis not counted)\n');
  process.stdout.write(table([['path', 'freeradius', 'kalitka', 'postgres', 'total'], ...cpuRows]));
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ results }, null, 2) + '\n');
} finally {
  await stopAll(children);
}
