/**
 * What a sharer sends. Audio chunks are unique per (session, sequence) yet cheap to make and to verify:
 * the first 12 bytes (3 float32 samples) carry a tag, the remaining 176,388 bytes are one of a few
 * precomputed waveforms. 12 and 176,388 are multiples of 3, so base64(tag) + base64(rest) is exactly
 * base64(chunk), and a receiver can check every byte without the sharer keeping chunks around.
 * Push receivers get the same chunk as raw float32 (WebSocket) or as 16-bit PCM (stream.wav); both forms
 * are precomputed here too, so every byte they get is checked with a memcmp, never decoded.
 */

export const SAMPLES_PER_CHUNK = 44_100
export const CHUNK_BYTES = SAMPLES_PER_CHUNK * 4
const TAG_BYTES = 12
const WAVEFORMS = 4

/** Deterministic PRNG (mulberry32) so every run sends the same bytes. */
function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Bytes 12.. of each waveform as float32: stereo sines with a little noise, like decoded music. */
const rawRest: Buffer[] = Array.from({ length: WAVEFORMS }, (_, w) => {
  const rnd = prng(w + 1)
  const pcm = Buffer.alloc(CHUNK_BYTES)
  for (let i = 0; i < SAMPLES_PER_CHUNK; i += 2) {
    const t = i / 2 / 44_100
    const l = 0.4 * Math.sin(2 * Math.PI * (220 + 110 * w) * t) + 0.05 * (rnd() - 0.5)
    const r = 0.4 * Math.sin(2 * Math.PI * (330 + 110 * w) * t) + 0.05 * (rnd() - 0.5)
    pcm.writeFloatLE(l, i * 4)
    pcm.writeFloatLE(r, i * 4 + 4)
  }
  return pcm.subarray(TAG_BYTES)
})
/** The same, base64 (what the JSON body and the GET audio answer carry). */
const restOfChunk: Buffer[] = rawRest.map((raw) => Buffer.from(raw.toString('base64'), 'latin1'))

/**
 * float32 -> 16-bit little-endian PCM as stream.wav is specified: clamp to [-1, 1], scale by 32767, round.
 * Written here from the README, not imported from the server, so the bench checks the server's conversion.
 */
function toPcm16 (float32: Buffer): Buffer {
  const out = Buffer.alloc(float32.length / 2)
  for (let i = 0; i < float32.length / 4; i++) {
    const s = Math.max(-1, Math.min(1, float32.readFloatLE(i * 4)))
    out.writeInt16LE(Math.round(s * 32767), i * 2)
  }
  return out
}
const pcm16Rest: Buffer[] = rawRest.map(toPcm16)

/** Bytes of one chunk in stream.wav (44,100 samples of 16 bits). */
export const CHUNK_PCM16_BYTES = SAMPLES_PER_CHUNK * 2
const TAG_PCM16_BYTES = TAG_BYTES / 2

/** base64 length of one chunk's `data` (235,200 characters). */
export const CHUNK_B64_LENGTH = 16 + (restOfChunk[0]?.length ?? 0)

/** The 12 float32 bytes (3 samples) that open chunk `seq` of session `sessionIndex`. */
function rawTag (sessionIndex: number, seq: number): Buffer {
  const tag = Buffer.alloc(TAG_BYTES)
  tag.writeFloatLE((sessionIndex + 1) / 4096, 0)
  tag.writeFloatLE((seq % 1_000_000) / 1_000_000, 4)
  tag.writeFloatLE(0.25, 8)
  return tag
}

/** The 16 base64 characters that open chunk `seq` of session `sessionIndex`. */
export function chunkTag (sessionIndex: number, seq: number): Buffer {
  return Buffer.from(rawTag(sessionIndex, seq).toString('base64'), 'latin1')
}

export function chunkRest (seq: number): Buffer {
  return restOfChunk[seq % WAVEFORMS] as Buffer
}

/** True when `data` (the base64 bytes a receiver got) is exactly what the sharer sent for this chunk. */
export function chunkMatches (data: Buffer, sessionIndex: number, seq: number): boolean {
  if (data.length !== CHUNK_B64_LENGTH) return false
  return data.subarray(0, 16).equals(chunkTag(sessionIndex, seq)) && data.subarray(16).equals(chunkRest(seq))
}

/** True when `pcm` (a WebSocket frame's float32 bytes) is exactly the chunk the sharer sent. */
export function pcmMatches (pcm: Buffer, sessionIndex: number, seq: number): boolean {
  if (pcm.length !== CHUNK_BYTES) return false
  return pcm.subarray(0, TAG_BYTES).equals(rawTag(sessionIndex, seq)) && pcm.subarray(TAG_BYTES).equals(rawRest[seq % WAVEFORMS] as Buffer)
}

