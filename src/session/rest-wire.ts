import type { AudioFormat } from './audio-format.js'
import type { BufferedChunk } from './audio-ring.js'
import { encodeFloat32Base64 } from './pcm-codec.js'

/**
 * The REST wire form of buffered data, serialised once when it arrives so that polls only write bytes.
 * Each chunk is kept as a whole poll answer holding it alone, `[{…}]`: most polls return exactly one
 * chunk and send that Buffer as it is; field order and names are the desktop client's (CLIENT.md).
 */
export function audioChunkJson (base64: string, format: AudioFormat, timestamp: number, sequenceNumber: number): Buffer {
  const head = '[{"data":"'
  const tail = `","sampleRate":${format.sampleRate},"channels":${format.channels},"timestamp":${timestamp},"sequenceNumber":${sequenceNumber}}]`
  const out = Buffer.allocUnsafe(head.length + base64.length + tail.length)
  let at = out.write(head, 0, 'latin1')
  at += out.write(base64, at, 'latin1')
  out.write(tail, at, 'latin1')
  return out
}

/** A buffered chunk's one-chunk answer, built from its samples (for chunks whose JSON the ring let go). */
export function restChunkJson (chunk: BufferedChunk, samples: Float32Array): Buffer {
  return audioChunkJson(encodeFloat32Base64(samples), chunk.format, chunk.timestamp, chunk.sequenceNumber)
}

const COMMA = Buffer.from(',')

/**
 * One answer from one-chunk answers (`[{…}]` each): a single one is returned as it is, never copied (a
 * poll answer is sent hundreds of times a second); several are joined into one array, one copy.
 */
export function joinChunkAnswers (answers: readonly Buffer[]): Buffer {
  if (answers.length === 1) return answers[0]!
  if (answers.length === 0) return Buffer.from('[]')
  const parts: Buffer[] = []
  answers.forEach((answer, i) => {
    const last = i === answers.length - 1
    if (i > 0) parts.push(COMMA)
    // The first keeps its '[', the last its ']'; in between, the bare objects.
    parts.push(answer.subarray(i === 0 ? 0 : 1, last ? answer.length : answer.length - 1))
  })
  return Buffer.concat(parts)
}
