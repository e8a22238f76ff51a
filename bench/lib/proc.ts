import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'

const CLK_TCK = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat fields 14 and 15. */
export function cpuSeconds (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ') // field 3 onwards; comm may hold spaces
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK
}

/** Resident set size now and at its peak (VmRSS / VmHWM of /proc/<pid>/status), in MB. */
export function memoryMb (pid: number): { rssMb: number, peakRssMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
  return { rssMb: Math.round(kb('VmRSS') / 102.4) / 10, peakRssMb: Math.round(kb('VmHWM') / 102.4) / 10 }
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

/** Starts `node <script>` on a free port with the production settings and waits for GET /health = 200. */
export async function spawnServer (script: string, token: string, timeoutMs = 20_000): Promise<SpawnedServer> {
  const port = await freePort()
  const child: ChildProcess = spawn(process.execPath, [script], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', BEARER_TOKEN: token, LOG_LEVEL: 'warn', NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  // The server's own output goes to our stderr: stdout belongs to the report and its RESULT line.
  child.stdout?.pipe(process.stderr)
  child.stderr?.pipe(process.stderr)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = `http://127.0.0.1:${port}`
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(killer)
  }
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${script} exited with code ${child.exitCode} before it was healthy`)
    try {
      const res = await fetch(`${url}/health`)
      await res.arrayBuffer()
      if (res.status === 200) return { url, pid: child.pid as number, stop }
    } catch {
      // not listening yet
    }
    await delay(100)
  }
  await stop()
  throw new Error(`${script} did not answer GET /health within ${timeoutMs} ms`)
}
