import { request, type ClientRequest, type IncomingMessage } from 'node:http'
import { performance } from 'node:perf_hooks'
import WebSocket from 'ws'
import type { RunContext } from './context.js'
import { CHUNK_PCM16_BYTES, pcm16Matches, pcmMatches } from './payloads.js'
import { sleepUntil } from './scheduler.js'
import type { Sharer } from './sharer.js'

export interface PushTally {
  failed: boolean
  /** The connection ended other than by the session ending (WS: no `ended` frame or code != 1000). */
  abnormal: boolean
  expected: number
  received: number
  lost: number
  duplicates: number
  /** Chunks received after a later one (every sequence number must arrive once, in order). */
  outOfOrder: number
  /** Frames / chunks whose bytes or fields differ from what the sharer sent (and bad WAV headers). */
  corrupt: number
  /**
   * Sharer's audio POST acknowledged -> this listener has the chunk, ms, signed: push is written while the POST
   * is handled, before its response, so it is often negative. Chunks acked in the steady window only (after the
   * listener joined and the others had joined too): a level holds when these stay in time.
   */
  delaysMs: number[]
  /** Sharer's audio POST sent -> this listener has the chunk, ms (the same chunks): end to end, never negative. */
  sinceSentMs: number[]
  /** As delaysMs, for chunks acked after this listener joined but before the steady window (listeners joining). */
  joiningDelaysMs: number[]
  bytesReceived: number
  /** WAV: the header plus the 16-bit bytes of every expected chunk, i.e. real-time playback of the session. */
  bytesExpected: number
  /** WAV: times the reader stopped reading because it was more than MAX_AHEAD_S ahead of its playback clock. */
  pauses: number
  /** Bytes (frames and text alike) received between ctx.steadyFrom and ctx.steadyUntil: the per-listener bandwidth. */
  steadyBytes: number
}

/** What WebSocket listeners ask for: `pcm` (float32 frames, the default) or `opus` (`?codec=opus`). */
export type PushCodec = 'pcm' | 'opus'

/** How long after the session ended a push connection may take to close before it is cut. */
export const CLOSE_WAIT_MS = 5_000

/**
 * What both push listeners share: joining, the first receipt of every sequence number, and the tally
 * against the sharer. Expected: every chunk the sharer got acknowledged from the first one this listener
 * got (the join burst) on, plus every chunk acknowledged after it joined (so a listener that got nothing
 * still counts its losses). Both transports stay open until the session ends, so nothing is cut short.
 */
abstract class PushReceiver {
  protected readonly firstReceipt = new Map<number, number>()
  protected firstSeq: number | undefined
  protected joinedAt = NaN
  protected failed = false
  protected abnormal = false
  protected corrupt = 0
  protected duplicates = 0
  protected outOfOrder = 0
  private highestSeq = -1
  protected bytes = 0
  protected steadyBytes = 0
  protected pauses = 0
  protected forced = false
  private done: (() => void) | undefined

  constructor (protected readonly ctx: RunContext, protected readonly baseUrl: string,
    protected readonly headers: Record<string, string>, protected readonly sharer: Sharer) {}

  /** Joins at `joinAt` and resolves once the connection is over. */
  async run (joinAt: number): Promise<void> {
    if (!await this.sharer.whenStarted()) { this.failed = true; return }
    await sleepUntil(joinAt)
    await new Promise<void>((resolve) => { this.done = resolve; this.open() })
  }

  protected abstract open (): void
  /** Cuts the connection (the session ended long ago, or never will). */
  protected abstract cut (): void

  protected finished (): void {
    this.done?.()
    this.done = undefined
  }

  /** Records a chunk as had at `at`. */
  protected got (seq: number, at: number): void {
    if (this.firstReceipt.has(seq)) { this.duplicates++; return }
    if (seq < this.highestSeq) this.outOfOrder++
    this.highestSeq = Math.max(this.highestSeq, seq)
    this.firstReceipt.set(seq, at)
    if (this.firstSeq === undefined || seq < this.firstSeq) this.firstSeq = seq
  }

  close (): void {
    if (this.done === undefined) return
    this.forced = true
    this.abnormal = true
    this.cut()
    this.finished()
  }

