import type { FastifyInstance, FastifyReply } from 'fastify';
import { findContract } from '../../domain/contracts.js';
import { fileDate, loadSlips, renderSlips } from '../../domain/slips.js';
import type { Services } from '../../services.js';
import { principalOf, scopeOf } from '../plugins/auth.js';
import { idParams } from '../schemas.js';

/** The slips PDF of a contract's unused tokens, as the API and the panel both send it. */
export async function replyWithSlips(svc: Services, contractId: string, reply: FastifyReply): Promise<FastifyReply> {
  const now = svc.now();
  const pdf = await renderSlips({ ...(await loadSlips(svc.db, contractId)), printedAt: now });
  return reply
    .header('content-type', 'application/pdf')
    .header('content-disposition', `attachment; filename="tokens-${fileDate(now)}.pdf"`)
    // Unused codes are as good as cash: no shared cache may keep them.
    .header('cache-control', 'no-store')
    .send(pdf);
}

/** Printable slips of a contract's unused tokens. */
export async function slipRoutes(app: FastifyInstance, { svc }: { svc: Services }) {
  app.get<{ Params: { id: string } }>('/api/v1/contracts/:id/tokens.pdf', { schema: { params: idParams } }, async (request, reply) => {
    await findContract(svc.db, request.params.id, scopeOf(principalOf(request)));
    return replyWithSlips(svc, request.params.id, reply);
  });
}
