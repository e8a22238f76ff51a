import { DomainError } from '../errors.js'
import type { StatsConfig } from '../config.js'
import { SessionStats } from './session-stats.js'
import { SqlStatsStore } from './sql-store.js'
import type { Period, SessionPage, SongOrder, SongRow, StatsStore, Summary } from './store.js'
import { WriteBehind, type WriteBehindLog, type WriteBehindStatus } from './write-behind.js'

export interface StatsLog extends WriteBehindLog {
  error (obj: object, msg: string): void
}

export interface StatsServiceOptions {
  readonly flushIntervalMs: number
  readonly batchRows: number
  readonly maxPendingRows: number
  readonly secret: string
  /** A session nobody wrote for this long is closed as `lost` (its instance died without ending it). */
  readonly lostAfterMs: number
}

/** Where the store is, for /api/stats answers: never the connection string. */
export interface StatsRecorderStatus extends WriteBehindStatus {
  readonly store: 'sqlite' | 'postgres'
  readonly trackedSessions: number
}

const LOST_SWEEP_INTERVAL_MS = 60_000

/**
 * SQLite at `sqlitePath`, or PostgreSQL when `databaseUrl` is set. Only the driver in use is loaded (the
 * other would cost the process memory for nothing), here, so that a driver that cannot load (a broken
 * install) fails the start rather than reading as a database that is down; nothing connects until `open`.
 */
export async function createStatsStore (config: Pick<StatsConfig, 'sqlitePath' | 'databaseUrl'>): Promise<StatsStore> {
  const url = config.databaseUrl
  if (url === undefined) {
    const { SqliteDriver } = await import('./sqlite-driver.js')
    return new SqlStatsStore('sqlite', () => new SqliteDriver(config.sqlitePath))
  }
  const { PostgresDriver } = await import('./postgres-driver.js')
  return new SqlStatsStore('postgres', () => new PostgresDriver(url))
}

/**
 * Statistics of this process: session events go to `recorder` (synchronous, cheap), rows wait in the
 * write-behind queue, and `tick` (a timer) checkpoints live sessions and writes the queue in one batch.
 * The database being down never reaches a caller of the recorder: rows wait (bounded) and are retried.
 */
export class StatsService {
  readonly queue: WriteBehind
  readonly recorder: SessionStats
  #lastSweep = 0
  #closed = false

  constructor (readonly store: StatsStore, readonly options: StatsServiceOptions, readonly log: StatsLog) {
    this.queue = new WriteBehind((batch) => store.write(batch),
      { maxPendingRows: options.maxPendingRows, batchRows: options.batchRows }, log,
      () => { setImmediate(() => { void this.queue.flush() }) })
    this.recorder = new SessionStats(this.queue, options.secret)
  }

  /** Opens the store (migrating it); a failure is logged and retried by every tick until it works. */
  async open (): Promise<boolean> {
    try {
      await this.store.open()
      return true
    } catch (err) {
      this.log.error({ err: messageOf(err), store: this.store.kind },
        'statistics database unavailable at start-up: recording in memory and retrying')
      return false
    }
  }

  /** Checkpoints live sessions, closes other instances' lost sessions now and then, writes what waits. */
  async tick (now: number): Promise<void> {
    if (this.#closed) return
    this.recorder.checkpoint(now)
    await this.queue.flush()
    if (now - this.#lastSweep >= LOST_SWEEP_INTERVAL_MS && this.queue.status().up) {
      this.#lastSweep = now
      try {
        const closed = await this.store.closeLostSessions(now - this.options.lostAfterMs)
        if (closed > 0) this.log.info({ sessions: closed }, 'statistics: sessions whose instance stopped writing closed as lost')
      } catch (err) {
        this.log.warn({ err: messageOf(err) }, 'statistics: closing lost sessions failed')
      }
    }
  }

  status (): StatsRecorderStatus {
    return { store: this.store.kind, trackedSessions: this.recorder.trackedSessions, ...this.queue.status() }
  }

  summary (period: Period, now: number): Promise<Summary> { return this.#ask(() => this.store.summary(period, now)) }
  topSongs (period: Period, order: SongOrder, limit: number, now: number): Promise<SongRow[]> {
    return this.#ask(() => this.store.topSongs(period, order, limit, now))
  }

  sessions (period: Period, limit: number, offset: number, now: number): Promise<SessionPage> {
    return this.#ask(() => this.store.sessions(period, limit, offset, now))
  }

  /** A query the database cannot answer now is a 503 for that request; the relay is not affected. */
  async #ask<T> (query: () => Promise<T>): Promise<T> {
    try {
      return await query()
    } catch (err) {
      this.log.warn({ err: messageOf(err) }, 'statistics query failed')
      throw new DomainError('SERVICE_UNAVAILABLE', 'The statistics database is unavailable; try again shortly', { retryAfterSeconds: 5 })
    }
  }

  /** Shutdown: ends plays and visits, writes everything (one last try), closes the store. */
  async close (now: number): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.recorder.closeAll(now)
    await this.queue.flush()
    const left = this.queue.pendingRows
    if (left > 0) this.log.warn({ pendingRows: left }, 'statistics: rows not written at shutdown (database unavailable)')
    await this.store.close()
  }
}

function messageOf (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
