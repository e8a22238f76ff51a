/** Why a held request was let go. */
/** `moved`: another instance took the session over (cluster); the receiver polls again and reaches it. */
export type WakeReason = 'audio' | 'ended' | 'moved' | 'timeout' | 'aborted' | 'shutdown'

export interface HeldPoll {
  /** Settles once, with the first reason. */
  readonly done: Promise<WakeReason>
  /** Lets go of the request (the client hung up); frees its slot at once. */
  cancel (): void
}

interface Waiter {
  readonly sessionId: string
  readonly timer: NodeJS.Timeout
  readonly resolve: (reason: WakeReason) => void
}

/**
 * Requests held until a session has something new (audio long-poll). Bounded: at most `max` at once,
 * across all sessions; every one is released by a wake-up, its timeout, a cancel or `releaseAll`.
 */
export class LongPollWaiters {
  #bySession = new Map<string, Set<Waiter>>()
  #held = 0

  constructor (readonly max: number) {}

  get held (): number { return this.#held }

  /** Holds a request for up to `timeoutMs`; undefined when `max` are already held. */
  hold (sessionId: string, timeoutMs: number): HeldPoll | undefined {
    if (this.#held >= this.max) return undefined
    let release!: (reason: WakeReason) => void
    const done = new Promise<WakeReason>((resolve) => {
      let settled = false
      const waiter: Waiter = {
        sessionId,
        // Not unref()ed: a held request is work in progress; every timer is cleared on release and on shutdown.
        timer: setTimeout(() => release('timeout'), timeoutMs),
        resolve: (reason) => {
          if (settled) return
          settled = true
          clearTimeout(waiter.timer)
          this.#remove(waiter)
          resolve(reason)
        }
      }
      release = waiter.resolve
      let set = this.#bySession.get(sessionId)
      if (set === undefined) this.#bySession.set(sessionId, set = new Set())
      set.add(waiter)
      this.#held++
    })
    return { done, cancel: () => release('aborted') }
  }

  /** Releases every request held on one session. */
  wake (sessionId: string, reason: WakeReason): void {
    const set = this.#bySession.get(sessionId)
    if (set === undefined) return
    for (const waiter of [...set]) waiter.resolve(reason)
  }

  /** Releases everything (server shutdown). */
  releaseAll (reason: WakeReason): void {
    for (const id of [...this.#bySession.keys()]) this.wake(id, reason)
  }

  #remove (waiter: Waiter): void {
    const set = this.#bySession.get(waiter.sessionId)
    if (set === undefined || !set.delete(waiter)) return
    this.#held--
    if (set.size === 0) this.#bySession.delete(waiter.sessionId)
  }
}
