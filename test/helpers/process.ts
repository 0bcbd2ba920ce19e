import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { packageRoot } from '../../src/paths.js';

export const CLI = path.join(packageRoot, 'dist', 'cli.js');

export function tempDir(prefix = 'kalitka-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export interface Running {
  child: ChildProcess;
  output: () => string;
  base: string;
}

/**
 * Starts `kalitka serve` as a real process on a free loopback port and waits for its banner.
 * The process is stopped (SIGTERM) when the test ends.
 */
export async function startServer(t: Test, env: Record<string, string>, port: number): Promise<Running> {
  const child = spawn(process.execPath, [CLI, 'serve'], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGTERM');
  });
  const deadline = Date.now() + 30_000;
  while (!out.includes('Kalitka is serving')) {
    if (child.exitCode !== null) throw new Error(`server exited early:\n${out}`);
    if (Date.now() > deadline) throw new Error(`server did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, output: () => out, base: `http://127.0.0.1:${port}` };
}

/** Runs the CLI to completion; `input` is piped to its standard input (else it gets none). */
export function runCli(args: string[], env: Record<string, string>, input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
    child.stdin.end(input ?? '');
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/**
 * Ports for servers a test starts: each test process takes a block of its own (by its pid) below
 * Linux's ephemeral range (32768+), so files running at once (both setups run together) do not
 * hand out the same port, as neighbouring pids did when each started at 20000 + pid.
 */
const PORT_BLOCK = 24;
const blockStart = 20_000 + (process.pid % Math.floor(12_700 / PORT_BLOCK)) * PORT_BLOCK;
let nextPort = blockStart;
export const freePort = () => {
  if (nextPort >= blockStart + PORT_BLOCK) throw new Error(`this test process used its ${PORT_BLOCK} ports; raise PORT_BLOCK`);
  return nextPort++;
};

/** Signs in to the panel over HTTP; returns the status of the login POST (303 when it worked). */
export async function panelLogin(base: string, login: string, password: string): Promise<number> {
  const page = await fetch(`${base}/admin/login`);
  const cookie = page.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const csrf = /name="_csrf" value="([0-9a-f]+)"/.exec(await page.text())![1];
  const res = await fetch(`${base}/admin/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, login, password }),
  });
  return res.status;
}
