import type { ChainableCommander } from 'ioredis'
import type { BufferedChunk } from './audio-ring.js'
import type { EndedSession, SessionRegistry } from './session-registry.js'
import type { ShareSession } from './session.js'
import {
  AUDIO_STREAM_TTL_MS, audioEntryFields, endedFields, metadataFields, sessionFields, snapshotKeys
} from './snapshot-schema.js'

export interface WriterOptions {
  sessionTimeoutMs: number
  metadataTtlMs: number
  endedRetentionMs: number
  /** Mirror the buffered audio too (the heavy part). */
  snapshotAudio: boolean
  /** Written into the claim key of every session this instance owns. */
  instanceId: string
}

/** What changed in one session since the last flush. */
interface Dirty {
  /** Rewrite everything (new session, resync after an outage, or too many chunks queued). */
  full: boolean
  metadata: boolean
  /** Chunks buffered since the last flush, oldest first. */
  chunks: BufferedChunk[]
}

/** A flush's worth of work, kept so a failed pipeline can be retried. */
export interface Batch {
  readonly commands: number
  readonly endings: readonly EndedSession[]
}

/** Past this many queued chunks a session is rewritten whole instead (bounds memory while Redis is slow). */
const MAX_QUEUED_CHUNKS = 64
/** Ended sessions whose keys are still to be deleted, at most (only grows while Redis is down). */
const MAX_QUEUED_ENDINGS = 10_000

const remaining = (ttlMs: number, since: number, now: number) => Math.max(1, Math.round(ttlMs - (now - since)))

/**
 * Mirrors the registry into Redis off the request path. Registry events only mark what changed (cheap,
 * synchronous); `prepare` turns everything changed since the last call into one pipeline: a session's hash
 * is written at most once per flush however many requests touched it, and only when it changed.
 */
export class SnapshotWriter {
  #dirty = new Map<string, Dirty>()
  #endings = new Map<string, EndedSession>()
  /** Per session, the hash fields last written, so an unchanged session costs nothing. */
  #written = new Map<string, string>()
  #resync = false

  constructor (readonly registry: SessionRegistry, readonly options: WriterOptions) {}