  /** Counts `n` bytes received at `at` (and in the steady window when it falls there). */
  protected countBytes (n: number, at: number): void {
    this.bytes += n
    if (at >= this.ctx.steadyFrom && at < this.ctx.steadyUntil) this.steadyBytes += n
  }

  protected expectedBytes (_expected: number): number {
    return 0
  }

  tally (): PushTally {
    const t: PushTally = {
      failed: this.failed, abnormal: this.abnormal, expected: 0, received: 0, lost: 0, duplicates: this.duplicates, outOfOrder: this.outOfOrder,
      corrupt: this.corrupt, delaysMs: [], sinceSentMs: [], joiningDelaysMs: [], bytesReceived: this.bytes, bytesExpected: 0, pauses: this.pauses,
      steadyBytes: this.steadyBytes
    }
    if (Number.isNaN(this.joinedAt)) return t
    this.sharer.ackedAt.forEach((ack, seq) => {
      if (ack === undefined || (seq < (this.firstSeq ?? Infinity) && ack <= this.joinedAt)) return
      t.expected++
      const got = this.firstReceipt.get(seq)
      if (got === undefined) { t.lost++; return }
      t.received++
      if (ack <= this.joinedAt) return
      if (ack < this.ctx.steadyFrom) { t.joiningDelaysMs.push(got - ack); return }
      t.delaysMs.push(got - ack)
      t.sinceSentMs.push(got - (this.sharer.postedAt[seq] ?? ack))
    })
    t.bytesExpected = this.expectedBytes(t.expected)
    return t
  }
}

const FRAME_HEADER_BYTES = 20
/** Opus frames: granule (f64) and receivedAt (f64) follow the common header, then the packets (README). */
const OPUS_HEADER_BYTES = FRAME_HEADER_BYTES + 16
/** 20 ms at 48 kHz: the granule advance of one packet. */
const OPUS_PACKET_SAMPLES = 960
/**
 * TOC configurations (RFC 6716 section 3.1, the top five bits) whose frames last 20 ms: SILK NB/MB/WB, hybrid
 * SWB/FB and CELT NB/WB/SWB/FB. Written out here rather than taken from the server, so an encoder bug shows.
 */
const OPUS_20MS_CONFIGS = new Set([1, 5, 9, 13, 15, 19, 23, 27, 31])

/**
 * Reads the packets of an Opus frame's body (u16 N, N u16 lengths, the packets): their lengths, or undefined
 * when the framing is inconsistent or a packet is not one 20 ms Opus frame (TOC code 0, a 20 ms configuration).
 */
export function opusPackets (body: Buffer): number[] | undefined {
  if (body.length < 2) return undefined
  const n = body.readUInt16LE(0)
  let at = 2 + 2 * n
  if (n === 0 || body.length < at) return undefined
  const lengths: number[] = []
  for (let i = 0; i < n; i++) {
    const len = body.readUInt16LE(2 + 2 * i)
    const toc = body[at]
    if (len === 0 || at + len > body.length || toc === undefined || (toc & 3) !== 0 || !OPUS_20MS_CONFIGS.has(toc >> 3)) return undefined
    lengths.push(len)
    at += len
  }
  return at === body.length ? lengths : undefined
}

/**
 * A WebSocket receiver. PCM: every binary frame's header and float32 PCM are checked against the sharer's chunk.
 * Opus (`?codec=opus`): the header (48 kHz, 2 channels, codec 1, the sharer's timestamp), the packet framing and
 * every packet's TOC byte, and that granules run on without a gap (each frame starts where the one before ended)
 * within a bitrate tier (a `quality` event starts a tier's own numbering).
 */
export class WsListener extends PushReceiver {
  private socket: WebSocket | undefined
  private sawEnded = false
  private nextGranule: { seq: number, granule: number } | undefined

  constructor (ctx: RunContext, baseUrl: string, headers: Record<string, string>, sharer: Sharer, private readonly codec: PushCodec = 'pcm', private readonly opusBitrate?: number) {
    super(ctx, baseUrl, headers, sharer)
  }

