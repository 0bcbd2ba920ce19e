import type { FastifyError, FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { Redis } from 'ioredis';
import { AppError } from '../../errors.js';
import { sqlState } from '../../store/db.js';

/** Errors meaning "the database is not there right now" rather than "the request is wrong". */
const STORE_DOWN_STATES = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006']);
const STORE_DOWN_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND']);

export function isStoreDown(err: unknown): boolean {
  const code = sqlState(err) ?? '';
  const message = err instanceof Error ? err.message : '';
  return (
    STORE_DOWN_STATES.has(code) ||
    STORE_DOWN_CODES.has(code) ||
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/.test(message)
  );
}

export interface ErrorBody {
  error: { code: string; message: string; [detail: string]: unknown };
}

/** Maps any thrown error to the contract's JSON error and status; 5xx details stay in the log. */
export function toErrorReply(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof AppError) {
    return { status: err.status, body: { error: { code: err.code, message: err.message, ...err.details } } };
  }
  const fe = err as FastifyError;
  if (fe.validation) {
    return { status: 400, body: { error: { code: 'VALIDATION_ERROR', message: fe.message } } };
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: { error: { code: 'BODY_TOO_LARGE', message: 'The request body is too large' } } };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, body: { error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Send the body as application/json' } } };
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return { status: 414, body: { error: { code: 'URI_TOO_LONG', message: 'A part of the URL path is too long' } } };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, body: { error: { code: 'MALFORMED_JSON', message: 'The body is not valid JSON' } } };
  }
  if (err instanceof SyntaxError || fe.statusCode === 400) {
    return { status: 400, body: { error: { code: 'MALFORMED_REQUEST', message: fe.message || 'Malformed request' } } };
  }
  if (sqlState(err) === '22P02') {
    return { status: 400, body: { error: { code: 'INVALID_ID', message: 'An id in the request is malformed' } } };
  }
  if (isStoreDown(err)) {
    return { status: 503, body: { error: { code: 'STORE_UNAVAILABLE', message: 'The database is unavailable; try again shortly' } } };
  }
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: fe.statusCode, body: { error: { code: 'BAD_REQUEST', message: fe.message } } };
  }
  return { status: 500, body: { error: { code: 'INTERNAL_ERROR', message: 'Something went wrong on our side' } } };
}

/** `redis`: the shared connection, when there is one, so every instance counts unknown paths together. */
export async function registerErrorHandling(app: FastifyInstance, redis: Redis | undefined, notFoundPerMinute = 60): Promise<void> {
  app.setErrorHandler((err, request, reply) => {
    const { status, body } = toErrorReply(err);
    if (status >= 500) request.log.error({ err }, 'request failed');
    return reply.status(status).send(body);
  });
  // An attacker could search for valid URLs: unknown paths are rate-limited per client IP,
  // shared through Redis when there is one.
  await app.register(rateLimit, {
    global: false,
    redis,
    nameSpace: 'kalitka-404:',
    skipOnError: true,
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      error: { code: 'RATE_LIMITED', message: `Too many requests; try again in ${Math.ceil(context.ttl / 1000)} s` },
    }),
  });
  app.setNotFoundHandler(
    { preHandler: app.rateLimit({ max: notFoundPerMinute, timeWindow: 60_000 }) },
    (request, reply) =>
      reply.status(404).send({ error: { code: 'NOT_FOUND', message: `No route ${request.method} ${request.url.split('?')[0]}` } }),
  );
}
