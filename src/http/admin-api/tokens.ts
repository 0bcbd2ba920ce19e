import type { FastifyInstance } from 'fastify';
import { parseCode } from '../../domain/code.js';
import { findContract } from '../../domain/contracts.js';
import { annulToken, deleteToken, generateTokens, listTokens, setIssuedTo, tokenJson, type TokenStatus } from '../../domain/tokens.js';
import { badRequest } from '../../errors.js';
import type { Services } from '../../services.js';
import { principalOf, scopeOf } from '../plugins/auth.js';
import { idParams } from '../schemas.js';

interface ListQuery {
  status?: TokenStatus;
  code?: string;
  multiUse?: 'true' | 'false';
  durationDays?: string;
  limit?: string;
  offset?: string;
}

export async function tokenRoutes(app: FastifyInstance, { svc }: { svc: Services }) {
  app.post<{ Params: { id: string }; Body: { count: number; multiUse: boolean; durationDays: number | null } }>(
    '/api/v1/contracts/:id/tokens',
    {
      schema: {
        params: idParams,
        body: {
          type: 'object',
          required: ['count'],
          properties: {
            count: { type: 'integer', minimum: 1, maximum: 200 },
            multiUse: { type: 'boolean', default: false },
            durationDays: { type: ['integer', 'null'], minimum: 1, maximum: 30, default: null },
          },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      await findContract(svc.db, request.params.id, scopeOf(principalOf(request)));
      const now = svc.now();
      const rows = await generateTokens(svc, { contractId: request.params.id, ...request.body, now });
      return reply.status(201).send({ tokens: rows.map((r) => tokenJson(r, now)) });
    },
  );

  app.get<{ Params: { id: string }; Querystring: ListQuery }>(
    '/api/v1/contracts/:id/tokens',
    {
      schema: {
        params: idParams,
        querystring: {
          type: 'object',
          properties: {
            status: { type: 'string', enum: ['unused', 'active', 'expired', 'annulled'] },
            code: { type: 'string', maxLength: 40 },
            multiUse: { type: 'string', enum: ['true', 'false'] },
            durationDays: { type: 'string', pattern: '^([1-9]|[12][0-9]|30|null|unlimited)$' },
            limit: { type: 'string', pattern: '^[0-9]{1,5}$' },
            offset: { type: 'string', pattern: '^[0-9]{1,9}$' },
          },
          additionalProperties: false,
        },
      },
    },
    async (request) => {
      await findContract(svc.db, request.params.id, scopeOf(principalOf(request)));
      const q = request.query;
      let code: string | undefined;
      if (q.code !== undefined && q.code !== '') {
        const parsed = parseCode(q.code);
        if (!('code' in parsed)) throw badRequest('INVALID_CODE', 'code must be a 12-digit token code');
        code = parsed.code;
      }
      const now = svc.now();
      const rows = await listTokens(svc.db, {
        contractId: request.params.id,
        status: q.status,
        code,
        multiUse: q.multiUse === undefined ? undefined : q.multiUse === 'true',
        durationDays: q.durationDays === undefined ? undefined : /^\d+$/.test(q.durationDays) ? Number(q.durationDays) : null,
        limit: Math.min(Number(q.limit ?? 1000), 5000),
        offset: Number(q.offset ?? 0),
        now,
      });
      return { tokens: rows.map((r) => tokenJson(r, now)) };
    },
  );

  app.post<{ Params: { id: string } }>('/api/v1/tokens/:id/annul', { schema: { params: idParams } }, async (request) => {
    const now = svc.now();
    const change = await annulToken(svc, { tokenId: request.params.id, contractId: scopeOf(principalOf(request)), now });
    return tokenJson(change.token!, now);
  });

  app.delete<{ Params: { id: string } }>('/api/v1/tokens/:id', { schema: { params: idParams } }, async (request, reply) => {
    await deleteToken(svc, { tokenId: request.params.id, contractId: scopeOf(principalOf(request)), now: svc.now() });
    return reply.status(204).send();
  });

  app.patch<{ Params: { id: string }; Body: { issuedTo: string | null } }>(
    '/api/v1/tokens/:id',
    {
      schema: {
        params: idParams,
        body: {
          type: 'object',
          required: ['issuedTo'],
          properties: { issuedTo: { type: ['string', 'null'], maxLength: 500 } },
          additionalProperties: false,
        },
      },
    },
    async (request) => {
      const issuedTo = request.body.issuedTo?.trim() || null;
      const row = await setIssuedTo(svc, { tokenId: request.params.id, contractId: scopeOf(principalOf(request)), issuedTo });
      return tokenJson(row, svc.now());
    },
  );
}
