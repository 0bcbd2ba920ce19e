import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Test } from 'tap';
import { buildApp } from '../../src/http/app.js';
import { PROCESS_ACTOR, type UserRole } from '../../src/domain/actor.js';
import { createUser } from '../../src/domain/users.js';
import type { Services } from '../../src/services.js';
import { testEnv } from './services.js';

export const PASSWORD = 'correct horse 42';

/** The app on fresh stores, for panel tests (server-local dates are written in Moscow time). */
export async function panelEnv(t: Test, env: Record<string, string> = {}) {
  const e = await testEnv(t, env);
  const app = await buildApp(e.svc);
  t.teardown(() => app.close());
  return { ...e, app };
}

let seq = 0;

/** A user with a panel password; `contractId` null makes a system administrator. */
export async function makePanelUser(
  svc: Services,
  contractId: string | null,
  opts: { tokenLoginAllowed?: boolean; login?: string; role?: UserRole } = {},
) {
  return createUser(svc, PROCESS_ACTOR, {
    login: opts.login ?? `op${++seq}-${Math.random().toString(36).slice(2, 7)}`,
    password: PASSWORD,
    contractId,
    role: opts.role,
    tokenLoginAllowed: opts.tokenLoginAllowed ?? true,
    now: svc.now(),
  });
}

/** A browser stand-in over `inject`: keeps cookies and the last page's CSRF token. */
export class PanelClient {
  readonly cookies = new Map<string, string>();
  lastCsrf = '';

  constructor(
    readonly app: FastifyInstance,
    readonly defaults: { remoteAddress?: string; headers?: Record<string, string> } = {},
  ) {}

  private remember(res: LightMyRequestResponse) {
    for (const c of res.cookies as Array<{ name: string; value: string; maxAge?: number; expires?: Date }>) {
      const cleared = c.value === '' || c.maxAge === 0 || (c.expires !== undefined && c.expires.getTime() <= Date.now());
      if (cleared) this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
    const csrf = /name="_csrf" value="([0-9a-f]{64})"/.exec(res.body);
    if (csrf) this.lastCsrf = csrf[1];
    return res;
  }

  private cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async get(url: string, headers: Record<string, string> = {}) {
    return this.remember(
      await this.app.inject({
        method: 'GET',
        url,
        remoteAddress: this.defaults.remoteAddress,
        headers: { ...this.defaults.headers, cookie: this.cookieHeader(), ...headers },
      }),
    );
  }

  /** Posts a form; the last page's CSRF token is added unless `_csrf` is given (null: none). */
  async post(url: string, form: Record<string, string | null> = {}, headers: Record<string, string> = {}) {
    const fields: Record<string, string> = {};
    if (!('_csrf' in form)) fields._csrf = this.lastCsrf;
    for (const [k, v] of Object.entries(form)) if (v !== null) fields[k] = v;
    return this.remember(
      await this.app.inject({
        method: 'POST',
        url,
        remoteAddress: this.defaults.remoteAddress,
        headers: {
          ...this.defaults.headers,
          cookie: this.cookieHeader(),
          'content-type': 'application/x-www-form-urlencoded',
          ...headers,
        },
        payload: new URLSearchParams(fields).toString(),
      }),
    );
  }

  /** Opens the login page and signs in; returns the POST's answer. */
  async login(login: string, password = PASSWORD) {
    await this.get('/admin/login');
    return this.post('/admin/login', { login, password });
  }
}

/** A signed-in client for a new user of the contract (or a system administrator). */
export async function signedIn(app: FastifyInstance, svc: Services, contractId: string | null, opts: { tokenLoginAllowed?: boolean } = {}) {
  const user = await makePanelUser(svc, contractId, opts);
  const client = new PanelClient(app);
  const res = await client.login(user.login);
  if (res.statusCode !== 303) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
  await client.get('/admin/tokens');
  return { user, client };
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#x27': "'", '#x60': '`', '#x3D': '=' };

/** Text of the first element with the given id: tags stripped, entities decoded, whitespace squeezed. */
export function textOf(html: string, id: string): string | null {
  const m = new RegExp(`id="${id}"[^>]*>([\\s\\S]*?)</`).exec(html);
  if (!m) return null;
  return m[1]
    .replace(/<[^>]+>/g, '')
    .replace(/&(amp|lt|gt|quot|#x27|#x60|#x3D);/g, (_, e: string) => ENTITIES[e])
    .replace(/\s+/g, ' ')
    .trim();
}

/** Handlebars-escaped text as it appears in the page. */
export const escaped = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#x27;').replace(/`/g, '&#x60;').replace(/=/g, '&#x3D;');
