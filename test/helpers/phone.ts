import { Redis } from 'ioredis';
import type { Test } from 'tap';
import type { ControllerKind, NetworkSettings } from '../../src/domain/networks.js';
import { saveProviderSettings } from '../../src/domain/phone/providerSettings.js';
import type { ProviderName } from '../../src/phone/providers/types.js';
import { fakeSmsc, fakeSmsRu, fakeTwilio } from './fake-providers.js';
import { makeContract, makeNetwork, operatorOf } from './factories.js';
import type { TestEnv } from './services.js';

/** Loopback fakes are reachable only because the server's operator opened them. */
export const LOOPBACK_ALLOWED = { KALITKA_OUTBOUND_ALLOW: '127.0.0.0/8' };

type Fakes = {
  smsru: Awaited<ReturnType<typeof fakeSmsRu>>;
  twilio: Awaited<ReturnType<typeof fakeTwilio>>;
  smsc: Awaited<ReturnType<typeof fakeSmsc>>;
};

/**
 * A contract whose account with `provider` points at that provider's fake, and one network of it
 * (generic unless `controller` says otherwise) offering every method the provider has through it
 * (more settings, such as the controller's, in `settings`).
 */
export async function phoneSite<P extends ProviderName>(
  t: Test,
  env: TestEnv,
  provider: P,
  settings: NetworkSettings = {},
  contractId?: string,
  controller: ControllerKind = 'generic',
): Promise<{ contract: { id: string }; network: Awaited<ReturnType<typeof makeNetwork>>; fake: Fakes[P]; callbackToken?: string }> {
  const { svc } = env;
  const contract = contractId ? { id: contractId } : await makeContract(svc);
  let fake: Fakes[ProviderName];
  let body: Record<string, string>;
  if (provider === 'smsru') {
    const f = await fakeSmsRu(t);
    fake = f;
    body = { apiUrl: f.url, apiId: f.apiId };
  } else if (provider === 'twilio') {
    const f = await fakeTwilio(t);
    fake = f;
    body = { apiUrl: f.url, accountSid: f.accountSid, authToken: f.authToken, serviceSid: f.serviceSid };
  } else {
    const f = await fakeSmsc(t);
    fake = f;
    body = { apiUrl: f.url, login: f.login, password: f.password };
  }
  const saved = await saveProviderSettings(svc, operatorOf(contract.id), contract.id, provider, body, svc.now());
  const methods = provider === 'twilio' ? ['sms'] : ['callcheck', 'flashcall', 'sms'];
  const network = await makeNetwork(svc, contract.id, controller, { phoneMethods: methods, phoneProvider: provider, phoneDays: 1, ...settings });
  return { contract, network, fake: fake as Fakes[P], callbackToken: saved.callbackToken };
}

/** Distinct Russian mobile numbers, none sharing a prefix (all but the last 4 digits) with another. */
let serial = 0;
export function freshMobile(): string {
  serial++;
  return `+7912${String(100 + (serial % 900)).padStart(3, '0')}${String(1000 + serial).slice(-4)}`;
}

/** Drops every key of this instance's cache (Redis: the run's prefix; in process: the keys named). */
export async function flushCache(env: TestEnv, memoryKeys: string[]): Promise<void> {
  if (!env.config.redisUrl) return env.svc.cache.del(...memoryKeys);
  const redis = new Redis(env.config.redisUrl);
  const found = await redis.keys(`${env.config.redisPrefix}*`);
  if (found.length) await redis.del(...found);
  redis.disconnect();
}
