import { OggOpusMuxer } from '../ogg/ogg-opus.js'
import { OPUS_FRAME_SAMPLES, OPUS_SAMPLE_RATE } from '../codec/opus-format.js'
import type { OpusChunk } from '../opus/opus-chunk.js'
import type { OpusListener } from '../opus/opus-hub.js'
import type { SongEntry } from '../history/song-history.js'
import type { SegmentWriter } from './segment-writer.js'
import { writeMeta, type ChapterMark, type CloseReason, type SegmentMeta } from './recording-store.js'

export interface SegmentRecorderOptions {
  readonly sessionId: string
  readonly sessionStartedAt: number
  readonly segmentStartedAt: number
  readonly instanceId: string
  readonly metaPath: string
  /** Chunks up to this sequence number are not this segment's (an earlier segment holds them). */
  readonly since: number
  /** Seconds the recording held before this segment; with this one at most `maxSeconds`. */
  readonly priorSeconds: number
  readonly maxSeconds: number
  /** The stream's pre-skip (the encoder's lookahead), known once its encoder opened. */
  readonly preSkip: () => number
  /** The session's song history, for the sidecar. */
  readonly history: () => readonly SongEntry[]
  /** Told once when the segment stops by itself (a limit or a failure), with its closing under way. */
  readonly stopped: (reason: CloseReason, closing: Promise<void>) => void
}

interface PendingMark {
  readonly entry: SongEntry
  /** The play started while the session's last chunk was this one: it starts with the next. */
  readonly afterSequence: number
}

/**
 * One instance's segment of a session's recording: an Opus listener of the session's stream (no second
 * encode) that pages its packets into Ogg (granules from 0, its own serial: the segment is a complete file)
 * and hands the pages to a SegmentWriter. It notes where each play starts (chapter marks) and keeps a
 * sidecar with its state, chapters and the song history. Granule mode 'rebase': a segment that starts
 * mid-stream (a takeover, a restart, a sharer opting in) still counts from 0:00, and the download joins
 * segments by adding up their lengths.
 */
export class SegmentRecorder implements OpusListener {
  readonly background = true
  #muxer: OggOpusMuxer | undefined
  /** 48 kHz samples paged so far (pre-skip included): where the next packet starts. */
  #granule = 0
  #pending: PendingMark[] = []
  #chapters: ChapterMark[] = []
  #state: 'recording' | 'closed' = 'recording'
  #reason: CloseReason | null = null
  #meta: Promise<void> = Promise.resolve()
  #finishing: Promise<void> | undefined

  constructor (readonly writer: SegmentWriter, readonly options: SegmentRecorderOptions) {}

  get sessionId (): string { return this.options.sessionId }
  get closed (): boolean { return this.#state === 'closed' }
  get reason (): CloseReason | null { return this.#reason }
  get bytes (): number { return this.writer.written }
  /** Seconds of audio in this segment so far. */
  get seconds (): number { return Math.max(0, this.#granule - (this.#muxer?.preSkip ?? 0)) / OPUS_SAMPLE_RATE }
  get chapters (): readonly ChapterMark[] { return this.#chapters }

  opus (chunk: OpusChunk): void {
    if (this.#state === 'closed' || this.#finishing !== undefined || chunk.sequenceNumber <= this.options.since) return
    try {
      // A segment that starts mid-stream gets the muxer's extra pre-skip: players skip the decoder's settling.
      this.#muxer ??= new OggOpusMuxer({ channels: chunk.channels, preSkip: this.options.preSkip(), lateJoin: chunk.startGranule > 0 })
      const marked = this.#resolveMarks(chunk.sequenceNumber)
      if (!this.writer.append(this.#muxer.write([chunk]))) return
      this.#granule += chunk.packets.length * OPUS_FRAME_SAMPLES
      if (marked) void this.saveMeta(Date.now())
    } catch {
      // Called while the hub hands a chunk to every listener: whatever went wrong stays this recording's.
      return this.stop('write-error')
    }
    if (this.options.priorSeconds + this.seconds >= this.options.maxSeconds) this.stop('max-length')
  }

  opusFailed (): void {
    this.stop('encoder-failed')
  }

  /** A play started (or changed): its chapter begins with the first chunk after the session's current one. */
  mark (entry: SongEntry, afterSequence: number): void {
    if (this.#chapters.some((c) => c.n === entry.n) || this.#pending.some((p) => p.entry.n === entry.n)) return
    this.#pending.push({ entry, afterSequence })
  }

  /** Stops by itself (a limit or a failure): says so, then closes with what it has. */
  stop (reason: CloseReason): void {
    if (this.#finishing !== undefined || this.#state === 'closed') return
    this.options.stopped(reason, this.finish(reason))
  }

  /** Ends the segment: the end-of-stream page (when the writer still takes pages), fsync, close, the final sidecar. */
  finish (reason: CloseReason): Promise<void> {
    this.#finishing ??= (async () => {
      this.#reason = reason
      const last = this.#muxer !== undefined && this.writer.failure === undefined ? this.#muxer.write([], { endOfStream: true }) : undefined
      await this.writer.finish(last)
      this.#state = 'closed'
      await this.saveMeta(Date.now())
    })()
    return this.#finishing
  }

  /** Writes the sidecar (in order with earlier writes); a failure is only the sidecar's. */
  saveMeta (now: number): Promise<void> {
    const meta: SegmentMeta = {
      version: 1,
      sessionId: this.options.sessionId,
      sessionStartedAt: this.options.sessionStartedAt,
      segmentStartedAt: this.options.segmentStartedAt,
      instanceId: this.options.instanceId,
      state: this.#state,
      reason: this.#reason,
      updatedAt: now,
      chapters: this.#chapters,
      history: this.options.history()
    }
    this.#meta = this.#meta.then(() => writeMeta(this.options.metaPath, meta)).catch(() => {})
    return this.#meta
  }

  /** Marks whose play starts with this chunk become chapters at its start. */
  #resolveMarks (sequenceNumber: number): boolean {
    const due = this.#pending.filter((p) => p.afterSequence < sequenceNumber)
    if (due.length === 0) return false
    this.#pending = this.#pending.filter((p) => p.afterSequence >= sequenceNumber)
    for (const { entry } of due) this.#chapters.push({ n: entry.n, granule: this.#granule, title: entry.title, artist: entry.artist })
    return true
  }
}
