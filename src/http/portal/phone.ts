// HTTP layer: the guest portal's phone identification pages (DESIGN §4, rule 16). Translation only:
// the form in, one use case (startPhone, confirmPhone, pollPhone), a page or the controller's grant
// out. May import src/domain/*, src/errors.ts and http helpers; never the store or the cache.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { PortalContext } from '../../controllers/types.js';
import type { Network } from '../../domain/networks.js';
import { confirmPhone, pollPhone, startPhone } from '../../domain/phone/identify.js';
import { isPhoneRefusal } from '../../domain/phone/refusals.js';
import { phoneSettingsOf, type PortalPhoneMethod } from '../../domain/phone/settings.js';
import { normalizePhone } from '../../domain/phone/number.js';
import { hmac } from '../../domain/secret.js';
import { isPaidMethod } from '../../phone/providers/types.js';
import { AppError } from '../../errors.js';
import type { Services } from '../../services.js';
import type { Lang, Views } from '../views.js';
import { verifyContext } from './context.js';

/** What the portal's routes lend the phone pages (they share its layout, grant and refusal pages). */
export interface PortalKit {
  svc: Services;
  views: Views;
  langOf(request: FastifyRequest): Lang;
  networkOr404(request: FastifyRequest, reply: FastifyReply, id: string): Promise<Network | null>;
  /** A page with the portal's security headers and the network's branding. */
  page(reply: FastifyReply, status: number, name: string, lang: Lang, network: Network, data: Record<string, unknown>): FastifyReply;
  /** The token form (the voucher path), with a refusal message already worded. */
  tokenForm(reply: FastifyReply, o: { status: number; lang: Lang; network: Network; context: PortalContext; message: string }): FastifyReply;
  errorPage(reply: FastifyReply, lang: Lang, status: number, code: string, network?: Network): FastifyReply;
  granted(reply: FastifyReply, lang: Lang, network: Network, context: PortalContext, expiresAt: string | null): Promise<FastifyReply>;
  signContext(network: Network, context: PortalContext): string;
}

/** Seconds between two looks of the call-check page at its status. */
export const CALLCHECK_REFRESH_SECONDS = 3;
const VERIFICATION_ID = /^[A-Za-z0-9_-]{8,64}$/;

/** `+79123456789` → `+7 912 345-67-89` (Russian numbers; others stay E.164). */
export function prettyPhone(e164: string): string {
  const m = /^\+7(\d{3})(\d{3})(\d{2})(\d{2})$/.exec(e164);
  return m ? `+7 ${m[1]} ${m[2]}-${m[3]}-${m[4]}` : e164;
}

/** The portal's links keep the controller's redirect (`query`), which the signed context came from. */
export function portalLink(networkId: string, query: Record<string, string> | null, extra: Record<string, string>): string {
  const params = new URLSearchParams({ ...(query ?? {}), ...extra });
  for (const k of Object.keys(extra)) if (extra[k] === '') params.delete(k);
  const qs = params.toString();
  return `/portal/${networkId}${qs ? `?${qs}` : ''}`;
}

