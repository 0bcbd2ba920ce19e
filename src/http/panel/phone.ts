// HTTP layer (panel): the "Phone identification" page — a contract's provider accounts (secrets
// never shown back), a test send, today's sends, confirmations and cost, and the networks the
// pumping breaker paused with a Resume button. Pages call use cases with the signed-in user as
// actor; no store or cache handle.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requireOperator } from '../../domain/actor.js';
import { listNetworks } from '../../domain/networks.js';
import { resumeProvider } from '../../domain/phone/breaker.js';
import { DEFAULT_API_URLS, listProviderSettings, saveProviderSettings, type ProviderView } from '../../domain/phone/providerSettings.js';
import { phoneSettingsOf } from '../../domain/phone/settings.js';
import { phoneStatsToday } from '../../domain/phone/stats.js';
import { sendTestPhone, TEST_SENDS_PER_HOUR, type TestSent } from '../../domain/phone/testSend.js';
import { AppError, notFound } from '../../errors.js';
import { PROVIDER_NAMES, SECRET_SETTINGS } from '../../phone/providers/index.js';
import { PHONE_METHODS, type ProviderName } from '../../phone/providers/types.js';
import { baseUrl } from '../schemas.js';
import type { Lang } from '../views.js';
import { actorOf, chooseContract, field, panelClock, sendPage, type ContractChoice, type Panel } from './page.js';

/** The credentials each provider's form asks for, in order, with an example of a non-secret one. */
const FIELDS: Record<ProviderName, Array<{ name: string; example?: string }>> = {
  smsru: [{ name: 'apiId' }],
  twilio: [{ name: 'accountSid', example: 'AC0123456789abcdef0123456789abcdef' }, { name: 'authToken' }, { name: 'serviceSid', example: 'VA0123456789abcdef0123456789abcdef' }],
  smsc: [{ name: 'login', example: 'hotspot' }, { name: 'password' }],
};

interface Shown {
  /** A refusal's message, already in the page's language. */
  error?: string;
  status?: number;
  flash?: string;
  tested?: TestSent;
  /** SMSC's handler URL with its secret token: shown whole once, right after a save. */
  callbackUrlOnce?: string;
  /** The provider whose form was sent (kept open when refused). */
  open?: string;
  /** What a refused form had, secrets left out. */
  sent?: Record<string, string>;
  testForm?: { provider: string; method: string; phone: string };
}

