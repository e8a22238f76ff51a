/** One PCM audio chunk as the page hands it to the player. */
export interface AudioChunk {
  sequenceNumber: number
  /** Unix ms the chunk was captured (the sharer's clock, or the server's when the sharer sent none). */
  timestamp: number
  sampleRate: number
  channels: number
  /** Interleaved float32 samples. */
  samples: Float32Array
}

/** One Opus chunk: the 20 ms packets of one sharer chunk, as the server encoded them. */
export interface OpusChunk {
  sequenceNumber: number
  timestamp: number
  /** Always 48000. */
  sampleRate: number
  channels: number
  /** 48 kHz samples since the start of this tier's Opus stream at the first packet. */
  granule: number
  /** When the chunk reached the server (server clock, ms): the same for every listener and tier. */
  receivedAt: number
  packets: Uint8Array[]
}

/** Size of the binary frame header (README "WebSocket"). */
export const FRAME_HEADER_BYTES = 20
/** Where an Opus frame's packet framing starts (after the granule and the arrival time). */
export const OPUS_HEADER_BYTES = 36
/** Samples in one Opus packet: 20 ms at 48 kHz. */
export const OPUS_PACKET_FRAMES = 960
const CODEC_PCM = 0
const CODEC_OPUS = 1

export type DecodedFrame = { codec: 'pcm', chunk: AudioChunk } | { codec: 'opus', chunk: OpusChunk }

/** Decodes a binary WebSocket audio frame (PCM or Opus, by its codec byte); undefined when malformed. */
export function decodeFrame (buffer: ArrayBuffer): DecodedFrame | undefined {
  if (buffer.byteLength < FRAME_HEADER_BYTES) return undefined
  const view = new DataView(buffer)
  const channels = view.getUint8(16)
  const sampleRate = view.getUint32(12, true)
  if (channels === 0 || sampleRate === 0) return undefined
  const sequenceNumber = view.getUint32(0, true)
  const timestamp = view.getFloat64(4, true)
  const codec = view.getUint8(17)
  if (codec === CODEC_OPUS) {
    if (buffer.byteLength < OPUS_HEADER_BYTES) return undefined
    const packets = splitPackets(new Uint8Array(buffer, OPUS_HEADER_BYTES))
    if (packets === undefined) return undefined
    return {
      codec: 'opus',
      chunk: { sequenceNumber, timestamp, sampleRate, channels, granule: view.getFloat64(20, true), receivedAt: view.getFloat64(28, true), packets }
    }
  }
  if (codec !== CODEC_PCM) return undefined
  const pcmBytes = buffer.byteLength - FRAME_HEADER_BYTES
  if (pcmBytes % 4 !== 0) return undefined
  const samples = new Float32Array(pcmBytes / 4)
  for (let i = 0; i < samples.length; i++) samples[i] = view.getFloat32(FRAME_HEADER_BYTES + i * 4, true)
  return { codec: 'pcm', chunk: { sequenceNumber, timestamp, sampleRate, channels, samples } }
}

/**
 * Splits the packet framing (uint16 N, N uint16 lengths, the packets; little-endian) into views of the
 * packets. Undefined unless the lengths add up to the bytes exactly.
 */
export function splitPackets (bytes: Uint8Array): Uint8Array[] | undefined {
  if (bytes.byteLength < 2) return undefined
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const count = view.getUint16(0, true)
  let at = 2 + 2 * count
  if (bytes.byteLength < at) return undefined
  const packets: Uint8Array[] = []
  for (let i = 0; i < count; i++) {
    const length = view.getUint16(2 + 2 * i, true)
    if (at + length > bytes.byteLength) return undefined
    packets.push(bytes.subarray(at, at + length))
    at += length
  }
  return at === bytes.byteLength ? packets : undefined
}

/** A chunk as a long-poll answers it (`codec`, `granule` and `receivedAt` only with codec=opus). */
export interface JsonChunk {
  data: string
  sampleRate: number
  channels: number
  timestamp: number
  sequenceNumber: number
  codec?: 'opus'
  granule?: number
  receivedAt?: number
}

function base64Bytes (data: string): Uint8Array {
  const binary = atob(data)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

/** Decodes a long-poll chunk: base64 little-endian float32, or with codec=opus the packet framing. */
export function decodeJsonChunk (chunk: JsonChunk): DecodedFrame | undefined {
  const bytes = base64Bytes(chunk.data)
  const { sequenceNumber, timestamp, sampleRate, channels } = chunk
  if (chunk.codec === 'opus') {
    const packets = splitPackets(bytes)
    if (packets === undefined || chunk.receivedAt === undefined) return undefined
    return { codec: 'opus', chunk: { sequenceNumber, timestamp, sampleRate, channels, granule: chunk.granule ?? 0, receivedAt: chunk.receivedAt, packets } }
  }
  if (bytes.length % 4 !== 0) return undefined
  const view = new DataView(bytes.buffer)
  const samples = new Float32Array(bytes.length / 4)
  for (let i = 0; i < samples.length; i++) samples[i] = view.getFloat32(i * 4, true)
  return { codec: 'pcm', chunk: { sequenceNumber, timestamp, sampleRate, channels, samples } }
}
