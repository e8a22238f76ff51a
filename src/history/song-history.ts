import { coverHash } from './cover-hash.js'
import { SongDetector, type SongDetectorOptions, type SongPlay } from './song-detector.js'

/** One play in a session's timeline, as the history API, the push `song` event and the recording answer it. */
export interface SongEntry {
  /** The play's number in its session, from 1; it stays with the play when older ones are dropped. */
  readonly n: number
  readonly title: string
  readonly artist: string
  /** The cover's hash (as the art route names it), null without a cover. */
  readonly coverHash: string | null
  /** When the play was first seen (epoch ms). */
  readonly startedAt: number
  /** When it ended (epoch ms); null while it plays. */
  readonly endedAt: number | null
  /** Where in the song it started from (seconds): about 0 from the top, more when joined mid-song. */
  readonly startPosition: number
  /** The song's length as the player reported it (seconds; 0 when unknown). */
  readonly durationSeconds: number
}

/** What the history needs of a metadata update: the sharer's fields. */
export interface SongMetadataFields {
  readonly title: string
  readonly artist: string
  readonly elapsedSeconds: number
  readonly totalSeconds: number
  readonly thumbnailData: string | null
}

/** Plays kept per session: about a day of music. */
export const MAX_SONG_ENTRIES = 500
/** Longest title or artist kept in the history (the metadata route takes up to 2048 characters). */
const MAX_TEXT = 512

/**
 * A session's timeline of songs: each play the SongDetector finds in the sharer's 500 ms metadata (a title
 * or artist change, or a repeat), with its cover hash, start and end. Bounded: the oldest plays are dropped
 * past `maxEntries`, their numbers are not reused.
 */
export class SongHistory {
  #entries: SongEntry[] = []
  #next = 1
  readonly #detector: SongDetector
  /** The entry of the play in progress. */
  #open: SongEntry | undefined
  /** Restored from a snapshot: the open entry is the detector's next play if the song is the same. */
  #resumed = false
  /** The last thumbnail seen and its hash, so a cover is hashed once, not every 500 ms. */
  #thumbnail: { source: string | null, hash: string | null } = { source: null, hash: null }

  constructor (readonly maxEntries = MAX_SONG_ENTRIES, options: Partial<SongDetectorOptions> = {}) {
    this.#detector = new SongDetector(options)
  }

  /** Every play kept, oldest first. */
  entries (): readonly SongEntry[] { return this.#entries }

  /** Feeds one accepted metadata update; answers the entries it changed (an ended play, a new one), usually none. */
  update (m: SongMetadataFields, at: number): SongEntry[] {
    const hash = this.#coverHash(m.thumbnailData)
    const change = this.#detector.update({ ...m, thumbnailHash: hash ?? undefined, at })
    const changed: SongEntry[] = []
    if (this.#resumed) {
      this.#resumed = false
      const open = this.#open
      if (open !== undefined && change.started !== undefined && sameSong(open, change.started)) return changed
      if (open !== undefined) changed.push(this.#close(open, change.started?.startedAt ?? at))
    }
    if (change.ended !== undefined && this.#open !== undefined) changed.push(this.#close(this.#open, change.ended.endedAt))
    if (change.started !== undefined) changed.push(this.#add(change.started))
    else if (this.#open !== undefined && this.#open.coverHash !== hash && hash !== null) {
      // The cover came after the title (players load it late): the play takes it.
      changed.push(this.#replace({ ...this.#open, coverHash: hash }))
    }
    return changed
  }

  /** Ends the play in progress (the share ended); undefined when nothing was playing. */
  finish (at: number): SongEntry | undefined {
    const ended = this.#detector.finish(at)
    const open = this.#open
    if (open === undefined) return undefined
    return this.#close(open, ended?.endedAt ?? at)
  }

  /** Brings a timeline back from a snapshot (restart or takeover); a play still open carries on if its song does. */
  restore (entries: readonly SongEntry[]): void {
    this.#entries = entries.slice(-this.maxEntries)
    this.#next = Math.max(0, ...entries.map((e) => e.n)) + 1
    const last = this.#entries.at(-1)
    this.#open = last !== undefined && last.endedAt === null ? last : undefined
    this.#resumed = this.#open !== undefined
  }

  #coverHash (thumbnailData: string | null): string | null {
    if (thumbnailData !== this.#thumbnail.source) this.#thumbnail = { source: thumbnailData, hash: coverHash(thumbnailData) }
    return this.#thumbnail.hash
  }

  #add (play: SongPlay): SongEntry {
    const entry: SongEntry = {
      n: this.#next++,
      title: play.title.slice(0, MAX_TEXT),
      artist: play.artist.slice(0, MAX_TEXT),
      coverHash: play.thumbnailHash ?? null,
      startedAt: play.startedAt,
      endedAt: null,
      startPosition: play.startPosition,
      durationSeconds: play.totalSeconds
    }
    this.#entries.push(entry)
    if (this.#entries.length > this.maxEntries) this.#entries.splice(0, this.#entries.length - this.maxEntries)
    this.#open = entry
    return entry
  }

  #close (entry: SongEntry, endedAt: number): SongEntry {
    this.#open = undefined
    return this.#replace({ ...entry, endedAt: Math.max(entry.startedAt, endedAt) })
  }

  #replace (entry: SongEntry): SongEntry {
    const at = this.#entries.findLastIndex((e) => e.n === entry.n)
    if (at !== -1) this.#entries[at] = entry
    if (this.#open?.n === entry.n) this.#open = entry
    return entry
  }
}

/** The well-formed plays of something read back (a snapshot, a sidecar), in order; anything else is left out. */
export function songEntriesOf (value: unknown): SongEntry[] {
  return Array.isArray(value) ? value.filter(isSongEntry) : []
}

function isSongEntry (v: unknown): v is SongEntry {
  if (typeof v !== 'object' || v === null) return false
  const e = v as Record<string, unknown>
  const time = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0
  const seconds = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x >= 0
  return Number.isSafeInteger(e.n) && (e.n as number) >= 1 && typeof e.title === 'string' && typeof e.artist === 'string' &&
    (e.coverHash === null || typeof e.coverHash === 'string') && time(e.startedAt) && (e.endedAt === null || time(e.endedAt)) &&
    seconds(e.startPosition) && seconds(e.durationSeconds)
}

function sameSong (entry: SongEntry, play: SongPlay): boolean {
  return entry.title === play.title.slice(0, MAX_TEXT) && entry.artist === play.artist.slice(0, MAX_TEXT)
}
