import { createHash, createHmac } from 'node:crypto'
import { SongDetector, type EndedPlay, type SongPlay } from '../history/song-detector.js'
import type { PlayWrite, SessionWrite, VisitWrite } from './store.js'

/** What statistics read of a live session (ShareSession has all of it). */
export interface LiveSession {
  readonly id: string
  readonly startTime: number
  readonly bytesReceived: number
  readonly bytesSent: number
}

/** What is left of a session that ended (the registry's EndedSession). */
export interface FinishedSession {
  readonly id: string
  readonly startTime: number
  readonly endedAt: number
  readonly reason: 'stopped' | 'expired'
  readonly bytesTransferred: number
  readonly bytesSent: number
}

export interface SongFields {
  readonly title: string
  readonly artist: string
  readonly elapsedSeconds: number
  readonly totalSeconds: number
}

/** Where the rows go: the write-behind queue. */
export interface StatsSink {
  session (w: SessionWrite): void
  play (w: PlayWrite): void
  visit (w: VisitWrite): void
}

interface CurrentPlay {
  readonly write: Omit<PlayWrite, 'endedAt' | 'plays' | 'listenerMs'>
  /** Listener-ms since the last write of this play. */
  listenerMs: number
}

interface Tracked {
  readonly source: LiveSession
  readonly key: string
  readonly detector: SongDetector
  /** Listeners counted now: receiver key → pseudonym and when it joined. */
  readonly present: Map<string, { listener: string, joinedAt: number }>
  play: CurrentPlay | undefined
  /** Listener-ms are integrated up to this moment. */
  at: number
  peak: number
  /** Figures since the last write of the session. */
  listenerMs: number
  bytesInWritten: number
  bytesOutWritten: number
}

const MAX_TEXT = 512

/** A song's key: the same title and artist give the same key on every instance. */
export function songKey (title: string, artist: string): string {
  return createHash('sha256').update(`${title}\u0000${artist}`).digest('base64url').slice(0, 22)
}

/**
 * Turns what happens to sessions into statistics rows: a session row when it starts, then its growing
 * figures at every checkpoint and at its end; a play row when the song detector sees a song start, its
 * listener-minutes as they accrue, its end; a visit row per listener join and leave, under a keyed hash
 * of the receiver's key. Listener-minutes are the integral of the listener count over time, exact to
 * the listener window: a receiver counts from its first poll until the window after its last.
 * Every method is cheap and synchronous (a hash on a join, a few map updates): rows go to the sink.
 */
export class SessionStats {
  readonly #tracked = new Map<string, Tracked>()

  constructor (readonly sink: StatsSink, readonly secret: string) {}

  get trackedSessions (): number { return this.#tracked.size }

  /** A keyed hash of a receiver's key: counts unique listeners without anything that names them. */
  pseudonym (receiverKey: string): string {
    return createHmac('sha256', this.secret).update(receiverKey).digest('base64url').slice(0, 22)
  }

  started (session: LiveSession): void {
    this.#track(session, 0, 0, session.startTime)
  }

  /** A session brought back after a restart or taken over: the same row, its counters carry on from here. */
  restored (session: LiveSession, now: number): void {
    this.#track(session, session.bytesReceived, session.bytesSent, now)
  }

  #track (session: LiveSession, bytesIn: number, bytesOut: number, now: number): void {
    const old = this.#tracked.get(session.id)
    if (old !== undefined) this.#close(old, now, undefined)
    const t: Tracked = {
      source: session,
      key: `${session.id}:${session.startTime}`,
      detector: new SongDetector(),
      present: new Map(),
      play: undefined,
      at: now,
      peak: 0,
      listenerMs: 0,
      bytesInWritten: bytesIn,
      bytesOutWritten: bytesOut
    }
    this.#tracked.set(session.id, t)
    this.#writeSession(t, now, null, null)
  }

  metadata (session: LiveSession, song: SongFields, at: number): void {
    const t = this.#of(session)
    if (t === undefined) return
    const change = t.detector.update({ ...song, at })
    if (change.ended === undefined && change.started === undefined) return
    this.#advance(t, at)
    if (change.ended !== undefined) this.#endPlay(t, change.ended)
    if (change.started !== undefined) this.#startPlay(t, change.started)
  }

  listenerJoined (session: LiveSession, receiverKey: string, at: number): void {
    const t = this.#of(session)
    if (t === undefined || t.present.has(receiverKey)) return
    this.#advance(t, at)
    const visit = { listener: this.pseudonym(receiverKey), joinedAt: at }
    t.present.set(receiverKey, visit)
    t.peak = Math.max(t.peak, t.present.size)
    this.sink.visit({ sessionKey: t.key, ...visit, leftAt: null })
  }

