import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as delay } from 'node:timers/promises'
import { freePort, stopChild, waitForHealthy, waitForOutput } from './proc.js'

/** The project's HAProxy configuration: the cluster tests and `npm run bench -- --cluster N` run it as is. */
export const HAPROXY_CFG = fileURLToPath(new URL('../../deploy/haproxy.cfg', import.meta.url).href.replace('/dist/deploy/', '/deploy/'))

/** Starts a private redis-server without persistence on `port`; resolves once it accepts connections. */
export async function spawnRedisServer (binary: string, port: number): Promise<ChildProcess> {
  const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe']
  })
  await waitForOutput(child, /Ready to accept connections/, 'redis-server')
  return child
}


/**
 * The HAProxy configuration for `n` instances: deploy/haproxy.cfg with its `server ms1..` lines replaced by
 * one line per instance, each made from the first one (ms1 / MS_SERVER_1 -> msI / MS_SERVER_I).
 */
export function haproxyConfigFor (n: number, source = readFileSync(HAPROXY_CFG, 'utf8')): string {
  const lines = source.split('\n')
  const isServer = (l: string) => /^\s*server ms\d+ "\$\{MS_SERVER_\d+\}"/.test(l)
  const first = lines.findIndex(isServer)
  if (first < 0) throw new Error('deploy/haproxy.cfg has no "server ms1 "${MS_SERVER_1}"" line')
  const template = lines[first]!
  const servers = Array.from({ length: n }, (_, i) => template.replace(/ms1\b/, `ms${i + 1}`).replace('MS_SERVER_1', `MS_SERVER_${i + 1}`))
  return [...lines.slice(0, first), ...servers, ...lines.slice(first).filter((l) => !isServer(l))].join('\n')
}

export interface Instance {
  readonly index: number
  readonly id: string
  readonly port: number
  readonly url: string
  child: ChildProcess
}

export interface ClusterOptions {
  instances: number
  /** `node <serverScript>` is one instance (dist/server.js). */
  serverScript: string
  redisBinary: string
  haproxyBinary: string
  token: string
  /** Extra environment for every instance. */
  env?: Record<string, string>
  /** Where the instances' and HAProxy's own output goes (default: discarded). */
  output?: NodeJS.WritableStream
}

/**
 * Redis, N instances (child processes on free ports, one Redis, distinct INSTANCE_IDs ms-1..ms-N) and
 * HAProxy with the project's configuration, on this machine. `stop()` ends every process it started.
 */
export class LocalCluster {
  readonly instances: Instance[] = []
  redis!: ChildProcess
  haproxy!: ChildProcess
  redisPort = 0
  haproxyPort = 0
  statsPort = 0
  #dir = mkdtempSync(join(tmpdir(), 'ms-cluster-'))
  #haproxyErrors = ''

  private constructor (readonly options: ClusterOptions) {}

  get redisUrl (): string { return `redis://127.0.0.1:${this.redisPort}` }
  /** The load balancer: what clients use. */
  get url (): string { return `http://127.0.0.1:${this.haproxyPort}` }

  static async start (options: ClusterOptions): Promise<LocalCluster> {
    const cluster = new LocalCluster(options)
    try {
      cluster.redisPort = await freePort()
      cluster.redis = await spawnRedisServer(options.redisBinary, cluster.redisPort)
      for (let i = 0; i < options.instances; i++) {
        const port = await freePort()
        const instance: Instance = { index: i, id: `ms-${i + 1}`, port, url: `http://127.0.0.1:${port}`, child: undefined as unknown as ChildProcess }
        cluster.instances.push(instance)
        await cluster.startInstance(i)
      }
      await cluster.#startHaproxy()
      await cluster.waitForServers((s) => s.every((x) => x === 'UP'), 'every instance UP in HAProxy')
      return cluster
    } catch (err) {
      await cluster.stop()
      throw err
    }
  }

