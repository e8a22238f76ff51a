import { performance } from 'node:perf_hooks'

/**
 * Open-loop periodic timer: tick k is due at `firstAt + k * periodMs` whatever happened to earlier
 * requests, so a slow response never lowers the offered load. A tick that fires late is still sent
 * (the generator catches up) and its lateness is handed to `fire` to be recorded.
 */
export function every (periodMs: number, firstAt: number, stopAt: number, fire: (k: number, latenessMs: number) => void): () => void {
  let k = 0
  let timer: NodeJS.Timeout | undefined
  const arm = (): void => {
    const due = firstAt + k * periodMs
    if (due >= stopAt) return
    timer = setTimeout(tick, Math.max(0, due - performance.now()))
  }
  const tick = (): void => {
    const due = firstAt + k * periodMs
    fire(k, Math.max(0, performance.now() - due))
    k++
    arm()
  }
  arm()
  return () => clearTimeout(timer)
}

/** Resolves at an absolute `performance.now()` time. */
export function sleepUntil (at: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, at - performance.now())))
}
