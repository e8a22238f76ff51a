import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'

const CLK_TCK = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** Reads a /proc file; undefined once the process is gone (the report then says NA instead of crashing). */
function proc (path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat fields 14 and 15 (NaN if gone). */
export function cpuSeconds (pid: number): number {
  const stat = proc(`/proc/${pid}/stat`)
  if (stat === undefined) return NaN
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ') // field 3 onwards; comm may hold spaces
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK
}

/** CPU seconds all cores of the machine spent busy (everything but idle and iowait), from /proc/stat. */
export function machineBusySeconds (): number {
  const f = (proc('/proc/stat') ?? '').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? []
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0)
  return (total - (f[3] ?? 0) - (f[4] ?? 0)) / CLK_TCK
}

/** Resident set size now and at its peak (VmRSS / VmHWM of /proc/<pid>/status), in MB. */
export function memoryMb (pid: number): { rssMb: number | null, peakRssMb: number | null } {
  const status = proc(`/proc/${pid}/status`) ?? ''
  const mb = (key: string): number | null => {
    const kb = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]
    return kb === undefined ? null : Math.round(Number(kb) / 102.4) / 10
  }
  return { rssMb: mb('VmRSS'), peakRssMb: mb('VmHWM') }
}

export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

export interface SpawnedServer {
  url: string
  pid: number
  stop: () => Promise<void>
}

/**
 * Starts `node <script>` on a free port with the production settings (plus `env`) and waits for
 * GET /health = 200. Statistics are on as in production (STATS=off in the environment turns them off), in
 * a SQLite file of a temporary folder unless STATS_DB says where, removed when the server stops.
 * `nodeArgs` go to node before the script (e.g. `--cpu-prof`).
 */
export async function spawnServer (script: string, token: string, timeoutMs = 20_000, env: Record<string, string> = {},
  nodeArgs: readonly string[] = []): Promise<SpawnedServer> {
  const port = await freePort()
  const statsDir = process.env.STATS_DB === undefined ? mkdtempSync(join(tmpdir(), 'music-share-bench-')) : undefined
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, script], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', BEARER_TOKEN: token, LOG_LEVEL: 'warn', NODE_ENV: 'production',
      ...(statsDir === undefined ? {} : { STATS_DB: join(statsDir, 'stats.db') }),
      // The ramp starts 50 fresh sessions per level from this one address: the abuse limit on starts is not what is measured.
      RATE_LIMIT_STARTS_PER_MINUTE: process.env.RATE_LIMIT_STARTS_PER_MINUTE ?? '100000',
      ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  // The server's own output goes to our stderr: stdout belongs to the report and its RESULT line.
  child.stdout?.pipe(process.stderr)
  child.stderr?.pipe(process.stderr)
  const url = `http://127.0.0.1:${port}`
  const stop = async () => {
    await stopChild(child, 'SIGTERM')
    if (statsDir !== undefined) rmSync(statsDir, { recursive: true, force: true })
  }
  try {
    await waitForHealthy(child, url, script, timeoutMs)
  } catch (err) {
    await stop()
    throw err
  }
  return { url, pid: child.pid as number, stop }
}

/** Resolves once the server `child` started answers GET /health with 200; throws if it exits or `timeoutMs` passes. */
export async function waitForHealthy (child: ChildProcess, url: string, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode} before it was healthy`)
    try {
      const res = await fetch(`${url}/health`)
      await res.arrayBuffer()
      if (res.status === 200) return
    } catch {
      // not listening yet
    }
    await delay(50)
  }
  throw new Error(`${what} did not answer GET /health within ${timeoutMs} ms`)
}

/** Signals a child (SIGKILL by default) and waits until it is gone; SIGKILL follows after 5 s. */
export async function stopChild (child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill(signal)
  const killer = setTimeout(() => child.kill('SIGKILL'), 5_000)
  await exited
  clearTimeout(killer)
}

/**
 * Resolves with the first match of `pattern` in what a child prints (stdout and stderr together): how a
 * harness knows a server it started is ready. Rejects, with the output so far, if the child exits or
 * `timeoutMs` passes first.
 */
export function waitForOutput (child: ChildProcess, pattern: RegExp, what: string, timeoutMs = 20_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = ''
    const done = (settle: () => void) => {
      clearTimeout(timer)
      child.stdout?.off('data', onData)
      child.stderr?.off('data', onData)
      child.off('exit', onExit)
      settle()
    }
    const onData = (d: Buffer | string) => {
      out += d.toString()
      const match = pattern.exec(out)
      if (match !== null) done(() => resolve(match))
    }
    const onExit = (code: number | null) => done(() => reject(new Error(`${what} exited (${code}) before it was ready: ${out}`)))
    const timer = setTimeout(() => done(() => reject(new Error(`${what} was not ready within ${timeoutMs} ms: ${out}`))), timeoutMs)
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', onExit)
  })
}
