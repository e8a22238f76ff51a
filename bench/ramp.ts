import { runScenario, type ScenarioOptions, type ScenarioResult } from './scenario.js'

export const DEFAULT_LEVELS = [1, 2, 3, 4, 6, 8, 10, 12, 16, 20, 24, 32]
/** WebSocket listeners per session; 10 sessions at the last level stay under PUSH_MAX_CONNECTIONS (2000). */
export const DEFAULT_PUSH_LEVELS = [4, 8, 16, 32, 64, 96, 128, 160, 192]

/** What a ramp raises level by level: polling receivers (ramp) or WebSocket listeners (push-ramp) per session. */
export type RampVariable = 'receiversPerSession' | 'wsPerSession'

export interface RampOptions extends Omit<ScenarioOptions, 'scenario' | 'receiversPerSession'> {
  levels?: readonly number[]
  p99LimitMs?: number
  /** Default receiversPerSession; the other per-session counts stay as given at every level. */
  vary?: RampVariable
  receiversPerSession?: number
  /** Scenario label prefix: `${label}-${level}` (default `ramp`). */
  label?: string
}

export interface RampStep {
  /** The value of the varied count at this level. */
  level: number
  held: boolean
  reason: string
  result: ScenarioResult
}

export interface RampResult {
  steps: RampStep[]
  /** The varied count at the last level that held (0: not even the first). */
  capacity: number
  bottleneck: 'server' | 'generator' | 'unknown'
  bottleneckDetail: string
  /** What a level counts, for reports: 'receivers/session' or 'WebSocket listeners/session'. */
  unit: string
}

/**
 * Why a level failed, or '' when it held: the summary p99 over the limit, any lost chunk, or any error.
 * Push runs also fail when the end-to-end p99 (POST sent -> listener has the chunk) passes the limit: a delay
 * measured from the POST's response cannot see a server that is slow to take the POST in the first place.
 */
function verdict (r: ScenarioResult, limit: number): string {
  const why: string[] = []
  if (r.summary.p99Ms > limit) why.push(`p99 ${r.summary.p99Ms} ms > ${limit} ms`)
  const endToEnd = r.push === undefined ? 0 : Math.max(r.push.ws.endToEndMs.p99, r.push.wav.endToEndMs.p99)
  if (endToEnd > limit) why.push(`end-to-end p99 ${endToEnd} ms > ${limit} ms`)
  if (r.summary.lost > 0) why.push(`${r.summary.lost} chunks lost`)
  if (r.summary.errors > 0) why.push(`${r.summary.errors} errors`)
  return why.join(', ')
}

/**
 * Raises receivers (or WebSocket listeners) per session at `sessions` sessions level by level until one fails.
 * The side that ran out of CPU is the one nearer a full core at the failing level (both the server and this
 * generator are single event loops), or at the last level tried if every level held.
 */
export async function runRamp (o: RampOptions, onStep?: (s: RampStep) => void): Promise<RampResult> {
  const limit = o.p99LimitMs ?? 50
  const vary = o.vary ?? 'receiversPerSession'
  const unit = vary === 'wsPerSession' ? 'WebSocket listeners/session' : 'receivers/session'
  const steps: RampStep[] = []
  for (const level of o.levels ?? (vary === 'wsPerSession' ? DEFAULT_PUSH_LEVELS : DEFAULT_LEVELS)) {
    const result = await runScenario({ ...o, receiversPerSession: o.receiversPerSession ?? 0, scenario: `${o.label ?? 'ramp'}-${level}`, [vary]: level })
    const reason = verdict(result, limit)
    const step = { level, held: reason === '', reason, result }
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
    capacity: held[held.length - 1]?.level ?? 0,
    bottleneck,
    bottleneckDetail: decisive === undefined
      ? 'no level ran'
      : `at ${steps[steps.length - 1]?.level} ${unit}: server CPU ${server ?? 'NA'} %, generator CPU ${gen} % of one core; ` +
        `other processes ${decisive.machine.othersCpuPct} % of one core on ${decisive.machine.cores} cores`,
    unit
  }
}
