import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { songEntriesOf, type SongEntry } from '../history/song-history.js'

/**
 * The recordings on disk. RECORDINGS_DIR holds one folder per recorded session life (a start until its
 * end), named `{sessionId}-{startTime}`; in it each instance that recorded the session (its first owner,
 * and the next one after a takeover or restart) writes one segment: `{segmentStart}-{instanceId}.ogg`,
 * the Ogg/Opus pages, and `{segmentStart}-{instanceId}.json`, its sidecar (state, chapters, history).
 * Every instance of a cluster mounts the same folder; each writes only its own segment files.
 */

/** A chapter mark: where in its segment a play starts (48 kHz samples, the segment's own granule scale). */
export interface ChapterMark {
  readonly n: number
  readonly granule: number
  readonly title: string
  readonly artist: string
}

/** Why a segment ended. */
export type CloseReason = 'ended' | 'moved' | 'shutdown' | 'max-length' | 'size-cap' | 'disk-full' | 'write-error' |
  'too-slow' | 'encoder-failed' | 'opted-out'

/** A segment's sidecar. */
export interface SegmentMeta {
  readonly version: 1
  readonly sessionId: string
  readonly sessionStartedAt: number
  readonly segmentStartedAt: number
  readonly instanceId: string
  /** `recording` while its writer lives (and refreshes `updatedAt`); `closed` once it ended. */
  readonly state: 'recording' | 'closed'
  readonly reason: CloseReason | null
  readonly updatedAt: number
  readonly chapters: readonly ChapterMark[]
  /** The session's song history when this was written (so it outlives the session with the recording). */
  readonly history: readonly SongEntry[]
}

export interface SegmentFiles {
  /** `{segmentStart}-{instanceId}`. */
  readonly name: string
  readonly segmentStartedAt: number
  readonly oggPath: string
  readonly metaPath: string
  /** Size of the .ogg file, 0 when it is missing. */
  readonly bytes: number
  /** When the .ogg file was last written (epoch ms). */
  readonly modifiedAt: number
  readonly meta: SegmentMeta | undefined
}

export interface RecordingInfo {
  readonly sessionId: string
  readonly sessionStartedAt: number
  readonly path: string
  /** In the order they were recorded. */
  readonly segments: readonly SegmentFiles[]
  readonly bytes: number
  /** A writer is still at it: a segment says `recording` and was refreshed within the live window. */
  readonly live: boolean
  /** When it was last written to (epoch ms): retention counts from here once it is no longer live. */
  readonly lastWrittenAt: number
}

const RECORDING_DIR = /^(\d{6})-(\d{1,15})$/
const SEGMENT_FILE = /^(\d{1,15})-([A-Za-z0-9._-]{1,64})\.ogg$/

export const recordingDirName = (sessionId: string, sessionStartedAt: number) => `${sessionId}-${sessionStartedAt}`
export const segmentName = (segmentStartedAt: number, instanceId: string) => `${segmentStartedAt}-${instanceId}`

export class RecordingStore {
  constructor (
    readonly dir: string,
    /** A segment whose sidecar was not refreshed for this long has lost its writer (crash, kill -9). */
    readonly liveWindowMs: number
  ) {}

  async init (): Promise<void> {
    await mkdir(this.dir, { recursive: true })
  }

  pathOf (sessionId: string, sessionStartedAt: number): string {
    return join(this.dir, recordingDirName(sessionId, sessionStartedAt))
  }

  /** Creates the recording's folder (if need be) and answers the paths of a new segment in it. */
  async newSegment (sessionId: string, sessionStartedAt: number, segmentStartedAt: number, instanceId: string) {
    const path = this.pathOf(sessionId, sessionStartedAt)
    await mkdir(path, { recursive: true })
    const name = segmentName(segmentStartedAt, instanceId)
    return { oggPath: join(path, `${name}.ogg`), metaPath: join(path, `${name}.json`) }
  }

