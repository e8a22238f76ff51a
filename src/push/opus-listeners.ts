import type { ServerResponse } from 'node:http'
import type { WebSocket } from 'ws'
import { OggOpusMuxer } from '../ogg/ogg-opus.js'
import type { OpusChunk } from '../opus/opus-chunk.js'
import type { OpusHub, OpusListener } from '../opus/opus-hub.js'
import { DEFAULT_TIER_POLICY, TierController } from '../opus/tier-controller.js'
import type { ShareSession } from '../session/session.js'
import { opusFrameOf } from './push-frames.js'
import type { CloseReason, PushHub, PushListener, SendGate } from './push-hub.js'
import { CLOSE_FRAMES, CloseCode, closeSocket, EventListener, STREAM_HEADERS } from './push-listeners.js'

/** A WebSocket receiver of Opus: JSON text frames for events, binary Opus frames for audio (push-frames.ts). */
export class WsOpusReceiver extends EventListener implements OpusListener {
  /** The last chunk sent: after a tier change, the new tier's chunks start after it. */
  #lastSequence = -1
  /** Adaptive bitrate; undefined when the listener pinned a tier. */
  readonly #tiers: TierController | undefined

  constructor (readonly socket: WebSocket, sessionId: string, trackerKey: string, hub: PushHub,
    readonly gate: SendGate, readonly opusHub: OpusHub, readonly tiering: TierChoice, now: number) {
    super(sessionId, trackerKey, hub)
    this.#tiers = tiering.pinnedKbps === undefined
      ? new TierController(tiering.tiersKbps, tiering.startKbps, now, { ...DEFAULT_TIER_POLICY, upAfterMs: tiering.upAfterMs })
      : undefined
  }

  get bitrateKbps (): number { return this.opusHub.tierOf(this) ?? this.tiering.pinnedKbps ?? this.tiering.startKbps }

  /** Sends the current metadata, attaches, tells its quality, then the Opus after `since` (the join burst for -1). */
  start (session: ShareSession, since: number, now: number): void {
    const metadata = this.hub.currentMetadata(session, now)
    if (metadata !== undefined) this.send(metadata)
    this.attach(session, now)
    this.#lastSequence = since
    this.opusHub.attach(session, this, since, this.opusHub.tierFor(this.tiering.pinnedKbps ?? this.tiering.startKbps))
    this.#sendQuality()
  }

  send (event: { json: string }): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(event.json)
  }

  opus (chunk: OpusChunk): void {
    if (this.socket.readyState !== this.socket.OPEN || chunk.sequenceNumber <= this.#lastSequence) return
    const now = Date.now()
    const queued = this.socket.bufferedAmount
    const decision = this.gate.admit(queued, now)
    if (decision === 'disconnect') {
      this.release(now)
      closeSocket(this.socket, CloseCode.TOO_SLOW, 'too slow: send queue full, frames dropped')
      return
    }
    if (decision === 'send') {
      const frame = opusFrameOf(chunk)
      this.socket.send(frame)
      this.opusHub.sent(frame.length)
    }
    this.#lastSequence = chunk.sequenceNumber
    // Between two chunks: a tier change takes effect with the next one, at a packet boundary.
    const next = this.#tiers?.observe(queued, now)
    if (next !== undefined) {
      this.opusHub.move(this, next, this.#lastSequence, now)
      this.#sendQuality()
    }
  }

  opusFailed (): void {
    this.release(Date.now())
    closeSocket(this.socket, CloseCode.ENCODER_FAILED, 'Opus encoder failed; PCM goes on (codec=pcm)')
  }

  /** Leaves both hubs (the socket closed, or this listener is let go). */
  release (now: number): void {
    this.hub.detach(this, now)
    this.opusHub.detach(this, now)
  }

  close (reason: CloseReason): void {
    this.opusHub.detach(this, Date.now())
    closeSocket(this.socket, ...CLOSE_FRAMES[reason])
  }

  #sendQuality (): void {
    this.send({ json: JSON.stringify({ type: 'quality', codec: 'opus', bitrateKbps: this.bitrateKbps, adaptive: this.#tiers !== undefined }) })
  }
}

/** A listener's tiers: where it starts, and whether it pinned one (then it never moves). */
export interface TierChoice {
  readonly tiersKbps: readonly number[]
  readonly startKbps: number
  readonly pinnedKbps: number | undefined
  /** Clean this long before a step up. */
  readonly upAfterMs: number
}

/**
 * An endless Ogg/Opus stream of the session, starting at the join burst: one logical stream across song
 * and format changes (the encoder resamples every format to 48 kHz). Each listener's pages are its own
 * (serial number, page numbers, granules from zero), wrapped around the packets every listener shares.
 */
export class OggStream implements PushListener, OpusListener {
  #muxer: OggOpusMuxer | undefined

  constructor (readonly res: ServerResponse, readonly sessionId: string, readonly trackerKey: string,
    readonly hub: PushHub, readonly gate: SendGate, readonly opusHub: OpusHub,
    headers: Record<string, string | string[] | number | undefined>) {
    res.writeHead(200, { ...headers, ...STREAM_HEADERS, 'content-type': 'audio/ogg' })
    // Players wait for the headers; the Ogg header pages go out with the first audio.
    res.flushHeaders()
  }

  start (session: ShareSession, now: number): void {
    this.hub.attach(session, this, now)
    this.opusHub.attach(session, this)
  }

  opus (chunk: OpusChunk): void {
    if (this.res.writableEnded) return
    const now = Date.now()
    const decision = this.gate.admit(this.res.writableLength, now)
    if (decision === 'disconnect') return this.#finish(now)
    if (decision === 'drop') return
    // A listener that joins mid-stream gets extra pre-skip, so its player discards the decoder's settling.
    this.#muxer ??= new OggOpusMuxer({
      channels: chunk.channels,
      preSkip: this.opusHub.streamShape(this)?.preSkip ?? 0,
      lateJoin: chunk.startGranule > 0
    })
    const pages = this.#muxer.write([chunk])
    this.res.write(pages)
    this.opusHub.sent(pages.length)
  }

  opusFailed (): void {
    this.#finish(Date.now())
  }

  release (now: number): void {
    this.hub.detach(this, now)
    this.opusHub.detach(this, now)
  }

  /** The session ended or the server closes: the stream ends with an end-of-stream page. */
  close (): void {
    this.opusHub.detach(this, Date.now())
    if (this.#muxer !== undefined && !this.res.writableEnded) this.res.end(this.#muxer.write([], { endOfStream: true }))
    else this.res.end()
  }

  #finish (now: number): void {
    this.release(now)
    this.res.end()
  }
}
