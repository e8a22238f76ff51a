import { migrate } from './migrations.js'
import { querySessions, querySummary, queryTopSongs } from './queries.js'
import type { SqlDriver, Statement } from './sql-driver.js'
import { DAY_MS, type Period, type SongOrder, type StatsBatch, type StatsStore } from './store.js'

/** Every write of a batch as statements: upserts whose numbers add up, so any instance may apply them. */
function batchStatements (driver: SqlDriver, batch: StatsBatch): Statement[] {
  const max = (a: string, b: string) => driver.greatest(a, b)
  const out: Statement[] = []
  for (const s of batch.sessions) {
    out.push({
      sql: `INSERT INTO stats_sessions (session_key, session_code, started_at, ended_at, end_reason, last_seen_at,
          peak_listeners, listener_ms, bytes_in, bytes_out)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        ON CONFLICT (session_key) DO UPDATE SET
          ended_at = CASE WHEN excluded.ended_at IS NOT NULL THEN excluded.ended_at
            WHEN stats_sessions.end_reason = 'lost' THEN NULL ELSE stats_sessions.ended_at END,
          end_reason = CASE WHEN excluded.ended_at IS NOT NULL THEN excluded.end_reason
            WHEN stats_sessions.end_reason = 'lost' THEN NULL ELSE stats_sessions.end_reason END,
          last_seen_at = ${max('stats_sessions.last_seen_at', 'excluded.last_seen_at')},
          peak_listeners = ${max('stats_sessions.peak_listeners', 'excluded.peak_listeners')},
          listener_ms = stats_sessions.listener_ms + excluded.listener_ms,
          bytes_in = stats_sessions.bytes_in + excluded.bytes_in,
          bytes_out = stats_sessions.bytes_out + excluded.bytes_out`,
      params: [s.sessionKey, s.sessionCode, s.startedAt, s.endedAt, s.endReason, s.lastSeenAt,
        s.peakListeners, Math.round(s.listenerMs), s.bytesIn, s.bytesOut]
    })
  }
  for (const p of batch.plays) {
    const listenerMs = Math.round(p.listenerMs)
    out.push({
      sql: `INSERT INTO stats_songs (song_key, title, artist, plays, listener_ms, last_played_at) VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (song_key) DO UPDATE SET plays = stats_songs.plays + excluded.plays,
          listener_ms = stats_songs.listener_ms + excluded.listener_ms,
          last_played_at = ${max('stats_songs.last_played_at', 'excluded.last_played_at')}`,
      params: [p.songKey, p.title, p.artist, p.plays, listenerMs, p.startedAt]
    }, {
      sql: `INSERT INTO stats_plays (session_key, started_at, song_key, ended_at, start_position_ms, total_ms, listener_ms)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT (session_key, started_at) DO UPDATE SET
          ended_at = COALESCE(excluded.ended_at, stats_plays.ended_at),
          listener_ms = stats_plays.listener_ms + excluded.listener_ms`,
      params: [p.sessionKey, p.startedAt, p.songKey, p.endedAt, Math.round(p.startPositionMs), Math.round(p.totalMs), listenerMs]
    }, {
      sql: `INSERT INTO stats_song_days (day, song_key, plays, listener_ms) VALUES ($1, $2, $3, $4)
        ON CONFLICT (day, song_key) DO UPDATE SET plays = stats_song_days.plays + excluded.plays,
          listener_ms = stats_song_days.listener_ms + excluded.listener_ms`,
      params: [Math.floor(p.startedAt / DAY_MS), p.songKey, p.plays, listenerMs]
    }, {
      sql: `INSERT INTO stats_days (day, plays, listener_ms) VALUES ($1, $2, $3)
        ON CONFLICT (day) DO UPDATE SET plays = stats_days.plays + excluded.plays,
          listener_ms = stats_days.listener_ms + excluded.listener_ms`,
      params: [Math.floor(p.startedAt / DAY_MS), p.plays, listenerMs]
    })
  }
  for (const v of batch.visits) {
    out.push({
      sql: `INSERT INTO stats_visits (session_key, listener, joined_at, left_at) VALUES ($1, $2, $3, $4)
        ON CONFLICT (session_key, listener, joined_at) DO UPDATE SET left_at = COALESCE(excluded.left_at, stats_visits.left_at)`,
      params: [v.sessionKey, v.listener, v.joinedAt, v.leftAt]
    }, {
      sql: `INSERT INTO stats_listeners (listener, first_seen_at, last_seen_at) VALUES ($1, $2, $3)
        ON CONFLICT (listener) DO UPDATE SET last_seen_at = ${max('stats_listeners.last_seen_at', 'excluded.last_seen_at')}`,
      params: [v.listener, v.joinedAt, v.leftAt ?? v.joinedAt]
    }, {
      sql: 'INSERT INTO stats_day_listeners (day, listener) VALUES ($1, $2) ON CONFLICT (day, listener) DO NOTHING',
      params: [Math.floor(v.joinedAt / DAY_MS), v.listener]
    })
  }
  return out
}

/** A StatsStore over either database: the same schema, writes and queries. */
export class SqlStatsStore implements StatsStore {
  readonly kind: 'sqlite' | 'postgres'
  /** Set once the database is connected and migrated: the store is open while it is. */
  #driver: SqlDriver | undefined
  /** The open under way: callers that overlap share it instead of making a driver each. */
  #opening: Promise<void> | undefined

  /** `connect` makes the driver; it is called again after a failed open (the database was down). */
  constructor (kind: 'sqlite' | 'postgres', readonly connect: () => SqlDriver) {
    this.kind = kind
  }

  async open (): Promise<void> {
    if (this.#driver !== undefined) return
    this.#opening ??= this.#connectAndMigrate().finally(() => { this.#opening = undefined })
    return this.#opening
  }

  async #connectAndMigrate (): Promise<void> {
    const driver = this.connect()
    try {
      await migrate(driver)
    } catch (err) {
      await driver.close().catch(() => {})
      throw err
    }
    this.#driver = driver
  }

  get #db (): SqlDriver {
    if (this.#driver === undefined) throw new Error('the statistics store is not open')
    return this.#driver
  }

  async write (batch: StatsBatch): Promise<void> {
    await this.open()
    const statements = batchStatements(this.#db, batch)
    if (statements.length > 0) await this.#db.batch(statements)
  }

  async closeLostSessions (before: number): Promise<number> {
    await this.open()
    return this.#db.run(`UPDATE stats_sessions SET ended_at = last_seen_at, end_reason = 'lost'
      WHERE ended_at IS NULL AND last_seen_at < $1`, [before])
  }

  async summary (period: Period, now: number) {
    await this.open()
    return querySummary(this.#db, period, now)
  }

  async topSongs (period: Period, order: SongOrder, limit: number, now: number) {
    await this.open()
    return queryTopSongs(this.#db, period, order, limit, now)
  }

  async sessions (period: Period, limit: number, offset: number, now: number) {
    await this.open()
    return querySessions(this.#db, period, limit, offset, now)
  }

  async close (): Promise<void> {
    // An open under way finishes first, so that its driver is closed too rather than left behind.
    await this.#opening?.catch(() => {})
    const driver = this.#driver
    this.#driver = undefined
    await driver?.close()
  }
}
