import { runScenario, type ScenarioOptions, type ScenarioResult } from './scenario.js'

export const DEFAULT_LEVELS = [1, 2, 3, 4, 6, 8, 10, 12, 16, 20, 24, 32]

export interface RampOptions extends Omit<ScenarioOptions, 'scenario' | 'receiversPerSession'> {
  levels?: readonly number[]
  p99LimitMs?: number
}

export interface RampStep {
  receiversPerSession: number
  held: boolean
  reason: string
  result: ScenarioResult
}

export interface RampResult {
  steps: RampStep[]
  /** Receivers per session at the last level that held (0: not even the first). */
  capacity: number
  bottleneck: 'server' | 'generator' | 'unknown'
  bottleneckDetail: string
}

/** Why a level failed, or '' when it held: a periodic p99 over the limit, any lost chunk, or any error. */
function verdict (r: ScenarioResult, limit: number): string {
  const why: string[] = []
  if (r.summary.p99Ms > limit) why.push(`p99 ${r.summary.p99Ms} ms > ${limit} ms`)
  if (r.receivers.lost > 0) why.push(`${r.receivers.lost} chunks lost`)
  if (r.summary.errors > 0) why.push(`${r.summary.errors} errors`)
  return why.join(', ')
}

/**
 * Raises receivers per session (at `sessions` sessions, 50 by default) level by level until one fails.
 * The side that ran out of CPU is the one nearer a full core at the failing level (both the server and this
 * generator are single event loops), or at the last level tried if every level held.
 */
export async function runRamp (o: RampOptions, onStep?: (s: RampStep) => void): Promise<RampResult> {
  const limit = o.p99LimitMs ?? 50
  const steps: RampStep[] = []
  for (const level of o.levels ?? DEFAULT_LEVELS) {
    const result = await runScenario({ ...o, scenario: `ramp-${level}`, receiversPerSession: level })
    const reason = verdict(result, limit)
    const step = { receiversPerSession: level, held: reason === '', reason, result }
    steps.push(step)
    onStep?.(step)
    if (!step.held) break
  }
  const held = steps.filter((s) => s.held)
  const decisive = steps[steps.length - 1]?.result
  const server = decisive?.server.cpuPct ?? null
  const gen = decisive?.generator.cpuPct ?? 0
  const bottleneck = server === null ? 'unknown' : server >= gen ? 'server' : 'generator'
  return {
    steps,
    capacity: held[held.length - 1]?.receiversPerSession ?? 0,
    bottleneck,
    bottleneckDetail: decisive === undefined
      ? 'no level ran'
      : `at ${decisive.receiversPerSession} receivers/session: server CPU ${server ?? 'NA'} %, generator CPU ${gen} % of one core; ` +
        `other processes ${decisive.machine.othersCpuPct} % of one core on ${decisive.machine.cores} cores`
  }
}
