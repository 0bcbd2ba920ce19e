import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Principal } from '../../domain/actor.js';
import { printSlips, type SlipSheet } from '../../domain/slips.js';
import { zonedClock } from '../../domain/zonedTime.js';
import { SLIP_LAYOUTS, slipPrinter, type SlipLayout, type SlipPrinter } from '../../pdf/slips.js';
import type { Services } from '../../services.js';
import { principalOf } from '../plugins/auth.js';
import { baseUrl, idParams } from '../schemas.js';

/** `?layout=` of the slips PDF: A4 sheets by default, or an 80 mm thermal roll. */
export const layoutQuery = {
  type: 'object',
  properties: { layout: { type: 'string', enum: [...SLIP_LAYOUTS] } },
  additionalProperties: false,
} as const;

/** The slips PDF of a contract's unused tokens, as the API and the panel both send it. */
export async function replyWithSlips(
  svc: Services,
  printer: SlipPrinter,
  request: { protocol: string; host: string },
  input: { actor: Principal; contractId: string; layout: SlipLayout },
  reply: FastifyReply,
): Promise<FastifyReply> {
  const sheet: SlipSheet = await printSlips(svc, input.actor, { contractId: input.contractId, portalBase: baseUrl(request), now: svc.now() });
  const pdf = await printer.render(sheet, input.layout);
  const suffix = input.layout === 'a4' ? '' : `-${input.layout}`;
  return reply
    .header('content-type', 'application/pdf')
    .header('content-disposition', `attachment; filename="tokens-${zonedClock(sheet.timeZone).fileDate(sheet.printedAt)}${suffix}.pdf"`)
    // Unused codes are as good as cash: no shared cache may keep them.
    .header('cache-control', 'no-store')
    .send(pdf);
}

/** Printable slips of a contract's unused tokens. */
export async function slipRoutes(app: FastifyInstance, { svc }: { svc: Services }) {
  const printer = slipPrinter();
  app.get<{ Params: { id: string }; Querystring: { layout?: SlipLayout } }>(
    '/api/v1/contracts/:id/tokens.pdf',
    {
      schema: {
        params: idParams,
        querystring: layoutQuery,
      },
    },
    async (request, reply) =>
      replyWithSlips(svc, printer, request, { actor: principalOf(request), contractId: request.params.id, layout: request.query.layout ?? 'a4' }, reply),
  );
}
