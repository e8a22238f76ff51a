import { EventEmitter } from 'node:events'
import type { BufferedChunk } from '../session/audio-ring.js'
import type { ShareSession } from '../session/session.js'
import type { EndedSession, SessionRegistry } from '../session/session-registry.js'
import { MAX_CHUNKS_PER_POLL } from '../session/session.js'
import type { EncoderSettings } from './encoder-protocol.js'
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

/** Which of a session's Opus streams a listener takes, and from where. */
export interface AttachOptions {
  /** Highest sequence number the listener already holds; -1 (the default) joins with the burst. */
  readonly since?: number
  /** The stream's bitrate; default the hub's own (OPUS_BITRATE_KBPS). */
  readonly bitrateKbps?: number
}

export interface OpusHubOptions {
  /** The encoder settings of every stream; `bitrateKbps` is the default stream's. */
  readonly settings: EncoderSettings
  /** A REST poll with codec=opus keeps the encoder running this long after it. */
  readonly pollLeaseMs: number
}

export interface OpusHubLog {
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
}

/** One encoder of a session, at one bitrate, while anything consumes it; with the recent chunks for joins and polls. */
class OpusStream {
  readonly listeners = new Set<OpusListener>()
  readonly history: OpusChunk[] = []
  channels: 1 | 2 = 2
  preSkip = 0
  leaseUntil = -Infinity

  constructor (readonly session: ShareSession, readonly bitrateKbps: number, readonly epoch: number) {}

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

/**
 * Opus for every session something listens to in Opus: one encoder per session and bitrate (in the
 * encoder thread), started by the first listener or poll of that bitrate and stopped when the last one is
 * gone, so a session nobody hears in Opus costs no encoding. The same packets go to every listener of a
 * stream. Listeners that name no bitrate share the default stream (OPUS_BITRATE_KBPS).
 */
export class OpusHub {
  /** Per session, its streams by bitrate. */
  #sessions = new Map<string, Map<number, OpusStream>>()
  readonly stats = { encoderFailures: 0, encodeSeconds: 0, encodedChunks: 0, bytesSent: 0 }
  /** `encoded`: a session's stream at that bitrate has a new Opus chunk (long-polls wake on it). */
  readonly events = new EventEmitter<{ encoded: [sessionId: string, bitrateKbps: number] }>()

  readonly #onAudio = (session: ShareSession, chunk: BufferedChunk) => this.#feed(session, chunk)
  readonly #onGone = (session: ShareSession | EndedSession) => this.#stop(session.id)

