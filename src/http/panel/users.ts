// HTTP layer (panel): pages call use cases with the signed-in user as actor; no store or cache handle.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { listContracts } from '../../domain/contracts.js';
import { createUser, listAllUsers, LOGIN_PATTERN, PASSWORD_MAX, PASSWORD_MIN } from '../../domain/users.js';
import { AppError } from '../../errors.js';
import { actorOf, errorPage, field, formatDateTime, sendPage, stateOf, UUID, type Panel } from './page.js';

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

/** Administrators (users) of every contract: system administrators only. */
export async function userPages(app: FastifyInstance, { panel }: { panel: Panel }) {
  const { svc, views } = panel;

  async function page(request: FastifyRequest, reply: FastifyReply, form: UserForm, status = 200, error = '') {
    const lang = request.lang;
    const actor = actorOf(request);
    const [users, contracts] = await Promise.all([listAllUsers(svc, actor), listContracts(svc, actor)]);
    return sendPage(
      panel,
      request,
      reply,
      'users',
      {
        flash: request.method === 'GET' && field(request.query, 'done') === 'created' ? views.text(lang, 'users.created') : '',
        error,
        form,
        roles: [
          { value: 'system', label: views.text(lang, 'users.role.system'), selected: form.role === 'system' },
          ...contracts.flatMap((c) =>
            (['operator', 'issuer'] as const).map((role) => {
              const value = role === 'operator' ? c.id : `issuer:${c.id}`;
              return { value, label: views.text(lang, `users.role.${role}`, { contract: c.name }), selected: form.role === value };
            }),
          ),
        ],
        users: users.map((u) => ({
          login: u.login,
          role: u.isSystem ? views.text(lang, 'users.role.system') : views.text(lang, `users.role.${u.role}`, { contract: u.contractName ?? '' }),
          tokenLogin: views.text(lang, u.tokenLoginAllowed ? 'yes' : 'no'),
          createdAt: formatDateTime(u.createdAt),
        })),
        passwordMin: PASSWORD_MIN,
      },
      { title: views.text(lang, 'users.title'), section: 'users', status },
    );
  }

  const systemOnly = (request: FastifyRequest, reply: FastifyReply) =>
    stateOf(request).session.user.isSystem ? null : errorPage(panel, request, reply, 403, 'FORBIDDEN_SYSTEM');

  app.get('/users', async (request, reply) => {
    return systemOnly(request, reply) ?? page(request, reply, { login: '', role: 'system', tokenLoginAllowed: true });
  });

  app.post('/users', async (request, reply) => {
    const refused = systemOnly(request, reply);
    if (refused) return refused;
    const lang = request.lang;
    const form: UserForm = {
      login: field(request.body, 'login').trim(),
      role: field(request.body, 'role'),
      tokenLoginAllowed: field(request.body, 'tokenLoginAllowed') === 'on',
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
      if (err instanceof AppError && err.status === 404) return page(request, reply, form, 400, views.text(lang, 'users.bad.role'));
      throw err;
    }
    return reply.redirect('/admin/users?done=created', 303);
  });
}
