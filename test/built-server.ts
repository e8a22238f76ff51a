import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { waitForOutput } from '../bench/lib/proc.js'

/** The built entry point, as `npm start` and production run it (`npm test` builds first). */
export const BUILT_SERVER = fileURLToPath(new URL('../dist/server.js', import.meta.url))

/** For `t.before`: a clear failure when the build is missing. */
export function assertBuilt (): void {
  if (!existsSync(BUILT_SERVER)) throw new Error('dist/server.js is missing: run `npm run build` (npm test does)')
}

export interface BuiltServer {
  readonly child: ChildProcess
  stdout (): string
  stderr (): string
}

/**
 * Starts the built server as its own process with `env` over the test defaults: loopback, any free port,
 * no statistics (a test that wants them gives its own STATS_DB), and no load shedding (a 503 because the shared 2-core test machine lagged says nothing about the server).
 */
export function spawnBuiltServer (env: Record<string, string> = {}): BuiltServer {
  const child = spawn(process.execPath, [BUILT_SERVER], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', MAX_EVENT_LOOP_DELAY_MS: '0', STATS: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  let err = ''
  child.stdout!.on('data', (d) => { out += d })
  child.stderr!.on('data', (d) => { err += d })
  return { child, stdout: () => out, stderr: () => err }
}

/** The URL the server logs it listens at; a server that never gets there is killed. */
export async function listeningUrl (server: BuiltServer): Promise<string> {
  try {
    return (await waitForOutput(server.child, /"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/, 'server'))[1]!
  } catch (err) {
    server.child.kill('SIGKILL')
    throw err
  }
}
