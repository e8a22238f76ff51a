/**
 * npm run bench -- <s1|s2|s3|ramp> [--duration S] [--url URL] [--token T] [--server-pid PID]
 *                  [--ceiling | --compare-ceiling] [--fast-poll | --audio-poll-ms N] [--levels 1,2,4] [--out DIR]
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { spawnServer } from './lib/proc.js'
import { formatScenario, formatSideBySide, resultLine } from './lib/report.js'
import { runRamp, type RampResult } from './ramp.js'
import { runScenario, type ScenarioResult } from './scenario.js'

const SCENARIOS: Record<string, { sessions: number, receiversPerSession: number }> = {
  s1: { sessions: 10, receiversPerSession: 1 },
  s2: { sessions: 5, receiversPerSession: 10 },
  s3: { sessions: 50, receiversPerSession: 5 },
  ramp: { sessions: 50, receiversPerSession: 0 }
}

type Target = 'ceiling' | 'server' | 'url'
interface Run { target: Target, result: ScenarioResult, ramp?: RampResult }

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
const targets: Target[] = values['compare-ceiling'] ? ['ceiling', 'server'] : values.ceiling ? ['ceiling'] : values.url ? ['url'] : ['server']
const scripts = {
  ceiling: fileURLToPath(new URL('./ceiling-server.js', import.meta.url)),
  server: fileURLToPath(new URL('../src/server.js', import.meta.url))
}
for (const t of targets) {
  if (t !== 'url' && !existsSync(scripts[t])) {
    console.error(`${scripts[t]} does not exist: build first (npm run build)`)
    process.exit(2)
  }
}
const label = (t: Target): string => (t === 'ceiling' ? `${scenario}-ceiling` : scenario)

async function runTarget (target: Target): Promise<Run> {
  let url = values.url
  let pid = values['server-pid'] ? Number(values['server-pid']) : undefined
  let stop = async (): Promise<void> => {}
  if (target !== 'url') {
    const s = await spawnServer(scripts[target], values.token)
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

mkdirSync(values.out, { recursive: true })
const file = join(values.out, `${scenario}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version, platform: process.platform }
writeFileSync(file, JSON.stringify({ scenario, machine, durationS, audioPollMs, runs }, null, 2))
console.log(`results written to ${file}`)
for (const r of runs) console.log(resultLine(label(r.target), r.result))
