// HTTP layer (panel): pages call use cases with the signed-in user as actor; no store or cache handle.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { getContract, listContracts } from '../../domain/contracts.js';
import { requireOperator, USER_ROLES, type UserRole } from '../../domain/actor.js';
import { createUser, deleteUser, getUser, listAllUsers, listUsers, LOGIN_PATTERN, PASSWORD_MAX, PASSWORD_MIN, updateUser, type User } from '../../domain/users.js';
import { AppError, notFound } from '../../errors.js';
import { actorOf, errorPage, field, ownZone, panelClock, sendPage, stateOf, UUID, type Panel } from './page.js';

interface UserForm {
  login: string;
  /** `system`, `<contract id>` (operator) or `issuer:<contract id>`. */
  role: string;
  tokenLoginAllowed: boolean;
}

/** The role picker's value → who the new user is. */
function readRole(value: string): { contractId: string | null; role: 'operator' | 'issuer' } | null {
  if (value === 'system') return { contractId: null, role: 'operator' };
  const issuer = value.startsWith('issuer:');
  const id = issuer ? value.slice('issuer:'.length) : value;
  return UUID.test(id) ? { contractId: id, role: issuer ? 'issuer' : 'operator' } : null;
}

const DONE = new Set(['created', 'password', 'role', 'tokenLogin', 'deleted']);

/**
 * Users: a system administrator manages everyone's; an operator those of their own contract, as
 * the API allows (no token login, no system administrators). Issuers never reach these pages.
 */
