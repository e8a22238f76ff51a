import type { AudioFormat } from './audio-format.js'
import type { BufferedChunk } from './audio-ring.js'
import { encodeFloat32Base64 } from './pcm-codec.js'
import type { TextBytes } from '../schemas/text-bytes.js'

const HEAD = '[{"data":"'
/** Where the base64 text begins in a chunk's answer (and in a shell made for one). */
export const CHUNK_TEXT_START = HEAD.length
const HEAD_BYTES = Buffer.from(HEAD, 'latin1')

function tailOf (format: AudioFormat, timestamp: number, sequenceNumber: number): string {
  return `","sampleRate":${format.sampleRate},"channels":${format.channels},"timestamp":${timestamp},"sequenceNumber":${sequenceNumber}}]`
}
/** The longest tail any accepted chunk has (the schema's bounds: 6-digit rate, 1-digit channels, safe-integer ms, int32 sequence). */
const MAX_TAIL = tailOf({ sampleRate: 192_000, channels: 8 }, Number.MAX_SAFE_INTEGER, 2_147_483_647).length

/**
 * Room for a chunk's answer around `textLength` characters of base64: the head written, the text to be
 * written at CHUNK_TEXT_START, and space for any tail. A parser that reads the text from the request's
 * bytes writes it here, so the answer is made without the text ever being a JS string.
 */
export function chunkAnswerShell (textLength: number): Buffer {
  const shell = Buffer.allocUnsafe(CHUNK_TEXT_START + textLength + MAX_TAIL)
  HEAD_BYTES.copy(shell, 0)
  return shell
}

function liesInShell (text: TextBytes, tailLength: number): boolean {
  return text.start === CHUNK_TEXT_START && text.buffer.length >= CHUNK_TEXT_START + text.length + tailLength &&
    text.buffer.subarray(0, CHUNK_TEXT_START).equals(HEAD_BYTES)
}

/**
 * The REST wire form of a chunk, made once when it arrives so that polls only write bytes. Each chunk is
 * kept as a whole poll answer holding it alone, `[{…}]`: most polls return exactly one chunk and send that
 * Buffer as it is; field order and names are the desktop client's (CLIENT.md). Text that lies in a shell
 * with room for the tail (chunkAnswerShell) is completed there, without a copy.
 */
export function audioChunkJson (base64: string | TextBytes, format: AudioFormat, timestamp: number, sequenceNumber: number): Buffer {
  const tail = tailOf(format, timestamp, sequenceNumber)
  const end = CHUNK_TEXT_START + base64.length
  let answer: Buffer
  if (typeof base64 !== 'string' && liesInShell(base64, tail.length)) {
    answer = base64.buffer
  } else {
    // Numbers beyond the schema's bounds (a restored snapshot's) get an answer of their own size.
    answer = Buffer.allocUnsafe(end + tail.length)
    HEAD_BYTES.copy(answer, 0)
    if (typeof base64 === 'string') answer.write(base64, CHUNK_TEXT_START, 'latin1')
    else base64.buffer.copy(answer, CHUNK_TEXT_START, base64.start, base64.start + base64.length)
  }
  answer.write(tail, end, 'latin1')
  return answer.subarray(0, end + tail.length)
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
