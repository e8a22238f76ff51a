/**
 * The server's clock as seen from the page, NTP style: the page sends `{"type":"ping","t":<local ms>}`,
 * the server answers at once with its own time, and each round trip gives one sample
 *
 *   offset = serverTime - (sentAt + receivedAt) / 2     round trip = receivedAt - sentAt
 *
 * which is exact when the two legs took equally long. A slow leg (a busy server or network) inflates
 * the round trip, so only the quickest samples are trusted: the estimate is the median offset of the
 * `best` samples with the shortest round trips among the last `keep`. Sampling goes on every
 * `intervalMs` (after a quick first burst), so a drifting clock is followed.
 *
 * Free of browser APIs: local times are whatever monotonic clock the caller uses (performance.now()).
 */

export interface ClockSample {
  offsetMs: number
  rttMs: number
  /** Local time of the answer. */
  at: number
}

export interface ClockOptions {
  /** Samples kept (the newest). */
  keep?: number
  /** How many of the quickest samples the estimate uses. */
  best?: number
  /** Quick samples taken at the start, `burstGapMs` apart. */
  burst?: number
  burstGapMs?: number
  /** Then one sample every this long. */
  intervalMs?: number
}

export class ClockEstimator {
  readonly #keep: number
  readonly #best: number
  readonly #burst: number
  readonly #burstGapMs: number
  readonly #intervalMs: number
  #samples: ClockSample[] = []
  #taken = 0
  #offset: number | undefined
  #rtt: number | undefined

  constructor (options: ClockOptions = {}) {
    this.#keep = options.keep ?? 16
    this.#best = options.best ?? 3
    this.#burst = options.burst ?? 6
    this.#burstGapMs = options.burstGapMs ?? 150
    this.#intervalMs = options.intervalMs ?? 2000
  }

  /** Adds one round trip; false (and ignored) when it makes no sense (negative or absurd round trip). */
  add (sentAt: number, receivedAt: number, serverTime: number): boolean {
    const rttMs = receivedAt - sentAt
    if (!(rttMs >= 0) || rttMs > 60_000 || !Number.isFinite(serverTime)) return false
    this.#taken++
    this.#samples.push({ offsetMs: serverTime - (sentAt + receivedAt) / 2, rttMs, at: receivedAt })
    if (this.#samples.length > this.#keep) this.#samples.shift()
    const quickest = [...this.#samples].sort((a, b) => a.rttMs - b.rttMs).slice(0, this.#best)
    const offsets = quickest.map((s) => s.offsetMs).sort((a, b) => a - b)
    this.#offset = offsets[(offsets.length - 1) >> 1]
    this.#rtt = quickest[0]?.rttMs
    return true
  }

  /** Server minus local time (ms); undefined before the first sample. */
  get offsetMs (): number | undefined { return this.#offset }
  /** The shortest round trip among the kept samples. */
  get rttMs (): number | undefined { return this.#rtt }
  get samples (): number { return this.#taken }

  /** The server's time at local time `local`; undefined before the first sample. */
  toServer (local: number): number | undefined {
    return this.#offset === undefined ? undefined : local + this.#offset
  }

  /** How long to wait before the next ping. */
  nextPingInMs (): number {
    return this.#taken < this.#burst ? this.#burstGapMs : this.#intervalMs
  }

  /**
   * Starts sampling over (a new connection may reach another server instance): the old samples go, a
   * new burst begins, and the old estimate stands until the first new sample replaces it, so a player
   * in sync does not drop out of sync for the round trip a reconnection takes.
   */
  restart (): void {
    this.#samples = []
    this.#taken = 0
  }
}
