import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { identificationLog, type LogRow } from '../../domain/identificationLog.js';
import type { Services } from '../../services.js';
import { sendLogCsv } from '../logCsv.js';
import { principalOf } from '../plugins/auth.js';
import { uuid } from '../schemas.js';

/** The JSON log's fields: UTC instants, ids (rule 11), and to whom the slip was issued (rule 12). */
function jsonEntry(r: LogRow) {
  return {
    id: r.id,
    mac: r.mac,
    contractId: r.contract_id,
    networkId: r.network_id,
    tokenId: r.token_id,
    code: r.code,
    issuedTo: r.issued_to,
    method: r.method,
    startedAt: r.started_at.toISOString(),
    endedAt: r.ended_at?.toISOString() ?? null,
    endReason: r.end_reason,
    // Method `phone`: the number (E.164; null unless the reader is one of the contract's operators) and how it was confirmed.
    ...(r.method === 'phone' ? { phone: r.phone, phoneMethod: r.phone_method, provider: r.phone_provider, providerReference: r.phone_reference } : {}),
  };
}

async function* jsonChunks(pages: AsyncIterable<LogRow[]>): AsyncGenerator<string> {
  yield '{"identifications":[';
  let first = true;
  for await (const page of pages) {
    yield (first ? '' : ',') + page.map((r) => JSON.stringify(jsonEntry(r))).join(',');
    first = false;
  }
  yield ']}';
}

const wantsCsv = (accept: string | undefined) => /(^|,)\s*text\/csv\s*(;|,|$)/i.test(accept ?? '');

export async function identificationRoutes(app: FastifyInstance, { svc }: { svc: Services }) {
  app.get<{ Params: { id: string }; Querystring: { from?: string; to?: string } }>(
    '/api/v1/contracts/:id/identifications',
    {
      schema: {
        params: { type: 'object', required: ['id'], properties: { id: uuid }, additionalProperties: false },
        querystring: {
          type: 'object',
          properties: { from: { type: 'string', maxLength: 40 }, to: { type: 'string', maxLength: 40 } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const log = await identificationLog(svc, principalOf(request), { contractId: request.params.id, ...request.query, now: svc.now() });
      // Streamed a page at a time; should the store fail midway, the connection is cut, not ended cleanly.
      // Plain UTF-8 for programs (Python's csv module reads it as it is); the panel's download has the BOM spreadsheets want.
      if (wantsCsv(request.headers.accept)) return sendLogCsv(reply, log, { bom: false });
      return reply.type('application/json; charset=utf-8').send(Readable.from(jsonChunks(log.pages)));
    },
  );
}
