/**
 * The statistics page in a real browser (Debian's chromium driven by playwright-core): thirty days of
 * history written through the store, one share played live through the REST routes, then the page
 * asked for its token, drawn, and switched between periods.
 */
import t from 'tap'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { CLIENT_HEADERS, JSON_HEADERS, build, clientMetadata, eventually, startSession } from '../helper.js'
import { browserBinary, launchChromium } from './chromium.js'
import { DAY_MS, type PlayWrite, type SessionWrite, type VisitWrite } from '../../src/stats/store.js'
import { songKey } from '../../src/stats/session-stats.js'
import { seededRandom } from '../../bench/lib/random.js'
// Declares window.musicShareStatsPage (this file is type-checked with the DOM library: test/web/tsconfig.json).
import type { StatsPageState } from '../../web/stats/main.js'

const OUTPUT = join(import.meta.dirname, '..', '..', 'test-output')
const STATS_TOKEN = 'stats-viewer-token'

const SONGS = [['Harbour Lights', 'The Quiet Tides'], ['Paper Planes at Dusk', 'Mono Lake'], ['Low Orbit', 'Satellite Choir'],
  ['Saltwater Waltz', 'The Quiet Tides'], ['Neon Gardens', 'Kite Club'], ['Last Train North', 'Ada Vale'],
  ['Glasshouse', 'Mono Lake'], ['Copper Sky', 'Kite Club']] as const

/** Thirty days of sessions, songs and listeners, the same every run (a seeded generator, not Math.random). */
function history (now: number) {
  const rand = seededRandom(7)
  const sessions: SessionWrite[] = []
  const plays: PlayWrite[] = []
  const visits: VisitWrite[] = []
  const today = Math.floor(now / DAY_MS)
  for (let d = 29; d >= 1; d--) {
    const perDay = 1 + Math.floor(rand() * 4 + (d < 10 ? 2 : 0))
    for (let s = 0; s < perDay; s++) {
      const startedAt = (today - d) * DAY_MS + 18 * 3_600_000 + s * 5_400_000
      const minutes = 20 + Math.floor(rand() * 70)
      const listeners = 1 + Math.floor(rand() * (d < 10 ? 9 : 5))
      const key = `${100000 + d * 10 + s}:${startedAt}`
      sessions.push({ sessionKey: key, sessionCode: String(100000 + d * 10 + s), startedAt, endedAt: startedAt + minutes * 60_000,
        endReason: rand() < 0.8 ? 'stopped' : 'expired', lastSeenAt: startedAt + minutes * 60_000, peakListeners: listeners,
        listenerMs: Math.round(listeners * 0.7 * minutes * 60_000), bytesIn: minutes * 60 * 352_800, bytesOut: minutes * 60 * 352_800 * listeners })
      for (let at = startedAt; at < startedAt + minutes * 60_000; at += 210_000) {
        const [title, artist] = SONGS[Math.floor(rand() * rand() * SONGS.length)]!
        plays.push({ sessionKey: key, startedAt: at, songKey: songKey(title, artist), title, artist, startPositionMs: 0, totalMs: 210_000,
          endedAt: at + 210_000, plays: 1, listenerMs: Math.round(listeners * 0.7 * 210_000) })
      }
      for (let l = 0; l < listeners; l++) visits.push({ sessionKey: key, listener: `L${Math.floor(rand() * 40)}`, joinedAt: startedAt + l, leftAt: startedAt + minutes * 60_000 })
    }
  }
  return { sessions, plays, visits }
}

let browser: Browser | undefined
t.before(async () => {
  if (browserBinary.skip !== false) return
  browser = await launchChromium()
})
t.teardown(async () => { await browser?.close() })

const pageState = (page: Page) => page.evaluate(() => ({ ...window.musicShareStatsPage }) as StatsPageState)
const stateIs = (state: string): boolean => window.musicShareStatsPage?.state === state

