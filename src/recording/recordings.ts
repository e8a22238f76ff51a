import { rm } from 'node:fs/promises'
import { DomainError } from '../errors.js'
import type { OpusHub } from '../opus/opus-hub.js'
import type { SongEntry } from '../history/song-history.js'
import type { ShareSession } from '../session/session.js'
import type { EndedSession, SessionRegistry } from '../session/session-registry.js'
import { openSegmentFile, SegmentWriter, type OpenSegmentFile, type WriteFailure } from './segment-writer.js'
import { SegmentRecorder } from './segment-recorder.js'
import { RecordingStore, type CloseReason, type RecordingInfo } from './recording-store.js'
import { inspectSegment, joinSegments, type JoinedRecording, type SegmentLayout } from './recording-reader.js'
import { downloadName, type Chapter } from './download.js'

export interface RecordingsOptions {
  readonly dir: string
  /** Whether a session the sharer said nothing about is recorded (RECORDING_DEFAULT). */
  readonly defaultOn: boolean
  readonly bitrateKbps: number
  /** Finished recordings are deleted this long after their last write. */
  readonly retentionMs: number
  /** All recordings together at most (bytes). */
  readonly maxBytes: number
  /** One session's recording at most (seconds of audio). */
  readonly maxSeconds: number
  readonly instanceId: string
  /** Pages a segment may hold in memory waiting for the disk (bytes). */
  readonly maxQueuedBytes?: number
  /** A segment whose sidecar was not refreshed for this long has lost its writer (crash). */
  readonly liveWindowMs?: number
  /** Opens segment files (tests put a failing disk here). */
  readonly openFile?: OpenSegmentFile
}

export interface RecordingsLog {
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
  error (obj: object, msg: string): void
}

/** A recording as `GET /:id/status` reports it. */
export interface RecordingStatus {
  /** off: not recorded; recording; stopped: stopped early (see reason) while the session goes on; finished: the session ended. */
  readonly state: 'off' | 'recording' | 'stopped' | 'finished'
  /** Why it is off or stopped early (`opted-out`, `max-length`, `size-cap`, `disk-full`, …); null otherwise. */
  readonly reason: string | null
  /** Seconds of audio recorded and bytes on disk, all segments together. */
  readonly seconds: number
  readonly bytes: number
}

/** A recording ready to be downloaded (as one Ogg/Opus file) with its chapters. */
export interface RecordingDownload {
  readonly sessionId: string
  readonly startedAt: number
  readonly joined: JoinedRecording
  readonly fileName: string
  readonly chapters: readonly Chapter[]
}

/** One live session's recording on this instance. */
interface Live {
  readonly session: ShareSession
  recorder: SegmentRecorder | undefined
  state: 'recording' | 'stopped' | 'off'
  reason: CloseReason | null
  /** What earlier segments of the recording hold (a takeover, a restart, an opt-in again). */
  prior: { seconds: number, bytes: number }
}

/** Stop reasons that say the disk is in trouble: /health reports them. */
const DISK_TROUBLE: ReadonlySet<string> = new Set(['disk-full', 'write-error', 'too-slow', 'size-cap'])

const DEFAULT_QUEUE_BYTES = 4 * 1024 * 1024
const DEFAULT_LIVE_WINDOW_MS = 30_000

/**
 * Records sessions to RECORDINGS_DIR: each live session the sharer did not opt out of (RECORDING_DEFAULT
 * says what silence means) gets a SegmentRecorder on its Opus stream at RECORDING_BITRATE_KBPS, from its
 * start (or its restore, or the opt-in) to its end. Finishes segments cleanly on stop, expiry, takeover and
 * shutdown; stops one (and says so: log, stats, status) at the per-session length, at the total size cap,
 * on a full disk or a disk too slow, and never lets any of that reach the relay. Serves recordings back as
 * one file, their chapters and their song history; sweeps finished ones past retention and, oldest first,
 * past the size cap.
 */
export class Recordings {
  readonly store: RecordingStore
  readonly stats = {
    segmentsStarted: 0,
    bytesWritten: 0,
    stopped: {} as Record<string, number>,
    deletedRetention: 0,
    deletedSizeCap: 0,
    diskBytes: 0
  }

