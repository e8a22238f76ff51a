import { performance } from 'node:perf_hooks'
import type { RunContext } from './context.js'
import { HttpClient } from './http-client.js'
import { chunkMatches } from './payloads.js'
import { parseChunksLoosely, scanChunks, scanTimestamp } from './chunk-scan.js'
import { every, sleepUntil } from './scheduler.js'
import type { Sharer } from './sharer.js'

export interface ReceiverTally {
  expected: number
  received: number
  lost: number
  duplicates: number
  corrupt: number
  formatMismatches: number
  overlappingPolls: number
  /** sharer's audio POST acknowledged -> first receipt here, ms (chunks that existed before joining excluded). */
  delaysMs: number[]
  failed: boolean
}

/**
 * One receiving desktop app: status once, then metadata every 500 ms and audio every `audioPeriodMs` with
 * since=<highest sequence seen>. Every chunk is checked byte for byte against what its sharer sent.
 */
export class Receiver {
  private readonly client: HttpClient
  private readonly firstReceipt = new Map<number, number>()
  private firstBatch: number[] | undefined
  private firstPollSentAt = NaN
  private lastPollSentAt = NaN
  private highest = -1
  private pollsInFlight = 0
  private duplicates = 0
  private corrupt = 0
  private formatMismatches = 0
  private overlappingPolls = 0
  private failed = false

  constructor (private readonly ctx: RunContext, baseUrl: string, headers: Record<string, string>, private readonly sharer: Sharer) {
    this.client = new HttpClient(baseUrl, headers)
  }

  /**
   * Joins at `joinAt` (never before its sharer started), polls metadata until `metadataStopAt` (when the
   * sharer stops posting it) and audio until `stopAt` (a little later, to collect the last chunks).
   */
  async run (joinAt: number, metadataStopAt: number, stopAt: number, audioPeriodMs: number): Promise<void> {
    if (!await this.sharer.whenStarted()) { this.failed = true; return }
    await sleepUntil(joinAt)
    const id = this.sharer.sessionId
    const status = await this.ctx.send(this.client, 'GET status', `/api/share/${id}/status`)
    if (!status.ok) { this.failed = true; return } // the client aborts on a non-2xx status
    const t0 = performance.now()
    const stops = [
      every(500, t0, metadataStopAt, (_k, late) => { void this.pollMetadata(late) }),
      every(audioPeriodMs, t0, stopAt, (k, late) => { void this.pollAudio(k, late) })
    ]
    await sleepUntil(stopAt)
    for (const s of stops) s()
  }

  private async pollMetadata (lateness: number): Promise<void> {
    const res = await this.ctx.send(this.client, 'GET metadata', `/api/share/${this.sharer.sessionId}/metadata`, undefined, lateness)
    if (res.status === 200) this.ctx.metadataAgeMs.push(Date.now() - scanTimestamp(res.body))
  }

  private async pollAudio (k: number, lateness: number): Promise<void> {
    const sentAt = performance.now()
    if (k === 0) this.firstPollSentAt = sentAt
    this.lastPollSentAt = sentAt
    if (this.pollsInFlight > 0) this.overlappingPolls++
    this.pollsInFlight++
    const res = await this.ctx.send(this.client, 'GET audio', `/api/share/${this.sharer.sessionId}/audio?since=${this.highest}`, undefined, lateness)
    this.pollsInFlight--
    if (res.status !== 200) {
      if (k === 0 && res.status === 204) this.firstBatch = []
      return
    }
    let chunks = scanChunks(res.body)
    if (chunks === undefined) {
      this.formatMismatches++
      chunks = parseChunksLoosely(res.body) ?? []
    }
    if (k === 0) this.firstBatch = chunks.map((c) => c.sequenceNumber)
    for (const c of chunks) {
      const seq = c.sequenceNumber
      const intact = c.sampleRate === 44_100 && c.channels === 2 && c.timestamp === this.sharer.sentTimestamp[seq] &&
        chunkMatches(c.data, this.sharer.index, seq)
      if (!intact) { this.corrupt++; continue }
      if (this.firstReceipt.has(seq)) { this.duplicates++; continue }
      this.firstReceipt.set(seq, res.endedAt)
      if (seq > this.highest) this.highest = seq
    }
  }

  /**
   * Expected chunks: whatever the first poll returned (since=-1 starts near live) plus every chunk the sharer
   * got acknowledged after that first poll was sent and before the last poll was sent.
   */
  tally (): ReceiverTally {
    const t: ReceiverTally = {
      expected: 0, received: 0, lost: 0, duplicates: this.duplicates, corrupt: this.corrupt,
      formatMismatches: this.formatMismatches, overlappingPolls: this.overlappingPolls, delaysMs: [], failed: this.failed
    }
    if (this.failed || Number.isNaN(this.firstPollSentAt)) return t
    const expected = new Set(this.firstBatch ?? [])
    this.sharer.ackedAt.forEach((ack, seq) => {
      if (ack !== undefined && ack > this.firstPollSentAt && ack < this.lastPollSentAt) expected.add(seq)
    })
    for (const seq of expected) {
      const got = this.firstReceipt.get(seq)
      if (got === undefined) { t.lost++; continue }
      t.received++
      const ack = this.sharer.ackedAt[seq]
      if (ack !== undefined && ack > this.firstPollSentAt) t.delaysMs.push(Math.max(0, got - ack))
    }
    t.expected = expected.size
    return t
  }

  close (): void {
    this.client.close()
  }
}
