import type { AudioFormat } from './audio-format.js'
import { AudioRing, type BufferedChunk, type NewChunk } from './audio-ring.js'
import { ListenerTracker, type ListenerChanges } from './listener-tracker.js'
import type { SharerBinding } from './sharer-binding.js'
import { ChatLog, type ChatLimits, type ChatSnapshot } from '../chat/chat-log.js'
import { SongHistory, type SongEntry } from '../history/song-history.js'

export interface SongMetadata {
  title: string
  artist: string
  lyrics: string | null
  hasSyncedLyrics: boolean
  elapsedSeconds: number
  totalSeconds: number
  thumbnailData: string | null
  timestamp: number
}

export interface StoredMetadata {
  readonly value: SongMetadata
  /** The REST body, serialised once per update (as bytes: every poll writes the same Buffer). */
  readonly json: Buffer
  readonly receivedAt: number
}

export interface SessionLimits {
  audioBufferSeconds: number
  joinBurstSeconds: number
  metadataTtlMs: number
  listenerWindowMs: number
  maxListenersPerSession: number
  chat: ChatLimits
}

export interface IncomingChunk {
  readonly samples: Float32Array
  readonly format: AudioFormat
  readonly timestamp: number
  readonly sequenceNumber: number
  /** The chunk's REST JSON when it arrived as such (see NewChunk). */
  readonly json?: Buffer | undefined
  /** Decoded bytes, counted in bytesTransferred. */
  readonly byteLength: number
}

/** A duplicate (sequence not after the last accepted one) is not stored. */
export type AppendOutcome =
  | { readonly buffered: false }
  | {
    readonly buffered: true
    readonly chunk: BufferedChunk
    /** Evicted chunks that some current receiver had not fetched yet. */
    readonly overflowed: number
    readonly formatChanged: boolean
  }

/** The counters and metadata a snapshot (Redis) brings back after a restart. */
export interface RestoredState {
  readonly sharer?: SharerBinding | undefined
  readonly lastActivity: number
  readonly lastSequence: number
  readonly bytesReceived: number
  readonly chunksReceived: number
  readonly metadata?: { readonly value: SongMetadata, readonly receivedAt: number } | undefined
  readonly chat?: ChatSnapshot | undefined
  /** The song history so far, oldest first. */
  readonly history?: readonly SongEntry[] | undefined
  /** Whether the sharer asked for the session to be recorded (undefined: it said nothing). */
  readonly recordingPreference?: boolean | undefined
}

export const MAX_CHUNKS_PER_POLL = 10

/** One live share: its audio window, its latest metadata, its song history, who is listening and what they say. */
export class ShareSession {
  readonly audio: AudioRing
  readonly listeners: ListenerTracker
  readonly chat: ChatLog
  /** The songs played so far (from the metadata updates). */
  readonly history = new SongHistory()
  lastActivity: number
  /** Who may change this session (see sharer-guard.ts); set when it starts. */
  sharer: SharerBinding | undefined
  /** The sharer's say on recording this session (POST /:id/recording); undefined: RECORDING_DEFAULT applies. */
  recordingPreference: boolean | undefined
  bytesReceived = 0
  /** Decoded audio bytes served to receivers (4 per float32 sample of every chunk a poll returned). */
  bytesSent = 0
  chunksReceived = 0
  overflows = 0
  #lastSequence = -1
  #metadata: StoredMetadata | undefined

  constructor (readonly id: string, readonly startTime: number, readonly limits: SessionLimits, listenerChanges?: ListenerChanges) {
    this.lastActivity = startTime
    // JSON is kept for the audio new and caught-up receivers read: the join burst, at least a second.
    this.audio = new AudioRing(limits.audioBufferSeconds, Math.max(limits.joinBurstSeconds, 1))
    this.listeners = new ListenerTracker(limits.listenerWindowMs, limits.maxListenersPerSession, listenerChanges)
    this.chat = new ChatLog(limits.chat)
  }

  get lastSequence (): number { return this.#lastSequence }

  /** Sharer activity keeps a session alive; receivers' polls do not. */
  touch (now: number): void {
    this.lastActivity = Math.max(this.lastActivity, now)
  }

  setMetadata (value: SongMetadata, now: number): number {
    this.touch(now)
    this.#metadata = { value, json: Buffer.from(JSON.stringify(value)), receivedAt: now }
    return this.listeners.count(now)
  }

  /** The latest metadata while it is fresh (posted within the TTL). */
  metadata (now: number): StoredMetadata | undefined {
    const m = this.#metadata
    if (m !== undefined && now - m.receivedAt > this.limits.metadataTtlMs) {
      this.#metadata = undefined
      return undefined
    }
    return m
  }

  appendAudio (chunk: IncomingChunk, now: number): AppendOutcome {
    this.touch(now)
    if (chunk.sequenceNumber <= this.#lastSequence) {
      return { buffered: false }
    }
    this.#lastSequence = chunk.sequenceNumber
    this.bytesReceived += chunk.byteLength
    this.chunksReceived++
    const { stored, evicted, formatChanged } = this.audio.append(chunk)
    let overflowed = 0
    for (const old of evicted) {
      if (this.listeners.anyMissing(old.sequenceNumber, now)) overflowed++
    }
    this.overflows += overflowed
    return { buffered: true, chunk: stored, overflowed, formatChanged }
  }

  /** What a receiver polling `since` gets; it is then counted as a listener holding what it got. */
  pollAudio (since: number, listenerKey: string, now: number): readonly BufferedChunk[] {
    const chunks = this.audio.chunksAfter(since, MAX_CHUNKS_PER_POLL, this.limits.joinBurstSeconds)
    const held = chunks.at(-1)?.sequenceNumber ?? (since >= 0 ? since : undefined)
    this.listeners.touch(listenerKey, now, held)
    for (const chunk of chunks) this.bytesSent += chunk.length * Float32Array.BYTES_PER_ELEMENT
    return chunks
  }

  /**
   * Brings back a snapshot after a restart: the buffered chunks (oldest first; any not after the previous
   * one is skipped), the counters, the metadata with its original arrival time (so its TTL runs on) and
   * the chat.
   */
  restore (state: RestoredState, chunks: readonly NewChunk[]): void {
    this.sharer = state.sharer
    for (const chunk of chunks) {
      if (chunk.sequenceNumber > this.audio.newestSequence) this.audio.append(chunk)
    }
    this.lastActivity = Math.max(this.startTime, state.lastActivity)
    this.#lastSequence = Math.max(state.lastSequence, this.audio.newestSequence)
    this.bytesReceived = state.bytesReceived
    this.chunksReceived = state.chunksReceived
    if (state.metadata !== undefined) {
      const { value, receivedAt } = state.metadata
      this.#metadata = { value, json: Buffer.from(JSON.stringify(value)), receivedAt }
    }
    if (state.chat !== undefined) this.chat.restore(state.chat)
    if (state.history !== undefined) this.history.restore(state.history)
    this.recordingPreference = state.recordingPreference
  }

  /** Frees the audio and the chat, and forgets the listeners (who stop counting by `now` at the latest). */
  release (now?: number): void {
    this.audio.clear()
    this.chat.clear()
    this.listeners.clear(now)
    this.#metadata = undefined
  }
}
