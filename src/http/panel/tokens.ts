// HTTP layer: the panel's token pages. Translation only: forms and queries in, one use case with
// the signed-in user as actor, a page or a redirect out. May import src/domain/*, src/errors.ts and
// http helpers; never the store or the cache.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DURATION_CHOICES, LIMIT_BOUNDS, TOKEN_BOUNDS, validCount, validIssuedTo } from '../../domain/bounds.js';
import { listPlans } from '../../domain/plans.js';
import { groupCode, parseCode } from '../../domain/code.js';
import { timeZoneOf } from '../../domain/timeZone.js';
import {
  annulToken,
  deleteToken,
  effectiveStatus,
  extendToken,
  findToken,
  generateTokens,
  listTokens,
  setIssuedTo,
  UNUSED_TOKEN_LIMIT,
  type TokenRow,
  type TokenStatus,
} from '../../domain/tokens.js';
import { AppError, badRequest, notFound } from '../../errors.js';
import type { Lang } from '../views.js';
import { replyWithSlips } from '../admin-api/slips.js';
import { SLIP_LAYOUTS, slipPrinter, type SlipLayout } from '../../pdf/slips.js';
import {
  actorOf,
  chooseContract,
  field,
  panelClock,
  safeBack,
  sendPage,
  withDone,
  UUID,
  type ContractChoice,
  type Panel,
} from './page.js';
import { limitBounds, limitForm, limitsLabel, readLimits, type LimitForm } from './limits.js';

const STATUSES: TokenStatus[] = ['unused', 'active', 'expired', 'annulled'];
const DAYS = DURATION_CHOICES;
const PAGE_SIZE = 100;
const LIST = '/admin/tokens';
export const ISSUED_TO_MAX = TOKEN_BOUNDS.issuedToMax;

interface Filters {
  status: string;
  code: string;
  uses: string;
  term: string;
  page: number;
}

interface GenerateForm extends LimitForm {
  count: string;
  uses: string;
  term: string;
  plan: string;
}

const NO_FILTERS: Filters = { status: '', code: '', uses: '', term: '', page: 0 };
const DEFAULT_GENERATE: GenerateForm = { count: '10', uses: 'single', term: '1', plan: '', downKbps: '', upKbps: '', quotaMb: '', maxDevices: '' };

/** Query → filters; a bad value is dropped and named, so the page says what it ignored. */
function readFilters(query: unknown): { filters: Filters; bad: string | null } {
  const f: Filters = {
    status: field(query, 'status'),
    code: field(query, 'code').trim(),
    uses: field(query, 'uses'),
    term: field(query, 'term'),
    page: 0,
  };
  let bad: string | null = null;
  if (f.status && !STATUSES.includes(f.status as TokenStatus)) [f.status, bad] = ['', 'status'];
  if (f.uses && !['single', 'multi'].includes(f.uses)) [f.uses, bad] = ['', 'uses'];
  if (f.term && f.term !== 'unlimited' && !DAYS.includes(f.term)) [f.term, bad] = ['', 'term'];
  if (f.code && !('code' in parseCode(f.code))) bad = 'code';
  const page = field(query, 'page');
  if (page && /^\d{1,6}$/.test(page)) f.page = Math.max(0, Number(page) - 1);
  else if (page) bad = 'page';
  return { filters: f, bad };
}

