import { performance } from 'node:perf_hooks'
import type { RunContext } from './context.js'
import { HttpClient } from './http-client.js'
import { audioBody, jpegThumbnailBase64, lrcLyrics, type BodyEncoding } from './payloads.js'
import { every, sleepUntil } from './scheduler.js'

const LYRICS = lrcLyrics()
const THUMBNAIL = jpegThumbnailBase64()
const TOTAL_SECONDS = 215.4

/**
 * One sharing desktop app: start, then metadata and an audio chunk every 500 ms (each on its own open-loop
 * schedule, sequence numbers from 0), and stop when told. It remembers, per sequence number, the timestamp
 * it sent and when the server acknowledged the chunk, which is what receivers are judged against.
 */
export class Sharer {
  /** performance.now() at which the audio POST for seq got a 2xx; undefined if it failed. */
  readonly ackedAt: Array<number | undefined> = []
  /** performance.now() at which that acknowledged POST was sent (push listeners may have the chunk before its ack). */
  readonly postedAt: Array<number | undefined> = []
  readonly sentTimestamp: number[] = []
  private readonly client: HttpClient
  private started: Promise<boolean> | undefined
  private cancel: Array<() => void> = []

  constructor (private readonly ctx: RunContext, baseUrl: string, headers: Record<string, string>,
    readonly sessionId: string, readonly index: number, private readonly encoding: BodyEncoding = 'plain') {
    this.client = new HttpClient(baseUrl, headers)
  }

  /** Resolves true once the session exists on the server. */
  whenStarted (): Promise<boolean> {
    return this.started ?? Promise.resolve(false)
  }

  begin (startAt: number, stopAt: number, periodMs = 500): void {
    this.started = (async () => {
      await sleepUntil(startAt)
      const res = await this.ctx.send(this.client, 'POST start', '/api/share/start', [Buffer.from(JSON.stringify({ sessionId: this.sessionId }))])
      if (!res.ok) return false
      const t0 = performance.now()
      this.cancel.push(every(periodMs, t0, stopAt, (k, late) => { void this.postMetadata(k, late) }))
      this.cancel.push(every(periodMs, t0 + periodMs / 2, stopAt, (k, late) => { void this.postAudio(k, late) }))
      return true
    })()
  }

  private async postMetadata (k: number, lateness: number): Promise<void> {
    const body = JSON.stringify({
      title: `Bench Song ${this.index}`,
      artist: 'Load Generator',
      lyrics: LYRICS,
      hasSyncedLyrics: true,
      elapsedSeconds: Math.round(((k * 0.5) % TOTAL_SECONDS) * 10) / 10,
      totalSeconds: TOTAL_SECONDS,
      thumbnailData: THUMBNAIL,
      timestamp: Date.now()
    })
    await this.ctx.send(this.client, 'POST metadata', `/api/share/${this.sessionId}/metadata`, [Buffer.from(body)], lateness)
  }

  private async postAudio (seq: number, lateness: number): Promise<void> {
    const timestamp = Date.now()
    this.sentTimestamp[seq] = timestamp
    const res = await this.ctx.send(this.client, 'POST audio', `/api/share/${this.sessionId}/audio`, audioBody(this.index, seq, timestamp, this.encoding), lateness)
    if (!res.ok) return
    this.ackedAt[seq] = res.endedAt
    this.postedAt[seq] = res.startedAt
  }

  async stop (): Promise<void> {
    for (const c of this.cancel) c()
    if (await this.whenStarted()) await this.ctx.send(this.client, 'POST stop', `/api/share/${this.sessionId}/stop`)
    this.client.close()
  }
}
