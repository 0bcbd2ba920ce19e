import { isIP } from 'node:net';
import { AppError, badRequest } from '../errors.js';
import type { Network } from '../domain/networks.js';
import type { RedirectQuery } from './types.js';

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
