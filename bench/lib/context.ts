import { performance } from 'node:perf_hooks'
import { EndpointRecorder } from './stats.js'
import type { HttpClient, HttpResult } from './http-client.js'

export type Endpoint = 'POST start' | 'POST metadata' | 'POST audio' | 'POST stop' | 'GET status' | 'GET metadata' | 'GET audio'
  | 'WS connect' | 'GET stream.wav'

/** The periodic endpoints: the ones the 50 ms p99 target applies to. */
export const PERIODIC: readonly Endpoint[] = ['POST metadata', 'POST audio', 'GET metadata', 'GET audio']

/** Shared by every simulated client of one scenario run: recorders and the requests still in flight. */
export class RunContext {
  readonly endpoints = new Map<Endpoint, EndpointRecorder>()
  readonly metadataAgeMs: number[] = []
  private readonly inflight = new Set<Promise<HttpResult>>()

  /**
   * performance.now() from which latency samples count (earlier ones are reported as warm-up), and until
   * which push listeners count the bytes they receive as steady (the sharers' last audio).
   */
  constructor (readonly steadyFrom: number, readonly steadyUntil = Infinity) {}

  recorder (name: Endpoint): EndpointRecorder {
    let r = this.endpoints.get(name)
    if (r === undefined) {
      r = new EndpointRecorder(name, this.steadyFrom)
      this.endpoints.set(name, r)
    }
    return r
  }

  /** Sends, records latency/status/bytes (and send lateness for scheduled requests), and tracks it until done. */
  async send (client: HttpClient, name: Endpoint, path: string, body?: readonly Buffer[], latenessMs?: number): Promise<HttpResult & { ok: boolean }> {
    const rec = this.recorder(name)
    if (latenessMs !== undefined) rec.recordLateness(performance.now(), latenessMs)
    const p = client.send(name.startsWith('GET') ? 'GET' : 'POST', path, body)
    this.inflight.add(p)
    const res = await p
    this.inflight.delete(p)
    const ok = rec.record(res.status, res.startedAt, res.latencyMs, res.body.length, res.bytesOut)
    return { ...res, ok }
  }

  /** Waits for every request still in flight (each has its own timeout). */
  async drain (): Promise<void> {
    await Promise.allSettled([...this.inflight])
  }
}
