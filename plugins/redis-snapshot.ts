import fp from 'fastify-plugin'
import type { FastifyPluginAsync, onRequestAsyncHookHandler } from 'fastify'
import { Redis } from 'ioredis'
import { RedisSnapshot } from '../src/snapshot/redis-snapshot.js'
import { HEARTBEAT_INTERVAL_MS } from '../src/cluster/cluster-claims.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Present only when REDIS_URL is set. */
    redisSnapshot?: RedisSnapshot
  }
}

/** Commands that take longer than this count as failed; the server goes on from memory. */
const COMMAND_TIMEOUT_MS = 2_000
/**
 * While Redis is away, reconnect attempts back off to one every 500 ms: a refused connection costs
 * nothing, and this bounds how long after Redis's return the sessions wait to be written back.
 */
const MAX_RECONNECT_DELAY_MS = 500

/**
 * Optional: registered only when REDIS_URL is set. Restores the sessions Redis holds (this instance's and
 * orphans) before the server listens, mirrors every change to Redis on a timer (never inside a request),
 * becomes the session registry's store (every start is claimed and written to Redis before it is answered;
 * sessions of other instances are taken over when their requests arrive here), keeps this instance's
 * heartbeat, and reports itself in GET /health.
 */
const redisSnapshot: FastifyPluginAsync = async (app) => {
  const { redisUrl, redis, sessions } = app.config
  const log = app.log.child({ plugin: 'redis-snapshot' })
  const client = new Redis(redisUrl!, {
    lazyConnect: true,
    // Nothing queues up in memory while Redis is away: commands fail at once and the snapshot resyncs later.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: redis.connectTimeoutMs,
    retryStrategy: (attempt) => Math.min(100 * attempt, MAX_RECONNECT_DELAY_MS)
  })
  const snapshot = new RedisSnapshot(client, app.sessions, {
    sessionTimeoutMs: sessions.sessionTimeoutMs,
    metadataTtlMs: sessions.metadataTtlMs,
    endedRetentionMs: sessions.endedRetentionMs,
    snapshotAudio: redis.snapshotAudio,
    connectTimeoutMs: redis.connectTimeoutMs,
    instanceId: app.config.instanceId
  }, log)
  app.decorate('redisSnapshot', snapshot)
  app.healthChecks.add('redis', () => snapshot.health())

  // Before listening: the sessions Redis holds are back in the registry (or the bounded wait ran out).
  await snapshot.start()

  const timer = setInterval(() => { void snapshot.tick() }, redis.flushIntervalMs).unref()
  // The heartbeat says this instance is alive, and checks that the sessions it holds are still its own.
  const beat = () => { if (snapshot.degradedReason === undefined) void snapshot.directory.heartbeat() }
  beat()
  const heartbeat = setInterval(beat, HEARTBEAT_INTERVAL_MS).unref()
  // Registered after the session registry, so this runs before it clears: the final flush sees every session.
  app.addHook('onClose', async () => {
    clearInterval(timer)
    clearInterval(heartbeat)
    await snapshot.close()
  })

  // Which instance answered: behind a load balancer, for operators and the cluster tests.
  app.addHook('onSend', async (_request, reply) => { reply.header('x-instance-id', app.config.instanceId) })

  // A session this instance does not hold may be in Redis (another instance died, or the load balancer
  // moved it here): take it over before the route looks it up. In onRequest, after authentication and the
  // rate limit; the sharer guard (plugins/sharer-guard.ts) locates the session itself, so it never judges a
  // write before the takeover. Sessions held in memory cost a map lookup here.
  const adopt: onRequestAsyncHookHandler = async (request) => {
    const { sessionId } = request.params as { sessionId?: string }
    if (sessionId !== undefined) await app.sessions.locate(sessionId)
  }
  app.addHook('onRoute', (route) => {
    if (route.url.includes(':sessionId')) route.onRequest = [...toArray(route.onRequest), adopt]
  })
}

function toArray<T> (value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value]
}

export default fp(redisSnapshot, { name: 'redis-snapshot', fastify: '5.x', dependencies: ['config', 'session-registry', 'health-checks'] })
