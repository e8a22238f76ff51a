/**
 * npm run bench -- <s1|s2|s3|ramp> [--duration S] [--url URL] [--token T] [--server-pid PID]
 *                  [--ceiling | --compare-ceiling] [--fast-poll | --audio-poll-ms N] [--levels 1,2,4] [--out DIR]
 *                  [--cluster N]
 *
 * --cluster N: a direct run against one spawned server, then the same scenario through HAProxy
 * (deploy/haproxy.cfg) against N instances on one private Redis; reports both side by side, HAProxy's
 * added latency and how the sessions and CPU split over the instances.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { execFileSync } from 'node:child_process'
import { cpuSeconds, spawnServer } from './lib/proc.js'
import { LocalCluster } from './lib/cluster.js'
import { formatScenario, formatSideBySide, resultLine } from './lib/report.js'
import { runRamp, type RampResult } from './ramp.js'
import { runScenario, type ScenarioResult } from './scenario.js'

const SCENARIOS: Record<string, { sessions: number, receiversPerSession: number }> = {
  s1: { sessions: 10, receiversPerSession: 1 },
  s2: { sessions: 5, receiversPerSession: 10 },
  s3: { sessions: 50, receiversPerSession: 5 },
  ramp: { sessions: 50, receiversPerSession: 0 }
}

type Target = 'ceiling' | 'server' | 'url' | 'cluster'
interface InstanceShare { instanceId: string, sessions: number, cpuPct: number }
interface Run { target: Target, result: ScenarioResult, ramp?: RampResult, instances?: InstanceShare[] }

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    duration: { type: 'string' },
    url: { type: 'string' },
    token: { type: 'string', default: 'bench-token' },
    'server-pid': { type: 'string' },
    ceiling: { type: 'boolean', default: false },
    'compare-ceiling': { type: 'boolean', default: false },
    'fast-poll': { type: 'boolean', default: false },
    'audio-poll-ms': { type: 'string' },
    levels: { type: 'string' },
    cluster: { type: 'string' },
    out: { type: 'string', default: join(process.cwd(), 'bench', 'results') }
  }
})

const scenario = positionals[0] ?? 's1'
const shape = SCENARIOS[scenario]
if (shape === undefined) {
  console.error(`unknown scenario "${scenario}"; expected one of ${Object.keys(SCENARIOS).join(', ')}`)
  process.exit(2)
}
const durationS = Number(values.duration ?? (scenario === 'ramp' ? 15 : 60))
const audioPollMs = Number(values['audio-poll-ms'] ?? (values['fast-poll'] ? 100 : 400))
const clusterSize = values.cluster === undefined ? 0 : Number(values.cluster)
if (values.cluster !== undefined && (!Number.isInteger(clusterSize) || clusterSize < 1 || clusterSize > 16)) {
  console.error('--cluster takes the number of instances, 1 to 16')
  process.exit(2)
}
const targets: Target[] = clusterSize > 0
  ? ['server', 'cluster']
  : values['compare-ceiling'] ? ['ceiling', 'server'] : values.ceiling ? ['ceiling'] : values.url ? ['url'] : ['server']
const scripts = {
  ceiling: fileURLToPath(new URL('./ceiling-server.js', import.meta.url)),
  server: fileURLToPath(new URL('../src/server.js', import.meta.url))
}
for (const t of targets) {
  if (t !== 'url' && t !== 'cluster' && !existsSync(scripts[t])) {
    console.error(`${scripts[t]} does not exist: build first (npm run build)`)
    process.exit(2)
  }
}
const label = (t: Target): string => (t === 'ceiling' ? `${scenario}-ceiling` : t === 'cluster' ? `${scenario}-cluster${clusterSize}` : scenario)

function binary (command: string): string {
  try {
    return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim()
  } catch {
    console.error(`--cluster needs ${command} (Debian package ${command === 'haproxy' ? 'haproxy' : 'redis-server'})`)
    process.exit(2)
  }
}

/** The scenario through HAProxy against `clusterSize` instances; per instance: sessions held and CPU. */
async function runCluster (): Promise<Run> {
  const cluster = await LocalCluster.start({
    instances: clusterSize,
    serverScript: scripts.server,
    redisBinary: binary('redis-server'),
    haproxyBinary: binary('haproxy'),
    token: values.token,
    env: { NODE_ENV: 'production' },
    output: process.stderr
  })
  try {
    const pids = cluster.instances.map((i) => i.child.pid as number)
    const cpuBefore = pids.map(cpuSeconds)
    const began = performance.now()
    const result = await runScenario({ url: cluster.url, token: values.token, sessions: shape!.sessions, durationS, audioPollMs, scenario: label('cluster'), receiversPerSession: shape!.receiversPerSession })
    const wallS = (performance.now() - began) / 1000
    const instances = await Promise.all(cluster.instances.map(async (instance, i): Promise<InstanceShare> => {
      const res = await fetch(`${instance.url}/api/share/sessions?state=all&limit=200`, { headers: { authorization: `Bearer ${values.token}` } })
      const body = await res.json() as { total: number }
      return { instanceId: instance.id, sessions: body.total, cpuPct: Math.round(((cpuSeconds(pids[i]!) - cpuBefore[i]!) / wallS) * 1000) / 10 }
    }))
    console.log(formatScenario(result, 'cluster'))
    console.log(`per instance: ${instances.map((x) => `${x.instanceId} ${x.sessions} sessions, ${x.cpuPct} % CPU`).join('; ')}`)
    return { target: 'cluster', result, instances }
  } finally {
    await cluster.stop()
  }
}

