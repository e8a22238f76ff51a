/**
 * What statistics are made of, and what a store must do with them. Every write is an upsert that
 * carries increments, so writes of one row can be merged while they wait (write-behind.ts), applied by
 * any instance of a cluster, and retried whole after a failed batch.
 */

/** One sharing session, keyed by its code and start time (a code is reused; the pair is not). */
export interface SessionWrite {
  readonly sessionKey: string
  readonly sessionCode: string
  readonly startedAt: number
  /** Set once the session ended. */
  endedAt: number | null
  endReason: 'stopped' | 'expired' | null
  /** The latest moment the session was known to be alive (its end, or the last checkpoint). */
  lastSeenAt: number
  /** Most listeners at once seen by this write's instance (kept as the maximum). */
  peakListeners: number
  /** Increments since the previous write. */
  listenerMs: number
  bytesIn: number
  bytesOut: number
}

/** One song play: its row, plus increments of its song's totals (by the UTC day it started). */
export interface PlayWrite {
  readonly sessionKey: string
  readonly startedAt: number
  readonly songKey: string
  readonly title: string
  readonly artist: string
  /** Where the song was when the play was first seen (ms into the song). */
  readonly startPositionMs: number
  /** The song's length (ms; 0 when unknown). */
  readonly totalMs: number
  endedAt: number | null
  /** 1 when this write carries the play's start (it counts once), else 0. */
  plays: number
  /** Listener-milliseconds while it played, since the previous write. */
  listenerMs: number
}

/** One listener's visit to a session under its pseudonym (a keyed hash of the receiver, never an address). */
export interface VisitWrite {
  readonly sessionKey: string
  readonly listener: string
  readonly joinedAt: number
  leftAt: number | null
}

export interface StatsBatch {
  readonly sessions: readonly SessionWrite[]
  readonly plays: readonly PlayWrite[]
  readonly visits: readonly VisitWrite[]
}

export const PERIODS = ['day', 'week', 'month', 'all'] as const
export type Period = typeof PERIODS[number]

export const SONG_ORDERS = ['plays', 'listenerMinutes'] as const
export type SongOrder = typeof SONG_ORDERS[number]

export interface SongRow {
  readonly title: string
  readonly artist: string
  readonly plays: number
  readonly listenerMinutes: number
}

export interface DayRow {
  /** The UTC day, as YYYY-MM-DD. */
  readonly day: string
  readonly sessions: number
  readonly plays: number
  readonly listenerMinutes: number
  readonly uniqueListeners: number
  readonly peakListeners: number
}

export interface Summary {
  readonly sessions: number
  readonly sessionHours: number
  readonly plays: number
  readonly distinctSongs: number
  readonly listenerMinutes: number
  readonly uniqueListeners: number
  readonly peakListeners: number
  readonly bytesIn: number
  readonly bytesOut: number
  /** One row per UTC day of the period that saw any session or play, oldest first (at most 366). */
  readonly days: DayRow[]
}

export interface SessionRow {
  readonly sessionId: string
  readonly startedAt: number
  readonly endedAt: number | null
  /** `stopped`, `expired`, `lost` (its instance stopped writing without ending it), or null while open. */
  readonly endReason: string | null
  readonly durationSeconds: number
  readonly peakListeners: number
  readonly averageListeners: number
  readonly listenerMinutes: number
  readonly uniqueListeners: number
  readonly plays: number
  readonly bytesIn: number
  readonly bytesOut: number
}

export interface SessionPage {
  readonly total: number
  readonly sessions: SessionRow[]
}

/** Where statistics live: SQLite by default, PostgreSQL for a cluster; the same schema and queries. */
export interface StatsStore {
  readonly kind: 'sqlite' | 'postgres'
  /** Connects and brings the schema up to date; safe to call again after a failure. */
  open (): Promise<void>
  /** Applies a batch in one transaction: all of it or none. */
  write (batch: StatsBatch): Promise<void>
  /** Ends sessions nobody has written since `before` (their instance died): reason `lost`, ended when last seen. */
  closeLostSessions (before: number): Promise<number>
  summary (period: Period, now: number): Promise<Summary>
  topSongs (period: Period, order: SongOrder, limit: number, now: number): Promise<SongRow[]>
  sessions (period: Period, limit: number, offset: number, now: number): Promise<SessionPage>
  close (): Promise<void>
}

export const DAY_MS = 86_400_000

/** The first UTC day (days since the epoch) a period covers: today, the last 7 or 30 days, or everything. */
export function periodStartDay (period: Period, now: number): number {
  const today = Math.floor(now / DAY_MS)
  switch (period) {
    case 'day': return today
    case 'week': return today - 6
    case 'month': return today - 29
    case 'all': return 0
  }
}
