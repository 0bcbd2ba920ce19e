// HTTP layer (panel): pages call use cases with the signed-in user as actor; no store or cache handle.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createApiToken, listApiTokens, MAX_LABEL, revokeApiToken } from '../../domain/apiTokens.js';
import { getContract } from '../../domain/contracts.js';
import { stashReveal, takeReveal } from '../../domain/panelSessions.js';
import { checkLabel } from '../../domain/text.js';
import { AppError, notFound } from '../../errors.js';
import { actorOf, field, ownZone, panelClock, sendPage, stateOf, UUID, type Panel } from './page.js';

const LIST = '/admin/profile/tokens';

/** Why a label is refused, as a message key and status; null when it may be used (the API's rule). */
function labelProblem(label: string): { key: string; status: number } | null {
  const checked = checkLabel(label, MAX_LABEL);
  return 'problem' in checked ? { key: `ptokens.bad.${checked.problem}`, status: 422 } : null;
}

/** The profile and its "Token management" (personal API tokens). */
export async function profilePages(app: FastifyInstance, { panel }: { panel: Panel }) {
  const { svc, views } = panel;

  app.get('/profile', async (request, reply) => {
    const lang = request.lang;
    const { user } = stateOf(request).session;
    const contract = user.contractId ? await getContract(svc, actorOf(request), user.contractId) : null;
    const zone = contract?.timeZone ?? svc.config.timeZone;
    return sendPage(
      panel,
      request,
      reply,
      'profile',
      {
        login: user.login,
        role: user.isSystem
          ? views.text(lang, 'users.role.system')
          : views.text(lang, `users.role.${user.role}`, { contract: contract?.name ?? '' }),
        createdAt: panelClock(zone).at(user.createdAt),
        tokenLoginAllowed: user.tokenLoginAllowed,
      },
      { title: views.text(lang, 'profile.title'), section: 'profile', timeZone: zone },
    );
  });

  /** Token management exists only for users allowed to log in by token; for others it is a 404. */
  const tokenUser = (request: FastifyRequest) => {
    const { user } = stateOf(request).session;
    if (!user.tokenLoginAllowed) throw notFound('Page');
    return user;
  };

  async function listPage(
    request: FastifyRequest,
    reply: FastifyReply,
    input: { reveal?: string | null; create?: { label: string; error: string }; status?: number },
  ) {
    const lang = request.lang;
    tokenUser(request);
    const tokens = await listApiTokens(svc, actorOf(request));
    const zone = await ownZone(panel, request);
    const clock = panelClock(zone);
    const done = request.method === 'GET' ? field(request.query, 'done') : '';
    return sendPage(
      panel,
      request,
      reply,
      'profile-tokens',
      {
        flash: done === 'revoked' ? views.text(lang, 'ptokens.revoked') : '',
        tokens: tokens.map((t) => ({
          id: t.id,
          label: t.label,
          lastUsedAt: t.lastUsedAt ? clock.at(t.lastUsedAt) : views.text(lang, 'ptokens.neverUsed'),
          neverUsed: t.lastUsedAt === null,
          createdAt: clock.at(t.createdAt),
        })),
        create: input.create ?? null,
        reveal: input.reveal ?? null,
      },
      { title: views.text(lang, 'ptokens.title'), section: 'profile', status: input.status, timeZone: zone },
    );
  }

  app.get('/profile/tokens', async (request, reply) => {
    tokenUser(request);
    // Shown on this one response only: taking it clears it, so a reload shows the list alone.
    const reveal = await takeReveal(svc, stateOf(request).sid);
    return listPage(request, reply, { reveal });
  });

  const newTokenPage = (request: FastifyRequest, reply: FastifyReply, create: { label: string; error: string }, status = 200) =>
    sendPage(panel, request, reply, 'profile-token-new', { create }, {
      title: views.text(request.lang, 'ptokens.new'),
      section: 'profile',
      status,
    });

  // Without JavaScript, "Create token" is a link to this page instead of opening the dialog.
  app.get('/profile/tokens/new', async (request, reply) => {
    tokenUser(request);
    return newTokenPage(request, reply, { label: '', error: '' });
  });

  app.post('/profile/tokens', async (request, reply) => {
    const user = tokenUser(request);
    const typed = field(request.body, 'label');
    const label = typed.trim();
    const fromPage = field(request.body, 'from') === 'page';
    const refuse = (key: string, status: number) => {
      const create = { label: typed, error: views.text(request.lang, key, { label, max: MAX_LABEL }) };
      return fromPage ? newTokenPage(request, reply, create, status) : listPage(request, reply, { create, status });
    };
    const problem = labelProblem(label);
    if (problem) return refuse(problem.key, problem.status);
    let token: string;
    try {
      ({ token } = await createApiToken(svc, { userId: user.id, label, now: svc.now() }));
    } catch (err) {
      if (err instanceof AppError && err.code === 'LABEL_TAKEN') return refuse('ptokens.bad.taken', 409);
      throw err;
    }
    await stashReveal(svc, stateOf(request).sid, token);
    return reply.redirect(LIST, 303);
  });

  async function ownToken(request: FastifyRequest, id: string) {
    const user = tokenUser(request);
    const token = UUID.test(id) ? (await listApiTokens(svc, actorOf(request))).find((t) => t.id === id) : undefined;
    if (!token) throw notFound('API token');
    return { user, token };
  }

  app.get<{ Params: { id: string } }>('/profile/tokens/:id/revoke', async (request, reply) => {
    const { token } = await ownToken(request, request.params.id);
    const zone = await ownZone(panel, request);
    return sendPage(
      panel,
      request,
      reply,
      'profile-token-revoke',
      { token: { id: token.id, label: token.label, createdAt: panelClock(zone).at(token.createdAt) } },
      { title: views.text(request.lang, 'ptokens.revokeTitle'), section: 'profile', timeZone: zone },
    );
  });

  app.post<{ Params: { id: string } }>('/profile/tokens/:id/revoke', async (request, reply) => {
    const { token } = await ownToken(request, request.params.id);
    await revokeApiToken(svc, actorOf(request), token.id, svc.now());
    return reply.redirect(`${LIST}?done=revoked`, 303);
  });
}
