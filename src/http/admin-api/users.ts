// HTTP layer: routes translate HTTP to one use-case call and back. No store or cache handle here;
// tenancy and roles are the use cases' business (they take the principal as `actor`).
import type { FastifyInstance } from 'fastify';
import { USER_ROLES, type UserRole } from '../../domain/actor.js';
import { createApiToken, listApiTokens, revokeApiToken } from '../../domain/apiTokens.js';
import { createUser, deleteUser, getUser, listUsers, updateUser } from '../../domain/users.js';
import { principalOf } from '../plugins/auth.js';
import { idParams, uuid } from '../schemas.js';

interface NewUserBody {
  login: string;
  password: string;
  contractId: string | null;
  tokenLoginAllowed?: boolean;
  role?: UserRole;
}

// Lengths and characters are checked by the domain (422), so the CLI gets the same answers.
const login = { type: 'string' } as const;
const password = { type: 'string' } as const;
const role = { type: 'string', enum: USER_ROLES } as const;

/** Users of the admin API and each user's own personal API tokens. */
export async function userRoutes(app: FastifyInstance) {
  const svc = app.services;

  app.post<{ Body: NewUserBody }>('/api/v1/users', {
    schema: {
      body: {
        type: 'object',
        required: ['login', 'password', 'contractId'],
        properties: { login, password, contractId: { anyOf: [uuid, { type: 'null' }] }, tokenLoginAllowed: { type: 'boolean' }, role },
        additionalProperties: false,
      },
    },
  }, async (request, reply) => {
    const user = await createUser(svc, principalOf(request), { ...request.body, now: svc.now() });
    return reply.status(201).send(user);
  });

  app.get('/api/v1/users', async (request) => ({ users: await listUsers(svc, principalOf(request)) }));

  app.get<{ Params: { id: string } }>('/api/v1/users/:id', { schema: { params: idParams } }, async (request) =>
    getUser(svc, principalOf(request), request.params.id),
  );

  app.patch<{ Params: { id: string }; Body: { password?: string; tokenLoginAllowed?: boolean; role?: UserRole } }>('/api/v1/users/:id', {
    schema: {
      params: idParams,
      body: {
        type: 'object',
        properties: { password, tokenLoginAllowed: { type: 'boolean' }, role },
        minProperties: 1,
        additionalProperties: false,
      },
    },
  }, async (request) => updateUser(svc, principalOf(request), request.params.id, request.body));

  app.delete<{ Params: { id: string } }>('/api/v1/users/:id', { schema: { params: idParams } }, async (request, reply) => {
    await deleteUser(svc, principalOf(request), request.params.id);
    return reply.status(204).send();
  });

  app.get('/api/v1/me/tokens', async (request) => ({ tokens: await listApiTokens(svc, principalOf(request)) }));

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
    await revokeApiToken(svc, principalOf(request), request.params.id, svc.now());
    return reply.status(204).send();
  });
}
