// HTTP layer: the guest portal's pages. Translation only: the controller's redirect and the form in,
// one use case (enterCode, sessionState), a page or the controller's grant out. May import
// src/domain/*, src/controllers/*, src/errors.ts and http helpers; never the store or the cache.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { adapterFor, grantAccess } from '../../controllers/index.js';
import type { Grant, GrantLimits, PortalContext } from '../../controllers/types.js';
import { enterCode, limitsOfToken } from '../../domain/activation.js';
import { brandingOf, portalLogo } from '../../domain/branding.js';
import { normalizeMac } from '../../domain/mac.js';
import { guestStatus } from '../../domain/guestStatus.js';
import { findNetwork, type Network } from '../../domain/networks.js';
import { bytesRemaining, sessionState } from '../../domain/sessions.js';
import { guestTimeZoneOf } from '../../domain/timeZone.js';
import { AppError } from '../../errors.js';
import { packageRoot } from '../../paths.js';
import type { Services } from '../../services.js';
import { toErrorReply } from '../plugins/errors.js';
import { baseUrl, textQuery } from '../schemas.js';
import { loadViews, pickLang, type Lang } from '../views.js';
import { signContext, verifyContext, verifySigned } from './context.js';
import { bytesText, durationText } from './status.js';
import { phoneRoutes, portalLink } from './phone.js';
import { networkPaused } from '../../domain/phone/breaker.js';
import { phoneSettingsOf } from '../../domain/phone/settings.js';
import { isPaidMethod } from '../../phone/providers/types.js';

const ASSET_TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.ico': 'image/x-icon',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/** The portal's static files, read once: a fixed list, so no path from a request touches the disk. */
function loadAssets(): ReadonlyMap<string, { body: Buffer; type: string }> {
  const dir = path.join(packageRoot, 'portal-templates', 'assets');
  return new Map(
    readdirSync(dir)
      .filter((f) => ASSET_TYPES[path.extname(f)])
      .map((f) => [f, { body: readFileSync(path.join(dir, f)), type: ASSET_TYPES[path.extname(f)] }]),
  );
}

/** Pages carry a signed context and sometimes a token: never cached, never framed, no scripts. */
function securePage(reply: FastifyReply, status: number): FastifyReply {
  return reply
    .status(status)
    .type('text/html; charset=utf-8')
    .header('Cache-Control', 'no-store')
    .header('Content-Security-Policy', "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'")
    .header('X-Frame-Options', 'DENY')
    .header('X-Content-Type-Options', 'nosniff')
    .header('Referrer-Policy', 'no-referrer');
}

/**
 * Intl formatters are dear to build (a success page built two per request): one per locale, zone
 * and use, kept for the process's life (the zones are a bounded set: IANA names).
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(locale: string, timeZone: string, use: 'until' | 'offset'): Intl.DateTimeFormat {
  const key = `${locale} ${timeZone} ${use}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, use === 'until' ? { dateStyle: 'long', timeStyle: 'short', timeZone } : { timeZone, timeZoneName: 'longOffset' });
    if (formatters.size >= 1000) formatters.clear();
    formatters.set(key, f);
  }
  return f;
}

/** A signed context younger than this goes back unchanged on a refusal (it is good for 6 hours). */
const CONTEXT_REUSE_MS = 3600_000;

const REFUSAL_STATUS: Record<string, number> = {
  TERMS_REQUIRED: 400,
  TERMS_CHANGED: 400,
  TOKEN_FORMAT: 400,
  TOKEN_CHECK_DIGIT: 400,
  CONTEXT_INVALID: 400,
  TOKEN_UNKNOWN: 403,
  TOKEN_USED: 403,
  TOKEN_FOREIGN: 403,
  TOKEN_ANNULLED: 403,
  TOKEN_EXPIRED: 403,
  TOKEN_MOVE_LIMIT: 403,
  TOKEN_DEVICE_LIMIT: 403,
  RATE_LIMITED: 429,
};

/** The network's venue page, only when it is https (RFC 8908 asks for TLS). */
function venueInfoUrl(network: Network): string | null {
  const url = network.settings.venueInfoUrl;
  return typeof url === 'string' && url.startsWith('https://') ? url : null;
}

