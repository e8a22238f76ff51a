import { DomainError } from '../errors.js'
import { coverBytes, hashOf } from '../history/cover-hash.js'
import type { BufferedChunk } from '../session/audio-ring.js'
import type { ChatRemoval, EndedSession, RegistryLog, SessionRegistry } from '../session/session-registry.js'
import type { ShareSession, StoredMetadata } from '../session/session.js'
import type { ChatEntry } from '../chat/chat-log.js'
import type { SongEntry } from '../history/song-history.js'

/** `chat-deleted` and `chat-muted` name the message ids the sharer took out (a page removes them). */
export type PushEventType = 'metadata' | 'status' | 'song' | 'ended' | 'chat' | 'chat-deleted' | 'chat-muted'

/** One event for push clients, serialised once: the WebSocket text frame and the SSE block. */
export interface PushEvent {
  readonly id: number
  readonly type: PushEventType
  /** `{"type":…,"id":…,…}`: a WebSocket text frame, and an SSE `data:` line. */
  readonly json: string
  /** `id: N\nevent: type\ndata: json\n\n` */
  readonly sse: string
}

/** Why the server closes a push connection: the session ended, the server is closing, or another instance took the session over. */
export type CloseReason = 'ended' | 'shutdown' | 'moved'

/** A push connection (WebSocket, SSE or stream.wav) following one session. */
export interface PushListener {
  readonly sessionId: string
  /**
   * Key in the session's ListenerTracker while connected, so listenerCount includes push listeners;
   * undefined for a connection that does not listen (a WebSocket sharer).
   */
  readonly trackerKey: string | undefined
  audio? (session: ShareSession, chunk: BufferedChunk): void
  event? (event: PushEvent): void
  heartbeat? (): void
  /** The session ended (after its `ended` event was delivered), moved to another instance, or the server is closing. */
  close (reason: CloseReason): void
}

export interface PushHubOptions {
  /** Push connections at most, all sessions together. */
  maxConnections: number
  /** Events kept per session for Last-Event-ID resume. */
  eventHistory: number
  /** URL path of a session's cover art, by content hash. */
  artPath: (sessionId: string, hash: string) => string
}

/** Cover images kept per session: the current one and a few before it, for clients still fetching them. */
const ART_PER_SESSION = 4

/** Per-session push state: event ids and history, the latest metadata event, cover art, listeners. */
class Channel {
  nextId = 1
  readonly history: PushEvent[] = []
  readonly listeners = new Set<PushListener>()
  /** Event body of the latest metadata (without id), to tell a change from a repeat. */
  metadataBody: string | undefined
  metadataEvent: PushEvent | undefined
  metadataStored: StoredMetadata | undefined
  statusCount = -1
  thumbnailSource: string | null = null
  thumbnailUrl: string | null = null
  readonly art = new Map<string, Buffer>()
}

/**
 * Fans a session's audio, metadata, listener count and end out to its push listeners. Reads the
 * registry's events; never copies audio itself (listeners share frames built once per chunk).
 */
export class PushHub {
  #channels = new Map<string, Channel>()
  #connections = 0
  readonly stats = { droppedFrames: 0, slowDisconnects: 0 }

