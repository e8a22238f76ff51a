interface ListenerState {
  lastSeen: number
  /** Highest audio sequence this receiver is known to hold; undefined when it only polls metadata. */
  heldSequence: number | undefined
}

/**
 * The receivers of one session that polled within the last `windowMs`, keyed by whatever identifies
 * a receiver (address + User-Agent, or a client id). Bounded: at most `maxListeners` are tracked and
 * stale entries are pruned as time passes, oldest first (the Map keeps them in last-seen order).
 */
export class ListenerTracker {
  #listeners = new Map<string, ListenerState>()

  constructor (readonly windowMs: number, readonly maxListeners: number) {}

  /** Records a poll; `heldSequence` is the highest audio sequence the receiver now holds, if it polled audio. */
  touch (key: string, now: number, heldSequence?: number): void {
    const previous = this.#listeners.get(key)
    if (previous !== undefined) this.#listeners.delete(key)
    const held = heldSequence === undefined
      ? previous?.heldSequence
      : Math.max(heldSequence, previous?.heldSequence ?? -1)
    this.#listeners.set(key, { lastSeen: now, heldSequence: held })
    this.#prune(now)
    while (this.#listeners.size > this.maxListeners) {
      const oldest = this.#listeners.keys().next().value as string
      this.#listeners.delete(oldest)
    }
  }

  count (now: number): number {
    this.#prune(now)
    return this.#listeners.size
  }

  /** True when some current audio receiver has not yet fetched `sequenceNumber`. */
  anyMissing (sequenceNumber: number, now: number): boolean {
    this.#prune(now)
    for (const state of this.#listeners.values()) {
      if (state.heldSequence !== undefined && state.heldSequence < sequenceNumber) return true
    }
    return false
  }

  /** Forgets one receiver at once (a push connection that closed). */
  forget (key: string): void {
    this.#listeners.delete(key)
  }

  clear (): void {
    this.#listeners.clear()
  }

  #prune (now: number): void {
    for (const [key, state] of this.#listeners) {
      if (now - state.lastSeen <= this.windowMs) break
      this.#listeners.delete(key)
    }
  }
}
