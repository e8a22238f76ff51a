/**
 * The listener page in Debian's headless Chromium against the built server, with one sharer at the
 * desktop client's cadence (0.5 s of 44.1 kHz stereo every 500 ms, music-like content, metadata every
 * 500 ms). Measures, for BENCHMARKS.md:
 *  1. the sync error between two pages of one session: |difference of playheadServerMs| read at the
 *     same instant every 200 ms, the second page joining after the first settled (p50/p95/max);
 *  2. the bytes per second a page receives at each Opus tier (pinned with ?bitrate=) and as PCM, in all
 *     and of audio alone (the rest is mostly the metadata events, which carry the lyrics);
 *  3. the CPU a page costs while it plays at 128 kbit/s, decoded by WebCodecs or by the wasm decoder,
 *     against PCM: the browser's renderer and utility (audio) processes over 20 s, one page at a time,
 *     plus the wasm decoder's own main-thread time measured in the page.
 *
 *   npm run build && node dist/bench/page-sync.js [--sync-seconds 60] [--seconds 20] [--out bench/results]
 */
import { parseArgs } from 'node:util'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { cpus } from 'node:os'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'
import { CHROMIUM_ARGS, samplePlayheads } from './lib/browser-pages.js'
import { audioBody, jpegThumbnailBase64, lrcLyrics } from './lib/payloads.js'
import { spawnServer } from './lib/proc.js'
import { every } from './lib/scheduler.js'
import { summarize } from './lib/stats.js'

const { values } = parseArgs({
  options: {
    'sync-seconds': { type: 'string', default: '60' },
    seconds: { type: 'string', default: '20' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
    out: { type: 'string', default: join(process.cwd(), 'bench', 'results') }
  }
})
const SYNC_SECONDS = Number(values['sync-seconds'])
const SECONDS = Number(values.seconds)
const TOKEN = 'bench-token'
const HEADERS = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }
const SESSION = '424242'

const log = (line: string) => process.stderr.write(`${line}\n`)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface PageStats {
  state: string
  synced: boolean
  syncErrorMs: number | null
  bytesReceived: number
  audioBytesReceived: number
  secondsPlayed: number
  decodeMs: number
  decoder: string
  bitrateKbps: number | null
  skips: number
  waits: number
  underruns: number
}
const statsOf = (page: Page) => page.evaluate(() => ({ ...(globalThis as unknown as { musicShareStats: PageStats }).musicShareStats }))

async function waitFor (page: Page, what: string, predicate: (s: PageStats) => boolean, timeoutMs = 30_000): Promise<PageStats> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const stats = await statsOf(page)
    if (predicate(stats)) return stats
    if (Date.now() > deadline) throw new Error(`page never ${what}: ${JSON.stringify(stats)}`)
    await sleep(100)
  }
}

/** A sharer at the desktop client's cadence; stops with the returned function. */
function startSharer (base: string): () => void {
  const lyrics = lrcLyrics()
  const thumbnail = jpegThumbnailBase64()
  const t0 = performance.now()
  const post = (path: string, body: Buffer[] | string) =>
    fetch(`${base}/api/share/${SESSION}${path}`, { method: 'POST', headers: HEADERS, body: typeof body === 'string' ? body : Buffer.concat(body) })
      .then((res) => res.arrayBuffer())
      .catch((err: unknown) => log(`sharer POST ${path} failed: ${String(err)}`))
  const stopAudio = every(500, t0, Infinity, (k) => { void post('/audio', audioBody(0, k, Date.now())) })
  const stopMeta = every(500, t0 + 250, Infinity, (k) => {
    void post('/metadata', JSON.stringify({ title: 'Bench Song', artist: 'Page Sync', lyrics, hasSyncedLyrics: true, elapsedSeconds: k * 0.5, totalSeconds: 3600, thumbnailData: thumbnail, timestamp: Date.now() }))
  })
  return () => { stopAudio(); stopMeta() }
}

async function openPlaying (browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage()
  page.on('pageerror', (e) => log(`page error: ${e.message}`))
  await page.goto(url)
  await waitFor(page, 'got ready', (s) => s.state === 'ready')
  await page.getByRole('button', { name: 'Tap to listen' }).click()
  await waitFor(page, 'played', (s) => s.state === 'playing' && s.secondsPlayed > 0.5)
  return page
}

/** CPU seconds of the browser's processes by type (CDP SystemInfo.getProcessInfo). */
async function browserCpu (browser: Browser): Promise<Map<string, number>> {
  const cdp = await browser.newBrowserCDPSession()
  const { processInfo } = await cdp.send('SystemInfo.getProcessInfo') as { processInfo: Array<{ type: string, cpuTime: number }> }
  await cdp.detach()
  const byType = new Map<string, number>()
  for (const p of processInfo) byType.set(p.type, (byType.get(p.type) ?? 0) + p.cpuTime)
  return byType
}