  protected open (): void {
    const startedAt = performance.now()
    const rec = this.ctx.recorder('WS connect')
    const url = `${this.baseUrl.replace(/^http/, 'ws')}/api/share/${this.sharer.sessionId}/ws${this.codec === 'opus' ? `?codec=opus${this.opusBitrate === undefined ? '' : `&bitrate=${this.opusBitrate}`}` : ''}`
    const ws = new WebSocket(url, { headers: this.headers, perMessageDeflate: false })
    this.socket = ws
    ws.on('open', () => {
      this.joinedAt = performance.now()
      rec.record(101, startedAt, this.joinedAt - startedAt, 0, 0)
    })
    ws.on('unexpected-response', (_req: ClientRequest, res: IncomingMessage) => {
      rec.record(res.statusCode ?? 0, startedAt, performance.now() - startedAt, 0, 0)
      res.resume()
      this.failed = true
      ws.terminate()
    })
    ws.on('error', (err: NodeJS.ErrnoException) => {
      if (Number.isNaN(this.joinedAt) && !this.failed) {
        rec.record(err.code ?? err.message, startedAt, performance.now() - startedAt, 0, 0)
        this.failed = true
      }
    })
    ws.on('message', (raw: WebSocket.RawData, isBinary: boolean) => {
      const data = raw as Buffer // binaryType is 'nodebuffer'
      const at = performance.now()
      this.countBytes(data.length, at)
      if (isBinary) this.frame(data, at)
      else if (data.includes('"type":"ended"')) this.sawEnded = true
      // Each bitrate tier is an encoder of its own, with granules of its own: after a tier change they start anew.
      else if (data.includes('"type":"quality"')) this.nextGranule = undefined
    })
    ws.on('close', (code: number) => {
      rec.bytesIn += this.bytes
      if (!this.failed && !this.forced && (code !== 1000 || !this.sawEnded)) this.abnormal = true
      this.finished()
    })
  }

  private frame (data: Buffer, at: number): void {
    if (this.codec === 'opus') { this.opusFrame(data, at); return }
    if (data.length < FRAME_HEADER_BYTES || data[17] !== 0 || data[18] !== 0 || data[19] !== 0) { this.corrupt++; return }
    const seq = data.readUInt32LE(0)
    const intact = data.readUInt32LE(12) === 44_100 && data[16] === 2 && data.readDoubleLE(4) === this.sharer.sentTimestamp[seq] &&
      pcmMatches(data.subarray(FRAME_HEADER_BYTES), this.sharer.index, seq)
    if (intact) this.got(seq, at)
    else this.corrupt++
  }

  private opusFrame (data: Buffer, at: number): void {
    if (data.length < OPUS_HEADER_BYTES || data[17] !== 1 || data[18] !== 0 || data[19] !== 0) { this.corrupt++; return }
    const seq = data.readUInt32LE(0)
    const granule = data.readDoubleLE(20)
    const packets = opusPackets(data.subarray(OPUS_HEADER_BYTES))
    const intact = packets !== undefined && data.readUInt32LE(12) === 48_000 && data[16] === 2 &&
      data.readDoubleLE(4) === this.sharer.sentTimestamp[seq] && Number.isInteger(granule) && granule >= 0 &&
      Number.isFinite(data.readDoubleLE(28)) &&
      // The frame after the one before starts where it ended (a gap in sequence numbers is counted as a loss).
      (this.nextGranule === undefined || this.nextGranule.seq !== seq || this.nextGranule.granule === granule)
    if (!intact) { this.corrupt++; return }
    this.nextGranule = { seq: seq + 1, granule: granule + packets.length * OPUS_PACKET_SAMPLES }
    this.got(seq, at)
  }

  protected cut (): void {
    this.socket?.terminate()
  }
}

/** The header stream.wav must open with: 16-bit stereo 44.1 kHz PCM of unknown length (README). */
const WAV_HEADER = ((): Buffer => {
  const h = Buffer.alloc(44)
  h.write('RIFFxxxxWAVEfmt ', 0, 'latin1')
  h.writeUInt32LE(0xffffffff, 4)
  h.writeUInt32LE(16, 16)
  h.writeUInt16LE(1, 20)
  h.writeUInt16LE(2, 22)
  h.writeUInt32LE(44_100, 24)
  h.writeUInt32LE(44_100 * 4, 28)
  h.writeUInt16LE(4, 32)
  h.writeUInt16LE(16, 34)
  h.write('data', 36, 'latin1')
  h.writeUInt32LE(0xffffffff, 40)
  return h
})()
const BYTES_PER_SECOND = 44_100 * 4
/** A player's buffer: past this much audio ahead of its playback clock the reader stops reading for a while. */
const MAX_AHEAD_S = 4
/** Candidate sequence numbers for a chunk: four in a row, which the four waveforms tell apart. */
const WINDOW = 4