  listenerLeft (session: LiveSession, receiverKey: string, at: number): void {
    const t = this.#of(session)
    const visit = t?.present.get(receiverKey)
    if (t === undefined || visit === undefined) return
    this.#leave(t, receiverKey, Math.max(at, visit.joinedAt))
  }

  ended (e: FinishedSession): void {
    const t = this.#tracked.get(e.id)
    if (t === undefined || t.source.startTime !== e.startTime) return
    this.#close(t, e.endedAt, e)
  }

  /** The session now lives on another instance: what this one saw is written, without an end. */
  moved (session: LiveSession, now: number): void {
    const t = this.#of(session)
    if (t !== undefined) this.#close(t, now, undefined)
  }

  /** Writes every live session's figures so far (the write-behind's tick): at most one tick is ever unwritten. */
  checkpoint (now: number): void {
    for (const t of this.#tracked.values()) {
      this.#advance(t, now)
      const play = t.play
      if (play !== undefined && play.listenerMs !== 0) {
        this.sink.play({ ...play.write, endedAt: null, plays: 0, listenerMs: play.listenerMs })
        play.listenerMs = 0
      }
      this.#writeSession(t, now, null, null)
    }
  }

  /** Shutdown: plays and visits end now; sessions are written as still open (they may be restored elsewhere). */
  closeAll (now: number): void {
    for (const t of [...this.#tracked.values()]) this.#close(t, now, undefined)
  }

  #of (session: LiveSession): Tracked | undefined {
    const t = this.#tracked.get(session.id)
    return t !== undefined && t.source === session ? t : undefined
  }

  /** Integrates the listener count up to `to`; a moment already passed is not integrated twice. */
  #advance (t: Tracked, to: number): void {
    if (to <= t.at) return
    const ms = t.present.size * (to - t.at)
    t.listenerMs += ms
    if (t.play !== undefined) t.play.listenerMs += ms
    t.at = to
  }

  #leave (t: Tracked, receiverKey: string, at: number): void {
    const visit = t.present.get(receiverKey)!
    this.#advance(t, at)
    // Noticed after the fact (the window ran out a while ago): take back what was counted since.
    const over = t.at - at
    if (over > 0) {
      t.listenerMs -= over
      if (t.play !== undefined) t.play.listenerMs -= Math.min(over, t.at - t.play.write.startedAt)
    }
    t.present.delete(receiverKey)
    this.sink.visit({ sessionKey: t.key, listener: visit.listener, joinedAt: visit.joinedAt, leftAt: at })
  }

  #startPlay (t: Tracked, song: SongPlay): void {
    const title = song.title.slice(0, MAX_TEXT)
    const artist = song.artist.slice(0, MAX_TEXT)
    const write = {
      sessionKey: t.key,
      startedAt: song.startedAt,
      songKey: songKey(title, artist),
      title,
      artist,
      startPositionMs: Math.round(song.startPosition * 1000),
      totalMs: Math.round(song.totalSeconds * 1000)
    }
    t.play = { write, listenerMs: 0 }
    this.sink.play({ ...write, endedAt: null, plays: 1, listenerMs: 0 })
  }

  #endPlay (t: Tracked, ended: EndedPlay): void {
    const play = t.play
    if (play === undefined) return
    t.play = undefined
    this.sink.play({ ...play.write, endedAt: ended.endedAt, plays: 0, listenerMs: play.listenerMs })
  }

  #close (t: Tracked, at: number, end: FinishedSession | undefined): void {
    for (const key of [...t.present.keys()]) this.#leave(t, key, at)
    this.#advance(t, at)
    const last = t.detector.finish(at)
    if (last !== undefined) this.#endPlay(t, last)
    this.#tracked.delete(t.source.id)
    this.#writeSession(t, at, end, end?.reason ?? null)
  }

  #writeSession (t: Tracked, now: number, end: FinishedSession | undefined | null, reason: 'stopped' | 'expired' | null): void {
    const bytesIn = end?.bytesTransferred ?? t.source.bytesReceived
    const bytesOut = end?.bytesSent ?? t.source.bytesSent
    this.sink.session({
      sessionKey: t.key,
      sessionCode: t.source.id,
      startedAt: t.source.startTime,
      endedAt: end?.endedAt ?? null,
      endReason: reason,
      lastSeenAt: Math.max(now, t.source.startTime),
      peakListeners: t.peak,
      listenerMs: t.listenerMs,
      bytesIn: Math.max(0, bytesIn - t.bytesInWritten),
      bytesOut: Math.max(0, bytesOut - t.bytesOutWritten)
    })
    t.listenerMs = 0
    t.bytesInWritten = Math.max(t.bytesInWritten, bytesIn)
    t.bytesOutWritten = Math.max(t.bytesOutWritten, bytesOut)
  }
}
