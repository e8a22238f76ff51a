/**
 * The listener page in a real browser (Debian's chromium driven by playwright-core): a test sharer feeds a
 * 440 Hz sine at 48 kHz (the headless output runs at 44.1 kHz, so the page resamples) and metadata with
 * LRC lyrics and a cover, over the same REST routes the desktop client uses.
 */
import t, { type Test } from 'tap'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { build, eventually, JSON_HEADERS, sine } from '../helper.js'
import { listen, postAudio, postMetadata, startOver } from '../push/push-helper.js'
import { findBinary } from '../system-binary.js'
import { currentLine, parseLrc } from '../../web/listen/lrc.js'
// Declares window.musicShareStats (this file is type-checked with the DOM library: test/web/tsconfig.json).
import type { ListenStats } from '../../web/listen/stats.js'

const browserBinary = findBinary('chromium', 'chromium')
const OUTPUT = join(import.meta.dirname, '..', '..', 'test-output')
const COVER = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'cover.jpg')).toString('base64')

const RATE = 48000
const CHUNK_FRAMES = 4800 // 0.1 s, sent every 100 ms
const SONG_START = 20
const LRC = Array.from({ length: 90 }, (_, i) => {
  const at = i * 2
  return `[${String(Math.floor(at / 60)).padStart(2, '0')}:${String(at % 60).padStart(2, '0')}.00]Line at ${at} seconds`
}).join('\n')

let browser: Browser | undefined
t.before(async () => {
  if (browserBinary.skip !== false) return
  browser = await chromium.launch({
    executablePath: browserBinary.path,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--autoplay-policy=no-user-gesture-required']
  })
})
t.teardown(async () => { await browser?.close() })

/** A sharer on the desktop client's routes: real-time audio and metadata every 500 ms, until stopped. */
function runSharer (base: string, sessionId: string) {
  const startedAt = Date.now()
  let seq = 0
  let title = 'Sine of the Times'
  let sending = Promise.resolve()
  const songPosition = () => SONG_START + (Date.now() - startedAt) / 1000
  const metadata = () => postMetadata(base, {
    title,
    artist: 'The Test Tones',
    lyrics: LRC,
    hasSyncedLyrics: true,
    elapsedSeconds: songPosition(),
    totalSeconds: 200,
    thumbnailData: COVER
  }, sessionId)
  const tick = () => {
    // Whatever is due by the wall clock, so timer jitter never starves the listener.
    const due = Math.floor((Date.now() - startedAt) / 100) + 1
    sending = sending.then(async () => {
      while (seq < due) {
        await postAudio(base, seq, sine(CHUNK_FRAMES, seq * CHUNK_FRAMES, 440, RATE), sessionId, RATE)
        seq++
      }
    })
  }
  tick()
  const audio = setInterval(tick, 100)
  const meta = setInterval(() => { sending = sending.then(metadata) }, 500)
  sending = sending.then(metadata)
  return {
    songPosition,
    /** The next metadata updates name another song. */
    play (next: string) { title = next },
    async stop () {
      clearInterval(audio)
      clearInterval(meta)
      await sending
    }
  }
}

async function setUp (t: Test, env: Record<string, string> = {}) {
  const app = await build(t, env)
  const base = await listen(app)
  const started = await startOver(base)
  const sharer = runSharer(base, started.sessionId)
  t.teardown(() => sharer.stop())
  const page = await (browser as Browser).newPage({ viewport: { width: 1280, height: 800 } })
  t.teardown(() => page.close())
  const problems: string[] = []
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`${m.text()} ${m.location().url}`) })
  page.on('pageerror', (e) => problems.push(e.message))
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`${r.status()} ${new URL(r.url()).pathname}`) })
  return { app, base, started, sharer, page, problems }
}

const statsOf = (page: Page) => page.evaluate(() => ({ ...window.musicShareStats }) as ListenStats)
/** Waits for a page condition. A function, not a string: the page's CSP (rightly) forbids eval. */
const waitFor = (page: Page, predicate: (arg: never) => boolean, arg: string | number | undefined, timeout = 10_000) =>
  page.waitForFunction(predicate as (arg: unknown) => boolean, arg, { timeout })
const stateIs = (state: string): boolean => window.musicShareStats.state === state

async function tapAndPlay (page: Page, seconds: number) {
  await page.getByRole('button', { name: 'Tap to listen' }).click()
  await waitFor(page, stateIs, 'playing')
  await waitFor(page, (s: number) => window.musicShareStats.secondsPlayed >= s, seconds, (seconds + 8) * 1000)
}

