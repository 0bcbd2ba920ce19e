// HTTP layer (panel): the plans page (a contract's named presets for generating tokens): list,
// create, edit, delete. Translation only: forms in, one use case with the signed-in user as actor,
// a page or a redirect out. Operators only (an issuer picks a plan on the tokens page).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DURATION_CHOICES } from '../../domain/bounds.js';
import { createPlan, deletePlan, findPlan, listPlans, PLAN_NAME_MAX, updatePlan, type PlanRow, type PlanValues } from '../../domain/plans.js';
import { AppError, notFound } from '../../errors.js';
import type { Lang } from '../views.js';
import { limitBounds, limitForm, limitsLabel, readLimits, type LimitForm } from './limits.js';
import { actorOf, chooseContract, field, sendPage, withDone, type ContractChoice, type Panel } from './page.js';

const LIST = '/admin/plans';

interface PlanForm extends LimitForm {
  name: string;
  uses: string;
  term: string;
}

const EMPTY: PlanForm = { name: '', uses: 'single', term: '1', downKbps: '', upKbps: '', quotaMb: '', maxDevices: '' };

const formOf = (p: PlanRow): PlanForm => ({
  name: p.name,
  uses: p.multi_use ? 'multi' : 'single',
  term: p.duration_days === null ? 'unlimited' : String(p.duration_days),
  downKbps: p.down_kbps === null ? '' : String(p.down_kbps),
  upKbps: p.up_kbps === null ? '' : String(p.up_kbps),
  quotaMb: p.quota_mb === null ? '' : String(p.quota_mb),
  maxDevices: p.max_devices === null ? '' : String(p.max_devices),
});

export async function planPages(app: FastifyInstance, { panel }: { panel: Panel }) {
  const { svc, views } = panel;

  const formView = (lang: Lang, form: PlanForm) => ({
    ...form,
    single: form.uses !== 'multi',
    multi: form.uses === 'multi',
    termOptions: ['unlimited', ...DURATION_CHOICES].map((v) => ({
      value: v,
      label: v === 'unlimited' ? views.text(lang, 'term.unlimited') : views.text(lang, 'term.days', { n: v }),
      selected: v === form.term,
    })),
    bounds: limitBounds(),
    nameMax: PLAN_NAME_MAX,
  });

  /** The form's plan, or the message key of its first problem. */
  function readForm(form: PlanForm): { plan: PlanValues } | { problem: string } {
    if (!['single', 'multi'].includes(form.uses)) return { problem: 'generate.bad.uses' };
    if (form.term !== 'unlimited' && !DURATION_CHOICES.includes(form.term)) return { problem: 'generate.bad.term' };
    const { limits, bad } = readLimits(form);
    if (bad) return { problem: `limits.bad.${bad}` };
    return {
      plan: {
        name: form.name,
        multiUse: form.uses === 'multi',
        durationDays: form.term === 'unlimited' ? null : Number(form.term),
        downKbps: limits.downKbps ?? null,
        upKbps: limits.upKbps ?? null,
        quotaMb: limits.quotaMb ?? null,
        maxDevices: limits.maxDevices ?? null,
      },
    };
  }

  /** A refusal the use case gave, as the form's message; other errors go on. */
  function problemOf(err: unknown): string | null {
    if (!(err instanceof AppError)) return null;
    if (err.code === 'PLAN_NAME_TAKEN') return 'plans.bad.taken';
    if (err.code === 'INVALID_PLAN_NAME') return 'plans.bad.name';
    if (err.code === 'MAX_DEVICES_SINGLE_USE') return 'limits.bad.singleUse';
    return null;
  }

  async function listPage(request: FastifyRequest, reply: FastifyReply, choice: ContractChoice, input: { form?: PlanForm; error?: string; status?: number } = {}) {
    const lang = request.lang;
    const contract = choice.current;
    const plans = contract ? await listPlans(svc, actorOf(request), contract.id) : [];
    const done = request.method === 'GET' ? field(request.query, 'done') : '';
    return sendPage(
      panel,
      request,
      reply,
      'plans',
      {
        contract,
        flash: ['created', 'saved', 'deleted'].includes(done) ? views.text(lang, `plans.done.${done}`) : '',
        error: input.error ?? '',
        form: formView(lang, input.form ?? EMPTY),
        rows: plans.map((p) => ({
          id: p.id,
          name: p.name,
          uses: views.text(lang, p.multi_use ? 'uses.multi' : 'uses.single'),
          term: p.duration_days === null ? views.text(lang, 'term.unlimited') : views.text(lang, 'term.days', { n: p.duration_days }),
          limits: limitsLabel(views, lang, { downKbps: p.down_kbps, upKbps: p.up_kbps, quotaMb: p.quota_mb, maxDevices: p.max_devices }) || views.text(lang, 'limits.none'),
        })),
        empty: plans.length === 0,
      },
      { title: views.text(lang, 'plans.title'), section: 'plans', contracts: choice, status: input.status },
    );
  }

  const editPage = (request: FastifyRequest, reply: FastifyReply, plan: PlanRow, form: PlanForm, error = '', status = 200) =>
    sendPage(panel, request, reply, 'plan-edit', { plan: { id: plan.id }, form: formView(request.lang, form), error }, {
      title: views.text(request.lang, 'plan-edit.title'),
      section: 'plans',
      status,
    });

  const formFrom = (body: unknown): PlanForm => ({ name: field(body, 'name'), uses: field(body, 'uses'), term: field(body, 'term'), ...limitForm(body) });

  app.get('/plans', async (request, reply) => listPage(request, reply, await chooseContract(panel, request, field(request.query, 'contract'))));

  app.post('/plans', async (request, reply) => {
    const choice = await chooseContract(panel, request, field(request.body, 'contract'));
    if (!choice.current) throw notFound('Contract');
    const form = formFrom(request.body);
    const read = readForm(form);
    if ('problem' in read) return listPage(request, reply, choice, { form, error: views.text(request.lang, read.problem), status: 400 });
    try {
      await createPlan(svc, actorOf(request), { contractId: choice.current.id, plan: read.plan, now: svc.now() });
    } catch (err) {
      const problem = problemOf(err);
      if (!problem) throw err;
      return listPage(request, reply, choice, { form, error: views.text(request.lang, problem, { max: PLAN_NAME_MAX }), status: (err as AppError).status });
    }
    return reply.redirect(withDone(LIST, 'created'), 303);
  });

  app.get<{ Params: { id: string } }>('/plans/:id', async (request, reply) => {
    const plan = await findPlan(svc.db, actorOf(request), request.params.id);
    return editPage(request, reply, plan, formOf(plan));
  });

  app.post<{ Params: { id: string } }>('/plans/:id', async (request, reply) => {
    const plan = await findPlan(svc.db, actorOf(request), request.params.id);
    const form = formFrom(request.body);
    const read = readForm(form);
    if ('problem' in read) return editPage(request, reply, plan, form, views.text(request.lang, read.problem), 400);
    try {
      await updatePlan(svc, actorOf(request), { planId: plan.id, changes: read.plan });
    } catch (err) {
      const problem = problemOf(err);
      if (!problem) throw err;
      return editPage(request, reply, plan, form, views.text(request.lang, problem, { max: PLAN_NAME_MAX }), (err as AppError).status);
    }
    return reply.redirect(withDone(LIST, 'saved'), 303);
  });

  app.post<{ Params: { id: string } }>('/plans/:id/delete', async (request, reply) => {
    await deletePlan(svc, actorOf(request), request.params.id);
    return reply.redirect(withDone(LIST, 'deleted'), 303);
  });
}
