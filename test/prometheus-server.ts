import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { stringify } from 'yaml'
import { findBinary } from './system-binary.js'
import { freePort, stopChild } from '../bench/lib/proc.js'
import { eventually } from './helper.js'
import { PROMETHEUS_DIR } from './deploy/monitoring-files.js'

/** Prometheus and promtool, or the reason tests that need them are skipped (Debian package prometheus). */
export const prometheusBinary = findBinary('prometheus', 'prometheus')
export const promtoolBinary = findBinary('promtool', 'prometheus')

/** Runs promtool; its output (stdout and stderr together) and exit code. */
export function promtool (args: string[], cwd: string): { code: number | null, output: string } {
  const run = spawnSync(promtoolBinary.path, args, { cwd, encoding: 'utf8', timeout: 30_000 })
  return { code: run.status, output: `${run.stdout}${run.stderr}` }
}

/**
 * A copy of deploy/prometheus in a temporary folder, removed when the test ends: the shipped files as
 * they are, plus what a deployment adds beside them (the metrics token file, a config with its targets).
 */
export function prometheusDir (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'ms-prometheus-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  cpSync(PROMETHEUS_DIR, dir, { recursive: true })
  return dir
}

export interface ScrapeConfig {
  job_name: string
  authorization?: { type: string, credentials_file: string }
  static_configs: Array<{ targets: string[], labels?: Record<string, string> }>
}
export interface PrometheusConfig {
  global: { scrape_interval: string, evaluation_interval: string }
  rule_files: string[]
  scrape_configs: ScrapeConfig[]
}

export interface QueryResult {
  resultType: string
  result: Array<{ metric: Record<string, string>, value: [number, string] }>
}

/** A private Prometheus on 127.0.0.1, a free port and a temporary data folder; stopped when the test ends. */
export class PrivatePrometheus {
  private constructor (readonly child: ChildProcess, readonly url: string, private readonly errors: () => string) {}

  /**
   * Writes `config` as `<dir>/<name>` (relative paths in it resolve in `dir`) and starts Prometheus on
   * it; resolves once it is ready (its rules loaded).
   */
  static async start (t: Test, dir: string, name: string, config: PrometheusConfig): Promise<PrivatePrometheus> {
    const configFile = join(dir, name)
    writeFileSync(configFile, stringify(config))
    const port = await freePort()
    const child = spawn(prometheusBinary.path, [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn'
    ], { stdio: ['ignore', 'pipe', 'pipe'] })
    let errors = ''
    child.stdout!.resume()
    child.stderr!.on('data', (d: Buffer) => { errors = (errors + d.toString()).slice(-4000) })
    t.teardown(() => stopChild(child, 'SIGTERM'))
    const prometheus = new PrivatePrometheus(child, `http://127.0.0.1:${port}`, () => errors)
    await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${errors}`)
      try {
        return (await fetch(`${prometheus.url}/-/ready`)).status === 200 || undefined
      } catch {
        return undefined // not listening yet
      }
    }, 'Prometheus ready', 20_000, 50)
    return prometheus
  }

  /** GET of the HTTP API (`/api/v1/...`); its `data`, or a thrown error with Prometheus's own. */
  async api<T> (path: string, params: Record<string, string> = {}): Promise<T> {
    const res = await fetch(`${this.url}/api/v1/${path}?${new URLSearchParams(params)}`)
    const body = await res.json() as { status: string, data: T, error?: string }
    if (body.status !== 'success') throw new Error(`${path} ${JSON.stringify(params)}: ${body.error ?? res.status} (log: ${this.errors()})`)
    return body.data
  }

  /** An instant query, now. */
  async query (expr: string): Promise<QueryResult> {
    return this.api<QueryResult>('query', { query: expr })
  }
}
