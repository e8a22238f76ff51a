/** When a listener's bitrate steps down and back up. */
export interface TierPolicy {
  /** Step down when this many seconds of audio wait in the send queue. */
  readonly downQueuedSeconds: number
  /** Count as clean while at most this many seconds wait. */
  readonly cleanQueuedSeconds: number
  /** Clean this long (since the last change) before stepping up. */
  readonly upAfterMs: number
  /** A step up followed by a step down within this long doubles upAfterMs (up to maxUpAfterMs): no flapping. */
  readonly flapWindowMs: number
  readonly maxUpAfterMs: number
  /** At least this long between two steps down (the queue needs time to drain). */
  readonly downCooldownMs: number
}

export const DEFAULT_TIER_POLICY: TierPolicy = {
  downQueuedSeconds: 1,
  cleanQueuedSeconds: 0.25,
  upAfterMs: 10_000,
  flapWindowMs: 30_000,
  maxUpAfterMs: 120_000,
  downCooldownMs: 2_000
}

/**
 * Adaptive bitrate for one listener, decided by the server from its send queue: one tier down when audio
 * piles up, one tier up after a clean spell, with hysteresis (a step up that had to be taken back makes
 * the next one wait twice as long). It climbs back to the tier it started at (the operator's default) and
 * no higher: a listener on a good network gets the default bitrate, not more bytes than it asked for; higher
 * tiers are for listeners who pin them.
 */
export class TierController {
  #index: number
  /** The start tier: the highest the controller climbs to. */
  readonly #topIndex: number
  #changedAt: number
  #cleanSince: number | undefined
  #lastUpAt = -Infinity
  #upAfterMs: number

  constructor (readonly tiersKbps: readonly number[], startKbps: number, now: number, readonly policy: TierPolicy = DEFAULT_TIER_POLICY) {
    const index = tiersKbps.indexOf(startKbps)
    if (index === -1) throw new RangeError(`${startKbps} kbit/s is not a tier`)
    this.#index = index
    this.#topIndex = index
    this.#changedAt = now
    this.#upAfterMs = policy.upAfterMs
  }

  get kbps (): number { return this.tiersKbps[this.#index]! }

  /** Seconds of audio at the current tier that `queuedBytes` hold. */
  queuedSeconds (queuedBytes: number): number {
    return queuedBytes * 8 / (this.kbps * 1000)
  }

  /** Looks at the send queue before a chunk goes out; answers the tier to move to, or undefined to stay. */
  observe (queuedBytes: number, now: number): number | undefined {
    const queued = this.queuedSeconds(queuedBytes)
    if (queued >= this.policy.downQueuedSeconds) {
      this.#cleanSince = undefined
      if (this.#index === 0 || now - this.#changedAt < this.policy.downCooldownMs) return undefined
      if (now - this.#lastUpAt < this.policy.flapWindowMs) this.#upAfterMs = Math.min(this.#upAfterMs * 2, this.policy.maxUpAfterMs)
      return this.#step(-1, now)
    }
    if (queued > this.policy.cleanQueuedSeconds) {
      this.#cleanSince = undefined
      return undefined
    }
    this.#cleanSince ??= now
    if (this.#index === this.#topIndex) return undefined
    if (now - this.#cleanSince < this.#upAfterMs || now - this.#changedAt < this.#upAfterMs) return undefined
    this.#lastUpAt = now
    return this.#step(1, now)
  }

  #step (by: 1 | -1, now: number): number {
    this.#index += by
    this.#changedAt = now
    this.#cleanSince = undefined
    return this.kbps
  }
}