async function runTarget (target: Target): Promise<Run> {
  if (target === 'cluster') return runCluster()
  let url = values.url
  let pid = values['server-pid'] ? Number(values['server-pid']) : undefined
  let stop = async (): Promise<void> => {}
  if (target !== 'url') {
    const s = await spawnServer(scripts[target as 'ceiling' | 'server'], values.token)
    ;({ url, pid, stop } = s)
  }
  const base = { url: url as string, token: values.token, sessions: shape!.sessions, durationS, audioPollMs, serverPid: pid }
  try {
    if (scenario !== 'ramp') {
      const result = await runScenario({ ...base, scenario: label(target), receiversPerSession: shape!.receiversPerSession })
      console.log(formatScenario(result, target))
      return { target, result }
    }
    const levels = values.levels?.split(',').map(Number)
    const ramp = await runRamp({ ...base, levels }, (s) => {
      console.log(formatScenario(s.result, target))
      console.log(`-> level ${s.receiversPerSession} receivers/session ${s.held ? 'held' : `failed: ${s.reason}`}\n`)
    })
    const lastHeld = [...ramp.steps].reverse().find((s) => s.held) ?? ramp.steps[0]
    console.log(`ramp against ${target}: capacity ${ramp.capacity} receivers/session x ${shape!.sessions} sessions ` +
      `(${ramp.capacity * shape!.sessions} receivers); ${ramp.bottleneck} ran out of CPU first (${ramp.bottleneckDetail})`)
    return { target, result: (lastHeld as NonNullable<typeof lastHeld>).result, ramp }
  } finally {
    await stop()
  }
}

const runs: Run[] = []
for (const t of targets) {
  runs.push(await runTarget(t))
  console.log('')
}
if (runs.length > 1) console.log(formatSideBySide(runs.map((r) => ({ target: r.target, result: r.result }))) + '\n')
const [direct, balanced] = [runs.find((r) => r.target === 'server'), runs.find((r) => r.target === 'cluster')]
if (direct !== undefined && balanced !== undefined) {
  console.log(`HAProxy + ${clusterSize} instance(s) vs one server directly, added latency (p50 / p99 ms):`)
  for (const e of balanced.result.endpoints) {
    const d = direct.result.endpoints.find((x) => x.endpoint === e.endpoint)
    if (d === undefined) continue
    const diff = (a: number, b: number) => Math.round((a - b) * 100) / 100
    console.log(`  ${e.endpoint.padEnd(14)} ${diff(e.latencyMs.p50, d.latencyMs.p50)} / ${diff(e.latencyMs.p99, d.latencyMs.p99)}`)
  }
  console.log('')
}

mkdirSync(values.out, { recursive: true })
const file = join(values.out, `${scenario}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version, platform: process.platform }
writeFileSync(file, JSON.stringify({ scenario, machine, durationS, audioPollMs, runs }, null, 2))
console.log(`results written to ${file}`)
for (const r of runs) console.log(resultLine(label(r.target), r.result))
