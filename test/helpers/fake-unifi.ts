import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';

export interface UnifiCall {
  path: string;
  cookie: string | null;
  csrf: string | null;
  body: Record<string, unknown> | null;
  status: number;
}

export interface FakeUnifiOptions {
  unifiOs: boolean;
  username?: string;
  password?: string;
  /** Serve https with the self-signed certificate in test/fixtures. */
  tls?: boolean;
}

/**
 * A UniFi Network controller on 127.0.0.1 that speaks the part of its API the adapter uses, the
 * way the real ones do: the classic controller's /api/login sets `unifises` and `csrf_token`
 * cookies; a UniFi OS console's /api/auth/login sets `TOKEN` and answers an X-CSRF-Token header
 * that every later request must carry, and serves the Network API under /proxy/network.
 */
export async function fakeUnifi(t: Test, opts: FakeUnifiOptions) {
  const username = opts.username ?? 'portal';
  const password = opts.password ?? 'pa55word';
  const calls: UnifiCall[] = [];
  const sessions = new Map<string, string>(); // session id → csrf token
  let seq = 0;
  const state = {
    calls,
    /** The next stamgr answer, once, instead of ok. */
    failNext: null as null | { status: number; body: unknown },
    /** Accept requests but never answer them. */
    hang: false,
    /** Forget every session, as a controller restart or session timeout does. */
    expireSessions: () => sessions.clear(),
  };
  const prefix = opts.unifiOs ? '/proxy/network' : '';

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: Record<string, unknown> | null = null;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = null;
      }
      const call: UnifiCall = {
        path: req.url ?? '',
        cookie: req.headers.cookie ?? null,
        csrf: (req.headers['x-csrf-token'] as string | undefined) ?? null,
        body,
        status: 0,
      };
      calls.push(call);
      if (state.hang) return;
      const send = (status: number, json: unknown, headers: Record<string, string | string[]> = {}) => {
        call.status = status;
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(json));
      };
      const loginPath = opts.unifiOs ? '/api/auth/login' : '/api/login';
      if (req.method === 'POST' && req.url === loginPath) {
        if (body?.username !== username || body?.password !== password) {
          return opts.unifiOs
            ? send(401, { code: 'AUTHENTICATION_FAILED_INVALID_CREDENTIALS', message: 'Invalid username or password' })
            : send(400, { meta: { rc: 'error', msg: 'api.err.Invalid' }, data: [] });
        }
        const id = `S${++seq}`;
        const csrf = `C${seq}`;
        sessions.set(id, csrf);
        return opts.unifiOs
          ? send(200, { unique_id: 'u1', username }, { 'set-cookie': [`TOKEN=${id}; path=/; samesite=strict; secure; httponly`], 'x-csrf-token': csrf })
          : send(200, { meta: { rc: 'ok' }, data: [] }, { 'set-cookie': [`unifises=${id}; Path=/; Secure; HttpOnly`, `csrf_token=${csrf}; Path=/; Secure`] });
      }
      const m = /^(.*)\/api\/s\/([^/]+)\/cmd\/stamgr$/.exec(req.url ?? '');
      if (req.method !== 'POST' || !m || m[1] !== prefix) return send(404, { meta: { rc: 'error', msg: 'api.err.NotFound' }, data: [] });
      const id = /(?:unifises|TOKEN)=(S\d+)/.exec(req.headers.cookie ?? '')?.[1];
      if (!id || !sessions.has(id)) return send(401, { meta: { rc: 'error', msg: 'api.err.LoginRequired' }, data: [] });
      if (sessions.get(id) !== call.csrf) return send(403, { meta: { rc: 'error', msg: 'api.err.InvalidCSRF' }, data: [] });
      if (state.failNext) {
        const { status, body: failure } = state.failNext;
        state.failNext = null;
        return send(status, failure);
      }
      return send(200, { meta: { rc: 'ok' }, data: [] });
    });
  };

  const server: Server = opts.tls
    ? createHttpsServer(
        {
          key: readFileSync(new URL('../fixtures/self-signed.key', import.meta.url)),
          cert: readFileSync(new URL('../fixtures/self-signed.crt', import.meta.url)),
        },
        handler,
      )
    : createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  return { url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`, username, password, state };
}