t.test('the page joins, shows the song and plays the audio', { skip: browserBinary.skip }, async (t) => {
  const { base, started, sharer, page, problems } = await setUp(t)
  t.match(started.listenUrl, new RegExp(`/listen/${started.sessionId}\\?key=${started.listenKey}$`))

  await page.goto(started.listenUrl)
  await waitFor(page, stateIs, 'ready')
  await page.getByRole('heading', { name: 'Sine of the Times' }).waitFor()
  t.equal(await page.locator('#artist').textContent(), 'The Test Tones')
  const cover = page.locator('#cover')
  await waitFor(page, () => {
    const img = document.getElementById('cover') as HTMLImageElement
    return img.complete && img.naturalWidth > 0
  }, undefined)
  t.equal(await cover.evaluate((img: HTMLImageElement) => img.naturalWidth), 300, 'the cover loaded from the art route')
  t.match(await cover.getAttribute('src'), new RegExp(`^/api/share/${started.sessionId}/art/[A-Za-z0-9_-]{32}\\?key=`))

  const progressBefore = Number(await page.locator('#progress').getAttribute('aria-valuenow'))
  const widthBefore = await page.locator('#progress-fill').evaluate((el) => el.getBoundingClientRect().width)

  await tapAndPlay(page, 5)
  const stats = await statsOf(page)
  t.equal(stats.audioEngine, 'worklet', 'played through the AudioWorklet')
  t.equal(stats.transport, 'websocket')
  t.equal(stats.sourceRate, RATE)
  t.not(stats.deviceRate, 0)
  t.ok(stats.secondsPlayed >= 5, `${stats.secondsPlayed.toFixed(2)} s rendered`)
  t.ok(stats.underruns <= 3, `${stats.underruns} underruns`)
  // A 0.5-amplitude sine has an RMS of 0.354: real samples came out, not silence.
  t.ok(stats.level > 0.3 && stats.level < 0.4, `output level ${stats.level.toFixed(3)}`)
  t.ok(stats.latencyMs > 200 && stats.latencyMs < 4000, `latency ${stats.latencyMs} ms, buffer ${stats.bufferedMs} ms`)

  // Progress moves on between metadata updates, and the song position follows the sharer's (minus the audio delay).
  const widthAfter = await page.locator('#progress-fill').evaluate((el) => el.getBoundingClientRect().width)
  t.ok(widthAfter > widthBefore, `progress bar grew from ${widthBefore} to ${widthAfter} px`)
  t.ok(Number(await page.locator('#progress').getAttribute('aria-valuenow')) >= progressBefore)
  const { position, highlighted } = await page.evaluate(() => ({
    position: window.musicShareStats.positionSeconds,
    highlighted: document.querySelector('#lyrics li.current')?.textContent ?? null
  }))
  const expected = sharer.songPosition() - stats.latencyMs / 1000
  t.ok(Math.abs(position - expected) < 1.5, `position ${position.toFixed(2)} s, sharer minus delay ${expected.toFixed(2)} s`)
  const lines = parseLrc(LRC)
  t.equal(highlighted, lines[currentLine(lines, position)]?.text, `the current line is highlighted at ${position.toFixed(2)} s`)
  t.equal(await page.locator('#lyrics li[aria-current="true"]').count(), 1)
  const lyricInView = await page.locator('#lyrics li.current').evaluate((li) => {
    const box = li.getBoundingClientRect()
    const pane = (li.closest('#lyrics') as HTMLElement).getBoundingClientRect()
    return box.top >= pane.top && box.bottom <= pane.bottom
  })
  t.ok(lyricInView, 'the current line is scrolled into view')
  t.match(await page.locator('#latency').textContent(), /s behind live/)

  mkdirSync(OUTPUT, { recursive: true })
  await page.screenshot({ path: join(OUTPUT, 'listen-desktop.png') })
  await page.setViewportSize({ width: 390, height: 844 })
  await page.screenshot({ path: join(OUTPUT, 'listen-phone.png'), fullPage: true })
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
  t.equal(overflow, 0, 'nothing overflows a narrow phone screen')

  // Keyboard: the volume slider is labelled and moves with the arrow keys.
  const volume = page.getByLabel('Volume')
  await volume.focus()
  await page.keyboard.press('ArrowLeft')
  t.equal(await volume.inputValue(), '79')

  // Stopping the share ends the page within a second.
  const stoppedAt = Date.now()
  await sharer.stop()
  const res = await fetch(`${base}/api/share/${started.sessionId}/stop`, { method: 'POST', headers: { authorization: JSON_HEADERS.authorization } })
  t.equal(res.status, 200)
  await waitFor(page, stateIs, 'ended', 1000)
  t.ok(Date.now() - stoppedAt < 1000, `ended after ${Date.now() - stoppedAt} ms`)
  t.equal(await page.locator('#status-text').textContent(), 'This share has ended')
  t.same(problems, [], 'no console errors (no CSP violations)')
})

