// HTTP layer (panel): page rendering and the signed-in state. No store or cache handle here; the
// pages call use cases with the signed-in user as `actor`.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../domain/actor.js';
import { getContract, listContracts, type Contract } from '../../domain/contracts.js';
import { choosePanelContract, type PanelSession } from '../../domain/panelSessions.js';
import { principalOfUser } from '../../domain/users.js';
import { notFound } from '../../errors.js';
import type { Services } from '../../services.js';
import { timeZoneOf } from '../../domain/timeZone.js';
import { zonedClock } from '../../domain/zonedTime.js';
import type { Lang, Views } from '../views.js';

export interface PanelRequestState {
  /** The cookie value (the session id), never stored. */
  sid: string;
  session: PanelSession;
  csrf: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    panel: PanelRequestState | null;
    lang: Lang;
  }
  interface FastifyContextConfig {
    /** Served without a panel session (login page, assets). */
    public?: boolean;
  }
}

export interface Panel {
  svc: Services;
  views: Views;
}

export type Section = 'tokens' | 'plans' | 'sessions' | 'networks' | 'phone' | 'log' | 'contracts' | 'users' | 'profile';

// An issuer sees tokens and their own profile only.
const SECTIONS: Array<{ id: Section; href: string; systemOnly?: boolean; operatorOnly?: boolean }> = [
  { id: 'tokens', href: '/admin/tokens' },
  { id: 'plans', href: '/admin/plans', operatorOnly: true },
  { id: 'sessions', href: '/admin/sessions', operatorOnly: true },
  { id: 'networks', href: '/admin/networks', operatorOnly: true },
  { id: 'phone', href: '/admin/phone', operatorOnly: true },
  { id: 'log', href: '/admin/log', operatorOnly: true },
  { id: 'contracts', href: '/admin/contracts', systemOnly: true },
  { id: 'users', href: '/admin/users', operatorOnly: true },
  { id: 'profile', href: '/admin/profile' },
];

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The signed-in state; only called on routes the session hook already guarded. */
export function stateOf(request: FastifyRequest): PanelRequestState {
  if (!request.panel) throw new Error('panel route reached without a session');
  return request.panel;
}

/** Who the signed-in user acts as: what every use case a page calls takes as `actor`. */
export const actorOf = (request: FastifyRequest): Principal => principalOfUser(stateOf(request).session.user);

export interface PageOptions {
  title: string;
  section?: Section;
  status?: number;
  /** The system administrator's contract picker, when the page works on one contract. */
  contracts?: ContractChoice;
  /** The zone the page's times are in, said once on the page; by default the chosen contract's. */
  timeZone?: string;
}

/** Renders a page inside the panel's layout, with navigation, language switch and CSRF token. */
export function sendPage(
  panel: Panel,
  request: FastifyRequest,
  reply: FastifyReply,
  page: string,
  data: Record<string, unknown>,
  options: PageOptions,
) {
  const lang = request.lang;
  const state = request.panel;
  const user = state?.session.user ?? null;
  const other: Lang = lang === 'ru' ? 'en' : 'ru';
  const zone = options.timeZone ?? options.contracts?.current?.timeZone ?? null;
  const html = panel.views.render(page, lang, {
    ...data,
    title: options.title,
    csrf: state?.csrf ?? data.csrf,
    user: user && { login: user.login, isSystem: user.isSystem },
    nav: user
      ? SECTIONS.filter((s) => (!s.systemOnly || user.isSystem) && (!s.operatorOnly || user.role === 'operator')).map((s) => ({
          href: s.href,
          label: panel.views.text(lang, `nav.${s.id}`),
          active: s.id === options.section,
        }))
      : [],
    otherLang: { lang: other, href: `${request.url.split('?')[0]}?lang=${other}`, label: panel.views.text(lang, 'nav.otherLang') },
    zoneNote: zone ? panel.views.text(lang, 'zone.note', { zone, offset: panelClock(zone).offset(panel.svc.now()) }) : '',
    picker:
      options.contracts?.options?.map((c) => ({ id: c.id, name: c.name, selected: c.id === options.contracts?.current?.id })) ?? null,
  });
  return reply
    .status(options.status ?? 200)
    .header('content-type', 'text/html; charset=utf-8')
    .send(html);
}

export interface ContractChoice {
  /** The contract the page works on; null only for a system administrator when none exists. */
  current: Contract | null;
  /** Every contract, for a system administrator's picker; null for an operator. */
  options: Contract[] | null;
}

