/**
 * Rules for text people type: what the input-hygiene boundary refuses everywhere, and what a
 * short visible label (a personal token's) must be.
 */

/** Control characters (C0, DEL, C1) and lone surrogates: never part of a single-line field. */
const SINGLE_LINE_BAD = /[\p{Cc}\p{Cs}]/u;
/** The same, but tab, line feed and carriage return are allowed (textareas: passport notes, settings). */
const MULTI_LINE_BAD = /[\0-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F\p{Cs}]/u;

/** True when a field's text may be stored: no NUL or other control character, no lone surrogate. */
export function cleanText(text: string, multiline = false): boolean {
  return !(multiline ? MULTI_LINE_BAD : SINGLE_LINE_BAD).test(text);
}

// Unicode White_Space, plus the byte-order mark that editors leave at the start of pasted text.
const EDGE_SPACE = /^[\p{White_Space}\uFEFF]+|[\p{White_Space}\uFEFF]+$/gu;
const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * Whether one user-perceived character may appear in a label. Control, format (zero-width space,
 * bidi overrides, soft hyphen), surrogate and separator characters are refused; the joiners and tag
 * characters that build emoji (family, flags of England or Scotland) and the zero-width
 * (non-)joiners that some scripts need are allowed only inside a character that shows something.
 */
function visibleCharacter(segment: string): boolean {
  if (/[\p{Cc}\p{Cs}\p{Zl}\p{Zp}]/u.test(segment)) return false;
  for (const ch of segment) {
    if (!/\p{Cf}/u.test(ch)) continue;
    const joiner = ch === '\u200D' || ch === '\u200C';
    const tag = ch >= '\u{E0020}' && ch <= '\u{E007F}' && /\p{Extended_Pictographic}/u.test(segment);
    if (!joiner && !tag) return false;
  }
  const shown = segment.replace(/[\p{Cf}\p{Mn}\p{Me}]/gu, '');
  if (shown === '') return false;
  // A space between words (also a no-break one), but not a joiner dressed up as one.
  if (/^\p{Zs}+$/u.test(shown)) return shown === segment;
  return true;
}

export type LabelProblem = 'empty' | 'long' | 'characters';

/**
 * A personal token's label: trimmed of all Unicode white space, 1 to `max` user-perceived
 * characters (grapheme clusters: a family emoji is one), and nothing invisible or
 * direction-changing that would make two labels look alike or a label look empty.
 */
export function checkLabel(raw: string, max: number): { label: string } | { problem: LabelProblem } {
  const label = raw.replace(EDGE_SPACE, '');
  if (label === '') return { problem: 'empty' };
  let count = 0;
  for (const { segment } of segmenter.segment(label)) {
    if (!visibleCharacter(segment)) return { problem: 'characters' };
    count++;
  }
  if (count > max) return { problem: 'long' };
  return { label };
}
