import type { ControllerKind, Network } from '../domain/networks.js';
import type { OutboundPolicy } from '../net/outbound.js';

/** What the portal form carries between the page and the POST (signed by the portal; adapters don't sign). */
export interface PortalContext {
  /** The device, always `AA:BB:CC:DD:EE:FF`. */
  mac: string;
  /** Where the guest was going (http/https only), or null. */
  originalUrl: string | null;
  clientIp: string | null;
  /** Controller-specific values the grant needs later (login URLs, challenges, gateway ids). */
  params: Record<string, string>;
}

export type Grant =
  | { kind: 'redirect'; url: string } // 303 the browser to the controller's login/grant URL
  | { kind: 'done'; continueUrl: string | null }; // granted server-side; show the success page

export interface GrantInput {
  network: Network;
  context: PortalContext;
  /**
   * Issues the device's grant secret: what a controller's login carries as the password (never the
   * voucher code). Single-use, bound to this MAC and network, redeemed by /api/v1/radius/authorize.
   */
  grantSecret(): Promise<string>;
  /** Time left on the identification; null for an unlimited token. */
  secondsRemaining: number | null;
  /** The token copy's limits (rule 13); null fields (or none at all) are unlimited. */
  limits?: GrantLimits | null;
  /** The gate every call this grant makes (UniFi, RADIUS) passes. */
  outbound: OutboundPolicy;
  now: Date;
}

/** What a grant or a change of session tells a controller about limits (null = unlimited). */
export interface GrantLimits {
  downKbps: number | null;
  upKbps: number | null;
  /** What is left of the quota, in bytes. */
  bytesRemaining: number | null;
}

/** An identification whose term or limits changed (rule 14): the NAS is told at once where it can be. */
export interface UpdateInput {
  network: Network;
  mac: string;
  secondsRemaining: number | null;
  limits: GrantLimits;
  /** RADIUS attributes naming the limits, as kalitka_limit_attributes makes them for this controller. */
  limitAttributes: Array<{ attribute: string; value: string }>;
  /** The device's last NAS session as RADIUS accounting reported it, when there was one. */
  session?: NasSessionInfo;
  now: Date;
  outbound: OutboundPolicy;
}

export interface RevokeInput {
  network: Network;
  mac: string;
  now: Date;
  /** The gate every call this revoke makes passes. */
  outbound: OutboundPolicy;
  identification?: { startedAt: Date };
  /** The device's last NAS session as RADIUS accounting reported it, when there was one. */
  session?: NasSessionInfo;
}

export interface NasSessionInfo {
  acctSessionId: string;
  framedIp: string | null;
  nasIp: string | null;
  nasIdentifier: string | null;
}

/** The part of JSON schema the controller settings use (checked by `validateSettings`). */
export interface SettingSchema {
  /** `list`: an array of distinct strings, each one of `items` (or a known country for `format: 'country'`). */
  type: 'string' | 'integer' | 'boolean' | 'list';
  /** For a `list`: the strings it may hold. */
  items?: readonly string[];
  description?: string;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  /** `uri`: an absolute http(s) URL; `hostList`: hosts or host:port, comma-separated, `*.` wildcards allowed. */
  format?: 'uri' | 'hostList' | 'country';
  minimum?: number;
  maximum?: number;
  default?: string | number | boolean;
  /** A place the server calls (a URL, or a host for UDP): checked by the outbound gate when saved. */
  outbound?: 'url' | 'host';
}

export interface SettingsSchema {
  required: string[];
  properties: Record<string, SettingSchema>;
  /** Whether names outside `properties` are kept (only the generic controller allows them). */
  additionalProperties?: boolean;
  /** JSON schema's dependentRequired: when the key is set, so must the listed names be. */
  dependentRequired?: Record<string, string[]>;
}

export type RedirectQuery = Record<string, string | undefined>;

export interface ControllerAdapter {
  kind: ControllerKind;
  /** JSON schema (object properties) of this controller's network settings; secrets by name per isSecretSetting. */
  settings: SettingsSchema;
  /**
   * Redirect query → context; throws AppError(400,'INVALID_MAC',...) when no usable MAC (normalised
   * via normalizeMac), and 400 INVALID_REDIRECT when the login/grant target is not one the network pins.
   */
  parseRedirect(query: RedirectQuery, network: Network): PortalContext;
  grant(input: GrantInput): Promise<Grant>;
  /** De-authorise at the controller where the controller has such an API; absent otherwise. */
  revoke?(input: RevokeInput): Promise<void>;
  /**
   * Whether this network's controller enforces a token's limits (speed, quota). False is shown on
   * the network's settings form and answered as `limitsEnforced: false` by session state.
   */
  enforcesLimits(network: Network): boolean;
  /** Push a changed term or limits of a live session (CoA-Request, a new authorisation); absent: the next login picks them up. */
  update?(input: UpdateInput): Promise<void>;
}
