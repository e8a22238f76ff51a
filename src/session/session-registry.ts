import { EventEmitter } from 'node:events'
import { DomainError } from '../errors.js'
import type { AudioFormat } from './audio-format.js'
import type { BufferedChunk } from './audio-ring.js'
import { decodeFloat32Base64 } from './pcm-codec.js'
import { ShareSession, type RestoredState, type SessionLimits, type SongMetadata, type StoredMetadata } from './session.js'
import { audioChunkJson, joinChunkAnswers, restChunkJson } from './rest-wire.js'
import type { SharerBinding } from './sharer-binding.js'
import { ChatRefused, type ChatEntry, type ChatMessage, type ChatPage, type ChatRefusal, type ChatSender } from '../chat/chat-log.js'
import type { SongEntry } from '../history/song-history.js'
import type { TextBytes } from '../schemas/text-bytes.js'

export interface RegistryOptions extends SessionLimits {
  maxSessions: number
  sessionTimeoutMs: number
  endedRetentionMs: number
  /** Ended-session markers kept at most (oldest dropped first). */
  maxEndedSessions: number
}

export type EndReason = 'stopped' | 'expired'

/** What is left of a session after it ended, kept for a while so late joiners learn it ended. */
export interface EndedSession {
  readonly id: string
  readonly startTime: number
  readonly endedAt: number
  readonly reason: EndReason
  readonly durationSeconds: number
  readonly bytesTransferred: number
  /** Decoded audio bytes served to receivers. */
  readonly bytesSent: number
  /** The songs it played, oldest first (absent in markers written before song history existed). */
  readonly history?: readonly SongEntry[] | undefined
}

export type SessionLookup =
  | { readonly state: 'active', readonly session: ShareSession }
  | { readonly state: 'ended', readonly ended: EndedSession }
  | { readonly state: 'unknown' }

/** An audio chunk as the sharer posts it. */
export interface AudioUpload {
  /** Base64 of the samples: as a string, or as the bytes the audio route's parser read it into. */
  data: string | TextBytes
  sampleRate: number
  channels: number
  timestamp?: number | undefined
  sequenceNumber: number
}

export interface MetadataUpload extends Omit<SongMetadata, 'timestamp'> {
  timestamp?: number | undefined
}

/** One buffered chunk as a snapshot holds it: decoded samples, not their JSON. */
export interface RestoredChunk {
  readonly samples: Float32Array
  readonly format: { readonly sampleRate: number, readonly channels: number }
  readonly timestamp: number
  readonly sequenceNumber: number
}

/** Everything needed to bring an active session back after a restart (see the Redis snapshot plugin). */
export interface SessionSnapshot extends RestoredState {
  readonly id: string
  readonly startTime: number
  /** Oldest first. */
  readonly chunks: readonly RestoredChunk[]
}

/** Messages the sharer took out of a chat: one it deleted, or every one of a listener it muted. */
export interface ChatRemoval {
  readonly reason: 'deleted' | 'muted'
  /** Oldest first. */
  readonly entries: readonly ChatEntry[]
}

export type RestoreOutcome =
  | { readonly state: 'restored', readonly session: ShareSession }
  | { readonly state: 'skipped', readonly reason: 'active' | 'expired' | 'limit' }

/**
 * What happens to sessions, for plugins that follow along (metrics, push delivery, snapshots).
 * Listeners run synchronously inside the request that caused the event: keep them cheap and never throw.
 */
export interface RegistryEvents {
  started: [session: ShareSession]
  /** A session brought back from a snapshot (restart); not a new share, so not 'started'. */
  restored: [session: ShareSession]
  ended: [ended: EndedSession]
  /** Another instance took the session over (cluster): gone from here without ending. */
  moved: [session: ShareSession]
  metadata: [session: ShareSession, metadata: StoredMetadata]
  /** A play in the session's song history started, ended or got its cover. */
  song: [session: ShareSession, entry: SongEntry]
  audio: [session: ShareSession, chunk: BufferedChunk]
  overflow: [session: ShareSession, chunks: number]
  /** A receiver's poll returned audio: `bytes` decoded bytes (4 per float32 sample). */
  sent: [session: ShareSession, bytes: number]
  /** A receiver (its listener key) started counting as a listener of the session. */
  listenerJoined: [session: ShareSession, key: string, at: number]
  /** A receiver stopped counting: `at` is its last poll plus the listener window, or when it was dropped. */
  listenerLeft: [session: ShareSession, key: string, at: number]
  /** A chat message was taken (from a listener or the sharer). */
  chat: [session: ShareSession, entry: ChatEntry]
  /** The sharer deleted a chat message or muted a listener. */
  'chat-removed': [session: ShareSession, removal: ChatRemoval]
  /** A chat message was refused, and why. */
  'chat-refused': [session: ShareSession, reason: ChatRefusal]
}

