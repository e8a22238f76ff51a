import t from 'tap'
import { cleanChatName, cleanChatText, codePoints, MAX_MARKS } from '../../src/chat/chat-text.js'

t.test('bidi controls, other controls, lone surrogates and invisible formatting are removed', async (t) => {
  // RLO … PDF would show "txt.exe" as "exe.txt"; isolates, embeddings and marks are gone too.
  t.equal(cleanChatText('abc\u202Etxt.exe\u202C'), 'abctxt.exe')
  t.equal(cleanChatText('\u202A\u202B\u202D\u2066\u2067\u2068\u2069\u200E\u200F\u061Cok'), 'ok')
  // U+0085 (next line) is a line break: a space; every other C0/C1 control and DEL is removed.
  t.equal(cleanChatText('a\u0000b\u0007c\u001Bd\u007Fe\u0085f\u009Bg'), 'abcde fg')
  t.equal(cleanChatText('\uFEFFhi\uFFF9there\uFFFB'), 'hithere')
  t.equal(cleanChatText('x\uD800y\uDC00z'), 'xyz', 'lone surrogates')
  t.equal(cleanChatText('🎵 ok'), '🎵 ok', 'a surrogate pair is kept')
  t.equal(cleanChatText('family 👨\u200D👩\u200D👧'), 'family 👨\u200D👩\u200D👧', 'zero-width joiners of emoji sequences are kept')
  t.equal(cleanChatText('שלום and مرحبا'), 'שלום and مرحبا', 'right-to-left letters themselves are text')
})

t.test('line breaks and tabs become spaces; the ends are trimmed; names collapse inner white space', async (t) => {
  t.equal(cleanChatText('  one\r\ntwo\tthree\u2028four  '), 'one  two three four')
  t.equal(cleanChatName('  Ann \n\t  Lee  '), 'Ann Lee')
  t.equal(cleanChatText('\u202E \n\u0000'), '', 'nothing left')
})

t.test('NFC: a decomposed accent is one character; combining-mark stacks are cut', async (t) => {
  t.equal(cleanChatText('e\u0301'), '\u00E9')
  t.equal(codePoints(cleanChatText('e\u0301'.repeat(500))), 500, '500 decomposed letters are 500 characters')
  const zalgo = 'a' + '\u0300\u0301\u0302\u0303'.repeat(50) + 'b'
  const cleaned = cleanChatText(zalgo)
  t.equal(codePoints(cleaned), 2 + MAX_MARKS, `at most ${MAX_MARKS} marks on one letter`)
  t.equal(cleanChatText('ệ'.normalize('NFD')), 'ệ', 'real stacked diacritics (Vietnamese) are untouched')
})

t.test('codePoints counts code points, not UTF-16 units', async (t) => {
  t.equal(codePoints('🎵🎵'), 2)
  t.equal(codePoints(''), 0)
  t.equal(codePoints('abc'), 3)
})
