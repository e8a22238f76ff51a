/**
 * npm run bench -- <s1|s2|s3|ramp|push|push-ramp> [--duration S] [--url URL] [--token T] [--server-pid PID]
 *                  [--ceiling | --compare-ceiling] [--fast-poll | --audio-poll-ms N] [--levels 1,2,4] [--out DIR]
 *                  [--sessions N] [--ws N] [--wav N] [--p99-limit MS] [--cluster N] [--client-json]
 *                  [--codec pcm|opus|both] [--opus-listeners N] [--opus-bitrate K] [--cpu-prof DIR]
 *
 * --cpu-prof DIR: every server this run spawns directly (ours and the ceiling; not --cluster's instances)
 * writes V8 CPU profiles under DIR when it stops; `node dist/bench/profile-top.js FILE` prints where the time went.
 * --client-json: sharers write audio bodies as the desktop client's System.Text.Json does ('+' as \u002B).
 * push: sharers as in s1, plus --ws WebSocket receivers and --wav real-time stream.wav readers per session.
 * push-ramp: raises WebSocket listeners per session over --levels (each level --duration s, 8 by default)
 * until delivery p99 passes --p99-limit (500 ms) or a chunk is lost; --wav readers stay at every level.
 *
 * --codec (push, push-ramp): what the WebSocket listeners take, float32 PCM frames (default) or Opus
 * (`?codec=opus`); `both` runs PCM, then Opus, each against a fresh server, and reports them side by side.
 * --opus-listeners N (s1, s2, s3, ramp): the scenario without, then with N Opus WebSocket listeners per session
 * (every session encoded), each against a fresh server, side by side. --opus-bitrate K: Opus listeners pin
 * that tier (`&bitrate=K`) instead of adapting.
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
import type { PushCodec } from './lib/push-receivers.js'

const SCENARIOS: Record<string, { sessions: number, receiversPerSession: number, ws?: number, wav?: number }> = {
  s1: { sessions: 10, receiversPerSession: 1 },
  s2: { sessions: 5, receiversPerSession: 10 },
  s3: { sessions: 50, receiversPerSession: 5 },
  ramp: { sessions: 50, receiversPerSession: 0 },
  push: { sessions: 10, receiversPerSession: 0, ws: 10, wav: 2 },
  'push-ramp': { sessions: 10, receiversPerSession: 0, ws: 0, wav: 0 }
}
const RAMPS = new Set(['ramp', 'push-ramp'])
const PUSH = new Set(['push', 'push-ramp'])

type Target = 'ceiling' | 'server' | 'url' | 'cluster'
interface InstanceShare { instanceId: string, sessions: number, cpuPct: number }
interface Run { target: Target, variant?: string, result: ScenarioResult, ramp?: RampResult, instances?: InstanceShare[] }

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
    'client-json': { type: 'boolean', default: false },
    levels: { type: 'string' },
    sessions: { type: 'string' },
    ws: { type: 'string' },
    wav: { type: 'string' },
    'p99-limit': { type: 'string' },
    cluster: { type: 'string' },
    codec: { type: 'string' },
    'opus-listeners': { type: 'string' },
    'opus-bitrate': { type: 'string' },
    'cpu-prof': { type: 'string' },
    out: { type: 'string', default: join(process.cwd(), 'bench', 'results') }
  }
})

const scenario = positionals[0] ?? 's1'
const shape = SCENARIOS[scenario]
if (shape === undefined) {
  console.error(`unknown scenario "${scenario}"; expected one of ${Object.keys(SCENARIOS).join(', ')}`)
  process.exit(2)
}
const defaultDuration: Record<string, number> = { ramp: 15, push: 20, 'push-ramp': 8 }
const durationS = Number(values.duration ?? defaultDuration[scenario] ?? 60)
const sessions = Number(values.sessions ?? shape.sessions)
const wsPerSession = Number(values.ws ?? shape.ws ?? 0)
const wavPerSession = Number(values.wav ?? shape.wav ?? 0)
if (PUSH.has(scenario) && (values.ceiling || values['compare-ceiling'])) {
  console.error(`the ceiling server has no push transports: "${scenario}" runs against the server or --url only`)
  process.exit(2)
}
const audioPollMs = Number(values['audio-poll-ms'] ?? (values['fast-poll'] ? 100 : 400))
// --client-json: audio bodies as the desktop client's System.Text.Json writes them ('+' as \u002B).
const bodyEncoding = values['client-json'] ? 'system-text-json' : 'plain'
const clusterSize = values.cluster === undefined ? 0 : Number(values.cluster)
if (values.cluster !== undefined && (!Number.isInteger(clusterSize) || clusterSize < 1 || clusterSize > 16)) {
  console.error('--cluster takes the number of instances, 1 to 16')
  process.exit(2)
}
if (clusterSize > 0 && RAMPS.has(scenario)) {
  console.error(`--cluster runs one fixed load; "${scenario}" ramps the load up: run it without --cluster`)
  process.exit(2)
}
const codecArg = values.codec ?? 'pcm'
if (!['pcm', 'opus', 'both'].includes(codecArg) || (values.codec !== undefined && !PUSH.has(scenario))) {
  console.error('--codec takes pcm, opus or both, for push and push-ramp (other scenarios: --opus-listeners N)')
  process.exit(2)
}
const opusListeners = values['opus-listeners'] === undefined ? 0 : Number(values['opus-listeners'])
if (values['opus-listeners'] !== undefined && (PUSH.has(scenario) || !Number.isInteger(opusListeners) || opusListeners < 1)) {
  console.error('--opus-listeners takes a number of listeners per session (1 or more), for s1, s2, s3 and ramp')
  process.exit(2)
}
/** One load of this invocation: the codec WebSocket listeners take and how many there are per session. */
interface Variant { name: string, codec: PushCodec, ws: number }
const variants: Variant[] = opusListeners > 0
  ? [{ name: 'no Opus', codec: 'pcm', ws: wsPerSession }, { name: `${opusListeners} Opus/session`, codec: 'opus', ws: opusListeners }]
  : (codecArg === 'both' ? ['pcm', 'opus'] as const : [codecArg as PushCodec]).map((codec) => ({ name: codec, codec, ws: wsPerSession }))
