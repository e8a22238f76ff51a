import { DomainError } from '../errors.js'
import type { AudioFormat } from './audio-format.js'

const BYTES_PER_SAMPLE = 4

export interface DecodedAudio {
  readonly samples: Float32Array
  readonly byteLength: number
}

/** Decoded byte length of a base64 string that is a whole number of 4-character groups. */
function decodedLength (data: string): number {
  const padding = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0
  return (data.length / 4) * 3 - padding
}

/**
 * True when `data` is the one standard base64 spelling of its bytes: Node also decodes the URL-safe
 * alphabet and ignores stray bits in the last character, and relaying such text verbatim would hand
 * receivers something their decoder rejects or reads differently.
 */
function isCanonical (data: string): boolean {
  if (data.includes('-') || data.includes('_')) return false
  const lastQuantum = data.slice(-4)
  return Buffer.from(lastQuantum, 'base64').toString('base64') === lastQuantum
}

/**
 * Decodes standard, padded base64 of little-endian float32 PCM and checks it is whole frames of finite
 * samples, so the text can be relayed as it came. Throws PAYLOAD_TOO_LARGE past `maxBytes` and
 * INVALID_AUDIO for anything malformed.
 */
export function decodeFloat32Base64 (data: string, format: AudioFormat, maxBytes: number): DecodedAudio {
  if (data.length === 0 || data.length % 4 !== 0) {
    throw new DomainError('INVALID_AUDIO', 'data must be base64 (a multiple of 4 characters, padded)')
  }
  const expected = decodedLength(data)
  if (expected > maxBytes) {
    throw new DomainError('PAYLOAD_TOO_LARGE', `audio chunk is ${expected} bytes; at most ${maxBytes} bytes are accepted`)
  }
  const bytes = Buffer.from(data, 'base64')
  // Node skips characters outside the alphabet instead of failing, so a short result means bad input.
  if (bytes.length !== expected || !isCanonical(data)) {
    throw new DomainError('INVALID_AUDIO', 'data is not valid standard base64')
  }
  const samples = float32Frames(bytes, format)
  return { samples, byteLength: samples.byteLength }
}

/**
 * Checks raw little-endian float32 bytes are whole frames of finite samples and views them as samples
 * (copied only when unaligned). Throws INVALID_AUDIO otherwise.
 */
export function float32Frames (bytes: Buffer, format: AudioFormat): Float32Array {
  const frameBytes = BYTES_PER_SAMPLE * format.channels
  if (bytes.length % frameBytes !== 0) {
    throw new DomainError('INVALID_AUDIO',
      `data holds ${bytes.length} bytes, not whole frames of ${format.channels} float32 samples (${frameBytes} bytes each)`)
  }
  // Float32Array reads platform byte order: little-endian on every platform Node supports for this server.
  const aligned = bytes.byteOffset % BYTES_PER_SAMPLE === 0 ? bytes : Buffer.from(bytes)
  const samples = new Float32Array(aligned.buffer, aligned.byteOffset, aligned.length / BYTES_PER_SAMPLE)
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
