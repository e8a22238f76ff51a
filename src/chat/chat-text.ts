/**
 * What a chat name or text may hold. Everything is cleaned the same way before it is counted:
 * line breaks and tabs become spaces; control characters, lone surrogates and the invisible formatting
 * characters that reorder or hide text (bidi embeddings, overrides, isolates and marks, the BOM,
 * interlinear annotations) are removed; runs of combining marks are cut to MAX_MARKS (a stack of hundreds
 * of accents draws over the messages around it); the result is NFC-normalised and trimmed.
 * Lengths count code points of the cleaned text, so what is stored is what was measured.
 */
export const MAX_TEXT = 500
export const MAX_NAME = 32
/** No orthography stacks more marks than this on one letter; "Zalgo" text stacks hundreds. */
export const MAX_MARKS = 8

const BREAKS = /[\t\n\v\f\r\u0085\u2028\u2029]/gu
const INVISIBLE = /[\p{Cc}\p{Cs}\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069\uFEFF\uFFF9-\uFFFB]/gu
const MARK_RUNS = new RegExp(`(\\p{M}{${MAX_MARKS}})\\p{M}+`, 'gu')

/** The cleaned form of `raw` (see the module comment), before any length check. */
export function cleanChatText (raw: string): string {
  return raw.replace(BREAKS, ' ').replace(INVISIBLE, '').normalize('NFC').replace(MARK_RUNS, '$1').trim()
}

/** A display name: cleaned, inner white space collapsed to single spaces. */
export function cleanChatName (raw: string): string {
  return cleanChatText(raw).replace(/\s+/gu, ' ')
}

/** Length in code points (a surrogate pair, e.g. most emoji, is one). */
export function codePoints (text: string): number {
  let n = 0
  for (const _ of text) n++
  return n
}
