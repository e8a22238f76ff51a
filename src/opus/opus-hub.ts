import { EventEmitter } from 'node:events'
import type { BufferedChunk } from '../session/audio-ring.js'
import type { ShareSession } from '../session/session.js'
import type { EndedSession, SessionRegistry } from '../session/session-registry.js'
import { MAX_CHUNKS_PER_POLL } from '../session/session.js'
import type { EncoderSettings } from './encoder-protocol.js'
import type { EncoderPool } from './encoder-pool.js'
import { opusChunkSeconds, type OpusChunk } from './opus-chunk.js'

/** Something that takes a session's Opus as it is encoded (a WebSocket or Ogg listener). */
export interface OpusListener {
  readonly sessionId: string
  opus (chunk: OpusChunk): void
  /** The session's encoder failed: its Opus has ended (its PCM goes on). */
  opusFailed (reason: string): void
}

export interface OpusHubOptions {
  readonly settings: EncoderSettings
  /** A REST poll with codec=opus keeps the encoder running this long after it. */
  readonly pollLeaseMs: number
}

export interface OpusHubLog {
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
}

/** One session's encoder while anything consumes its Opus, with the recent chunks for joins and polls. */
class OpusStream {
  readonly listeners = new Set<OpusListener>()
  readonly history: OpusChunk[] = []
  channels: 1 | 2 = 2
  preSkip = 0
  leaseUntil = -Infinity

  constructor (readonly session: ShareSession, readonly epoch: number) {}

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
 * Opus for every session something listens to in Opus: one encoder per session (in the encoder thread),
 * started by the first Opus listener or poll and stopped when the last one is gone, so a session nobody
 * hears in Opus costs no encoding. The same packets go to every listener.
 */
export class OpusHub {
  #streams = new Map<string, OpusStream>()
  readonly stats = { encoderFailures: 0, encodeSeconds: 0, encodedChunks: 0, bytesSent: 0 }
  /** `encoded`: a session has a new Opus chunk (long-polls wake on it). */
  readonly events = new EventEmitter<{ encoded: [sessionId: string] }>()

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

  /** Sessions with an encoder running. */
  get encoders (): number { return this.#streams.size }

  listenerCount (): number {
    let n = 0
    for (const stream of this.#streams.values()) n += stream.listeners.size
    return n
  }

  /** The stream's shape for an Ogg header: known once the encoder opened (undefined before). */
  streamShape (sessionId: string): { channels: 1 | 2, preSkip: number } | undefined {
    const stream = this.#streams.get(sessionId)
    return stream === undefined ? undefined : { channels: stream.channels, preSkip: stream.preSkip }
  }

  /** Adds a listener; it gets the join burst already encoded, then every new chunk. */
  attach (session: ShareSession, listener: OpusListener, since = -1): void {
    const stream = this.#streamOf(session)
    stream.listeners.add(listener)
    for (const chunk of stream.chunksAfter(since, Number.MAX_SAFE_INTEGER)) listener.opus(chunk)
  }

  detach (listener: OpusListener, now: number): void {
    const stream = this.#streams.get(listener.sessionId)
    if (stream === undefined || !stream.listeners.delete(listener)) return
    this.#stopIfIdle(stream, now)
  }

  /** A REST poll with codec=opus: what it gets now (empty while the encoder catches up); keeps the encoder on. */
  poll (session: ShareSession, since: number, now: number): OpusChunk[] {
    const stream = this.#streamOf(session)
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
    for (const id of [...this.#streams.keys()]) this.#stop(id)
  }

  #streamOf (session: ShareSession): OpusStream {
    let stream = this.#streams.get(session.id)
    if (stream !== undefined) return stream
    const epoch = this.pool.start(this.options.settings, {
      opened: (preSkip, channels) => {
        if (stream === undefined) return
        stream.preSkip = preSkip
        stream.channels = channels
      },
      encoded: (encoded, seconds) => this.#encoded(stream!, { ...encoded, channels: stream!.channels }, seconds),
      failed: (reason) => this.#failed(stream!, reason)
    })
    stream = new OpusStream(session, epoch)
    this.#streams.set(session.id, stream)
    this.log.info({ sessionId: session.id }, 'Opus encoder started')
    // The encoder starts from the join burst already buffered, so the first listener has something at once.
    for (const chunk of session.audio.chunksAfter(-1, Number.MAX_SAFE_INTEGER, session.limits.joinBurstSeconds)) {
      this.#feed(session, chunk)
    }
    return stream
  }

  #feed (session: ShareSession, chunk: BufferedChunk): void {
    const stream = this.#streams.get(session.id)
    if (stream === undefined) return
    this.pool.feed(stream.epoch, {
      sequenceNumber: chunk.sequenceNumber,
      timestamp: chunk.timestamp,
      sampleRate: chunk.format.sampleRate,
      channels: chunk.format.channels,
      samples: session.audio.samplesOf(chunk)
    })
  }

  #encoded (stream: OpusStream, chunk: OpusChunk, seconds: number): void {
    if (this.#streams.get(stream.session.id) !== stream) return
    this.stats.encodeSeconds += seconds
    this.stats.encodedChunks++
    // The first chunk of a segment can hold no whole frame yet: nothing to send.
    if (chunk.packets.length === 0) return
    stream.keep(chunk)
    for (const listener of stream.listeners) listener.opus(chunk)
    this.events.emit('encoded', stream.session.id)
  }

  #failed (stream: OpusStream, reason: string): void {
    if (this.#streams.get(stream.session.id) !== stream) return
    this.#streams.delete(stream.session.id)
    this.stats.encoderFailures++
    this.log.warn({ sessionId: stream.session.id, reason }, 'Opus encoder failed: the session\'s Opus listeners are let go')
    for (const listener of [...stream.listeners]) listener.opusFailed(reason)
  }

  #stopIfIdle (stream: OpusStream, now: number): void {
    if (stream.listeners.size === 0 && stream.leaseUntil <= now) this.#stop(stream.session.id)
  }

  #stop (id: string): void {
    const stream = this.#streams.get(id)
    if (stream === undefined) return
    this.#streams.delete(id)
    this.pool.stop(stream.epoch)
    this.log.info({ sessionId: id }, 'Opus encoder stopped')
  }
}
