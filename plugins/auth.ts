import fp from 'fastify-plugin'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { AppError } from '../src/errors.js'
import { BearerVerifier } from '../src/lib/bearer.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest hook for route groups that need the shared bearer token. */
    verifyBearer: (request: FastifyRequest) => Promise<void>
  }
}

const REASONS = {
  missing: 'Missing Authorization header',
  empty: 'Authorization header carries no token',
  mismatch: 'Invalid bearer token'
} as const

/**
 * Decorates `verifyBearer` without adding a global hook: each route group that needs the token adds it
 * as its own onRequest hook (so the body of an unauthenticated request is never read).
 */
const auth: FastifyPluginAsync = async (app) => {
  const verifier = new BearerVerifier(app.config.bearerToken)

  app.decorate('verifyBearer', async (request: FastifyRequest) => {
    const result = verifier.check(request.headers.authorization)
    if (result === 'ok') return
    request.log.warn({ ip: request.ip, route: request.routeOptions.url, method: request.method, reason: result },
      'authentication failed')
    throw new AppError('UNAUTHORIZED', REASONS[result], {}, { 'www-authenticate': 'Bearer' })
  })
}

export default fp(auth, { name: 'auth', fastify: '5.x', dependencies: ['config'] })
