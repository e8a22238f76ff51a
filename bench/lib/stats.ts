/** Latency/lateness samples kept whole (a 60 s s3 run is ~70k samples) and summarised by nearest rank. */

export interface Summary {
  count: number
  p50: number
  p95: number
  p99: number
  max: number
  mean: number
}

export const round = (n: number): number => Math.round(n * 100) / 100

export function summarize (samples: readonly number[]): Summary {
  if (samples.length === 0) return { count: 0, p50: 0, p95: 0, p99: 0, max: 0, mean: 0 }
  const sorted = Float64Array.from(samples).sort()
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0
  let sum = 0
  for (const v of sorted) sum += v
  return {
    count: sorted.length,
    p50: round(at(0.5)),
    p95: round(at(0.95)),
    p99: round(at(0.99)),
    max: round(sorted[sorted.length - 1] ?? 0),
    mean: round(sum / sorted.length)
  }
}

/**
 * Everything measured for one endpoint. Counters cover the whole run; latency and lateness samples of
 * requests started before `steadyFrom` (joining, connection set-up, JIT warm-up) are kept apart.
 */
export class EndpointRecorder {
  readonly latencies: number[] = []
  readonly lateness: number[] = []
  readonly warmupLatencies: number[] = []
  requests = 0
  readonly statuses = new Map<string, number>()
  errors = 0
  bytesIn = 0
  bytesOut = 0
  firstStart = Infinity
  lastStart = -Infinity

  constructor (readonly name: string, private readonly steadyFrom: number) {}

  recordLateness (at: number, latenessMs: number): void {
    if (at >= this.steadyFrom) this.lateness.push(latenessMs)
  }

  record (status: number | string, startedAt: number, latencyMs: number, bytesIn: number, bytesOut: number): boolean {
    this.requests++
    ;(startedAt >= this.steadyFrom ? this.latencies : this.warmupLatencies).push(latencyMs)
    this.firstStart = Math.min(this.firstStart, startedAt)
    this.lastStart = Math.max(this.lastStart, startedAt)
    this.statuses.set(String(status), (this.statuses.get(String(status)) ?? 0) + 1)
    this.bytesIn += bytesIn
    this.bytesOut += bytesOut
    // 101: a WebSocket upgrade accepted.
    const ok = typeof status === 'number' && ((status >= 200 && status < 300) || status === 101)
    if (!ok) this.errors++
    return ok
  }
}

export interface EndpointReport {
  endpoint: string
  requests: number
  reqPerS: number
  /** Requests started in the steady window only. */
  latencyMs: Summary
  /** Requests started before it (receivers joining). */
  warmupLatencyMs: Summary
  sendLatenessMs: Summary
  statuses: Record<string, number>
  errors: number
  bytesIn: number
  bytesOut: number
}

/** req/s is measured between the endpoint's first and last request start (one-off endpoints report 0). */
export function endpointReport (r: EndpointRecorder): EndpointReport {
  const n = r.requests
  const spanS = (r.lastStart - r.firstStart) / 1000
  return {
    endpoint: r.name,
    requests: n,
    reqPerS: n > 1 && spanS > 1 ? round((n - 1) / spanS) : 0,
    latencyMs: summarize(r.latencies),
    warmupLatencyMs: summarize(r.warmupLatencies),
    sendLatenessMs: summarize(r.lateness),
    statuses: Object.fromEntries(r.statuses),
    errors: r.errors,
    bytesIn: r.bytesIn,
    bytesOut: r.bytesOut
  }
}
