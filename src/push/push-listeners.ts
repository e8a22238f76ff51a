import type { ServerResponse } from 'node:http'
import type { WebSocket } from 'ws'
import { sameFormat, type AudioFormat } from '../session/audio-format.js'
import type { BufferedChunk } from '../session/audio-ring.js'
import { audioFrameOf, pcm16Of, wavHeader } from './push-frames.js'
import type { CloseReason, PushEvent, PushHub, PushListener, SendGate } from './push-hub.js'
import type { ShareSession } from '../session/session.js'

/** WebSocket close codes this server uses. */
export const CloseCode = {
  /** The session ended (an `ended` frame came first). */
  SESSION_ENDED: 1000,
  /** The server is shutting down. */
  SHUTDOWN: 1001,
  /** Another instance took the session over: reconnect (through the load balancer) to follow it there. */
  SESSION_MOVED: 1012,
  /** The server holds as many push connections as it may. */
  TRY_AGAIN_LATER: 1013,
  /** The session was not active when the socket opened. */
  SESSION_INACTIVE: 4404,
  /** The session's Opus encoder failed: its Opus ended (PCM goes on; reconnect with codec=pcm, or retry). */
  ENCODER_FAILED: 1011,
  /** The listener could not keep up: its send queue stayed full. */
  TOO_SLOW: 4408
} as const

/** How long a closing socket gets for the close handshake before it is cut (a slow or paused peer). */
const CLOSE_GRACE_MS = 1_000

/** Closes with a code, and cuts the socket if the peer does not answer the close in time. */
export function closeSocket (socket: WebSocket, code: number, reason: string): void {
  if (socket.readyState >= socket.CLOSING) return
  socket.close(code, reason)
  setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref()
}

/** A clock ping is small; anything longer from a receiver is not one and is ignored unread. */
const MAX_PING_BYTES = 256

/**
 * The page's clock: a receiver sends `{"type":"ping","t":<its clock>}` and gets
 * `{"type":"pong","t":<the same>,"serverTime":<server clock, ms>}` at once, for an NTP-style offset and
 * round-trip estimate. Anything else a receiver sends is ignored.
 */
export function answerClockPing (socket: WebSocket, data: Buffer, isBinary: boolean): void {
  if (isBinary || data.length > MAX_PING_BYTES || socket.readyState !== socket.OPEN) return
  let message: unknown
  try {
    message = JSON.parse(data.toString('utf8'))
  } catch {
    return
  }
  const { type, t } = (message ?? {}) as { type?: unknown, t?: unknown }
  if (type !== 'ping' || typeof t !== 'number' || !Number.isFinite(t)) return
  socket.send(JSON.stringify({ type: 'pong', t, serverTime: Date.now() }))
}

/** The close code and reason a WebSocket gets for each way the server lets it go. */
export const CLOSE_FRAMES: Record<CloseReason, [code: number, reason: string]> = {
  ended: [CloseCode.SESSION_ENDED, 'session ended'],
  shutdown: [CloseCode.SHUTDOWN, 'server shutting down'],
  moved: [CloseCode.SESSION_MOVED, 'session moved to another instance']
}

const ALL = Number.MAX_SAFE_INTEGER

/** Writes events as they come; tells its subclass when no status event arrived with the attach. */
export abstract class EventListener implements PushListener {
  #sawStatus = false

  constructor (readonly sessionId: string, readonly trackerKey: string | undefined, readonly hub: PushHub) {}

  abstract send (event: PushEvent): void
  abstract close (reason: CloseReason): void

  event (event: PushEvent): void {
    if (event.type === 'status') this.#sawStatus = true
    this.send(event)
  }

  /** Attaches, then makes sure this listener has a status event even when the count did not change. */
  protected attach (session: ShareSession, now: number): void {
    this.hub.attach(session, this, now)
    const status = this.hub.currentStatus(session.id)
    if (!this.#sawStatus && status !== undefined) this.event(status)
  }
}

/** A WebSocket receiver: JSON text frames for events, binary frames for audio (see push-frames.ts). */
export class WsReceiver extends EventListener {
  constructor (readonly socket: WebSocket, sessionId: string, trackerKey: string, hub: PushHub, readonly gate: SendGate) {
    super(sessionId, trackerKey, hub)
  }

  /** Sends the current metadata, attaches, then the audio after `since` (the join burst for -1). */
  start (session: ShareSession, since: number, now: number): void {
    const metadata = this.hub.currentMetadata(session, now)
    if (metadata !== undefined) this.send(metadata)
    this.attach(session, now)
    for (const chunk of session.audio.chunksAfter(since, ALL, session.limits.joinBurstSeconds)) {
      this.socket.send(audioFrameOf(session.audio, chunk))
    }
  }

