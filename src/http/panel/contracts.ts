// HTTP layer (panel): contracts (tenants), for system administrators. Pages call use cases with the
// signed-in user as actor; no store or cache handle.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createContract, listContracts, updateContract, type ContractChange } from '../../domain/contracts.js';
import { NAME_MAX } from '../../domain/names.js';
import { AppError, notFound } from '../../errors.js';
import { actorOf, errorPage, field, panelClock, sendPage, stateOf, UUID, type Panel } from './page.js';

interface ContractForm {
  name: string;
  timeZone: string;
}

const DONE = new Set(['created', 'renamed', 'disabled', 'enabled']);

export async function contractPages(app: FastifyInstance, { panel }: { panel: Panel }) {
  const { svc, views } = panel;

  async function page(request: FastifyRequest, reply: FastifyReply, form: ContractForm, status = 200, error = '', failedId = '') {
    const lang = request.lang;
    const contracts = await listContracts(svc, actorOf(request));
    const done = field(request.query, 'done');
    return sendPage(
      panel,
      request,
      reply,
      'contracts',
      {
        flash: request.method === 'GET' && DONE.has(done) ? views.text(lang, `contracts.done.${done}`) : '',
        error,
        form,
        nameMax: NAME_MAX,
        defaultZone: svc.config.timeZone,
        contracts: contracts.map((c) => ({
          id: c.id,
          name: c.id === failedId ? form.name : c.name,
          timeZone: c.id === failedId ? form.timeZone : c.timeZone,
          disabled: c.disabled,
          status: views.text(lang, c.disabled ? 'contracts.status.disabled' : 'contracts.status.active'),
          createdAt: panelClock(svc.config.timeZone).at(c.createdAt),
        })),
      },
      { title: views.text(lang, 'contracts.title'), section: 'contracts', status, timeZone: svc.config.timeZone },
    );
  }

  const systemOnly = (request: FastifyRequest, reply: FastifyReply) =>
    stateOf(request).session.user.isSystem ? null : errorPage(panel, request, reply, 403, 'FORBIDDEN_SYSTEM');

  /** A refused name or zone, in the page's language; anything else is not ours to show. */
  function problem(lang: FastifyRequest['lang'], err: unknown, zone: string): string | null {
    if (!(err instanceof AppError)) return null;
    if (err.code === 'INVALID_NAME') return views.text(lang, 'contracts.bad.name', { max: NAME_MAX });
    if (err.code === 'INVALID_TIME_ZONE') return views.text(lang, 'contracts.bad.timeZone', { zone });
    return null;
  }

  app.get('/contracts', async (request, reply) => systemOnly(request, reply) ?? page(request, reply, { name: '', timeZone: '' }));

  app.post('/contracts', async (request, reply) => {
    const refused = systemOnly(request, reply);
    if (refused) return refused;
    const form: ContractForm = { name: field(request.body, 'name'), timeZone: field(request.body, 'timeZone').trim() };
    try {
      await createContract(svc, actorOf(request), { name: form.name, timeZone: form.timeZone || null, now: svc.now() });
    } catch (err) {
      const message = problem(request.lang, err, form.timeZone);
      if (message) return page(request, reply, form, 400, message);
      throw err;
    }
    return reply.redirect('/admin/contracts?done=created', 303);
  });

  app.post<{ Params: { id: string } }>('/contracts/:id', async (request, reply) => {
    const refused = systemOnly(request, reply);
    if (refused) return refused;
    if (!UUID.test(request.params.id)) throw notFound('Contract');
    const action = field(request.body, 'action');
    let change: ContractChange;
    const form: ContractForm = { name: field(request.body, 'name'), timeZone: field(request.body, 'timeZone').trim() };
    if (action === 'disable' || action === 'enable') change = { disabled: action === 'disable' };
    else if (action === 'save') change = { name: form.name, timeZone: form.timeZone || null };
    else throw notFound('Page');
    try {
      await updateContract(svc, actorOf(request), request.params.id, change, svc.now());
    } catch (err) {
      const message = problem(request.lang, err, form.timeZone);
      if (message) return page(request, reply, { name: '', timeZone: '' }, 400, message);
      throw err;
    }
    const done = action === 'save' ? 'renamed' : action === 'disable' ? 'disabled' : 'enabled';
    return reply.redirect(`/admin/contracts?done=${done}`, 303);
  });
}
