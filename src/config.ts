import { isIP } from 'node:net';
import cron from 'node-cron';
import { plausibleApiToken } from './domain/apiTokens.js';

export type Role = 'portal' | 'admin' | 'worker';
const ROLES: readonly Role[] = ['portal', 'admin', 'worker'];
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface Config {
  port: number;
  host: string;
  databaseUrl: string | null;
  dataDir: string;
  redisUrl: string | null;
  redisPrefix: string;
  /** Redis Sentinel: the sentinels to ask and the monitored primary's name (with REDIS_URL for auth/db). */
  redisSentinels: Array<{ host: string; port: number }> | null;
  redisSentinelName: string | null;
  roles: Set<Role>;
  adminToken: string | null;
  adminPassword: string | null;
  secret: string | null;
  expireCron: string;
  maxFailsPerDevice: number;
  maxFailsPerIp: number;
  failWindowS: number;
  trustProxy: string | null;
  logLevel: string;
  retentionDays: number;
  /** IANA zone new contracts get when they name none (KALITKA_TIME_ZONE, else the server's own). */
  timeZone: string;
  /** CIDRs that outbound calls may reach although loopback, link-local or (without an approval) private (KALITKA_OUTBOUND_ALLOW). */
  outboundAllow: string[];
}

/** A configuration problem: the process prints this one line and exits. */
export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(name, `must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return Number(raw);
}

function url(env: Env, name: string, protocols: string[]): string | null {
  const raw = env[name];
  if (raw === undefined || raw === '') return null;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, 'is not a valid URL');
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must start with ${protocols.map((p) => p + '//').join(' or ')}`);
  }
  return raw;
}

/** True when `zone` is an IANA time zone this runtime knows. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return zone.length > 0 && zone.length <= 64;
  } catch {
    return false;
  }
}

function timeZone(env: Env): string {
  const raw = env.KALITKA_TIME_ZONE;
  if (raw === undefined || raw === '') return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  if (!isTimeZone(raw)) throw new ConfigError('KALITKA_TIME_ZONE', `"${raw}" is not an IANA time zone (e.g. Europe/Moscow)`);
  return raw;
}

/**
 * TRUST_PROXY: `true` or `*` (every hop), or a list of addresses, CIDRs and the names `loopback`,
 * `linklocal`, `uniquelocal` (what fastify's trustProxy takes), checked here so a typo stops the
 * process with the variable's name instead of failing inside the HTTP server.
 */
function trustProxy(env: Env): string | null {
  const raw = env.TRUST_PROXY?.trim();
  if (!raw) return null;
  if (raw === 'true' || raw === '*') return raw;
  for (const entry of raw.split(',').map((e) => e.trim())) {
    if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) continue;
    const [address, prefix, ...rest] = entry.split('/');
    const family = isIP(address);
    const max = family === 6 ? 128 : 32;
    const prefixOk = prefix === undefined || (/^[1-9]\d{0,2}$/.test(prefix) && Number(prefix) <= max) || (family === 4 && isIP(prefix) === 4 && contiguousMask(prefix));
    if (family === 0 || !prefixOk || rest.length) {
      throw new ConfigError('TRUST_PROXY', `"${entry}" is not an address, a CIDR or one of loopback, linklocal, uniquelocal (e.g. 127.0.0.1,10.0.0.0/8; or true)`);
    }
  }
  return raw;
}

/** An IPv4 netmask fastify takes: ones then zeros, not all zeros (`255.255.0.0`, not `255.0.255.0`). */
function contiguousMask(mask: string): boolean {
  const bits = mask.split('.').reduce((n, part) => n * 256 + Number(part), 0);
  const hosts = 2 ** 32 - 1 - bits;
  return bits !== 0 && (hosts & (hosts + 1)) === 0;
}

