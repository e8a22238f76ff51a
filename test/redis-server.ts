import type { ChildProcess } from 'node:child_process'
import type { Test } from 'tap'
import { Redis } from 'ioredis'
import { findBinary } from './system-binary.js'
import { freePort } from '../bench/lib/proc.js'
import { spawnRedisServer } from '../bench/lib/cluster.js'
import { stopChild } from '../bench/lib/proc.js'

export { freePort }

/** redis-server, or the reason tests that need it are skipped (Debian package redis-server). */
export const redisBinary = findBinary('redis-server', 'redis-server')

/**
 * A private redis-server for one test, without persistence, on a free port; stopped when the test ends.
 * `stop()` and `start()` take it down and bring it back on the same port (fault tests).
 */
export class PrivateRedis {
  #child: ChildProcess | undefined
  #clients: Redis[] = []

  private constructor (readonly port: number) {}

  get url (): string { return `redis://127.0.0.1:${this.port}` }

  static async start (t: Test, port?: number): Promise<PrivateRedis> {
    const redis = new PrivateRedis(port ?? await freePort())
    t.teardown(() => redis.#shutdown())
    await redis.start()
    return redis
  }

  /** Starts redis-server and resolves once it accepts connections. */
  async start (): Promise<void> {
    if (this.#child !== undefined) throw new Error('already running')
    this.#child = await spawnRedisServer(redisBinary.path, this.port)
  }

  /** Kills redis-server (SIGKILL: as abrupt as a crash) and waits until it is gone. */
  async stop (): Promise<void> {
    const child = this.#child
    if (child === undefined) return
    this.#child = undefined
    await stopChild(child)
  }

  /** A client for the test to inspect Redis with, quit when the test ends. */
  client (): Redis {
    const client = new Redis(this.url, { maxRetriesPerRequest: 1 })
    client.on('error', () => {}) // reconnect attempts while a fault test has Redis down
    this.#clients.push(client)
    return client
  }

  async #shutdown (): Promise<void> {
    for (const c of this.#clients) c.disconnect()
    await this.stop()
  }
}

/**
 * The next `event` of an ioredis client. Unlike events.once this does not reject on 'error', which a
 * client emits on every failed reconnect while Redis is down.
 */
export function nextEvent (emitter: { once (event: string, listener: () => void): unknown }, event: string): Promise<void> {
  return new Promise((resolve) => { emitter.once(event, () => resolve()) })
}