  /** Every recording in the folder (each read whole: its segments, sizes and sidecars). Never throws. */
  async list (now: number): Promise<RecordingInfo[]> {
    const names = await readdir(this.dir).catch(() => [] as string[])
    const found: RecordingInfo[] = []
    for (const name of names) {
      const m = RECORDING_DIR.exec(name)
      if (m === null) continue
      const info = await this.read(m[1]!, Number(m[2]), now)
      if (info !== undefined) found.push(info)
    }
    return found
  }

  /** The recording of a session's life: the one that started at `sessionStartedAt`, or without it the latest one. */
  async find (sessionId: string, now: number, sessionStartedAt?: number): Promise<RecordingInfo | undefined> {
    if (sessionStartedAt !== undefined) return this.read(sessionId, sessionStartedAt, now)
    const names = await readdir(this.dir).catch(() => [] as string[])
    const starts = names.map((n) => RECORDING_DIR.exec(n)).filter((m) => m !== null && m[1] === sessionId).map((m) => Number(m![2]))
    if (starts.length === 0) return undefined
    return this.read(sessionId, Math.max(...starts), now)
  }

  async read (sessionId: string, sessionStartedAt: number, now: number): Promise<RecordingInfo | undefined> {
    const path = this.pathOf(sessionId, sessionStartedAt)
    const names = await readdir(path).catch(() => undefined)
    if (names === undefined) return undefined
    const segments: SegmentFiles[] = []
    for (const file of names) {
      const m = SEGMENT_FILE.exec(file)
      if (m === null) continue
      const name = `${m[1]}-${m[2]}`
      const oggPath = join(path, file)
      const metaPath = join(path, `${name}.json`)
      const stats = await stat(oggPath).catch(() => undefined)
      segments.push({
        name,
        segmentStartedAt: Number(m[1]),
        oggPath,
        metaPath,
        bytes: stats?.size ?? 0,
        modifiedAt: stats?.mtimeMs ?? 0,
        meta: await readMeta(metaPath)
      })
    }
    segments.sort((a, b) => a.segmentStartedAt - b.segmentStartedAt || (a.name < b.name ? -1 : 1))
    const live = segments.some((s) => s.meta?.state === 'recording' && now - s.meta.updatedAt < this.liveWindowMs)
    const lastWrittenAt = Math.max(sessionStartedAt, ...segments.map((s) => Math.max(s.modifiedAt, s.meta?.updatedAt ?? 0)))
    const bytes = segments.reduce((n, s) => n + s.bytes, 0)
    return { sessionId, sessionStartedAt, path, segments, bytes, live, lastWrittenAt }
  }

  async remove (info: Pick<RecordingInfo, 'path'>): Promise<void> {
    await rm(info.path, { recursive: true, force: true })
  }
}

/** Writes a sidecar whole or not at all (a temporary file renamed over it). */
export async function writeMeta (path: string, meta: SegmentMeta): Promise<void> {
  const temporary = `${path}.tmp`
  await writeFile(temporary, JSON.stringify(meta))
  await rename(temporary, path)
}

/** A sidecar read back; undefined when it is missing or not one. */
export async function readMeta (path: string): Promise<SegmentMeta | undefined> {
  let value: unknown
  try {
    value = JSON.parse(await readFile(path, 'utf8'))
  } catch {
    return undefined
  }
  const m = value as Partial<SegmentMeta> | null
  if (m === null || typeof m !== 'object' || m.version !== 1 || (m.state !== 'recording' && m.state !== 'closed') ||
    !Number.isSafeInteger(m.updatedAt) || !Array.isArray(m.chapters)) return undefined
  const chapters = m.chapters.filter((c): c is ChapterMark => typeof c === 'object' && c !== null &&
    Number.isSafeInteger(c.n) && Number.isSafeInteger(c.granule) && c.granule >= 0 && typeof c.title === 'string' && typeof c.artist === 'string')
  return { ...m, chapters, history: songEntriesOf(m.history) } as SegmentMeta
}