/**
 * Where sessions live beyond this process (the Redis snapshot): asked before a new session is announced,
 * and for ids this process does not hold.
 */
export interface SessionStore {
  /**
   * Makes a new session durable (in a cluster: claims its id) before anyone hears of it. Throws a
   * DomainError to refuse the start (SESSION_EXISTS); resolves without it when the store is unavailable.
   */
  commitStart (session: ShareSession): Promise<void>
  /** Brings the session `id` into this registry if the store holds it (restore, takeover). Never throws. */
  adopt (id: string): Promise<void>
}

export interface RegistryLog {
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
}

const OVERFLOW_LOG_INTERVAL_MS = 10_000
export const SESSION_LIMIT_RETRY_AFTER_SECONDS = 30

/** All sessions of this process: the active ones and, for a while, the ended ones. */
export class SessionRegistry {
  #active = new Map<string, ShareSession>()
  #ended = new Map<string, EndedSession>()
  #overflowLoggedAt = new Map<string, { at: number, pending: number }>()
  /** Sessions whose start the store is committing: not served yet, but their ids and places are taken. */
  #starting = new Map<string, Promise<void>>()
  /** Where each audio POST is decoded before the session's ring copies it (see receiveAudio). */
  #decoded = new Float32Array(0)
  #store: SessionStore | undefined

  readonly events = new EventEmitter<RegistryEvents>()

  constructor (readonly options: RegistryOptions, readonly log: RegistryLog) {}

