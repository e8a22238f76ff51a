import { EventEmitter } from 'node:events'
import type { BufferedChunk } from '../session/audio-ring.js'
import { durationSeconds } from '../session/audio-format.js'
import type { ShareSession } from '../session/session.js'
import type { EndedSession, SessionRegistry } from '../session/session-registry.js'
import { MAX_CHUNKS_PER_POLL } from '../session/session.js'
import type { EncoderPool } from './encoder-pool.js'
import { opusChunkSeconds, type OpusChunk } from './opus-chunk.js'

/** Something that takes a session's Opus as it is encoded (a WebSocket or Ogg listener, a recording). */
export interface OpusListener {
  readonly sessionId: string
  /** True for a consumer that is no connection (a recording): it keeps the encoder on but is not counted as a listener. */
  readonly background?: boolean
  opus (chunk: OpusChunk): void
  /** The session's encoder failed: its Opus has ended (its PCM goes on). */
  opusFailed (reason: string): void
}

export interface OpusHubOptions {
  /** The bitrates a listener may take, ascending (kbit/s); each is encoded only while someone takes it. */
  readonly tiersKbps: readonly number[]
  /** The tier a listener gets unless it asks for another. */
  readonly defaultKbps: number
  readonly complexity: number
  /** A REST poll with codec=opus keeps the encoder running this long after it. */
  readonly pollLeaseMs: number
}

export interface OpusHubLog {
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
}

/** One session's encoder at one bitrate while anything consumes it, with its recent chunks for joins and polls. */
class OpusStream {
  readonly listeners = new Set<OpusListener>()
  readonly history: OpusChunk[] = []
  channels: 1 | 2 = 2
  preSkip = 0
  leaseUntil = -Infinity
  /** The pool's name for this stream's encoder. */
  epoch = 0

  constructor (readonly session: ShareSession, readonly bitrateKbps: number) {}

  get key (): string { return streamKey(this.session.id, this.bitrateKbps) }

  /** Chunks after `since`, like PCM polls: `-1` is a join, the newest `joinBurstSeconds` of it. */
  chunksAfter (since: number, max: number): OpusChunk[] {
    const { history } = this
    let start = history.findIndex((c) => c.sequenceNumber > since)
    if (start === -1) return []
    if (since < 0) {
      let seconds = 0
      start = history.length
      while (start > 0 && (start === history.length || seconds < this.session.limits.joinBurstSeconds)) {
        seconds += opusChunkSeconds(history[--start]!)
      }
    }
    return history.slice(start, start + max)
  }

  keep (chunk: OpusChunk): void {
    this.history.push(chunk)
    let seconds = 0
    for (const c of this.history) seconds += opusChunkSeconds(c)
    while (this.history.length > 1 && seconds > this.session.limits.audioBufferSeconds) {
      seconds -= opusChunkSeconds(this.history.shift()!)
    }
  }
}

const streamKey = (sessionId: string, bitrateKbps: number) => `${sessionId}@${bitrateKbps}`

/**
 * Opus for every session something listens to in Opus: one encoder per session and bitrate tier (in the
 * encoder threads), started by the first listener or poll of that tier and stopped when the last one is
 * gone, so a tier nobody hears costs no encoding. The same packets go to every listener of a tier.
 * Every chunk carries the server time it arrived at, the same at every tier, for synchronized playback.
 */
export class OpusHub {
  #streams = new Map<string, OpusStream>()
  /** The same streams by session: an audio chunk reaches its session's encoders without a scan. */
  #sessionStreams = new Map<string, Set<OpusStream>>()
  #listenerStreams = new Map<OpusListener, OpusStream>()
  /** When each buffered chunk reached the server, set once and shared by every tier. */
  #arrivals = new WeakMap<BufferedChunk, number>()
  readonly stats = { encoderFailures: 0, encodeSeconds: 0, encodedChunks: 0, bytesSent: 0, tierDowns: 0, tierUps: 0 }
  /** `encoded`: a session has a new Opus chunk at a bitrate (long-polls of the default one wake on it). */
  readonly events = new EventEmitter<{ encoded: [sessionId: string, bitrateKbps: number] }>()

  readonly #onAudio = (session: ShareSession, chunk: BufferedChunk) => {
    this.#arrivals.set(chunk, Date.now())
    for (const stream of this.#streamsOf(session.id)) this.#feed(stream, chunk)
  }

  readonly #onGone = (session: ShareSession | EndedSession) => {
    for (const stream of this.#streamsOf(session.id)) this.#stop(stream)
  }

