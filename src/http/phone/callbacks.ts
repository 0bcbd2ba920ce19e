// HTTP layer: phone providers' callbacks (`POST /api/v1/phone/callbacks/:provider/:contractId`).
// No API token: the adapter checks the provider's signature with the contract's credentials, over
// the raw body and the URL the provider called — so this plugin keeps the body as the bytes came
// (valid UTF-8 without NUL; sms.ru's entries hold newlines) instead of the app's parsers.
import type { FastifyInstance } from 'fastify';
import { phoneCallback } from '../../domain/phone/identify.js';
import { badRequest } from '../../errors.js';
import type { Services } from '../../services.js';
import { baseUrl } from '../schemas.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export async function phoneCallbackRoutes(app: FastifyInstance, { svc }: { svc: Services }) {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 64 * 1024 }, (_request, raw, done) => {
    let text: string;
    try {
      text = utf8.decode(raw as Buffer);
    } catch {
      return done(badRequest('INVALID_TEXT', 'The callback body is not valid UTF-8 text'), undefined);
    }
    if (text.includes('\0')) return done(badRequest('INVALID_TEXT', 'The callback body holds a NUL byte'), undefined);
    done(null, text);
  });

  app.post<{ Params: { provider: string; contractId: string }; Body: string | undefined }>(
    '/api/v1/phone/callbacks/:provider/:contractId',
    {
      schema: {
        params: {
          type: 'object',
          required: ['provider', 'contractId'],
          properties: { provider: { type: 'string', maxLength: 20 }, contractId: { type: 'string', maxLength: 40 } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const answer = await phoneCallback(svc, {
        provider: request.params.provider,
        contractId: request.params.contractId,
        request: { url: `${baseUrl(request)}${request.url}`, headers: request.headers, body: typeof request.body === 'string' ? request.body : '' },
        now: svc.now(),
      });
      return reply.type(answer.contentType).header('Cache-Control', 'no-store').send(answer.body);
    },
  );
}