async function measureCpu (browser: Browser, url: string, label: string) {
  const page = await openPlaying(browser, url)
  await sleep(2000)
  const before = await browserCpu(browser)
  const first = await statsOf(page)
  const started = performance.now()
  await sleep(SECONDS * 1000)
  const after = await browserCpu(browser)
  const last = await statsOf(page)
  const wall = (performance.now() - started) / 1000
  await page.close()
  const pct = (type: string) => Math.round(((after.get(type) ?? 0) - (before.get(type) ?? 0)) / wall * 1000) / 10
  const audioSeconds = last.secondsPlayed - first.secondsPlayed
  return {
    label,
    decoder: last.decoder,
    rendererPct: pct('renderer'),
    utilityPct: pct('utility'),
    gpuPct: pct('GPU'),
    browserPct: pct('browser'),
    wasmDecodeMsPerAudioSecond: last.decoder === 'wasm' ? Math.round((last.decodeMs - first.decodeMs) / audioSeconds * 100) / 100 : null,
    underruns: last.underruns - first.underruns
  }
}

const machine = `${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}, ${execFileSync(values.chromium, ['--version'], { encoding: 'utf8' }).trim()}`
const uptime = () => execFileSync('uptime', { encoding: 'utf8' }).trim()
log(`machine: ${machine}`)
log(`before: ${uptime()}`)

const server = await spawnServer(fileURLToPath(new URL('../server.js', import.meta.url)), TOKEN)
const browser = await chromium.launch({ executablePath: values.chromium, args: CHROMIUM_ARGS })
let stopSharer = () => {}
try {
  const start = await fetch(`${server.url}/api/share/start`, { method: 'POST', headers: HEADERS, body: JSON.stringify({ sessionId: SESSION }) })
  const { listenUrl } = await start.json() as { listenUrl: string }
  stopSharer = startSharer(server.url)
  await sleep(1000)

  // 1. Sync between two pages.
  log('sync: first page…')
  const first = await openPlaying(browser, listenUrl)
  await waitFor(first, 'settled', (s) => s.synced && Math.abs(s.syncErrorMs ?? Infinity) < 5)
  log('sync: second page…')
  const second = await openPlaying(browser, listenUrl)
  await waitFor(second, 'synced', (s) => s.synced)
  const sampled = await samplePlayheads(first, second, SYNC_SECONDS + 5, 5)
  const [a, b] = await Promise.all([statsOf(first), statsOf(second)])
  const sync = {
    firstFiveSeconds: summarize(sampled.settling),
    afterFiveSeconds: summarize(sampled.steady),
    missing: sampled.missing,
    maxReadSkewMs: Math.round(sampled.maxSkewMs * 10) / 10,
    corrections: { skips: a.skips + b.skips, waits: a.waits + b.waits, underruns: a.underruns + b.underruns }
  }
  log(`sync: ${JSON.stringify(sync)}`)
  await Promise.all([first.close(), second.close()])

  // 2. Bytes per second at each tier, and as PCM (one page each, together).
  log('bytes per tier…')
  const variants = [['32', '&bitrate=32'], ['64', '&bitrate=64'], ['128', '&bitrate=128'], ['192', '&bitrate=192'], ['pcm', '&codec=pcm']] as const
  const pages = await Promise.all(variants.map(([, query]) => openPlaying(browser, listenUrl + query)))
  await sleep(2000)
  const before = await Promise.all(pages.map(statsOf))
  const t0 = performance.now()
  await sleep(SECONDS * 1000)
  const after = await Promise.all(pages.map(statsOf))
  const wall = (performance.now() - t0) / 1000
  const perSecond = (i: number, key: 'bytesReceived' | 'audioBytesReceived') => Math.round(((after[i]?.[key] ?? 0) - (before[i]?.[key] ?? 0)) / wall)
  const bytes = variants.map(([name], i) => ({
    variant: name,
    tierKbps: after[i]?.bitrateKbps ?? null,
    // Everything the page received (audio, metadata events with the lyrics, clock pongs), and the audio alone.
    bytesPerSecond: perSecond(i, 'bytesReceived'),
    audioBytesPerSecond: perSecond(i, 'audioBytesReceived')
  }))
  log(`bytes: ${JSON.stringify(bytes)}`)
  await Promise.all(pages.map((p) => p.close()))

  // 3. CPU of a playing page, one at a time.
  log('cpu…')
  const cpu = []
  for (const [label, query] of [['Opus 128, WebCodecs', '&bitrate=128'], ['Opus 128, wasm', '&bitrate=128&decoder=wasm'], ['PCM', '&codec=pcm']] as const) {
    cpu.push(await measureCpu(browser, listenUrl + query, label))
    log(`cpu: ${JSON.stringify(cpu[cpu.length - 1])}`)
  }
  const report = { machine, load: uptime(), syncSeconds: SYNC_SECONDS, seconds: SECONDS, sync, bytes, cpu }
  mkdirSync(values.out, { recursive: true })
  const file = join(values.out, `page-sync-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n')
  process.stdout.write(`RESULT ${JSON.stringify(report)}\nresults written to ${file}\n`)
} finally {
  stopSharer()
  await browser.close()
  await server.stop()
}
