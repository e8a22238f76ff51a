import fp from 'fastify-plugin'
import type { FastifyPluginAsync, FastifyRequest, onRequestHookHandler } from 'fastify'
import { DomainError } from '../src/errors.js'
import { checkSharer, checkSharerKey } from '../src/session/sharer-binding.js'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Rejects with 403 FORBIDDEN unless the request may change its session (sharer key, or the starting
     * address). Takes over first a session this instance does not hold yet (cluster), so its binding is
     * checked like any other.
     */
    verifySharer: (request: FastifyRequest) => Promise<void>
  }
  interface FastifyRequest {
    /** The request carried its session's X-Sharer-Key (on routes with `config.sharerKey`). */
    sharerKey: boolean
  }
  interface FastifyContextConfig {
    /** A write to a session (metadata, audio, stop): only its sharer may send it. */
    sharerOnly?: boolean
    /**
     * The route reads the X-Sharer-Key itself, whatever SESSION_WRITE_GUARD says: 'required' refuses a
     * request without it (chat moderation), 'optional' marks one with it (request.sharerKey, a chat message
     * from the sharer). A wrong key is refused either way.
     */
    sharerKey?: 'optional' | 'required'
  }
}

function sessionIdOf (request: FastifyRequest): string {
  return (request.params as { sessionId?: string }).sessionId ?? ''
}

function headerKey (request: FastifyRequest): string | undefined {
  const header = request.headers['x-sharer-key']
  return typeof header === 'string' ? header : undefined
}

/**
 * Binds a session's writes to its sharer (SESSION_WRITE_GUARD). Routes opt in with `config.sharerOnly`
 * or `config.sharerKey`; the check runs in onRequest, after authentication and before a body is read. It
 * locates the session first (`sessions.locate`): a session another instance held is taken over here before
 * its binding is read, so a stranger's write is refused even when it is the first request to reach the new
 * owner. Unknown and ended sessions pass through to the route, which answers 404 as usual.
 */
const sharerGuard: FastifyPluginAsync = async (app) => {
  const mode = app.config.writeGuard
  app.decorateRequest('sharerKey', false)

  const refuse = (request: FastifyRequest, reason: string, message: string): never => {
    request.log.warn({ ip: request.ip, route: request.routeOptions.url, method: request.method, sessionId: sessionIdOf(request), reason },
      'write refused: not the sharer')
    throw new DomainError('FORBIDDEN', message)
  }
  const WRONG_KEY = 'X-Sharer-Key does not match this session'

  const verifySharer = async (request: FastifyRequest): Promise<void> => {
    const found = await app.sessions.locate(sessionIdOf(request))
    if (found.state !== 'active') return
    const result = checkSharer(mode, found.session.sharer, headerKey(request), request.ip)
    if (result === 'ok') return
    refuse(request, result, result === 'wrong-key'
      ? WRONG_KEY
      : 'Only the sharer can change this session: send its X-Sharer-Key, or write from the address that started it')
  }
  app.decorate('verifySharer', verifySharer)

  const readKey = async (request: FastifyRequest, required: boolean): Promise<void> => {
    const found = await app.sessions.locate(sessionIdOf(request))
    if (found.state !== 'active') return
    const result = checkSharerKey(found.session.sharer, headerKey(request))
    if (result === 'ok') request.sharerKey = true
    else if (result === 'wrong-key') refuse(request, result, WRONG_KEY)
    else if (required) refuse(request, 'no-key', 'Only the sharer, with its X-Sharer-Key, can do this')
  }

  const guard: onRequestHookHandler = async (request) => { await verifySharer(request) }
  const requireKey: onRequestHookHandler = async (request) => { await readKey(request, true) }
  const markKey: onRequestHookHandler = async (request) => { await readKey(request, false) }
  app.addHook('onRoute', (route) => {
    const hook = route.config?.sharerKey === 'required' ? requireKey
      : route.config?.sharerKey === 'optional' ? markKey
        : mode !== 'off' && route.config?.sharerOnly === true ? guard : undefined
    if (hook === undefined) return
    const existing = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest]
    route.onRequest = [...existing, hook]
  })
}

export default fp(sharerGuard, { name: 'sharer-guard', fastify: '5.x', dependencies: ['config', 'session-registry'] })
