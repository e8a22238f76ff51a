/**
 * node dist/bench/stats-write-cost.js [--seconds S] [--postgres postgres://…]
 *
 * The CPU the statistics cost the relay under s3 (50 sessions x 5 receivers), measured in process and
 * in CPU time, so a busy machine does not blur it: the events s3 makes (every session's metadata twice
 * a second, a song change every 3.5 minutes, receivers polling and a few coming and going) go through
 * the recorder, the write-behind queue and a real store, with a simulated clock and a tick (checkpoint +
 * one batch) every 2 simulated seconds. Prints CPU ms per simulated second as a share of one core.
 * With --postgres the store is that database (its server's own CPU is not counted).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { StatsService, createStatsStore } from '../src/stats/stats-service.js'

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '600' }, postgres: { type: 'string' } } })
const SECONDS = Number(values.seconds)
const SESSIONS = 50
const RECEIVERS = 5
const FLUSH_S = 2

const dir = mkdtempSync(join(tmpdir(), 'music-share-stats-cost-'))
const silent = { info () {}, warn () {}, error () {} }
const service = new StatsService(await createStatsStore({ sqlitePath: join(dir, 'stats.db'), databaseUrl: values.postgres }),
  { flushIntervalMs: FLUSH_S * 1000, batchRows: 500, maxPendingRows: 20_000, secret: 'bench-secret-0123456789', lostAfterMs: 900_000 }, silent)
await service.open()
const recorder = service.recorder
const T0 = Date.now()
const sessions = Array.from({ length: SESSIONS }, (_, i) => ({ id: String(100000 + i), startTime: T0, bytesReceived: 0, bytesSent: 0 }))
for (const s of sessions) recorder.started(s)

const before = process.cpuUsage()
const wallStart = performance.now()
let flushMs = 0
for (let tenth = 0; tenth < SECONDS * 10; tenth++) {
  const now = T0 + tenth * 100
  for (const [i, s] of sessions.entries()) {
    // Metadata every 500 ms, staggered; a new song every 210 s.
    if ((tenth + i) % 5 === 0) {
      const elapsed = ((tenth / 10 + i * 7) % 210)
      recorder.metadata(s, { title: `Song ${Math.floor((tenth / 10 + i * 7) / 210) + i * 1000}`, artist: 'Artist', elapsedSeconds: elapsed, totalSeconds: 210 }, now)
    }
    s.bytesReceived += 35_280 // 352.8 KB/s of float32 audio
    s.bytesSent += 35_280 * RECEIVERS
    // Receivers: each joins at the start; every 30 s one of them leaves and another joins.
    if (tenth === 0) for (let r = 0; r < RECEIVERS; r++) recorder.listenerJoined(s, `r${i}-${r}`, now)
    if (tenth > 0 && (tenth + i * 3) % 300 === 0) {
      const k = Math.floor(tenth / 300)
      recorder.listenerLeft(s, `r${i}-${k - 1}`, now - 2000)
      recorder.listenerJoined(s, `r${i}-${k - 1}-again-${tenth}`, now)
    }
  }
  if (tenth % (FLUSH_S * 10) === 0) {
    const started = performance.now()
    await service.tick(now)
    flushMs += performance.now() - started
  }
}
const cpu = process.cpuUsage(before)
const cpuMs = (cpu.user + cpu.system) / 1000
const status = service.status()
await service.close(T0 + SECONDS * 1000)
rmSync(dir, { recursive: true, force: true })
console.log(`store ${status.store}, ${SECONDS} simulated s of s3 (${SESSIONS} sessions x ${RECEIVERS} receivers), Node ${process.version}`)
console.log(`CPU ${cpuMs.toFixed(0)} ms in ${(performance.now() - wallStart).toFixed(0)} ms wall: ${(cpuMs / SECONDS / 10).toFixed(3)} % of one core; ` +
  `ticks (checkpoint + write) ${(flushMs / (SECONDS / FLUSH_S)).toFixed(2)} ms each on average, ${status.flushes} batches, ${status.pendingRows} rows left`)