  /** Sessions with changes waiting for the next flush, plus ended ones waiting for their keys to go. */
  get pending (): number { return this.#dirty.size + this.#endings.size }

  started (session: ShareSession): void {
    this.#written.delete(session.id)
    this.#mark(session.id).full = true
  }

  metadata (session: ShareSession): void {
    this.#mark(session.id).metadata = true
  }

  audio (session: ShareSession, chunk: BufferedChunk): void {
    if (!this.options.snapshotAudio) return
    const dirty = this.#mark(session.id)
    if (dirty.full) return
    dirty.chunks.push(chunk)
    if (dirty.chunks.length > MAX_QUEUED_CHUNKS) {
      dirty.full = true
      dirty.chunks = []
    }
  }

  ended (ended: EndedSession): void {
    this.#dirty.delete(ended.id)
    this.#written.delete(ended.id)
    this.#queueEnding(ended)
  }

  /** Rewrite every live session on the next flush (after an outage or a failed flush). */
  resync (): void {
    this.#resync = true
  }

  /** Queues every change since the last call onto `pipeline`. */
  prepare (pipeline: ChainableCommander, now: number): Batch {
    const before = pipeline.length
    if (this.#resync) {
      this.#resync = false
      this.#written.clear()
      for (const session of this.registry.activeSessions()) {
        const dirty = this.#mark(session.id)
        dirty.full = true
        dirty.metadata = true
      }
    }

    // Deletions first: a session stopped and started again within one flush is then written afresh.
    const endings = [...this.#endings.values()]
    this.#endings.clear()
    for (const ended of endings) this.#writeEnding(pipeline, ended, now)

    for (const session of this.registry.activeSessions()) {
      const dirty = this.#dirty.get(session.id)
      this.#writeSession(pipeline, session, dirty?.full ?? false, now)
      if (dirty === undefined) continue
      const keys = snapshotKeys(session.id)
      if (dirty.full || dirty.metadata) this.#writeMetadata(pipeline, session, now)
      if (!this.options.snapshotAudio) continue
      if (dirty.full) {
        pipeline.del(keys.audio)
        this.#writeChunks(pipeline, session, session.audio.chunksAfter(-1, Infinity, Infinity))
      } else if (dirty.chunks.length > 0) {
        this.#writeChunks(pipeline, session, dirty.chunks)
      }
    }
    this.#dirty.clear()
    return { commands: pipeline.length - before, endings }
  }

  /** The pipeline of `batch` failed: keep its deletions and rewrite everything once Redis answers again. */
  failed (batch: Batch): void {
    for (const ended of batch.endings) {
      if (!this.#endings.has(ended.id) && this.registry.lookup(ended.id).state !== 'active') this.#queueEnding(ended)
    }
    this.#resync = true
  }

  #mark (id: string): Dirty {
    let dirty = this.#dirty.get(id)
    if (dirty === undefined) {
      dirty = { full: false, metadata: false, chunks: [] }
      this.#dirty.set(id, dirty)
    }
    return dirty
  }

  #queueEnding (ended: EndedSession): void {
    this.#endings.delete(ended.id)
    this.#endings.set(ended.id, ended)
    while (this.#endings.size > MAX_QUEUED_ENDINGS) this.#endings.delete(this.#endings.keys().next().value as string)
  }

  /** Stopping or expiring deletes the session's keys but leaves an "ended" marker for the retention time. */
  #writeEnding (pipeline: ChainableCommander, ended: EndedSession, now: number): void {
    const keys = snapshotKeys(ended.id)
    pipeline.del(keys.session, keys.metadata, keys.audio, keys.claim, keys.ended)
    const ttl = this.options.endedRetentionMs - (now - ended.endedAt)
    if (ttl >= 1) {
      pipeline.hset(keys.ended, endedFields(ended))
      pipeline.pexpire(keys.ended, Math.round(ttl))
    }
  }

  /** The hash (and the claim) when anything in it changed; its TTL follows the last activity. */
  #writeSession (pipeline: ChainableCommander, session: ShareSession, full: boolean, now: number): void {
    const fields = sessionFields(session, now)
    const signature = Object.values(fields).join('|')
    if (!full && this.#written.get(session.id) === signature) return
    this.#written.set(session.id, signature)
    const keys = snapshotKeys(session.id)
    const ttl = remaining(this.options.sessionTimeoutMs, session.lastActivity, now)
    if (full) pipeline.del(keys.ended)
    pipeline.hset(keys.session, fields)
    pipeline.pexpire(keys.session, ttl)
    pipeline.set(keys.claim, this.options.instanceId, 'PX', ttl)
  }

  #writeMetadata (pipeline: ChainableCommander, session: ShareSession, now: number): void {
    const key = snapshotKeys(session.id).metadata
    const stored = session.metadata(now)
    pipeline.del(key)
    if (stored === undefined) return
    pipeline.hset(key, metadataFields(stored))
    pipeline.pexpire(key, remaining(this.options.metadataTtlMs, stored.receivedAt, now))
  }

  /** Chunks still in the ring (one evicted since it arrived is gone for good), capped to what the ring holds. */
  #writeChunks (pipeline: ChainableCommander, session: ShareSession, chunks: readonly BufferedChunk[]): void {
    const ring = session.audio
    const key = snapshotKeys(session.id).audio
    const cap = String(Math.max(1, ring.chunkCount))
    let written = 0
    for (const chunk of chunks) {
      if (!ring.holds(chunk)) continue
      pipeline.xadd(key, 'MAXLEN', '~', cap, '*', ...audioEntryFields(chunk, ring.samplesOf(chunk)))
      written++
    }
    if (written > 0) pipeline.pexpire(key, AUDIO_STREAM_TTL_MS)
  }
}
