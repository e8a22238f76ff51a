import { DomainError } from '../errors.js'
import type { AudioFormat } from './audio-format.js'
import { TextBytes } from '../schemas/text-bytes.js'

const BYTES_PER_SAMPLE = 4

export interface DecodedAudio {
  readonly samples: Float32Array
  readonly byteLength: number
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const PAD = 0x3d // '='
/** The 6-bit value of each standard base64 character; 0xff for every other byte ('=', '-' and '_' too). */
const SEXTET = new Uint8Array(256).fill(0xff)
for (let i = 0; i < ALPHABET.length; i++) SEXTET[ALPHABET.charCodeAt(i)] = i
/** 1 for the bytes a base64 text is made of (the standard alphabet and '='), 0 for every other byte. */
export const BASE64_TEXT_BYTE = SEXTET.map((sextet, byte) => (sextet !== 0xff || byte === PAD ? 1 : 0))

function invalidBase64 (): never {
  throw new DomainError('INVALID_AUDIO', 'data is not valid standard base64')
}

/** A string's characters as bytes; only ASCII text can be base64, anything else is refused. */
function asciiText (data: string): TextBytes {
  if (Buffer.byteLength(data, 'utf8') !== data.length) invalidBase64()
  return new TextBytes(Buffer.from(data, 'latin1'), 0, data.length)
}

/**
 * Decodes standard, padded base64 of little-endian float32 PCM and checks it is whole frames of finite
 * samples, so the text can be relayed as it came: only the one canonical spelling of the bytes is
 * accepted (no URL-safe alphabet, no stray bits in the last character), which receivers' decoders all
 * read alike. Throws PAYLOAD_TOO_LARGE past `maxBytes` and INVALID_AUDIO for anything malformed.
 *
 * The bytes are decoded from the text's bytes without a string in between; into `scratch` when it is
 * given and large enough (the samples are then a view of it, valid until its next use), else into new memory.
 */
export function decodeFloat32Base64 (data: string | TextBytes, format: AudioFormat, maxBytes: number, scratch?: Float32Array): DecodedAudio {
  const n = data.length
  if (n === 0 || n % 4 !== 0) {
    throw new DomainError('INVALID_AUDIO', 'data must be base64 (a multiple of 4 characters, padded)')
  }
  const fromEnd = (k: number) => typeof data === 'string' ? data.charCodeAt(n - k) : data.buffer[data.start + n - k]
  const padding = fromEnd(1) === PAD ? (fromEnd(2) === PAD ? 2 : 1) : 0
  const byteLength = (n / 4) * 3 - padding
  if (byteLength > maxBytes) {
    throw new DomainError('PAYLOAD_TOO_LARGE', `audio chunk is ${byteLength} bytes; at most ${maxBytes} bytes are accepted`)
  }
  const text = typeof data === 'string' ? asciiText(data) : data
  const src = text.buffer
  const last = text.start + n - 4
  // Whole float32s are checked after the text: a malformed text is reported as such first.
  const floats = Math.ceil(byteLength / BYTES_PER_SAMPLE)
  const store = scratch !== undefined && scratch.length >= floats ? scratch : new Float32Array(floats)
  const out = new Uint8Array(store.buffer, store.byteOffset, byteLength)
  let o = 0
  for (let i = text.start; i < last; i += 4) {
    const a = SEXTET[src[i]!]!
    const b = SEXTET[src[i + 1]!]!
    const c = SEXTET[src[i + 2]!]!
    const d = SEXTET[src[i + 3]!]!
    if ((a | b | c | d) > 63) invalidBase64()
    const v = (a << 18) | (b << 12) | (c << 6) | d
    out[o] = v >> 16
    out[o + 1] = (v >> 8) & 0xff
    out[o + 2] = v & 0xff
    o += 3
  }
  const a = SEXTET[src[last]!]!
  const b = SEXTET[src[last + 1]!]!
  const c = padding === 2 ? 0 : SEXTET[src[last + 2]!]!
  const d = padding >= 1 ? 0 : SEXTET[src[last + 3]!]!
  if ((a | b | c | d) > 63) invalidBase64()
  // The bits below the last whole byte must be zero: otherwise two texts would spell the same bytes.
  if ((padding === 2 && (b & 0x0f) !== 0) || (padding === 1 && (c & 0x03) !== 0)) invalidBase64()
  const v = (a << 18) | (b << 12) | (c << 6) | d
  out[o] = v >> 16
  if (padding < 2) out[o + 1] = (v >> 8) & 0xff
  if (padding < 1) out[o + 2] = v & 0xff
  const samples = checkedFrames(out, format)
  return { samples, byteLength: samples.byteLength }
}

/**
 * Checks raw little-endian float32 bytes are whole frames of finite samples and views them as samples
 * (copied only when unaligned). Throws INVALID_AUDIO otherwise.
 */
export function float32Frames (bytes: Buffer, format: AudioFormat): Float32Array {
  // Float32Array reads platform byte order: little-endian on every platform Node supports for this server.
  const aligned = bytes.byteOffset % BYTES_PER_SAMPLE === 0 ? bytes : Buffer.from(bytes)
  return checkedFrames(aligned, format)
}

/** `bytes` (aligned to 4) as whole frames of finite samples; INVALID_AUDIO otherwise. */
function checkedFrames (bytes: Uint8Array, format: AudioFormat): Float32Array {
  const frameBytes = BYTES_PER_SAMPLE * format.channels
  if (bytes.length % frameBytes !== 0) {
    throw new DomainError('INVALID_AUDIO',
      `data holds ${bytes.length} bytes, not whole frames of ${format.channels} float32 samples (${frameBytes} bytes each)`)
  }
  const samples = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / BYTES_PER_SAMPLE)
  for (let i = 0; i < samples.length; i++) {
    if (!Number.isFinite(samples[i])) {
      throw new DomainError('INVALID_AUDIO', `sample ${i} is not a finite number (NaN or infinity)`)
    }
  }
  return samples
}

/** Little-endian float32 bytes of samples, as base64 (for tests and tools). */
export function encodeFloat32Base64 (samples: Float32Array): string {
  return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength).toString('base64')
}
