// HTTP layer (panel): server-rendered pages that call use cases with the signed-in user as actor.
// No store or cache handle here.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import { resumePanelSession } from '../../domain/panelSessions.js';
import { packageRoot } from '../../paths.js';
import type { Services } from '../../services.js';
import { toErrorReply } from '../plugins/errors.js';
import { csrfToken, csrfValid } from './csrf.js';
import { loadViews, pickLang, LANGS, type Lang } from '../views.js';
import { errorPage, field, pageCode, type Panel } from './page.js';
import { loginRoutes, SESSION_COOKIE } from './login.js';
import { planPages } from './plans.js';
import { tokenPages } from './tokens.js';
import { activityPages } from './activity.js';
import { networkPages } from './networks.js';
import { phonePages } from './phone.js';
import { userPages } from './users.js';
import { contractPages } from './contracts.js';
import { profilePages } from './profile.js';

const TEMPLATES = 'portal-templates/panel';

/**
 * The panel pages an issuer may open (tokens: list, generate, print, annul, issuedTo; their own
 * profile). Fail-closed like the API's list: any other page is an issuer's 404.
 */
const ISSUER_PAGES = new Set([
  'GET /admin/',
  'GET /admin/tokens',
  'POST /admin/tokens/generate',
  'POST /admin/tokens/:id/annul',
  'GET /admin/tokens/:id/issued-to',
  'POST /admin/tokens/:id/issued-to',
  'GET /admin/tokens.pdf',
  'GET /admin/profile',
  'GET /admin/profile/tokens',
  'GET /admin/profile/tokens/new',
  'POST /admin/profile/tokens',
  'GET /admin/profile/tokens/:id/revoke',
  'POST /admin/profile/tokens/:id/revoke',
  'POST /admin/logout',
]);
const LANG_COOKIE = 'kalitka_lang';

// Scripts only from our own files, nothing inline, no framing, forms post only to us.
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const CONTENT_TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The panel's static files, read once: a fixed list, so no path from a request touches the disk. */
function loadAssets(): Map<string, { body: Buffer; type: string }> {
  const dir = path.join(packageRoot, TEMPLATES, 'assets');
  return new Map(
    readdirSync(dir)
      .filter((f) => CONTENT_TYPES[path.extname(f)])
      .map((f) => [f, { body: readFileSync(path.join(dir, f)), type: CONTENT_TYPES[path.extname(f)] }]),
  );
}

/** The operators' admin panel under /admin: server-rendered pages behind a password login. */
export async function panelPlugin(app: FastifyInstance) {
  const svc: Services = app.services;
  const panel: Panel = { svc, views: loadViews(TEMPLATES) };
  const assets = loadAssets();
  await app.register(cookie);
  app.decorateRequest('panel', null);
  app.decorateRequest('lang', 'ru');

  app.addHook('onRequest', async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const asked = field(query, 'lang');
    if (LANGS.includes(asked as Lang)) {
      reply.setCookie(LANG_COOKIE, asked, { path: '/admin', httpOnly: true, sameSite: 'lax', maxAge: 365 * 86_400, secure: request.protocol === 'https' });
    }
    request.lang = pickLang(asked || request.cookies[LANG_COOKIE], request.headers['accept-language']);
    // Static files need no session: no lookup (and no idle-time write) per stylesheet.
    if (request.routeOptions.url === '/admin/assets/:file') return;
    const sid = request.cookies[SESSION_COOKIE];
    if (sid) {
      const session = await resumePanelSession(svc, sid, svc.now());
      if (session) request.panel = { sid, session, csrf: csrfToken(svc.secret, 'session', sid) };
    }
    if (request.routeOptions.config?.public) return;
    if (!request.panel) return reply.redirect('/admin/login', 303);
    if (request.panel.session.user.role === 'issuer' && !ISSUER_PAGES.has(`${request.method} ${request.routeOptions.url}`)) {
      return errorPage(panel, request, reply, 404, 'NOT_FOUND');
    }
  });

  // After the body is parsed: every form post of a signed-in page carries the session's token.
  app.addHook('preHandler', async (request, reply) => {
    if (request.method !== 'POST' || request.routeOptions.config?.public) return;
    if (!csrfValid(svc.secret, 'session', request.panel!.sid, field(request.body, '_csrf'))) {
      return errorPage(panel, request, reply, 403, 'FORBIDDEN_CSRF');
    }
  });

  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('content-security-policy', CSP);
    reply.header('x-frame-options', 'DENY');
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'same-origin');
    reply.header('cross-origin-opener-policy', 'same-origin');
    // Pages show token codes, passport notes and once a personal token: never kept by any cache.
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });

  app.setErrorHandler((err, request, reply) => {
    const { status } = toErrorReply(err);
    if (status >= 500) request.log.error({ err }, 'panel request failed');
    return errorPage(panel, request, reply, status, pageCode(status));
  });
  app.setNotFoundHandler((request, reply) => errorPage(panel, request, reply, 404, 'NOT_FOUND'));

  app.get<{ Params: { file: string } }>('/assets/:file', { config: { public: true } }, async (request, reply) => {
    const asset = assets.get(request.params.file);
    if (!asset) return errorPage(panel, request, reply, 404, 'NOT_FOUND');
    return reply.header('content-type', asset.type).header('cache-control', 'public, max-age=300').send(asset.body);
  });

  app.get('/', async (_request, reply) => reply.redirect('/admin/tokens', 303));

  await app.register(loginRoutes, { panel });
  await app.register(tokenPages, { panel });
  await app.register(planPages, { panel });
  await app.register(activityPages, { panel });
  await app.register(networkPages, { panel });
  await app.register(phonePages, { panel });
  await app.register(contractPages, { panel });
  await app.register(userPages, { panel });
  await app.register(profilePages, { panel });
}
