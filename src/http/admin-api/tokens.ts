// HTTP layer: the token endpoints of the admin API. Translation only: each handler parses the
// request, calls one use case with the acting principal and shapes the answer. May import
// src/domain/*, src/errors.ts and http helpers; never the store or the cache.
import type { FastifyInstance } from 'fastify';
import { DURATION_CHOICES, LIMIT_BOUNDS, TOKEN_BOUNDS } from '../../domain/bounds.js';
import { parseCode } from '../../domain/code.js';
import {
  annulToken,
  deleteToken,
  extendToken,
  generateTokens,
  listTokens,
  setIssuedTo,
  tokenJson,
  type GenerateInput,
  type TokenStatus,
} from '../../domain/tokens.js';
import { badRequest } from '../../errors.js';
import type { Services } from '../../services.js';
import { principalOf } from '../plugins/auth.js';
import { idParams } from '../schemas.js';

interface ListQuery {
  status?: TokenStatus | '';
  code?: string;
  multiUse?: 'true' | 'false';
  durationDays?: string;
  limit?: string;
  offset?: string;
}

const { count, durationDays } = TOKEN_BOUNDS;

/** Rule 13's fields, as tokens and plans take them: null = unlimited. */
export const LIMIT_SCHEMA = {
  downKbps: { type: ['integer', 'null'], minimum: LIMIT_BOUNDS.kbps.min, maximum: LIMIT_BOUNDS.kbps.max },
  upKbps: { type: ['integer', 'null'], minimum: LIMIT_BOUNDS.kbps.min, maximum: LIMIT_BOUNDS.kbps.max },
  quotaMb: { type: ['integer', 'null'], minimum: LIMIT_BOUNDS.quotaMb.min, maximum: LIMIT_BOUNDS.quotaMb.max },
  maxDevices: { type: ['integer', 'null'], minimum: LIMIT_BOUNDS.maxDevices.min, maximum: LIMIT_BOUNDS.maxDevices.max },
} as const;

export async function tokenRoutes(app: FastifyInstance, { svc }: { svc: Services }) {
  app.post<{ Params: { id: string }; Body: Omit<GenerateInput, 'contractId' | 'now'> }>(
    '/api/v1/contracts/:id/tokens',
    {
      schema: {
        params: idParams,
        body: {
          type: 'object',
          required: ['count'],
          // Absent fields come from the plan named by planId, else single-use and unlimited (the use case decides).
          properties: {
            count: { type: 'integer', minimum: count.min, maximum: count.max },
            multiUse: { type: 'boolean' },
            durationDays: { type: ['integer', 'null'], minimum: durationDays.min, maximum: durationDays.max },
            ...LIMIT_SCHEMA,
            planId: { type: ['string', 'null'], format: 'uuid' },
          },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const now = svc.now();
      const rows = await generateTokens(svc, principalOf(request), { contractId: request.params.id, ...request.body, now });
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
            // Empty (`?status=&code=`, a form sent as it stood) filters nothing, as an empty code does.
            status: { type: 'string', enum: ['', 'unused', 'active', 'expired', 'annulled'] },
            code: { type: 'string', maxLength: 40 },
            multiUse: { type: 'string', enum: ['true', 'false'] },
            durationDays: { type: 'string', pattern: `^(${DURATION_CHOICES.join('|')}|null|unlimited)$` },
            limit: { type: 'string', pattern: '^[0-9]{1,5}$' },
            offset: { type: 'string', pattern: '^[0-9]{1,9}$' },
          },
          additionalProperties: false,
        },
      },
    },
    async (request) => {
      const q = request.query;
      let code: string | undefined;
      if (q.code !== undefined && q.code !== '') {
        const parsed = parseCode(q.code);
        if (!('code' in parsed)) throw badRequest('INVALID_CODE', 'code must be a 12-digit token code');
        code = parsed.code;
      }
      const now = svc.now();
      const rows = await listTokens(svc, principalOf(request), {
        contractId: request.params.id,
        status: q.status || undefined,
        code,
        multiUse: q.multiUse === undefined ? undefined : q.multiUse === 'true',
        durationDays: q.durationDays === undefined ? undefined : /^\d+$/.test(q.durationDays) ? Number(q.durationDays) : null,
        limit: q.limit === undefined ? undefined : Number(q.limit),
        offset: Number(q.offset ?? 0),
        now,
      });
      return { tokens: rows.map((r) => tokenJson(r, now)) };
    },
  );

  app.post<{ Params: { id: string }; Body: { days?: number | null; quotaMb?: number | null } }>(
    '/api/v1/tokens/:id/extend',
    {
      schema: {
        params: idParams,
        body: {
          type: 'object',
          properties: {
            days: { type: ['integer', 'null'], minimum: LIMIT_BOUNDS.extendDays.min, maximum: LIMIT_BOUNDS.extendDays.max },
            quotaMb: { type: ['integer', 'null'], minimum: LIMIT_BOUNDS.quotaMb.min, maximum: LIMIT_BOUNDS.quotaMb.max },
          },
          additionalProperties: false,
        },
      },
    },
    async (request) => {
      const now = svc.now();
      const row = await extendToken(svc, principalOf(request), { tokenId: request.params.id, ...(request.body ?? {}), now });
      return tokenJson(row, now);
    },
  );

  app.post<{ Params: { id: string } }>('/api/v1/tokens/:id/annul', { schema: { params: idParams } }, async (request) => {
    const now = svc.now();
    const change = await annulToken(svc, principalOf(request), { tokenId: request.params.id, now });
    return tokenJson(change.token!, now);
  });

  app.delete<{ Params: { id: string } }>('/api/v1/tokens/:id', { schema: { params: idParams } }, async (request, reply) => {
    await deleteToken(svc, principalOf(request), { tokenId: request.params.id, now: svc.now() });
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
          properties: { issuedTo: { type: ['string', 'null'], maxLength: TOKEN_BOUNDS.issuedToMax } },
          additionalProperties: false,
        },
      },
    },
    async (request) => {
      const row = await setIssuedTo(svc, principalOf(request), { tokenId: request.params.id, issuedTo: request.body.issuedTo });
      return tokenJson(row, svc.now());
    },
  );
}
