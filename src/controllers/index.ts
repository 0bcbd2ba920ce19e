import type { Principal } from '../domain/actor.js';
import { issueGrantSecret } from '../domain/grants.js';
import { CONTROLLERS, type ControllerKind, type Network, type NetworkSettings } from '../domain/networks.js';
import { badRequest, unprocessable } from '../errors.js';
import { networkOutbound, outboundPolicy, OutboundRefused, resolveOutbound } from '../net/outbound.js';
import type { Services } from '../services.js';
import { isKnownCountry } from '../domain/phone/number.js';
import { PHONE_PORTAL_METHODS } from '../domain/phone/settings.js';
import { PROVIDER_NAMES } from '../phone/providers/index.js';
import { httpUrl, parseHostList } from './common.js';
import { coovaAdapter } from './coova.js';
import { genericAdapter } from './generic.js';
import { merakiAdapter } from './meraki.js';
import { mikrotikAdapter } from './mikrotik.js';
import { openndsAdapter } from './opennds.js';
import type { ControllerAdapter, Grant, GrantLimits, PortalContext, SettingSchema, SettingsSchema } from './types.js';
import { unifiAdapter } from './unifi.js';

export type { ControllerAdapter, Grant, GrantInput, GrantLimits, PortalContext, RevokeInput, SettingsSchema, UpdateInput } from './types.js';

const ADAPTERS: Record<ControllerKind, ControllerAdapter> = {
  generic: genericAdapter,
  mikrotik: mikrotikAdapter,
  unifi: unifiAdapter,
  coova: coovaAdapter,
  opennds: openndsAdapter,
  meraki: merakiAdapter,
};

export function adapterFor(kind: ControllerKind): ControllerAdapter {
  const adapter = ADAPTERS[kind];
  if (!adapter) throw new Error(`No adapter for controller ${kind}`);
  return adapter;
}

/** Whether the network's controller enforces token limits (rule 13); session state answers it as limitsEnforced. */
export const limitsEnforced = (network: Network): boolean => adapterFor(network.controller).enforcesLimits(network);

/** Each controller's settings schema, for the network routes and the panel's form. */
export const SETTINGS_SCHEMAS = Object.fromEntries(CONTROLLERS.map((k) => [k, ADAPTERS[k].settings])) as Record<
  ControllerKind,
  SettingsSchema
>;

function problemWith(value: NetworkSettings[string], schema: SettingSchema): string | null {
  if (schema.type === 'list') {
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) return 'must be a list of strings';
    if (new Set(value).size !== value.length) return 'must not name a value twice';
    if (schema.maxLength !== undefined && value.length > schema.maxLength) return `must hold at most ${schema.maxLength} values`;
    const wrong = value.filter((v) => (schema.format === 'country' ? !isKnownCountry(v) : !schema.items?.includes(v)));
    if (wrong.length) return schema.format === 'country' ? `names unknown countries: ${wrong.join(', ')}` : `may hold only ${schema.items!.join(', ')}`;
    return null;
  }
  if (Array.isArray(value)) return 'must not be a list';
  if (schema.type === 'boolean') return typeof value === 'boolean' ? null : 'must be true or false';
  if (schema.type === 'integer') {
    if (typeof value !== 'number' || !Number.isInteger(value)) return 'must be a whole number';
    if (schema.minimum !== undefined && value < schema.minimum) return `must be at least ${schema.minimum}`;
    if (schema.maximum !== undefined && value > schema.maximum) return `must be at most ${schema.maximum}`;
    return null;
  }
  if (typeof value !== 'string') return 'must be a string';
  if (schema.minLength !== undefined && value.length < schema.minLength) return `must be at least ${schema.minLength} characters`;
  if (schema.maxLength !== undefined && value.length > schema.maxLength) return `must be at most ${schema.maxLength} characters`;
  if (schema.pattern && !new RegExp(schema.pattern).test(value)) return 'is malformed';
  if (schema.format === 'uri' && !httpUrl(value)) return 'must be an http or https URL';
  if (schema.format === 'hostList' && !parseHostList(value)) return 'must be hosts or host:port, comma-separated (*.domain for any name under it)';
  return null;
}

