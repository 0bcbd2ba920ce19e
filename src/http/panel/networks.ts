// HTTP layer (panel): pages call use cases with the signed-in user as actor; no store or cache handle.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, notFound } from '../../errors.js';
import {
  CONTROLLERS,
  createNetwork,
  deleteNetwork,
  getNetwork,
  isSecretSetting,
  listNetworks,
  updateNetwork,
  type ControllerKind,
  type Network,
  type NetworkSettings,
} from '../../domain/networks.js';
import { NAME_MAX } from '../../domain/names.js';
import { requireOperator } from '../../domain/actor.js';
import { adapterFor, limitsEnforced, schemaOf } from '../../controllers/index.js';
import { baseUrl } from '../schemas.js';
import type { Lang } from '../views.js';
import { actorOf, chooseContract, field, panelClock, sendPage, UUID, type ContractChoice, type Panel } from './page.js';

export const NETWORK_NAME_MAX = NAME_MAX;
const SETTING_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const MAX_SETTINGS = 40;
const SETTING_VALUE_MAX = 2000;

interface NetworkForm {
  name: string;
  controller: string;
  /** The generated fields as sent (`s.<controller>.<setting>`), to show a refused form again. */
  fields: Record<string, string>;
  /** Extra `name=value` lines (only a controller that keeps names outside its schema shows the box). */
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
    if (Object.hasOwn(settings, name)) return { ok: false, problem: 'networks.bad.twice', line: name };
    if (value.length > SETTING_VALUE_MAX) return { ok: false, problem: 'networks.bad.long', line: name };
    settings[name] = value === 'true' ? true : value === 'false' ? false : /^-?\d{1,15}$/.test(value) ? Number(value) : value;
  }
  return { ok: true, settings };
}

const inputName = (kind: string, setting: string) => `s.${kind}.${setting}`;
/** A string setting whose pattern is `^(a|b|c)$` is a choice among those values (a select). */
const choicesOf = (prop: { type: string; pattern?: string }): string[] | null => {
  const m = prop.type === 'string' && prop.pattern ? /^\^\(([A-Za-z0-9_|]+)\)\$$/.exec(prop.pattern) : null;
  return m ? m[1].split('|') : null;
};
const LIST_ITEM = /^[A-Za-z0-9_-]{1,20}$/;
/** A label and hint of the operator's language where the panel has one (`setting.<name>`), else the schema's. */
function labelled(views: Panel['views'], lang: Lang, name: string, description: string | undefined) {
  const key = `setting.${name}`;
  const label = views.text(lang, key);
  const hint = views.text(lang, `${key}.hint`);
  return { label: label === key ? null : label, description: hint === `${key}.hint` ? (description ?? '') : hint };
}

/**
 * One input per property of the controller's settings schema, with its type, bounds and
 * description. A secret is never sent back: the field is empty and says whether one is set.
 */
function settingFields(views: Panel['views'], lang: Lang, kind: ControllerKind, saved: NetworkSettings | null, sent: Record<string, string> | null) {
  const schema = schemaOf(kind);
  /** How a value of a list or a choice reads (`setting.<name>.<value>`), else the value itself. */
  const valueLabel = (name: string, value: string, fallback = value) => {
    const key = `setting.${name}.${value}`;
    const text = views.text(lang, key);
    return text === key ? fallback : text;
  };
  return Object.entries(schema.properties).map(([name, prop]) => {
    const secret = isSecretSetting(name);
    const key = inputName(kind, name);
    const savedValue = saved?.[name];
    const shownSaved = Array.isArray(savedValue) ? savedValue.join(', ') : savedValue;
    const value = sent ? (sent[key] ?? '') : secret || shownSaved === undefined || shownSaved === null ? '' : String(shownSaved);
    const isSet = secret && savedValue !== undefined && savedValue !== null && savedValue !== '';
    const { label, description } = labelled(views, lang, name, prop.description);
    // A list of known values: one box per value; a choice: a select (with "none" when it may be unset).
    const items = prop.type === 'list' && prop.items ? prop.items : null;
    const ticked = (item: string) =>
      sent ? sent[`${key}.${item}`] === 'on' : Array.isArray(savedValue) ? savedValue.includes(item) : Array.isArray(prop.default) && prop.default.includes(item);
    const choices = choicesOf(prop);
    const hint = [
      description,
      prop.default !== undefined && prop.type !== 'boolean' && !items ? views.text(lang, 'networks.field.default', { value: String(prop.default) }) : '',
      isSet ? views.text(lang, 'networks.field.secretSet') : '',
    ].filter(Boolean).join(' ');
    const checked = prop.type === 'boolean' && (sent ? sent[key] === 'on' : savedValue !== undefined ? savedValue === true : prop.default === true);
    return {
      name,
      label,
      key,
      id: `f-${kind}-${name}`,
      checkbox: prop.type === 'boolean',
      items: items?.map((item) => ({ value: item, key: `${key}.${item}`, id: `f-${kind}-${name}-${item}`, checked: ticked(item), label: valueLabel(name, item) })) ?? null,
      choices: choices ? [{ value: '', label: valueLabel(name, 'none', '—'), selected: value === '' }, ...choices.map((c) => ({ value: c, label: valueLabel(name, c), selected: value === c }))] : null,
      inputType: prop.type === 'integer' ? 'number' : secret ? 'password' : prop.format === 'uri' ? 'url' : 'text',
      value,
      checked,
      // A secret already set may be left empty (kept). The browser enforces it only where one
      // controller's fields are on the page (the create form carries every controller's).
      star: schema.required.includes(name) && !isSet,
      required: schema.required.includes(name) && !isSet && saved !== null,
      min: prop.minimum,
      max: prop.maximum,
      // A list's maxLength counts its values, not characters.
      maxLength: prop.type === 'list' ? undefined : prop.maxLength,
      hint,
    };
  });
}

