import { SMSC_METHODS, smscProvider, type SmscSettings } from './smsc.js';
import { SMSRU_METHODS, smsRuProvider, type SmsRuSettings } from './smsru.js';
import { TWILIO_METHODS, twilioProvider, type TwilioSettings } from './twilio.js';
import type { PhoneMethod, PhoneProvider, ProviderName, ProviderTransport } from './types.js';

export type { PhoneProvider, ProviderName } from './types.js';

/** A contract's saved provider settings, as decrypted from the store. */
export type ProviderSettings =
  | ({ provider: 'smsru' } & SmsRuSettings)
  | ({ provider: 'twilio' } & TwilioSettings)
  | ({ provider: 'smsc' } & SmscSettings);

export const PROVIDER_NAMES: readonly ProviderName[] = ['smsru', 'twilio', 'smsc'];

/** What each provider's adapter can do, without an account (a network's settings are checked against it when saved). */
export const PROVIDER_METHODS: Record<ProviderName, readonly PhoneMethod[]> = { smsru: SMSRU_METHODS, twilio: TWILIO_METHODS, smsc: SMSC_METHODS };

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
