import type { Test } from 'tap';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import type { Services } from '../../src/services.js';

/** The app on these services, closed when the test ends. */
export async function appFor(t: Test, svc: Services): Promise<FastifyInstance> {
  const app = await buildApp(svc);
  t.teardown(() => app.close());
  return app;
}

/** A JSON call as a user with this Bearer token. */
export function call(app: FastifyInstance, token: string, method: InjectOptions['method'], url: string, payload?: unknown) {
  return app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}` },
    ...(payload === undefined ? {} : { payload: payload as InjectOptions['payload'] }),
  });
}

/** Waits for something written off the request path (setImmediate) to show up. */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 3000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > until) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
