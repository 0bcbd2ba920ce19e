// Domain layer: an operator's test of a contract's phone provider account — one SMS (or flash call,
// or call-check number) to a number the operator types, through the same adapter and outbound
// guard the portal uses, to prove the credentials and the endpoint before guests depend on them.
// May import src/store/* (through other domain modules), src/cache, src/phone, errors.
import { AppError, unprocessable } from '../../errors.js';
import type { PhoneMethod } from '../../phone/providers/types.js';
import type { Services } from '../../services.js';
import { requireOperator, type Principal } from '../actor.js';
import { requireContract } from '../contracts.js';
import { generateSmsCode } from './codes.js';
import { normalizePhone } from './number.js';
import { providerFor, requireProvider } from './providerSettings.js';
import { phoneRefusal } from './refusals.js';
import { reportPhone, type StatsDeps } from './stats.js';

/** Test sends cost money too: a contract may make this many an hour. */
export const TEST_SENDS_PER_HOUR = 10;
const testKey = (contractId: string) => `phone:test:${contractId}`;

export interface TestSent {
  provider: string;
  method: PhoneMethod;
  /** E.164 of the number it went to. */
  phone: string;
  /** The provider's id of the send, for its own logs. */
  reference: string;
  /** Call-check: the number the test phone may call. */
  callNumber: string | null;
  /** What the provider says it cost, when it says. */
  cost: number | null;
}

/**
 * Sends one test through a contract's saved provider. Refusals: 404 (another contract, an issuer,
 * an unknown provider), 422 PHONE_PROVIDER_UNSET (none saved), 400 PHONE_INVALID, 422
 * PHONE_METHOD_NOT_ALLOWED (the provider has no such method), 429 PHONE_TEST_LIMIT, 503 when the
 * provider is away or refuses (its message is kept in `details.reason` for the operator).
 */
export async function sendTestPhone(
  deps: Pick<Services, 'db' | 'cache' | 'config' | 'secret' | 'log'> & Pick<StatsDeps, 'metrics'>,
  actor: Principal,
  input: { contractId: string; provider: string; phone: string; method: string; lang: 'ru' | 'en'; now: Date },
): Promise<TestSent> {
  await requireContract(deps, actor, input.contractId);
  requireOperator(actor, 'Contract');
  const name = requireProvider(input.provider);
  const provider = await providerFor(deps, input.contractId, name);
  if (!provider) throw unprocessable('PHONE_PROVIDER_UNSET', `Save the ${name} settings before sending a test`);
  // The operator's own number: any valid number, wherever it is from.
  const number = normalizePhone(input.phone);
  const method = input.method as PhoneMethod;
  if (!provider.methods.includes(method)) {
    throw unprocessable('PHONE_METHOD_NOT_ALLOWED', `${name} cannot do ${input.method}`, { methods: provider.methods });
  }
  const { ok, counts } = await deps.cache.hitUnder([{ key: testKey(input.contractId), limit: TEST_SENDS_PER_HOUR, windowSeconds: 3600 }]);
  if (!ok) {
    throw new AppError(429, 'PHONE_TEST_LIMIT', `At most ${TEST_SENDS_PER_HOUR} test sends an hour`, { retryAfter: Math.max(1, counts[0].ttl) });
  }
  const message =
    method === 'sms'
      ? input.lang === 'ru'
        ? `Kalitka: проверка SMS. Код ${generateSmsCode()}.`
        : `Kalitka: SMS test. Code ${generateSmsCode()}.`
      : undefined;
  const report = (ok: boolean, cost?: number) =>
    reportPhone(deps, { kind: 'sent', ok, cost, contractId: input.contractId, provider: name, method, now: input.now });
  try {
    const started = await provider.start({ method, phone: number.e164, message, lang: input.lang });
    await report(true, started.cost);
    return { provider: name, method, phone: number.e164, reference: started.reference, callNumber: started.callNumber ?? null, cost: started.cost ?? null };
  } catch (err) {
    await report(false);
    if (err instanceof AppError) throw err;
    deps.log.warn({ err, provider: name }, 'phone provider test failed');
    throw phoneRefusal('PHONE_PROVIDER_UNAVAILABLE', `${name} could not start the test`, { provider: name, reason: (err as Error).message });
  }
}