/** Settings every network may have whatever its controller: the signed webhook and RADIUS naming. */
export const COMMON_SETTINGS: Record<string, SettingSchema> = {
  webhookUrl: {
    type: 'string',
    format: 'uri',
    maxLength: 2000,
    outbound: 'url',
    description: 'Receives every identification start and end (signed JSON POST)',
  },
  webhookSecret: { type: 'string', minLength: 16, maxLength: 200, description: 'HMAC-SHA256 key for X-Kalitka-Signature' },
  nasIdentifier: { type: 'string', pattern: '^[\\x21-\\x7e]{1,253}$', description: 'NAS-Identifier the network\'s NAS sends to RADIUS' },
  ssid: { type: 'string', minLength: 1, maxLength: 32, description: 'Name of the open Wi-Fi network guests join: printed slips carry a QR code that joins it' },
  // Branding on the guest portal (the logo is uploaded apart: PUT /api/v1/networks/:id/logo).
  displayName: { type: 'string', minLength: 1, maxLength: 100, description: 'Name guests see on the portal (the network name when empty)' },
  accentColor: { type: 'string', pattern: '^#[0-9A-Fa-f]{6}$', description: 'Accent colour of the portal, #rrggbb' },
  supportContact: { type: 'string', minLength: 1, maxLength: 300, description: 'Whom guests may ask for help (shown on every portal page)' },
  termsRu: { type: 'string', minLength: 1, maxLength: 10000, description: 'Terms of use in Russian: guests must accept them before a code is checked' },
  termsEn: { type: 'string', minLength: 1, maxLength: 10000, description: 'Terms of use in English' },
  // Phone identification (DESIGN §1 rule 16); defaults are applied where they are read
  // (src/domain/phone/settings.ts), not written into every network.
  phoneMethods: { type: 'list', items: PHONE_PORTAL_METHODS, maxLength: 3, description: 'Phone methods the portal offers: callcheck, flashcall, sms (none: no phone identification)' },
  phoneProvider: { type: 'string', pattern: `^(${PROVIDER_NAMES.join('|')})$`, description: "The contract's phone provider this network sends through" },
  phoneDays: { type: 'integer', minimum: 1, maximum: 30, description: 'Days a phone identification lasts (none: unlimited)' },
  phoneCountries: { type: 'list', format: 'country', maxLength: 50, description: 'Countries whose numbers are accepted (default RU)' },
  phoneBudgetHour: { type: 'integer', minimum: 1, maximum: 100000, description: 'Paid sends (flash calls, SMS) this network may make in an hour (default 60)' },
  phoneBudgetDay: { type: 'integer', minimum: 1, maximum: 1000000, description: "Paid sends the contract may make in a day, checked on this network's sends (default 500)" },
  // RFC 8908's venue-info-url: shown to the guest's OS, so only over TLS.
  venueInfoUrl: { type: 'string', format: 'uri', pattern: '^https://', maxLength: 2000, description: 'A page about the venue (https) that captive-portal-aware devices offer to guests' },
  // Off when absent (no default is written, so existing networks' settings stay as saved).
  rebindOnReentry: { type: 'boolean', description: 'A guest who enters a live code on a new device moves it there (at most 3 moves a day); off: the code is refused as in use' },
};
const COMMON_DEPENDENCIES = { webhookUrl: ['webhookSecret'], phoneMethods: ['phoneProvider'] };

/** A controller's whole settings schema: its own properties and the common ones (webhook, NAS, SSID). */
export function schemaOf(kind: ControllerKind): SettingsSchema {
  const own = adapterFor(kind).settings;
  return {
    ...own,
    properties: { ...COMMON_SETTINGS, ...own.properties },
    dependentRequired: { ...COMMON_DEPENDENCIES, ...own.dependentRequired },
  };
}

/**
 * Checks a network's settings against its controller's schema and fills in defaults.
 * Refuses (400 INVALID_SETTINGS) unknown names, missing required ones and wrong types; secrets are
 * named in the answer but their values never echoed. `kept` names settings outside the schema that
 * were saved before it refused them (generic networks once took any name) and that this save
 * leaves as they were: they stay, so an old network can still be edited.
 */
