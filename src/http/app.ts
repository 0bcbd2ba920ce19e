// HTTP layer: the app as a plugin tree; routes translate HTTP to use-case calls and back. No store
// or cache handle anywhere under src/http; it may import src/domain, src/controllers and helpers.
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { lazyChild, machineRouteLevel } from '../log.js';
import type { Services } from '../services.js';
import { registerErrorHandling, toErrorReply } from './plugins/errors.js';
import { servicesPlugin } from './plugins/services.js';
import { requireApiToken } from './plugins/auth.js';
import { registerTextHygiene, routerError } from './plugins/text.js';
import { contractRoutes } from './admin-api/contracts.js';
import { networkRoutes } from './admin-api/networks.js';
import { planRoutes } from './admin-api/plans.js';
import { tokenRoutes } from './admin-api/tokens.js';
import { identificationRoutes } from './admin-api/identifications.js';
import { slipRoutes } from './admin-api/slips.js';
import { userRoutes } from './admin-api/users.js';
import { sessionRoutes } from './sessions/routes.js';
import { radiusRoutes } from './radius/routes.js';
import { healthRoutes } from './health.js';
import { portalRoutes } from './portal/routes.js';
import { panelPlugin } from './panel/index.js';
import { phoneProviderRoutes } from './admin-api/phoneProviders.js';
import { phoneCallbackRoutes } from './phone/callbacks.js';

function trustProxy(setting: string | null): boolean | string[] {
  if (!setting) return false;
  if (setting === 'true' || setting === '*') return true;
  return setting.split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * The whole HTTP app; what it serves follows KALITKA_ROLES. Tests call it with `inject`. With
 * `ownServices`, closing the app closes the services as well (the process entry's shape).
 */
export async function buildApp(svc: Services, options: { ownServices?: boolean } = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: svc.log as FastifyBaseLogger,
    // Made on a request's first line kept; a route with a level of its own (machine-to-machine
    // routes) keeps that level.
    childLoggerFactory: (logger, bindings, opts) => lazyChild(logger as Logger, bindings, opts?.level || undefined) as FastifyBaseLogger,
    bodyLimit: 64 * 1024,
    trustProxy: trustProxy(svc.config.trustProxy),
    // Strict schemas: no silent stripping of unknown fields and no coercion of "5" into 5.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false, allowUnionTypes: true } },
    // A path the router cannot decode (invalid UTF-8, a stray %) or a too long parameter reaches no
    // hook and no error handler: answered here in the contract's error shape, not fastify's own.
    frameworkErrors: (err, request, reply) => {
      const { status, body } = toErrorReply(routerError(err, request.raw.url ?? '/'));
      (reply as FastifyReply).status(status).send(body);
    },
  });
  await app.register(servicesPlugin, { services: svc, own: options.ownServices ?? false });
  await registerErrorHandling(app, svc.redis);
  // Before any route: URLs and JSON, form and text bodies must be clean text (400 INVALID_TEXT);
  // an empty JSON body is "no body" (many clients send the header on DELETE or POST …/annul).
  registerTextHygiene(app, { formBodyLimit: 16 * 1024 });
  app.addHook('onResponse', (request, reply, done) => {
    svc.metrics.observeRequest(request.method, request.routeOptions.url ?? 'unknown', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  await app.register(healthRoutes);

  const roles = svc.config.roles;
  // Machine-to-machine routes: no line per request below debug (see machineRouteLevel).
  const level = machineRouteLevel(svc.config.logLevel);
  const quiet = level ? { logLevel: level } : {};
  if (roles.has('portal')) await app.register(portalRoutes, { svc });
  // Providers call these without an API token; the signature is checked with the contract's credentials.
  if (roles.has('portal')) await app.register(phoneCallbackRoutes, { svc });
  if (roles.has('admin') || roles.has('portal')) {
    await app.register(async (api) => {
      requireApiToken(api, svc);
      if (roles.has('admin')) {
        await api.register(contractRoutes);
        await api.register(networkRoutes);
        await api.register(tokenRoutes, { svc });
        await api.register(planRoutes, { svc });
        await api.register(identificationRoutes, { svc });
        await api.register(slipRoutes, { svc });
        await api.register(userRoutes);
        await api.register(phoneProviderRoutes);
      }
      await api.register(sessionRoutes, { svc, ...quiet });
      if (roles.has('portal')) await api.register(radiusRoutes, { svc, ...quiet });
    });
  }
  if (roles.has('admin')) await app.register(panelPlugin, { prefix: '/admin' });
  return app;
}
