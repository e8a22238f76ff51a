/**
 * What a sharer sends. Audio chunks are unique per (session, sequence) yet cheap to make and to verify:
 * the first 12 bytes (3 float32 samples) carry a tag, the remaining 176,388 bytes are one of a few
 * precomputed waveforms. 12 and 176,388 are multiples of 3, so base64(tag) + base64(rest) is exactly
 * base64(chunk), and a receiver can check every byte without the sharer keeping chunks around.
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

/** base64 of bytes 12.. of each waveform: stereo sines with a little noise, like decoded music. */
const restOfChunk: Buffer[] = Array.from({ length: WAVEFORMS }, (_, w) => {
  const rnd = prng(w + 1)
  const pcm = Buffer.alloc(CHUNK_BYTES)
  for (let i = 0; i < SAMPLES_PER_CHUNK; i += 2) {
    const t = i / 2 / 44_100
    const l = 0.4 * Math.sin(2 * Math.PI * (220 + 110 * w) * t) + 0.05 * (rnd() - 0.5)
    const r = 0.4 * Math.sin(2 * Math.PI * (330 + 110 * w) * t) + 0.05 * (rnd() - 0.5)
    pcm.writeFloatLE(l, i * 4)
    pcm.writeFloatLE(r, i * 4 + 4)
  }
  return Buffer.from(pcm.subarray(TAG_BYTES).toString('base64'), 'latin1')
})

/** base64 length of one chunk's `data` (235,200 characters). */
export const CHUNK_B64_LENGTH = 16 + (restOfChunk[0]?.length ?? 0)

/** The 16 base64 characters that open chunk `seq` of session `sessionIndex`. */
export function chunkTag (sessionIndex: number, seq: number): Buffer {
  const tag = Buffer.alloc(TAG_BYTES)
  tag.writeFloatLE((sessionIndex + 1) / 4096, 0)
  tag.writeFloatLE((seq % 1_000_000) / 1_000_000, 4)
  tag.writeFloatLE(0.25, 8)
  return Buffer.from(tag.toString('base64'), 'latin1')
}

export function chunkRest (seq: number): Buffer {
  return restOfChunk[seq % WAVEFORMS] as Buffer
}

/** True when `data` (the base64 bytes a receiver got) is exactly what the sharer sent for this chunk. */
export function chunkMatches (data: Buffer, sessionIndex: number, seq: number): boolean {
  if (data.length !== CHUNK_B64_LENGTH) return false
  return data.subarray(0, 16).equals(chunkTag(sessionIndex, seq)) && data.subarray(16).equals(chunkRest(seq))
}

/** The audio POST body, as pieces written in order (no 235 KB concatenation per request). */
export function audioBody (sessionIndex: number, seq: number, timestamp: number): Buffer[] {
  return [
    DATA_OPEN,
    chunkTag(sessionIndex, seq),
    chunkRest(seq),
    Buffer.from(`","sampleRate":44100,"channels":2,"timestamp":${timestamp},"sequenceNumber":${seq}}`, 'latin1')
  ]
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
