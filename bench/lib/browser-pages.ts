import type { Page } from 'playwright-core'

/**
 * Listener pages in Debian's headless Chromium, shared by the browser tests and bench/page-sync.ts.
 *
 * `musicshare.test` resolves to the loopback address, so a test can open the page on an origin that is
 * not a secure context (like a plain-http LAN address: no WebCodecs, no AudioWorklet) without leaving
 * this machine.
 */
export const INSECURE_HOST = 'musicshare.test'

export const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  // Audio starts without a click only with this; the pages are still tapped, as a person would.
  '--autoplay-policy=no-user-gesture-required',
  // Hidden or unfocused pages must keep their timers and audio running like a foreground one.
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows',
  `--host-resolver-rules=MAP ${INSECURE_HOST} 127.0.0.1`]

/** What these helpers read of the page (this module is compiled without the DOM library). */
interface PageGlobals { musicShareStats: { playheadServerMs: number | null } }

export interface PlayheadPair {
  /** Page A's playheadServerMs minus page B's, corrected for the moments each was read at (ms). */
  diffMs: number
  /** How far apart the two reads were (ms): the correction applied. */
  skewMs: number
}

/**
 * Reads `window.musicShareStats.playheadServerMs` on both pages at the same moment: each page is handed
 * the same instant on the browser's clock (`performance.timeOrigin + performance.now()`, one shared
 * monotonic clock for every page of the browser, within a millisecond of Date.now()) a few ms ahead,
 * and reads when it comes. A page that got the request late reads at once; the difference of the reading
 * times is then taken off the difference of the playheads (they move 1 ms per ms; only a chunk boundary
 * crossed in between, where the arrival times jump, is not corrected, hence reading together).
 * Undefined when a page has no playhead (not playing).
 */
export async function readPlayheads (a: Page, b: Page, aheadMs = 60): Promise<PlayheadPair | undefined> {
  const moment = Date.now() + aheadMs
  const read = (page: Page) => page.evaluate((at: number) => new Promise<{ playhead: number | null, at: number }>((resolve) => {
    const now = () => performance.timeOrigin + performance.now()
    const fire = () => {
      while (now() < at) { /* the last few ms: a timer is not that precise */ }
      resolve({ playhead: (globalThis as unknown as PageGlobals).musicShareStats.playheadServerMs, at: now() })
    }
    setTimeout(fire, Math.max(0, at - now() - 8))
  }), moment)
  const [ra, rb] = await Promise.all([read(a), read(b)])
  if (ra.playhead === null || rb.playhead === null) return undefined
  const skewMs = ra.at - rb.at
  return { diffMs: ra.playhead - rb.playhead - skewMs, skewMs }
}

/**
 * Samples the playhead difference of two pages every `everyMs` for `seconds`, the first `settleSeconds`
 * kept apart. Sampling waits for each pair of reads (no overlap), so a busy machine samples less often.
 */
export async function samplePlayheads (a: Page, b: Page, seconds: number, settleSeconds: number, everyMs = 200) {
  const started = Date.now()
  const settling: number[] = []
  const steady: number[] = []
  let missing = 0
  let maxSkewMs = 0
  while (Date.now() - started < seconds * 1000) {
    const next = Date.now() + everyMs
    const pair = await readPlayheads(a, b)
    if (pair === undefined) missing++
    else {
      maxSkewMs = Math.max(maxSkewMs, Math.abs(pair.skewMs))
      ;(Date.now() - started < settleSeconds * 1000 ? settling : steady).push(Math.abs(pair.diffMs))
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())))
  }
  return { settling, steady, missing, maxSkewMs }
}