export function phoneRoutes(app: FastifyInstance, kit: PortalKit) {
  const { svc, views } = kit;

  /**
   * Links back to the number form and to the token form. A POST has no redirect query at hand, so
   * they carry the signed context (`c=`), which the GET page accepts instead of the controller's
   * parameters.
   */
  function links(network: Network, ctx: string, lang: Lang) {
    return {
      phoneUrl: portalLink(network.id, null, { c: ctx, lang }),
      tokenUrl: portalLink(network.id, null, { c: ctx, form: 'token', lang }),
    };
  }

  function methodChoices(lang: Lang, methods: readonly PortalPhoneMethod[], chosen?: string) {
    const pick = methods.includes(chosen as PortalPhoneMethod) ? chosen : methods[0];
    return methods.map((m) => ({ value: m, label: views.text(lang, `phone.method.${m}`), checked: m === pick }));
  }

  /** The number form, fresh or again with a refusal; `methods` narrows the choice (another method after a failure). */
  function numberForm(
    reply: FastifyReply,
    o: { status: number; lang: Lang; network: Network; context: PortalContext; message?: string; typed?: string; method?: string; methods?: PortalPhoneMethod[]; otherMethods?: boolean; otherLangUrl?: string | null },
  ) {
    const settings = phoneSettingsOf(o.network);
    const ctx = kit.signContext(o.network, o.context);
    return kit.page(reply, o.status, 'phone', o.lang, o.network, {
      ...links(o.network, ctx, o.lang),
      ctx,
      message: o.message ?? null,
      typed: o.typed ?? '',
      methods: methodChoices(o.lang, o.methods ?? settings.methods, o.method),
      otherMethods: o.otherMethods ?? false,
      otherLangUrl: o.otherLangUrl ?? null,
    });
  }

  /** A refusal as the guest reads it: its sentence in their language, with the values it names. */
  function refusalText(lang: Lang, err: AppError): string {
    return views.text(lang, `phone.refusal.${err.code}`, err.details);
  }

  /**
   * Where a refusal of a start leaves the guest. A foreign number goes to the token form; a limit on
   * paid sends or a pause leaves the free call-check (where offered); a provider failure offers the
   * other methods; everything else shows the form again with the reason.
   */
  function startRefused(reply: FastifyReply, o: { lang: Lang; network: Network; context: PortalContext; typed: string; method: string; err: AppError }) {
    const { lang, network, context, err } = o;
    svc.metrics.phone.refused(err.code);
    reply.header('X-Refusal', err.code);
    if (typeof err.details.retryAfter === 'number') reply.header('Retry-After', String(err.details.retryAfter));
    const message = refusalText(lang, err);
    if (err.code === 'PHONE_COUNTRY_NOT_ALLOWED') return kit.tokenForm(reply, { status: err.status, lang, network, context, message });
    const all = phoneSettingsOf(network).methods;
    let methods = all;
    if (['PHONE_PAUSED', 'PHONE_BUDGET_NETWORK', 'PHONE_BUDGET_CONTRACT'].includes(err.code)) methods = all.filter((m) => !isPaidMethod(m));
    if (err.status === 503) methods = all.filter((m) => m !== o.method);
    return numberForm(reply, {
      status: err.status,
      lang,
      network,
      context,
      message,
      typed: o.typed,
      method: o.method,
      methods,
      otherMethods: methods.length < all.length,
    });
  }

  /** The page after a start: the number to call, or the code form. */
  function pendingPage(
    reply: FastifyReply,
    o: {
      status: number;
      lang: Lang;
      network: Network;
      context: PortalContext;
      verificationId: string;
      method: string;
      phone: string;
      callNumber?: string | null;
      message?: string;
      codeForm?: boolean;
      termsAccepted?: string | null;
    },
  ) {
    const ctx = kit.signContext(o.network, o.context);
    const common = { ...links(o.network, ctx, o.lang), ctx, verificationId: o.verificationId, phoneShown: prettyPhone(o.phone), message: o.message ?? null };
    if (o.method === 'callcheck' && o.callNumber) {
      // The guest's number stays out of the URL (and so out of access logs).
      const status = { v: o.verificationId, n: o.callNumber, s: callSignature(o.verificationId, o.callNumber), ctx, lang: o.lang };
      const refreshUrl = `/portal/${o.network.id}/phone/status?${new URLSearchParams(status)}`;
      return kit.page(reply, o.status, 'phone-call', o.lang, o.network, {
        ...common,
        callNumber: o.callNumber,
        callNumberShown: prettyPhone(o.callNumber),
        status,
        refreshUrl,
        refreshSeconds: CALLCHECK_REFRESH_SECONDS,
      });
    }
    return kit.page(reply, o.status, 'phone-code', o.lang, o.network, {
      ...common,
      phone: o.phone,
      method: o.method,
      flashcall: o.method === 'flashcall',
      voice: o.method === 'voice',
      codeForm: o.codeForm ?? true,
      termsAccepted: o.termsAccepted ?? null,
    });
  }

  /** The signed context of a phone form or link, or the "page expired" answer. */
  function contextOr400(reply: FastifyReply, lang: Lang, network: Network, signed: unknown): PortalContext | null {
    const context = verifyContext(svc.secret, network.id, signed, svc.now());
    if (!context) kit.errorPage(reply.header('X-Refusal', 'CONTEXT_INVALID'), lang, 400, 'CONTEXT_INVALID', network);
    return context;
  }

  const text = (v: unknown, max: number) => (typeof v === 'string' ? v.slice(0, max) : '');

  /**
   * A phone form's post: its language, its network (else the 404 page) and the signed context it
   * carried (else the 400 page); null once the error page is sent.
   */
  async function posted(request: FastifyRequest<{ Params: { networkId: string } }>, reply: FastifyReply) {
    const lang = kit.langOf(request);
    const network = await kit.networkOr404(request, reply, request.params.networkId);
    if (!network) return null;
    const body = ((typeof request.body === 'object' && request.body) || {}) as Record<string, unknown>;
    const context = contextOr400(reply, lang, network, body.ctx);
    return context ? { lang, network, body, context } : null;
  }

  /** Granted by phone: the same grant as a token's. A controller that fails gets the "try again" form. */
  async function grant(reply: FastifyReply, lang: Lang, network: Network, context: PortalContext, expiresAt: Date | string | null) {
    const at = expiresAt === null ? null : new Date(expiresAt).toISOString();
    try {
      return await kit.granted(reply, lang, network, context, at);
    } catch (err) {
      if (err instanceof AppError && err.code === 'CONTROLLER_ERROR') {
        return numberForm(reply, { status: 502, lang, network, context, message: views.text(lang, 'refusal.CONTROLLER_ERROR') });
      }
      throw err;
    }
  }

  /** The number as the guest's pages show it; the use case has checked it already. */
  const shownPhone = (typed: string) => {
    try {
      return normalizePhone(typed).e164;
    } catch {
      return typed;
    }
  };
  /** The number to call travels in the status link, signed with the verification, so no link can show another. */
  const callSignature = (verificationId: string, callNumber: string) => hmac(svc.secret, 'phone-call-number', `${verificationId}:${callNumber}`).slice(0, 32);

  app.post<{ Params: { networkId: string } }>('/portal/:networkId/phone', async (request, reply) => {
    const form = await posted(request, reply);
    if (!form) return reply;
    const { lang, network, body, context } = form;
    const typed = text(body.phone, 40);
    const method = text(body.method, 20);
    const acceptedTerms = typeof body.terms === 'string' ? body.terms.slice(0, 64) : null;
    let step: Awaited<ReturnType<typeof startPhone>>;
    try {
      step = await startPhone(svc, { network, mac: context.mac, ip: request.ip, phone: typed, method, lang, acceptedTerms, now: svc.now() });
    } catch (err) {
      if (isPhoneRefusal(err)) return startRefused(reply, { lang, network, context, typed, method, err });
      if (err instanceof AppError && (err.code === 'TERMS_REQUIRED' || err.code === 'TERMS_CHANGED')) {
        return numberForm(reply.header('X-Refusal', err.code), { status: 400, lang, network, context, message: views.text(lang, `refusal.${err.code}`), typed, method });
      }
      throw err;
    }
    return pendingPage(reply, {
      status: 200,
      lang,
      network,
      context,
      verificationId: step.verificationId,
      method: step.kind === 'call' ? 'callcheck' : step.method,
      phone: shownPhone(typed),
      callNumber: step.kind === 'call' ? step.callNumber : null,
      termsAccepted: acceptedTerms,
    });
  });

  app.post<{ Params: { networkId: string } }>('/portal/:networkId/phone/confirm', async (request, reply) => {
    const form = await posted(request, reply);
    if (!form) return reply;
    const { lang, network, body, context } = form;
    const verificationId = text(body.v, 64);
    if (!VERIFICATION_ID.test(verificationId)) return kit.errorPage(reply.header('X-Refusal', 'CONTEXT_INVALID'), lang, 400, 'CONTEXT_INVALID', network);
    let granted: Awaited<ReturnType<typeof confirmPhone>>;
    try {
      granted = await confirmPhone(svc, { network, mac: context.mac, ip: request.ip, verificationId, code: text(body.code, 20), now: svc.now() });
    } catch (err) {
      if (!isPhoneRefusal(err)) throw err;
      svc.metrics.phone.refused(err.code);
      reply.header('X-Refusal', err.code);
      // The page again, from what the form carried (shown only; a new code is asked for through the use case).
      const method = text(body.method, 20);
      return pendingPage(reply, {
        status: err.status,
        lang,
        network,
        context,
        verificationId,
        method: method === 'flashcall' ? 'flashcall' : 'sms',
        phone: shownPhone(text(body.phone, 40)),
        message: refusalText(lang, err),
        // After five wrong codes or an expired one only a new code helps.
        codeForm: err.code === 'PHONE_CODE_WRONG',
        termsAccepted: typeof body.terms === 'string' ? body.terms.slice(0, 64) : null,
      });
    }
    return grant(reply, lang, network, context, granted.activation.identification.expires_at);
  });

  app.get<{ Params: { networkId: string }; Querystring: Record<string, string> }>('/portal/:networkId/phone/status', async (request, reply) => {
    const lang = kit.langOf(request);
    const network = await kit.networkOr404(request, reply, request.params.networkId);
    if (!network) return reply;
    const context = contextOr400(reply, lang, network, request.query.ctx);
    if (!context) return reply;
    const verificationId = text(request.query.v, 64);
    const callNumber = text(request.query.n, 20);
    const signed = /^\+\d{6,15}$/.test(callNumber) && request.query.s === callSignature(verificationId, callNumber);
    if (!VERIFICATION_ID.test(verificationId) || !signed) return kit.errorPage(reply.header('X-Refusal', 'CONTEXT_INVALID'), lang, 400, 'CONTEXT_INVALID', network);
    let polled: Awaited<ReturnType<typeof pollPhone>>;
    try {
      polled = await pollPhone(svc, { network, mac: context.mac, verificationId, now: svc.now() });
    } catch (err) {
      if (!isPhoneRefusal(err)) throw err;
      return startRefused(reply, { lang, network, context, typed: '', method: 'callcheck', err });
    }
    if (polled.kind === 'pending') {
      return pendingPage(reply, { status: 200, lang, network, context, verificationId, method: 'callcheck', phone: '', callNumber });
    }
    return grant(reply, lang, network, context, polled.activation.identification.expires_at);
  });

  return { numberForm };
}
