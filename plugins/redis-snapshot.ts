import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyPluginAsync, FastifyRequest, preHandlerAsyncHookHandler, onResponseAsyncHookHandler } from 'fastify'
import { Redis } from 'ioredis'
import { AppError } from '../src/errors.js'
import { RedisSnapshot } from '../src/lib/redis-snapshot.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Present only when REDIS_URL is set. */
    redisSnapshot?: RedisSnapshot
  }
  interface FastifyContextConfig {
    /** The route starts the session named by `body.sessionId`: claim the id in Redis first (SET NX). */
    claimsSessionId?: boolean
  }
}

/** Commands that take longer than this count as failed; the server goes on from memory. */
const COMMAND_TIMEOUT_MS = 2_000
const MAX_RECONNECT_DELAY_MS = 2_000

const newClaims = new WeakSet<FastifyRequest>()

/**
 * Optional: registered only when REDIS_URL is set. Restores the sessions Redis holds before the server
 * listens, mirrors every change to Redis on a timer (never inside a request), claims session ids on start,
 * and reports itself in GET /health.
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
    instanceId: `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`
  }, log)
  app.decorate('redisSnapshot', snapshot)
  app.healthChecks.add('redis', () => snapshot.health())

  // Before listening: the sessions Redis holds are back in the registry (or the bounded wait ran out).
  await snapshot.start()

  const timer = setInterval(() => { void snapshot.tick() }, redis.flushIntervalMs).unref()
  // Registered after the session registry, so this runs before it clears: the final flush sees every session.
  app.addHook('onClose', async () => {
    clearInterval(timer)
    await snapshot.close()
  })

  // Claiming costs one round trip, on the start route only: the hooks are attached to that route alone.
  const claim: preHandlerAsyncHookHandler = async (request) => {
    const { sessionId } = request.body as { sessionId: string }
    const result = await snapshot.claim(sessionId)
    if (result === 'taken') throw new AppError('SESSION_EXISTS', 'Session ID already in use')
    if (result === 'claimed') newClaims.add(request)
  }
  const releaseIfFailed: onResponseAsyncHookHandler = async (request, reply) => {
    if (newClaims.has(request) && reply.statusCode >= 300) await snapshot.release((request.body as { sessionId: string }).sessionId)
  }
  app.addHook('onRoute', (route) => {
    if (route.config?.claimsSessionId !== true) return
    route.preHandler = [...toArray(route.preHandler), claim]
    route.onResponse = [...toArray(route.onResponse), releaseIfFailed]
  })
}

function toArray<T> (value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value]
}

export default fp(redisSnapshot, { name: 'redis-snapshot', fastify: '5.x', dependencies: ['session-registry', 'health-checks'] })