export async function tokenPages(app: FastifyInstance, { panel }: { panel: Panel }) {
  const { svc, views } = panel;
  const printer = slipPrinter();
  /** A token the signed-in user may act on; another contract's is a 404 like a missing one. */
  const tokenFor = (request: FastifyRequest, id: string): Promise<TokenRow> => findToken(svc, actorOf(request), id);

  function options(lang: Lang, values: string[], labelKey: (v: string) => string, selected: string, all?: string) {
    return [
      ...(all ? [{ value: '', label: views.text(lang, all), selected: selected === '' }] : []),
      ...values.map((v) => ({ value: v, label: views.text(lang, labelKey(v), { n: v }), selected: v === selected })),
    ];
  }
  const termKey = (v: string) => (v === 'unlimited' ? 'term.unlimited' : 'term.days');

  function rowView(lang: Lang, row: TokenRow, back: string, zone: string) {
    const clock = panelClock(zone);
    const { status, endReason } = effectiveStatus(row, svc.now());
    return {
      id: row.id,
      code: groupCode(row.code),
      uses: views.text(lang, row.multi_use ? 'uses.multi' : 'uses.single'),
      term: row.duration_days === null ? views.text(lang, 'term.unlimited') : views.text(lang, 'term.days', { n: row.duration_days }),
      status,
      statusLabel: views.text(lang, `status.${status}`),
      endReason: endReason && endReason !== status ? views.text(lang, `reason.${endReason}`) : '',
      mac: row.mac ?? '',
      activatedAt: clock.at(row.activated_at),
      expiresAt: clock.at(row.expires_at),
      createdAt: clock.at(row.created_at),
      issuedTo: row.issued_to ?? '',
      limits: limitsLabel(views, lang, { downKbps: row.down_kbps, upKbps: row.up_kbps, quotaMb: row.quota_mb, maxDevices: row.max_devices }),
      canAnnul: status === 'unused' || status === 'active',
      canExtend: status === 'active' && (row.expires_at !== null || row.quota_mb !== null),
      back,
      backQuery: encodeURIComponent(back),
    };
  }

  async function listPage(
    request: FastifyRequest,
    reply: FastifyReply,
    choice: ContractChoice,
    input: { filters: Filters; status?: number; error?: string; generate?: GenerateForm },
  ) {
    const lang = request.lang;
    const { filters } = input;
    const contract = choice.current;
    const back = safeBack(request.method === 'GET' ? request.url : LIST, LIST);
    let rows: TokenRow[] = [];
    if (contract) {
      const code = filters.code ? parseCode(filters.code) : null;
      rows = await listTokens(svc, actorOf(request), {
        contractId: contract.id,
        status: (filters.status || undefined) as TokenStatus | undefined,
        code: code && 'code' in code ? code.code : undefined,
        multiUse: filters.uses ? filters.uses === 'multi' : undefined,
        durationDays: filters.term === '' ? undefined : filters.term === 'unlimited' ? null : Number(filters.term),
        limit: PAGE_SIZE + 1,
        offset: filters.page * PAGE_SIZE,
        now: svc.now(),
      });
    }
    const more = rows.length > PAGE_SIZE;
    const pageUrl = (page: number) => {
      const u = new URL(back, 'http://x');
      u.searchParams.set('page', String(page + 1));
      return u.pathname + u.search;
    };
    const query = request.query as Record<string, unknown>;
    const done = request.method === 'GET' ? field(query, 'done') : '';
    const gen = input.generate ?? DEFAULT_GENERATE;
    const unused = contract?.unusedTokens ?? 0;
    const plans = contract ? await listPlans(svc, actorOf(request), contract.id) : [];
    return sendPage(
      panel,
      request,
      reply,
      'tokens',
      {
        contract,
        flash: ['generated', 'annulled', 'deleted', 'issued', 'extended'].includes(done) ? views.text(lang, `tokens.done.${done}`, { n: field(query, 'n') }) : '',
        error: input.error ?? '',
        remaining: views.text(lang, 'tokens.remaining', { unused, limit: UNUSED_TOKEN_LIMIT, available: Math.max(0, UNUSED_TOKEN_LIMIT - unused) }),
        pdfUrl: contract ? `/admin/tokens.pdf?contract=${contract.id}` : '',
        pdfRollUrl: contract ? `/admin/tokens.pdf?contract=${contract.id}&layout=roll80` : '',
        filters,
        filtersOpen: Boolean(filters.status || filters.code || filters.uses || filters.term),
        statusOptions: options(lang, STATUSES, (v) => `status.${v}`, filters.status, 'filter.all'),
        usesOptions: options(lang, ['single', 'multi'], (v) => `uses.${v}`, filters.uses, 'filter.all'),
        termOptions: options(lang, ['unlimited', ...DAYS], termKey, filters.term, 'filter.all'),
        gen: {
          count: gen.count,
          single: gen.uses !== 'multi',
          multi: gen.uses === 'multi',
          termOptions: options(lang, ['unlimited', ...DAYS], termKey, gen.term),
          planOptions: [
            { value: '', label: views.text(lang, 'tokens.planNone'), selected: gen.plan === '' },
            ...plans.map((p) => ({ value: p.id, label: p.name, selected: p.id === gen.plan })),
          ],
          hasPlans: plans.length > 0,
          bounds: limitBounds(),
          downKbps: gen.downKbps,
          upKbps: gen.upKbps,
          quotaMb: gen.quotaMb,
          maxDevices: gen.maxDevices,
        },
        // Issuers may not extend or delete (the routes are theirs to 404): no buttons that lead there.
        canExtend: actorOf(request).role === 'operator',
        canDelete: actorOf(request).role === 'operator',
        rows: rows.slice(0, PAGE_SIZE).map((r) => rowView(lang, r, back, contract!.timeZone)),
        empty: rows.length === 0,
        prevUrl: filters.page > 0 ? pageUrl(filters.page - 1) : '',
        nextUrl: more ? pageUrl(filters.page + 1) : '',
        back,
      },
      { title: views.text(lang, 'tokens.title'), section: 'tokens', contracts: choice, status: input.status },
    );
  }

  app.get('/tokens', async (request, reply) => {
    const choice = await chooseContract(panel, request, field(request.query, 'contract'));
    const { filters, bad } = readFilters(request.query);
    return listPage(request, reply, choice, {
      filters,
      status: bad ? 400 : 200,
      error: bad ? views.text(request.lang, `filter.bad.${bad}`) : undefined,
    });
  });

  app.post('/tokens/generate', async (request, reply) => {
    const lang = request.lang;
    const choice = await chooseContract(panel, request, field(request.body, 'contract'));
    if (!choice.current) throw notFound('Contract');
    const form: GenerateForm = {
      count: field(request.body, 'count').trim(),
      uses: field(request.body, 'uses'),
      term: field(request.body, 'term'),
      plan: field(request.body, 'plan'),
      ...limitForm(request.body),
    };
    const refuse = (status: number, key: string, vars?: Record<string, unknown>) =>
      listPage(request, reply, choice, { filters: NO_FILTERS, status, error: views.text(lang, key, vars), generate: form });
    if (!/^\d{1,3}$/.test(form.count) || !validCount(Number(form.count))) {
      return refuse(400, 'generate.bad.count', { limit: TOKEN_BOUNDS.count.max });
    }
    if (!['single', 'multi'].includes(form.uses)) return refuse(400, 'generate.bad.uses');
    if (form.term !== 'unlimited' && !DAYS.includes(form.term)) return refuse(400, 'generate.bad.term');
    const { limits, bad } = readLimits(form);
    if (bad) return refuse(400, `limits.bad.${bad}`);
    if (form.plan !== '' && !UUID.test(form.plan)) return refuse(400, 'limits.bad.plan');
    try {
      // With a plan, its uses, term and limits are the tokens'; limits typed on the form win.
      const made = await generateTokens(svc, actorOf(request), {
        contractId: choice.current.id,
        count: Number(form.count),
        ...(form.plan ? { planId: form.plan } : { multiUse: form.uses === 'multi', durationDays: form.term === 'unlimited' ? null : Number(form.term) }),
        ...limits,
        now: svc.now(),
      });
      return reply.redirect(withDone(LIST, 'generated', made.length), 303);
    } catch (err) {
      if (err instanceof AppError && err.code === 'UNUSED_TOKEN_LIMIT') {
        choice.current.unusedTokens = UNUSED_TOKEN_LIMIT - Number(err.details.available);
        return refuse(409, 'generate.limit', { limit: UNUSED_TOKEN_LIMIT, available: err.details.available, count: form.count });
      }
      if (err instanceof AppError && err.code === 'MAX_DEVICES_SINGLE_USE') return refuse(422, 'limits.bad.singleUse');
      if (err instanceof AppError && err.status === 404 && form.plan) return refuse(400, 'limits.bad.plan');
      throw err;
    }
  });

  app.post<{ Params: { id: string } }>('/tokens/:id/annul', async (request, reply) => {
    await annulToken(svc, actorOf(request), { tokenId: request.params.id, now: svc.now() });
    return reply.redirect(withDone(safeBack(field(request.body, 'back'), LIST), 'annulled'), 303);
  });

  const tokenPage = async (request: FastifyRequest, reply: FastifyReply, page: string, token: TokenRow, data: Record<string, unknown>, status = 200) => {
    const zone = await timeZoneOf(svc, token.contract_id);
    return sendPage(panel, request, reply, page, { token: rowView(request.lang, token, '', zone), ...data }, {
      title: views.text(request.lang, `${page}.title`),
      section: 'tokens',
      status,
      timeZone: zone,
    });
  };

  const extendPage = (request: FastifyRequest, reply: FastifyReply, token: TokenRow, data: { back: string; days?: string; quotaMb?: string; error?: string }, status = 200) =>
    tokenPage(request, reply, 'token-extend', token, {
      days: '',
      quotaMb: '',
      ...data,
      hasTerm: token.expires_at !== null,
      hasQuota: token.quota_mb !== null,
    }, status);

  app.get<{ Params: { id: string } }>('/tokens/:id/extend', async (request, reply) => {
    const token = await tokenFor(request, request.params.id);
    return extendPage(request, reply, token, { back: safeBack(field(request.query, 'back'), LIST) });
  });

  app.post<{ Params: { id: string } }>('/tokens/:id/extend', async (request, reply) => {
    const token = await tokenFor(request, request.params.id);
    const back = safeBack(field(request.body, 'back'), LIST);
    const typed = { days: field(request.body, 'days').trim(), quotaMb: field(request.body, 'quotaMb').trim() };
    const again = (key: string, status: number) => extendPage(request, reply, token, { back, ...typed, error: views.text(request.lang, key) }, status);
    const days = typed.days === '' ? null : /^\d{1,2}$/.test(typed.days) ? Number(typed.days) : NaN;
    const quotaMb = typed.quotaMb === '' ? null : /^\d{1,8}$/.test(typed.quotaMb) ? Number(typed.quotaMb) : NaN;
    if (days === null && quotaMb === null) return again('token-extend.bad.empty', 400);
    if (days !== null && !(days >= LIMIT_BOUNDS.extendDays.min && days <= LIMIT_BOUNDS.extendDays.max)) return again('token-extend.bad.days', 400);
    if (quotaMb !== null && !(quotaMb >= LIMIT_BOUNDS.quotaMb.min && quotaMb <= LIMIT_BOUNDS.quotaMb.max)) return again('token-extend.bad.quotaMb', 400);
    try {
      await extendToken(svc, actorOf(request), { tokenId: token.id, days, quotaMb, now: svc.now() });
    } catch (err) {
      if (err instanceof AppError && (err.status === 409 || err.status === 422)) return again(`token-extend.bad.${err.code}`, err.status);
      throw err;
    }
    return reply.redirect(withDone(back, 'extended'), 303);
  });

  app.get<{ Params: { id: string } }>('/tokens/:id/delete', async (request, reply) => {
    const token = await tokenFor(request, request.params.id);
    return tokenPage(request, reply, 'token-delete', token, { back: safeBack(field(request.query, 'back'), LIST) });
  });

  app.post<{ Params: { id: string } }>('/tokens/:id/delete', async (request, reply) => {
    await deleteToken(svc, actorOf(request), { tokenId: request.params.id, now: svc.now() });
    return reply.redirect(withDone(safeBack(field(request.body, 'back'), LIST), 'deleted'), 303);
  });

  app.get<{ Params: { id: string } }>('/tokens/:id/issued-to', async (request, reply) => {
    const token = await tokenFor(request, request.params.id);
    return tokenPage(request, reply, 'token-issued', token, {
      back: safeBack(field(request.query, 'back'), LIST),
      issuedTo: token.issued_to ?? '',
      max: ISSUED_TO_MAX,
    });
  });

  app.post<{ Params: { id: string } }>('/tokens/:id/issued-to', async (request, reply) => {
    const token = await tokenFor(request, request.params.id);
    const typed = field(request.body, 'issuedTo');
    const back = safeBack(field(request.body, 'back'), LIST);
    const issuedTo = typed.trim();
    if (!validIssuedTo(issuedTo)) {
      return tokenPage(request, reply, 'token-issued', token, {
        back,
        issuedTo: typed,
        max: ISSUED_TO_MAX,
        error: views.text(request.lang, 'token-issued.tooLong', { max: ISSUED_TO_MAX }),
      }, 400);
    }
    await setIssuedTo(svc, actorOf(request), { tokenId: token.id, issuedTo });
    return reply.redirect(withDone(back, 'issued'), 303);
  });

  app.get('/tokens.pdf', async (request, reply) => {
    const choice = await chooseContract(panel, request, field(request.query, 'contract'));
    if (!choice.current) throw notFound('Contract');
    const layout = field(request.query, 'layout') || 'a4';
    if (!SLIP_LAYOUTS.includes(layout as SlipLayout)) throw badRequest('INVALID_LAYOUT', `layout is one of ${SLIP_LAYOUTS.join(', ')}`);
    return replyWithSlips(svc, printer, request, { actor: actorOf(request), contractId: choice.current.id, layout: layout as SlipLayout }, reply);
  });
}
