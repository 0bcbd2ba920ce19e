import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { encodeCoaRequest, sendCoa } from '../../src/controllers/radius-coa.js';
import { AppError } from '../../src/errors.js';
import { LOOPBACK_OK as outbound } from '../helpers/controllers.js';
import { findProgram, STOCK_RADDB } from '../helpers/freeradius.js';

// Our CoA-Request checked by a real RFC 5176 implementation: FreeRADIUS's own `coa` virtual server
// (Debian's sites-available/coa) as the NAS. FreeRADIUS drops a CoA-Request whose Request
// Authenticator or Message-Authenticator is wrong, and prints the attributes it decoded, so an
// ACK and the decoded Session-Timeout and vendor attributes prove the packet right.
const freeradius = findProgram('freeradius') ?? findProgram('radiusd');

async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const run = (cmd: string, args: string[]) =>
  new Promise<string>((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')}: ${out.slice(-3000)}`))));
  });

t.test('FreeRADIUS\'s coa server accepts our CoA-Request and decodes its Session-Timeout and limit attributes', { skip: freeradius ? false : 'freeradius is not installed' }, async (t) => {
  const port = await freePort();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kalitka-coa-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await run('cp', ['-a', `${STOCK_RADDB}/.`, dir]);
  // Only the CoA listener, on a free loopback port: no other site binds 1812/1813.
  for (const site of ['default', 'inner-tunnel']) await unlink(path.join(dir, 'sites-enabled', site)).catch(() => undefined);
  // EAP wants an `Auth-Type EAP` section, which only the sites just left out have.
  await unlink(path.join(dir, 'mods-enabled', 'eap')).catch(() => undefined);
  const coa = (await readFile(path.join(dir, 'sites-available', 'coa'), 'utf8')).replace('ipaddr = *', 'ipaddr = 127.0.0.1').replace('port = 3799', `port = ${port}`);
  await writeFile(path.join(dir, 'sites-enabled', 'coa'), coa);

  let out = '';
  const child: ChildProcess = spawn(freeradius!, ['-X', '-d', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  t.teardown(() => {
    child.kill('SIGTERM');
  });
  const deadline = Date.now() + 30_000;
  while (!out.includes('Ready to process requests')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`FreeRADIUS did not start:\n${out.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }

  const attributes = {
    'User-Name': 'AA:BB:CC:DD:EE:01',
    'Calling-Station-Id': 'AA:BB:CC:DD:EE:01',
    'Session-Timeout': 172_800,
    limits: [
      { attribute: 'WISPr-Bandwidth-Max-Down', value: '4000000' },
      { attribute: 'Mikrotik-Rate-Limit', value: '1000k/4000k' },
      { attribute: 'Mikrotik-Total-Limit', value: '157286400' },
      { attribute: 'Mikrotik-Total-Limit-Gigawords', value: '0' },
      { attribute: 'ChilliSpot-Bandwidth-Max-Up', value: '1000' },
    ],
  };
  // The stock clients.conf's localhost client: secret testing123.
  const ok = await sendCoa({ host: '127.0.0.1', outbound, port, secret: 'testing123', attributes, timeoutMs: 2000, retries: 1 });
  t.same(ok, { attempts: 1 }, 'CoA-ACK at the first try');
  for (const line of [
    'Session-Timeout = 172800',
    'WISPr-Bandwidth-Max-Down = 4000000',
    'Mikrotik-Rate-Limit = "1000k/4000k"',
    'Mikrotik-Total-Limit = 157286400',
    'Mikrotik-Total-Limit-Gigawords = 0',
    'ChilliSpot-Bandwidth-Max-Up = 1000',
    'Calling-Station-Id = "AA:BB:CC:DD:EE:01"',
  ]) {
    t.match(out, line, `FreeRADIUS decoded ${line}`);
  }
  t.match(out, /Received CoA-Request Id \d+ from 127\.0\.0\.1/);

  // The wrong secret: FreeRADIUS drops the packet as forged, so no answer comes.
  const forged = await sendCoa({ host: '127.0.0.1', outbound, port, secret: 'not-the-secret', attributes, timeoutMs: 500, retries: 0 }).catch((e) => e);
  t.ok(forged instanceof AppError && forged.code === 'CONTROLLER_ERROR', 'no answer to a packet signed with another secret');
  t.match(out, /invalid Message-Authenticator/, 'FreeRADIUS checked the Message-Authenticator and dropped it');

  // A right Message-Authenticator (computed over a zeroed Request Authenticator) but a damaged
  // Request Authenticator: FreeRADIUS checks that too, so the ACK above proved ours right.
  const packet = encodeCoaRequest(77, attributes, 'testing123');
  packet[4] ^= 0xff;
  const mark = out.length;
  const socket = dgram.createSocket('udp4');
  t.teardown(() => socket.close());
  socket.send(packet, port, '127.0.0.1');
  const until = Date.now() + 3000;
  while (!/Dropping packet|invalid/i.test(out.slice(mark)) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  t.match(out.slice(mark), /with invalid Request Authenticator/, 'dropped for its Request Authenticator');
  t.notMatch(out.slice(mark), /Sent CoA-ACK/, 'and not acknowledged');
});
