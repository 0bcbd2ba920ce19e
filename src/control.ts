import { chmodSync, existsSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { runStoreCommand, type StoreCommand } from './commands.js';
import type { Services } from './services.js';

/**
 * The server's control socket: how `kalitka demo`, `user create`, `user password`, `sweep` and
 * `migrate` work beside a running server that holds the embedded data directory (which no second
 * process may open). It is a Unix socket in a directory of the data directory that only the
 * server's user may enter (0700): whoever can use it could read the whole store anyway. One JSON
 * line in, one JSON line out. There is none with DATABASE_URL (every process opens the database
 * itself) nor with memory:// (nothing to share).
 */

const MAX_REQUEST = 64 * 1024;
const TIMEOUT_MS = 120_000;

export type ControlAnswer = { ok: true; output: string } | { ok: false; message: string };

export function controlSocketPath(dataDir: string): string {
  return path.join(path.resolve(dataDir), '.control', 'kalitka.sock');
}

/** Serves the control socket for `svc`'s data directory; `base` is where the HTTP app answers. */
export async function startControl(svc: Services, base: string): Promise<() => Promise<void>> {
  const socketPath = controlSocketPath(svc.config.dataDir);
  // A Unix socket path holds at most 107 bytes: with a deeper data directory, the CLI says what to do instead.
  if (Buffer.byteLength(socketPath) > 100) {
    svc.log.warn({ socketPath }, 'data directory path too long for a control socket: the CLI cannot work beside this server');
    return async () => {};
  }
  const dir = path.dirname(socketPath);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  // We hold the data directory's lock, so a socket left here is a crashed server's.
  if (existsSync(socketPath) && lstatSync(socketPath).isSocket()) unlinkSync(socketPath);

  const server = net.createServer((conn) => {
    conn.setTimeout(TIMEOUT_MS, () => conn.destroy());
    let input = '';
    conn.setEncoding('utf8');
    conn.on('data', (chunk: string) => {
      input += chunk;
      if (input.length > MAX_REQUEST) return conn.destroy();
      const nl = input.indexOf('\n');
      if (nl < 0) return;
      conn.removeAllListeners('data');
      void answer(input.slice(0, nl)).then((reply) => conn.end(JSON.stringify(reply) + '\n'));
    });
    conn.on('error', () => {});
  });

  async function answer(line: string): Promise<ControlAnswer> {
    try {
      const request = JSON.parse(line) as StoreCommand;
      const output = await runStoreCommand(svc, request, base);
      svc.log.info({ command: request.command }, 'control command run');
      return { ok: true, output };
    } catch (err) {
      return { ok: false, message: err instanceof Error ? err.message : String(err) };
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
    });
}

/**
 * Asks the server holding `dataDir` to run a command. Null when no server listens there (the
 * holder is another kind of process, e.g. a long `kalitka sweep`).
 */
export function callControl(dataDir: string, request: StoreCommand): Promise<ControlAnswer | null> {
  const socketPath = controlSocketPath(dataDir);
  return new Promise((resolve) => {
    const conn = net.connect(socketPath);
    let output = '';
    let connected = false;
    conn.setEncoding('utf8');
    conn.on('connect', () => {
      connected = true;
      conn.write(JSON.stringify(request) + '\n');
    });
    conn.on('data', (chunk: string) => (output += chunk));
    conn.on('error', () => resolve(null));
    conn.on('close', () => {
      if (!connected) return resolve(null);
      try {
        resolve(JSON.parse(output) as ControlAnswer);
      } catch {
        resolve({ ok: false, message: 'the server closed the control connection without an answer' });
      }
    });
  });
}