export async function phonePages(app: FastifyInstance, { panel }: { panel: Panel }) {
  const { svc, views } = panel;
  const name = (lang: Lang, kind: 'provider' | 'method', value: string) => views.text(lang, `phone.${kind}.${value}`);

  async function page(request: FastifyRequest, reply: FastifyReply, choice: ContractChoice, shown: Shown = {}) {
    const lang = request.lang;
    const actor = actorOf(request);
    const contract = choice.current;
    if (!contract) {
      return sendPage(panel, request, reply, 'phone', { contract: null }, { title: views.text(lang, 'phone.title'), section: 'phone', contracts: choice });
    }
    const now = svc.now();
    const clock = panelClock(contract.timeZone);
    const [views_, networks, stats] = await Promise.all([
      listProviderSettings(svc, actor, contract.id),
      listNetworks(svc, actor, contract.id),
      phoneStatsToday(svc, actor, contract.id, now),
    ]);
    const byProvider = new Map<string, ProviderView>(views_.map((v) => [v.provider, v]));
    const networkName = new Map(networks.map((n) => [n.id, n.name]));
    const base = baseUrl(request);
    const money = (n: number | null) => (n === null ? '' : new Intl.NumberFormat(lang === 'ru' ? 'ru-RU' : 'en-GB', { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(n));
    const providers = PROVIDER_NAMES.map((p) => {
      const saved = byProvider.get(p) ?? null;
      const sent = shown.open === p ? shown.sent ?? {} : null;
      return {
        name: p,
        label: name(lang, 'provider', p),
        about: views.text(lang, `phone.about.${p}`),
        saved: Boolean(saved),
        open: shown.open === p,
        updatedAt: saved ? clock.at(saved.updatedAt) : '',
        callbackUrl: saved ? `${base}${saved.callbackPath}${p === 'smsc' ? '?token=…' : ''}` : '',
        networks: networks.filter((n) => phoneSettingsOf(n).provider === p).map((n) => n.name).join(', '),
        paused: (saved?.paused ?? []).map((x) => ({
          network: networkName.get(x.networkId) ?? x.networkId,
          at: clock.at(x.pausedAt),
          sent: x.sent,
          entered: x.entered,
        })),
        apiUrl: sent ? sent.apiUrl ?? '' : saved && saved.apiUrl !== DEFAULT_API_URLS[p] ? saved.apiUrl : '',
        defaultApiUrl: DEFAULT_API_URLS[p],
        fields: FIELDS[p].map((f) => {
          const secret = SECRET_SETTINGS[p].includes(f.name);
          const savedValue = saved?.credentials[f.name];
          return {
            id: `${p}-${f.name}`,
            key: f.name,
            label: views.text(lang, `phone.field.${f.name}`),
            secret,
            // A secret never goes back into a page; other values do (as saved, or as sent).
            value: secret ? '' : sent ? sent[f.name] ?? '' : savedValue ?? '',
            hint: secret
              ? savedValue
                ? views.text(lang, 'phone.field.secretSaved', { masked: savedValue })
                : views.text(lang, 'phone.field.secretNew')
              : f.example
                ? views.text(lang, 'phone.field.plain', { example: f.example })
                : '',
          };
        }),
      };
    }).map((p) => ({ ...p, paused: p.paused.length ? p.paused : null }));
    const testForm = shown.testForm ?? { provider: views_[0]?.provider ?? 'smsru', method: 'sms', phone: '' };
    const done = field(request.query, 'done');
    return sendPage(
      panel,
      request,
      reply,
      'phone',
      {
        contract,
        error: shown.error ?? '',
        flash: shown.flash ?? (request.method === 'GET' && ['saved', 'resumed'].includes(done) ? views.text(lang, `phone.done.${done}`) : ''),
        tested: shown.tested && {
          ...shown.tested,
          providerName: name(lang, 'provider', shown.tested.provider),
          methodName: name(lang, 'method', shown.tested.method),
          cost: shown.tested.cost === null ? '' : money(shown.tested.cost),
        },
        callbackUrlOnce: shown.callbackUrlOnce ?? '',
        stats,
        statRows: stats.rows.map((r) => ({ ...r, providerName: name(lang, 'provider', r.provider), methodName: name(lang, 'method', r.method), cost: money(r.cost) })),
        conversion: stats.conversion === null ? '—' : `${Math.round(stats.conversion * 100)} %`,
        costShown: money(stats.total.cost),
        providers,
        testMax: TEST_SENDS_PER_HOUR,
        testProviders: PROVIDER_NAMES.map((p) => ({ value: p, label: name(lang, 'provider', p), selected: p === testForm.provider })),
        testMethods: PHONE_METHODS.map((m) => ({ value: m, label: name(lang, 'method', m), selected: m === testForm.method })),
        testForm,
      },
      { title: views.text(lang, 'phone.title'), section: 'phone', contracts: choice, status: shown.status ?? 200 },
    );
  }

  /** A use case's refusal as the page says it; null when it is no refusal of what was entered. */
  function refusal(lang: Lang, err: unknown): { status: number; message: string } | null {
    if (!(err instanceof AppError) || err.status >= 500 && err.status !== 503 || err.status === 404) return null;
    // A cause (why a provider could not be reached) may have words of its own.
    const cause = typeof err.details.cause === 'string' ? `phone.error.${err.code}.${err.details.cause}` : null;
    const key = cause && views.text(lang, cause) !== cause ? cause : `phone.error.${err.code}`;
    const known = views.text(lang, key) !== key;
    const reason = typeof err.details.reason === 'string' ? err.details.reason : err.message;
    return { status: err.status, message: known ? views.text(lang, key, { reason }) : err.message };
  }

  async function contractOf(request: FastifyRequest, source: unknown): Promise<ContractChoice> {
    requireOperator(actorOf(request), 'Page');
    return chooseContract(panel, request, field(source, 'contract'));
  }

  const providerOf = (value: string): ProviderName => {
    if (!(PROVIDER_NAMES as readonly string[]).includes(value)) throw notFound('Phone provider');
    return value as ProviderName;
  };

  app.get('/phone', async (request, reply) => page(request, reply, await contractOf(request, request.query)));

  app.post<{ Params: { provider: string } }>('/phone/providers/:provider', async (request, reply) => {
    const choice = await contractOf(request, request.body);
    if (!choice.current) throw notFound('Contract');
    const provider = providerOf(request.params.provider);
    const lang = request.lang;
    const body: Record<string, string> = {};
    for (const f of FIELDS[provider]) body[f.name] = field(request.body, f.name).trim();
    const apiUrl = field(request.body, 'apiUrl').trim();
    if (apiUrl) body.apiUrl = apiUrl;
    let saved: Awaited<ReturnType<typeof saveProviderSettings>>;
    try {
      saved = await saveProviderSettings(svc, actorOf(request), choice.current.id, provider, body, svc.now());
    } catch (err) {
      const refused = refusal(lang, err);
      if (!refused) throw err;
      const sent = Object.fromEntries(Object.entries(body).filter(([k]) => !SECRET_SETTINGS[provider].includes(k)));
      return page(request, reply, choice, { status: refused.status, error: refused.message, open: provider, sent });
    }
    if (saved.callbackToken) {
      const url = `${baseUrl(request)}${saved.callbackPath}?token=${encodeURIComponent(saved.callbackToken)}`;
      return page(request, reply, choice, { flash: views.text(lang, 'phone.done.saved'), callbackUrlOnce: url });
    }
    return reply.redirect(`/admin/phone?contract=${choice.current.id}&done=saved`, 303);
  });

  app.post<{ Params: { provider: string } }>('/phone/providers/:provider/resume', async (request, reply) => {
    const choice = await contractOf(request, request.body);
    if (!choice.current) throw notFound('Contract');
    await resumeProvider(svc, actorOf(request), choice.current.id, providerOf(request.params.provider));
    return reply.redirect(`/admin/phone?contract=${choice.current.id}&done=resumed`, 303);
  });

  app.post('/phone/test', async (request, reply) => {
    const choice = await contractOf(request, request.body);
    if (!choice.current) throw notFound('Contract');
    const lang = request.lang;
    const testForm = { provider: field(request.body, 'provider'), method: field(request.body, 'method'), phone: field(request.body, 'phone').slice(0, 40) };
    try {
      const tested = await sendTestPhone(svc, actorOf(request), { contractId: choice.current.id, ...testForm, lang, now: svc.now() });
      return page(request, reply, choice, { tested, testForm });
    } catch (err) {
      const refused = refusal(lang, err);
      if (!refused) throw err;
      return page(request, reply, choice, { status: refused.status, error: refused.message, testForm });
    }
  });
}