export function validateSettings(kind: ControllerKind, settings: NetworkSettings, kept: readonly string[] = []): NetworkSettings {
  const schema = schemaOf(kind);
  const present = (name: string) =>
    settings[name] !== undefined && settings[name] !== null && settings[name] !== '' && !(Array.isArray(settings[name]) && settings[name].length === 0);
  const unknown = schema.additionalProperties ? [] : Object.keys(settings).filter((k) => !Object.hasOwn(schema.properties, k) && !kept.includes(k));
  const missing = schema.required.filter((name) => !present(name));
  for (const [name, needs] of Object.entries(schema.dependentRequired ?? {})) {
    if (present(name)) for (const n of needs) if (!present(n) && !missing.includes(n)) missing.push(n);
  }
  const invalid: Record<string, string> = {};
  for (const [name, prop] of Object.entries(schema.properties)) {
    if (!present(name)) continue;
    const problem = problemWith(settings[name], prop);
    if (problem) invalid[name] = problem;
  }
  if (unknown.length || missing.length || Object.keys(invalid).length) {
    const parts = [
      unknown.length ? `unknown: ${unknown.join(', ')}` : '',
      missing.length ? `missing: ${missing.join(', ')}` : '',
      ...Object.entries(invalid).map(([n, p]) => `${n} ${p}`),
    ].filter(Boolean);
    throw badRequest('INVALID_SETTINGS', `Settings for the ${kind} controller: ${parts.join('; ')}`, { unknown, missing, invalid });
  }
  const result: NetworkSettings = { ...settings };
  for (const [name, prop] of Object.entries(schema.properties)) {
    if (!present(name) && prop.default !== undefined) result[name] = prop.default;
  }
  return result;
}

/**
 * The outbound-target check of a save (create or edit) of a network's settings, after
 * validateSettings. Returns whether the saved targets count as approved by a system
 * administrator: a system administrator's save approves them; an operator's save keeps an
 * earlier approval only when it leaves every target setting as it was. A target pointing at an
 * address the resulting approval does not allow (by IP literal or by what its name resolves to
 * now) is refused with 422 OUTBOUND_REFUSED, naming the setting and who can open it. A name that
 * does not resolve yet is let through: every call is checked again when it connects.
 */
export async function checkSavedTargets(
  kind: ControllerKind,
  settings: NetworkSettings,
  input: { allow: readonly string[]; actor: Pick<Principal, 'isSystem'>; previous?: { settings: NetworkSettings; targetsApproved: boolean } },
): Promise<{ targetsApproved: boolean }> {
  const targets = Object.entries(schemaOf(kind).properties).filter(([, p]) => p.outbound);
  const changed = !input.previous || targets.some(([name]) => input.previous!.settings[name] !== settings[name]);
  const targetsApproved = input.actor.isSystem || (!changed && input.previous!.targetsApproved);
  if (!changed && !input.actor.isSystem) return { targetsApproved };
  const policy = outboundPolicy(input.allow, targetsApproved);
  for (const [name, prop] of targets) {
    const value = settings[name];
    if (typeof value !== 'string' || value === '') continue;
    const host = prop.outbound === 'url' ? new URL(value).hostname : value;
    try {
      await resolveOutbound(host, policy);
    } catch (err) {
      if (!(err instanceof OutboundRefused) || err.reason === 'unresolved') continue;
      throw unprocessable('OUTBOUND_REFUSED', `${name}: ${err.message}`, { setting: name, address: err.address, reason: err.reason });
    }
  }
  return { targetsApproved };
}

/**
 * Lets the device through at the network's controller: the adapter's grant, with a grant secret
 * issued only if the controller's login needs one, and the network's outbound gate. The
 * login/grant target is checked against the network's loginHosts here too, though the portal's
 * form context is signed: a network's pins may have changed since the page.
 */
export function grantAccess(
  svc: Pick<Services, 'cache' | 'config'>,
  input: { network: Network; context: PortalContext; secondsRemaining: number | null; limits?: GrantLimits | null; now: Date },
): Promise<Grant> {
  const { network, context, now } = input;
  return adapterFor(network.controller).grant({
    ...input,
    grantSecret: () => issueGrantSecret(svc.cache, { networkId: network.id, mac: context.mac, now }),
    outbound: networkOutbound(svc.config.outboundAllow, network),
  });
}
