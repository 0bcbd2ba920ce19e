// HTTP layer: how the guest's status page words what is left (time, data) in the guest's language.
import type { Lang } from '../views.js';

type Text = (lang: Lang, key: string, vars?: Record<string, unknown>) => string;

/** "2 d 3 h 5 min" / "2 сут. 3 ч 5 мин"; under a minute says so. */
export function durationText(text: Text, lang: Lang, seconds: number): string {
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const parts = [
    days ? `${days} ${text(lang, 'unit.days')}` : '',
    hours ? `${hours} ${text(lang, 'unit.hours')}` : '',
    minutes ? `${minutes} ${text(lang, 'unit.minutes')}` : '',
  ].filter(Boolean);
  return parts.length ? parts.join(' ') : text(lang, 'unit.underMinute');
}

/** Bytes as MB below a gigabyte, else GB, one decimal, in the language's number format (binary units). */
export function bytesText(text: Text, lang: Lang, bytes: number): string {
  const mb = bytes / 1048576;
  const [value, unit] = mb < 1024 ? [mb, 'unit.mb'] : [mb / 1024, 'unit.gb'];
  const number = new Intl.NumberFormat(lang === 'ru' ? 'ru-RU' : 'en-GB', { maximumFractionDigits: 1 }).format(Math.floor(value * 10) / 10);
  return `${number} ${text(lang, unit)}`;
}
