import type { ChainableCommander } from 'ioredis'
import type { BufferedChunk } from '../session/audio-ring.js'
import type { EndedSession, SessionRegistry } from '../session/session-registry.js'
import type { ShareSession } from '../session/session.js'
import {
  AUDIO_STREAM_TTL_MS, audioEntryFields, chatEntryJson, endedFields, flatFields, metadataFields, sessionFields, snapshotKeys
} from './snapshot-schema.js'
import type { ChatEntry } from '../chat/chat-log.js'
import { type ClaimBook, CommandList, EPOCH_KEY, startRecord } from '../cluster/cluster-claims.js'

export interface WriterOptions {
  sessionTimeoutMs: number
  metadataTtlMs: number
  endedRetentionMs: number
  /** Mirror the buffered audio too (the heavy part). */
  snapshotAudio: boolean
  /** Written into the claim key of every session this instance owns. */
  instanceId: string
  /** The claims this instance holds: every write of a session is fenced by its claim. */
  claims: ClaimBook
}

/** What changed in one session since the last flush. */
interface Dirty {
  /** Rewrite the hash and the metadata (new session, resync after an outage). */
  full: boolean
  metadata: boolean
  /**
   * Rewrite the audio stream from the ring (new session, resync, or too many chunks queued). The heavy
   * part: it may wait for a later flush (AUDIO_REWRITE_BUDGET); chunks arriving meanwhile are in the ring.
   */
  rewriteAudio: boolean
  /** The song history changed (a play started or ended). */
  history: boolean
  /** Chunks buffered since the last flush, oldest first. */
  chunks: BufferedChunk[]
  /** Rewrite the chat list whole (too many changes queued); implied by `full`. */
  chatRewrite: boolean
  /** Chat messages taken, and removed by the sharer, since the last flush. */
  chatAdded: ChatEntry[]
  chatRemoved: ChatEntry[]
}

/** An ended session whose keys are still to be deleted, with the claim its deletion is fenced by. */
interface Ending {
  readonly ended: EndedSession
  readonly claim: string
}

/** A flush's worth of work, kept so a failed pipeline can be retried. */
export interface Batch {
  /** Fenced writes queued: one per session or ending, in this order in the pipeline. */
  readonly commands: number
  readonly endings: readonly Ending[]
  /** Per fenced write in the pipeline, whose it is. */
  readonly writes: ReadonlyArray<{ readonly id: string, readonly kind: 'session' | 'ending' }>
}

/** Past this many queued chunks a session's audio is rewritten whole instead (bounds memory while Redis is slow). */
const MAX_QUEUED_CHUNKS = 64
/** Past this many queued chat changes the chat list is rewritten whole instead. */
const MAX_QUEUED_CHAT = 256
/**
 * Audio bytes (raw float32) one flush rewrites at most; the rest of a resync follows in the next flushes.
 * After an outage every session's stream is rewritten (50 sessions x 5 s of stereo = 88 MB): in one
 * pipeline that ran past the 2 s command timeout on a loaded machine, failed and started over, and every
 * session's hash waited behind it. Hashes, claims and metadata are always written at once; a session's
 * audio in whole (at least one session's per flush, whatever its size).
 */