if (variants.length > 1 && (clusterSize > 0 || values['compare-ceiling'] || values.url !== undefined)) {
  console.error('--codec both and --opus-listeners run against fresh spawned servers: not with --cluster, --compare-ceiling or --url')
  process.exit(2)
}
const targets: Target[] = clusterSize > 0
  ? ['server', 'cluster']
  : values['compare-ceiling'] ? ['ceiling', 'server'] : values.ceiling ? ['ceiling'] : values.url ? ['url'] : ['server']
const scripts = {
  ceiling: fileURLToPath(new URL('./ceiling-server.js', import.meta.url)),
  server: fileURLToPath(new URL('../server.js', import.meta.url))
}
for (const t of targets) {
  if (t !== 'url' && t !== 'cluster' && !existsSync(scripts[t])) {
    console.error(`${scripts[t]} does not exist: build first (npm run build)`)
    process.exit(2)
  }
}
const label = (t: Target, v?: Variant): string => {
  const base = t === 'ceiling' ? `${scenario}-ceiling` : t === 'cluster' ? `${scenario}-cluster${clusterSize}` : scenario
  if (v === undefined || variants.length === 1) return PUSH.has(scenario) && v?.codec === 'opus' ? `${base}-opus` : base
  return opusListeners > 0 ? (v.codec === 'opus' ? `${base}-opus${opusListeners}` : base) : `${base}-${v.codec}`
}

function binary (command: string): string {
  try {
    return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim()
  } catch {
    console.error(`--cluster needs ${command} (Debian package ${command})`)
    process.exit(2)
  }
}