/**
 * The generated form's fields of one controller → the settings to save. An empty field is
 * "not set" (on an edit: removed — a secret left empty is kept). Returns a message instead when a
 * field cannot be read.
 */
function readSettings(
  kind: ControllerKind,
  body: unknown,
  saved: NetworkSettings | null,
): { ok: true; settings: NetworkSettings; fields: Record<string, string> } | { ok: false; key: string; name: string } {
  const settings: NetworkSettings = {};
  const fields: Record<string, string> = {};
  for (const [name, prop] of Object.entries(schemaOf(kind).properties)) {
    const key = inputName(kind, name);
    const raw = field(body, key);
    fields[key] = isSecretSetting(name) ? '' : raw;
    if (prop.type === 'list') {
      let list: string[];
      if (prop.items) {
        // One box per known value; an unticked set on an edit clears the list.
        list = prop.items.filter((item) => field(body, `${key}.${item}`) === 'on');
        for (const item of prop.items) fields[`${key}.${item}`] = field(body, `${key}.${item}`);
      } else {
        list = raw.split(/[\s,;]+/).filter(Boolean).map((v) => (prop.format === 'country' ? v.toUpperCase() : v));
        if (list.some((v) => !LIST_ITEM.test(v))) return { ok: false, key: 'networks.bad.list', name };
      }
      if (list.length) settings[name] = list;
      else if (saved && saved[name] !== undefined) settings[name] = null;
      continue;
    }
    if (prop.type === 'boolean') {
      // An unticked box on a new network leaves the default; on an edit it is false.
      if (raw === 'on' || saved) settings[name] = raw === 'on';
      continue;
    }
    const text = raw.trim();
    if (text === '') {
      if (saved && saved[name] !== undefined && !isSecretSetting(name)) settings[name] = null;
      continue;
    }
    if (text.length > SETTING_VALUE_MAX) return { ok: false, key: 'networks.bad.long', name };
    if (prop.type === 'integer') {
      if (!/^-?\d{1,15}$/.test(text)) return { ok: false, key: 'networks.bad.integer', name };
      settings[name] = Number(text);
    } else settings[name] = text;
  }
  return { ok: true, settings, fields };
}

/** The saved settings outside the controller's schema, as `name=value` lines (secrets left out). */
function extraLines(kind: ControllerKind, saved: NetworkSettings): string {
  const known = schemaOf(kind).properties;
  return Object.entries(saved)
    .filter(([k, v]) => !Object.hasOwn(known, k) && !isSecretSetting(k) && v !== null)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join('\n');
}

