/** One audio chunk as the page hands it to the player. */
export interface AudioChunk {
  sequenceNumber: number
  /** Unix ms the chunk was captured (the sharer's clock, or the server's when the sharer sent none). */
  timestamp: number
  sampleRate: number
  channels: number
  /** Interleaved float32 samples. */
  samples: Float32Array
}

/** Size of the binary frame header (README "WebSocket"). */
export const FRAME_HEADER_BYTES = 20

/** Decodes a binary WebSocket audio frame; undefined when it is too short or malformed. */
export function decodeFrame (buffer: ArrayBuffer): AudioChunk | undefined {
  if (buffer.byteLength < FRAME_HEADER_BYTES) return undefined
  const view = new DataView(buffer)
  const channels = view.getUint8(16)
  const sampleRate = view.getUint32(12, true)
  const pcmBytes = buffer.byteLength - FRAME_HEADER_BYTES
  if (channels === 0 || sampleRate === 0 || pcmBytes % 4 !== 0) return undefined
  const samples = new Float32Array(pcmBytes / 4)
  for (let i = 0; i < samples.length; i++) samples[i] = view.getFloat32(FRAME_HEADER_BYTES + i * 4, true)
  return { sequenceNumber: view.getUint32(0, true), timestamp: view.getFloat64(4, true), sampleRate, channels, samples }
}

/** Decodes a long-poll chunk: base64 little-endian float32. */
export function decodeJsonChunk (chunk: { data: string, sampleRate: number, channels: number, timestamp: number, sequenceNumber: number }): AudioChunk | undefined {
  const binary = atob(chunk.data)
  if (binary.length % 4 !== 0) return undefined
  const view = new DataView(new ArrayBuffer(binary.length))
  for (let i = 0; i < binary.length; i++) view.setUint8(i, binary.charCodeAt(i))
  const samples = new Float32Array(binary.length / 4)
  for (let i = 0; i < samples.length; i++) samples[i] = view.getFloat32(i * 4, true)
  return { sequenceNumber: chunk.sequenceNumber, timestamp: chunk.timestamp, sampleRate: chunk.sampleRate, channels: chunk.channels, samples }
}
