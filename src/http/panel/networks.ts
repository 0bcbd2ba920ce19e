// HTTP layer (panel): pages call use cases with the signed-in user as actor; no store or cache handle.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, notFound } from '../../errors.js';
import { CONTROLLERS, createNetwork, isSecretSetting, listNetworks, type ControllerKind, type NetworkSettings } from '../../domain/networks.js';
import { NAME_MAX } from '../../domain/names.js';
import { requireOperator } from '../../domain/actor.js';
import { baseUrl } from '../schemas.js';
import { actorOf, chooseContract, field, formatDateTime, sendPage, type ContractChoice, type Panel } from './page.js';

export const NETWORK_NAME_MAX = NAME_MAX;
const SETTING_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const MAX_SETTINGS = 40;
const SETTING_VALUE_MAX = 2000;

interface NetworkForm {
  name: string;
  controller: string;
  settings: string;
}

/**
 * `name=value` lines → controller settings. `true`/`false` and whole numbers become JSON booleans
 * and numbers (ports, flags), anything else stays text. Returns the problem's message key instead
 * when a line is not acceptable.
 */
export function parseSettings(text: string): { ok: true; settings: NetworkSettings } | { ok: false; problem: string; line: string } {
  const settings: NetworkSettings = {};
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (lines.length > MAX_SETTINGS) return { ok: false, problem: 'networks.bad.tooMany', line: String(MAX_SETTINGS) };
  for (const line of lines) {
    const eq = line.indexOf('=');
    const name = eq < 0 ? line : line.slice(0, eq).trim();
    const value = eq < 0 ? '' : line.slice(eq + 1).trim();
    if (eq < 0 || !SETTING_NAME.test(name) || name === 'name' || name === 'controller') return { ok: false, problem: 'networks.bad.line', line };
    if (name in settings) return { ok: false, problem: 'networks.bad.twice', line: name };
    if (value.length > SETTING_VALUE_MAX) return { ok: false, problem: 'networks.bad.long', line: name };
    settings[name] = value === 'true' ? true : value === 'false' ? false : /^-?\d{1,15}$/.test(value) ? Number(value) : value;
  }
  return { ok: true, settings };
}

export async function networkPages(app: FastifyInstance, { panel }: { panel: Panel }) {
  const { svc, views } = panel;

  async function page(request: FastifyRequest, reply: FastifyReply, choice: ContractChoice, form: NetworkForm, status = 200, error = '') {
    const lang = request.lang;
    const networks = choice.current ? await listNetworks(svc, actorOf(request), choice.current.id) : [];
    const base = baseUrl(request);
    return sendPage(
      panel,
      request,
      reply,
      'networks',
      {
        contract: choice.current,
        flash: field(request.query, 'done') === 'created' && request.method === 'GET' ? views.text(lang, 'networks.created') : '',
        error,
        form,
        controllers: CONTROLLERS.map((c) => ({ value: c, label: views.text(lang, `controller.${c}`), selected: c === form.controller })),
        networks: networks.map((n) => ({
          id: n.id,
          name: n.name,
          controller: views.text(lang, `controller.${n.controller}`),
          portalUrl: `${base}/portal/${n.id}`,
          notes: views.text(lang, `controller.${n.controller}.notes`, { portalUrl: `${base}/portal/${n.id}`, host: request.host }),
          settings: Object.entries(n.settings).map(([k, v]) => ({ name: k, value: isSecretSetting(k) ? '••••••' : String(v) })),
          createdAt: formatDateTime(n.createdAt),
        })),
      },
      { title: views.text(lang, 'networks.title'), section: 'networks', contracts: choice, status },
    );
  }

  app.get('/networks', async (request, reply) => {
    requireOperator(actorOf(request), 'Page');
    const choice = await chooseContract(panel, request, field(request.query, 'contract'));
    return page(request, reply, choice, { name: '', controller: 'generic', settings: '' });
  });

  app.post('/networks', async (request, reply) => {
    requireOperator(actorOf(request), 'Page');
    const lang = request.lang;
    const choice = await chooseContract(panel, request, field(request.body, 'contract'));
    if (!choice.current) throw notFound('Contract');
    const form: NetworkForm = {
      name: field(request.body, 'name'),
      controller: field(request.body, 'controller'),
      settings: field(request.body, 'settings'),
    };
    const name = form.name.trim();
    if (name === '' || [...name].length > NETWORK_NAME_MAX) {
      return page(request, reply, choice, form, 400, views.text(lang, 'networks.bad.name', { max: NETWORK_NAME_MAX }));
    }
    if (!CONTROLLERS.includes(form.controller as ControllerKind)) {
      return page(request, reply, choice, form, 400, views.text(lang, 'networks.bad.controller'));
    }
    const parsed = parseSettings(form.settings);
    if (!parsed.ok) {
      return page(request, reply, choice, form, 400, views.text(lang, parsed.problem, { line: parsed.line, max: SETTING_VALUE_MAX }));
    }
    try {
      // The same use case as the API: the per-controller check, required settings present, no unknown names.
      await createNetwork(svc, actorOf(request), {
        contractId: choice.current.id,
        name,
        controller: form.controller as ControllerKind,
        settings: parsed.settings,
        now: svc.now(),
      });
    } catch (err) {
      if (err instanceof AppError && err.code === 'INVALID_SETTINGS') return page(request, reply, choice, form, 400, err.message);
      if (err instanceof AppError && err.code === 'OUTBOUND_REFUSED') return page(request, reply, choice, form, 422, err.message);
      throw err;
    }
    return reply.redirect('/admin/networks?done=created', 303);
  });
}
