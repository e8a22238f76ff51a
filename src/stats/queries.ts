import type { SqlDriver } from './sql-driver.js'
import { DAY_MS, periodStartDay, type DayRow, type Period, type SessionPage, type SongOrder, type SongRow, type Summary } from './store.js'

/**
 * The questions the statistics API asks, in SQL both databases answer alike. Song figures come from
 * the running totals (all time) and daily totals (a period), never from scanning every play, so they
 * stay fast however many plays there are; unique listeners come from each pseudonym's last sighting
 * and its days; session figures scan the period's sessions by start time.
 */

const MAX_DAYS = 366
const minutes = (ms: unknown) => Math.round(Number(ms ?? 0) / 600) / 100
const num = (v: unknown) => Number(v ?? 0)
const dayName = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10)

export async function queryTopSongs (db: SqlDriver, period: Period, order: SongOrder, limit: number, now: number): Promise<SongRow[]> {
  const orderBy = order === 'plays' ? 'plays DESC, listener_ms DESC' : 'listener_ms DESC, plays DESC'
  type Row = { title: string, artist: string, plays: unknown, listener_ms: unknown }
  const rows = period === 'all'
    ? await db.all<Row>(`SELECT title, artist, plays, listener_ms FROM stats_songs
        ORDER BY ${orderBy}, song_key LIMIT $1`, [limit])
    : await db.all<Row>(`SELECT s.title, s.artist, top.plays, top.listener_ms FROM (
          SELECT song_key, sum(plays) AS plays, sum(listener_ms) AS listener_ms FROM stats_song_days
          WHERE day >= $1 GROUP BY song_key ORDER BY ${orderBy}, song_key LIMIT $2
        ) top JOIN stats_songs s ON s.song_key = top.song_key
        ORDER BY ${orderBy.replace(/(plays|listener_ms)/g, 'top.$1')}, s.song_key`, [periodStartDay(period, now), limit])
  return rows.map((r) => ({ title: r.title, artist: r.artist, plays: num(r.plays), listenerMinutes: minutes(r.listener_ms) }))
}

export async function querySummary (db: SqlDriver, period: Period, now: number): Promise<Summary> {
  const firstDay = periodStartDay(period, now)
  const since = firstDay * DAY_MS
  const [sessions] = await db.all<Record<string, unknown>>(`SELECT count(*) AS sessions,
      sum(coalesce(ended_at, last_seen_at) - started_at) AS session_ms, sum(listener_ms) AS listener_ms,
      max(peak_listeners) AS peak, sum(bytes_in) AS bytes_in, sum(bytes_out) AS bytes_out
    FROM stats_sessions WHERE started_at >= $1`, [since])
  const [plays] = await db.all<Record<string, unknown>>(
    'SELECT sum(plays) AS plays, sum(listener_ms) AS listener_ms FROM stats_days WHERE day >= $1', [firstDay])
  // A period always ends now: the songs and listeners in it are those last played or seen since its start.
  const [songs] = await db.all<Record<string, unknown>>('SELECT count(*) AS songs FROM stats_songs WHERE last_played_at >= $1', [since])
  const [listeners] = await db.all<Record<string, unknown>>(
    'SELECT count(*) AS listeners FROM stats_listeners WHERE last_seen_at >= $1', [since])

  // The daily series covers at most the last MAX_DAYS days, even for `all`.
  const seriesDay = Math.max(firstDay, Math.floor(now / DAY_MS) - (MAX_DAYS - 1))
  const seriesSince = seriesDay * DAY_MS
  const days = new Map<number, { sessions: number, plays: number, listenerMs: number, unique: number, peak: number }>()
  const dayOf = (day: unknown) => {
    const d = num(day)
    let row = days.get(d)
    if (row === undefined) {
      row = { sessions: 0, plays: 0, listenerMs: 0, unique: 0, peak: 0 }
      days.set(d, row)
    }
    return row
  }
  for (const r of await db.all<Record<string, unknown>>(`SELECT started_at / ${DAY_MS} AS day, count(*) AS sessions,
      sum(listener_ms) AS listener_ms, max(peak_listeners) AS peak
    FROM stats_sessions WHERE started_at >= $1 GROUP BY started_at / ${DAY_MS}`, [seriesSince])) {
    Object.assign(dayOf(r.day), { sessions: num(r.sessions), listenerMs: num(r.listener_ms), peak: num(r.peak) })
  }
  for (const r of await db.all<Record<string, unknown>>('SELECT day, plays FROM stats_days WHERE day >= $1', [seriesDay])) {
    dayOf(r.day).plays = num(r.plays)
  }
  for (const r of await db.all<Record<string, unknown>>(
    'SELECT day, count(*) AS listeners FROM stats_day_listeners WHERE day >= $1 GROUP BY day', [seriesDay])) {
    dayOf(r.day).unique = num(r.listeners)
  }
  const series: DayRow[] = [...days.entries()].sort((a, b) => a[0] - b[0]).map(([day, d]) => ({
    day: dayName(day),
    sessions: d.sessions,
    plays: d.plays,
    listenerMinutes: minutes(d.listenerMs),
    uniqueListeners: d.unique,
    peakListeners: d.peak
  }))

  return {
    sessions: num(sessions?.sessions),
    sessionHours: Math.round(num(sessions?.session_ms) / 36_000) / 100,
    plays: num(plays?.plays),
    distinctSongs: num(songs?.songs),
    listenerMinutes: minutes(sessions?.listener_ms),
    uniqueListeners: num(listeners?.listeners),
    peakListeners: num(sessions?.peak),
    bytesIn: num(sessions?.bytes_in),
    bytesOut: num(sessions?.bytes_out),
    days: series
  }
}

export async function querySessions (db: SqlDriver, period: Period, limit: number, offset: number, now: number): Promise<SessionPage> {
  const since = periodStartDay(period, now) * DAY_MS
  const [count] = await db.all<{ total: unknown }>('SELECT count(*) AS total FROM stats_sessions WHERE started_at >= $1', [since])
  const rows = await db.all<Record<string, unknown>>(`SELECT s.session_code, s.started_at, s.ended_at, s.end_reason,
      coalesce(s.ended_at, s.last_seen_at) - s.started_at AS duration_ms, s.peak_listeners, s.listener_ms,
      s.bytes_in, s.bytes_out,
      (SELECT count(*) FROM stats_plays p WHERE p.session_key = s.session_key) AS plays,
      (SELECT count(DISTINCT v.listener) FROM stats_visits v WHERE v.session_key = s.session_key) AS listeners
    FROM stats_sessions s WHERE s.started_at >= $1
    ORDER BY s.started_at DESC, s.session_key LIMIT $2 OFFSET $3`, [since, limit, offset])
  return {
    total: num(count?.total),
    sessions: rows.map((r) => {
      const durationMs = Math.max(0, num(r.duration_ms))
      return {
        sessionId: String(r.session_code),
        startedAt: num(r.started_at),
        endedAt: r.ended_at === null ? null : num(r.ended_at),
        endReason: r.end_reason === null ? null : String(r.end_reason),
        durationSeconds: Math.round(durationMs / 100) / 10,
        peakListeners: num(r.peak_listeners),
        averageListeners: durationMs === 0 ? 0 : Math.round(num(r.listener_ms) / durationMs * 100) / 100,
        listenerMinutes: minutes(r.listener_ms),
        uniqueListeners: num(r.listeners),
        plays: num(r.plays),
        bytesIn: num(r.bytes_in),
        bytesOut: num(r.bytes_out)
      }
    })
  }
}
