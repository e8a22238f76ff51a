import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { SessionRegistry } from '../src/session/session-registry.js'

declare module 'fastify' {
  interface FastifyInstance {
    sessions: SessionRegistry
  }
}

const MAX_ENDED_SESSIONS = 10_000
const MAX_SWEEP_INTERVAL_MS = 5_000

/** Owns every session of this process and the timer that expires idle ones. */
const sessionRegistry: FastifyPluginAsync = async (app) => {
  const { sessions } = app.config
  const registry = new SessionRegistry(
    { ...sessions, maxEndedSessions: MAX_ENDED_SESSIONS },
    app.log.child({ plugin: 'sessions' })
  )
  app.decorate('sessions', registry)

  const sweepMs = Math.min(MAX_SWEEP_INTERVAL_MS, sessions.sessionTimeoutMs, sessions.metadataTtlMs)
  const timer = setInterval(() => registry.sweep(Date.now()), sweepMs).unref()
  app.addHook('onClose', async () => {
    clearInterval(timer)
    registry.clear()
  })
}

export default fp(sessionRegistry, { name: 'session-registry', fastify: '5.x', dependencies: ['config'] })
