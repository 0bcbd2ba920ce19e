import { smscProvider, type SmscSettings } from './smsc.js';
import { smsRuProvider, type SmsRuSettings } from './smsru.js';
import { twilioProvider, type TwilioSettings } from './twilio.js';
import type { PhoneProvider, ProviderName, ProviderTransport } from './types.js';

export type { PhoneProvider, ProviderName } from './types.js';

/** A contract's saved provider settings, as decrypted from the store. */
export type ProviderSettings =
  | ({ provider: 'smsru' } & SmsRuSettings)
  | ({ provider: 'twilio' } & TwilioSettings)
  | ({ provider: 'smsc' } & SmscSettings);

export const PROVIDER_NAMES: readonly ProviderName[] = ['smsru', 'twilio', 'smsc'];

/** Which settings are secrets: never shown back in full (the API masks them). */
export const SECRET_SETTINGS: Record<ProviderName, readonly string[]> = {
  smsru: ['apiId'],
  twilio: ['authToken'],
  smsc: ['password', 'callbackToken'],
};

export function createProvider(settings: ProviderSettings, transport: ProviderTransport = {}): PhoneProvider {
  switch (settings.provider) {
    case 'smsru':
      return smsRuProvider(settings, transport);
    case 'twilio':
      return twilioProvider(settings, transport);
    case 'smsc':
      return smscProvider(settings, transport);
  }
}
