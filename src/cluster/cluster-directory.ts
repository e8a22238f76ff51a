import type { Redis } from 'ioredis'
import type { SessionRegistry, SessionSnapshot } from '../session/session-registry.js'
import type { EndedSession } from '../session/session-registry.js'
import { ENDED_KEY, parseEnded, parseSession, SESSION_KEY, snapshotKeys, type AudioEntry } from '../snapshot/snapshot-schema.js'
import { batches, errorMessage, readEndedMarkers, scanCaptures, unwrap } from '../snapshot/redis-reads.js'
import {
  claimedStart, claimOwner, EPOCH_KEY, HEARTBEAT_KEY, HEARTBEAT_TTL_MS, heartbeatKey, type ClaimBook, type ScriptReply
} from './cluster-claims.js'

export interface DirectoryLog {
  debug (obj: object, msg: string): void
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
}

export interface DirectoryOptions {
  instanceId: string
  sessionTimeoutMs: number
}

/** What the start-up restore did with the session snapshots it found. */
export interface RestoreCounts {
  restored: number
  /** Owned by another live instance: left to it. */
  owned: number
  expired: number
  active: number
  limit: number
  invalid: number
  droppedChunks: number
}

/** One session as the cluster-wide list shows it, read from Redis. */
export interface ClusterSession {
  id: string
  hash: Record<string, string>
  title: string | null
  artist: string | null
  /** The instance named by the claim (null without one) and whether its heartbeat is alive. */
  instanceId: string | null
  ownerAlive: boolean
}

/** An id with no snapshot in Redis is not looked up again for this long (receivers polling a dead id). */
const NEGATIVE_CACHE_MS = 1_000
const MAX_NEGATIVE_CACHE = 10_000

/**
 * The cluster's side of the Redis snapshot: this instance's heartbeat, taking sessions over from other
 * instances (on the first request for a session it does not hold, and at start-up for orphans), noticing
 * sessions it lost, and the cluster-wide session list. Nothing here runs for a session already held in
 * memory: the request path only reaches Redis for ids this instance does not know.
 */
export class ClusterDirectory {
  readonly startedAt = Date.now()
  readonly stats = { takeovers: 0, takeoversFromLive: 0, recreated: 0, movedAway: 0, heartbeatFailures: 0 }
  #inflight = new Map<string, Promise<void>>()
  #absent = new Map<string, number>()

  constructor (
    readonly client: Redis,
    readonly registry: SessionRegistry,
    readonly claims: ClaimBook,
    readonly options: DirectoryOptions,
    readonly log: DirectoryLog,
    /** Whether Redis is usable now (connected, restored, not failing). */
    readonly usable: () => boolean
  ) {}

  get instanceId (): string { return this.options.instanceId }

  /**
   * Refreshes this instance's heartbeat and checks the claims of every session it holds (one MGET): a
   * session whose claim names another owner was taken over, and is dropped here. Never throws.
   */
  async heartbeat (): Promise<void> {
    const held = this.claims.entries()
    try {
      const pipeline = this.client.pipeline()
      pipeline.set(heartbeatKey(this.instanceId), JSON.stringify({ startedAt: this.startedAt, sessions: this.registry.activeCount }), 'PX', HEARTBEAT_TTL_MS)
      if (held.length > 0) pipeline.mget(held.map(([id]) => snapshotKeys(id).claim))
      const results = unwrap(await pipeline.exec())
      if (held.length === 0) return
      const current = results[1] as Array<string | null>
      held.forEach(([id, value], i) => {
        const now = current[i]
        // No claim at all is not a loss (Redis restarted empty): the next fenced write puts it back.
        if (now !== null && now !== undefined && now !== value && this.claims.get(id) === value) this.lost(id, now)
      })
    } catch (err) {
      this.stats.heartbeatFailures++
      this.log.debug({ err: errorMessage(err) }, 'heartbeat failed')
    }
  }

  /** This instance no longer owns `id` (a fenced write failed, or the claim names someone else): drop it. */
  lost (id: string, claim: string): void {
    this.claims.delete(id)
    if (this.registry.relinquish(id)) {
      this.stats.movedAway++
      this.log.info({ sessionId: id, owner: claimOwner(claim)?.instanceId ?? null }, 'session taken over by another instance: no longer served here')
    }
  }

  /** Removes the heartbeat (graceful shutdown): this instance's sessions are orphans at once. */
  async close (): Promise<void> {
    await this.client.del(heartbeatKey(this.instanceId)).catch(() => {})
  }

  /**
   * A request named a session this instance does not hold: if Redis has it (a snapshot, or a claim whose
   * start record can recreate it), take it over (compare-and-set on its claim, fencing the previous owner,
   * dead or alive) and restore it, so the request is served here. Concurrent requests for one id share one
   * lookup. Never throws: without Redis, or when another instance wins the race, the request simply finds
   * no session.
   */
  async adopt (id: string): Promise<void> {
    if (!this.usable()) return
    const absentUntil = this.#absent.get(id)
    if (absentUntil !== undefined) {
      if (absentUntil > Date.now()) return
      this.#absent.delete(id)
    }
    let pending = this.#inflight.get(id)
    if (pending === undefined) {
      pending = this.#adopt(id).finally(() => this.#inflight.delete(id))
      this.#inflight.set(id, pending)
    }
    await pending
  }