  constructor (readonly registry: SessionRegistry, readonly pool: EncoderPool, readonly options: OpusHubOptions, readonly log: OpusHubLog) {
    if (!options.tiersKbps.includes(options.defaultKbps)) throw new RangeError('the default Opus bitrate must be one of the tiers')
    registry.events.on('audio', this.#onAudio)
    registry.events.on('ended', this.#onGone)
    registry.events.on('moved', this.#onGone)
  }

  unsubscribe (): void {
    this.registry.events.off('audio', this.#onAudio)
    this.registry.events.off('ended', this.#onGone)
    this.registry.events.off('moved', this.#onGone)
  }

  /** The bitrate listeners start at and REST polls take. */
  get defaultBitrateKbps (): number { return this.options.defaultKbps }

  /** Encoders running (sessions x tiers). */
  get encoders (): number { return this.#streams.size }

  /** Listeners (connections; recordings left out). */
  listenerCount (): number {
    let n = 0
    for (const listener of this.#listenerStreams.keys()) if (listener.background !== true) n++
    return n
  }

  /** Listeners per tier (kbit/s), every tier present; recordings left out. */
  listenersByTier (): Map<number, number> {
    const counts = new Map(this.options.tiersKbps.map((kbps) => [kbps, 0]))
    for (const [listener, stream] of this.#listenerStreams) {
      if (listener.background !== true) counts.set(stream.bitrateKbps, (counts.get(stream.bitrateKbps) ?? 0) + 1)
    }
    return counts
  }

  /** The tier a listener asking for `kbps` gets: the nearest at or below (the lowest when below them all). */
  tierFor (kbps: number): number {
    const tiers = this.options.tiersKbps
    return [...tiers].reverse().find((t) => t <= kbps) ?? tiers[0]!
  }

  /** The tier a listener takes now (undefined when it is not attached). */
  tierOf (listener: OpusListener): number | undefined {
    return this.#listenerStreams.get(listener)?.bitrateKbps
  }

  /** A stream's shape for an Ogg header, by listener or by session and bitrate: known once its encoder opened. */
  streamShape (of: OpusListener | string, bitrateKbps = this.options.defaultKbps): { channels: 1 | 2, preSkip: number } | undefined {
    const stream = typeof of === 'string' ? this.#streams.get(streamKey(of, bitrateKbps)) : this.#listenerStreams.get(of)
    return stream === undefined ? undefined : { channels: stream.channels, preSkip: stream.preSkip }
  }

  /**
   * Adds a listener to the session's stream at `bitrateKbps` (the default tier unless given; a recording may
   * take a bitrate of its own); it gets what is encoded after `since`, then every new chunk.
   */
  attach (session: ShareSession, listener: OpusListener, since = -1, bitrateKbps = this.options.defaultKbps): void {
    const stream = this.#streamOf(session, bitrateKbps)
    stream.listeners.add(listener)
    this.#listenerStreams.set(listener, stream)
    for (const chunk of stream.chunksAfter(since, Number.MAX_SAFE_INTEGER)) listener.opus(chunk)
  }

  /**
   * Moves a listener to another tier between two chunks: from the next chunk after `since` on, it gets
   * that tier's packets (whatever that tier already encoded after `since` comes at once).
   */
  move (listener: OpusListener, bitrateKbps: number, since: number, now: number): void {
    const from = this.#listenerStreams.get(listener)
    if (from === undefined || from.bitrateKbps === bitrateKbps) return
    if (bitrateKbps < from.bitrateKbps) this.stats.tierDowns++
    else this.stats.tierUps++
    this.detach(listener, now)
    this.attach(from.session, listener, since, bitrateKbps)
  }

  detach (listener: OpusListener, now: number): void {
    const stream = this.#listenerStreams.get(listener)
    if (stream === undefined) return
    this.#listenerStreams.delete(listener)
    stream.listeners.delete(listener)
    this.#stopIfIdle(stream, now)
  }

  /** A REST poll with codec=opus (default tier): what it gets now (empty while the encoder catches up); keeps the encoder on. */
  poll (session: ShareSession, since: number, now: number): OpusChunk[] {
    const stream = this.#streamOf(session, this.options.defaultKbps)
    stream.leaseUntil = now + this.options.pollLeaseMs
    return stream.chunksAfter(since, MAX_CHUNKS_PER_POLL)
  }

  /** Counts Opus bytes a listener or poll was sent (frames, pages or JSON as written). */
  sent (bytes: number): void {
    this.stats.bytesSent += bytes
  }

  /** Stops encoders whose last poll lease ran out with no listener left (timer). */
  sweep (now: number): void {
    for (const stream of [...this.#streams.values()]) this.#stopIfIdle(stream, now)
  }

  /** Stops every encoder (the server is closing; listeners are closed by the push hub). */
  closeAll (): void {
    for (const stream of [...this.#streams.values()]) this.#stop(stream)
  }

  #streamsOf (sessionId: string): OpusStream[] {
    const streams = this.#sessionStreams.get(sessionId)
    return streams === undefined ? [] : [...streams]
  }

  #remove (stream: OpusStream): void {
    this.#streams.delete(stream.key)
    const streams = this.#sessionStreams.get(stream.session.id)
    streams?.delete(stream)
    if (streams?.size === 0) this.#sessionStreams.delete(stream.session.id)
  }

  #streamOf (session: ShareSession, bitrateKbps: number): OpusStream {
    const key = streamKey(session.id, bitrateKbps)
    let stream = this.#streams.get(key)
    if (stream !== undefined) return stream
    const created = new OpusStream(session, bitrateKbps)
    created.epoch = this.pool.start({ bitrateKbps, complexity: this.options.complexity }, {
      opened: (preSkip, channels) => {
        created.preSkip = preSkip
        created.channels = channels
      },
      encoded: (encoded, seconds) => this.#encoded(created, { ...encoded, channels: created.channels }, seconds),
      failed: (reason) => this.#failed(created, reason)
    })
    stream = created
    this.#streams.set(key, stream)
    let streams = this.#sessionStreams.get(session.id)
    if (streams === undefined) this.#sessionStreams.set(session.id, streams = new Set())
    streams.add(stream)
    this.log.info({ sessionId: session.id, bitrateKbps }, 'Opus encoder started')
    // The encoder starts from the join burst already buffered, so the first listener has something at once.
    const burst = session.audio.chunksAfter(-1, Number.MAX_SAFE_INTEGER, session.limits.joinBurstSeconds)
    this.#estimateArrivals(burst)
    for (const chunk of burst) this.#feed(stream, chunk)
    return stream
  }

  /**
   * Chunks buffered before the hub saw them (restored from a snapshot) get arrival times as if they had
   * come back to back, ending now: set once, so every tier and every listener agrees on them.
   */
  #estimateArrivals (chunks: readonly BufferedChunk[]): void {
    let at = Date.now()
    for (let i = chunks.length - 1; i >= 0; i--) {
      const chunk = chunks[i]!
      const known = this.#arrivals.get(chunk)
      if (known !== undefined) { at = known; continue }
      at -= i === chunks.length - 1 ? 0 : durationSeconds(chunks[i + 1]!) * 1000
      this.#arrivals.set(chunk, Math.round(at))
    }
  }

  #feed (stream: OpusStream, chunk: BufferedChunk): void {
    this.pool.feed(stream.epoch, {
      sequenceNumber: chunk.sequenceNumber,
      timestamp: chunk.timestamp,
      receivedAt: this.#arrivals.get(chunk) ?? Date.now(),
      sampleRate: chunk.format.sampleRate,
      channels: chunk.format.channels,
      samples: stream.session.audio.samplesOf(chunk)
    })
  }

  #encoded (stream: OpusStream, chunk: OpusChunk, seconds: number): void {
    if (this.#streams.get(stream.key) !== stream) return
    this.stats.encodeSeconds += seconds
    this.stats.encodedChunks++
    // The first chunk of a segment can hold no whole frame yet: nothing to send.
    if (chunk.packets.length === 0) return
    stream.keep(chunk)
    for (const listener of stream.listeners) listener.opus(chunk)
    this.events.emit('encoded', stream.session.id, stream.bitrateKbps)
  }

  #failed (stream: OpusStream, reason: string): void {
    if (this.#streams.get(stream.key) !== stream) return
    this.#remove(stream)
    this.stats.encoderFailures++
    this.log.warn({ sessionId: stream.session.id, bitrateKbps: stream.bitrateKbps, reason }, 'Opus encoder failed: its listeners are let go')
    for (const listener of [...stream.listeners]) {
      this.#listenerStreams.delete(listener)
      listener.opusFailed(reason)
    }
  }

  #stopIfIdle (stream: OpusStream, now: number): void {
    if (stream.listeners.size === 0 && stream.leaseUntil <= now) this.#stop(stream)
  }

  #stop (stream: OpusStream): void {
    if (this.#streams.get(stream.key) !== stream) return
    this.#remove(stream)
    for (const listener of stream.listeners) this.#listenerStreams.delete(listener)
    this.pool.stop(stream.epoch)
    this.log.info({ sessionId: stream.session.id, bitrateKbps: stream.bitrateKbps }, 'Opus encoder stopped')
  }
}
