/**
 * node dist/bench/profile-top.js FILE.cpuprofile [--top N]
 *
 * Where a V8 CPU profile's time went (one written by `npm run bench -- … --cpu-prof DIR`): self time per
 * function and per package (or Node's own internals, the garbage collector, native code), as a share of the
 * busy time (everything but idle).
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

interface CallFrame { functionName: string, url: string, lineNumber: number }
interface ProfileNode { id: number, callFrame: CallFrame }
interface CpuProfile { nodes: ProfileNode[], samples: number[], timeDeltas: number[] }

/** What a frame belongs to: a package, Node's internals, ours, or V8's pseudo-frames. */
function owner (frame: CallFrame): string {
  if (frame.url === '') return frame.functionName.startsWith('(') ? frame.functionName : '(native)'
  const inModules = frame.url.lastIndexOf('/node_modules/')
  if (inModules !== -1) {
    const rest = frame.url.slice(inModules + '/node_modules/'.length).split('/')
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!
  }
  if (frame.url.startsWith('node:')) return 'node internals'
  const dist = frame.url.lastIndexOf('/dist/')
  return dist === -1 ? frame.url : `ours: ${frame.url.slice(dist + '/dist/'.length).split('/')[0]!}`
}

function where (frame: CallFrame): string {
  const file = frame.url === '' ? '' : ` ${frame.url.replace(/^.*\/(node_modules|dist)\//, '')}:${frame.lineNumber + 1}`
  return `${frame.functionName === '' ? '(anonymous)' : frame.functionName}${file}`
}

function selfTimes (profile: CpuProfile): { byFunction: Map<string, number>, byOwner: Map<string, number>, busyUs: number, idleUs: number } {
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]))
  const byFunction = new Map<string, number>()
  const byOwner = new Map<string, number>()
  let busyUs = 0
  let idleUs = 0
  profile.samples.forEach((id, i) => {
    const frame = frames.get(id)
    const us = profile.timeDeltas[i] ?? 0
    if (frame === undefined) return
    if (frame.functionName === '(idle)') {
      idleUs += us
      return
    }
    busyUs += us
    const f = where(frame)
    byFunction.set(f, (byFunction.get(f) ?? 0) + us)
    const o = owner(frame)
    byOwner.set(o, (byOwner.get(o) ?? 0) + us)
  })
  return { byFunction, byOwner, busyUs, idleUs }
}

function table (title: string, entries: Map<string, number>, busyUs: number, top: number): string {
  const rows = [...entries].sort((a, b) => b[1] - a[1]).slice(0, top)
  return [title, ...rows.map(([name, us]) => `${(100 * us / busyUs).toFixed(1).padStart(6)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`)].join('\n')
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } })
if (positionals.length !== 1) {
  console.error('usage: node dist/bench/profile-top.js FILE.cpuprofile [--top N]')
  process.exit(2)
}
const { byFunction, byOwner, busyUs, idleUs } = selfTimes(JSON.parse(readFileSync(positionals[0]!, 'utf8')) as CpuProfile)
const top = Number(values.top)
console.log(`busy ${(busyUs / 1e6).toFixed(1)} s, idle ${(idleUs / 1e6).toFixed(1)} s (busy ${(100 * busyUs / (busyUs + idleUs)).toFixed(1)} % of the profile)`)
console.log(table('\nself time by package (share of busy time)', byOwner, busyUs, top))
console.log(table('\nself time by function (share of busy time)', byFunction, busyUs, top))
