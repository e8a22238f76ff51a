import type { Redis } from 'ioredis'
import type { ComponentHealth } from '../observability/health-checks.js'
import { DomainError } from '../errors.js'
import type { EndedSession, RegistryEvents, SessionRegistry, SessionStore } from '../session/session-registry.js'
import type { ShareSession } from '../session/session.js'
import { ENDED_KEY, flatFields, SESSION_KEY, sessionFields, snapshotKeys } from './snapshot-schema.js'
import { SnapshotWriter, type Batch, type WriterOptions } from './snapshot-writer.js'
import { ClaimBook, defineClusterScripts, EPOCH_KEY, startRecord, type ScriptReply } from '../cluster/cluster-claims.js'
import { ClusterDirectory } from '../cluster/cluster-directory.js'
import { errorMessage, readEndedMarkers, scanCaptures } from './redis-reads.js'

export interface RedisSnapshotOptions extends Omit<WriterOptions, 'claims'> {
  /** How long start-up waits for Redis before serving without it. */
  connectTimeoutMs: number
}

export interface SnapshotLog {
  debug (obj: object, msg: string): void
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
  error (obj: object, msg: string): void
}

/**
 * Keeps every session in Redis so a restart or a crash loses nothing but the requests made while the
 * server was down. Requests never wait for Redis: registry events only mark sessions dirty and `flush()`
 * (run on a timer) writes them in one pipeline. When Redis is down or failing the server keeps serving
 * from memory, reports itself degraded, logs once per outage, and rewrites every live session when
 * Redis answers again. As the registry's store it commits every start (claim and snapshot in one script)
 * and takes over sessions of other instances when their requests arrive here.
 */
export class RedisSnapshot implements SessionStore {
  readonly writer: SnapshotWriter
  /** Ownership: claims, heartbeat, takeovers (see cluster-claims.ts). */
  readonly directory: ClusterDirectory
  readonly claims = new ClaimBook()
  /** Connected and ready. */
  #up = false
  /** Sessions in Redis have been read back (once per process, as soon as Redis is reachable). */
  #restored = false
  #restoring: Promise<void> | undefined
  #flushing: Promise<void> | undefined
  #connectionError: string | undefined
  #writeError: string | undefined
  /** Back after an outage, every live session not yet rewritten. */
  #resyncing = false
  #degradedSince: number | undefined
  #started = false
  #closed = false
  readonly stats = { outages: 0, flushes: 0, flushFailures: 0, lastFlushMs: 0, restoredSessions: 0 }
  #unsubscribe: Array<() => void> = []

  constructor (
    readonly client: Redis,
    readonly registry: SessionRegistry,
    readonly options: RedisSnapshotOptions,
    readonly log: SnapshotLog
  ) {
    defineClusterScripts(client)
    this.writer = new SnapshotWriter(registry, { ...options, claims: this.claims })
    this.directory = new ClusterDirectory(client, registry, this.claims, options, log, () => this.degradedReason === undefined)
  }