  /** (Re)starts instance `i` on its port and resolves once GET /health answers 200. */
  async startInstance (i: number): Promise<Instance> {
    const instance = this.instances[i]!
    const child = spawn(process.execPath, [this.options.serverScript], {
      env: {
        PATH: process.env.PATH ?? '',
        HOST: '127.0.0.1',
        PORT: String(instance.port),
        BEARER_TOKEN: this.options.token,
        REDIS_URL: this.redisUrl,
        INSTANCE_ID: instance.id,
        // Listen keys must verify on every instance a session may move to.
        LISTEN_KEY_SECRET: 'cluster-listen-key-secret-for-local-runs',
        TRUST_PROXY: 'true',
        LOG_LEVEL: 'warn',
        // Statistics would go to ./data of the working folder; cluster runs measure the relay.
        STATS: 'off',
        ...this.options.env
      },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    this.#pipe(child)
    instance.child = child
    await waitForHealthy(child, instance.url, `instance ${instance.id}`)
    return instance
  }

  /** kill -9 of instance `i`. */
  async kill (i: number): Promise<void> {
    await stopChild(this.instances[i]!.child, 'SIGKILL')
  }

  /** HAProxy's view of each instance (ms1..msN): UP, DOWN, ... (from the stats CSV). */
  async serverStates (): Promise<string[]> {
    const res = await fetch(`http://127.0.0.1:${this.statsPort}/stats;csv`)
    const lines = (await res.text()).trim().split('\n')
    const header = lines[0]!.replace(/^# /, '').split(',')
    const [px, sv, status] = ['pxname', 'svname', 'status'].map((c) => header.indexOf(c))
    const states = new Map<string, string>()
    for (const line of lines.slice(1)) {
      const f = line.split(',')
      if (f[px!] === 'instances' && /^ms\d+$/.test(f[sv!] ?? '')) states.set(f[sv!]!, (f[status!] ?? '').split(' ')[0]!)
    }
    return this.instances.map((_, i) => states.get(`ms${i + 1}`) ?? 'MISSING')
  }

  /** Polls HAProxy's stats until `ok(states)` (e.g. an instance marked DOWN or back UP). */
  async waitForServers (ok: (states: string[]) => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    let last: string[] = []
    while (Date.now() < deadline) {
      if (this.haproxy.exitCode !== null) throw new Error(`haproxy exited: ${this.#haproxyErrors}`)
      try {
        last = await this.serverStates()
        if (ok(last)) return
      } catch {
        // HAProxy not listening yet
      }
      await delay(100)
    }
    throw new Error(`timed out waiting for ${what} (HAProxy says ${last.join(', ')})`)
  }

  async stop (): Promise<void> {
    const children = [this.haproxy, ...this.instances.map((i) => i.child), this.redis].filter((c) => c !== undefined)
    await Promise.all(children.map((c) => stopChild(c, 'SIGKILL')))
    rmSync(this.#dir, { recursive: true, force: true })
  }

  async #startHaproxy (): Promise<void> {
    this.haproxyPort = await freePort()
    this.statsPort = await freePort()
    const cfg = join(this.#dir, 'haproxy.cfg')
    writeFileSync(cfg, haproxyConfigFor(this.instances.length))
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      MS_BIND: `127.0.0.1:${this.haproxyPort}`,
      MS_STATS_BIND: `127.0.0.1:${this.statsPort}`
    }
    this.instances.forEach((instance, i) => { env[`MS_SERVER_${i + 1}`] = `127.0.0.1:${instance.port}` })
    // -db: stay in the foreground; the process is ours to stop.
    this.haproxy = spawn(this.options.haproxyBinary, ['-db', '-f', cfg], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    this.haproxy.stderr!.on('data', (d: Buffer) => { this.#haproxyErrors = (this.#haproxyErrors + d.toString()).slice(-4000) })
    this.#pipe(this.haproxy, false)
    await this.waitForServers(() => true, 'HAProxy stats')
  }

  #pipe (child: ChildProcess, stderr = true): void {
    const out = this.options.output
    if (out === undefined) {
      child.stdout!.resume()
      if (stderr) child.stderr!.resume()
      return
    }
    child.stdout!.pipe(out, { end: false })
    if (stderr) child.stderr!.pipe(out, { end: false })
  }
}
