// HTTP layer: phone providers' callbacks (`POST /api/v1/phone/callbacks/:provider/:contractId`).
// No API token: the adapter checks the provider's signature with the contract's credentials, over
// the raw body and the URL the provider called — so this plugin keeps the body as the bytes came
// (valid UTF-8 without NUL; sms.ru's entries hold newlines) instead of the app's parsers.
import type { FastifyInstance } from 'fastify';
import { phoneCallback } from '../../domain/phone/identify.js';
import { cleanText } from '../../domain/text.js';
import { badRequest } from '../../errors.js';
import type { Services } from '../../services.js';
import { baseUrl } from '../schemas.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The app's text rule, as for a multi-line field (tab and line breaks allowed: sms.ru's entries are
 * lines), applied to what the body says — each JSON string and name, each form name and value —
 * while the raw text itself is kept for the signature.
 */
function callbackTextClean(text: string, contentType: string): boolean {
  if (/^application\/json\b/i.test(contentType)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return cleanText(text, true); // not JSON after all: the adapter says so
    }
    const stack: unknown[] = [parsed];
    while (stack.length > 0) {
      const v = stack.pop();
      if (typeof v === 'string') {
        if (!cleanText(v, true)) return false;
      } else if (v !== null && typeof v === 'object') {
        for (const [k, inner] of Object.entries(v)) {
          if (!cleanText(k, true)) return false;
          stack.push(inner);
        }
      }
    }
    return true;
  }
  if (/^application\/x-www-form-urlencoded\b/i.test(contentType)) {
    for (const [k, v] of new URLSearchParams(text)) if (!cleanText(k, true) || !cleanText(v, true)) return false;
    return true;
  }
  return cleanText(text, true);
}

export async function phoneCallbackRoutes(app: FastifyInstance, { svc }: { svc: Services }) {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 64 * 1024 }, (request, raw, done) => {
    let text: string;
    try {
      text = utf8.decode(raw as Buffer);
    } catch {
      return done(badRequest('INVALID_TEXT', 'The callback body is not valid UTF-8 text'), undefined);
    }
    if (!callbackTextClean(text, String(request.headers['content-type'] ?? ''))) {
      return done(badRequest('INVALID_TEXT', 'The callback body holds a control character'), undefined);
    }
    done(null, text);
  });

  app.post<{ Params: { provider: string; contractId: string }; Body: string | undefined }>(
    '/api/v1/phone/callbacks/:provider/:contractId',
    {
      schema: {
        params: {
          type: 'object',
          required: ['provider', 'contractId'],
          properties: { provider: { type: 'string', maxLength: 40 }, contractId: { type: 'string', maxLength: 40 } },
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