/**
 * A stream.wav reader that plays at real-time rate: a playback clock starts with the first audio byte, and the
 * reader pauses while it holds more than MAX_AHEAD_S of audio beyond it (TCP back-pressure reaches the server).
 * Bytes are checked as they arrive (a memcmp against the expected 16-bit chunk, no decoding). The stream has
 * no framing, so each 88,200-byte chunk is matched against the next WINDOW sequence numbers: that finds where
 * the join burst starts and notices chunks the server dropped. A chunk counts as had when its last byte arrives.
 */
export class WavListener extends PushReceiver {
  private req: ClientRequest | undefined
  private readonly header = Buffer.alloc(WAV_HEADER.length)
  private headerBytes = 0
  private playStart = NaN
  private at = 0
  private candidates: number[] = []
  private lastSeq = -1
  private resumeTimer: NodeJS.Timeout | undefined

  protected open (): void {
    const startedAt = performance.now()
    const rec = this.ctx.recorder('GET stream.wav')
    const req = request(`${this.baseUrl}/api/share/${this.sharer.sessionId}/stream.wav`, { headers: this.headers, agent: false })
    this.req = req
    let ended = false
    req.on('response', (res) => {
      rec.record(res.statusCode ?? 0, startedAt, performance.now() - startedAt, 0, 0)
      if (res.statusCode !== 200) { this.failed = true; res.resume(); return }
      this.joinedAt = performance.now()
      res.on('data', (data: Buffer) => this.data(res, data, performance.now()))
      res.on('end', () => { ended = true })
    })
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (Number.isNaN(this.joinedAt) && !this.failed) {
        rec.record(err.code ?? err.message, startedAt, performance.now() - startedAt, 0, 0)
        this.failed = true
      }
    })
    req.on('close', () => {
      clearTimeout(this.resumeTimer)
      rec.bytesIn += this.bytes
      if (!this.failed && !this.forced && (!ended || this.at !== 0)) this.abnormal = true
      this.finished()
    })
    req.end()
  }

  private data (res: IncomingMessage, data: Buffer, now: number): void {
    this.countBytes(data.length, now)
    let p = 0
    if (this.headerBytes < this.header.length) {
      p = data.copy(this.header, this.headerBytes, 0, this.header.length - this.headerBytes)
      this.headerBytes += p
      if (this.headerBytes < this.header.length) return
      if (!this.header.equals(WAV_HEADER)) this.corrupt++
      // The join burst is the newest ~2 s (4 chunks) the server held; its first chunk is 2-4 behind the newest
      // acknowledged one (acknowledgements and the burst race each other by up to one chunk either way).
      this.playStart = now
      this.candidates = this.window(Math.max(0, this.sharer.ackedAt.length - 1 - WINDOW))
    }
    while (p < data.length) {
      const piece = data.subarray(p, p + Math.min(data.length - p, CHUNK_PCM16_BYTES - this.at))
      this.candidates = this.candidates.filter((seq) => pcm16Matches(piece, this.at, this.sharer.index, seq))
      this.at += piece.length
      p += piece.length
      if (this.at === CHUNK_PCM16_BYTES) this.chunkDone(now)
    }
    const ahead = (this.bytes - this.header.length) / BYTES_PER_SECOND - (now - this.playStart) / 1000
    if (ahead > MAX_AHEAD_S) {
      this.pauses++
      res.pause()
      clearTimeout(this.resumeTimer)
      this.resumeTimer = setTimeout(() => res.resume(), (ahead - MAX_AHEAD_S) * 1000)
    }
  }

  private chunkDone (now: number): void {
    const seq = this.candidates[0]
    if (seq === undefined) {
      this.corrupt++
      this.lastSeq++
    } else {
      this.got(seq, now)
      this.lastSeq = seq
    }
    this.at = 0
    this.candidates = this.window(this.lastSeq + 1)
  }

  private window (first: number): number[] {
    return Array.from({ length: WINDOW }, (_, i) => first + i)
  }

  protected override expectedBytes (expected: number): number {
    return WAV_HEADER.length + expected * CHUNK_PCM16_BYTES
  }

  protected cut (): void {
    this.req?.destroy()
  }
}
