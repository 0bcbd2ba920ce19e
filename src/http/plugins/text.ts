import type { FastifyInstance, FastifyRequest } from 'fastify';
import { cleanText } from '../../domain/text.js';
import { badRequest } from '../../errors.js';

/**
 * Input hygiene, one rule for every route: text that reaches us in a URL (path and query), a JSON
 * body, a form body or a plain-text body must be valid UTF-8 and hold no NUL or other control
 * character (tab and newlines only in a multi-line field). Anything else is refused with
 * 400 INVALID_TEXT before a route sees it, so no such text is ever stored, looked up or logged
 * and no driver gets to fail on it with a 500.
 */

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Body fields of this route that may hold tab and newlines (besides MULTILINE_FIELDS). */
    multilineFields?: string[];
  }
}

/** Fields that are textareas somewhere: a passport note, the panel's `name=value` settings lines. */
export const MULTILINE_FIELDS: ReadonlySet<string> = new Set(['issuedTo', 'settings']);

const utf8 = new TextDecoder('utf-8', { fatal: true });

function invalidText(where: string) {
  return badRequest('INVALID_TEXT', `${where} holds a control character or is not valid UTF-8 text`, { field: where });
}

const hex = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);

/**
 * A URL or form component as text, refusing what does not decode to valid UTF-8. `%` not followed
 * by two hex digits stays itself, as fastify's own query parser leaves it. Raw non-ASCII (a form
 * body sent as UTF-8 without escaping, as `curl --data` does) is taken as its UTF-8 bytes.
 */
function decodeComponent(raw: string, plusIsSpace: boolean): string | null {
  if (!raw.includes('%') && !/[^\x20-\x7E]/.test(raw)) return plusIsSpace ? raw.replaceAll('+', ' ') : raw;
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 37 && i + 2 < raw.length && hex(raw.charCodeAt(i + 1)) && hex(raw.charCodeAt(i + 2))) {
      bytes.push(parseInt(raw.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c === 43 && plusIsSpace) bytes.push(32);
    else if (c < 0x80) bytes.push(c);
    else {
      const ch = String.fromCodePoint(raw.codePointAt(i)!);
      bytes.push(...Buffer.from(ch, 'utf8'));
      i += ch.length - 1;
    }
  }
  try {
    return utf8.decode(new Uint8Array(bytes));
  } catch {
    return null;
  }
}

function checkUrl(url: string): void {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const pathText = decodeComponent(path, false);
  if (pathText === null || !cleanText(pathText)) throw invalidText('the URL path');
  if (q < 0) return;
  for (const pair of url.slice(q + 1).split('&')) {
    const eq = pair.indexOf('=');
    const name = decodeComponent(eq < 0 ? pair : pair.slice(0, eq), true);
    if (name === null || !cleanText(name)) throw invalidText('a query parameter name');
    const value = eq < 0 ? '' : decodeComponent(pair.slice(eq + 1), true);
    if (value === null || !cleanText(value)) throw invalidText(`query parameter ${name}`);
  }
}

/**
 * The error for a URL the router could not take (fastify's `frameworkErrors`): a path that does not
 * decode to clean text is INVALID_TEXT, as it would be in the onRequest check, which such a request
 * never reaches; anything else (a `%` that escapes nothing, a too long parameter) stays as it is.
 */
export function routerError(err: Error, url: string): Error {
  try {
    checkUrl(url);
  } catch (refused) {
    return refused as Error;
  }
  return err;
}

/**
 * Walks a parsed body without recursion (a deeply nested array must not overflow the stack) and
 * checks every string and property name. A multi-line field allows tab and newlines in the whole
 * value under it.
 */
function checkValue(root: unknown, multiline: (name: string) => boolean): void {
  const stack: Array<{ value: unknown; path: string; lines: boolean }> = [{ value: root, path: 'body', lines: false }];
  while (stack.length > 0) {
    const { value, path, lines } = stack.pop()!;
    if (typeof value === 'string') {
      if (!cleanText(value, lines)) throw invalidText(path);
    } else if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) stack.push({ value: value[i], path: `${path}[${i}]`, lines });
    } else if (value !== null && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        if (!cleanText(key)) throw invalidText(`a property name in ${path}`);
        stack.push({ value: inner, path: `${path}.${key}`, lines: lines || multiline(key) });
      }
    }
  }
}

function checkBody(request: FastifyRequest, body: unknown): void {
  const extra = request.routeOptions.config?.multilineFields;
  checkValue(body, (name) => MULTILINE_FIELDS.has(name) || (extra?.includes(name) ?? false));
}

/** `a=1&b=2&b=3` → `{a: '1', b: ['2', '3']}` (null prototype), refusing text that is not valid UTF-8. */
function parseForm(text: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decodeComponent(eq < 0 ? pair : pair.slice(0, eq), true);
    const value = eq < 0 ? '' : decodeComponent(pair.slice(eq + 1), true);
    if (name === null || value === null) throw invalidText(name === null ? 'a form field name' : `body.${name}`);
    const had = out[name];
    out[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
  }
  return out;
}

function decodeBody(body: Buffer): string {
  try {
    return utf8.decode(body);
  } catch {
    throw invalidText('body');
  }
}

/**
 * Registers the rule on the root instance, before any route: the URL check (onRequest) and the
 * JSON, form and plain-text body parsers. Many clients send `Content-Type: application/json` with
 * no body on DELETE or POST …/annul: an empty body is "no body" (a route that needs one still
 * answers with its schema's 400).
 */
export function registerTextHygiene(app: FastifyInstance, limits: { formBodyLimit: number }): void {
  app.addHook('onRequest', async (request) => {
    checkUrl(request.raw.url ?? '/');
  });

  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, raw, done) => {
    let text: string;
    try {
      text = decodeBody(raw as Buffer);
    } catch (err) {
      return done(err as Error, undefined);
    }
    if (text === '') return done(null, undefined);
    json(request, text, (err, parsed) => {
      if (err) return done(err, undefined);
      try {
        checkBody(request, parsed);
      } catch (refused) {
        return done(refused as Error, undefined);
      }
      done(null, parsed);
    });
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer', bodyLimit: limits.formBodyLimit }, (request, raw, done) => {
    try {
      const form = parseForm(decodeBody(raw as Buffer));
      checkBody(request, form);
      done(null, form);
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.addContentTypeParser('text/plain', { parseAs: 'buffer' }, (request, raw, done) => {
    try {
      const text = decodeBody(raw as Buffer);
      checkBody(request, text);
      done(null, text);
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}