  get activeCount (): number { return this.#active.size }
  get endedCount (): number { return this.#ended.size }
  activeSessions (): IterableIterator<ShareSession> { return this.#active.values() }
  /** Ended sessions still remembered, the longest-ended first. */
  endedSessions (): IterableIterator<EndedSession> { return this.#ended.values() }

  /** Sessions start through `store` from now on, and ids this process does not hold are looked for there. */
  useStore (store: SessionStore | undefined): void {
    this.#store = store
  }

  /**
   * The session `id` as `lookup` answers, after asking the store for it when this process does not know
   * it (a session another instance held, in a cluster) or waiting for its start to be committed. Every
   * check of a request against a session (the sharer guard first) goes through here, so it sees the
   * session a takeover brings, not the absence before it.
   */
  async locate (id: string): Promise<SessionLookup> {
    const starting = this.#starting.get(id)
    if (starting !== undefined) await starting
    else if (this.#store !== undefined && !this.#active.has(id) && !this.#ended.has(id)) await this.#store.adopt(id)
    return this.lookup(id)
  }

  /** Starts a session in this process only: no store is asked (tests, tools). The start route uses `startCommitted`. */
  start (id: string, now: number, sharer?: SharerBinding): ShareSession {
    const session = this.#create(id, now, sharer)
    this.#admit(session)
    return session
  }

  /**
   * Starts a session once the store has made it durable: until then its id is taken (a second start is
   * SESSION_EXISTS) but nothing serves it and no event is emitted. If the store refuses, the session is
   * dropped again and the store's error thrown.
   */
  async startCommitted (id: string, now: number, sharer?: SharerBinding): Promise<ShareSession> {
    const session = this.#create(id, now, sharer)
    if (this.#store === undefined) {
      this.#admit(session)
      return session
    }
    const commit = this.#store.commitStart(session)
    this.#starting.set(id, commit.catch(() => {}))
    try {
      await commit
    } catch (err) {
      session.release()
      throw err
    } finally {
      this.#starting.delete(id)
    }
    this.#admit(session)
    return session
  }

  #create (id: string, now: number, sharer: SharerBinding | undefined): ShareSession {
    if (this.#active.has(id) || this.#starting.has(id)) throw new DomainError('SESSION_EXISTS', 'Session ID already in use')
    if (this.#active.size + this.#starting.size >= this.options.maxSessions) {
      throw new DomainError('SESSION_LIMIT',
        `The server is at its limit of ${this.options.maxSessions} active sessions; try again later`,
        { retryAfterSeconds: SESSION_LIMIT_RETRY_AFTER_SECONDS })
    }
    const session = this.#newSession(id, now)
    session.sharer = sharer
    return session
  }

  #admit (session: ShareSession): void {
    this.#ended.delete(session.id)
    this.#active.set(session.id, session)
    this.log.info({ sessionId: session.id, activeSessions: this.#active.size }, 'session started')
    this.events.emit('started', session)
  }

  /**
   * Brings back a session from a snapshot taken before a restart, as it was: start time, last activity,
   * last sequence number, counters, metadata (with its TTL still running) and buffered audio, whose JSON the
   * ring rebuilds from the samples when polled, so polls answer byte for byte as before. A session already
   * live here wins; one idle past the session timeout stays gone.
   */
  restore (snapshot: SessionSnapshot, now: number): RestoreOutcome {
    if (this.#active.has(snapshot.id) || this.#starting.has(snapshot.id)) return { state: 'skipped', reason: 'active' }
    if (now - snapshot.lastActivity >= this.options.sessionTimeoutMs) return { state: 'skipped', reason: 'expired' }
    if (this.#active.size + this.#starting.size >= this.options.maxSessions) return { state: 'skipped', reason: 'limit' }
    this.#ended.delete(snapshot.id)
    const session = this.#newSession(snapshot.id, snapshot.startTime)
    session.restore(snapshot, snapshot.chunks)
    this.#active.set(snapshot.id, session)
    this.events.emit('restored', session)
    return { state: 'restored', session }
  }

  #newSession (id: string, startTime: number): ShareSession {
    const events = this.events
    const session: ShareSession = new ShareSession(id, startTime, this.options, {
      joined: (key, at) => { events.emit('listenerJoined', session, key, at) },
      left: (key, at) => { events.emit('listenerLeft', session, key, at) }
    })
    return session
  }

  /** Brings back an ended-session marker from a snapshot while it is within its retention. */
  restoreEnded (ended: EndedSession, now: number): boolean {
    if (this.#active.has(ended.id) || now - ended.endedAt >= this.options.endedRetentionMs) return false
    this.#remember(ended)
    return true
  }

  lookup (id: string): SessionLookup {
    const session = this.#active.get(id)
    if (session !== undefined) return { state: 'active', session }
    const ended = this.#ended.get(id)
    if (ended !== undefined) return { state: 'ended', ended }
    return { state: 'unknown' }
  }

  /** The active session, or a 404 that says whether it ended or never existed. */
  requireActive (id: string): ShareSession {
    const found = this.lookup(id)
    if (found.state === 'active') return found.session
    if (found.state === 'ended') throw new DomainError('SESSION_ENDED', 'Session has ended')
    throw new DomainError('SESSION_NOT_FOUND', 'Session not found')
  }

  stop (id: string, now: number): EndedSession {
    return this.#end(this.requireActive(id), now, 'stopped')
  }

  /** Stores a sharer's metadata; answers how many receivers are listening. */
  receiveMetadata (id: string, upload: MetadataUpload, now: number): number {
    const session = this.requireActive(id)
    const listeners = session.setMetadata({
      title: upload.title,
      artist: upload.artist,
      lyrics: upload.lyrics,
      hasSyncedLyrics: upload.hasSyncedLyrics,
      elapsedSeconds: upload.elapsedSeconds,
      totalSeconds: upload.totalSeconds,
      thumbnailData: upload.thumbnailData,
      timestamp: upload.timestamp ?? now
    }, now)
    const stored = session.metadata(now)!
    // Song changes first: a push listener gets the small `song` event before a metadata event that may be large.
    for (const entry of session.history.update(stored.value, now)) this.events.emit('song', session, entry)
    this.events.emit('metadata', session, stored)
    return listeners
  }

  /** The songs a session played so far, live or ended (while its marker is kept); undefined for an unknown one. */
  songHistory (id: string): { readonly isActive: boolean, readonly songs: readonly SongEntry[] } | undefined {
    const found = this.lookup(id)
    if (found.state === 'active') return { isActive: true, songs: found.session.history.entries() }
    if (found.state === 'ended') return { isActive: false, songs: found.ended.history ?? [] }
    return undefined
  }

  /** The session's fresh metadata, or a 404 saying why there is none. */
  currentMetadata (id: string, listenerKey: string, now: number): StoredMetadata {
    const session = this.requireActive(id)
    session.listeners.touch(listenerKey, now)
    const metadata = session.metadata(now)
    if (metadata === undefined) throw new DomainError('METADATA_NOT_FOUND', 'Session not found or no metadata available')
    return metadata
  }

  /**
   * Validates and buffers a sharer's chunk. A sequence number not after the last accepted one is a
   * duplicate: it keeps the session alive but is not decoded or stored again.
   */
  receiveAudio (id: string, upload: AudioUpload, maxBytes: number, now: number): { buffered: boolean } {
    const session = this.requireActive(id)
    if (this.#isRepeat(session, upload.sequenceNumber, now)) return { buffered: false }
    const format = { sampleRate: upload.sampleRate, channels: upload.channels }
    // Into one reused store: the ring copies the samples before anything else can decode.
    if (this.#decoded.byteLength < maxBytes) this.#decoded = new Float32Array(Math.ceil(maxBytes / 4))
    const decoded = decodeFloat32Base64(upload.data, format, maxBytes, this.#decoded)
    const timestamp = upload.timestamp ?? now
    // The text is canonical base64 of exactly these samples (checked on decode), so it is relayed as sent.
    const json = audioChunkJson(upload.data, format, timestamp, upload.sequenceNumber)
    return this.#storeAudio(session, decoded.samples, format, timestamp, upload.sequenceNumber, json, now)
  }

  /**
   * The same for samples that arrived as raw float32 (a WebSocket sharer), already checked by
   * `float32Frames`. Their REST form is built from the samples when a poller first asks for it.
   */
  receiveAudioSamples (id: string, upload: Omit<AudioUpload, 'data'> & { samples: Float32Array }, now: number): { buffered: boolean } {
    const session = this.requireActive(id)
    if (this.#isRepeat(session, upload.sequenceNumber, now)) return { buffered: false }
    return this.#storeAudio(session, upload.samples, { sampleRate: upload.sampleRate, channels: upload.channels },
      upload.timestamp ?? now, upload.sequenceNumber, undefined, now)
  }

  /** A sequence number not after the last accepted one: the sharer is alive, but nothing is decoded or stored. */
  #isRepeat (session: ShareSession, sequenceNumber: number, now: number): boolean {
    if (sequenceNumber > session.lastSequence) return false
    session.touch(now)
    return true
  }

  #storeAudio (session: ShareSession, samples: Float32Array, format: AudioFormat, timestamp: number,
    sequenceNumber: number, json: Buffer | undefined, now: number): { buffered: boolean } {
    const outcome = session.appendAudio({ samples, format, timestamp, sequenceNumber, byteLength: samples.byteLength, json }, now)
    if (!outcome.buffered) return { buffered: false }
    if (outcome.formatChanged) {
      this.log.info({ sessionId: session.id, sampleRate: format.sampleRate, channels: format.channels },
        'audio format changed: buffered audio of the old format dropped')
    }
    this.#noteOverflow(session, outcome.overflowed, now)
    this.events.emit('audio', session, outcome.chunk)
    return { buffered: true }
  }

  /** Chunks newer than `since` for one receiver (who then counts as listening). */
  pollAudio (id: string, since: number, listenerKey: string, now: number): readonly BufferedChunk[] {
    return this.#poll(id, since, listenerKey, now).chunks
  }

  /** The REST answer to an audio poll: a JSON array of the chunks newer than `since`, or undefined for none. */
  pollAudioJson (id: string, since: number, listenerKey: string, now: number): Buffer | undefined {
    const { session, chunks } = this.#poll(id, since, listenerKey, now)
    return chunks.length === 0 ? undefined : joinChunkAnswers(chunks.map((c) => session.audio.jsonOf(c, restChunkJson)))
  }

  #poll (id: string, since: number, listenerKey: string, now: number) {
    const session = this.requireActive(id)
    const sentBefore = session.bytesSent
    const chunks = session.pollAudio(since, listenerKey, now)
    if (chunks.length > 0) this.events.emit('sent', session, session.bytesSent - sentBefore)
    return { session, chunks }
  }

  /** Takes a chat message (cleaned, budgeted: see ChatLog.post) and answers it as stored. */
  postChat (id: string, input: { name: string, text: string }, sender: ChatSender, now: number): ChatMessage {
    const session = this.requireActive(id)
    let entry: ChatEntry
    try {
      entry = session.chat.post(input, sender, now)
    } catch (err) {
      if (err instanceof ChatRefused) this.events.emit('chat-refused', session, err.reason)
      throw err
    }
    this.events.emit('chat', session, entry)
    return entry.message
  }

  /** A page of a session's chat history (see ChatLog.page). */
  chatPage (id: string, since: number, limit: number): ChatPage {
    return this.requireActive(id).chat.page(since, limit)
  }

  /** The sharer deletes one chat message; answers the ids removed. */
  deleteChat (id: string, messageId: number): number[] {
    const session = this.requireActive(id)
    return this.#chatRemoved(session, { reason: 'deleted', entries: [session.chat.delete(messageId)] })
  }

  /** The sharer mutes whoever sent `messageId`; answers the ids of their messages removed. */
  muteChat (id: string, messageId: number): number[] {
    const session = this.requireActive(id)
    return this.#chatRemoved(session, { reason: 'muted', entries: session.chat.mute(messageId) })
  }

  #chatRemoved (session: ShareSession, removal: ChatRemoval): number[] {
    const messageIds = removal.entries.map((e) => e.message.id)
    // Ids only: chat text, names and sender tags never reach a log line.
    this.log.info({ sessionId: session.id, messageIds },
      removal.reason === 'deleted' ? 'chat message deleted by the sharer' : 'chat listener muted by the sharer')
    this.events.emit('chat-removed', session, removal)
    return messageIds
  }

  /** Counts chunks evicted before every listener fetched them; logs at most every 10 s per session. */
  #noteOverflow (session: ShareSession, count: number, now: number): void {
    if (count === 0) return
    this.events.emit('overflow', session, count)
    const state = this.#overflowLoggedAt.get(session.id) ?? { at: -Infinity, pending: 0 }
    state.pending += count
    if (now - state.at >= OVERFLOW_LOG_INTERVAL_MS) {
      this.log.warn({ sessionId: session.id, overflowedChunks: state.pending, totalOverflows: session.overflows },
        'buffer overflow: chunks evicted before every listener fetched them')
      state.at = now
      state.pending = 0
    }
    this.#overflowLoggedAt.set(session.id, state)
  }

  /** Expires idle sessions and forgets ended ones past their retention. */
  sweep (now: number): void {
    for (const session of this.#active.values()) {
      if (now - session.lastActivity >= this.options.sessionTimeoutMs) this.#end(session, now, 'expired')
      else session.metadata(now)
    }
    for (const [id, ended] of this.#ended) {
      if (now - ended.endedAt < this.options.endedRetentionMs) break
      this.#ended.delete(id)
    }
  }

  /**
   * Forgets a session another instance now owns (cluster fencing): it did not end, so no ended marker is
   * kept and 'moved' (not 'ended') is emitted. Returns false when the session is not active here.
   */
  relinquish (id: string): boolean {
    const session = this.#active.get(id)
    if (session === undefined) return false
    session.release()
    this.#active.delete(id)
    this.#overflowLoggedAt.delete(id)
    this.log.info({ sessionId: id, activeSessions: this.#active.size }, 'session moved to another instance: dropped here')
    this.events.emit('moved', session)
    return true
  }

  /** Drops everything (server shutdown). */
  clear (): void {
    for (const session of this.#active.values()) session.release()
    this.#active.clear()
    this.#ended.clear()
    this.#overflowLoggedAt.clear()
  }

  #end (session: ShareSession, now: number, reason: EndReason): EndedSession {
    const last = session.history.finish(now)
    if (last !== undefined) this.events.emit('song', session, last)
    session.release(now)
    this.#active.delete(session.id)
    this.#overflowLoggedAt.delete(session.id)
    const ended: EndedSession = {
      id: session.id,
      startTime: session.startTime,
      endedAt: now,
      reason,
      durationSeconds: Math.max(0, now - session.startTime) / 1000,
      bytesTransferred: session.bytesReceived,
      bytesSent: session.bytesSent,
      history: session.history.entries()
    }
    this.#remember(ended)
    this.log.info({
      sessionId: session.id,
      reason,
      durationSeconds: ended.durationSeconds,
      bytesTransferred: ended.bytesTransferred,
      chunks: session.chunksReceived,
      overflows: session.overflows
    }, reason === 'stopped' ? 'session stopped' : 'session expired')
    this.events.emit('ended', ended)
    return ended
  }

  #remember (ended: EndedSession): void {
    this.#ended.delete(ended.id)
    this.#ended.set(ended.id, ended)
    while (this.#ended.size > this.options.maxEndedSessions) {
      this.#ended.delete(this.#ended.keys().next().value as string)
    }
  }
}