export async function networkPages(app: FastifyInstance, { panel }: { panel: Panel }) {
  const { svc, views } = panel;

  function combine(
    kind: ControllerKind,
    body: unknown,
    saved: NetworkSettings | null,
    lang: Lang,
  ): { ok: true; settings: NetworkSettings } | { ok: false; error: string } {
    const read = readSettings(kind, body, saved);
    if (!read.ok) return { ok: false, error: views.text(lang, read.key, { line: read.name, name: read.name, max: SETTING_VALUE_MAX }) };
    const extra = parseSettings(field(body, 'settings'));
    if (!extra.ok) return { ok: false, error: views.text(lang, extra.problem, { line: extra.line, max: SETTING_VALUE_MAX }) };
    for (const name of Object.keys(extra.settings)) {
      if (Object.hasOwn(read.settings, name)) return { ok: false, error: views.text(lang, 'networks.bad.twice', { line: name }) };
    }
    const settings: NetworkSettings = { ...read.settings, ...extra.settings };
    if (saved) {
      const known = schemaOf(kind).properties;
      for (const [name, value] of Object.entries(extra.settings)) {
        // A line sent back as the page showed it (`name=String(value)`) is the saved value, type and all:
        // "123" stays a string, a list a list, so a setting kept from before is not taken for a change.
        if (Object.hasOwn(saved, name) && !Object.hasOwn(known, name) && String(value) === String(saved[name])) settings[name] = saved[name];
      }
      // On an edit, extra names no longer listed are removed (secret ones are kept: they are never shown).
      for (const name of Object.keys(saved)) if (!Object.hasOwn(known, name) && !Object.hasOwn(settings, name) && !isSecretSetting(name)) settings[name] = null;
    }
    return { ok: true, settings };
  }

  /**
   * An error the use case refused the settings with, as the page shows it in the operator's
   * language (null: not a form problem). INVALID_SETTINGS keeps the schema's own words.
   */
  function refusal(lang: Lang, err: unknown): { status: number; message: string } | null {
    if (!(err instanceof AppError)) return null;
    if (err.code === 'INVALID_SETTINGS') return { status: 400, message: err.message };
    const d = err.details;
    const method = (m: unknown) => views.text(lang, `phone.method.${String(m)}`);
    const provider = views.text(lang, `phone.provider.${String(d.provider)}`);
    if (err.code === 'PHONE_METHOD_UNSUPPORTED') {
      const list = (value: unknown) => (Array.isArray(value) ? value.map(method).join(', ') : '');
      return { status: 422, message: views.text(lang, 'networks.refused.PHONE_METHOD_UNSUPPORTED', { provider, methods: list(d.methods), offered: list(d.offered) }) };
    }
    if (err.code === 'PHONE_PROVIDER_UNSET') return { status: 422, message: views.text(lang, 'networks.refused.PHONE_PROVIDER_UNSET', { provider }) };
    if (err.code === 'OUTBOUND_REFUSED') {
      const known = d.reason === 'always' || d.reason === 'private';
      return { status: 422, message: known ? views.text(lang, `networks.refused.OUTBOUND_REFUSED.${d.reason}`, { setting: String(d.setting), address: String(d.address) }) : err.message };
    }
    return null;
  }

  async function page(request: FastifyRequest, reply: FastifyReply, choice: ContractChoice, form: NetworkForm, status = 200, error = '') {
    const lang = request.lang;
    const networks = choice.current ? await listNetworks(svc, actorOf(request), choice.current.id) : [];
    const base = baseUrl(request);
    const done = field(request.query, 'done');
    return sendPage(
      panel,
      request,
      reply,
      'networks',
      {
        contract: choice.current,
        flash: ['created', 'saved', 'deleted'].includes(done) && request.method === 'GET' ? views.text(lang, `networks.${done}`) : '',
        error,
        form,
        controllers: CONTROLLERS.map((c) => ({
          value: c,
          label: views.text(lang, `controller.${c}`),
          selected: c === form.controller,
          fields: settingFields(views, lang, c, null, c === form.controller ? form.fields : null),
          // The `name=value` box: for a controller that keeps names outside its schema, and
          // again with what was sent when a form is refused.
          showExtra: Boolean(schemaOf(c).additionalProperties) || (c === form.controller && form.settings !== ''),
          // Rule 13: a controller that cannot enforce token limits says so before it is chosen.
          limitsNote: adapterFor(c).enforcesLimits({ settings: {} } as unknown as Network) ? '' : views.text(lang, 'networks.limitsNotEnforced'),
        })),
        networks: networks.map((n) => ({
          id: n.id,
          name: n.name,
          controller: views.text(lang, `controller.${n.controller}`),
          portalUrl: `${base}/portal/${n.id}`,
          notes: views.text(lang, `controller.${n.controller}.notes`, { portalUrl: `${base}/portal/${n.id}`, host: request.host }),
          settings: Object.entries(n.settings).map(([k, v]) => ({ name: k, value: isSecretSetting(k) ? '••••••' : String(v) })),
          createdAt: panelClock(choice.current!.timeZone).at(n.createdAt),
          limitsNote: limitsEnforced(n) ? '' : views.text(lang, 'networks.limitsNotEnforced'),
        })),
      },
      { title: views.text(lang, 'networks.title'), section: 'networks', contracts: choice, status },
    );
  }

  function editPage(request: FastifyRequest, reply: FastifyReply, network: Network, form: { name: string; fields: Record<string, string> | null; settings: string }, status = 200, error = '') {
    const lang = request.lang;
    return sendPage(
      panel,
      request,
      reply,
      'network-edit',
      {
        network: { id: network.id, name: network.name, controller: views.text(lang, `controller.${network.controller}`) },
        form,
        error,
        fields: settingFields(views, lang, network.controller, network.settings, form.fields),
        extra: Boolean(schemaOf(network.controller).additionalProperties) || form.settings !== '',
        limitsNote: limitsEnforced(network) ? '' : views.text(lang, 'networks.limitsNotEnforced'),
      },
      { title: views.text(lang, 'network-edit.title', { name: network.name }), section: 'networks', status },
    );
  }

  async function networkOf(request: FastifyRequest<{ Params: { id: string } }>): Promise<Network> {
    if (!UUID.test(request.params.id)) throw notFound('Network');
    return getNetwork(svc, actorOf(request), request.params.id);
  }

  app.get('/networks', async (request, reply) => {
    requireOperator(actorOf(request), 'Page');
    const choice = await chooseContract(panel, request, field(request.query, 'contract'));
    return page(request, reply, choice, { name: '', controller: 'generic', fields: {}, settings: '' });
  });

  app.post('/networks', async (request, reply) => {
    requireOperator(actorOf(request), 'Page');
    const lang = request.lang;
    const choice = await chooseContract(panel, request, field(request.body, 'contract'));
    if (!choice.current) throw notFound('Contract');
    const form: NetworkForm = {
      name: field(request.body, 'name'),
      controller: field(request.body, 'controller'),
      fields: {},
      settings: field(request.body, 'settings'),
    };
    const name = form.name.trim();
    if (name === '' || [...name].length > NETWORK_NAME_MAX) {
      return page(request, reply, choice, form, 400, views.text(lang, 'networks.bad.name', { max: NETWORK_NAME_MAX }));
    }
    if (!CONTROLLERS.includes(form.controller as ControllerKind)) {
      return page(request, reply, choice, form, 400, views.text(lang, 'networks.bad.controller'));
    }
    const kind = form.controller as ControllerKind;
    const sent = readSettings(kind, request.body, null);
    if (sent.ok) form.fields = sent.fields;
    const settings = combine(kind, request.body, null, lang);
    if (!settings.ok) return page(request, reply, choice, form, 400, settings.error);
    try {
      // The same use case as the API: the per-controller check, required settings present, no unknown names.
      await createNetwork(svc, actorOf(request), { contractId: choice.current.id, name, controller: kind, settings: settings.settings, now: svc.now() });
    } catch (err) {
      const refused = refusal(lang, err);
      if (refused) return page(request, reply, choice, form, refused.status, refused.message);
      throw err;
    }
    return reply.redirect('/admin/networks?done=created', 303);
  });

  app.get<{ Params: { id: string } }>('/networks/:id/edit', async (request, reply) => {
    const network = await networkOf(request);
    return editPage(request, reply, network, { name: network.name, fields: null, settings: extraLines(network.controller, network.settings) });
  });

  app.post<{ Params: { id: string } }>('/networks/:id', async (request, reply) => {
    const network = await networkOf(request);
    const lang = request.lang;
    const sent = readSettings(network.controller, request.body, network.settings);
    const form = { name: field(request.body, 'name'), fields: sent.ok ? sent.fields : null, settings: field(request.body, 'settings') };
    const name = form.name.trim();
    if (name === '' || [...name].length > NETWORK_NAME_MAX) {
      return editPage(request, reply, network, form, 400, views.text(lang, 'networks.bad.name', { max: NETWORK_NAME_MAX }));
    }
    const settings = combine(network.controller, request.body, network.settings, lang);
    if (!settings.ok) return editPage(request, reply, network, form, 400, settings.error);
    try {
      await updateNetwork(svc, actorOf(request), network.id, { name, settings: settings.settings });
    } catch (err) {
      const refused = refusal(lang, err);
      if (refused) return editPage(request, reply, network, form, refused.status, refused.message);
      throw err;
    }
    return reply.redirect('/admin/networks?done=saved', 303);
  });

  app.get<{ Params: { id: string } }>('/networks/:id/delete', async (request, reply) => {
    const network = await networkOf(request);
    const lang = request.lang;
    return sendPage(
      panel,
      request,
      reply,
      'network-delete',
      { network: { id: network.id, name: network.name, portalUrl: `${baseUrl(request)}/portal/${network.id}` } },
      { title: views.text(lang, 'network-delete.title', { name: network.name }), section: 'networks' },
    );
  });

  app.post<{ Params: { id: string } }>('/networks/:id/delete', async (request, reply) => {
    const network = await networkOf(request);
    await deleteNetwork(svc, actorOf(request), network.id, svc.now());
    return reply.redirect('/admin/networks?done=deleted', 303);
  });
}