/**
 * The 16-bit form of chunk `seq`, in two pieces (the 6-byte tag, then the shared rest), for a stream reader
 * that checks bytes as they arrive: `pcm16Matches(piece, at, ...)` compares `piece` with bytes `at..` of it.
 */
export function pcm16Matches (piece: Buffer, at: number, sessionIndex: number, seq: number): boolean {
  if (at + piece.length > CHUNK_PCM16_BYTES) return false
  const rest = pcm16Rest[seq % WAVEFORMS] as Buffer
  let ok = true
  if (at < TAG_PCM16_BYTES) {
    const n = Math.min(piece.length, TAG_PCM16_BYTES - at)
    ok = piece.subarray(0, n).equals(toPcm16(rawTag(sessionIndex, seq)).subarray(at, at + n))
    piece = piece.subarray(n)
    at += n
  }
  return ok && piece.equals(rest.subarray(at - TAG_PCM16_BYTES, at - TAG_PCM16_BYTES + piece.length))
}

/** The whole 16-bit form of chunk `seq` (what stream.wav carries for it). */
export function chunkPcm16 (sessionIndex: number, seq: number): Buffer {
  return Buffer.concat([toPcm16(rawTag(sessionIndex, seq)), pcm16Rest[seq % WAVEFORMS] as Buffer])
}

/**
 * How the sharer writes its JSON: `plain` as JSON.stringify does, `system-text-json` as the desktop client's
 * System.Text.Json does by default, with every '+' escaped as \u002B (about 30 % more bytes for this audio:
 * float32 samples put far more '+' in their base64 than one character in 64).
 */
export type BodyEncoding = 'plain' | 'system-text-json'
const escapePlus = (b: Buffer) => Buffer.from(b.toString('latin1').replaceAll('+', '\\u002B'), 'latin1')
const escapedRests = new Map<number, Buffer>()

/** The audio POST body, as pieces written in order (no 235 KB concatenation per request). */
export function audioBody (sessionIndex: number, seq: number, timestamp: number, encoding: BodyEncoding = 'plain'): Buffer[] {
  const tail = Buffer.from(`","sampleRate":44100,"channels":2,"timestamp":${timestamp},"sequenceNumber":${seq}}`, 'latin1')
  if (encoding === 'plain') return [DATA_OPEN, chunkTag(sessionIndex, seq), chunkRest(seq), tail]
  let rest = escapedRests.get(seq % WAVEFORMS)
  if (rest === undefined) escapedRests.set(seq % WAVEFORMS, rest = escapePlus(chunkRest(seq)))
  return [DATA_OPEN, escapePlus(chunkTag(sessionIndex, seq)), rest, tail]
}
const DATA_OPEN = Buffer.from('{"data":"', 'latin1')

const WORDS = ('we were dancing under neon lights and the city never sleeps tonight hold my hand ' +
  'until the morning comes every heartbeat echoes in the dark sky falling like a silver rain').split(' ')

/** ~2 KB of synced LRC lyrics with [mm:ss.xx] tags, as the client sends when hasSyncedLyrics is true. */
export function lrcLyrics (bytes = 2048): string {
  const rnd = prng(42)
  const lines: string[] = []
  let size = 0
  let t = 12.5
  while (size < bytes) {
    const n = 4 + Math.floor(rnd() * 6)
    const text = Array.from({ length: n }, () => WORDS[Math.floor(rnd() * WORDS.length)]).join(' ')
    const mm = String(Math.floor(t / 60)).padStart(2, '0')
    const ss = (t % 60).toFixed(2).padStart(5, '0')
    const line = `[${mm}:${ss}]${text.charAt(0).toUpperCase()}${text.slice(1)}`
    lines.push(line)
    size += line.length + 1
    t += 2 + rnd() * 3
  }
  return lines.join('\n')
}

/** ~40 KB of base64 that decodes to a JPEG-shaped blob (SOI, JFIF APP0, entropy-like bytes, EOI). */
export function jpegThumbnailBase64 (base64Length = 40_000): string {
  const raw = Buffer.alloc(Math.floor(base64Length / 4) * 3)
  const rnd = prng(7)
  for (let i = 0; i < raw.length; i++) raw[i] = Math.floor(rnd() * 256)
  Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x48, 0x00, 0x48, 0x00, 0x00]).copy(raw, 0)
  raw[raw.length - 2] = 0xff
  raw[raw.length - 1] = 0xd9
  return raw.toString('base64')
}
