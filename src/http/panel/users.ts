import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { listContracts } from '../../domain/contracts.js';
import { createUser, LOGIN_PATTERN, PASSWORD_MAX, PASSWORD_MIN } from '../../domain/users.js';
import { AppError } from '../../errors.js';
import type { Queryable } from '../../store/db.js';
import { errorPage, field, formatDateTime, sendPage, stateOf, UUID, type Panel } from './page.js';


interface UserListRow {
  login: string;
  is_system: boolean;
  contract_name: string | null;
  token_login_allowed: boolean;
  created_at: Date;
}

async function listUsersWithContracts(q: Queryable): Promise<UserListRow[]> {
  const { rows } = await q.query<UserListRow>(
    `select u.login, u.is_system, c.name as contract_name, u.token_login_allowed, u.created_at
       from users u left join contracts c on c.id = u.contract_id
      order by u.is_system desc, c.name nulls first, u.login collate "C"`,
  );
  return rows;
}

interface UserForm {
  login: string;
  role: string;
  tokenLoginAllowed: boolean;
}

/** Administrators (users) of every contract: system administrators only. */
export async function userPages(app: FastifyInstance, { panel }: { panel: Panel }) {
  const { svc, views } = panel;

  async function page(request: FastifyRequest, reply: FastifyReply, form: UserForm, status = 200, error = '') {
    const lang = request.lang;
    const [users, contracts] = await Promise.all([listUsersWithContracts(svc.db), listContracts(svc.db, null)]);
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
          ...contracts.map((c) => ({ value: c.id, label: views.text(lang, 'users.role.operator', { contract: c.name }), selected: form.role === c.id })),
        ],
        users: users.map((u) => ({
          login: u.login,
          role: u.is_system ? views.text(lang, 'users.role.system') : views.text(lang, 'users.role.operator', { contract: u.contract_name ?? '' }),
          tokenLogin: views.text(lang, u.token_login_allowed ? 'yes' : 'no'),
          createdAt: formatDateTime(u.created_at),
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
    if (form.role !== 'system' && !UUID.test(form.role)) return page(request, reply, form, 400, views.text(lang, 'users.bad.role'));
    try {
      await createUser(svc.db, {
        login: form.login,
        password,
        contractId: form.role === 'system' ? null : form.role,
        isSystem: form.role === 'system',
        tokenLoginAllowed: form.tokenLoginAllowed,
        now: svc.now(),
      });
    } catch (err) {
      if (err instanceof AppError && err.code === 'LOGIN_TAKEN') return page(request, reply, form, 409, views.text(lang, 'users.bad.taken', { login: form.login }));
      if (err instanceof AppError && err.status === 404) return page(request, reply, form, 400, views.text(lang, 'users.bad.role'));
      throw err;
    }
    return reply.redirect('/admin/users?done=created', 303);
  });
}
