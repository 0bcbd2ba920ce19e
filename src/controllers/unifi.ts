import { createHash } from 'node:crypto';
import { request, type Agent, type Dispatcher } from 'undici';
import { normalizeMac, requireMac } from '../domain/mac.js';
import type { Network } from '../domain/networks.js';
import { outboundAgent, outboundRefusalIn, refusalText, type OutboundPolicy } from '../net/outbound.js';
import { boolSetting, controllerError, httpUrl, param, requireSetting, stringSetting } from './common.js';
import type { ControllerAdapter, GrantLimits } from './types.js';

/*
 * UniFi Network external portal. The controller sends the guest to
 *   /portal/:id?id=<client mac>&ap=<ap mac>&t=<unix time>&url=<original url>&ssid=<ssid>
 * and we authorise server-side through the controller's (unofficial but long-stable) API, as the
 * Art-of-WiFi UniFi-API-client does:
 *   classic controller: POST /api/login {username,password}           → cookies unifises, csrf_token
 *   UniFi OS console:   POST /api/auth/login {username,password}      → cookie TOKEN, header X-CSRF-Token
 *                       and every Network path under /proxy/network
 *   POST <prefix>/api/s/<site>/cmd/stamgr {cmd:'authorize-guest', mac, minutes[, up, down, bytes, ap_mac]}
 *     (up/down in kbit/s, bytes = the data limit in MB: the Art-of-WiFi client's authorize_guest
 *     sends `$payload['bytes'] = intval($megabytes)`; authorising an authorised guest again
 *     replaces its term and limits, which is how an extension reaches UniFi)
 *   POST <prefix>/api/s/<site>/cmd/stamgr {cmd:'unauthorize-guest', mac}
 * Answers are {"meta":{"rc":"ok"|"error","msg":..},"data":[..]}; an expired session gets 401.
 * Every request goes through the outbound gate (src/net/outbound.ts) of the network it is for.
 */

const DEFAULT_TIMEOUT_MS = 5000;
/** authorize-guest needs a length; an unlimited token gets a year and ends by revoke. */
export const UNLIMITED_MINUTES = 365 * 24 * 60;

interface Session {
  cookie: string;
  csrf: string | null;
}

interface UnifiConfig {
  base: string;
  username: string;
  password: string;
  site: string;
  unifiOs: boolean;
  insecureTls: boolean;
  outbound: OutboundPolicy;
}

function configOf(network: Network, outbound: OutboundPolicy): UnifiConfig {
  const url = httpUrl(requireSetting(network, 'unifiUrl'));
  if (!url) throw controllerError('The network setting unifiUrl is not an http(s) URL');
  return {
    base: url.replace(/\/+$/, ''),
    username: requireSetting(network, 'username'),
    password: requireSetting(network, 'password'),
    site: stringSetting(network, 'site') ?? 'default',
    unifiOs: boolSetting(network, 'unifiOs'),
    insecureTls: boolSetting(network, 'insecureTls'),
    outbound,
  };
}

