// HTTP layer (panel): reading and showing a token's limits (rule 13) on panel forms and lists, shared
// by the token and plan pages. Translation only. May import src/domain/* and http helpers.
import { LIMIT_BOUNDS, type TokenLimits } from '../../domain/bounds.js';
import type { Lang, Views } from '../views.js';
import { field } from './page.js';

export const LIMIT_INPUTS = ['downKbps', 'upKbps', 'quotaMb', 'maxDevices'] as const;
export type LimitForm = Record<(typeof LIMIT_INPUTS)[number], string>;

const bound = { downKbps: LIMIT_BOUNDS.kbps, upKbps: LIMIT_BOUNDS.kbps, quotaMb: LIMIT_BOUNDS.quotaMb, maxDevices: LIMIT_BOUNDS.maxDevices };

export const limitForm = (body: unknown): LimitForm =>
  Object.fromEntries(LIMIT_INPUTS.map((k) => [k, field(body, k).trim()])) as LimitForm;

/** The typed limits: an empty field is absent (unlimited, or the plan's); a bad one is named. */
export function readLimits(form: LimitForm): { limits: Partial<TokenLimits>; bad: (typeof LIMIT_INPUTS)[number] | null } {
  const limits: Partial<TokenLimits> = {};
  for (const k of LIMIT_INPUTS) {
    if (form[k] === '') continue;
    const n = /^\d{1,9}$/.test(form[k]) ? Number(form[k]) : NaN;
    if (!(n >= bound[k].min && n <= bound[k].max)) return { limits, bad: k };
    limits[k] = n;
  }
  return { limits, bad: null };
}

/** The bounds each input shows (min/max attributes and the hint). */
export const limitBounds = () => Object.fromEntries(LIMIT_INPUTS.map((k) => [k, bound[k]]));

/** "↓ 10000 ↑ 2000 kbit/s · 500 MiB · 3 devices", or '' when unlimited. */
export function limitsLabel(views: Views, lang: Lang, l: { downKbps: number | null; upKbps: number | null; quotaMb: number | null; maxDevices: number | null }): string {
  const parts: string[] = [];
  if (l.downKbps !== null || l.upKbps !== null) {
    parts.push(views.text(lang, 'limits.speed', { down: l.downKbps ?? '∞', up: l.upKbps ?? '∞' }));
  }
  if (l.quotaMb !== null) parts.push(views.text(lang, 'limits.quota', { mb: l.quotaMb }));
  if (l.maxDevices !== null) parts.push(views.text(lang, 'limits.devices', { n: l.maxDevices }));
  return parts.join(' · ');
}
