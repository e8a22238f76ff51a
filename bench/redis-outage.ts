/**
 * npm run bench:redis-outage -- [--duration 30] [--kill-at 10] [--down 5] [--sessions 50] [--receivers 5] [--baseline]
 *
 * Redis killed and restarted under load. Starts a private redis-server (no persistence, as a crash
 * without AOF leaves it) and the server with REDIS_URL on it, runs the s3 load (50 sessions x 5
 * receivers at the desktop client's cadence by default), kills Redis with SIGKILL --kill-at seconds into
 * the run and starts it again, empty, --down seconds later. Measured from the moment it answers
 * again, by a small probe process of its own (the generator is too busy to time it): when every live
 * session's hash (`session:{id}`) and claim are back in it, and when /health says healthy again. The load's own report says whether any request failed or any chunk
 * was lost. --baseline runs the same load with Redis up throughout, to tell the outage's cost from the
 * machine's. The last stdout line:
 * `REDIS_OUTAGE back_ms=… healthy_ms=… sessions=… errors=… lost=…`.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { setTimeout as delay } from 'node:timers/promises'
import { freePort, spawnServer, stopChild } from './lib/proc.js'
import { spawnRedisServer } from './lib/cluster.js'
import { formatScenario, resultLine } from './lib/report.js'
import { runScenario } from './scenario.js'

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '30' },
    'kill-at': { type: 'string', default: '10' },
    down: { type: 'string', default: '5' },
    sessions: { type: 'string', default: '50' },
    receivers: { type: 'string', default: '5' },
    baseline: { type: 'boolean', default: false },
    out: { type: 'string', default: join(process.cwd(), 'bench', 'results') }
  }
})
const durationS = Number(values.duration)
const killAtMs = Number(values['kill-at']) * 1000
const downMs = Number(values.down) * 1000
if (killAtMs + downMs + 5000 > durationS * 1000) {
  console.error('--kill-at + --down must leave at least 5 s of the run to measure the return')
  process.exit(2)
}

let redisBinary = ''
try {
  redisBinary = execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim()
} catch {
  console.error('this needs redis-server (Debian package redis-server)')
  process.exit(2)
}

const token = 'outage-token'
const redisPort = await freePort()
const redisUrl = `redis://127.0.0.1:${redisPort}`
let redis = await spawnRedisServer(redisBinary, redisPort)
const server = await spawnServer(fileURLToPath(new URL('../server.js', import.meta.url)), token, 20_000, { REDIS_URL: redisUrl })
const headers = { authorization: `Bearer ${token}` }

/** The ids of the sessions the server holds (asked again while it sheds load: 503). */
async function liveIds (): Promise<string[]> {
  for (;;) {
    const res = await fetch(`${server.url}/api/share/sessions?state=active&limit=200`, { headers })
    const body = await res.json() as { sessions?: Array<{ sessionId: string }> }
    if (res.status === 200 && body.sessions !== undefined) return body.sessions.map((s) => s.sessionId)
    await delay(100)
  }
}

/** Starts the probe (bench/lib/redis-return-probe.ts) on `keys`; resolves with what it measured. */
function probeReturn (keys: string[]): Promise<{ backMs: number | null, healthyMs: number | null }> {
  const probe = spawn(process.execPath, [fileURLToPath(new URL('./lib/redis-return-probe.js', import.meta.url)), redisUrl, server.url],
    { stdio: ['pipe', 'pipe', 'inherit'] })
  probe.stdin.end(JSON.stringify(keys))
  let out = ''
  probe.stdout.on('data', (d) => { out += d })
  return once(probe, 'exit').then(() => JSON.parse(out) as { backMs: number | null, healthyMs: number | null })
}

try {
  console.log(`redis-outage: ${values.sessions} sessions x ${values.receivers} receivers for ${durationS} s; ` +
    (values.baseline ? 'Redis up throughout (baseline)' : `Redis killed at ${killAtMs / 1000} s, back ${downMs / 1000} s later`))
  const began = performance.now()
  const load = runScenario({
    scenario: 'redis-outage',
    url: server.url,
    token,
    sessions: Number(values.sessions),
    receiversPerSession: Number(values.receivers),
    durationS,
    serverPid: server.pid
  })

  let ids: string[] = []
  let backMs: number | null = null
  let healthyMs: number | null = null
  if (!values.baseline) {
    await delay(killAtMs - (performance.now() - began))
    console.log(`t=${Math.round((performance.now() - began) / 1000)}s listing the live sessions`)
    ids = await liveIds()
    await stopChild(redis, 'SIGKILL')
    console.log(`t=${Math.round((performance.now() - began) / 1000)}s Redis killed (${ids.length} live sessions)`)
    const measured = probeReturn(ids.flatMap((id) => [`session:${id}`, `session:${id}:claim`]))
    await delay(downMs)
    redis = await spawnRedisServer(redisBinary, redisPort)
    console.log(`t=${Math.round((performance.now() - began) / 1000)}s Redis accepts connections again, empty`)
    ;({ backMs, healthyMs } = await measured)
    console.log(`every session's hash and claim back ${backMs ?? 'NOT within 30 000'} ms after Redis returned; /health healthy after ${healthyMs ?? 'NOT within 30 000'} ms`)
  }

  const result = await load
  console.log(formatScenario(result, 'server'))
  const health = await (await fetch(`${server.url}/health`)).json() as { checks?: { redis?: { metrics?: Record<string, number> } } }
  console.log(`server's Redis metrics: ${JSON.stringify(health.checks?.redis?.metrics)}`)
  mkdirSync(values.out, { recursive: true })
  const file = join(values.out, `redis-outage-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  writeFileSync(file, JSON.stringify({ durationS, killAtMs, downMs, sessions: ids.length, backMs, healthyMs, result }, null, 2))
  console.log(`results written to ${file}`)
  console.log(resultLine('redis-outage', result))
  console.log(`REDIS_OUTAGE back_ms=${backMs ?? 'NA'} healthy_ms=${healthyMs ?? 'NA'} sessions=${ids.length} errors=${result.summary.errors} lost=${result.receivers.lost}`)
} finally {
  await server.stop()
  await stopChild(redis, 'SIGKILL')
}
