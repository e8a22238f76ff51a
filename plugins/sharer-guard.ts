import fp from 'fastify-plugin'
import type { FastifyPluginAsync, FastifyRequest, onRequestHookHandler } from 'fastify'
import { DomainError } from '../src/errors.js'
import { checkSharer } from '../src/session/sharer-binding.js'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Rejects with 403 FORBIDDEN unless the request may change its session (sharer key, or the starting
     * address). Takes over first a session this instance does not hold yet (cluster), so its binding is
     * checked like any other.
     */
    verifySharer: (request: FastifyRequest) => Promise<void>
  }
  interface FastifyContextConfig {
    /** A write to a session (metadata, audio, stop): only its sharer may send it. */
    sharerOnly?: boolean
  }
}

/**
 * Binds a session's writes to its sharer (SESSION_WRITE_GUARD). Routes opt in with `config.sharerOnly`;
 * the check runs in onRequest, after authentication and before a body is read. It locates the session
 * first (`sessions.locate`): a session another instance held is taken over here before its binding is
 * read, so a stranger's write is refused even when it is the first request to reach the new owner.
 * Unknown and ended sessions pass through to the route, which answers 404 as usual.
 */
const sharerGuard: FastifyPluginAsync = async (app) => {
  const mode = app.config.writeGuard

  const verifySharer = async (request: FastifyRequest): Promise<void> => {
    const sessionId = (request.params as { sessionId?: string }).sessionId ?? ''
    const found = await app.sessions.locate(sessionId)
    if (found.state !== 'active') return
    const header = request.headers['x-sharer-key']
    const result = checkSharer(mode, found.session.sharer, typeof header === 'string' ? header : undefined, request.ip)
    if (result === 'ok') return
    request.log.warn({ ip: request.ip, route: request.routeOptions.url, method: request.method, sessionId, reason: result },
      'write refused: not the sharer')
    throw new DomainError('FORBIDDEN', result === 'wrong-key'
      ? 'X-Sharer-Key does not match this session'
      : 'Only the sharer can change this session: send its X-Sharer-Key, or write from the address that started it')
  }
  app.decorate('verifySharer', verifySharer)

  const hook: onRequestHookHandler = async (request) => { await verifySharer(request) }
  app.addHook('onRoute', (route) => {
    if (mode === 'off' || route.config?.sharerOnly !== true) return
    const existing = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest]
    route.onRequest = [...existing, hook]
  })
}

export default fp(sharerGuard, { name: 'sharer-guard', fastify: '5.x', dependencies: ['config', 'session-registry'] })
