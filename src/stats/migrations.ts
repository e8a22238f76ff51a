import type { SqlDriver } from './sql-driver.js'

/**
 * The statistics schema, one numbered step at a time. A step is never edited once released: a change
 * is a new step. The same DDL runs on SQLite and PostgreSQL (BIGINT, TEXT, INTEGER and partial indexes
 * mean the same on both). Times are epoch milliseconds; days are UTC days since the epoch.
 */
export interface Migration {
  readonly version: number
  readonly name: string
  readonly statements: readonly string[]
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'sessions, song plays, listener visits and their running and daily totals',
    statements: [
      `CREATE TABLE stats_sessions (
        session_key TEXT PRIMARY KEY,
        session_code TEXT NOT NULL,
        started_at BIGINT NOT NULL,
        ended_at BIGINT,
        end_reason TEXT,
        last_seen_at BIGINT NOT NULL,
        peak_listeners INTEGER NOT NULL DEFAULT 0,
        listener_ms BIGINT NOT NULL DEFAULT 0,
        bytes_in BIGINT NOT NULL DEFAULT 0,
        bytes_out BIGINT NOT NULL DEFAULT 0
      )`,
      'CREATE INDEX stats_sessions_started ON stats_sessions (started_at)',
      'CREATE INDEX stats_sessions_open ON stats_sessions (last_seen_at) WHERE ended_at IS NULL',
      `CREATE TABLE stats_songs (
        song_key TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        artist TEXT NOT NULL,
        plays BIGINT NOT NULL DEFAULT 0,
        listener_ms BIGINT NOT NULL DEFAULT 0,
        last_played_at BIGINT NOT NULL DEFAULT 0
      )`,
      // Songs played in a period (which always ends now): those last played since its start.
      'CREATE INDEX stats_songs_last_played ON stats_songs (last_played_at)',
      `CREATE TABLE stats_plays (
        session_key TEXT NOT NULL,
        started_at BIGINT NOT NULL,
        song_key TEXT NOT NULL,
        ended_at BIGINT,
        start_position_ms BIGINT NOT NULL,
        total_ms BIGINT NOT NULL,
        listener_ms BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (session_key, started_at)
      )`,
      'CREATE INDEX stats_plays_started ON stats_plays (started_at)',
      `CREATE TABLE stats_song_days (
        day INTEGER NOT NULL,
        song_key TEXT NOT NULL,
        plays BIGINT NOT NULL DEFAULT 0,
        listener_ms BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (day, song_key)
      )`,
      `CREATE TABLE stats_days (
        day INTEGER PRIMARY KEY,
        plays BIGINT NOT NULL DEFAULT 0,
        listener_ms BIGINT NOT NULL DEFAULT 0
      )`,
      `CREATE TABLE stats_visits (
        session_key TEXT NOT NULL,
        listener TEXT NOT NULL,
        joined_at BIGINT NOT NULL,
        left_at BIGINT,
        PRIMARY KEY (session_key, listener, joined_at)
      )`,
      'CREATE INDEX stats_visits_joined ON stats_visits (joined_at, listener)',
      // Unique listeners of a period: those last seen since its start; of a day: its distinct pseudonyms.
      `CREATE TABLE stats_listeners (
        listener TEXT PRIMARY KEY,
        first_seen_at BIGINT NOT NULL,
        last_seen_at BIGINT NOT NULL
      )`,
      'CREATE INDEX stats_listeners_last_seen ON stats_listeners (last_seen_at)',
      `CREATE TABLE stats_day_listeners (
        day INTEGER NOT NULL,
        listener TEXT NOT NULL,
        PRIMARY KEY (day, listener)
      )`
    ]
  }
]

/**
 * Applies the steps the database has not seen, each in its own transaction with its version row, under
 * a lock so that instances starting together apply each step once. Returns the versions applied.
 * A database newer than this code (a step it does not know) is refused rather than written to.
 */
export async function migrate (driver: SqlDriver, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const applied: number[] = []
  const latest = migrations.at(-1)?.version ?? 0
  for (const step of migrations) {
    const done = await driver.exclusive(async (db) => {
      await db.run(`CREATE TABLE IF NOT EXISTS stats_schema_migrations (
        version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`)
      const rows = await db.all<{ version: number }>('SELECT max(version) AS version FROM stats_schema_migrations')
      const current = Number(rows[0]?.version ?? 0)
      if (current > latest) {
        throw new Error(`the statistics database is at schema version ${current}, newer than this server knows (${latest})`)
      }
      if (current >= step.version) return false
      for (const sql of step.statements) await db.run(sql)
      await db.run('INSERT INTO stats_schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)',
        [step.version, step.name, Date.now()])
      return true
    })
    if (done) applied.push(step.version)
  }
  return applied
}
