import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { packageRoot } from '../paths.js';

export type Lang = 'ru' | 'en';
export const LANGS: readonly Lang[] = ['ru', 'en'];
type Locale = Record<string, string>;

/**
 * Handlebars views from a template folder (layouts/, partials/, pages/, locales/), compiled once.
 * `{{ }}` escapes everything; the only raw output is the layout's `{{{body}}}`, itself rendered
 * from an escaped page.
 */
export interface Views {
  render(page: string, lang: Lang, data: Record<string, unknown>, layout?: string): string;
  text(lang: Lang, key: string, vars?: Record<string, unknown>): string;
  /** Handlebars's own escaping, as `{{ }}` applies it. */
  escape(value: string): string;
}

export function loadViews(folder: string): Views {
  const dir = path.join(packageRoot, folder);
  const hb = Handlebars.create();
  const locales = Object.fromEntries(LANGS.map((l) => [l, readLocale(path.join(dir, 'locales'), l)])) as Record<Lang, Locale>;
  const text = (lang: Lang, key: string, vars: Record<string, unknown> = {}) =>
    (locales[lang][key] ?? locales.en[key] ?? key).replace(/\{\{(\w+)\}\}/g, (_, v: string) => String(vars[v] ?? ''));
  hb.registerHelper('t', function (this: unknown, key: string, options: Handlebars.HelperOptions) {
    return text(options.data.root.locale.lang as Lang, key, options.hash);
  });
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  const compileDir = (sub: string) =>
    Object.fromEntries(
      readdirSync(path.join(dir, sub))
        .filter((f) => f.endsWith('.hbs'))
        .map((f) => [f.slice(0, -4), readFileSync(path.join(dir, sub, f), 'utf8')]),
    );
  for (const [name, source] of Object.entries(compileDir('partials'))) hb.registerPartial(name, source);
  const pages = Object.fromEntries(Object.entries(compileDir('pages')).map(([n, s]) => [n, hb.compile(s, { strict: false })]));
  const layouts = Object.fromEntries(Object.entries(compileDir('layouts')).map(([n, s]) => [n, hb.compile(s)]));
  return {
    render(page, lang, data, layout = 'main') {
      const context = { ...data, locale: locales[lang] };
      const body = pages[page](context);
      return layouts[layout]({ ...context, body });
    },
    text,
    escape: (value) => hb.Utils.escapeExpression(value),
  };
}

/**
 * One language's texts: `<lang>.json`, then every `<topic>.<lang>.json` beside it (e.g.
 * phone.ru.json), in name order. A key defined twice is a mistake that would silently show the
 * wrong text, so it stops the start.
 */
function readLocale(dir: string, lang: Lang): Locale {
  const topics = readdirSync(dir).filter((f) => f.endsWith(`.${lang}.json`) && /^[a-z][a-z0-9-]*\.[a-z]{2}\.json$/.test(f)).sort();
  const locale: Locale = {};
  for (const file of [`${lang}.json`, ...topics]) {
    for (const [key, value] of Object.entries(JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Locale)) {
      if (Object.hasOwn(locale, key)) throw new Error(`${path.join(dir, file)}: the key "${key}" is defined twice`);
      locale[key] = value;
    }
  }
  return locale;
}

/** `?lang=` wins, then the first supported language in Accept-Language, then Russian. */
export function pickLang(queryLang: unknown, acceptLanguage: string | undefined): Lang {
  if (typeof queryLang === 'string' && LANGS.includes(queryLang as Lang)) return queryLang as Lang;
  const wanted = (acceptLanguage ?? '')
    .split(',')
    .map((part) => {
      const [tag, q] = part.trim().split(';q=');
      return { lang: tag.slice(0, 2).toLowerCase(), q: q === undefined ? 1 : Number(q) };
    })
    .filter((w) => w.q > 0)
    .sort((a, b) => b.q - a.q);
  return (wanted.find((w) => LANGS.includes(w.lang as Lang))?.lang as Lang) ?? 'ru';
}