export const AUDIO_REWRITE_BUDGET = 16 * 1024 * 1024
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
  #endings = new Map<string, Ending>()
  /** Per session, the hash fields last written, so an unchanged session costs nothing. */
  #written = new Map<string, string>()
  #resync = false

  constructor (readonly registry: SessionRegistry, readonly options: WriterOptions) {}

  /** Sessions with changes waiting for the next flush, plus ended ones waiting for their keys to go. */
  get pending (): number { return this.#dirty.size + this.#endings.size }

  started (session: ShareSession): void {
    this.#written.delete(session.id)
    const dirty = this.#mark(session.id)
    dirty.full = true
    dirty.rewriteAudio = true
  }

  metadata (session: ShareSession): void {
    this.#mark(session.id).metadata = true
  }

  song (session: ShareSession): void {
    this.#mark(session.id).history = true
  }

  audio (session: ShareSession, chunk: BufferedChunk): void {
    if (!this.options.snapshotAudio) return
    const dirty = this.#mark(session.id)
    if (dirty.rewriteAudio) return
    dirty.chunks.push(chunk)
    if (dirty.chunks.length > MAX_QUEUED_CHUNKS) {
      dirty.rewriteAudio = true
      dirty.chunks = []
    }
  }

  chatAdded (session: ShareSession, entry: ChatEntry): void {
    this.#queueChat(session.id, (dirty) => dirty.chatAdded.push(entry))
  }

  chatRemoved (session: ShareSession, entries: readonly ChatEntry[]): void {
    this.#queueChat(session.id, (dirty) => dirty.chatRemoved.push(...entries))
  }

  ended (ended: EndedSession): void {
    this.forget(ended.id)
    this.#queueEnding({ ended, claim: this.options.claims.get(ended.id) ?? '' })
    this.options.claims.delete(ended.id)
  }

  /** The session left this instance (ended, or moved to another one): nothing more to write for it. */
  forget (id: string): void {
    this.#dirty.delete(id)
    this.#written.delete(id)
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
        dirty.rewriteAudio = true
        dirty.chunks = []
      }
    }

    const writes: Array<{ id: string, kind: 'session' | 'ending' }> = []
    // A session's write carries its start record, for the claim it makes if it has none (started while Redis was away).
    const fenced = (id: string, kind: 'session' | 'ending', claim: string, claimTtl: string, record: string, commands: CommandList) => {
      const keys = snapshotKeys(id)
      pipeline.msFenced(keys.claim, EPOCH_KEY, keys.ended, claim, claimTtl, this.options.instanceId, record, ...commands.encode())
      writes.push({ id, kind })
    }
    // Deletions first: a session stopped and started again within one flush is then written afresh.
    const endings = [...this.#endings.values()]
    this.#endings.clear()
    for (const ending of endings) {
      const commands = new CommandList()
      this.#writeEnding(commands, ending.ended, now)
      fenced(ending.ended.id, 'ending', ending.claim, '', '', commands)
    }

    let audioBudget = AUDIO_REWRITE_BUDGET
    const later = new Map<string, Dirty>()
    for (const session of this.registry.activeSessions()) {
      const dirty = this.#dirty.get(session.id)
      const commands = new CommandList()
      this.#writeSession(commands, session, dirty?.full ?? false, now)
      if (dirty !== undefined) {
        if (dirty.full || dirty.metadata) this.#writeMetadata(commands, session, now)
        if (dirty.full || dirty.history) this.#writeHistory(commands, session, now)
        if (this.options.snapshotAudio && dirty.rewriteAudio) {
          const chunks = session.audio.chunksAfter(-1, Infinity, Infinity)
          const bytes = chunks.reduce((sum, c) => sum + 4 * c.length, 0)
          if (bytes <= audioBudget || audioBudget === AUDIO_REWRITE_BUDGET) {
            audioBudget -= bytes
            commands.call('del', snapshotKeys(session.id).audio)
            this.#writeChunks(commands, session, chunks)
          } else {
            later.set(session.id, { full: false, metadata: false, rewriteAudio: true, chunks: [], chatRewrite: false, chatAdded: [], chatRemoved: [], history: false })
          }
        } else if (this.options.snapshotAudio && dirty.chunks.length > 0) {
          this.#writeChunks(commands, session, dirty.chunks)
        }
        this.#writeChat(commands, session, dirty, now)
      }
      if (commands.length === 0) continue
      const ttl = remaining(this.options.sessionTimeoutMs, session.lastActivity, now)
      fenced(session.id, 'session', this.options.claims.get(session.id) ?? '', String(ttl), startRecord(session.startTime, session.sharer), commands)
    }
    this.#dirty = later
    return { commands: pipeline.length - before, endings, writes }
  }

  /** The pipeline of `batch` failed: keep its deletions and rewrite everything once Redis answers again. */
  failed (batch: Batch): void {
    for (const ending of batch.endings) {
      if (!this.#endings.has(ending.ended.id) && this.registry.lookup(ending.ended.id).state !== 'active') this.#queueEnding(ending)
    }
    this.#resync = true
  }

  #mark (id: string): Dirty {
    let dirty = this.#dirty.get(id)
    if (dirty === undefined) {
      dirty = { full: false, metadata: false, rewriteAudio: false, chunks: [], chatRewrite: false, chatAdded: [], chatRemoved: [], history: false }
      this.#dirty.set(id, dirty)
    }
    return dirty
  }

  #queueChat (id: string, queue: (dirty: Dirty) => void): void {
    const dirty = this.#mark(id)
    if (dirty.full || dirty.chatRewrite) return
    queue(dirty)
    if (dirty.chatAdded.length + dirty.chatRemoved.length > MAX_QUEUED_CHAT) {
      dirty.chatRewrite = true
      dirty.chatAdded = []
      dirty.chatRemoved = []
    }
  }

  #queueEnding (ending: Ending): void {
    this.#endings.delete(ending.ended.id)
    this.#endings.set(ending.ended.id, ending)
    while (this.#endings.size > MAX_QUEUED_ENDINGS) this.#endings.delete(this.#endings.keys().next().value as string)
  }

  /** Stopping or expiring deletes the session's keys but leaves an "ended" marker for the retention time. */
  #writeEnding (commands: CommandList, ended: EndedSession, now: number): void {
    const keys = snapshotKeys(ended.id)
    commands.call('del', keys.session, keys.metadata, keys.audio, keys.chat, keys.history, keys.claim, keys.ended)
    const ttl = this.options.endedRetentionMs - (now - ended.endedAt)
    if (ttl >= 1) {
      commands.call('hset', keys.ended, ...flatFields(endedFields(ended)))
      commands.call('pexpire', keys.ended, String(Math.round(ttl)))
    }
  }

  /** The hash when anything in it changed; its TTL (and the claim's, set by the fenced write) follows the last activity. */
  #writeSession (commands: CommandList, session: ShareSession, full: boolean, now: number): void {
    const fields = sessionFields(session, now)
    const signature = Object.values(fields).join('|')
    if (!full && this.#written.get(session.id) === signature) return
    this.#written.set(session.id, signature)
    const keys = snapshotKeys(session.id)
    const ttl = remaining(this.options.sessionTimeoutMs, session.lastActivity, now)
    if (full) commands.call('del', keys.ended)
    commands.call('hset', keys.session, ...flatFields(fields))
    commands.call('pexpire', keys.session, String(ttl))
    // The chat and the history live as long as their session, however long they have been quiet.
    if (session.chat.entries.length > 0) commands.call('pexpire', keys.chat, String(ttl))
    commands.call('pexpire', keys.history, String(ttl))
  }

  /**
   * The chat list: rewritten whole for a new or resynced session (or after too many changes), else the
   * messages removed since the last flush go (LREM by their stored text) and the new ones are appended,
   * capped to the history.
   */
  #writeChat (commands: CommandList, session: ShareSession, dirty: Dirty, now: number): void {
    const key = snapshotKeys(session.id).chat
    const { chat } = session
    if (dirty.full || dirty.chatRewrite) {
      commands.call('del', key)
      if (chat.entries.length > 0) commands.call('rpush', key, ...chat.entries.map(chatEntryJson))
    } else {
      // Taken and removed within one flush: never written.
      const removed = new Set(dirty.chatRemoved)
      const added = dirty.chatAdded.filter((e) => !removed.has(e))
      for (const entry of dirty.chatRemoved) if (!dirty.chatAdded.includes(entry)) commands.call('lrem', key, '1', chatEntryJson(entry))
      if (added.length > 0) {
        commands.call('rpush', key, ...added.map(chatEntryJson))
        commands.call('ltrim', key, String(-chat.limits.history), '-1')
      }
      if (added.length === 0 && dirty.chatRemoved.length === 0) return
    }
    if (chat.entries.length > 0) {
      commands.call('pexpire', key, String(remaining(this.options.sessionTimeoutMs, session.lastActivity, now)))
    }
  }

  /** The whole history (a few hundred plays at most), written only when a play started or ended. */
  #writeHistory (commands: CommandList, session: ShareSession, now: number): void {
    const key = snapshotKeys(session.id).history
    const entries = session.history.entries()
    if (entries.length === 0) return
    const ttl = remaining(this.options.sessionTimeoutMs, session.lastActivity, now)
    commands.call('set', key, JSON.stringify(entries), 'PX', String(ttl))
  }

  #writeMetadata (commands: CommandList, session: ShareSession, now: number): void {
    const key = snapshotKeys(session.id).metadata
    const stored = session.metadata(now)
    commands.call('del', key)
    if (stored === undefined) return
    commands.call('hset', key, ...flatFields(metadataFields(stored)))
    commands.call('pexpire', key, String(remaining(this.options.metadataTtlMs, stored.receivedAt, now)))
  }

  /** Chunks still in the ring (one evicted since it arrived is gone for good), capped to what the ring holds. */
  #writeChunks (commands: CommandList, session: ShareSession, chunks: readonly BufferedChunk[]): void {
    const ring = session.audio
    const key = snapshotKeys(session.id).audio
    const cap = String(Math.max(1, ring.chunkCount))
    let written = 0
    for (const chunk of chunks) {
      if (!ring.holds(chunk)) continue
      commands.call('xadd', key, 'MAXLEN', '~', cap, '*', ...audioEntryFields(chunk, ring.samplesOf(chunk)))
      written++
    }
    if (written > 0) commands.call('pexpire', key, String(AUDIO_STREAM_TTL_MS))
  }
}