function cidrList(env: Env, name: string): string[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return [];
  return raw.split(',').map((entry) => {
    const cidr = entry.trim();
    const m = /^([0-9.]+|[0-9a-fA-F:]+)\/(\d{1,3})$/.exec(cidr);
    const max = m && m[1].includes(':') ? 128 : 32;
    if (!m || Number(m[2]) > max || (max === 32 && !/^(\d{1,3}\.){3}\d{1,3}$/.test(m[1]))) {
      throw new ConfigError(name, `"${cidr}" is not a CIDR (e.g. 127.0.0.0/8 or ::1/128)`);
    }
    return cidr;
  });
}

export function loadConfig(env: Env = process.env): Config {
  const roles = (env.KALITKA_ROLES || 'portal,admin,worker').split(',').map((r) => r.trim()).filter(Boolean);
  for (const role of roles) {
    if (!ROLES.includes(role as Role)) {
      throw new ConfigError('KALITKA_ROLES', `unknown role "${role}" (use portal, admin, worker)`);
    }
  }
  if (roles.length === 0) throw new ConfigError('KALITKA_ROLES', 'names no role');

  const adminToken = env.KALITKA_ADMIN_TOKEN || null;
  // Exactly what authenticate() would accept: a value it refuses before any lookup could never sign in.
  if (adminToken !== null && !plausibleApiToken(adminToken)) {
    throw new ConfigError(
      'KALITKA_ADMIN_TOKEN',
      'is not a token that can sign in: use klt_ + 36 base62 characters with a valid checksum (as Kalitka issues them), or 32 to 128 characters of A-Z, a-z, 0-9 and _ not starting with klt_',
    );
  }
  const adminPassword = env.KALITKA_ADMIN_PASSWORD || null;
  if (adminPassword !== null && adminPassword.length < 8) {
    throw new ConfigError('KALITKA_ADMIN_PASSWORD', 'must be at least 8 characters');
  }
  const secret = env.KALITKA_SECRET || null;
  if (secret !== null && secret.length < 32) {
    throw new ConfigError('KALITKA_SECRET', 'must be at least 32 characters');
  }
  const expireCron = env.EXPIRE_CRON || '* * * * *';
  if (!cron.validate(expireCron)) throw new ConfigError('EXPIRE_CRON', `"${expireCron}" is not a cron expression`);
  const logLevel = env.LOG_LEVEL || 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);
  const host = env.HOST || '0.0.0.0';
  const sentinels = env.REDIS_SENTINELS
    ? env.REDIS_SENTINELS.split(',').map((entry) => {
        const m = /^\s*([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})\s*$/.exec(entry);
        if (!m) throw new ConfigError('REDIS_SENTINELS', `"${entry}" is not host:port`);
        return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
      })
    : null;
  const sentinelName = env.REDIS_SENTINEL_NAME || null;
  if (sentinels && !sentinelName) throw new ConfigError('REDIS_SENTINEL_NAME', 'is required with REDIS_SENTINELS (the monitored primary\'s name)');
  if (sentinels && !env.REDIS_URL) throw new ConfigError('REDIS_URL', 'is required with REDIS_SENTINELS (e.g. redis://:password@sentinel-group/0)');

  return {
    port: int(env, 'PORT', 8080, 0, 65535),
    host,
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    dataDir: env.KALITKA_DATA_DIR || './data',
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    redisPrefix: env.KALITKA_REDIS_PREFIX ?? 'kalitka:',
    redisSentinels: sentinels,
    redisSentinelName: sentinelName,
    roles: new Set(roles as Role[]),
    adminToken,
    adminPassword,
    secret,
    expireCron,
    maxFailsPerDevice: int(env, 'PORTAL_MAX_FAILS_PER_DEVICE', 5, 1, 1_000_000),
    maxFailsPerIp: int(env, 'PORTAL_MAX_FAILS_PER_IP', 30, 1, 1_000_000),
    failWindowS: int(env, 'PORTAL_FAIL_WINDOW_S', 600, 1, 86_400 * 7),
    trustProxy: trustProxy(env),
    logLevel,
    retentionDays: int(env, 'IDENTIFICATION_RETENTION_DAYS', 183, 1, 36_500),
    timeZone: timeZone(env),
    outboundAllow: cidrList(env, 'KALITKA_OUTBOUND_ALLOW'),
  };
}
