/**
 * npm run soak -- [--minutes 30] [--sessions 50] [--receivers 5] [--sample-s 10] [--warmup-minutes 3]
 *
 * Runs the bench's s3 load (50 sessions x 5 receivers at the client's cadence) against a freshly started
 * server for a long time and samples its memory every 10 s: RSS from /proc, V8 heap from /health.
 * It passes when, after the warm-up, memory drifts less than 10 % between the first two minutes and the
 * last two, and there were no errors and no lost chunks. RSS is compared by its median; the heap by its
 * floor (the smallest sample, just after a collection), because the heap's median follows where the
 * garbage collector happens to be in its sawtooth, not what is retained.
 * The last stdout line: `SOAK result=<pass|fail> rss_drift_pct=… heap_drift_pct=… errors=… loss_pct=…`.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { memoryMb, spawnServer } from './lib/proc.js'
import { runScenario } from './scenario.js'

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    sessions: { type: 'string', default: '50' },
    receivers: { type: 'string', default: '5' },
    'sample-s': { type: 'string', default: '10' },
    'warmup-minutes': { type: 'string' },
    out: { type: 'string', default: join(process.cwd(), 'bench', 'results') }
  }
})

const minutes = Number(values.minutes)
const sampleMs = Number(values['sample-s']) * 1000
const warmupMs = Number(values['warmup-minutes'] ?? Math.min(3, minutes / 5)) * 60_000
const WINDOW_MS = Math.min(120_000, (minutes * 60_000 - warmupMs) / 3)
const MAX_DRIFT_PCT = 10

interface Sample { atS: number, rssMb: number, heapUsedMb: number }

const token = 'soak-token'
const server = await spawnServer(fileURLToPath(new URL('../server.js', import.meta.url)), token)
const samples: Sample[] = []
const started = Date.now()
const sampler = setInterval(() => {
  void (async () => {
    const rss = memoryMb(server.pid).rssMb
    const health = await fetch(`${server.url}/health`).then((r) => r.json() as Promise<{ memoryUsage: { used: number } }>).catch(() => undefined)
    if (rss === null || health === undefined) return
    const sample = { atS: Math.round((Date.now() - started) / 1000), rssMb: rss, heapUsedMb: health.memoryUsage.used }
    samples.push(sample)
    if (samples.length % Math.max(1, Math.round(60_000 / sampleMs)) === 0) {
      console.log(`t=${sample.atS}s rss=${sample.rssMb} MB heap=${sample.heapUsedMb} MB`)
    }
  })()
}, sampleMs)

console.log(`soak: ${values.sessions} sessions x ${values.receivers} receivers for ${minutes} min, memory every ${sampleMs / 1000} s, warm-up ${warmupMs / 60_000} min`)
const result = await runScenario({
  scenario: 'soak',
  url: server.url,
  token,
  sessions: Number(values.sessions),
  receiversPerSession: Number(values.receivers),
  durationS: minutes * 60,
  serverPid: server.pid
})
clearInterval(sampler)
await server.stop()

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)]!
}
const steady = samples.filter((s) => s.atS * 1000 >= warmupMs)
const endS = steady.at(-1)?.atS ?? 0
const first = steady.filter((s) => s.atS * 1000 < warmupMs + WINDOW_MS)
const last = steady.filter((s) => s.atS * 1000 > endS * 1000 - WINDOW_MS)
const floor = (xs: number[]) => Math.min(...xs)
const drift = (pick: (s: Sample) => number, measure: (xs: number[]) => number) => {
  const from = measure(first.map(pick))
  return Math.round(((measure(last.map(pick)) - from) / from) * 1000) / 10
}
const rssDrift = drift((s) => s.rssMb, median)
const heapDrift = drift((s) => s.heapUsedMb, floor)
const heapMedianDrift = drift((s) => s.heapUsedMb, median)
const errors = result.summary.errors
const pass = steady.length >= 6 && rssDrift < MAX_DRIFT_PCT && heapDrift < MAX_DRIFT_PCT && errors === 0 && result.summary.lossPct === 0

const summary = {
  minutes,
  sessions: result.sessions,
  receiversPerSession: result.receiversPerSession,
  warmupMinutes: warmupMs / 60_000,
  samples,
  rss: { firstWindowMedianMb: median(first.map((s) => s.rssMb)), lastWindowMedianMb: median(last.map((s) => s.rssMb)), maxMb: Math.max(...steady.map((s) => s.rssMb)), driftPct: rssDrift },
  heap: {
    firstWindowFloorMb: floor(first.map((s) => s.heapUsedMb)),
    lastWindowFloorMb: floor(last.map((s) => s.heapUsedMb)),
    firstWindowMedianMb: median(first.map((s) => s.heapUsedMb)),
    lastWindowMedianMb: median(last.map((s) => s.heapUsedMb)),
    maxMb: Math.max(...steady.map((s) => s.heapUsedMb)),
    driftPct: heapDrift,
    medianDriftPct: heapMedianDrift
  },
  endpoints: result.endpoints,
  scenario: result.summary,
  receivers: result.receivers,
  serverCpuPct: result.server.cpuPct,
  pass
}
mkdirSync(values.out, { recursive: true })
const file = join(values.out, `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
writeFileSync(file, JSON.stringify(summary, null, 2))
console.log(`rss MB (median): first ${summary.rss.firstWindowMedianMb}, last ${summary.rss.lastWindowMedianMb}, max ${summary.rss.maxMb}; ` +
  `heap MB (floor): first ${summary.heap.firstWindowFloorMb}, last ${summary.heap.lastWindowFloorMb}, max ${summary.heap.maxMb} (median drift ${heapMedianDrift} %)`)
const failures = result.endpoints.filter((e) => e.errors > 0)
if (failures.length > 0) console.log(`errors: ${failures.map((e) => `${e.endpoint} ${JSON.stringify(e.statuses)}`).join('; ')}`)
console.log(`chunks ${result.receivers.chunksReceived}/${result.receivers.chunksExpected}, p99 ${result.summary.p99Ms} ms, server CPU ${result.server.cpuPct} %; results in ${file}`)
console.log(`SOAK result=${pass ? 'pass' : 'fail'} rss_drift_pct=${rssDrift} heap_drift_pct=${heapDrift} errors=${errors} loss_pct=${result.summary.lossPct}`)
process.exitCode = pass ? 0 : 1
