import type { PlayWrite, SessionWrite, StatsBatch, VisitWrite } from './store.js'

export interface WriteBehindOptions {
  /** Rows held at most; past it, writes of rows not already waiting are dropped and only counted. */
  readonly maxPendingRows: number
  /** Rows waiting that ask for a write before the timer's next tick. */
  readonly batchRows: number
}

export interface WriteBehindLog {
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
}

/** Rows dropped because the queue was full, by kind, with the figures they carried. */
export interface Unrecorded {
  sessions: number
  plays: number
  visits: number
  listenerMinutes: number
}

export interface WriteBehindStatus {
  readonly up: boolean
  readonly pendingRows: number
  readonly flushes: number
  readonly failedFlushes: number
  readonly lastFlushMs: number | null
  readonly lastError: string | null
  readonly unrecorded: Unrecorded
}

/** Adds a later write of the same row into an earlier one: the numbers are increments, the rest is the latest. */
function mergeSession (into: SessionWrite, w: SessionWrite): void {
  if (w.endedAt !== null) {
    into.endedAt = w.endedAt
    into.endReason = w.endReason
  }
  into.lastSeenAt = Math.max(into.lastSeenAt, w.lastSeenAt)
  into.peakListeners = Math.max(into.peakListeners, w.peakListeners)
  into.listenerMs += w.listenerMs
  into.bytesIn += w.bytesIn
  into.bytesOut += w.bytesOut
}

function mergePlay (into: PlayWrite, w: PlayWrite): void {
  if (w.endedAt !== null) into.endedAt = w.endedAt
  into.plays += w.plays
  into.listenerMs += w.listenerMs
}

function mergeVisit (into: VisitWrite, w: VisitWrite): void {
  if (w.leftAt !== null) into.leftAt = w.leftAt
}

/**
 * Statistics are written behind the relay: event handlers only add rows here (or merge them into the
 * row already waiting, so a session checkpointed every tick is one row however long the database is
 * away), and `flush` writes everything waiting in one transaction. Bounded: while `maxPendingRows` are
 * waiting (the database is down or slow), new rows are dropped and counted, with one log line for the
 * outage. A failed batch goes back into the queue, merged with what came meanwhile, and is retried on
 * the next flush.
 */
export class WriteBehind {
  #sessions = new Map<string, SessionWrite>()
  #plays = new Map<string, PlayWrite>()
  #visits = new Map<string, VisitWrite>()
  #flushing: Promise<void> | undefined
  /** Rows of the batch being written: still pending until it is written. */
  #inFlight = 0
  #up = true
  #dropping = false
  #flushes = 0
  #failedFlushes = 0
  #lastFlushMs: number | null = null
  #lastError: string | null = null
  readonly unrecorded: Unrecorded = { sessions: 0, plays: 0, visits: 0, listenerMinutes: 0 }
  #droppedThisOutage = 0

  constructor (
    readonly write: (batch: StatsBatch) => Promise<void>,
    readonly options: WriteBehindOptions,
    readonly log: WriteBehindLog,
    /** Called (at most once per fill) when `batchRows` are waiting: the owner schedules a flush. */
    readonly onBatchReady: () => void = () => {}
  ) {}

  /** Rows not written yet: waiting, and in the batch being written. */
  get pendingRows (): number { return this.#waitingRows + this.#inFlight }

  get #waitingRows (): number { return this.#sessions.size + this.#plays.size + this.#visits.size }

  status (): WriteBehindStatus {
    return {
      up: this.#up,
      pendingRows: this.pendingRows,
      flushes: this.#flushes,
      failedFlushes: this.#failedFlushes,
      lastFlushMs: this.#lastFlushMs,
      lastError: this.#lastError,
      unrecorded: { ...this.unrecorded }
    }
  }

  session (w: SessionWrite): void {
    if (this.#add(this.#sessions, w.sessionKey, w, mergeSession)) return
    this.unrecorded.sessions++
    this.unrecorded.listenerMinutes += w.listenerMs / 60_000
  }

  play (w: PlayWrite): void {
    if (this.#add(this.#plays, `${w.sessionKey}|${w.startedAt}`, w, mergePlay)) return
    this.unrecorded.plays += w.plays
  }

  visit (w: VisitWrite): void {
    if (this.#add(this.#visits, `${w.sessionKey}|${w.listener}|${w.joinedAt}`, w, mergeVisit)) return
    this.unrecorded.visits++
  }

  /** Merges into the waiting row, or adds one when there is room; false when dropped. */
  #add<W> (map: Map<string, W>, key: string, w: W, merge: (into: W, w: W) => void): boolean {
    const waiting = map.get(key)
    if (waiting !== undefined) {
      merge(waiting, w)
      return true
    }
    const pending = this.#waitingRows
    if (pending >= this.options.maxPendingRows) {
      this.#droppedThisOutage++
      if (!this.#dropping) {
        this.#dropping = true
        this.log.warn({ pendingRows: pending }, 'statistics queue full: new rows are counted in memory only, not written')
      }
      return false
    }
    map.set(key, { ...w })
    if (pending + 1 === this.options.batchRows) this.onBatchReady()
    return true
  }

  /** Writes everything waiting (one flush at a time: a call while one runs waits for it, then flushes). */
  async flush (): Promise<void> {
    while (this.#flushing !== undefined) await this.#flushing
    if (this.#waitingRows === 0) return
    this.#flushing = this.#flushOnce().finally(() => { this.#flushing = undefined })
    await this.#flushing
  }

  async #flushOnce (): Promise<void> {
    const sessions = this.#sessions
    const plays = this.#plays
    const visits = this.#visits
    this.#sessions = new Map()
    this.#plays = new Map()
    this.#visits = new Map()
    this.#inFlight = sessions.size + plays.size + visits.size
    const started = performance.now()
    try {
      await this.write({ sessions: [...sessions.values()], plays: [...plays.values()], visits: [...visits.values()] })
    } catch (err) {
      this.#inFlight = 0
      this.#failedFlushes++
      this.#lastError = err instanceof Error ? err.message : String(err)
      if (this.#up) {
        this.#up = false
        this.log.warn({ err: this.#lastError, pendingRows: sessions.size + plays.size + visits.size },
          'statistics database unavailable: keeping rows in memory and retrying')
      }
      // Back in front of what came meanwhile, merged with it; whatever no longer fits is counted as dropped.
      this.#requeue(sessions, plays, visits)
      return
    }
    this.#inFlight = 0
    this.#flushes++
    this.#lastFlushMs = Math.round((performance.now() - started) * 100) / 100
    if (!this.#up) {
      this.#up = true
      this.log.info({ lastError: this.#lastError }, 'statistics database available again')
    }
    if (this.#dropping && this.#waitingRows < this.options.maxPendingRows) {
      this.#dropping = false
      this.log.info({ droppedRows: this.#droppedThisOutage }, 'statistics queue has room again')
      this.#droppedThisOutage = 0
    }
  }

  #requeue (sessions: Map<string, SessionWrite>, plays: Map<string, PlayWrite>, visits: Map<string, VisitWrite>): void {
    const newer = { sessions: this.#sessions, plays: this.#plays, visits: this.#visits }
    this.#sessions = sessions
    this.#plays = plays
    this.#visits = visits
    for (const w of newer.sessions.values()) this.session(w)
    for (const w of newer.plays.values()) this.play(w)
    for (const w of newer.visits.values()) this.visit(w)
  }
}
