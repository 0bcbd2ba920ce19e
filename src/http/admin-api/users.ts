import type { FastifyInstance } from 'fastify';
import { createApiToken, listApiTokens, revokeApiToken } from '../../domain/apiTokens.js';
import { createUser, findUser, listUsers, updateUser } from '../../domain/users.js';
import { forbidden } from '../../errors.js';
import type { Services } from '../../services.js';
import { principalOf, requireSystem, scopeOf } from '../plugins/auth.js';
import { idParams, uuid } from '../schemas.js';

interface NewUserBody {
  login: string;
  password: string;
  contractId: string | null;
  tokenLoginAllowed?: boolean;
}

// Lengths and characters are checked by the domain (422), so the CLI gets the same answers.
const login = { type: 'string' } as const;
const password = { type: 'string' } as const;

/** Users of the admin API and each user's own personal API tokens. */
export async function userRoutes(app: FastifyInstance, { svc }: { svc: Services }) {
  app.post<{ Body: NewUserBody }>('/api/v1/users', {
    schema: {
      body: {
        type: 'object',
        required: ['login', 'password', 'contractId'],
        properties: {
          login,
          password,
          contractId: { anyOf: [uuid, { type: 'null' }] },
          tokenLoginAllowed: { type: 'boolean' },
        },
        additionalProperties: false,
      },
    },
  }, async (request, reply) => {
    const p = principalOf(request);
    const { contractId, tokenLoginAllowed = false } = request.body;
    if (contractId === null) requireSystem(p);
    if (!p.isSystem && contractId !== p.contractId) throw forbidden('Operators may create users only in their own contract');
    if (tokenLoginAllowed && !p.isSystem) throw forbidden('Only a system administrator may allow token login');
    const user = await createUser(svc.db, {
      login: request.body.login,
      password: request.body.password,
      contractId,
      isSystem: contractId === null,
      tokenLoginAllowed,
      now: svc.now(),
    });
    return reply.status(201).send(user);
  });

  app.get('/api/v1/users', async (request) => ({ users: await listUsers(svc.db, scopeOf(principalOf(request))) }));

  app.get<{ Params: { id: string } }>('/api/v1/users/:id', { schema: { params: idParams } }, async (request) =>
    findUser(svc.db, request.params.id, scopeOf(principalOf(request))),
  );

  app.patch<{ Params: { id: string }; Body: { password?: string; tokenLoginAllowed?: boolean } }>('/api/v1/users/:id', {
    schema: {
      params: idParams,
      body: {
        type: 'object',
        properties: { password, tokenLoginAllowed: { type: 'boolean' } },
        minProperties: 1,
        additionalProperties: false,
      },
    },
  }, async (request) => {
    const p = principalOf(request);
    return updateUser(svc, { id: request.params.id, scope: scopeOf(p), bySystem: p.isSystem, ...request.body });
  });

  app.get('/api/v1/me/tokens', async (request) => ({ tokens: await listApiTokens(svc.db, principalOf(request).userId) }));

  app.post<{ Body: { label: string } }>('/api/v1/me/tokens', {
    schema: {
      body: { type: 'object', required: ['label'], properties: { label: { type: 'string' } }, additionalProperties: false },
    },
  }, async (request, reply) => {
    const made = await createApiToken(svc, { userId: principalOf(request).userId, label: request.body.label, now: svc.now() });
    // The only time the secret is shown: no cache on the way may keep it.
    return reply
      .status(201)
      .header('cache-control', 'no-store')
      .send({ id: made.id, label: made.label, token: made.token, createdAt: made.createdAt });
  });

  app.delete<{ Params: { id: string } }>('/api/v1/me/tokens/:id', { schema: { params: idParams } }, async (request, reply) => {
    await revokeApiToken(svc, { userId: principalOf(request).userId, tokenId: request.params.id, now: svc.now() });
    return reply.status(204).send();
  });
}