  constructor (readonly registry: SessionRegistry, readonly pool: EncoderPool, readonly options: OpusHubOptions, readonly log: OpusHubLog) {
    registry.events.on('audio', this.#onAudio)
    registry.events.on('ended', this.#onGone)
    registry.events.on('moved', this.#onGone)
  }

  unsubscribe (): void {
    this.registry.events.off('audio', this.#onAudio)
    this.registry.events.off('ended', this.#onGone)
    this.registry.events.off('moved', this.#onGone)
  }

  /** The bitrate of the default stream. */
  get defaultBitrateKbps (): number { return this.options.settings.bitrateKbps }

  /** Encoders running (sessions x bitrates). */
  get encoders (): number {
    let n = 0
    for (const streams of this.#sessions.values()) n += streams.size
    return n
  }

  /** Listeners of every stream, background ones (recordings) left out. */
  listenerCount (): number {
    let n = 0
    for (const stream of this.#allStreams()) {
      for (const listener of stream.listeners) if (listener.background !== true) n++
    }
    return n
  }

  /** A stream's shape for an Ogg header: known once its encoder opened (undefined before). */
  streamShape (sessionId: string, bitrateKbps = this.defaultBitrateKbps): { channels: 1 | 2, preSkip: number } | undefined {
    const stream = this.#sessions.get(sessionId)?.get(bitrateKbps)
    return stream === undefined ? undefined : { channels: stream.channels, preSkip: stream.preSkip }
  }

  /**
   * Adds a listener to the session's stream at `bitrateKbps` (starting that encoder if it is the first);
   * it gets the join burst already encoded, then every new chunk. `options` may be `since` alone.
   */
  attach (session: ShareSession, listener: OpusListener, options: AttachOptions | number = {}): void {
    const { since = -1, bitrateKbps = this.defaultBitrateKbps } = typeof options === 'number' ? { since: options } : options
    const stream = this.#streamOf(session, bitrateKbps)
    stream.listeners.add(listener)
    for (const chunk of stream.chunksAfter(since, Number.MAX_SAFE_INTEGER)) listener.opus(chunk)
  }

  detach (listener: OpusListener, now: number): void {
    for (const stream of this.#sessions.get(listener.sessionId)?.values() ?? []) {
      if (stream.listeners.delete(listener)) return this.#stopIfIdle(stream, now)
    }
  }

  /** A REST poll with codec=opus: what it gets now (empty while the encoder catches up); keeps the encoder on. */
  poll (session: ShareSession, since: number, now: number, bitrateKbps = this.defaultBitrateKbps): OpusChunk[] {
    const stream = this.#streamOf(session, bitrateKbps)
    stream.leaseUntil = now + this.options.pollLeaseMs
    return stream.chunksAfter(since, MAX_CHUNKS_PER_POLL)
  }

  /** Counts Opus bytes a listener or poll was sent (frames, pages or JSON as written). */
  sent (bytes: number): void {
    this.stats.bytesSent += bytes
  }

  /** Stops encoders whose last poll lease ran out with no listener left (timer). */
  sweep (now: number): void {
    for (const stream of [...this.#allStreams()]) this.#stopIfIdle(stream, now)
  }

  /** Stops every encoder (the server is closing; listeners are closed by the push hub). */
  closeAll (): void {
    for (const id of [...this.#sessions.keys()]) this.#stop(id)
  }

  * #allStreams (): Generator<OpusStream> {
    for (const streams of this.#sessions.values()) yield * streams.values()
  }

  #streamOf (session: ShareSession, bitrateKbps: number): OpusStream {
    let streams = this.#sessions.get(session.id)
    let stream = streams?.get(bitrateKbps)
    if (stream !== undefined) return stream
    const epoch = this.pool.start({ ...this.options.settings, bitrateKbps }, {
      opened: (preSkip, channels) => {
        if (stream === undefined) return
        stream.preSkip = preSkip
        stream.channels = channels
      },
      encoded: (encoded, seconds) => this.#encoded(stream!, { ...encoded, channels: stream!.channels }, seconds),
      failed: (reason) => this.#failed(stream!, reason)
    })
    stream = new OpusStream(session, bitrateKbps, epoch)
    if (streams === undefined) this.#sessions.set(session.id, streams = new Map())
    streams.set(bitrateKbps, stream)
    this.log.info({ sessionId: session.id, bitrateKbps }, 'Opus encoder started')
    // The encoder starts from the join burst already buffered, so the first listener has something at once.
    for (const chunk of session.audio.chunksAfter(-1, Number.MAX_SAFE_INTEGER, session.limits.joinBurstSeconds)) {
      this.#feedStream(stream, chunk)
    }
    return stream
  }

  #feed (session: ShareSession, chunk: BufferedChunk): void {
    for (const stream of this.#sessions.get(session.id)?.values() ?? []) this.#feedStream(stream, chunk)
  }

  #feedStream (stream: OpusStream, chunk: BufferedChunk): void {
    const { audio } = stream.session
    this.pool.feed(stream.epoch, {
      sequenceNumber: chunk.sequenceNumber,
      timestamp: chunk.timestamp,
      sampleRate: chunk.format.sampleRate,
      channels: chunk.format.channels,
      samples: audio.samplesOf(chunk)
    })
  }

  /** Whether `stream` is still the live one of its session and bitrate (not stopped or replaced). */
  #isLive (stream: OpusStream): boolean {
    return this.#sessions.get(stream.session.id)?.get(stream.bitrateKbps) === stream
  }

  #encoded (stream: OpusStream, chunk: OpusChunk, seconds: number): void {
    if (!this.#isLive(stream)) return
    this.stats.encodeSeconds += seconds
    this.stats.encodedChunks++
    // The first chunk of a segment can hold no whole frame yet: nothing to send.
    if (chunk.packets.length === 0) return
    stream.keep(chunk)
    for (const listener of stream.listeners) listener.opus(chunk)
    this.events.emit('encoded', stream.session.id, stream.bitrateKbps)
  }

  #failed (stream: OpusStream, reason: string): void {
    if (!this.#isLive(stream)) return
    this.#remove(stream)
    this.stats.encoderFailures++
    this.log.warn({ sessionId: stream.session.id, bitrateKbps: stream.bitrateKbps, reason }, 'Opus encoder failed: the session\'s Opus listeners are let go')
    for (const listener of [...stream.listeners]) listener.opusFailed(reason)
  }

  #stopIfIdle (stream: OpusStream, now: number): void {
    if (stream.listeners.size === 0 && stream.leaseUntil <= now && this.#isLive(stream)) this.#stopStream(stream)
  }

  /** Stops every stream of a session (it ended or moved away). */
  #stop (id: string): void {
    for (const stream of [...this.#sessions.get(id)?.values() ?? []]) this.#stopStream(stream)
  }

  #stopStream (stream: OpusStream): void {
    this.#remove(stream)
    this.pool.stop(stream.epoch)
    this.log.info({ sessionId: stream.session.id, bitrateKbps: stream.bitrateKbps }, 'Opus encoder stopped')
  }

  #remove (stream: OpusStream): void {
    const streams = this.#sessions.get(stream.session.id)
    streams?.delete(stream.bitrateKbps)
    if (streams?.size === 0) this.#sessions.delete(stream.session.id)
  }
}
