import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);

export async function healthRoutes(app: FastifyInstance, { svc }: { svc: Services }) {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/metrics', async (_request, reply) =>
    reply.type(svc.metrics.registry.contentType).send(await svc.metrics.registry.metrics()),
  );

  app.get('/readyz', async (_request, reply) => {
    const [store, cache] = await Promise.all([
      within(svc.db.query('select 1'), 2_000).then(() => 'ok', () => 'down'),
      within(svc.cache.ping(), 2_000).then(() => 'ok', () => 'down'),
    ]);
    const ready = store === 'ok' && cache === 'ok';
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', store, cache });
  });
}
