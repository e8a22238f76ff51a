import { OPUS_FRAME_SAMPLES, OPUS_SAMPLE_RATE } from '../codec/opus-format.js'

/** One sharer chunk as Opus: its 20 ms packets, encoded once and shared by every listener. */
export interface OpusChunk {
  readonly sequenceNumber: number
  readonly timestamp: number
  /** When the chunk reached the server (server clock, ms): pages play it at this plus their target latency. */
  readonly receivedAt: number
  /** 48 kHz samples since the start of the session's Opus stream (pre-skip included) at packets[0]. */
  readonly startGranule: number
  readonly channels: 1 | 2
  readonly packets: readonly Uint8Array[]
}

export const OPUS_RATE = OPUS_SAMPLE_RATE

export function opusChunkSeconds (chunk: OpusChunk): number {
  return chunk.packets.length * OPUS_FRAME_SAMPLES / OPUS_SAMPLE_RATE
}

/** The bytes of a chunk's packets. */
export function opusPayloadBytes (chunk: OpusChunk): number {
  let bytes = 0
  for (const p of chunk.packets) bytes += p.byteLength
  return bytes
}