/** What every run of this invocation shares, so a direct run and a cluster run carry the same load. */
function scenarioBase (url: string, serverPid?: number, v: Variant = variants[0]!) {
  return { url, token: values.token, sessions, durationS, audioPollMs, serverPid, wsPerSession: v.ws, wavPerSession, bodyEncoding, codec: v.codec,
    opusBitrate: values['opus-bitrate'] === undefined ? undefined : Number(values['opus-bitrate']) } as const
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
    const result = await runScenario({ ...scenarioBase(cluster.url), scenario: label('cluster'), receiversPerSession: shape!.receiversPerSession })
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

/**
 * --cpu-prof DIR: each spawned server writes V8 CPU profiles into DIR/<scenario>-<target>-<time>/ when it
 * stops, one per thread (the encoder threads inherit the flag), named by Node with pid and thread id
 * (see bench/profile-top.ts).
 */
function profileArgs (target: Target): string[] {
  const dir = values['cpu-prof']
  return dir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', join(dir, `${scenario}-${target}-${Date.now()}`)]
}

async function runTarget (target: Target, variant: Variant = variants[0]!): Promise<Run> {
  if (target === 'cluster') return runCluster()
  let url = values.url
  let pid = values['server-pid'] ? Number(values['server-pid']) : undefined
  let stop = async (): Promise<void> => {}
  if (target !== 'url') {
    const s = await spawnServer(scripts[target as 'ceiling' | 'server'], values.token, undefined, {}, profileArgs(target))
    ;({ url, pid, stop } = s)
  }
  const base = scenarioBase(url as string, pid, variant)
  const name = label(target, variant)
  try {
    if (!RAMPS.has(scenario)) {
      const result = await runScenario({ ...base, scenario: name, receiversPerSession: shape!.receiversPerSession })
      console.log(formatScenario(result, target))
      return { target, variant: name, result }
    }
    const levels = values.levels?.split(',').map(Number)
    const push = scenario === 'push-ramp'
    const p99LimitMs = values['p99-limit'] ? Number(values['p99-limit']) : push ? 500 : undefined
    const options = { ...base, levels, p99LimitMs, label: name, vary: push ? 'wsPerSession' as const : 'receiversPerSession' as const }
    const ramp = await runRamp(options, (s) => {
      console.log(formatScenario(s.result, target))
      console.log(`-> level ${s.level} ${push ? 'WebSocket listeners' : 'receivers'}/session ${s.held ? 'held' : `failed: ${s.reason}`}\n`)
    })
    const lastHeld = [...ramp.steps].reverse().find((s) => s.held) ?? ramp.steps[0]
    console.log(`${name} against ${target}: capacity ${ramp.capacity} ${ramp.unit} x ${sessions} sessions ` +
      `(${ramp.capacity * sessions} in all${push ? `, plus ${wavPerSession} stream.wav readers/session` : ''}); ` +
      `${ramp.bottleneck} ran out of CPU first (${ramp.bottleneckDetail})`)
    console.log(`RAMP scenario=${name} capacity=${ramp.capacity} sessions=${sessions} bottleneck=${ramp.bottleneck}`)
    return { target, variant: name, result: (lastHeld as NonNullable<typeof lastHeld>).result, ramp }
  } finally {
    await stop()
  }
}

const runs: Run[] = []
for (const t of targets) {
  for (const v of t === 'cluster' ? variants.slice(0, 1) : variants) {
    runs.push(await runTarget(t, v))
    console.log('')
  }
}
if (runs.length > 1) console.log(formatSideBySide(runs.map((r) => ({ target: variants.length > 1 ? r.variant ?? r.target : r.target, result: r.result }))) + '\n')
const ramps = runs.filter((r) => r.ramp !== undefined)
if (ramps.length > 1) {
  console.log('ramps side by side (capacity = the last level held):')
  for (const r of ramps) console.log(`  ${(r.variant ?? r.target).padEnd(20)} ${r.ramp!.capacity} ${r.ramp!.unit} x ${sessions} sessions; ${r.ramp!.bottleneck}: ${r.ramp!.bottleneckDetail}`)
  console.log('')
}
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
writeFileSync(file, JSON.stringify({ scenario, machine, durationS, audioPollMs, sessions, wsPerSession, wavPerSession, codec: codecArg, opusListeners, runs }, null, 2))
console.log(`results written to ${file}`)
for (const r of runs) console.log(resultLine(r.variant ?? label(r.target), r.result))
