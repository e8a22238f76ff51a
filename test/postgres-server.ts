import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import pg from 'pg'
import { freePort, stopChild } from '../bench/lib/proc.js'

/**
 * initdb and postgres from Debian's `postgresql` package (they live in /usr/lib/postgresql/<major>/bin,
 * not on PATH), or the reason tests that need them are skipped; under CI=true a missing one fails, since
 * .ci/run installs it.
 */
function findPostgres (): { bin: string, skip: false } | { bin: '', skip: string } {
  const root = '/usr/lib/postgresql'
  const majors = existsSync(root) ? readdirSync(root).filter((d) => existsSync(join(root, d, 'bin', 'initdb'))) : []
  const newest = majors.sort((a, b) => Number(b) - Number(a))[0]
  if (newest !== undefined) return { bin: join(root, newest, 'bin'), skip: false }
  const reason = 'initdb/postgres are not installed (Debian package: postgresql)'
  if (process.env.CI === 'true') throw new Error(`${reason}; .ci/run must install it`)
  return { bin: '', skip: reason }
}

export const postgresBinary = findPostgres()

/** PostgreSQL refuses to run as root: as root, the server runs as the package's `postgres` user. */
function serverUser (): { uid: number, gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim())
  return { uid: id('-u'), gid: id('-g') }
}

/**
 * A private PostgreSQL cluster for one test file: initdb in a temporary folder, a server on 127.0.0.1
 * and a free port without fsync (a test machine's crash is not what is tested), trust authentication for the local user
 * `stats`. `stop()` kills it (SIGKILL, like a crash) and `start()` brings it back on the same port;
 * the test's teardown stops it and deletes the folder.
 */
export class PrivatePostgres {
  #child: ChildProcess | undefined
  readonly #user = serverUser()

  private constructor (readonly dir: string, readonly port: number) {}

  /** A database that is new for each call, so test cases do not see each other's rows. */
  url (database = 'stats'): string { return `postgres://stats@127.0.0.1:${this.port}/${database}` }

  static async start (t: Test): Promise<PrivatePostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'music-share-pg-'))
    const server = new PrivatePostgres(dir, await freePort())
    t.teardown(async () => {
      await server.stop()
      rmSync(dir, { recursive: true, force: true })
    })
    const owner = server.#user
    if (owner !== undefined) chownSync(dir, owner.uid, owner.gid)
    execFileSync(join(postgresBinary.bin, 'initdb'), ['-D', join(dir, 'data'), '-U', 'stats', '-A', 'trust', '-E', 'UTF8', '--no-sync'],
      { stdio: 'ignore', ...owner })
    await server.start()
    await server.createDatabase('stats')
    return server
  }

  async start (): Promise<void> {
    if (this.#child !== undefined) throw new Error('already running')
    const child = spawn(join(postgresBinary.bin, 'postgres'), [
      '-D', join(this.dir, 'data'), '-p', String(this.port), '-h', '127.0.0.1', '-k', this.dir,
      // No fsync: a killed server loses nothing the OS already has (only a machine crash would). Commits
      // stay synchronous, so a kill never loses a transaction the client saw committed.
      '-c', 'fsync=off', '-c', 'full_page_writes=off'
    ], { stdio: ['ignore', 'ignore', 'pipe'], ...this.#user })
    let err = ''
    child.stderr!.on('data', (d) => { err += d })
    this.#child = child
    const deadline = Date.now() + 20_000
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`postgres exited (${child.exitCode}): ${err}`)
      const client = new pg.Client({ connectionString: this.url('postgres'), connectionTimeoutMillis: 1000 })
      try {
        await client.connect()
        await client.end()
        return
      } catch {
        await client.end().catch(() => {})
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
    throw new Error(`postgres did not accept connections within 20 s: ${err}`)
  }

  /** Kills the server at once, as a crash would. */
  async stop (): Promise<void> {
    const child = this.#child
    this.#child = undefined
    if (child !== undefined) await stopChild(child)
  }

  async createDatabase (name: string): Promise<string> {
    await this.query(`CREATE DATABASE ${name}`, 'postgres')
    return this.url(name)
  }

  /** One query on its own connection, for a test to look inside. */
  async query<T = Record<string, unknown>> (sql: string, database = 'stats'): Promise<T[]> {
    const client = new pg.Client({ connectionString: this.url(database) })
    await client.connect()
    try {
      return (await client.query(sql)).rows as T[]
    } finally {
      await client.end()
    }
  }
}
