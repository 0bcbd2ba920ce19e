import t from 'tap';
import { checkLabel, cleanText } from '../../src/domain/text.js';

const FAMILY = '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}'; // 👨‍👩‍👧: five code points, one character

t.test('a label is trimmed of all Unicode white space and counted in user-perceived characters', async (t) => {
  t.same(checkLabel('  CI bot  ', 20), { label: 'CI bot' });
  t.same(checkLabel('\u3000\u00A0lab\u00A0el\u2003\u2028\uFEFF', 20), { label: 'lab\u00A0el' }, 'ideographic, no-break, em spaces, line separator and BOM at the edges go');
  t.same(checkLabel(FAMILY.repeat(3), 20), { label: FAMILY.repeat(3) }, 'three family emoji are three characters');
  t.same(checkLabel(FAMILY.repeat(20), 20), { label: FAMILY.repeat(20) });
  t.same(checkLabel(FAMILY.repeat(21), 20), { problem: 'long' });
  t.same(checkLabel('x'.repeat(20), 20), { label: 'x'.repeat(20) });
  t.same(checkLabel('x'.repeat(21), 20), { problem: 'long' });
  t.same(checkLabel('e\u0301'.repeat(20), 20), { label: 'e\u0301'.repeat(20) }, 'a letter with a combining accent is one character');
  const england = '\u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}';
  t.same(checkLabel(`Team ${england}`, 20), { label: `Team ${england}` }, 'emoji tag sequences are one character');
  t.same(checkLabel('\u0645\u06CC\u200C\u062E\u0648\u0627\u0647\u0645', 20), { label: '\u0645\u06CC\u200C\u062E\u0648\u0627\u0647\u0645' }, 'a zero-width non-joiner inside a Persian word');
});

t.test('a label refuses control and format characters', async (t) => {
  const refused: Array<[string, string]> = [
    ['a zero-width space alone', '\u200B'],
    ['a zero-width space inside', 'a\u200Bb'],
    ['a right-to-left override', '\u202Eabc'],
    ['a right-to-left isolate', 'abc\u2067x'],
    ['a newline inside', 'line one\nline two'],
    ['a tab inside', 'a\tb'],
    ['NUL', 'a\u0000b'],
    ['a C1 control', 'a\u0085b'],
    ['a soft hyphen', 'ab\u00ADcd'],
    ['a joiner alone', '\u200D'],
    ['a combining mark alone', '\u0301'],
    ['a line separator inside', 'a\u2028b'],
    ['a lone surrogate', 'a\uD800b'],
    ['a tag character outside an emoji', 'a\u{E0067}'],
  ];
  for (const [what, label] of refused) t.same(checkLabel(label, 20), { problem: 'characters' }, what);
  t.same(checkLabel(' \t\n\u200A ', 20), { problem: 'empty' }, 'only white space');
  t.same(checkLabel('', 20), { problem: 'empty' });
});

t.test('stored text refuses control characters; only multi-line fields take tab and newlines', async (t) => {
  t.ok(cleanText('Иван Петров, паспорт 4510 123456'));
  t.ok(cleanText('\uFFFD is a real character'));
  for (const bad of ['a\u0000', '\u0007', 'a\u007F', 'a\u009B', 'x\uDC00', 'a\tb', 'a\nb', 'a\r\nb']) t.notOk(cleanText(bad), JSON.stringify(bad));
  t.ok(cleanText('line one\r\nline two\tcolumn', true));
  for (const bad of ['a\u0000', 'a\u000B', 'a\u001B[31m', 'a\u007F', 'a\u0085', 'a\uD800']) t.notOk(cleanText(bad, true), JSON.stringify(bad));
});
