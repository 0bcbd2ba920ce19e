import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { Agent, buildConnector } from 'undici';
import { AppError } from '../errors.js';

/*
 * The one gate every outbound call passes: UniFi logins and commands, webhooks, RADIUS
 * Disconnect/CoA, and any adapter added later. The check runs on the address actually connected
 * to — the name is resolved here, each address checked, and the socket opened to the checked
 * address — so a name that resolves elsewhere between the save and the call (DNS rebinding)
 * cannot pass.
 *
 * - loopback, link-local, unspecified, multicast and reserved addresses: always refused, unless
 *   KALITKA_OUTBOUND_ALLOW (set only by whoever runs the server) lists them;
 * - private ranges (RFC 1918, RFC 6598 100.64/10, fc00::/7), where on-premises controllers live:
 *   only for a network whose controller settings a system administrator saved or approved;
 * - everything else (the public Internet): allowed.
 */

type Family = 'ipv4' | 'ipv6';
const familyOf = (address: string): Family => (isIP(address) === 6 ? 'ipv6' : 'ipv4');

function blockList(ranges: Array<[string, number, string]>): BlockList {
  const list = new BlockList();
  for (const [net, prefix] of ranges) list.addSubnet(net, prefix, familyOf(net));
  return list;
}

/** Never a controller: what only the server's operator may open up, named for the refusal. */
const ALWAYS_REFUSED: Array<[string, number, string]> = [
  ['127.0.0.0', 8, 'loopback'],
  ['::1', 128, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['fe80::', 10, 'link-local'],
  ['0.0.0.0', 8, 'unspecified'],
  ['::', 128, 'unspecified'],
  ['224.0.0.0', 4, 'multicast'],
  ['ff00::', 8, 'multicast'],
  // 240/4 holds the broadcast address; ::/96 the deprecated IPv4-compatible form of any address.
  ['240.0.0.0', 4, 'reserved'],
  ['::', 96, 'reserved'],
];

const PRIVATE: Array<[string, number, string]> = [
  ['10.0.0.0', 8, 'private (RFC 1918)'],
  ['172.16.0.0', 12, 'private (RFC 1918)'],
  ['192.168.0.0', 16, 'private (RFC 1918)'],
  ['100.64.0.0', 10, 'shared (RFC 6598)'],
  ['fc00::', 7, 'private (unique local)'],
];

const lists = (ranges: Array<[string, number, string]>) =>
  [...new Set(ranges.map((r) => r[2]))].map((kind) => ({ kind, list: blockList(ranges.filter((r) => r[2] === kind)) }));
const ALWAYS_REFUSED_LISTS = lists(ALWAYS_REFUSED);
const PRIVATE_LISTS = lists(PRIVATE);

/**
 * On whose behalf calls are made, for what a refusal of a private address says: a network's
 * targets can be approved by a system administrator's save; a phone provider's API cannot (it is
 * meant to be public), so only KALITKA_OUTBOUND_ALLOW opens a private address for it.
 */
export type OutboundPurpose = 'network' | 'provider';

export interface OutboundPolicy {
  /** Identifies the policy (for caching agents per policy). */
  readonly key: string;
  readonly allow: BlockList;
  /** Private ranges are allowed: a system administrator saved or approved these settings. */
  readonly privateAllowed: boolean;
  readonly purpose: OutboundPurpose;
}

const policies = new Map<string, OutboundPolicy>();

/**
 * The policy for calls on behalf of one network (or a phone provider account: `purpose`): `allow`
 * is config.outboundAllow (CIDRs), `privateAllowed` the network's approval by a system administrator.
 */
export function outboundPolicy(allow: readonly string[], privateAllowed: boolean, purpose: OutboundPurpose = 'network'): OutboundPolicy {
  const key = `${allow.join(',')}|${privateAllowed ? 'private' : 'public'}|${purpose}`;
  let policy = policies.get(key);
  if (!policy) {
    const list = new BlockList();
    for (const cidr of allow) {
      const [net, prefix] = cidr.split('/');
      list.addSubnet(net, Number(prefix), familyOf(net));
    }
    policy = { key, allow: list, privateAllowed, purpose };
    policies.set(key, policy);
  }
  return policy;
}

/** The policy for a network's outbound calls. */
export const networkOutbound = (allow: readonly string[], network: { targetsApproved?: boolean }) =>
  outboundPolicy(allow, network.targetsApproved === true);

/** A refused outbound call; `reason` names the address and why. */
export class OutboundRefused extends AppError {
  constructor(
    readonly address: string,
    readonly reason: 'always' | 'private' | 'unresolved',
    message: string,
  ) {
    super(reason === 'unresolved' ? 502 : 422, 'OUTBOUND_REFUSED', message, { address, reason });
  }
}

/**
 * Why `address` (an IP literal) may not be called under `policy`, or null when it may. `name` is
 * the host name it was resolved from, for the message.
 */
export function refusalOf(address: string, policy: OutboundPolicy, name?: string): OutboundRefused | null {
  const family = familyOf(address);
  if (policy.allow.check(address, family)) return null;
  const what = name && name !== address ? `${name} resolves to ${address}, a` : `${address} is a`;
  for (const { kind, list } of ALWAYS_REFUSED_LISTS) {
    if (list.check(address, family)) {
      return new OutboundRefused(address, 'always', `${what} ${kind} address, which only the server's KALITKA_OUTBOUND_ALLOW can open`);
    }
  }
  if (!policy.privateAllowed) {
    for (const { kind, list } of PRIVATE_LISTS) {
      if (list.check(address, family)) {
        const how =
          policy.purpose === 'provider'
            ? "a phone provider's API must be on a public address; only the server's KALITKA_OUTBOUND_ALLOW can open this one"
            : "a system administrator can approve it by saving this network's settings";
        return new OutboundRefused(address, 'private', `${what} ${kind} address: ${how}`);
      }
    }
  }
  return null;
}

/**
 * Every address `host` (a name or an IP literal, brackets allowed) stands for, checked. Refuses
 * when any of them is refused: a name that mixes a public address with a loopback one is not a
 * controller's.
 */
export async function resolveOutbound(host: string, policy: OutboundPolicy): Promise<Array<{ address: string; family: 4 | 6 }>> {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  let found: Array<{ address: string; family: number }>;
  if (isIP(bare)) {
    found = [{ address: bare, family: isIP(bare) }];
  } else {
    try {
      found = await lookup(bare, { all: true, verbatim: true });
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'ENOTFOUND';
      throw new OutboundRefused(bare, 'unresolved', `${bare} does not resolve (${code})`);
    }
    if (found.length === 0) throw new OutboundRefused(bare, 'unresolved', `${bare} does not resolve`);
  }
  for (const { address } of found) {
    const refused = refusalOf(address, policy, bare);
    if (refused) throw refused;
  }
  return found.map((f) => ({ address: f.address, family: f.family === 6 ? 6 : 4 }));
}

export interface AgentOptions {
  timeoutMs: number;
  /** Accept a self-signed certificate (an operator's explicit choice for a console). */
  insecureTls?: boolean;
}

/**
 * An undici Agent whose every connection goes through `resolveOutbound`: the socket opens to the
 * address that was checked, while TLS still verifies the certificate for the name asked for.
 */
export function outboundAgent(policy: OutboundPolicy, opts: AgentOptions): Agent {
  const base = buildConnector({ timeout: opts.timeoutMs, ...(opts.insecureTls ? { rejectUnauthorized: false } : {}) });
  return new Agent({
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    connect(options, callback) {
      resolveOutbound(options.hostname, policy).then(
        ([first]) => {
          // `host` keeps the name, so the connector still sends it as TLS SNI and checks the certificate for it.
          base({ ...options, hostname: first.address }, callback);
        },
        (err: Error) => callback(err, null),
      );
    },
  });
}

/** The refusal inside an error an undici request threw, if that is what stopped it. */
export function outboundRefusalIn(err: unknown): OutboundRefused | null {
  for (let e = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof OutboundRefused) return e;
  }
  return null;
}

/** How a caller words a refusal after naming what it called: "… may not be called: <why>". */
export const refusalText = (refused: OutboundRefused) =>
  `${refused.reason === 'unresolved' ? 'could not be reached' : 'may not be called'}: ${refused.message}`;
