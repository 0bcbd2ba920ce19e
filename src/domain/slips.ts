import type { Principal } from './actor.js';
import { visibleContractZone, type ExportDeps } from './contractZone.js';
import { listSlipNetworks, listUnusedSlipTokens } from '../store/slips.js';

/** A token's limits as a slip states them; null fields are unlimited. */
export interface SlipLimits {
  downKbps: number | null;
  upKbps: number | null;
  quotaMb: number | null;
  maxDevices: number | null;
}

/** One printed slip: an unused token. */
export interface Slip {
  code: string;
  multiUse: boolean;
  durationDays: number | null;
  createdAt: Date;
  issuedTo: string | null;
  /** Null when the token has no limits. */
  limits: SlipLimits | null;
}

/** What the QR code on the guest's copy holds. */
export interface SlipJoin {
  /** `wifi`: a join string phones offer to connect with; `portal`: the sign-in page's URL. */
  kind: 'wifi' | 'portal';
  text: string;
}

export interface SlipSheet {
  contractName: string;
  /** Names of the contract's Wi-Fi networks, printed whole on the guest's copy. */
  networks: string[];
  /** From the contract's first network; null when it has none. */
  join: SlipJoin | null;
  slips: Slip[];
  printedAt: Date;
  /** IANA zone of the printed dates: the contract's. */
  timeZone: string;
}

/** `WIFI:S:<ssid>;T:nopass;;` with `\ ; , : "` escaped as the format asks: the open network's join string. */
export function wifiJoinText(ssid: string): string {
  return `WIFI:S:${ssid.replace(/[\\;,:"]/g, (c) => `\\${c}`)};T:nopass;;`;
}

/**
 * The slips of a contract's unused tokens, for an actor who may see the contract (another
 * contract's is NOT_FOUND). `portalBase` is where guests reach the portal (`https://host`).
 */
export async function printSlips(
  deps: ExportDeps,
  actor: Principal,
  input: { contractId: string; portalBase: string; now: Date },
): Promise<SlipSheet> {
  const contract = await visibleContractZone(deps, actor, input.contractId);
  const [networks, tokens] = [await listSlipNetworks(deps.db, contract.id), await listUnusedSlipTokens(deps.db, contract.id)];
  const first = networks[0];
  const join: SlipJoin | null = !first
    ? null
    : first.ssid
      ? { kind: 'wifi', text: wifiJoinText(first.ssid) }
      : { kind: 'portal', text: `${input.portalBase}/portal/${first.id}` };
  return {
    contractName: contract.name,
    networks: networks.map((n) => n.name),
    join,
    slips: tokens.map((r) => ({
      code: r.code,
      multiUse: r.multi_use,
      durationDays: r.duration_days,
      createdAt: r.created_at,
      issuedTo: r.issued_to,
      limits:
        r.down_kbps === null && r.up_kbps === null && r.quota_mb === null && r.max_devices === null
          ? null
          : { downKbps: r.down_kbps, upKbps: r.up_kbps, quotaMb: r.quota_mb, maxDevices: r.max_devices },
    })),
    printedAt: input.now,
    timeZone: contract.timeZone,
  };
}
