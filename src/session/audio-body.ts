/**
 * A fast path for the audio POST body. It is ~235 KB (~307 KB as the desktop client escapes it), nearly
 * all of it the base64 `data` string. Parsed as JSON it becomes two strings that size (the body's text and
 * `data`'s value), and strings that size are allocated straight into V8's old generation: a hundred a
 * second kept the major garbage collector running and cost more CPU than everything else the server does
 * (issue #20). This reads `data`'s value from the raw bytes into the chunk's answer shell (rest-wire.ts),
 * resolving its escapes, and hands it over as TextBytes; only the rest (about 100 bytes) is JSON-parsed.
 *
 * It answers only when the result is certainly what JSON.parse would give (with `data` as TextBytes of
 * the same characters), and undefined otherwise, so the caller parses the whole body the standard way
 * (and reports any error the standard way):
 * - the value's characters are base64's alphabet and '=', raw or escaped as `\uXXXX` or `\/` (System.Text.Json,
 *   the desktop client's serialiser, writes every '+' as `\u002B`); anything else (another escape, a
 *   control character, non-ASCII) is left to the standard parser, and the decoder judges the text itself;
 * - the rest holds no backslash (so no key is spelled with escapes), no `__proto__` or `constructor`,
 *   no other `"data"`, and parses to an object whose `data` is the emptied value.
 */

import { TextBytes } from '../schemas/text-bytes.js'
import { CHUNK_TEXT_START, chunkAnswerShell } from './rest-wire.js'
import { BASE64_TEXT_BYTE } from './pcm-codec.js'

/** Read through a module constant: the imported binding, read in the byte loops below, made them ~25 % slower. */
const BASE64_CHAR = BASE64_TEXT_BYTE

const DATA_KEY = Buffer.from('"data"')
const QUOTE = 0x22
const BACKSLASH = 0x5c

function isJsonWhitespace (byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d
}

function hexDigit (byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30
  const lower = byte | 0x20
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x57 : -1
}

/**
 * Where the value's unescaped characters are gathered before they are copied into a shell of the exact
 * size. Reused: each call fills and empties it before returning.
 */
let gathered = new Uint8Array(0)

/**
 * The characters of the string value between `from` and the closing quote at `to`, unescaped into
 * `gathered`; their count, or -1 when one is not base64 text or is escaped in a way left to JSON.parse.
 * (Plain Uint8Arrays and the client's escape checked outright: this loop runs over every byte of every
 * audio body, and that way it takes ~60 % of the time.)
 */
function gatherBase64 (body: Buffer, from: number, to: number): number {
  if (gathered.length < to - from) gathered = new Uint8Array(to - from)
  const out = gathered
  const src = new Uint8Array(body.buffer, body.byteOffset, body.length)
  let w = 0
  let r = from
  while (r < to) {
    const c = src[r]!
    if (BASE64_CHAR[c] === 1) {
      out[w++] = c
      r++
      continue
    }
    if (c !== BACKSLASH || r + 1 >= to) return -1
    const kind = src[r + 1]
    if (kind === 0x75 && r + 6 <= to) { // \uXXXX, '+' as \u002B from the desktop client
      const code = src[r + 2] === 0x30 && src[r + 3] === 0x30 && src[r + 4] === 0x32 && (src[r + 5]! | 0x20) === 0x62
        ? 0x2b
        : (hexDigit(src[r + 2]!) << 12) | (hexDigit(src[r + 3]!) << 8) | (hexDigit(src[r + 4]!) << 4) | hexDigit(src[r + 5]!)
      if (code < 0 || code > 0x7f || BASE64_CHAR[code] !== 1) return -1
      out[w++] = code
      r += 6
    } else if (kind === 0x2f) { // \/
      out[w++] = 0x2f
      r += 2
    } else {
      return -1
    }
  }
  return w
}

/** True when every byte of `text` is one of base64's characters (branch-free, four at a time: it runs over ~235 KB). */
function allBase64Chars (text: Uint8Array): boolean {
  let missing = 0
  let i = 0
  for (; i + 4 <= text.length; i += 4) {
    missing |= (BASE64_CHAR[text[i]!]! & BASE64_CHAR[text[i + 1]!]! & BASE64_CHAR[text[i + 2]!]! & BASE64_CHAR[text[i + 3]!]!) ^ 1
  }
  for (; i < text.length; i++) missing |= BASE64_CHAR[text[i]!]! ^ 1
  return missing === 0
}

/**
 * The characters of the string value between `from` and the closing quote at `to`: the body's own bytes
 * when it has no escapes (JSON.stringify's way), else unescaped into `gathered` (System.Text.Json's);
 * undefined when one is not base64 text or is escaped in a way left to JSON.parse.
 */
function base64Value (body: Buffer, from: number, to: number): Uint8Array | undefined {
  const value = new Uint8Array(body.buffer, body.byteOffset + from, to - from)
  if (value.indexOf(BACKSLASH) === -1) return allBase64Chars(value) ? value : undefined
  const length = gatherBase64(body, from, to)
  return length === -1 ? undefined : gathered.subarray(0, length)
}

export function parseAudioBodyFast (body: Buffer): Record<string, unknown> | undefined {
  const keyAt = body.indexOf(DATA_KEY)
  if (keyAt === -1) return undefined
  let at = keyAt + DATA_KEY.length
  while (isJsonWhitespace(body[at])) at++
  if (body[at] !== 0x3a) return undefined // ':'
  at++
  while (isJsonWhitespace(body[at])) at++
  if (body[at] !== QUOTE) return undefined
  const valueStart = at + 1
  // An escaped quote would end the value early; its backslash is then the last character, which gatherBase64 refuses.
  const valueEnd = body.indexOf(QUOTE, valueStart)
  if (valueEnd === -1) return undefined

  const text = base64Value(body, valueStart, valueEnd)
  if (text === undefined) return undefined

  const rest = body.toString('utf8', 0, valueStart) + body.toString('utf8', valueEnd)
  if (rest.includes('\\') || rest.includes('__proto__') || rest.includes('constructor')) return undefined
  if (rest.indexOf('"data"') !== rest.lastIndexOf('"data"')) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(rest)
  } catch {
    return undefined
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined
  const object = parsed as Record<string, unknown>
  if (object.data !== '') return undefined
  const shell = chunkAnswerShell(text.length)
  shell.set(text, CHUNK_TEXT_START)
  object.data = new TextBytes(shell, CHUNK_TEXT_START, text.length)
  return object
}