export async function portalRoutes(app: FastifyInstance, { svc }: { svc: Services }) {
  const views = loadViews('portal-templates');
  const langOf = (request: FastifyRequest) => pickLang((request.query as Record<string, unknown>)?.lang, request.headers['accept-language']);

  /** What every page of a network shows: its display name, logo, accent stylesheet and support contact. */
  function brand(network: Network, lang: Lang) {
    const b = brandingOf(network, lang);
    return {
      networkName: b.displayName,
      networkId: network.id,
      logoUrl: b.logoVersion ? `/portal/${network.id}/logo?v=${b.logoVersion}` : null,
      // A stylesheet of its own: the CSP allows no inline style; the colour names the version.
      themeUrl: b.accentColor ? `/portal/${network.id}/theme.css?c=${b.accentColor.slice(1)}` : null,
      support: b.supportContact,
    };
  }

  function errorPage(reply: FastifyReply, lang: Lang, status: number, code: string, network?: Network) {
    const known = views.text(lang, `error.${code}`) !== `error.${code}`;
    const message = views.text(lang, known ? `error.${code}` : 'error.INTERNAL_ERROR');
    return securePage(reply, status).send(views.render('error', lang, { message, ...(network ? brand(network, lang) : {}) }));
  }

  async function networkOr404(request: FastifyRequest, reply: FastifyReply, id: string): Promise<Network | null> {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) {
      errorPage(reply, langOf(request), 404, 'NETWORK_NOT_FOUND');
      return null;
    }
    try {
      return await findNetwork(svc, id);
    } catch (err) {
      if (err instanceof AppError && err.status === 404) {
        errorPage(reply, langOf(request), 404, 'NETWORK_NOT_FOUND');
        return null;
      }
      throw err;
    }
  }

  /**
   * The form pages rendered once per network state, language, message and link, with holes where
   * each request's values go (escaped as `{{ }}` escapes them): the signed context, what was typed,
   * the language link and the link back to the phone form. Keyed by the network object itself, so
   * a network edited (a new object in the near cache) is rendered afresh and the old renders go with
   * the old object.
   */
  const formRenders = new WeakMap<Network, Map<string, string[]>>();
  const HOLES = ['ctx', 'typed', 'otherLangUrl', 'phoneUrl'] as const;
  const hole = (name: (typeof HOLES)[number]) => `\u0000${name}\u0000`;

  /**
   * The form; `query` is the controller's redirect, which the language switch repeats (GET page
   * only). `message` is a refusal already worded (the phone pages send a foreign number here).
   */
  function formPage(
    reply: FastifyReply,
    o: { status: number; lang: Lang; network: Network; context: PortalContext; signed?: string; refusal?: string; minutes?: number; typed?: string; query?: Record<string, string>; message?: string },
  ) {
    const other: Lang = o.lang === 'ru' ? 'en' : 'ru';
    const ctx = o.signed ?? signContext(svc.secret, o.network.id, o.context, svc.now());
    const values = {
      ctx,
      typed: o.typed ?? '',
      otherLangUrl: o.query ? portalLink(o.network.id, o.query, { lang: other }) : null,
      // On a network that offers phone identification the token form links back to the number form.
      phoneUrl: phoneSettingsOf(o.network).methods.length ? portalLink(o.network.id, o.query ?? { c: ctx }, { form: '', lang: o.lang }) : null,
    };
    const message = o.message ?? (o.refusal ? views.text(o.lang, `refusal.${o.refusal}`, { minutes: o.minutes }) : null);
    const key = `${o.lang} ${values.otherLangUrl === null ? 0 : 1} ${values.phoneUrl === null ? 0 : 1} ${message ?? ''}`;
    let renders = formRenders.get(o.network);
    if (!renders) formRenders.set(o.network, (renders = new Map()));
    const render = (v: { ctx: string; typed: string; otherLangUrl: string | null; phoneUrl: string | null }) => {
      const branding = brandingOf(o.network, o.lang);
      return views.render('form', o.lang, {
        ...brand(o.network, o.lang),
        terms: branding.terms,
        termsVersion: branding.termsVersion,
        ctx: v.ctx,
        message,
        typed: v.typed,
        otherLangUrl: v.otherLangUrl,
        phoneUrl: v.phoneUrl,
      });
    };
    let parts = renders.get(key);
    if (!parts) {
      parts = render({
        ctx: hole('ctx'),
        typed: hole('typed'),
        otherLangUrl: values.otherLangUrl === null ? null : hole('otherLangUrl'),
        phoneUrl: values.phoneUrl === null ? null : hole('phoneUrl'),
      }).split('\u0000');
      // Odd parts are the holes; a NUL of another origin (settings are clean text) would not be.
      if (!parts.every((p, i) => i % 2 === 0 || (HOLES as readonly string[]).includes(p))) {
        return securePage(reply, o.status).send(render(values));
      }
      if (renders.size >= 200) renders.clear();
      renders.set(key, parts);
    }
    let page = parts[0];
    for (let i = 1; i < parts.length; i += 2) page += views.escape(values[parts[i] as (typeof HOLES)[number]] ?? '') + parts[i + 1];
    return securePage(reply, o.status).send(page);
  }

  /** The end of a guest's access in the contract's time zone, and that zone named with its offset. */
  async function untilText(lang: Lang, network: Network, at: Date) {
    const timeZone = await guestTimeZoneOf(svc, network.contractId);
    const until = formatter(lang === 'ru' ? 'ru-RU' : 'en-GB', timeZone, 'until').format(at);
    const offset = formatter('en-GB', timeZone, 'offset')
      .formatToParts(at)
      .find((p) => p.type === 'timeZoneName')!
      .value.replace(/^GMT/, 'UTC');
    return { until, zone: `${timeZone}, ${offset}` };
  }

  /** Let the device through at its controller: a redirect to the controller, or a success page. */
  async function granted(
    reply: FastifyReply,
    lang: Lang,
    network: Network,
    context: PortalContext,
    expiresAt: string | null,
    // A token copy's limits; a phone identification has none.
    limits: GrantLimits | null = null,
  ) {
    const now = svc.now();
    const secondsRemaining = expiresAt ? Math.max(0, Math.floor((new Date(expiresAt).getTime() - now.getTime()) / 1000)) : null;
    let grant: Grant;
    try {
      grant = await grantAccess(svc, { network, context, secondsRemaining, limits, now });
      svc.metrics.controllerCalls.inc({ kind: 'grant', result: 'ok' });
    } catch (err) {
      svc.metrics.controllerCalls.inc({ kind: 'grant', result: 'failed' });
      throw err;
    }
    if (grant.kind === 'redirect') return reply.status(303).header('Cache-Control', 'no-store').redirect(grant.url, 303);
    const shown = expiresAt ? await untilText(lang, network, new Date(expiresAt)) : null;
    return securePage(reply, 200).send(
      views.render('success', lang, {
        ...brand(network, lang),
        until: shown?.until,
        zone: shown?.zone,
        continueUrl: grant.continueUrl,
        statusUrl: `/portal/${network.id}/status?${new URLSearchParams({ mac: context.mac, lang })}`,
      }),
    );
  }

  /**
   * The guest's status: time and data left for an identified device (by `mac`, else by its address
   * through accounting), or how to reach the sign-in page. What the portal shows when a controller
   * sent no login parameters (RFC 8908's user-portal-url on a MikroTik or Coova network).
   */
  async function statusPage(request: FastifyRequest, reply: FastifyReply, lang: Lang, network: Network, mac: string | null) {
    const status = await guestStatus(svc, { network, mac, ip: mac ? null : request.ip, now: svc.now() });
    const shown = status.authorized && status.expiresAt ? await untilText(lang, network, new Date(status.expiresAt)) : null;
    const other: Lang = lang === 'ru' ? 'en' : 'ru';
    const query = new URLSearchParams({ ...(mac ? { mac } : {}), lang: other });
    return securePage(reply, 200).send(
      views.render('status', lang, {
        ...brand(network, lang),
        authorized: status.authorized,
        until: shown?.until,
        zone: shown?.zone,
        timeLeft: status.secondsRemaining === null ? null : durationText(views.text, lang, status.secondsRemaining),
        dataLeft: status.bytesRemaining === null ? null : bytesText(views.text, lang, status.bytesRemaining),
        venueInfoUrl: venueInfoUrl(network),
        otherLangUrl: `/portal/${network.id}/status?${query}`,
      }),
    );
  }

  const phone = phoneRoutes(app, {
    svc,
    views,
    langOf,
    networkOr404,
    errorPage,
    granted,
    page: (reply, status, name, lang, network, data) => {
      const branding = brandingOf(network, lang);
      return securePage(reply, status).send(
        views.render(name, lang, { ...brand(network, lang), terms: branding.terms, termsVersion: branding.termsVersion, ...data }),
      );
    },
    tokenForm: (reply, o) => formPage(reply, o),
    signContext: (network, context) => signContext(svc.secret, network.id, context, svc.now()),
  });

  const assets = loadAssets();
  const sendAsset = (reply: FastifyReply, name: string) => {
    const asset = assets.get(name);
    if (!asset) return reply.callNotFound();
    return reply.type(asset.type).header('Cache-Control', 'public, max-age=3600').send(asset.body);
  };
  app.get<{ Params: { file: string } }>('/portal/assets/:file', async (request, reply) => sendAsset(reply, request.params.file));
  // Every guest's browser asks for it; a 404 is a console error on each phone.
  app.get('/favicon.ico', async (_request, reply) => sendAsset(reply, 'favicon.ico'));

  // The network's accent colour as a stylesheet (the portal's CSP allows no inline style). The
  // colour comes from the checked setting, never from the query, which only names the version.
  app.get<{ Params: { networkId: string } }>('/portal/:networkId/theme.css', async (request, reply) => {
    const network = await findNetwork(svc, request.params.networkId);
    const accent = brandingOf(network, 'en').accentColor;
    return reply
      .type('text/css; charset=utf-8')
      .header('X-Content-Type-Options', 'nosniff')
      .header('Cache-Control', 'public, max-age=300')
      .send(accent ? `:root { --accent: ${accent}; }\n` : '');
  });

  // The uploaded logo: its sniffed type, never sniffed again by the browser, kept a day when the
  // link names its version (the page's link changes with the logo).
  app.get<{ Params: { networkId: string }; Querystring: { v?: string } }>('/portal/:networkId/logo', async (request, reply) => {
    const logo = await portalLogo(svc, request.params.networkId);
    const etag = `"${logo.version}"`;
    reply
      .header('X-Content-Type-Options', 'nosniff')
      .header('Content-Security-Policy', "default-src 'none'; sandbox")
      .header('Cache-Control', request.query.v === logo.version ? 'public, max-age=86400, immutable' : 'public, max-age=300')
      .header('ETag', etag);
    if (request.headers['if-none-match'] === etag) return reply.status(304).send();
    return reply.type(logo.contentType).send(logo.body);
  });

  app.get<{ Params: { networkId: string }; Querystring: Record<string, string> }>('/portal/:networkId', { schema: { querystring: textQuery } }, async (request, reply) => {
    const lang = langOf(request);
    const network = await networkOr404(request, reply, request.params.networkId);
    if (!network) return reply;
    let context: PortalContext;
    try {
      // The phone pages link back here with the signed context (`c`) instead of the controller's redirect.
      const signed = request.query.c === undefined ? null : verifyContext(svc.secret, network.id, request.query.c, svc.now());
      if (request.query.c !== undefined && !signed) return errorPage(reply.header('X-Refusal', 'CONTEXT_INVALID'), lang, 400, 'CONTEXT_INVALID', network);
      context = signed ?? adapterFor(network.controller).parseRedirect(request.query, network);
    } catch (err) {
      // No controller parameters at all (the portal opened by hand, or RFC 8908's user-portal-url
      // on a controller that needs its login link): the guest's status, not an error.
      if (err instanceof AppError && err.status === 400 && Object.keys(request.query).every((k) => k === 'mac' || k === 'lang')) {
        const named = request.query.mac === undefined ? null : normalizeMac(request.query.mac);
        if (request.query.mac === undefined || named) return statusPage(request, reply, lang, network, named);
      }
      if (err instanceof AppError && err.status === 400) {
        const refusal = err.code === 'INVALID_REDIRECT' && err.details.setting ? 'INVALID_REDIRECT' : 'INVALID_MAC';
        return errorPage(reply.header('X-Refusal', refusal), lang, 400, refusal, network);
      }
      throw err;
    }
    const state = await sessionState(svc, { networkId: network.id, mac: context.mac, now: svc.now() });
    if (state.authorized) return granted(reply, lang, network, context, state.expiresAt, state);
    const offered = phoneSettingsOf(network).methods;
    if (request.query.form !== 'token' && offered.length) {
      // While the pumping breaker holds paid sends, the guest is not offered what would be refused.
      const methods = (await networkPaused(svc, network.id)) ? offered.filter((m) => !isPaidMethod(m)) : offered;
      const message = methods.length < offered.length ? views.text(lang, 'phone.refusal.PHONE_PAUSED') : undefined;
      if (methods.length === 0) return formPage(reply, { status: 200, lang, network, context, query: request.query, message });
      const otherLangUrl = portalLink(network.id, request.query, { lang: lang === 'ru' ? 'en' : 'ru' });
      return phone.numberForm(reply, { status: 200, lang, network, context, otherLangUrl, methods, message, otherMethods: methods.length < offered.length });
    }
    return formPage(reply, { status: 200, lang, network, context, query: request.query });
  });

  app.post<{ Params: { networkId: string }; Body: Record<string, unknown> }>('/portal/:networkId/activate', async (request, reply) => {
    const lang = langOf(request);
    const network = await networkOr404(request, reply, request.params.networkId);
    if (!network) return reply;
    const body = (typeof request.body === 'object' && request.body) || {};
    const now = svc.now();
    const verified = verifySigned(svc.secret, network.id, body.ctx, now);
    if (!verified) return errorPage(reply.header('X-Refusal', 'CONTEXT_INVALID'), lang, 400, 'CONTEXT_INVALID', network);
    const { context } = verified;
    // The form comes back with the context the guest sent while it has most of its life left
    // (one HMAC fewer per refusal); an older one is signed afresh.
    const signed = now.getTime() - verified.issuedAt < CONTEXT_REUSE_MS ? (body.ctx as string) : undefined;
    const typed = typeof body.token === 'string' ? body.token.slice(0, 40) : '';
    const refuse = (refusal: string, minutes?: number) => {
      if (refusal === 'RATE_LIMITED') svc.metrics.rateLimited.inc();
      svc.metrics.refusals.inc({ reason: refusal });
      reply.header('X-Refusal', refusal);
      return formPage(reply, { status: REFUSAL_STATUS[refusal] ?? 403, lang, network, context, signed, refusal, minutes, typed });
    };

    const acceptedTerms = typeof body.terms === 'string' ? body.terms.slice(0, 64) : null;
    const entry = await enterCode(svc, { network, mac: context.mac, ip: request.ip, typed, now, acceptedTerms });
    if (entry.kind === 'limited') {
      reply.header('Retry-After', String(entry.retryAfter));
      return refuse('RATE_LIMITED', Math.ceil(entry.retryAfter / 60));
    }
    if (entry.kind === 'refused') return refuse(entry.reason);
    const { activation } = entry;
    if (!activation.existing) svc.metrics.activations.inc();
    try {
      const limits = limitsOfToken(activation.token);
      return await granted(reply, lang, network, context, activation.identification.expires_at?.toISOString() ?? null, {
        downKbps: limits.downKbps,
        upKbps: limits.upKbps,
        bytesRemaining: bytesRemaining(limits.quotaMb),
      });
    } catch (err) {
      if (err instanceof AppError && err.code === 'CONTROLLER_ERROR') {
        return formPage(reply, { status: 502, lang, network, context, refusal: 'CONTROLLER_ERROR', typed });
      }
      throw err;
    }
  });

  app.get<{ Params: { networkId: string }; Querystring: { mac?: string; lang?: string } }>('/portal/:networkId/status', { schema: { querystring: textQuery } }, async (request, reply) => {
    const lang = langOf(request);
    const network = await networkOr404(request, reply, request.params.networkId);
    if (!network) return reply;
    const named = request.query.mac === undefined ? null : normalizeMac(request.query.mac);
    if (request.query.mac !== undefined && !named) return errorPage(reply.header('X-Refusal', 'INVALID_MAC'), lang, 400, 'INVALID_MAC', network);
    return statusPage(request, reply, lang, network, named);
  });

  /**
   * RFC 8908: what a captive-portal-aware OS asks. Without `mac`, the device is found by its
   * address (accounting's Framed-IP-Address). can-extend-session is false while the guest is let
   * through: only an operator extends a copy (rule 14), so the portal offers no way to; it is left
   * out for a captive device, to which RFC 8908 §5 does not apply it.
   */
  app.get<{ Params: { networkId: string }; Querystring: { mac?: string } }>('/portal/:networkId/api', { schema: { querystring: textQuery } }, async (request, reply) => {
    const network = await findNetwork(svc, request.params.networkId);
    const portalUrl = `${baseUrl(request)}/portal/${network.id}`;
    const mac = request.query.mac ? normalizeMac(request.query.mac) : null;
    const state = mac || !request.query.mac ? await guestStatus(svc, { network, mac, ip: mac ? null : request.ip, now: svc.now() }) : null;
    const body: Record<string, unknown> = { captive: !state?.authorized, 'user-portal-url': mac ? `${portalUrl}?mac=${encodeURIComponent(mac)}` : portalUrl };
    if (state?.authorized) {
      if (state.secondsRemaining !== null) body['seconds-remaining'] = state.secondsRemaining;
      if (state.bytesRemaining !== null) body['bytes-remaining'] = state.bytesRemaining;
      body['can-extend-session'] = false;
    }
    const venue = venueInfoUrl(network);
    if (venue) body['venue-info-url'] = venue;
    // A Buffer keeps the media type exactly as RFC 8908 names it (no charset parameter added).
    return reply.type('application/captive+json').header('Cache-Control', 'private, no-store').send(Buffer.from(JSON.stringify(body)));
  });

  // HTML errors for guest pages; the JSON contract stays for the captive API.
  app.setErrorHandler((err, request, reply) => {
    const { status, body } = toErrorReply(err);
    if (status >= 500) request.log.error({ err }, 'portal request failed');
    if (request.url.includes('/api')) return reply.status(status).send(body);
    return errorPage(reply, langOf(request), status, body.error.code);
  });
}
