/**
 * Which sample is heard right now, on the main thread, from what the player reports.
 *
 * The player renders ahead of the speaker (a render quantum, plus the device's output latency) and
 * reports a trace: (context time, raw stamp, rate) entries from `PlayerCore.takeTrace`. The page turns
 * "now" into the context time being heard (`HeardClock`) and looks it up here. Free of browser APIs.
 */

/** The last few seconds of the player's trace. */
export class PlayheadTrack {
  readonly #keepSeconds: number
  /** Flat (time, raw, rate) triples, ascending in time. */
  #entries: number[] = []

  constructor (keepSeconds = 3) {
    this.#keepSeconds = keepSeconds
  }

  add (trace: ArrayLike<number>): void {
    const entries = this.#entries
    for (let i = 0; i + 2 < trace.length; i += 3) {
      const time = trace[i] as number
      // A player that started over (a new context) restarts its times: keep only the new ones.
      if (entries.length >= 3 && time < (entries[entries.length - 3] as number) - 1) entries.length = 0
      entries.push(time, trace[i + 1] as number, trace[i + 2] as number)
    }
    const last = entries[entries.length - 3]
    if (last === undefined) return
    let drop = 0
    while (drop + 3 < entries.length && (entries[drop + 3] as number) < last - this.#keepSeconds) drop += 3
    if (drop > 0) entries.splice(0, drop)
  }

  /** The raw stamp heard at context time `time`; null in silence or before anything was rendered. */
  rawAt (time: number): number | null {
    const entries = this.#entries
    // The last entry at or before `time` (binary search over the triples).
    let lo = 0
    let hi = entries.length / 3 - 1
    let found = -1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      if ((entries[mid * 3] as number) <= time) {
        found = mid
        lo = mid + 1
      } else {
        hi = mid - 1
      }
    }
    if (found < 0) return null
    const raw = entries[found * 3 + 1] as number
    if (Number.isNaN(raw)) return null
    return raw + (time - (entries[found * 3] as number)) * 1000 * (entries[found * 3 + 2] as number)
  }

  clear (): void {
    this.#entries = []
  }
}

/**
 * The link between the page's clock (performance.now, ms) and the audio clock (context seconds) at the
 * speaker: `performanceTime - contextTime * 1000` from `AudioContext.getOutputTimestamp()`. Single
 * readings wobble by the audio callback's timing; the median of the last few does not.
 */
export class HeardClock {
  readonly #size: number
  #readings: number[] = []
  #value: number | undefined

  constructor (size = 9) {
    this.#size = size
  }

  /** One reading; ignored when the audio clock has not started (Chrome answers zeros then). */
  add (contextTime: number, performanceTime: number): void {
    if (!(contextTime > 0) || !(performanceTime > 0)) return
    this.#readings.push(performanceTime - contextTime * 1000)
    if (this.#readings.length > this.#size) this.#readings.shift()
    const sorted = [...this.#readings].sort((a, b) => a - b)
    this.#value = sorted[sorted.length >> 1]
  }

  /** performance.now() minus context ms at the speaker; undefined before the first reading. */
  get perfMinusContextMs (): number | undefined { return this.#value }

  /** The context time (s) heard at page time `now` (ms). */
  contextAt (now: number): number | undefined {
    return this.#value === undefined ? undefined : (now - this.#value) / 1000
  }

  reset (): void {
    this.#readings = []
    this.#value = undefined
  }
}