export async function userPages(app: FastifyInstance, { panel }: { panel: Panel }) {
  const { svc, views } = panel;

  async function page(request: FastifyRequest, reply: FastifyReply, form: UserForm, status = 200, error = '') {
    const lang = request.lang;
    const actor = actorOf(request);
    requireOperator(actor, 'Page');
    const [users, contracts] = actor.isSystem
      ? await Promise.all([listAllUsers(svc, actor), listContracts(svc, actor)])
      : await Promise.all([
          getContract(svc, actor, actor.contractId!).then(async (c) => (await listUsers(svc, actor)).map((u) => ({ ...u, contractName: c.name }))),
          getContract(svc, actor, actor.contractId!).then((c) => [c]),
        ]);
    const done = field(request.query, 'done');
    // A system administrator sees every contract's users: in the server's default zone.
    const zone = await ownZone(panel, request);
    return sendPage(
      panel,
      request,
      reply,
      'users',
      {
        flash: request.method === 'GET' && DONE.has(done) ? views.text(lang, `users.done.${done}`) : '',
        isSystem: actor.isSystem,
        error,
        form,
        roles: [
          ...(actor.isSystem ? [{ value: 'system', label: views.text(lang, 'users.role.system'), selected: form.role === 'system' }] : []),
          ...contracts.flatMap((c) =>
            (['operator', 'issuer'] as const).map((role) => {
              const value = role === 'operator' ? c.id : `issuer:${c.id}`;
              return { value, label: views.text(lang, `users.role.${role}`, { contract: c.name }), selected: form.role === value };
            }),
          ),
        ],
        users: users.map((u) => ({
          id: u.id,
          self: u.id === actor.userId,
          isSystem: u.isSystem,
          tokenLoginAllowed: u.tokenLoginAllowed,
          roles: USER_ROLES.map((r) => ({ value: r, label: views.text(lang, `users.roleName.${r}`), selected: r === u.role })),
          login: u.login,
          role: u.isSystem ? views.text(lang, 'users.role.system') : views.text(lang, `users.role.${u.role}`, { contract: u.contractName ?? '' }),
          tokenLogin: views.text(lang, u.tokenLoginAllowed ? 'yes' : 'no'),
          createdAt: panelClock(zone).at(u.createdAt),
        })),
        passwordMin: PASSWORD_MIN,
      },
      { title: views.text(lang, 'users.title'), section: 'users', status, timeZone: zone },
    );
  }

  const blank = (request: FastifyRequest): UserForm => {
    const actor = actorOf(request);
    return actor.isSystem ? { login: '', role: 'system', tokenLoginAllowed: true } : { login: '', role: actor.contractId!, tokenLoginAllowed: false };
  };

  app.get('/users', async (request, reply) => page(request, reply, blank(request)));

  app.post('/users', async (request, reply) => {
    requireOperator(actorOf(request), 'Page');
    const lang = request.lang;
    const form: UserForm = {
      login: field(request.body, 'login').trim(),
      role: field(request.body, 'role'),
      // Only a system administrator may allow token login; an operator's form has no such box.
      tokenLoginAllowed: actorOf(request).isSystem && field(request.body, 'tokenLoginAllowed') === 'on',
    };
    const password = field(request.body, 'password');
    if (!LOGIN_PATTERN.test(form.login)) return page(request, reply, form, 400, views.text(lang, 'users.bad.login'));
    const length = [...password].length;
    if (length < PASSWORD_MIN || length > PASSWORD_MAX) {
      return page(request, reply, form, 400, views.text(lang, 'users.bad.password', { min: PASSWORD_MIN, max: PASSWORD_MAX }));
    }
    const who = readRole(form.role);
    if (!who) return page(request, reply, form, 400, views.text(lang, 'users.bad.role'));
    try {
      await createUser(svc, actorOf(request), { login: form.login, password, ...who, tokenLoginAllowed: form.tokenLoginAllowed, now: svc.now() });
    } catch (err) {
      if (err instanceof AppError && err.code === 'LOGIN_TAKEN') return page(request, reply, form, 409, views.text(lang, 'users.bad.taken', { login: form.login }));
      if (err instanceof AppError && (err.status === 404 || err.status === 403)) return page(request, reply, form, 400, views.text(lang, 'users.bad.role'));
      throw err;
    }
    return reply.redirect('/admin/users?done=created', 303);
  });

  /** The user a row's form acts on; another contract's (or an unknown id) is a 404. */
  async function userOf(request: FastifyRequest<{ Params: { id: string } }>): Promise<User> {
    if (!UUID.test(request.params.id)) throw notFound('User');
    return getUser(svc, actorOf(request), request.params.id);
  }

  app.post<{ Params: { id: string } }>('/users/:id/password', async (request, reply) => {
    const user = await userOf(request);
    const password = field(request.body, 'password');
    const length = [...password].length;
    if (length < PASSWORD_MIN || length > PASSWORD_MAX) {
      return page(request, reply, blank(request), 400, views.text(request.lang, 'users.bad.password', { min: PASSWORD_MIN, max: PASSWORD_MAX }));
    }
    await updateUser(svc, actorOf(request), user.id, { password });
    return reply.redirect('/admin/users?done=password', 303);
  });

  app.post<{ Params: { id: string } }>('/users/:id/role', async (request, reply) => {
    const user = await userOf(request);
    const role = field(request.body, 'role') as UserRole;
    if (!USER_ROLES.includes(role) || user.isSystem) return page(request, reply, blank(request), 400, views.text(request.lang, 'users.bad.role'));
    await updateUser(svc, actorOf(request), user.id, { role });
    return reply.redirect('/admin/users?done=role', 303);
  });

  app.post<{ Params: { id: string } }>('/users/:id/token-login', async (request, reply) => {
    if (!stateOf(request).session.user.isSystem) return errorPage(panel, request, reply, 403, 'FORBIDDEN_SYSTEM');
    const user = await userOf(request);
    await updateUser(svc, actorOf(request), user.id, { tokenLoginAllowed: field(request.body, 'allowed') === 'on' });
    return reply.redirect('/admin/users?done=tokenLogin', 303);
  });

  app.post<{ Params: { id: string } }>('/users/:id/delete', async (request, reply) => {
    const user = await userOf(request);
    try {
      await deleteUser(svc, actorOf(request), user.id);
    } catch (err) {
      if (err instanceof AppError && err.code === 'CANNOT_DELETE_SELF') return page(request, reply, blank(request), 422, views.text(request.lang, 'users.bad.self'));
      throw err;
    }
    return reply.redirect('/admin/users?done=deleted', 303);
  });
}