  readonly #onMetadataEvent = (session: ShareSession, stored: StoredMetadata) => this.#onMetadata(session, stored)
  // A play started, ended or got its cover: listeners upsert it by its number `n`.
  readonly #onSongEvent = (session: ShareSession, entry: SongEntry) => { this.#emit(this.#channel(session.id), 'song', { ...entry }) }
  readonly #onAudioEvent = (session: ShareSession, chunk: BufferedChunk) => this.#onAudio(session, chunk)
  readonly #onEndedEvent = (ended: EndedSession) => this.#onEnded(ended)
  // Taken over by another instance (cluster): listeners are told it moved, so they reconnect there.
  readonly #onMovedEvent = (session: ShareSession) => this.#onMoved(session.id)
  // Chat goes to every listener of the session at once (and into the history, for SSE resume).
  readonly #onChatEvent = (session: ShareSession, entry: ChatEntry) =>
    this.#emit(this.#channel(session.id), 'chat', { message: entry.message })
  readonly #onChatRemovedEvent = (session: ShareSession, removal: ChatRemoval) =>
    this.#emit(this.#channel(session.id), removal.reason === 'deleted' ? 'chat-deleted' : 'chat-muted',
      { messageIds: removal.entries.map((e) => e.message.id) })

  constructor (readonly registry: SessionRegistry, readonly options: PushHubOptions, readonly log: RegistryLog) {
    registry.events.on('metadata', this.#onMetadataEvent)
    registry.events.on('song', this.#onSongEvent)
    registry.events.on('audio', this.#onAudioEvent)
    registry.events.on('ended', this.#onEndedEvent)
    registry.events.on('moved', this.#onMovedEvent)
    registry.events.on('chat', this.#onChatEvent)
    registry.events.on('chat-removed', this.#onChatRemovedEvent)
  }

  /** Stops reading the registry's events (the hub is done: its owner is closing). */
  unsubscribe (): void {
    this.registry.events.off('metadata', this.#onMetadataEvent)
    this.registry.events.off('song', this.#onSongEvent)
    this.registry.events.off('audio', this.#onAudioEvent)
    this.registry.events.off('ended', this.#onEndedEvent)
    this.registry.events.off('moved', this.#onMovedEvent)
    this.registry.events.off('chat', this.#onChatEvent)
    this.registry.events.off('chat-removed', this.#onChatRemovedEvent)
  }

  get connections (): number { return this.#connections }

  /** Listeners that take the sessions' PCM audio (WebSocket receivers, stream.wav), all sessions together. */
  pcmListenerCount (): number {
    let n = 0
    for (const channel of this.#channels.values()) {
      for (const listener of channel.listeners) if (listener.audio !== undefined) n++
    }
    return n
  }

  /** Listeners of one session (for tests and stats). */
  listenerCount (sessionId: string): number { return this.#channels.get(sessionId)?.listeners.size ?? 0 }

  /** Throws SERVICE_UNAVAILABLE when the server holds as many push connections as it may. */
  requireRoom (): void {
    if (this.#connections >= this.options.maxConnections) {
      throw new DomainError('SERVICE_UNAVAILABLE',
        `The server holds its limit of ${this.options.maxConnections} push connections; try again later`,
        { retryAfterSeconds: 5 })
    }
  }

  /** Adds a listener to an active session and tells everyone the new listener count (see requireRoom). */
  attach (session: ShareSession, listener: PushListener, now: number): void {
    this.requireRoom()
    this.#connections++
    this.#channel(session.id).listeners.add(listener)
    if (listener.trackerKey !== undefined) session.listeners.touch(listener.trackerKey, now)
    this.#status(session, now)
  }

  detach (listener: PushListener, now: number): void {
    const channel = this.#channels.get(listener.sessionId)
    if (channel === undefined || !channel.listeners.delete(listener)) return
    this.#connections--
    const found = this.registry.lookup(listener.sessionId)
    if (found.state !== 'active') return
    if (listener.trackerKey !== undefined) found.session.listeners.forget(listener.trackerKey, now)
    this.#status(found.session, now)
  }

  /** The session's metadata event while the metadata is fresh; undefined otherwise. */
  currentMetadata (session: ShareSession, now: number): PushEvent | undefined {
    const channel = this.#channels.get(session.id)
    if (channel === undefined || session.metadata(now) !== channel.metadataStored) return undefined
    return channel.metadataEvent
  }

  /** The latest status event (built on attach, so every listener has one). */
  currentStatus (sessionId: string): PushEvent | undefined {
    return this.#channels.get(sessionId)?.history.findLast((e) => e.type === 'status')
  }

  /**
   * Events after `lastId`, oldest first, when the history still holds all of them; undefined when some
   * are gone (or the id is not one this process gave out): the caller then starts from a fresh snapshot.
   */
  eventsAfter (sessionId: string, lastId: number): readonly PushEvent[] | undefined {
    const channel = this.#channels.get(sessionId)
    if (channel === undefined || lastId >= channel.nextId) return undefined
    const oldest = channel.history[0]?.id ?? channel.nextId
    if (lastId < oldest - 1) return undefined
    return channel.history.filter((e) => e.id > lastId)
  }

  art (sessionId: string, hash: string): Buffer | undefined {
    return this.#channels.get(sessionId)?.art.get(hash)
  }

  /** Re-counts push listeners as listening and tells listeners when the count changed (timer). */
  tick (now: number): void {
    for (const [id, channel] of this.#channels) {
      const found = this.registry.lookup(id)
      if (found.state !== 'active') continue
      for (const listener of channel.listeners) {
        if (listener.trackerKey !== undefined) found.session.listeners.touch(listener.trackerKey, now)
      }
      this.#status(found.session, now)
    }
  }

  heartbeat (): void {
    for (const channel of this.#channels.values()) {
      for (const listener of channel.listeners) listener.heartbeat?.()
    }
  }

  /** Closes every listener (server shutdown). */
  closeAll (): void {
    for (const channel of this.#channels.values()) this.#closeListeners(channel, 'shutdown')
    this.#channels.clear()
  }

  #channel (sessionId: string): Channel {
    let channel = this.#channels.get(sessionId)
    if (channel === undefined) this.#channels.set(sessionId, channel = new Channel())
    return channel
  }

  #emit (channel: Channel, type: PushEventType, data: Record<string, unknown>): PushEvent {
    const id = channel.nextId++
    const json = JSON.stringify({ type, id, ...data })
    const event: PushEvent = { id, type, json, sse: `id: ${id}\nevent: ${type}\ndata: ${json}\n\n` }
    channel.history.push(event)
    if (channel.history.length > this.options.eventHistory) channel.history.shift()
    for (const listener of channel.listeners) listener.event?.(event)
    return event
  }

  #status (session: ShareSession, now: number): void {
    const channel = this.#channel(session.id)
    const count = session.listeners.count(now)
    if (count === channel.statusCount) return
    channel.statusCount = count
    this.#emit(channel, 'status', { isActive: true, listenerCount: count })
  }

  #onMetadata (session: ShareSession, stored: StoredMetadata): void {
    const channel = this.#channel(session.id)
    const v = stored.value
    if (v.thumbnailData !== channel.thumbnailSource) {
      // Decoded and hashed once per new cover, not once per metadata update.
      channel.thumbnailSource = v.thumbnailData
      channel.thumbnailUrl = null
      const bytes = coverBytes(v.thumbnailData)
      if (bytes.length > 0) {
        const hash = hashOf(bytes)
        channel.art.delete(hash)
        channel.art.set(hash, bytes)
        while (channel.art.size > ART_PER_SESSION) channel.art.delete(channel.art.keys().next().value as string)
        channel.thumbnailUrl = this.options.artPath(session.id, hash)
      }
    }
    const data = {
      title: v.title,
      artist: v.artist,
      lyrics: v.lyrics,
      hasSyncedLyrics: v.hasSyncedLyrics,
      elapsedSeconds: v.elapsedSeconds,
      totalSeconds: v.totalSeconds,
      thumbnailUrl: channel.thumbnailUrl,
      timestamp: v.timestamp
    }
    channel.metadataStored = stored
    const body = JSON.stringify(data)
    if (body === channel.metadataBody) return
    channel.metadataBody = body
    channel.metadataEvent = this.#emit(channel, 'metadata', data)
  }

  #onAudio (session: ShareSession, chunk: BufferedChunk): void {
    const channel = this.#channels.get(session.id)
    if (channel === undefined) return
    for (const listener of channel.listeners) listener.audio?.(session, chunk)
  }

  #onMoved (id: string): void {
    const channel = this.#channels.get(id)
    if (channel === undefined) return
    this.#channels.delete(id)
    this.#closeListeners(channel, 'moved')
  }

  #onEnded (ended: EndedSession): void {
    const channel = this.#channels.get(ended.id)
    if (channel === undefined) return
    this.#channels.delete(ended.id)
    this.#emit(channel, 'ended', { reason: ended.reason, endedAt: ended.endedAt })
    this.#closeListeners(channel, 'ended')
  }

  #closeListeners (channel: Channel, reason: CloseReason): void {
    for (const listener of [...channel.listeners]) listener.close(reason)
    this.#connections -= channel.listeners.size
    channel.listeners.clear()
  }
}

/**
 * Per-listener backpressure: a frame is sent only while the listener's queue is under `limitBytes`;
 * otherwise it is dropped for that listener, and `maxDropped` drops in a row mean it is too slow.
 */
export class SendGate {
  dropped = 0
  #inARow = 0
  #loggedAt = -Infinity
  #unlogged = 0

  constructor (readonly limitBytes: number, readonly maxDropped: number, readonly hub: PushHub,
    readonly describe: Record<string, unknown>) {}

  admit (queuedBytes: number, now: number): 'send' | 'drop' | 'disconnect' {
    if (queuedBytes <= this.limitBytes) {
      this.#inARow = 0
      return 'send'
    }
    this.dropped++
    this.#inARow++
    this.#unlogged++
    this.hub.stats.droppedFrames++
    if (now - this.#loggedAt >= 10_000) {
      this.hub.log.warn({ ...this.describe, droppedFrames: this.#unlogged, queuedBytes }, 'slow push listener: audio frames dropped')
      this.#loggedAt = now
      this.#unlogged = 0
    }
    if (this.#inARow < this.maxDropped) return 'drop'
    this.hub.stats.slowDisconnects++
    this.hub.log.warn({ ...this.describe, droppedFrames: this.dropped }, 'slow push listener disconnected')
    return 'disconnect'
  }
}