/** `name=value` pairs of every Set-Cookie, ready for a Cookie header. */
function cookiesOf(headers: Record<string, string | string[] | undefined>): Map<string, string> {
  const raw = headers['set-cookie'];
  const found = new Map<string, string>();
  for (const line of Array.isArray(raw) ? raw : raw ? [raw] : []) {
    const pair = line.split(';', 1)[0];
    const eq = pair.indexOf('=');
    if (eq > 0) found.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
  return found;
}

const header = (headers: Record<string, string | string[] | undefined>, name: string): string | null => {
  const v = headers[name];
  return (Array.isArray(v) ? v[0] : v) || null;
};

/** The authorize-guest command for a device's term and limits. */
export function authorizeGuest(mac: string, secondsRemaining: number | null, limits: GrantLimits | null): Record<string, unknown> {
  const minutes = secondsRemaining === null ? UNLIMITED_MINUTES : Math.max(1, Math.ceil(secondsRemaining / 60));
  const command: Record<string, unknown> = { cmd: 'authorize-guest', mac: mac.toLowerCase(), minutes };
  if (limits?.upKbps != null) command.up = limits.upKbps;
  if (limits?.downKbps != null) command.down = limits.downKbps;
  if (limits?.bytesRemaining != null) command.bytes = Math.max(1, Math.ceil(limits.bytesRemaining / (1024 * 1024)));
  return command;
}

export interface UnifiAdapterOptions {
  timeoutMs?: number;
}

/** A UniFi adapter with its own session cache (one per process is the norm; tests make their own). */
export function createUnifiAdapter(opts: UnifiAdapterOptions = {}): ControllerAdapter & { close(): Promise<void> } {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const agents = new Map<string, Agent>();
  const sessions = new Map<string, Promise<Session>>();

  function dispatcherFor(outbound: OutboundPolicy, insecureTls: boolean): Dispatcher {
    const key = `${outbound.key}|${insecureTls}`;
    let agent = agents.get(key);
    if (!agent) {
      // Only an operator's explicit insecureTls turns certificate checks off (self-signed consoles).
      agent = outboundAgent(outbound, { timeoutMs, insecureTls });
      agents.set(key, agent);
    }
    return agent;
  }

  async function post(cfg: UnifiConfig, path: string, body: unknown, session: Session | null) {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (session) {
      headers.cookie = session.cookie;
      if (session.csrf) headers['x-csrf-token'] = session.csrf;
    }
    try {
      const res = await request(cfg.base + path, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        dispatcher: dispatcherFor(cfg.outbound, cfg.insecureTls),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.body.text();
      let json: { meta?: { rc?: string; msg?: string } } | null = null;
      try {
        json = JSON.parse(text);
      } catch {
        json = null;
      }
      return { status: res.statusCode, headers: res.headers, json };
    } catch (err) {
      const refused = outboundRefusalIn(err);
      if (refused) throw controllerError(`The UniFi controller ${refusalText(refused)}`, { reason: refused.code });
      const e = err as Error & { code?: string };
      throw controllerError('The UniFi controller could not be reached', { reason: e.code ?? e.name });
    }
  }

  async function login(cfg: UnifiConfig): Promise<Session> {
    const res = await post(cfg, cfg.unifiOs ? '/api/auth/login' : '/api/login', { username: cfg.username, password: cfg.password }, null);
    const cookies = cookiesOf(res.headers);
    if (res.status !== 200 || cookies.size === 0) {
      throw controllerError('The UniFi controller refused the login', { status: res.status, msg: res.json?.meta?.msg ?? null });
    }
    // UniFi OS hands the CSRF token in a header; newer classic controllers in the csrf_token cookie.
    const csrf = header(res.headers, 'x-csrf-token') ?? cookies.get('csrf_token') ?? null;
    return { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '), csrf };
  }

  // The password is part of the key: another network naming the same console and user with a
  // wrong password must log in itself, not ride on a session someone else's password opened.
  const sessionKey = (cfg: UnifiConfig) =>
    `${cfg.base}|${cfg.unifiOs}|${cfg.username}|${createHash('sha256').update(cfg.password).digest('base64')}`;

  function freshSession(cfg: UnifiConfig): Promise<Session> {
    const p = login(cfg);
    sessions.set(sessionKey(cfg), p);
    p.catch(() => {
      if (sessions.get(sessionKey(cfg)) === p) sessions.delete(sessionKey(cfg));
    });
    return p;
  }

  async function stamgr(network: Network, outbound: OutboundPolicy, command: Record<string, unknown>): Promise<void> {
    const cfg = configOf(network, outbound);
    const path = `${cfg.unifiOs ? '/proxy/network' : ''}/api/s/${encodeURIComponent(cfg.site)}/cmd/stamgr`;
    let used = sessions.get(sessionKey(cfg)) ?? freshSession(cfg);
    let session = await used;
    let res = await post(cfg, path, command, session);
    if (res.status === 401) {
      // The session expired (or the controller restarted): log in once more. Concurrent callers
      // share one login: take a newer session another request already started, if any.
      const current = sessions.get(sessionKey(cfg));
      used = current && current !== used ? current : freshSession(cfg);
      session = await used;
      res = await post(cfg, path, command, session);
    }
    const updated = header(res.headers, 'x-updated-csrf-token');
    if (updated) session.csrf = updated;
    if (res.status < 200 || res.status >= 300 || res.json?.meta?.rc !== 'ok') {
      throw controllerError(`The UniFi controller refused ${String(command.cmd)}`, {
        status: res.status,
        msg: res.json?.meta?.msg ?? null,
      });
    }
  }

  return {
    kind: 'unifi',
    settings: {
      required: ['unifiUrl', 'username', 'password'],
      properties: {
        unifiUrl: { type: 'string', format: 'uri', maxLength: 500, outbound: 'url', description: 'e.g. https://unifi.example:8443 or https://console' },
        username: { type: 'string', minLength: 1, maxLength: 200 },
        password: { type: 'string', minLength: 1, maxLength: 200 },
        site: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$', default: 'default' },
        unifiOs: { type: 'boolean', default: false, description: 'A UniFi OS console (UDM, Cloud Key Gen2+, UCG)' },
        insecureTls: { type: 'boolean', default: false, description: "Accept the console's self-signed certificate" },
      },
    },

    parseRedirect(query) {
      const mac = requireMac(param(query, 'id') ?? undefined);
      const params: Record<string, string> = {};
      const ap = normalizeMac(param(query, 'ap') ?? '');
      if (ap) params.ap = ap;
      const ssid = param(query, 'ssid');
      if (ssid) params.ssid = ssid.slice(0, 64);
      return { mac, originalUrl: httpUrl(param(query, 'url')), clientIp: null, params };
    },

    enforcesLimits: () => true,

    async grant({ network, context, secondsRemaining, limits, outbound }) {
      const command = authorizeGuest(context.mac, secondsRemaining, limits ?? null);
      // Naming the AP lets the controller push the authorisation to it at once.
      if (context.params.ap) command.ap_mac = context.params.ap.toLowerCase();
      await stamgr(network, outbound, command);
      return { kind: 'done', continueUrl: httpUrl(context.originalUrl) };
    },

    async revoke({ network, mac, outbound }) {
      await stamgr(network, outbound, { cmd: 'unauthorize-guest', mac: mac.toLowerCase() });
    },

    async update({ network, mac, secondsRemaining, limits, outbound }) {
      await stamgr(network, outbound, authorizeGuest(mac, secondsRemaining, limits));
    },

    async close() {
      sessions.clear();
      await Promise.all([...agents.values()].map((a) => a.close()));
      agents.clear();
    },
  };
}

export const unifiAdapter = createUnifiAdapter();
