// Domain layer: a network's branding on the guest portal (DESIGN §4 "Guest portal"): display name,
// logo, accent colour, support contact and terms of use. The texts are controller-independent
// settings (COMMON_SETTINGS in src/controllers/index.ts); the logo is an uploaded image.
import { createHash } from 'node:crypto';
import { AppError, notFound } from '../errors.js';
import * as logos from '../store/networkLogos.js';
import { findNetwork, getNetwork, republishNetworks, type Network, type NetworkDeps } from './networks.js';
import type { Principal } from './actor.js';
import type { Queryable } from '../store/db.js';

/** The largest logo accepted (the route's body limit says the same). */
export const LOGO_MAX_BYTES = 256 * 1024;
/** `#rrggbb` and nothing else: it is written into a stylesheet. */
export const ACCENT_PATTERN = '^#[0-9A-Fa-f]{6}$';

const text = (network: Network, name: string): string | null => {
  const v = network.settings[name];
  return typeof v === 'string' && v.trim() !== '' ? v : null;
};

/**
 * The version of a network's terms of use: a hash of both languages' texts, so it changes with
 * any edit without a counter to keep; null when the network asks for no terms.
 */
export function termsVersion(network: Network): string | null {
  const ru = text(network, 'termsRu');
  const en = text(network, 'termsEn');
  if (!ru && !en) return null;
  return createHash('sha256').update(JSON.stringify([ru, en])).digest('hex').slice(0, 16);
}

export interface Branding {
  displayName: string;
  /** `#rrggbb`, checked again here: only such a value reaches a stylesheet. */
  accentColor: string | null;
  supportContact: string | null;
  /** The terms in the guest's language (the other language's when only that one is written). */
  terms: string | null;
  termsVersion: string | null;
  logoVersion: string | null;
}

export function brandingOf(network: Network, lang: 'ru' | 'en'): Branding {
  const accent = text(network, 'accentColor');
  const ru = text(network, 'termsRu');
  const en = text(network, 'termsEn');
  return {
    displayName: text(network, 'displayName') ?? network.name,
    accentColor: accent && new RegExp(ACCENT_PATTERN).test(accent) ? accent.toLowerCase() : null,
    supportContact: text(network, 'supportContact'),
    terms: lang === 'ru' ? (ru ?? en) : (en ?? ru),
    termsVersion: termsVersion(network),
    logoVersion: network.logoVersion,
  };
}

/** The image type by its first bytes (never by what the uploader claims); SVG and all else is null. */
export function sniffImage(body: Buffer): logos.LogoType | null {
  if (body.length >= 8 && body.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (body.length >= 3 && body[0] === 0xff && body[1] === 0xd8 && body[2] === 0xff) return 'image/jpeg';
  if (body.length >= 12 && body.toString('latin1', 0, 4) === 'RIFF' && body.toString('latin1', 8, 12) === 'WEBP') return 'image/webp';
  return null;
}

/** Uploads (or replaces) a network's logo: PNG, JPEG or WebP by its bytes, at most LOGO_MAX_BYTES. */
export async function setNetworkLogo(deps: NetworkDeps, actor: Principal, id: string, body: Buffer, now: Date): Promise<Network> {
  await getNetwork(deps, actor, id);
  if (body.length === 0) throw new AppError(400, 'LOGO_EMPTY', 'Send the image as the request body');
  if (body.length > LOGO_MAX_BYTES) throw new AppError(413, 'LOGO_TOO_LARGE', `A logo is at most ${LOGO_MAX_BYTES / 1024} KB`);
  const contentType = sniffImage(body);
  if (!contentType) throw new AppError(415, 'LOGO_TYPE', 'A logo must be a PNG, JPEG or WebP image (SVG is not accepted: it can carry scripts)');
  const version = createHash('sha256').update(body).digest('hex').slice(0, 16);
  await logos.saveLogo(deps.db, id, { contentType, body, version, now });
  await republishNetworks(deps, [id]);
  return getNetwork(deps, actor, id);
}

export async function deleteNetworkLogo(deps: NetworkDeps, actor: Principal, id: string): Promise<void> {
  await getNetwork(deps, actor, id);
  await logos.deleteLogo(deps.db, id);
  await republishNetworks(deps, [id]);
}

/** The logo a serving network's portal shows; NOT_FOUND when the network serves nobody or has none. */
export async function portalLogo(deps: Parameters<typeof findNetwork>[0] & { db: Queryable }, networkId: string): Promise<logos.Logo> {
  const network = await findNetwork(deps, networkId);
  const logo = network.logoVersion ? await logos.findLogo(deps.db, network.id) : null;
  if (!logo) throw notFound('Logo');
  return logo;
}
