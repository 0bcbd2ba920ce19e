import { createHmac } from 'node:crypto';
import { request, type Agent } from 'undici';
import { outboundAgent, outboundRefusalIn, refusalText, type OutboundPolicy } from '../net/outbound.js';
import { AppError, badRequest } from '../errors.js';
import { httpUrl } from './common.js';

/*
 * Signed webhooks to an operator's endpoint. The receiver checks
 *   X-Kalitka-Signature: sha256=<hex HMAC-SHA256(secret, raw request body)>
 * over the exact bytes it received (constant-time compare), and reads the event type from
 * X-Kalitka-Event without parsing the body first. The endpoint is called through the outbound
 * gate of the network the event is about.
 */

export interface WebhookEvent {
  /** e.g. `identification.started`; also sent as X-Kalitka-Event. */
  type: string;
  [field: string]: unknown;
}

export interface WebhookOptions {
  url: string;
  secret: string;
  event: WebhookEvent;
  /** The gate the endpoint's address must pass. */
  outbound: OutboundPolicy;
  timeoutMs?: number;
}

const agents = new Map<string, Agent>();
function agentFor(outbound: OutboundPolicy, timeoutMs: number): Agent {
  const key = `${outbound.key}|${timeoutMs}`;
  let agent = agents.get(key);
  if (!agent) agents.set(key, (agent = outboundAgent(outbound, { timeoutMs })));
  return agent;
}

export const signWebhook = (secret: string, rawBody: string | Buffer) =>
  `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;

/** POSTs the event as JSON; resolves with the status on 2xx, throws WEBHOOK_FAILED otherwise. */
export async function sendWebhook(opts: WebhookOptions): Promise<{ status: number }> {
  const url = httpUrl(opts.url);
  if (!url) throw badRequest('INVALID_URL', 'The webhook URL must be an http or https URL');
  if (!/^[a-z][a-z0-9_.-]{0,99}$/i.test(opts.event.type)) throw badRequest('INVALID_EVENT', 'The event type is malformed');
  const body = JSON.stringify(opts.event);
  const timeoutMs = opts.timeoutMs ?? 5000;
  let status: number;
  try {
    // undici does not follow redirects unless asked: a 3xx is a failure, never a re-post elsewhere.
    const res = await request(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Kalitka-Webhook/1',
        'x-kalitka-event': opts.event.type,
        'x-kalitka-signature': signWebhook(opts.secret, body),
      },
      body,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
      dispatcher: agentFor(opts.outbound, timeoutMs),
    });
    status = res.statusCode;
    await res.body.dump();
  } catch (err) {
    const refused = outboundRefusalIn(err);
    if (refused) throw new AppError(502, 'WEBHOOK_FAILED', `The webhook endpoint ${refusalText(refused)}`, { reason: refused.code });
    const e = err as Error & { code?: string };
    throw new AppError(502, 'WEBHOOK_FAILED', 'The webhook endpoint could not be reached', { reason: e.code ?? e.name });
  }
  if (status < 200 || status >= 300) {
    throw new AppError(502, 'WEBHOOK_FAILED', `The webhook endpoint answered ${status}`, { status });
  }
  return { status };
}