  async #adopt (id: string): Promise<void> {
    const keys = snapshotKeys(id)
    try {
      const [claim, exists, ended] = unwrap(await this.client.pipeline().get(keys.claim).exists(keys.session).hgetall(keys.ended).exec()) as
        [string | null, number, Record<string, string>]
      // A claim without a snapshot (written by an older version, or the hash evicted) still names a live session.
      if (exists === 0 && claimedStart(claim) === undefined) {
        const marker = parseEnded(id, ended)
        if (marker !== undefined) this.registry.restoreEnded(marker, Date.now())
        this.#rememberAbsent(id)
        return
      }
      if (this.registry.activeCount >= this.registry.options.maxSessions) {
        this.log.warn({ sessionId: id }, 'not taking a session over: this instance is at its session limit')
        return
      }
      const owner = claimOwner(claim)
      const fromLive = owner !== undefined && owner.instanceId !== this.instanceId &&
        await this.client.exists(heartbeatKey(owner.instanceId)) === 1
      const counts = await this.#takeOverAndRestore([{ id, expected: claim ?? '' }], Date.now())
      if (counts.restored === 1) {
        this.stats.takeovers++
        if (fromLive) this.stats.takeoversFromLive++
        this.log.info({ sessionId: id, from: owner?.instanceId ?? null, ownerAlive: fromLive, epoch: claimOwner(this.claims.get(id))?.epoch },
          'took a session over from Redis')
      }
    } catch (err) {
      this.log.warn({ sessionId: id, err: errorMessage(err) }, 'could not look a session up in Redis')
    }
  }

  #rememberAbsent (id: string): void {
    this.#absent.set(id, Date.now() + NEGATIVE_CACHE_MS)
    while (this.#absent.size > MAX_NEGATIVE_CACHE) this.#absent.delete(this.#absent.keys().next().value as string)
  }

  /**
   * Start-up: of the session snapshots found, restores those this instance owns (a restart with the same
   * INSTANCE_ID), those without an owner and those whose owner's heartbeat is gone (orphans). Sessions of
   * another live instance are left to it (they move here only if the load balancer sends their requests here).
   */
  async restoreAtStart (ids: readonly string[], now: number): Promise<RestoreCounts> {
    const counts: RestoreCounts = { restored: 0, owned: 0, expired: 0, active: 0, limit: 0, invalid: 0, droppedChunks: 0 }
    for (const batch of batches(ids)) {
      const claims = await this.client.mget(batch.map((id) => snapshotKeys(id).claim))
      const owners = [...new Set(claims.map((c) => claimOwner(c)?.instanceId).filter((o): o is string => o !== undefined && o !== this.instanceId))]
      const alive = new Set<string>()
      if (owners.length > 0) {
        const beats = await this.client.mget(owners.map(heartbeatKey))
        owners.forEach((o, i) => { if (beats[i] !== null) alive.add(o) })
      }
      const candidates: Array<{ id: string, expected: string }> = []
      batch.forEach((id, i) => {
        const owner = claimOwner(claims[i])?.instanceId
        if (owner !== undefined && alive.has(owner)) counts.owned++
        else candidates.push({ id, expected: claims[i] ?? '' })
      })
      const done = await this.#takeOverAndRestore(candidates, now)
      for (const key of ['restored', 'expired', 'active', 'limit', 'invalid', 'droppedChunks'] as const) counts[key] += done[key]
    }
    return counts
  }

  /** Claims each session with a compare-and-set, then reads and restores the ones won. */
  async #takeOverAndRestore (candidates: ReadonlyArray<{ id: string, expected: string }>, now: number): Promise<RestoreCounts> {
    const counts: RestoreCounts = { restored: 0, owned: 0, expired: 0, active: 0, limit: 0, invalid: 0, droppedChunks: 0 }
    if (candidates.length === 0) return counts
    const pipeline = this.client.pipeline()
    for (const { id, expected } of candidates) {
      const keys = snapshotKeys(id)
      pipeline.msTakeOver(keys.claim, EPOCH_KEY, keys.session, this.instanceId, expected, this.options.sessionTimeoutMs)
    }
    const replies = unwrap(await pipeline.exec()) as ScriptReply[]
    const won = new Map<string, string>()
    candidates.forEach(({ id }, i) => {
      const [status, value] = replies[i]!
      if (status === 1) won.set(id, value)
      else counts.owned++
    })
    // After the compare-and-set the previous owner's writes are fenced: what is read now is final.
    const read = await this.readSnapshots([...won.keys()])
    counts.invalid += read.invalid
    counts.droppedChunks += read.droppedChunks
    for (const id of read.missing) {
      const recreated = recreateFromClaim(id, won.get(id)!, now)
      if (recreated === undefined) continue
      read.sessions.push(recreated)
      this.stats.recreated++
      this.log.warn({ sessionId: id }, 'a claimed session had no snapshot in Redis: recreated from its claim, without metadata or audio')
    }
    for (const snapshot of read.sessions) {
      const outcome = this.registry.restore(snapshot, now)
      const claim = won.get(snapshot.id)!
      if (outcome.state === 'restored') {
        counts.restored++
        this.claims.set(snapshot.id, claim)
        won.delete(snapshot.id)
      } else {
        counts[outcome.reason]++
      }
    }
    // Won but not restored (expired, malformed, at the limit, gone): the claim is given back, so another
    // instance can take the session.
    if (won.size > 0) {
      const give = this.client.pipeline()
      for (const [id, claim] of won) {
        const keys = snapshotKeys(id)
        give.msFenced(keys.claim, EPOCH_KEY, keys.ended, claim, '', this.instanceId, '', '2', 'del', keys.claim)
      }
      await give.exec()
    }
    return counts
  }

  /**
   * The snapshots of `ids`, read in batches of pipelined commands; malformed ones are counted and skipped,
   * ids without a session hash are listed as missing.
   */
  async readSnapshots (ids: readonly string[]): Promise<{ sessions: SessionSnapshot[], missing: string[], invalid: number, droppedChunks: number }> {
    const result = { sessions: [] as SessionSnapshot[], missing: [] as string[], invalid: 0, droppedChunks: 0 }
    for (const batch of batches(ids)) {
      const pipeline = this.client.pipeline()
      for (const id of batch) {
        const keys = snapshotKeys(id)
        pipeline.hgetall(keys.session)
        pipeline.hgetall(keys.metadata)
        pipeline.xrangeBuffer(keys.audio, '-', '+')
        pipeline.lrange(keys.chat, 0, -1)
        pipeline.get(keys.history)
      }
      const replies = unwrap(await pipeline.exec())
      batch.forEach((id, i) => {
        const [hash, metadata, audio, chat, history] = replies.slice(5 * i, 5 * i + 5) as
          [Record<string, string>, Record<string, string>, AudioEntry[], string[], string | null]
        if (Object.keys(hash).length === 0) {
          result.missing.push(id)
          return
        }
        const parsed = parseSession(id, hash, metadata, audio, chat, history)
        if ('error' in parsed) {
          result.invalid++
          this.log.warn({ sessionId: id, problem: parsed.error }, 'a session snapshot in Redis is malformed: not restored')
          return
        }
        result.droppedChunks += parsed.droppedChunks
        result.sessions.push(parsed.snapshot)
      })
    }
    return result
  }

  /**
   * The whole cluster as Redis knows it, for operators: every active session snapshot with its owner,
   * the ended markers, and the live instances. Reads as many keys as there are sessions: not for polling.
   */
  async listCluster (): Promise<{ sessions: ClusterSession[], ended: EndedSession[], instances: string[] }> {
    const [instances] = await scanCaptures(this.client, 'instance:*:heartbeat', [HEARTBEAT_KEY]) as [string[]]
    const [sessionIds, endedIds] = await scanCaptures(this.client, 'session:*', [SESSION_KEY, ENDED_KEY]) as [string[], string[]]
    const live = new Set(instances)
    const sessions: ClusterSession[] = []
    const ended = await readEndedMarkers(this.client, endedIds)
    for (const batch of batches(sessionIds)) {
      const pipeline = this.client.pipeline()
      for (const id of batch) {
        const keys = snapshotKeys(id)
        pipeline.hgetall(keys.session)
        pipeline.hmget(keys.metadata, 'title', 'artist')
        pipeline.get(keys.claim)
      }
      const replies = unwrap(await pipeline.exec())
      batch.forEach((id, i) => {
        const hash = replies[3 * i] as Record<string, string>
        if (hash.active !== 'true') return
        const [title, artist] = replies[3 * i + 1] as Array<string | null>
        const owner = claimOwner(replies[3 * i + 2] as string | null)?.instanceId ?? null
        sessions.push({ id, hash, title: title ?? null, artist: artist ?? null, instanceId: owner, ownerAlive: owner !== null && live.has(owner) })
      })
    }
    return { sessions, ended, instances }
  }
}

/**
 * A session whose claim survived its snapshot, as its start record describes it: the same id, start time
 * and sharer binding (so the sharer guard holds as before), no metadata or audio, and the next chunk's
 * sequence number accepted whatever it is. The claim's TTL follows the last activity, so the session is
 * live: it counts as active now. Undefined for a claim without a start record (or whose snapshot expired:
 * its claim goes with it).
 */
function recreateFromClaim (id: string, claim: string, now: number): SessionSnapshot | undefined {
  const start = claimedStart(claim)
  if (start === undefined) return undefined
  return { id, startTime: start.startTime, sharer: start.sharer, lastActivity: now, lastSequence: -1, bytesReceived: 0, chunksReceived: 0, chunks: [] }
}