  #live = new Map<string, Live>()
  #pending = new Set<Promise<unknown>>()
  #usedBytes = 0
  #sweeping: Promise<void> | undefined
  #closed = false
  readonly #openFile: OpenSegmentFile
  readonly #unsubscribe: Array<() => void> = []

  constructor (readonly registry: SessionRegistry, readonly hub: OpusHub, readonly options: RecordingsOptions, readonly log: RecordingsLog) {
    this.store = new RecordingStore(options.dir, options.liveWindowMs ?? DEFAULT_LIVE_WINDOW_MS)
    this.#openFile = options.openFile ?? openSegmentFile
  }

  /** Creates the folder, learns how full it is, then follows the registry. */
  async start (now = Date.now()): Promise<void> {
    await this.store.init().catch((err: Error) => { throw new Error(`RECORDINGS_DIR cannot be used: ${err.message}`) })
    await this.sweep(now)
    const on = <A extends unknown[]>(event: 'started' | 'restored' | 'song' | 'ended' | 'moved', listener: (...args: A) => void) => {
      this.registry.events.on(event, listener as never)
      this.#unsubscribe.push(() => this.registry.events.off(event, listener as never))
    }
    on('started', (session: ShareSession) => this.#consider(session, -1))
    on('restored', (session: ShareSession) => this.#consider(session, session.lastSequence))
    on('song', (session: ShareSession, entry: SongEntry) => this.#song(session, entry))
    on('ended', (ended: EndedSession) => this.#end(ended.id, 'ended'))
    on('moved', (session: ShareSession) => this.#end(session.id, 'moved'))
    // Sessions restored (Redis) before this followed the registry are recorded from where they are.
    for (const session of this.registry.activeSessions()) this.#consider(session, session.lastSequence)
  }

  /** Segments being written now. */
  get recording (): number {
    let n = 0
    for (const live of this.#live.values()) if (live.recorder !== undefined && !live.recorder.closed) n++
    return n
  }

  /** Live sessions whose recording stopped early for a disk reason (full, failing, too slow, at the cap). */
  get diskTrouble (): number {
    let n = 0
    for (const live of this.#live.values()) if (live.state === 'stopped' && DISK_TROUBLE.has(live.reason ?? '')) n++
    return n
  }

  /** The recording of a live session held here, as status reports it; undefined for another session. */
  liveStatus (sessionId: string): RecordingStatus | undefined {
    const live = this.#live.get(sessionId)
    if (live === undefined) return undefined
    return {
      state: live.state,
      reason: live.reason,
      seconds: live.prior.seconds + (live.recorder?.seconds ?? 0),
      bytes: live.prior.bytes + (live.recorder?.bytes ?? 0)
    }
  }

  /** The recording of an ended session (the life that started at `startedAt`), read from the disk. */
  async endedStatus (sessionId: string, startedAt: number, now = Date.now()): Promise<RecordingStatus> {
    const found = await this.#download(sessionId, now, startedAt).catch(() => undefined)
    if (found === undefined) return { state: 'off', reason: null, seconds: 0, bytes: 0 }
    const reasons = found.info.segments.map((s) => s.meta?.reason).filter((r) => r !== undefined && r !== null)
    const stoppedFor = reasons.find((r) => r !== 'ended' && r !== 'moved' && r !== 'shutdown') ?? null
    return { state: 'finished', reason: stoppedFor, seconds: found.download.joined.seconds, bytes: found.download.joined.size }
  }

  /**
   * The sharer's say (POST /:id/recording): off stops the recording and deletes what was recorded of this
   * session; on records from now, continuing a recording stopped earlier as a new segment.
   */
  async setEnabled (session: ShareSession, enabled: boolean): Promise<RecordingStatus> {
    session.recordingPreference = enabled
    const live = this.#live.get(session.id) ?? this.#remember(session)
    if (!enabled) {
      live.state = 'off'
      live.reason = 'opted-out'
      const recorder = live.recorder
      live.recorder = undefined
      if (recorder !== undefined) {
        this.hub.detach(recorder, Date.now())
        await recorder.finish('opted-out')
      }
      await this.store.remove({ path: this.store.pathOf(session.id, session.startTime) })
      live.prior = { seconds: 0, bytes: 0 }
      this.log.info({ sessionId: session.id }, 'recording turned off by the sharer: what was recorded is deleted')
    } else if (live.state !== 'recording') {
      await this.#await(this.#begin(live, session.lastSequence))
    }
    return this.liveStatus(session.id)!
  }

  /** A recording to download: the live or ended session's life, else the latest recording of the id. */
  async download (sessionId: string, now = Date.now()): Promise<RecordingDownload> {
    return (await this.#download(sessionId, now, this.#lifeOf(sessionId))).download
  }

  /** The song history kept with the latest recording of the id (after the session itself is forgotten). */
  async songHistory (sessionId: string, now = Date.now()): Promise<readonly SongEntry[] | undefined> {
    const info = await this.store.find(sessionId, now)
    if (info === undefined || this.#expired(info, now)) return undefined
    const metas = info.segments.map((s) => s.meta).filter((m) => m !== undefined)
    return metas.sort((a, b) => a.updatedAt - b.updatedAt).at(-1)?.history
  }

  /**
   * Deletes finished recordings past retention, then the oldest finished ones while all together (and `room`
   * bytes more) are over RECORDINGS_MAX_GB; learns how full the folder is. One sweep at a time (callers share it).
   */
  sweep (now = Date.now(), room = 0): Promise<void> {
    this.#sweeping ??= this.#sweep(now, room).finally(() => { this.#sweeping = undefined })
    return this.#sweeping
  }

  /** Timer: fsync every segment written since the last tick and refresh its sidecar (it says the writer lives). */
  async tick (now = Date.now()): Promise<void> {
    const work: Array<Promise<void>> = []
    for (const live of this.#live.values()) {
      const recorder = live.recorder
      if (recorder === undefined || recorder.closed) continue
      work.push(recorder.writer.sync(), recorder.saveMeta(now))
    }
    await Promise.all(work)
  }

  /** Resolves once the segments being opened or finished now are (a stop answers before its segment is closed). */
  async settled (): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending])
  }

  /** Finishes every segment (shutdown): end-of-stream page, fsync, sidecar. */
  async close (): Promise<void> {
    this.#closed = true
    for (const off of this.#unsubscribe) off()
    await Promise.all([...this.#pending])
    await Promise.all([...this.#live.keys()].map((id) => this.#end(id, 'shutdown')))
  }

  /** Work that close() waits for. */
  #await<T> (work: Promise<T>): Promise<T> {
    this.#pending.add(work)
    void work.finally(() => this.#pending.delete(work))
    return work
  }

  #remember (session: ShareSession): Live {
    const live: Live = { session, recorder: undefined, state: 'off', reason: null, prior: { seconds: 0, bytes: 0 } }
    this.#live.set(session.id, live)
    return live
  }

  #consider (session: ShareSession, since: number): void {
    const live = this.#remember(session)
    const enabled = session.recordingPreference ?? this.options.defaultOn
    if (!enabled) {
      live.reason = session.recordingPreference === false ? 'opted-out' : null
      return
    }
    void this.#await(this.#begin(live, since))
  }

  /** Opens a new segment of the session's recording and attaches it to the session's Opus stream. Never throws. */
  async #begin (live: Live, since: number): Promise<void> {
    const { session } = live
    live.state = 'recording'
    live.reason = null
    const current = () => !this.#closed && this.#live.get(session.id) === live && live.state === 'recording' &&
      this.registry.lookup(session.id).state === 'active'
    try {
      const now = Date.now()
      const earlier = await this.store.read(session.id, session.startTime, now)
      live.prior = earlier === undefined ? { seconds: 0, bytes: 0 } : { seconds: (await this.#join(earlier)).joined.seconds, bytes: earlier.bytes }
      if (!current()) return
      if (live.prior.seconds >= this.options.maxSeconds) return this.#stopped(live, 'max-length')
      const paths = await this.store.newSegment(session.id, session.startTime, now, this.options.instanceId)
      const file = await this.#openFile(paths.oggPath)
      // The writer's failures stop the recorder it writes for (made next).
      const own: { recorder?: SegmentRecorder } = {}
      const writer = new SegmentWriter(file, {
        maxQueuedBytes: this.options.maxQueuedBytes ?? DEFAULT_QUEUE_BYTES,
        reserve: (bytes) => this.#reserve(bytes),
        failed: (reason, err) => this.#writeFailed(session.id, own.recorder, reason, err)
      })
      const recorder = own.recorder = new SegmentRecorder(writer, {
        sessionId: session.id,
        sessionStartedAt: session.startTime,
        segmentStartedAt: now,
        instanceId: this.options.instanceId,
        metaPath: paths.metaPath,
        since,
        priorSeconds: live.prior.seconds,
        maxSeconds: this.options.maxSeconds,
        preSkip: () => this.hub.streamShape(session.id, this.options.bitrateKbps)?.preSkip ?? 0,
        history: () => session.history.entries(),
        stopped: (reason, closing) => {
          this.#stopped(live, reason)
          void this.#await(closing)
        }
      })
      if (!current()) {
        await writer.finish()
        await rm(paths.oggPath, { force: true })
        return
      }
      live.recorder = recorder
      this.stats.segmentsStarted++
      // The play in progress is this segment's first chapter (the download keeps a play's earliest mark).
      const playing = session.history.entries().at(-1)
      if (playing !== undefined && playing.endedAt === null) recorder.mark(playing, since)
      this.hub.attach(session, recorder, since, this.options.bitrateKbps)
      await recorder.saveMeta(now)
      this.log.info({ sessionId: session.id, segment: paths.oggPath.slice(this.options.dir.length + 1), priorSeconds: Math.round(live.prior.seconds) },
        'recording started')
    } catch (err) {
      const reason = (err as { code?: string }).code === 'ENOSPC' ? 'disk-full' : 'write-error'
      this.log.error({ sessionId: session.id, code: (err as { code?: string }).code }, 'recording could not start')
      if (this.#live.get(session.id) === live) this.#stopped(live, reason)
    }
  }

  #song (session: ShareSession, entry: SongEntry): void {
    const recorder = this.#live.get(session.id)?.recorder
    if (recorder === undefined || recorder.closed) return
    recorder.mark(entry, session.lastSequence)
    void recorder.saveMeta(Date.now())
  }

  /** The session ended, moved away or the server closes: its segment is finished and forgotten here. */
  async #end (sessionId: string, reason: 'ended' | 'moved' | 'shutdown'): Promise<void> {
    const live = this.#live.get(sessionId)
    if (live === undefined) return
    this.#live.delete(sessionId)
    const recorder = live.recorder
    if (recorder === undefined) return
    this.hub.detach(recorder, Date.now())
    await this.#await(recorder.finish(reason))
    this.log.info({ sessionId, reason, seconds: Math.round(live.prior.seconds + recorder.seconds), bytes: live.prior.bytes + recorder.bytes },
      'recording finished')
  }

  /** A segment stopped early (a limit or a failure): log, count, and status say so; the relay goes on. */
  #stopped (live: Live, reason: CloseReason): void {
    if (this.#live.get(live.session.id) !== live || live.state === 'off') return
    live.state = 'stopped'
    live.reason = reason
    if (live.recorder !== undefined) this.hub.detach(live.recorder, Date.now())
    this.stats.stopped[reason] = (this.stats.stopped[reason] ?? 0) + 1
    this.log.warn({ sessionId: live.session.id, reason, seconds: Math.round(live.prior.seconds + (live.recorder?.seconds ?? 0)) },
      'recording stopped early: the share goes on unrecorded')
  }

  #writeFailed (sessionId: string, recorder: SegmentRecorder | undefined, reason: WriteFailure, err: unknown): void {
    if (err !== undefined) this.log.error({ sessionId, reason, code: (err as { code?: string }).code }, 'recording write failed')
    recorder?.stop(reason)
  }

  /** Room on the disk budget for `bytes` more; a sweep may make it (finished recordings, oldest first). */
  async #reserve (bytes: number): Promise<boolean> {
    const fits = () => this.#usedBytes + bytes <= this.options.maxBytes
    if (!fits()) await this.#sweeping
    if (!fits()) await this.sweep(Date.now(), bytes)
    if (!fits()) return false
    this.#usedBytes += bytes
    this.stats.bytesWritten += bytes
    return true
  }

  /** Never throws (timers call it): a recording that cannot be deleted is logged and left for the next sweep. */
  async #sweep (now: number, room: number): Promise<void> {
    const recordings = await this.store.list(now)
    const ours = new Set([...this.#live.values()].map((l) => this.store.pathOf(l.session.id, l.session.startTime)))
    const finished = recordings.filter((r) => !r.live && !ours.has(r.path)).sort((a, b) => a.lastWrittenAt - b.lastWrittenAt)
    let total = recordings.reduce((n, r) => n + r.bytes, 0)
    const deleted = { retention: 0, sizeCap: 0 }
    for (const recording of finished) {
      const expired = this.#expired(recording, now)
      if (!expired && total + room <= this.options.maxBytes) continue
      try {
        await this.store.remove(recording)
      } catch (err) {
        this.log.error({ sessionId: recording.sessionId, code: (err as { code?: string }).code }, 'a finished recording could not be deleted')
        continue
      }
      total -= recording.bytes
      if (expired) deleted.retention++
      else deleted.sizeCap++
    }
    this.stats.deletedRetention += deleted.retention
    this.stats.deletedSizeCap += deleted.sizeCap
    this.#usedBytes = total
    this.stats.diskBytes = total
    if (deleted.retention + deleted.sizeCap > 0) this.log.info({ ...deleted, bytesLeft: total }, 'recordings deleted')
  }

  #expired (info: RecordingInfo, now: number): boolean {
    return !info.live && now - info.lastWrittenAt > this.options.retentionMs
  }

  /** The start time of the session's life the registry knows (live or ended), if it knows one. */
  #lifeOf (sessionId: string): number | undefined {
    const found = this.registry.lookup(sessionId)
    if (found.state === 'active') return found.session.startTime
    if (found.state === 'ended') return found.ended.startTime
    return undefined
  }

  async #download (sessionId: string, now: number, startedAt?: number) {
    const info = await this.store.find(sessionId, now, startedAt)
    if (info === undefined || this.#expired(info, now)) throw new DomainError('RECORDING_NOT_FOUND', 'This session has no recording')
    const { joined, layouts } = await this.#join(info)
    if (layouts.length === 0) throw new DomainError('RECORDING_NOT_FOUND', 'Nothing of this session is recorded yet')
    const chapters = new Map<number, Chapter>()
    info.segments.forEach((segment) => {
      const at = layouts.findIndex((l) => l.path === segment.oggPath)
      if (at === -1) return
      for (const mark of segment.meta?.chapters ?? []) {
        const chapter = { at: joined.secondsAt(at, mark.granule), title: mark.title, artist: mark.artist }
        const known = chapters.get(mark.n)
        if (known === undefined || chapter.at < known.at) chapters.set(mark.n, chapter)
      }
    })
    const download: RecordingDownload = {
      sessionId,
      startedAt: info.sessionStartedAt,
      joined,
      fileName: downloadName(sessionId, info.sessionStartedAt, 'ogg'),
      chapters: [...chapters.values()].sort((a, b) => a.at - b.at)
    }
    return { info, download }
  }

  /** The segments that hold audio, joined in order (a segment of another channel count than the first is left out). */
  async #join (info: RecordingInfo): Promise<{ joined: JoinedRecording, layouts: SegmentLayout[] }> {
    const layouts: SegmentLayout[] = []
    for (const segment of info.segments) {
      const layout = await inspectSegment(segment.oggPath)
      if (layout !== undefined && (layouts.length === 0 || layout.channels === layouts[0]!.channels)) layouts.push(layout)
    }
    return { joined: joinSegments(layouts), layouts }
  }
}
