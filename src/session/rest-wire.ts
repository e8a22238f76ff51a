import type { AudioFormat } from './audio-format.js'
import type { BufferedChunk } from './audio-ring.js'
import { encodeFloat32Base64 } from './pcm-codec.js'

/**
 * The REST wire form of buffered data, serialised once when it arrives so that polls only copy bytes.
 * Field order and names are the desktop client's (CLIENT.md).
 */
export function audioChunkJson (base64: string, format: AudioFormat, timestamp: number, sequenceNumber: number): Buffer {
  const head = '{"data":"'
  const tail = `","sampleRate":${format.sampleRate},"channels":${format.channels},"timestamp":${timestamp},"sequenceNumber":${sequenceNumber}}`
  const out = Buffer.allocUnsafe(head.length + base64.length + tail.length)
  let at = out.write(head, 0, 'latin1')
  at += out.write(base64, at, 'latin1')
  out.write(tail, at, 'latin1')
  return out
}

/** A buffered chunk's REST JSON, built from its samples (for chunks whose JSON the ring let go). */
export function restChunkJson (chunk: BufferedChunk, samples: Float32Array): Buffer {
  return audioChunkJson(encodeFloat32Base64(samples), chunk.format, chunk.timestamp, chunk.sequenceNumber)
}

const OPEN = Buffer.from('[')
const COMMA = Buffer.from(',')
const CLOSE = Buffer.from(']')

/**
 * A JSON array of already-serialised chunks, as the pieces to write in order: the chunks' own Buffers
 * between brackets and commas, never copied into one (a poll answer is up to 2.4 MB, hundreds a second).
 */
export function audioChunksArray (chunks: readonly Buffer[]): Buffer[] {
  const parts: Buffer[] = [OPEN]
  chunks.forEach((json, i) => {
    if (i > 0) parts.push(COMMA)
    parts.push(json)
  })
  parts.push(CLOSE)
  return parts
}
