import { CodecError } from './codec-error.js'

/** One chunk of sharer audio as it arrives at the server (usually 0.5 s). */
export interface PcmChunk {
  /** Interleaved float32 samples, nominally in [-1, 1]. Length = frames * channels. */
  readonly samples: Float32Array
  /** Input sample rate in Hz, integer in [MIN_INPUT_SAMPLE_RATE, MAX_INPUT_SAMPLE_RATE]. */
  readonly sampleRate: number
  /** Interleaved channel count, integer in [1, MAX_INPUT_CHANNELS]. */
  readonly channels: number
  /** Increments by 1 per chunk; any other step is treated as a discontinuity. */
  readonly sequenceNumber: number
  /** Capture time of the first sample, unix ms. Passed through, not interpreted. */
  readonly timestamp: number
}

export const MIN_INPUT_SAMPLE_RATE = 8_000
export const MAX_INPUT_SAMPLE_RATE = 192_000
export const MAX_INPUT_CHANNELS = 8

/** Throws CodecError('INVALID_PCM_CHUNK') when the chunk violates the API contract. */
export function validatePcmChunk(chunk: PcmChunk): void {
  const fail = (message: string, details: Record<string, unknown>): never => {
    throw new CodecError('INVALID_PCM_CHUNK', message, details)
  }
  if (!(chunk.samples instanceof Float32Array)) {
    fail('samples must be a Float32Array', {})
  }
  const { sampleRate, channels, sequenceNumber, timestamp } = chunk
  if (!Number.isInteger(sampleRate) || sampleRate < MIN_INPUT_SAMPLE_RATE || sampleRate > MAX_INPUT_SAMPLE_RATE) {
    fail(`sampleRate must be an integer in ${MIN_INPUT_SAMPLE_RATE}..${MAX_INPUT_SAMPLE_RATE}`, { sampleRate })
  }
  if (!Number.isInteger(channels) || channels < 1 || channels > MAX_INPUT_CHANNELS) {
    fail(`channels must be an integer in 1..${MAX_INPUT_CHANNELS}`, { channels })
  }
  if (chunk.samples.length % channels !== 0) {
    fail('samples length must be a multiple of channels', { length: chunk.samples.length, channels })
  }
  if (!Number.isSafeInteger(sequenceNumber)) {
    fail('sequenceNumber must be a safe integer', { sequenceNumber })
  }
  if (!Number.isFinite(timestamp)) {
    fail('timestamp must be a finite number', { timestamp })
  }
}
