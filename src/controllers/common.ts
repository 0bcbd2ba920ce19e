import { isIP } from 'node:net';
import { AppError, badRequest } from '../errors.js';
import type { Network } from '../domain/networks.js';
import type { RedirectQuery, SettingSchema } from './types.js';

const MAX_URL_LENGTH = 2048;

/**
 * An absolute http(s) URL, normalised, or null. URLs with embedded credentials are refused too:
 * `https://bank.example@evil.example/` is a phishing trick, never a controller's address.
 */
export function httpUrl(value: string | null | undefined): string | null {
  if (!value || value.length > MAX_URL_LENGTH) return null;
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (url.username || url.password || !url.hostname) return null;
  return url.href;
}

/** Like `httpUrl`, but a missing or unsafe URL refuses the request. */
export function requireHttpUrl(value: string | null | undefined, what: string): string {
  const url = httpUrl(value);
  if (!url) throw badRequest('INVALID_REDIRECT', `The controller sent no usable ${what} (an http or https URL is required)`);
  return url;
}

/** The controller failed or refused: the guest sees a "try again" page, the operator the reason. */
export const controllerError = (message: string, details?: Record<string, unknown>) =>
  new AppError(502, 'CONTROLLER_ERROR', message, details);

/** A trimmed, non-empty query value or null. */
export function param(query: RedirectQuery, name: string): string | null {
  const v = query[name];
  if (typeof v !== 'string') return null;
  const t = v.trim();
  return t === '' ? null : t;
}

/** An IP address (v4 or v6) as sent by the controller, or null. */
export function ipParam(query: RedirectQuery, name: string): string | null {
  const v = param(query, name);
  return v && isIP(v) ? v : null;
}

/** A host name or IP literal, with an optional port: what goes between `http://` and the path. */
export function isHostPort(value: string): boolean {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,253})(?::(\d{1,5}))?$/.exec(value);
  if (!m) return false;
  if (m[1].startsWith('[') && isIP(m[1].slice(1, -1)) !== 6) return false;
  return m[2] === undefined || (Number(m[2]) >= 1 && Number(m[2]) <= 65535);
}

export function stringSetting(network: Network, name: string): string | null {
  const v = network.settings[name];
  return typeof v === 'string' && v !== '' ? v : null;
}

export function numberSetting(network: Network, name: string): number | null {
  const v = network.settings[name];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export const boolSetting = (network: Network, name: string): boolean => network.settings[name] === true;

export function requireSetting(network: Network, name: string): string {
  const v = stringSetting(network, name);
  if (!v) throw controllerError(`The network's controller setting ${name} is missing`);
  return v;
}

/*
 * Pinned controller targets. Where the guest's browser is sent to sign in (MikroTik's
 * link-login-only, Chilli's uamip:uamport, Meraki's base_grant_url, openNDS's gatewayaddress)
 * arrives in the unauthenticated redirect, so a crafted link could name any host. Each such
 * network lists the hosts its controller may be reached at in `loginHosts`; a redirect naming
 * another is refused, and a network without the list trusts none (fails closed).
 */

export const LOGIN_HOSTS = 'loginHosts';
const HOST_ENTRY = /^(\*\.)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)(?::(\d{1,5}))?$/;

interface HostPattern {
  /** A host name or IP as WHATWG URL spells it; for a wildcard, the suffix after `*.`. */
  host: string;
  wildcard: boolean;
  port: number | null;
}

/** The entries of a loginHosts value (comma- or space-separated), or null when one is malformed. */
export function parseHostList(value: string): HostPattern[] | null {
  const entries = value.split(/[\s,]+/).filter(Boolean);
  if (entries.length === 0) return null;
  const patterns: HostPattern[] = [];
  for (const entry of entries) {
    const m = HOST_ENTRY.exec(entry);
    if (!m) return null;
    const port = m[3] === undefined ? null : Number(m[3]);
    if (port !== null && (port < 1 || port > 65535)) return null;
    let host: string;
    try {
      host = new URL(`http://${m[2]}/`).hostname; // lower case, IPv6 compressed, IPv4 canonical
    } catch {
      return null;
    }
    if (m[1] && (isIP(host.replace(/^\[|\]$/g, '')) || !host.includes('.'))) return null; // `*.` needs a domain under it
    patterns.push({ host, wildcard: Boolean(m[1]), port });
  }
  return patterns;
}

/** Whether `url`'s host and port are among `patterns` (a wildcard matches any deeper name, not the domain itself). */
export function hostAllowed(patterns: HostPattern[], url: URL): boolean {
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  return patterns.some(
    (p) => (p.wildcard ? url.hostname.endsWith(`.${p.host}`) : url.hostname === p.host) && (p.port === null || p.port === port),
  );
}

/**
 * `url` if its host is among the network's loginHosts (or `fallback`, the controller's documented
 * default), else 400 INVALID_REDIRECT naming the setting to change. `what` is the redirect
 * parameter the URL came from.
 */
export function requirePinned(network: Network, url: string, what: string, fallback?: string): string {
  const parsed = new URL(url);
  const configured = stringSetting(network, LOGIN_HOSTS) ?? fallback ?? null;
  const patterns = configured ? parseHostList(configured) : null;
  if (!patterns) {
    throw badRequest(
      'INVALID_REDIRECT',
      `This network trusts no controller login address yet: set its ${LOGIN_HOSTS} setting to the controller's host (the ${what} it sends names ${parsed.host})`,
      { setting: LOGIN_HOSTS },
    );
  }
  if (!hostAllowed(patterns, parsed)) {
    throw badRequest(
      'INVALID_REDIRECT',
      `The ${what} host ${parsed.host} is not among this network's ${LOGIN_HOSTS}; add it to ${LOGIN_HOSTS} if it is your controller`,
      { setting: LOGIN_HOSTS },
    );
  }
  return url;
}

/** The loginHosts setting's schema, with the controller's example. */
export const loginHostsSetting = (example: string, fallback?: string): SettingSchema => ({
  type: 'string',
  format: 'hostList',
  maxLength: 1000,
  ...(fallback ? { default: fallback } : {}),
  description:
    `Hosts (host or host:port, comma-separated; *.domain for any name under it) where guests are sent to sign in at the controller, e.g. ${example}. ` +
    'A redirect naming any other host is refused.',
});
