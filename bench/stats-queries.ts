/**
 * npm run bench:stats -- [--plays N] [--postgres postgres://…] [--runs R]
 *
 * How fast the statistics API's queries answer over a big history: seeds N plays (default 1,000,000;
 * ~15 a session, 20,000 songs with a long tail, a year of days, ~3 listener visits a session) into a
 * fresh SQLite file and, with --postgres, into that (empty) database, through bulk inserts of the same
 * rows the recorder writes (then ANALYZE, and VACUUM on PostgreSQL, as autovacuum would), then times
 * every query R times (default 7) and prints the medians.
 * The store code answering is the server's own (SqlStatsStore).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import Database from 'better-sqlite3'
import pg from 'pg'
import { SqlStatsStore } from '../src/stats/sql-store.js'
import { SqliteDriver } from '../src/stats/sqlite-driver.js'
import { PostgresDriver } from '../src/stats/postgres-driver.js'
import { DAY_MS, type StatsStore } from '../src/stats/store.js'
import { seededRandom } from './lib/random.js'

const { values } = parseArgs({
  options: {
    plays: { type: 'string', default: '1000000' },
    postgres: { type: 'string' },
    runs: { type: 'string', default: '7' }
  }
})
const PLAYS = Number(values.plays)
const RUNS = Number(values.runs)
const NOW = Date.now()
const TODAY = Math.floor(NOW / DAY_MS)

type Row = Array<string | number | null>
interface Seed { sessions: Row[], songs: Row[], plays: Row[], songDays: Row[], days: Row[], visits: Row[], listeners: Row[], dayListeners: Row[] }

/** A year of history, the same every run (a seeded generator). */
function seed (): Seed {
  const rand = seededRandom(19)
  const SONGS = 20_000
  const songs: Row[] = Array.from({ length: SONGS }, (_, i) => [`song-${i}`, `Title ${i}`, `Artist ${i % 1500}`, 0, 0, 0])
  const songDays = new Map<string, [number, number, number, number]>()
  const days = new Map<number, [number, number, number]>()
  const out: Seed = { sessions: [], songs, plays: [], songDays: [], days: [], visits: [], listeners: [], dayListeners: [] }
  const seenListeners = new Map<string, [string, number, number]>()
  const dayListeners = new Set<string>()
  let played = 0
  for (let n = 0; played < PLAYS; n++) {
    const startedAt = (TODAY - Math.floor(rand() * 365)) * DAY_MS + Math.floor(rand() * DAY_MS)
    const key = `${100000 + (n % 899999)}:${startedAt}:${n}`
    const count = Math.min(PLAYS - played, 5 + Math.floor(rand() * 20))
    const listeners = 1 + Math.floor(rand() * 6)
    for (let p = 0; p < count; p++) {
      const song = Math.floor(SONGS * rand() ** 3) // popular songs often, a long tail
      const at = startedAt + p * 200_000
      const listenerMs = Math.floor(listeners * 200_000 * rand())
      out.plays.push([key, at, `song-${song}`, at + 200_000, 0, 200_000, listenerMs])
      const row = songs[song]!
      row[3] = (row[3] as number) + 1
      row[4] = (row[4] as number) + listenerMs
      row[5] = Math.max(row[5] as number, at)
      const day = Math.floor(at / DAY_MS)
      const sd = songDays.get(`${day}|${song}`) ?? [day, song, 0, 0]
      sd[2]++
      sd[3] += listenerMs
      songDays.set(`${day}|${song}`, sd)
      const d = days.get(day) ?? [day, 0, 0]
      d[1]++
      d[2] += listenerMs
      days.set(day, d)
    }
    played += count
    const endedAt = startedAt + count * 200_000
    out.sessions.push([key, key.slice(0, 6), startedAt, endedAt, 'stopped', endedAt, listeners, listeners * count * 100_000, count * 70_560_000, listeners * count * 70_560_000])
    for (let v = 0; v < 3; v++) {
      const listener = `L${Math.floor(rand() * 50_000)}`
      out.visits.push([key, listener, startedAt + v, endedAt])
      const seen = seenListeners.get(listener) ?? [listener, startedAt + v, endedAt]
      seen[1] = Math.min(seen[1], startedAt + v)
      seen[2] = Math.max(seen[2], endedAt)
      seenListeners.set(listener, seen)
      dayListeners.add(`${Math.floor((startedAt + v) / DAY_MS)}|${listener}`)
    }
  }
  out.songDays = [...songDays.values()].map(([day, song, plays, ms]) => [day, `song-${song}`, plays, ms])
  out.days = [...days.values()]
  out.listeners = [...seenListeners.values()]
  out.dayListeners = [...dayListeners].map((k) => [Number(k.slice(0, k.indexOf('|'))), k.slice(k.indexOf('|') + 1)])
  return out
}

