/**
 * A token bucket: `capacity` messages at once, refilled at `perSecond`. Time is passed in (ms), so the
 * domain and its tests decide the clock; a clock that steps back refills nothing.
 */
export class TokenBucket {
  #tokens: number
  #at: number

  constructor (readonly perSecond: number, readonly capacity: number, now: number) {
    this.#tokens = capacity
    this.#at = now
  }

  /** Milliseconds until one token is there (0: now). */
  waitMs (now: number): number {
    this.#refill(now)
    return this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) / this.perSecond) * 1000)
  }

  take (now: number): void {
    this.#refill(now)
    this.#tokens -= 1
  }

  #refill (now: number): void {
    const elapsed = Math.max(0, now - this.#at)
    this.#tokens = Math.min(this.capacity, this.#tokens + (elapsed / 1000) * this.perSecond)
    this.#at = Math.max(this.#at, now)
  }
}

/**
 * Buckets by key, at most `maxKeys` of them: the least recently used is forgotten first (it comes back
 * full, which only ever lets through what the session's own bucket still allows).
 */
export class TokenBuckets {
  #buckets = new Map<string, TokenBucket>()

  constructor (readonly perSecond: number, readonly capacity: number, readonly maxKeys: number) {}

  get size (): number { return this.#buckets.size }

  of (key: string, now: number): TokenBucket {
    let bucket = this.#buckets.get(key)
    if (bucket === undefined) bucket = new TokenBucket(this.perSecond, this.capacity, now)
    else this.#buckets.delete(key)
    this.#buckets.set(key, bucket)
    while (this.#buckets.size > this.maxKeys) this.#buckets.delete(this.#buckets.keys().next().value as string)
    return bucket
  }

  clear (): void {
    this.#buckets.clear()
  }
}
