/**
 * Reads a GET audio response without JSON.parse: the server must serialise every chunk exactly as
 * {"data":"<base64>","sampleRate":44100,"channels":2,"timestamp":123,"sequenceNumber":5}, so a strict
 * scan finds the fields and hands back `data` as a view into the body (no copy, no string).
 * Anything else is reported as a format mismatch and decoded with JSON.parse instead.
 */

export interface ScannedChunk {
  data: Buffer
  sampleRate: number
  channels: number
  timestamp: number
  sequenceNumber: number
}

const lit = (s: string): Buffer => Buffer.from(s, 'latin1')
const OPEN = lit('{"data":"')
const SAMPLE_RATE = lit('","sampleRate":')
const CHANNELS = lit(',"channels":')
const TIMESTAMP = lit(',"timestamp":')
const SEQUENCE = lit(',"sequenceNumber":')
const QUOTE = 0x22

class Cursor {
  pos = 0
  constructor (private readonly buf: Buffer) {}

  expect (token: Buffer): boolean {
    if (this.buf.compare(token, 0, token.length, this.pos, this.pos + token.length) !== 0) return false
    this.pos += token.length
    return true
  }

  byte (): number | undefined {
    return this.buf[this.pos++]
  }

  /** A JSON integer (optionally negative); NaN when there is none. */
  int (): number {
    const start = this.pos
    if (this.buf[this.pos] === 0x2d) this.pos++
    while (this.pos < this.buf.length && (this.buf[this.pos] as number) >= 0x30 && (this.buf[this.pos] as number) <= 0x39) this.pos++
    return this.pos > start ? Number(this.buf.toString('latin1', start, this.pos)) : NaN
  }
}

/** Strict scan; returns undefined when the body is not in the exact expected shape. */
export function scanChunks (body: Buffer): ScannedChunk[] | undefined {
  const c = new Cursor(body)
  const out: ScannedChunk[] = []
  if (c.byte() !== 0x5b) return undefined
  if (body[c.pos] === 0x5d) return c.pos + 1 === body.length ? out : undefined
  for (;;) {
    if (!c.expect(OPEN)) return undefined
    const end = body.indexOf(QUOTE, c.pos)
    if (end < 0) return undefined
    const data = body.subarray(c.pos, end)
    c.pos = end
    if (!c.expect(SAMPLE_RATE)) return undefined
    const sampleRate = c.int()
    if (!c.expect(CHANNELS)) return undefined
    const channels = c.int()
    if (!c.expect(TIMESTAMP)) return undefined
    const timestamp = c.int()
    if (!c.expect(SEQUENCE)) return undefined
    const sequenceNumber = c.int()
    if (c.byte() !== 0x7d || Number.isNaN(sampleRate + channels + timestamp + sequenceNumber)) return undefined
    out.push({ data, sampleRate, channels, timestamp, sequenceNumber })
    const next = c.byte()
    if (next === 0x5d) return c.pos === body.length ? out : undefined
    if (next !== 0x2c) return undefined
  }
}

/** Slow path for bodies the strict scan refused: still checks what it can. */
export function parseChunksLoosely (body: Buffer): ScannedChunk[] | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch {
    return undefined
  }
  if (!Array.isArray(parsed)) return undefined
  return parsed.map((o: Record<string, unknown>) => ({
    data: Buffer.from(typeof o.data === 'string' ? o.data : '', 'latin1'),
    sampleRate: Number(o.sampleRate),
    channels: Number(o.channels),
    timestamp: Number(o.timestamp),
    sequenceNumber: Number(o.sequenceNumber)
  }))
}

const TIMESTAMP_KEY = lit('"timestamp":')

/** The metadata response's `timestamp` (the last such key: lyrics and base64 cannot contain it). */
export function scanTimestamp (body: Buffer): number {
  const at = body.lastIndexOf(TIMESTAMP_KEY)
  if (at < 0) return NaN
  const c = new Cursor(body)
  c.pos = at + TIMESTAMP_KEY.length
  return c.int()
}