const TABLES: Array<[keyof Seed, string, string[]]> = [
  ['sessions', 'stats_sessions', ['session_key', 'session_code', 'started_at', 'ended_at', 'end_reason', 'last_seen_at', 'peak_listeners', 'listener_ms', 'bytes_in', 'bytes_out']],
  ['songs', 'stats_songs', ['song_key', 'title', 'artist', 'plays', 'listener_ms', 'last_played_at']],
  ['plays', 'stats_plays', ['session_key', 'started_at', 'song_key', 'ended_at', 'start_position_ms', 'total_ms', 'listener_ms']],
  ['songDays', 'stats_song_days', ['day', 'song_key', 'plays', 'listener_ms']],
  ['days', 'stats_days', ['day', 'plays', 'listener_ms']],
  ['visits', 'stats_visits', ['session_key', 'listener', 'joined_at', 'left_at']],
  ['listeners', 'stats_listeners', ['listener', 'first_seen_at', 'last_seen_at']],
  ['dayListeners', 'stats_day_listeners', ['day', 'listener']]
]

function loadSqlite (file: string, data: Seed): void {
  const db = new Database(file)
  db.transaction(() => {
    for (const [name, table, columns] of TABLES) {
      const insert = db.prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`)
      for (const row of data[name]) insert.run(...row)
    }
  })()
  db.exec('ANALYZE')
  db.close()
}

async function loadPostgres (url: string, data: Seed): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const textColumns = new Set(['session_key', 'session_code', 'end_reason', 'song_key', 'title', 'artist', 'listener'])
  for (const [name, table, columns] of TABLES) {
    const rows = data[name]
    for (let i = 0; i < rows.length; i += 50_000) {
      const chunk = rows.slice(i, i + 50_000)
      const arrays = columns.map((_, c) => chunk.map((r) => r[c]))
      const casts = columns.map((col, c) => `$${c + 1}::${textColumns.has(col) ? 'text' : 'bigint'}[]`)
      await client.query(`INSERT INTO ${table} (${columns.join(', ')}) SELECT * FROM unnest(${casts.join(', ')})`, arrays)
    }
  }
  // As autovacuum would soon after a load: statistics for the planner and the visibility map for index-only scans.
  await client.query('VACUUM ANALYZE')
  await client.end()
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

async function time (store: StatsStore): Promise<Array<[string, number]>> {
  const queries: Array<[string, () => Promise<unknown>]> = [
    ['summary all', () => store.summary('all', NOW)],
    ['summary month', () => store.summary('month', NOW)],
    ['summary week', () => store.summary('week', NOW)],
    ['top songs all, by plays', () => store.topSongs('all', 'plays', 10, NOW)],
    ['top songs all, by listener-minutes', () => store.topSongs('all', 'listenerMinutes', 10, NOW)],
    ['top songs month, by plays', () => store.topSongs('month', 'plays', 10, NOW)],
    ['top songs week, by plays', () => store.topSongs('week', 'plays', 10, NOW)],
    ['sessions all, first page of 50', () => store.sessions('all', 50, 0, NOW)]
  ]
  const out: Array<[string, number]> = []
  for (const [name, query] of queries) {
    await query() // warm
    const ms: number[] = []
    for (let i = 0; i < RUNS; i++) {
      const started = performance.now()
      await query()
      ms.push(performance.now() - started)
    }
    out.push([name, Math.round(median(ms) * 10) / 10])
  }
  return out
}

const data = seed()
console.log(`seeded ${data.plays.length} plays, ${data.sessions.length} sessions, ${data.songs.length} songs, ` +
  `${data.songDays.length} song-days, ${data.visits.length} visits; medians of ${RUNS} runs (ms), Node ${process.version}`)

const dir = mkdtempSync(join(tmpdir(), 'music-share-stats-bench-'))
const results: Record<string, Array<[string, number]>> = {}
try {
  const file = join(dir, 'stats.db')
  const sqlite = new SqlStatsStore('sqlite', () => new SqliteDriver(file))
  await sqlite.open()
  let started = performance.now()
  loadSqlite(file, data)
  console.log(`sqlite: loaded in ${Math.round((performance.now() - started) / 1000)} s`)
  results.sqlite = await time(sqlite)
  await sqlite.close()

  if (values.postgres !== undefined) {
    const url = values.postgres
    const postgres = new SqlStatsStore('postgres', () => new PostgresDriver(url))
    await postgres.open()
    started = performance.now()
    await loadPostgres(url, data)
    console.log(`postgres: loaded in ${Math.round((performance.now() - started) / 1000)} s`)
    results.postgres = await time(postgres)
    await postgres.close()
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}

const stores = Object.keys(results)
console.log(`\n| query | ${stores.join(' | ')} |\n| --- | ${stores.map(() => '---').join(' | ')} |`)
for (let i = 0; i < results.sqlite!.length; i++) {
  console.log(`| ${results.sqlite![i]![0]} | ${stores.map((s) => `${results[s]![i]![1]} ms`).join(' | ')} |`)
}