t.test('a wrong, missing or unknown key or code shows the error state', { skip: browserBinary.skip }, async (t) => {
  const { app, base, started, page } = await setUp(t)
  const cases = [
    { url: `/listen/${started.sessionId}?key=wrong-key`, text: /listen key does not open share/ },
    { url: `/listen/${started.sessionId}`, text: /no listen key/ },
    { url: `/listen/999999?key=${app.listenKeys.keyFor('999999')}`, text: /No share with code 999999 is live/ },
    { url: '/listen/12ab?key=x', text: /6 digits/ }
  ]
  for (const { url, text } of cases) {
    await page.goto(base + url)
    await waitFor(page, stateIs, 'error')
    t.ok(await page.locator('#error').isVisible(), `${url}: the error is shown`)
    t.match(await page.locator('#error-text').textContent(), text, url)
    t.ok(await page.getByRole('link', { name: 'Enter a code and key' }).isVisible())
  }
})

t.test('the join form leads to the player', { skip: browserBinary.skip }, async (t) => {
  const { base, started, page } = await setUp(t)
  await page.goto(`${base}/listen`)
  await page.getByLabel('Share code').fill(started.sessionId)
  await page.getByLabel('Listen key').fill(started.listenKey)
  await page.keyboard.press('Enter')
  await waitFor(page, stateIs, 'ready')
  t.equal(new URL(page.url()).pathname, `/listen/${started.sessionId}`)
})

t.test('without WebSocket and AudioWorklet the page falls back to long-polling and a ScriptProcessor, and still plays', { skip: browserBinary.skip }, async (t) => {
  const { started, page, problems } = await setUp(t)
  // A network that refuses WebSocket: every socket fails before it opens.
  await page.addInitScript(() => {
    class Refused extends EventTarget {
      onopen = null
      onmessage = null
      onclose: ((e: { code: number }) => void) | null = null
      binaryType = 'blob'
      constructor () {
        super()
        setTimeout(() => this.onclose?.({ code: 1006 }), 10)
      }

      close () {}
    }
    Object.defineProperty(window, 'WebSocket', { value: Refused })
    // As on a plain-http LAN address, where AudioWorklet (secure contexts only) is missing.
    Object.defineProperty(BaseAudioContext.prototype, 'audioWorklet', { get: () => undefined })
  })
  await page.goto(started.listenUrl)
  await waitFor(page, stateIs, 'ready')
  await page.getByRole('heading', { name: 'Sine of the Times' }).waitFor()
  await tapAndPlay(page, 3)
  const stats = await statsOf(page)
  t.equal(stats.transport, 'long-poll')
  t.equal(stats.audioEngine, 'script-processor')
  t.ok(stats.underruns <= 3, `${stats.underruns} underruns`)
  t.ok(stats.level > 0.3, `output level ${stats.level.toFixed(3)}`)
  t.same(problems, [])
})

t.test('the page lists the songs played so far and offers the recording for download', { skip: browserBinary.skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'listen-recording-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const { app, base, started, sharer, page, problems } = await setUp(t, { RECORDINGS_DIR: dir })
  await page.goto(started.listenUrl)
  await waitFor(page, stateIs, 'ready')
  await page.getByRole('heading', { name: 'Sine of the Times' }).waitFor()
  const played = page.getByRole('region', { name: 'Played so far' })
  await played.getByText('Sine of the Times').waitFor()
  sharer.play('<b>Second</b> & more')
  await played.getByText('<b>Second</b> & more').waitFor()
  const items = played.locator('li')
  t.equal(await items.count(), 2)
  t.match(await items.nth(0).textContent(), /<b>Second<\/b> & more/, 'newest first, as text (never markup)')
  t.equal(await items.nth(0).getAttribute('aria-current'), 'true', 'the one playing is marked')
  t.equal(await items.nth(1).getAttribute('aria-current'), null)

  const link = page.getByRole('link', { name: 'Download recording' })
  await link.waitFor()
  t.match(await link.getAttribute('href'), new RegExp(`^/api/share/${started.sessionId}/recording\\.ogg\\?key=`))
  // The encoder thread may still be starting (compiling, on a busy machine): wait for audio on disk.
  await eventually(() => (app.recordings!.liveStatus(started.sessionId)?.bytes ?? 0) > 1000 || undefined, 'audio recorded', 15_000)
  const download = await page.evaluate(async (href) => {
    const res = await fetch(href)
    return { status: res.status, type: res.headers.get('content-type'), bytes: (await res.arrayBuffer()).byteLength }
  }, (await link.getAttribute('href'))!)
  t.match(download, { status: 200, type: 'audio/ogg' })
  t.ok(download.bytes > 1000, `${download.bytes} bytes recorded so far`)

  await sharer.stop()
  await fetch(`${base}/api/share/${started.sessionId}/stop`, { method: 'POST', headers: { authorization: JSON_HEADERS.authorization } })
  await waitFor(page, stateIs, 'ended')
  await waitFor(page, () => document.querySelector('#played-list li[aria-current]') === null, undefined)
  t.ok(await link.isVisible(), 'the recording can still be downloaded after the end')
  t.same(problems, [], 'no console errors (no CSP violations)')
})
