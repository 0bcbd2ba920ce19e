// Domain layer: a network's phone settings as the phone use cases read them, defaults applied here
// (validated when saved by the common network settings schema, src/controllers/index.ts).
import type { Network } from '../../store/networks.js';
import type { ProviderName } from '../../phone/providers/types.js';
import { DEFAULT_PHONE_LIMITS, type PhoneLimits } from './limits.js';
import { DEFAULT_ALLOWED_COUNTRIES } from './number.js';

/** What the portal offers (Twilio's `voice` channel is not one of them). */
export type PortalPhoneMethod = 'callcheck' | 'flashcall' | 'sms';
export const PHONE_PORTAL_METHODS: readonly PortalPhoneMethod[] = ['callcheck', 'flashcall', 'sms'];

export interface PhoneSettings {
  /** Empty: the network offers no phone identification. */
  methods: PortalPhoneMethod[];
  provider: ProviderName | null;
  /** Null: an identification by phone lasts until it ends otherwise. */
  days: number | null;
  countries: readonly string[];
  limits: PhoneLimits;
}

export function phoneSettingsOf(network: Pick<Network, 'settings'>): PhoneSettings {
  const s = network.settings;
  const list = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  const int = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : null);
  const methods = list(s.phoneMethods).filter((m): m is PortalPhoneMethod => (PHONE_PORTAL_METHODS as readonly string[]).includes(m));
  const provider = typeof s.phoneProvider === 'string' ? (s.phoneProvider as ProviderName) : null;
  const countries = list(s.phoneCountries);
  return {
    methods: provider ? methods : [],
    provider,
    days: int(s.phoneDays),
    countries: countries.length ? countries : DEFAULT_ALLOWED_COUNTRIES,
    limits: {
      ...DEFAULT_PHONE_LIMITS,
      networkPerHour: int(s.phoneBudgetHour) ?? DEFAULT_PHONE_LIMITS.networkPerHour,
      contractPerDay: int(s.phoneBudgetDay) ?? DEFAULT_PHONE_LIMITS.contractPerDay,
    },
  };
}
