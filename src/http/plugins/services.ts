// HTTP layer: the services reach fastify as a plugin (fastify/demo's shape). No store or cache
// handle is used here; routes call use cases with `app.services`.
import fp from 'fastify-plugin';
import type { Services } from '../../services.js';

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
  }
}

/**
 * Decorates the app with its services. When the app owns them (`kalitka serve`), closing the app
 * closes them too; tests that opened the services themselves close them themselves.
 */
export const servicesPlugin = fp<{ services: Services; own: boolean }>(
  async (app, { services, own }) => {
    app.decorate('services', services);
    if (own) app.addHook('onClose', async () => services.close());
  },
  { name: 'kalitka-services' },
);
