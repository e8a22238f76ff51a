interface ListenerState {
  lastSeen: number
  /** Highest audio sequence this receiver is known to hold; undefined when it only polls metadata. */
  heldSequence: number | undefined
}

/** Told when a receiver starts and stops counting as a listener (statistics follow visits with it). */
export interface ListenerChanges {
  joined (key: string, at: number): void
  /** `at`: when it stopped counting (its last poll plus the window, or when it was forgotten). */
  left (key: string, at: number): void
}

/**
 * The receivers of one session that polled within the last `windowMs`, keyed by whatever identifies
 * a receiver (address + User-Agent, or a client id). Bounded: at most `maxListeners` are tracked and
 * stale entries are pruned as time passes, oldest first (the Map keeps them in last-seen order).
 */
export class ListenerTracker {
  #listeners = new Map<string, ListenerState>()

  constructor (readonly windowMs: number, readonly maxListeners: number, readonly changes?: ListenerChanges) {}

  /** Records a poll; `heldSequence` is the highest audio sequence the receiver now holds, if it polled audio. */
  touch (key: string, now: number, heldSequence?: number): void {
    const previous = this.#listeners.get(key)
    if (previous !== undefined) this.#listeners.delete(key)
    else this.changes?.joined(key, now)
    const held = heldSequence === undefined
      ? previous?.heldSequence
      : Math.max(heldSequence, previous?.heldSequence ?? -1)
    this.#listeners.set(key, { lastSeen: now, heldSequence: held })
    this.#prune(now)
    while (this.#listeners.size > this.maxListeners) {
      const oldest = this.#listeners.keys().next().value as string
      this.#listeners.delete(oldest)
      this.changes?.left(oldest, now)
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
  forget (key: string, now: number): void {
    if (this.#listeners.delete(key)) this.changes?.left(key, now)
  }

  /** Forgets everyone (the session ended or left this process); each stops counting by `now` at the latest. */
  clear (now?: number): void {
    const changes = this.changes
    if (changes !== undefined) {
      for (const [key, state] of this.#listeners) {
        changes.left(key, Math.min(state.lastSeen + this.windowMs, now ?? Number.POSITIVE_INFINITY))
      }
    }
    this.#listeners.clear()
  }

  #prune (now: number): void {
    for (const [key, state] of this.#listeners) {
      if (now - state.lastSeen <= this.windowMs) break
      this.#listeners.delete(key)
      this.changes?.left(key, state.lastSeen + this.windowMs)
    }
  }
}
