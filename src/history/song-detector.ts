/**
 * Tells song plays apart in a sharer's metadata stream. The desktop client posts the whole metadata
 * every 500 ms, so almost every update repeats the one before: this turns that stream into "a song
 * started" and "that song ended". Framework-free and shared: statistics count plays with it, and a
 * recording or song-history feature can cut at the same places.
 *
 * A new play starts when
 * - the title or the artist changes (compared trimmed, case-sensitively), or
 * - the same song jumps back to its start: the position lands within `nearStartSeconds` of zero after
 *   being at least `repeatJumpSeconds` further on (a repeat, or the user starting it over), or
 * - the same song comes back after no update for `staleAfterMs` (the share went quiet in between).
 * Small backward steps (clock jitter between updates) and seeks that do not land near the start are the
 * same play. An empty title means nothing is playing: the current play ends and none starts.
 */

export interface SongUpdate {
  readonly title: string
  readonly artist: string
  /** Where the player is in the song, in seconds. */
  readonly elapsedSeconds: number
  /** The song's length in seconds (0 or less when the player does not know it). */
  readonly totalSeconds: number
  /** Something that names the cover image (e.g. a hash of it), passed through untouched. */
  readonly thumbnailHash?: string | undefined
  /** When the update arrived (epoch ms). */
  readonly at: number
}

export interface SongPlay {
  readonly title: string
  readonly artist: string
  /** The song's length as the player reported it when the play started (seconds; 0 when unknown). */
  readonly totalSeconds: number
  readonly thumbnailHash: string | undefined
  /** When the play was first seen (epoch ms). */
  readonly startedAt: number
  /** The position it was first seen at: 0-ish when it started from the top, more when joined mid-song. */
  readonly startPosition: number
}

export interface EndedPlay extends SongPlay {
  /** When it ended: the update that showed another song, the finish time, or its last update if it went quiet. */
  readonly endedAt: number
  /** The last position reported for it (seconds). */
  readonly lastPosition: number
}

/** What one update changed: the play that ended and the one that started, either or both absent. */
export interface SongChange {
  readonly ended?: EndedPlay
  readonly started?: SongPlay
}

export interface SongDetectorOptions {
  /** A position within this many seconds of zero counts as the start of the song. */
  readonly nearStartSeconds: number
  /** How far back the position must jump (seconds) to count as the song starting over. */
  readonly repeatJumpSeconds: number
  /** With no update for this long the play counts as over at its last update. */
  readonly staleAfterMs: number
}

export const DEFAULT_SONG_DETECTOR_OPTIONS: SongDetectorOptions = {
  nearStartSeconds: 5,
  repeatJumpSeconds: 10,
  staleAfterMs: 30_000
}

interface Current {
  readonly play: SongPlay
  lastPosition: number
  lastUpdateAt: number
}

const NOTHING: SongChange = Object.freeze({})

export class SongDetector {
  #current: Current | undefined
  readonly options: SongDetectorOptions

  constructor (options: Partial<SongDetectorOptions> = {}) {
    this.options = { ...DEFAULT_SONG_DETECTOR_OPTIONS, ...options }
  }

  /** The play in progress, if any. */
  get current (): SongPlay | undefined { return this.#current?.play }

  /** Feeds one accepted metadata update; answers what changed (usually nothing). */
  update (u: SongUpdate): SongChange {
    const title = u.title.trim()
    const artist = u.artist.trim()
    const position = Number.isFinite(u.elapsedSeconds) ? Math.max(0, u.elapsedSeconds) : 0
    const current = this.#current
    if (current !== undefined && u.at < current.lastUpdateAt) return NOTHING // out of order: ignore
    if (current !== undefined && title !== '' && !this.#isNewPlay(current, title, artist, position, u.at)) {
      current.lastPosition = position
      current.lastUpdateAt = u.at
      return NOTHING
    }
    const ended = current === undefined ? undefined : this.#end(current, u.at)
    if (title === '') {
      this.#current = undefined
      return ended === undefined ? NOTHING : { ended }
    }
    const play: SongPlay = {
      title,
      artist,
      totalSeconds: Number.isFinite(u.totalSeconds) && u.totalSeconds > 0 ? u.totalSeconds : 0,
      thumbnailHash: u.thumbnailHash,
      startedAt: u.at,
      startPosition: position
    }
    this.#current = { play, lastPosition: position, lastUpdateAt: u.at }
    return ended === undefined ? { started: play } : { ended, started: play }
  }

  /** Ends the play in progress (the share stopped); undefined when nothing was playing. */
  finish (at: number): EndedPlay | undefined {
    const current = this.#current
    if (current === undefined) return undefined
    this.#current = undefined
    return this.#end(current, Math.max(at, current.lastUpdateAt))
  }

  #isNewPlay (current: Current, title: string, artist: string, position: number, at: number): boolean {
    const { play } = current
    if (title !== play.title || artist !== play.artist) return true
    if (at - current.lastUpdateAt > this.options.staleAfterMs) return true
    return position <= this.options.nearStartSeconds &&
      current.lastPosition - position >= this.options.repeatJumpSeconds
  }

  /** A play ends when the next one shows up, unless it had gone quiet: then at its last update. */
  #end (current: Current, at: number): EndedPlay {
    const quiet = at - current.lastUpdateAt > this.options.staleAfterMs
    return { ...current.play, endedAt: quiet ? current.lastUpdateAt : at, lastPosition: current.lastPosition }
  }
}
