/** Smallest latency told apart (ms); anything faster is counted in the first bin. */
const MIN_MS = 0.01
/** Each bin is this much wider than the one before: a reported percentile is within ±2.5 % of the truth. */
const GROWTH = 1.05
/** Slowest latency told apart (ms); anything slower is counted in the last bin. */
const MAX_MS = 120_000
const LOG_GROWTH = Math.log(GROWTH)
const BINS = Math.ceil(Math.log(MAX_MS / MIN_MS) / LOG_GROWTH) + 2

export interface LatencySummary {
  /** Requests recorded in the window. */
  readonly requests: number
  /** Requests answered with a 4xx or 5xx status. */
  readonly errors: number
  /** errors / requests, 0 when there were none. */
  readonly errorRate: number
  /** Percentiles in milliseconds (nearest rank), null when there were no requests. */
  readonly p50: number | null
  readonly p95: number | null
  readonly p99: number | null
}

/** The bin a latency falls in. */
export function binOf (ms: number): number {
  if (!(ms > MIN_MS)) return 0
  return Math.min(BINS - 1, 1 + Math.floor(Math.log(ms / MIN_MS) / LOG_GROWTH))
}

/** The value reported for a bin: the geometric middle of its bounds. */
export function binValue (bin: number): number {
  return bin === 0 ? MIN_MS : MIN_MS * GROWTH ** (bin - 0.5)
}

/**
 * Response times over a sliding window of whole seconds, in fixed memory: one log-scale histogram per
 * second in a ring, overwritten when its second comes round again. Recording is a logarithm and two
 * increments; a summary merges the live seconds' histograms. Percentiles are exact to one bin (±2.5 %).
 */
export class LatencyWindow {
  readonly #seconds: number
  readonly #counts: Uint32Array
  readonly #slotSecond: Float64Array
  readonly #slotRequests: Uint32Array
  readonly #slotErrors: Uint32Array

  constructor (readonly windowSeconds = 60) {
    if (!Number.isInteger(windowSeconds) || windowSeconds < 1) throw new RangeError('windowSeconds must be an integer ≥ 1')
    this.#seconds = windowSeconds
    this.#counts = new Uint32Array(windowSeconds * BINS)
    this.#slotSecond = new Float64Array(windowSeconds).fill(-1)
    this.#slotRequests = new Uint32Array(windowSeconds)
    this.#slotErrors = new Uint32Array(windowSeconds)
  }

  /** Records one response that took `ms` milliseconds, at time `now` (Unix ms). */
  record (ms: number, isError: boolean, now: number): void {
    const second = Math.floor(now / 1000)
    const slot = second % this.#seconds
    if (this.#slotSecond[slot] !== second) {
      this.#counts.fill(0, slot * BINS, (slot + 1) * BINS)
      this.#slotSecond[slot] = second
      this.#slotRequests[slot] = 0
      this.#slotErrors[slot] = 0
    }
    this.#counts[slot * BINS + binOf(ms)]!++
    this.#slotRequests[slot]!++
    if (isError) this.#slotErrors[slot]!++
  }

  /** The window ending at `now`: this second and the `windowSeconds - 1` before it. */
  summary (now: number): LatencySummary {
    const second = Math.floor(now / 1000)
    const merged = new Float64Array(BINS)
    let requests = 0
    let errors = 0
    for (let slot = 0; slot < this.#seconds; slot++) {
      const age = second - this.#slotSecond[slot]!
      if (age < 0 || age >= this.#seconds) continue
      requests += this.#slotRequests[slot]!
      errors += this.#slotErrors[slot]!
      const base = slot * BINS
      for (let bin = 0; bin < BINS; bin++) merged[bin]! += this.#counts[base + bin]!
    }
    const percentile = (q: number): number | null => {
      if (requests === 0) return null
      const rank = Math.max(1, Math.ceil(q * requests))
      let seen = 0
      for (let bin = 0; bin < BINS; bin++) {
        seen += merged[bin]!
        if (seen >= rank) return round3(binValue(bin))
      }
      /* c8 ignore next */
      return round3(binValue(BINS - 1))
    }
    return {
      requests,
      errors,
      errorRate: requests === 0 ? 0 : round4(errors / requests),
      p50: percentile(0.5),
      p95: percentile(0.95),
      p99: percentile(0.99)
    }
  }
}

const round3 = (x: number) => Math.round(x * 1000) / 1000
const round4 = (x: number) => Math.round(x * 10_000) / 10_000