  send (event: PushEvent): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(event.json)
  }

  audio (session: ShareSession, chunk: BufferedChunk): void {
    if (this.socket.readyState !== this.socket.OPEN) return
    const now = Date.now()
    const decision = this.gate.admit(this.socket.bufferedAmount, now)
    if (decision === 'send') this.socket.send(audioFrameOf(session.audio, chunk))
    else if (decision === 'disconnect') {
      this.hub.detach(this, now)
      closeSocket(this.socket, CloseCode.TOO_SLOW, 'too slow: send queue full, frames dropped')
    }
  }

  close (reason: CloseReason): void {
    closeSocket(this.socket, ...CLOSE_FRAMES[reason])
  }
}

/** A WebSocket sharer: follows the session only to be told when it ends or the server closes. */
export class WsSharer implements PushListener {
  readonly trackerKey = undefined
  constructor (readonly socket: WebSocket, readonly sessionId: string) {}

  event (event: PushEvent): void {
    if (event.type === 'ended' && this.socket.readyState === this.socket.OPEN) this.socket.send(event.json)
  }

  close (reason: CloseReason): void {
    closeSocket(this.socket, ...CLOSE_FRAMES[reason])
  }
}

/** Headers of the endless responses (SSE, stream.wav): never cached, never reused for another request. */
export const STREAM_HEADERS = { 'cache-control': 'no-store', connection: 'close', 'x-accel-buffering': 'no' }

/** An SSE stream: metadata, status, ended and chat events with ids, a comment heartbeat, no audio. */
export class SseStream extends EventListener {
  constructor (readonly res: ServerResponse, sessionId: string, trackerKey: string, hub: PushHub,
    readonly limitBytes: number, headers: Record<string, string | string[] | number | undefined>) {
    super(sessionId, trackerKey, hub)
    res.writeHead(200, { ...headers, ...STREAM_HEADERS, 'content-type': 'text/event-stream; charset=utf-8' })
  }

  /** Replays what a reconnecting client missed (when the history still holds it), else the current metadata. */
  start (session: ShareSession, lastEventId: number | undefined, now: number): void {
    this.res.write('retry: 2000\n\n')
    const missed = lastEventId === undefined ? undefined : this.hub.eventsAfter(session.id, lastEventId)
    if (missed !== undefined) {
      for (const event of missed) this.event(event)
    } else {
      const metadata = this.hub.currentMetadata(session, now)
      if (metadata !== undefined) this.send(metadata)
    }
    this.attach(session, now)
  }

  send (event: PushEvent): void {
    if (this.res.writableLength > this.limitBytes) {
      // A client that reads nothing while events pile up is gone in all but name.
      this.hub.detach(this, Date.now())
      this.res.destroy()
      return
    }
    this.res.write(event.sse)
  }

  heartbeat (): void {
    this.res.write(': heartbeat\n\n')
  }

  close (): void {
    this.res.end()
  }
}

/** An endless 16-bit WAV stream of the session's audio, starting at the join burst. */
export class WavStream implements PushListener {
  #format: AudioFormat | undefined

  constructor (readonly res: ServerResponse, readonly sessionId: string, readonly trackerKey: string,
    readonly hub: PushHub, readonly gate: SendGate, headers: Record<string, string | string[] | number | undefined>) {
    res.writeHead(200, { ...headers, ...STREAM_HEADERS, 'content-type': 'audio/wav' })
    // Players wait for the headers; the WAV header itself goes out with the first audio.
    res.flushHeaders()
  }

  start (session: ShareSession, now: number): void {
    this.hub.attach(session, this, now)
    for (const chunk of session.audio.chunksAfter(-1, ALL, session.limits.joinBurstSeconds)) {
      if (!this.#write(session, chunk)) return
    }
  }

  audio (session: ShareSession, chunk: BufferedChunk): void {
    const now = Date.now()
    const decision = this.gate.admit(this.res.writableLength, now)
    if (decision === 'send') this.#write(session, chunk)
    else if (decision === 'disconnect') this.#finish(now)
  }

  close (): void {
    this.res.end()
  }

  /** False when the stream ended: a WAV stream has one format, so another format ends it cleanly. */
  #write (session: ShareSession, chunk: BufferedChunk): boolean {
    if (this.#format === undefined) {
      this.#format = chunk.format
      this.res.write(wavHeader(chunk.format))
    } else if (!sameFormat(this.#format, chunk.format)) {
      this.#finish(Date.now())
      return false
    }
    this.res.write(pcm16Of(session.audio, chunk))
    return true
  }

  #finish (now: number): void {
    this.hub.detach(this, now)
    this.res.end()
  }
}