t.test('the statistics page asks for its token, then draws the history and switches periods', { skip: browserBinary.skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'music-share-stats-page-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const app = await build(t, { STATS: 'on', STATS_DB: join(dir, 'stats.db'), STATS_TOKEN, STATS_FLUSH_INTERVAL_MS: '50' })
  await app.stats!.store.write(history(Date.now()))
  // Today: one share played through the desktop client's routes, with two receivers.
  const { sessionId } = await startSession(app, '424242')
  for (const [title, elapsedSeconds] of [['Harbour Lights', 0], ['Low Orbit', 0]] as const) {
    await app.inject({ method: 'POST', url: `/api/share/${sessionId}/metadata`, headers: JSON_HEADERS,
      payload: clientMetadata({ title, artist: title === 'Low Orbit' ? 'Satellite Choir' : 'The Quiet Tides', elapsedSeconds, timestamp: Date.now() }) })
    for (const ua of ['Receiver one', 'Receiver two']) {
      await app.inject({ method: 'GET', url: `/api/share/${sessionId}/metadata`, headers: { ...CLIENT_HEADERS, 'user-agent': ua } })
    }
  }
  await eventually(async () => (await app.stats!.summary('day', Date.now())).plays === 2 || undefined, 'today\'s share recorded')
  const base = await app.listen({ port: 0, host: '127.0.0.1' })

  const page = await (browser as Browser).newPage({ viewport: { width: 1200, height: 1400 } })
  t.teardown(() => page.close())
  const problems: string[] = []
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().includes('401')) problems.push(m.text()) })
  page.on('pageerror', (e) => problems.push(e.message))

  await page.goto(`${base}/stats`)
  await page.waitForFunction(stateIs, 'token', { timeout: 10_000 })
  t.ok(await page.locator('#token-form').isVisible(), 'no token yet: the form')
  await page.locator('#token').fill('not-the-token')
  await page.getByRole('button', { name: 'Show statistics' }).click()
  await page.getByText('That token was not accepted.').waitFor()
  await page.locator('#token').fill(STATS_TOKEN)
  await page.getByRole('button', { name: 'Show statistics' }).click()
  await page.waitForFunction(stateIs, 'ready', { timeout: 10_000 })

  const week = await app.stats!.summary('week', Date.now())
  const tile = (label: string) => page.locator('.tile', { hasText: label }).locator('dd').textContent()
  t.equal(await tile('Sessions'), String(week.sessions), 'the tiles show the period\'s totals')
  t.equal(await tile('Song plays'), week.plays.toLocaleString('en'))
  const top = await app.stats!.topSongs('week', 'plays', 10, Date.now())
  t.equal(await page.locator('#top-plays li strong').first().textContent(), top[0]!.title, 'top song by plays first')
  t.equal(await page.locator('#top-plays li').count(), top.length)
  t.equal(await page.locator('#sessions-body tr').first().locator('td').nth(1).textContent(), '424242', 'today\'s share heads the sessions')
  const painted = await page.evaluate(() => [...document.querySelectorAll<HTMLCanvasElement>('.chart canvas')].map((c) => {
    const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data
    let ink = 0
    for (let i = 3; i < px.length; i += 4) if (px[i]! > 0) ink++
    return ink
  }))
  t.equal(painted.length, 2, 'two charts')
  t.ok(painted.every((ink) => ink > 500), `both charts drew something (${painted.join(', ')} pixels)`)

  await page.getByRole('button', { name: '30 days' }).click()
  await page.waitForFunction(() => window.musicShareStatsPage.period === 'month' && window.musicShareStatsPage.state === 'ready')
  const month = await app.stats!.summary('month', Date.now())
  t.equal(await tile('Sessions'), String(month.sessions))
  t.ok(month.sessions > week.sessions, `30 days: ${month.sessions} sessions, 7 days: ${week.sessions}`)
  t.equal((await pageState(page)).draws, 2)
  t.equal(await page.locator('[data-period="month"]').getAttribute('aria-pressed'), 'true')
  t.same(problems, [], 'no script errors or CSP violations')

  mkdirSync(OUTPUT, { recursive: true })
  await page.screenshot({ path: join(OUTPUT, 'stats-page.png'), fullPage: true })
})
