/**
 * When each Opus chunk should be heard, the same on every page of a session.
 *
 * The server stamps each chunk with the time it arrived (`receivedAt`, server clock). Those stamps carry
 * the sharer's network jitter: a chunk that came 30 ms late would, played at its own stamp, leave a
 * 30 ms hole behind it and overlap the next. So the page plays a smoothed timeline: with `position` the
 * chunk's start in the audio (ms, counted from the packets this page received),
 *
 *   delay(chunk)  = receivedAt - position
 *   smooth(chunk) = position + min(delay over the chunks of the last `windowMs` of audio)
 *
 * The minimum is the arrival with the least network delay, which continues the audio seamlessly; a late
 * chunk simply gets the stamp it would have had on time. Every page that received the same chunks
 * computes the same smooth stamps (the positions' origin cancels out), so pages that each play the sample
 * with smooth stamp `serverNow - latency` play the same sample. The window is no longer than the join
 * burst a new listener gets (JOIN_BURST_SECONDS, 2 s by default), so a page that just joined has the
 * same window as one that has listened for an hour from the live edge on: a chunk is `settled` once this
 * page has the whole window before it, and settled stamps agree on every page (a longer window would
 * filter more jitter, but leave a late joiner disagreeing for as long). The player starts only on
 * settled audio.
 *
 * A chunk that arrives later than `resetAfterMs` past the minimum (the sharer paused, or a stall longer
 * than the target latency could absorb) starts the window over, as does a sequence gap (chunks dropped
 * for this listener: the missing audio's length is unknown).
 */

export interface ChunkTiming {
  /** The chunk's own arrival time (server ms): where `playheadServerMs` counts from. */
  raw: number
  /** The smoothed arrival time its first sample is played against. */
  smooth: number
  /** Whether the window before it was complete here, so every page computes the same `smooth`. */
  settled: boolean
}

export interface ArrivalTimelineOptions {
  /** The window of audio (ms) over which the least delay is taken: at most the join burst. */
  windowMs?: number
  /** A chunk this much later than the least delay starts the window over. */
  resetAfterMs?: number
}

export class ArrivalTimeline {
  readonly #windowMs: number
  readonly #resetAfterMs: number
  /** Start of the next chunk in the audio this page received (ms). */
  #position = 0
  /** Where the window last started over: the audio before it is unknown here. */
  #runStart = 0
  #lastSequence: number | undefined
  /** (position, delay) of the chunks in the window, oldest first. */
  #window: Array<{ position: number, delay: number }> = []
  #resets = 0

  constructor (options: ArrivalTimelineOptions = {}) {
    this.#windowMs = options.windowMs ?? 2000
    this.#resetAfterMs = options.resetAfterMs ?? 1000
  }

  /** Times of a chunk (`durationMs` of audio, arrived at `receivedAt`); chunks must come in order. */
  add (sequenceNumber: number, receivedAt: number, durationMs: number): ChunkTiming {
    const position = this.#position
    this.#position += durationMs
    const delay = receivedAt - position
    const continuous = this.#lastSequence === undefined || sequenceNumber === this.#lastSequence + 1
    this.#lastSequence = sequenceNumber
    while (this.#window.length > 0 && (this.#window[0] as { position: number }).position < position - this.#windowMs) this.#window.shift()
    let least = this.#least()
    if (!continuous || (least !== undefined && delay - least > this.#resetAfterMs)) {
      if (this.#window.length > 0) this.#resets++
      this.#window = []
      this.#runStart = position
      least = undefined
    }
    this.#window.push({ position, delay })
    return { raw: receivedAt, smooth: position + Math.min(delay, least ?? delay), settled: position - this.#runStart >= this.#windowMs }
  }

  /** Times the window started over (not counting the first chunk). */
  get resets (): number { return this.#resets }

  #least (): number | undefined {
    let least: number | undefined
    for (const entry of this.#window) if (least === undefined || entry.delay < least) least = entry.delay
    return least
  }
}
