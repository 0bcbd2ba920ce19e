#!/usr/bin/env node
// Sweep benchmark: N expired identifications (25k, 50k, 100k by default) swept by a separate
// process on real PostgreSQL + Redis; rows per second and that process's peak memory, and the
// session-poll p99 of a running Kalitka during the sweep next to the same poll while idle.
//
//   npm run bench:sweep -- [--sizes 25000,50000,100000] [--json FILE]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { values: opts } = parseArgs({ options: { sizes: { type: 'string', default: '25000,50000,100000' }, json: { type: 'string' } } });
const sizes = opts.sizes.split(',').map(Number);
const PG_ADMIN = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ADMIN = 'bench_admin_token_' + randomBytes(12).toString('hex');
const SECRET = 'bench-secret-' + randomBytes(16).toString('hex');
const PREFIX = `kalitka-bench-sweep:${randomBytes(4).toString('hex')}:`;

const admin = new pg.Client({ connectionString: PG_ADMIN });
await admin.connect();
await admin.query('drop database if exists kalitka_bench_sweep with (force)');
await admin.query('create database kalitka_bench_sweep');
await admin.end();
const dbUrl = Object.assign(new URL(PG_ADMIN), { pathname: '/kalitka_bench_sweep' }).toString();
const env = { PATH: process.env.PATH, DATABASE_URL: dbUrl, REDIS_URL, KALITKA_REDIS_PREFIX: PREFIX, KALITKA_SECRET: SECRET, KALITKA_ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'warn' };

await new Promise((r) => spawn('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' }).on('exit', r));
const server = spawn(process.execPath, ['dist/cli.js', 'serve'], { cwd: root, env: { ...env, HOST: '127.0.0.1', PORT: '0', KALITKA_ROLES: 'portal,admin' }, stdio: ['ignore', 'pipe', 'inherit'] });
const base = await new Promise((resolve) => {
  let out = '';
  server.stdout.on('data', (d) => {
    out += d;
    const m = /at (http:\/\/[\d.:]+)/.exec(out);
    if (m) resolve(m[1]);
  });
});

const api = (method, url, body) =>
  fetch(base + url, { method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body) }).then((r) => r.json());
const contract = await api('POST', '/api/v1/contracts', { name: 'Sweep bench' });
const network = await api('POST', `/api/v1/contracts/${contract.id}/networks`, { name: 'Hall', controller: 'generic' });
const [tok] = (await api('POST', `/api/v1/contracts/${contract.id}/tokens`, { count: 1, multiUse: false, durationDays: null })).tokens;
const { signContext } = await import(path.join(root, 'dist/http/portal/context.js'));
const polled = 'AA:AA:AA:AA:AA:AA';
await fetch(`${base}/portal/${network.id}/activate`, {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ token: tok.code, ctx: signContext(Buffer.from(SECRET), network.id, { mac: polled, originalUrl: null, clientIp: null, params: {} }, new Date()) }),
});
const pollOpts = { url: `${base}/api/v1/networks/${network.id}/sessions/${polled}`, headers: { authorization: `Bearer ${ADMIN}` }, connections: 10 };

const db = new pg.Client({ connectionString: dbUrl });
await db.connect();
let seq = 0;
async function arrange(n) {
  // Active one-day copies that expired an hour ago, each with its live identification.
  await db.query(
    `with made as (
       insert into tokens (contract_id, code, multi_use, duration_days, status, mac, activated_at, expires_at, created_at)
       select $1::uuid, (200000000000 + $3::bigint + g)::text, false, 1, 'active', upper(lpad(to_hex($3::bigint + g), 12, '0')),
              now() - interval '25 hours', now() - interval '1 hour', now() - interval '25 hours'
         from generate_series(1, $4::int) g
       returning id, code, mac, activated_at, expires_at)
     insert into identifications (mac, network_id, contract_id, token_id, code, started_at, expires_at)
     select mac, $2::uuid, $1::uuid, id, code, activated_at, expires_at from made`,
    [contract.id, network.id, seq, n],
  );
  seq += n;
}

function sweepChild() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['scripts/sweep-child.mjs'], { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`sweep exited ${code}`))));
  });
}

function pollFor(ms) {
  return new Promise((resolve) => autocannon({ ...pollOpts, duration: ms / 1000 }, (_e, r) => resolve(r)));
}

const idle = await pollFor(5000);
const rows = [];
for (const n of sizes) {
  await arrange(n);
  // Poll all through the sweep: autocannon runs until the sweep ends.
  const during = autocannon({ ...pollOpts, duration: 3600 });
  const result = await sweepChild();
  during.stop();
  const polled = await new Promise((r) => during.on('done', r));
  rows.push({
    rows: result.expired,
    seconds: Number((result.ms / 1000).toFixed(2)),
    rowsPerSec: Math.round(result.expired / (result.ms / 1000)),
    peakRssMb: Math.round(result.peakRssMb),
    pollP99IdleMs: idle.latency.p99,
    pollP99DuringMs: polled.latency.p99,
    pollReqPerSecDuring: Math.round(polled.requests.average),
  });
}
await db.end();
server.kill('SIGTERM');

const header = ['rows', 'seconds', 'rows/s', 'peak RSS MB', 'poll p99 idle ms', 'poll p99 during ms', 'poll req/s during'];
const table = [header, ...rows.map((r) => [r.rows, r.seconds, r.rowsPerSec, r.peakRssMb, r.pollP99IdleMs, r.pollP99DuringMs, r.pollReqPerSecDuring].map(String))];
const w = header.map((_, i) => Math.max(...table.map((row) => row[i].length)));
const line = (row) => '| ' + row.map((c, i) => c.padEnd(w[i])).join(' | ') + ' |';
process.stdout.write(`\n${line(table[0])}\n|${w.map((x) => '-'.repeat(x + 2)).join('|')}|\n${table.slice(1).map(line).join('\n')}\n`);
if (opts.json) writeFileSync(opts.json, JSON.stringify({ results: rows }, null, 2) + '\n');