/**
 * The contract a page works on. An operator always gets their own (asking for another is a 404);
 * a system administrator gets the one asked for, else the one chosen last, else the first.
 */
export async function chooseContract(panel: Panel, request: FastifyRequest, asked: unknown): Promise<ContractChoice> {
  const { svc } = panel;
  const state = stateOf(request);
  const actor = actorOf(request);
  const wanted = typeof asked === 'string' && asked !== '' ? asked : null;
  if (wanted !== null && !UUID.test(wanted)) throw notFound('Contract');
  if (!actor.isSystem) return { current: await getContract(svc, actor, wanted ?? actor.contractId!), options: null };
  const options = await listContracts(svc, actor);
  if (wanted !== null) {
    const current = options.find((c) => c.id === wanted);
    if (!current) throw notFound('Contract');
    if (state.session.chosenContractId !== current.id) await choosePanelContract(svc, state.sid, current.id);
    return { current, options };
  }
  const current = options.find((c) => c.id === state.session.chosenContractId) ?? options[0] ?? null;
  return { current, options };
}

/** A single form or query field as a string ('' when absent or sent twice). */
export function field(source: unknown, name: string): string {
  const value = (source as Record<string, unknown> | null | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

/** Times as a page shows them: in one zone (a contract's, else the server's default), said once per page. */
export interface PanelClock {
  readonly timeZone: string;
  /** `dd.mm.yyyy HH:MM:SS` in the zone; '' for null. */
  at(d: Date | string | null): string;
  /** `yyyy-mm-dd` of the zone's day at that instant, for `<input type="date">`. */
  day(d: Date): string;
  /** The instant the zone's day begins (month 1-based; overflow as in Date.UTC). */
  startOfDay(year: number, month: number, day: number): Date;
  /** `UTC+03:00` at that instant. */
  offset(d: Date): string;
}

const clocks = new Map<string, PanelClock>();

/** One clock per zone, kept: making a DateTimeFormat costs far more than using one. */
export function panelClock(timeZone: string): PanelClock {
  let clock = clocks.get(timeZone);
  if (!clock) {
    const z = zonedClock(timeZone);
    clock = {
      timeZone,
      at(d) {
        if (d === null) return '';
        const p = z.parts(typeof d === 'string' ? new Date(d) : d);
        return `${p.day}.${p.month}.${p.year} ${p.hour}:${p.minute}:${p.second}`;
      },
      day: (d) => z.fileDate(d),
      startOfDay: (y, m, d) => z.startOfDay(y, m, d),
      offset: (d) => z.offset(d),
    };
    clocks.set(timeZone, clock);
  }
  return clock;
}

/**
 * The zone a signed-in user's own things (profile, API tokens) are shown in: their contract's,
 * and the server's default for a system administrator.
 */
export async function ownZone(panel: Panel, request: FastifyRequest): Promise<string> {
  const { user } = stateOf(request).session;
  return user.contractId ? timeZoneOf(panel.svc, user.contractId) : panel.svc.config.timeZone;
}

/**
 * A panel URL to go back to after an action, from a form field; only paths of the given page are
 * accepted, so the field cannot send anyone elsewhere.
 */
export function safeBack(value: string, page: string): string {
  if (value === page || (value.startsWith(`${page}?`) && /^[\w\-./?=&%+~]*$/.test(value) && value.length <= 1000)) {
    const url = new URL(value, 'http://x');
    url.searchParams.delete('done');
    url.searchParams.delete('n');
    return url.pathname + url.search;
  }
  return page;
}

/** Adds `done=<what>` (the flash message's key) to a panel URL. */
export function withDone(url: string, done: string, n?: number): string {
  const u = new URL(url, 'http://x');
  u.searchParams.set('done', done);
  if (n !== undefined) u.searchParams.set('n', String(n));
  return u.pathname + u.search;
}

export const pageCode = (status: number): string =>
  ({ 403: 'FORBIDDEN', 404: 'NOT_FOUND', 413: 'BODY_TOO_LARGE', 503: 'STORE_UNAVAILABLE' })[status] ??
  (status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST');

/** An HTML error page in the panel's layout (with navigation when signed in). */
export function errorPage(panel: Panel, request: FastifyRequest, reply: FastifyReply, status: number, code: string) {
  const lang = request.lang ?? 'ru';
  const title = [403, 404, 429].includes(status) ? status : status >= 500 ? 500 : 400;
  return sendPage(panel, request, reply, 'error', { message: panel.views.text(lang, `error.${code}`) }, {
    title: panel.views.text(lang, `error.title.${title}`),
    status,
  });
}

