import { Type, type Static } from '@sinclair/typebox'
import { Nullable, UnixMs } from './common.js'
import { PERIODS, SONG_ORDERS } from '../stats/store.js'

const Count = (description: string) => Type.Integer({ minimum: 0, description })
const Minutes = (description: string) => Type.Number({ description })

export const StatsPeriod = Type.Union(PERIODS.map((p) => Type.Literal(p)), {
  default: 'week',
  description: 'UTC calendar days: day = today, week = the last 7 days, month = the last 30, all = everything'
})

export const SummaryQuery = Type.Object({ period: StatsPeriod })
export type SummaryQuery = Static<typeof SummaryQuery>

export const SongsQuery = Type.Object({
  period: StatsPeriod,
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 10, description: 'songs at most' }),
  sort: Type.Union(SONG_ORDERS.map((o) => Type.Literal(o)), { default: 'plays', description: 'order by plays or by listener-minutes while they played' })
})
export type SongsQuery = Static<typeof SongsQuery>

export const StatsSessionsQuery = Type.Object({
  period: StatsPeriod,
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50, description: 'sessions per page' }),
  offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0, description: 'sessions to skip' })
})
export type StatsSessionsQuery = Static<typeof StatsSessionsQuery>

const PeriodFields = {
  period: Type.Union(PERIODS.map((p) => Type.Literal(p))),
  since: Type.String({ description: 'the first UTC day the period covers (YYYY-MM-DD)' })
}

/** How this instance's recording is doing: the history is only as complete as this says. */
export const RecorderStatus = Type.Object({
  store: Type.Union([Type.Literal('sqlite'), Type.Literal('postgres')]),
  up: Type.Boolean({ description: 'false while the last write failed (rows wait in memory and are retried)' }),
  pendingRows: Count('rows waiting to be written'),
  trackedSessions: Count('live sessions this instance records'),
  flushes: Count('batches written since start'),
  failedFlushes: Count('batch writes that failed since start'),
  lastFlushMs: Nullable(Type.Number({ description: 'how long the last batch took to write' })),
  lastError: Nullable(Type.String()),
  unrecorded: Type.Object({
    sessions: Count('session rows dropped because the queue was full'),
    plays: Count('plays dropped'),
    visits: Count('listener visits dropped'),
    listenerMinutes: Type.Number({ description: 'listener-minutes those rows carried' })
  }, { description: 'what was counted in memory only (the queue was full while the database was away)' })
})

export const StatsSummary = Type.Object({
  ...PeriodFields,
  sessions: Count('sessions started in the period'),
  sessionHours: Type.Number({ description: 'their duration, together (open sessions: until last seen)' }),
  plays: Count('song plays started in the period'),
  distinctSongs: Count('different songs played'),
  listenerMinutes: Minutes('listeners x minutes, all sessions together'),
  uniqueListeners: Count('distinct listener pseudonyms (see STATS_SECRET)'),
  peakListeners: Count('most listeners of one session at once'),
  bytesIn: Count('decoded audio bytes received from sharers'),
  bytesOut: Count('decoded audio bytes served to receivers'),
  days: Type.Array(Type.Object({
    day: Type.String({ description: 'YYYY-MM-DD (UTC)' }),
    sessions: Count('sessions started that day'),
    plays: Count('plays started that day'),
    listenerMinutes: Minutes('listener-minutes of the sessions started that day'),
    uniqueListeners: Count('distinct listeners who joined that day'),
    peakListeners: Count('most listeners of one session started that day')
  }), { description: 'days with any session or play, oldest first (at most the last 366)' }),
  recorder: RecorderStatus
})

export const TopSongs = Type.Object({
  ...PeriodFields,
  sort: Type.Union(SONG_ORDERS.map((o) => Type.Literal(o))),
  songs: Type.Array(Type.Object({
    title: Type.String(),
    artist: Type.String(),
    plays: Count('plays that started in the period'),
    listenerMinutes: Minutes('listener-minutes while it played')
  }))
})

export const StatsSessions = Type.Object({
  ...PeriodFields,
  total: Count('sessions started in the period, over all pages'),
  offset: Count('sessions skipped'),
  limit: Count('sessions per page'),
  sessions: Type.Array(Type.Object({
    sessionId: Type.String({ description: 'the 6-digit code (codes are reused: a code and start time name one session)' }),
    startedAt: UnixMs,
    endedAt: Nullable(UnixMs),
    endReason: Nullable(Type.String({ description: 'stopped, expired, or lost (its instance died without ending it); null while open' })),
    durationSeconds: Type.Number({ minimum: 0 }),
    peakListeners: Count('most listeners at once'),
    averageListeners: Type.Number({ minimum: 0, description: 'listener-minutes / duration' }),
    listenerMinutes: Minutes('listeners x minutes'),
    uniqueListeners: Count('distinct listeners'),
    plays: Count('song plays'),
    bytesIn: Count('decoded audio bytes received'),
    bytesOut: Count('decoded audio bytes served')
  }))
})