  /** Why the snapshot is not working, or undefined when it is. */
  get degradedReason (): string | undefined {
    if (!this.#up) return `Redis unreachable (${this.#connectionError ?? 'connecting'}): sessions are kept in memory only`
    if (!this.#restored) return 'sessions not restored from Redis yet'
    if (this.#writeError !== undefined) return `Redis writes failing (${this.#writeError}): sessions are kept in memory only`
    if (this.#resyncing) return 'Redis is back: rewriting every live session'
    return undefined
  }

  health (): ComponentHealth {
    const reason = this.degradedReason
    const metrics = { up: reason === undefined ? 1 : 0, ...this.stats, ...this.directory.stats, pendingSessions: this.writer.pending }
    return reason === undefined ? { status: 'ok', metrics } : { status: 'degraded', reason, metrics }
  }

  /**
   * Follows the registry and connects. Resolves once the sessions found in Redis are restored, or after
   * `connectTimeoutMs` without Redis (it then keeps trying in the background and restores when it can).
   */
  async start (now = Date.now()): Promise<void> {
    this.#subscribe()
    const ready = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), this.options.connectTimeoutMs).unref()
      this.client.once('ready', () => {
        clearTimeout(timer)
        resolve(true)
      })
    })
    // A failed first attempt rejects, but ioredis keeps reconnecting; 'error' and 'ready' report the outcome.
    this.client.connect().catch(() => {})
    if (await ready) {
      await this.#restore(now)
    } else {
      this.log.warn({ waitedMs: this.options.connectTimeoutMs, reason: this.#connectionError ?? 'no answer' },
        'Redis unreachable at start-up: serving from memory without the sessions it holds; they are restored once it answers')
      // This is the outage's one log line.
      this.#degradedSince = now
      this.stats.outages++
    }
    this.#started = true
    this.#noteState(Date.now())
  }

  /** One timer tick: restores if that is still owed, else writes what changed. Never throws. */
  async tick (now = Date.now()): Promise<void> {
    if (!this.#up || this.#closed || this.#restoring !== undefined || this.#flushing !== undefined) return
    if (!this.#restored) {
      await this.#restore(now)
      this.#noteState(now)
      return
    }
    await this.#flush(now)
  }

  /**
   * Commits a start: one script claims the id for this instance (with a new ownership epoch and the
   * session's start record) and writes the session's hash, so from the moment the sharer hears its start
   * succeeded, another instance can take the session over whatever happens to this one. An id another
   * instance holds is SESSION_EXISTS (409), also when that instance is gone (the session is still live: its
   * first request moves it). Without Redis the start goes ahead unclaimed: availability first (the first
   * flush once Redis answers claims it).
   */
  async commitStart (session: ShareSession): Promise<void> {
    const id = session.id
    if (this.degradedReason !== undefined) {
      this.log.info({ sessionId: id }, 'session id not claimed in Redis: Redis is unavailable')
      return
    }
    const keys = snapshotKeys(id)
    let reply: ScriptReply
    try {
      reply = await this.client.msStart(keys.claim, EPOCH_KEY, keys.session, keys.metadata, keys.audio, keys.ended, this.options.instanceId,
        this.options.sessionTimeoutMs, startRecord(session.startTime, session.sharer), ...flatFields(sessionFields(session, Date.now())))
    } catch (err) {
      this.log.warn({ sessionId: id, err: errorMessage(err) }, 'session id not claimed in Redis: the claim failed')
      return
    }
    const [status, value] = reply
    if (status !== 1) throw new DomainError('SESSION_EXISTS', 'Session ID already in use')
    this.claims.set(id, value)
  }

  /** A request names a session this instance does not hold: take it over from Redis if it is there. */
  adopt (id: string): Promise<void> {
    return this.directory.adopt(id)
  }

  /** Final flush (when Redis is there), then disconnects. Sessions stay in Redis for the next start. */
  async close (): Promise<void> {
    this.#closed = true
    this.registry.useStore(undefined)
    for (const off of this.#unsubscribe) off()
    await this.#flushing
    await this.#restoring
    if (this.#up && this.#restored) await this.#flush(Date.now())
    if (this.#up) await this.directory.close()
    if (this.client.status === 'ready') {
      await this.client.quit().catch(() => this.client.disconnect())
    } else {
      this.client.disconnect()
    }
  }

  #subscribe (): void {
    this.registry.useStore(this)
    const on = <K extends keyof RegistryEvents>(event: K, listener: (...args: RegistryEvents[K]) => void) => {
      this.registry.events.on(event, listener as never)
      this.#unsubscribe.push(() => this.registry.events.off(event, listener as never))
    }
    on('started', (session) => this.writer.started(session))
    on('metadata', (session) => this.writer.metadata(session))
    on('song', (session) => this.writer.song(session))
    on('audio', (session, chunk) => this.writer.audio(session, chunk))
    on('chat', (session, entry) => this.writer.chatAdded(session, entry))
    on('chat-removed', (session, removal) => this.writer.chatRemoved(session, removal.entries))
    on('ended', (ended) => this.writer.ended(ended))
    on('moved', (session) => this.writer.forget(session.id))

    this.client.on('ready', () => {
      const wasDegraded = this.#degradedSince !== undefined
      this.#up = true
      this.#connectionError = undefined
      // Whatever changed while Redis was away is rewritten whole.
      if (wasDegraded) {
        this.writer.resync()
        this.#resyncing = true
      }
      this.#noteState(Date.now())
    })
    this.client.on('close', () => {
      this.#up = false
      this.#noteState(Date.now())
    })
    this.client.on('error', (err: Error) => {
      // Every reconnect attempt fails with one of these; the state change is logged once, in #noteState.
      this.#connectionError = err.message
      this.log.debug({ err: err.message }, 'Redis connection error')
    })
  }

  /** Logs the transitions between healthy and degraded, once each way per outage. */
  #noteState (now: number): void {
    if (!this.#started || this.#closed) return
    const reason = this.degradedReason
    if (reason !== undefined && this.#degradedSince === undefined) {
      this.#degradedSince = now
      this.stats.outages++
      this.log.warn({ reason }, 'Redis snapshot degraded: serving from memory until Redis answers again')
    } else if (reason === undefined && this.#degradedSince !== undefined) {
      this.log.info({ downMs: now - this.#degradedSince, activeSessions: this.registry.activeCount },
        'Redis snapshot healthy again: every live session rewritten to Redis')
      this.#degradedSince = undefined
    }
  }

  async #flush (now: number): Promise<void> {
    const pipeline = this.client.pipeline()
    const resyncing = this.#resyncing
    const batch = this.writer.prepare(pipeline, now)
    if (batch.commands === 0) {
      this.#resyncing = false
      this.#noteState(now)
      return
    }
    const begun = performance.now()
    this.#flushing = (async () => {
      try {
        const results = await pipeline.exec()
        const failed = results?.find(([err]) => err !== null)?.[0]
        if (failed) throw failed
        this.#fenced(batch.writes, results!.map(([, reply]) => reply as ScriptReply))
        this.stats.flushes++
        this.stats.lastFlushMs = Math.round((performance.now() - begun) * 10) / 10
        this.#writeError = undefined
        if (resyncing) this.#resyncing = false
      } catch (err) {
        this.writer.failed(batch)
        this.stats.flushFailures++
        this.#writeError = errorMessage(err)
        this.log.debug({ err: errorMessage(err), commands: batch.commands }, 'Redis snapshot flush failed; retried whole on the next tick')
      } finally {
        this.#flushing = undefined
      }
    })()
    await this.#flushing
    this.#noteState(Date.now())
  }

  /** Applies the answers of a flush's fenced writes: a session whose claim moved on is dropped here. */
  #fenced (writes: Batch['writes'], replies: readonly ScriptReply[]): void {
    writes.forEach(({ id, kind }, i) => {
      const [status, value] = replies[i]!
      if (status === 2 && kind === 'session') this.claims.set(id, value)
      // A fenced ending: someone else owns (or ended) the id by now; their keys are left alone.
      if (status === 0 && kind === 'session') this.directory.lost(id, value)
    })
  }

  async #restore (now: number): Promise<void> {
    this.#restoring = (async () => {
      try {
        const found = await this.#read()
        let endedMarkers = 0
        for (const ended of found.ended) {
          if (this.registry.restoreEnded(ended, now)) endedMarkers++
        }
        const counts = { ...await this.directory.restoreAtStart(found.sessionIds, now), endedMarkers }
        this.stats.restoredSessions += counts.restored
        this.#restored = true
        this.log.info(counts, `restored ${counts.restored} session(s) from Redis`)
      } catch (err) {
        this.log.error({ err: errorMessage(err) }, 'reading sessions back from Redis failed; retrying on the next tick')
      } finally {
        this.#restoring = undefined
      }
    })()
    await this.#restoring
  }

  /** The ids of every session snapshot in Redis, and the ended markers (read whole, oldest end first). */
  async #read (): Promise<{ sessionIds: string[], ended: EndedSession[] }> {
    const [sessionIds, endedIds] = await scanCaptures(this.client, 'session:*', [SESSION_KEY, ENDED_KEY]) as [string[], string[]]
    return { sessionIds, ended: await readEndedMarkers(this.client, endedIds) }
  }
}
