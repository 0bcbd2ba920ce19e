import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { countLoginTry, loginSucceeded } from '../../domain/limits.js';
import { verifyPassword } from '../../domain/passwords.js';
import { endPanelSession, openPanelSession, plausibleSessionId } from '../../domain/panelSessions.js';
import { findUserByLogin } from '../../domain/users.js';
import { csrfToken, csrfValid } from './csrf.js';
import { field, sendPage, stateOf, type Panel } from './page.js';

export const SESSION_COOKIE = 'kalitka_panel';
/** Holds the login form's CSRF secret before there is a session. */
const LOGIN_COOKIE = 'kalitka_login';

const cookieOptions = (request: FastifyRequest) => ({
  path: '/admin',
  httpOnly: true,
  sameSite: 'lax' as const,
  secure: request.protocol === 'https',
});

export async function loginRoutes(app: FastifyInstance, { panel }: { panel: Panel }) {
  const { svc, views } = panel;

  function loginPage(request: FastifyRequest, reply: FastifyReply, status: number, data: { login?: string; error?: string }) {
    let pre = request.cookies[LOGIN_COOKIE];
    if (!pre || !plausibleSessionId(pre)) {
      pre = randomBytes(32).toString('base64url');
      reply.setCookie(LOGIN_COOKIE, pre, cookieOptions(request));
    }
    return sendPage(panel, request, reply, 'login', { ...data, csrf: csrfToken(svc.secret, 'login', pre) }, {
      title: views.text(request.lang, 'login.title'),
      status,
    });
  }

  app.get('/login', { config: { public: true } }, async (request, reply) => {
    if (request.panel) return reply.redirect('/admin/tokens', 303);
    return loginPage(request, reply, 200, {});
  });

  app.post('/login', { config: { public: true } }, async (request, reply) => {
    const lang = request.lang;
    const pre = request.cookies[LOGIN_COOKIE] ?? '';
    if (!plausibleSessionId(pre) || !csrfValid(svc.secret, 'login', pre, field(request.body, '_csrf'))) {
      return loginPage(request, reply, 403, { error: views.text(lang, 'error.FORBIDDEN_CSRF') });
    }
    const login = field(request.body, 'login').trim();
    const password = field(request.body, 'password');
    if (login === '' || password === '') {
      return loginPage(request, reply, 400, { login, error: views.text(lang, 'login.missing') });
    }
    // Counted before the password is checked (one round trip), so guesses sent in parallel cannot
    // slip past the limit; a successful login takes its try back.
    const limit = await countLoginTry(svc, login, request.ip);
    if (limit.blocked) {
      return loginPage(request, reply, 429, { login, error: views.text(lang, 'login.limited', { minutes: Math.ceil(limit.retryAfter / 60) }) });
    }
    // An operator of a disabled contract is nobody here: the same refusal as a wrong password.
    const user = login.length <= 200 ? await findUserByLogin(svc, login) : null;
    // verifyPassword spends the same time when there is no such user or no password.
    const valid = await verifyPassword(password, user?.passwordHash ?? null);
    if (!valid || !user) return loginPage(request, reply, 401, { login, error: views.text(lang, 'login.failed') });
    await loginSucceeded(svc, login, request.ip);
    if (request.panel) await endPanelSession(svc, request.panel.sid);
    // A fresh id at every login: an id planted before it (session fixation) is never promoted.
    const sid = await openPanelSession(svc, { userId: user.id, now: svc.now() });
    reply.setCookie(SESSION_COOKIE, sid, cookieOptions(request));
    reply.clearCookie(LOGIN_COOKIE, cookieOptions(request));
    return reply.redirect('/admin/tokens', 303);
  });

  app.post('/logout', async (request, reply) => {
    await endPanelSession(svc, stateOf(request).sid);
    reply.clearCookie(SESSION_COOKIE, cookieOptions(request));
    return reply.redirect('/admin/login', 303);
  });
}
