// HTTP layer: routes translate HTTP to a use-case or service call and back. No store or cache
// handle here; may import src/domain, src/services types and src/http helpers.
import type { FastifyInstance } from 'fastify';

export async function healthRoutes(app: FastifyInstance) {
  const svc = app.services;
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/metrics', async (_request, reply) =>
    reply.type(svc.metrics.registry.contentType).send(await svc.metrics.registry.metrics()),
  );

  app.get('/readyz', async (_request, reply) => {
    const { store, cache } = await svc.probe();
    const ready = store === 'ok' && cache === 'ok';
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', store, cache });
  });
}
