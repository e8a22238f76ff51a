import fp from 'fastify-plugin'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { CredentialError } from '../src/errors.js'
import { BearerVerifier } from '../src/auth/bearer.js'
import { ListenKeys } from '../src/auth/listen-key.js'

/** Which credential let a request in. */
export type Credential = 'bearer' | 'listen-key' | 'stats-token'

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest hook for route groups that need the shared bearer token. */
    verifyBearer: (request: FastifyRequest) => Promise<void>
    /**
     * onRequest hook for route groups that mix sending and receiving routes: the bearer token, or, on
     * routes whose config says `auth: 'receive'`, the listen key of the route's session as `?key=`.
     */
    verifyCredentials: (request: FastifyRequest) => Promise<void>
    /** onRequest hook for the statistics API and page data: the bearer token, or STATS_TOKEN when set. */
    verifyStatsAccess: (request: FastifyRequest) => Promise<void>
    listenKeys: ListenKeys
  }
  interface FastifyRequest {
    credential: Credential | null
  }
  interface FastifyContextConfig {
    /** 'receive': a receiving route, which also accepts the session's listen key. Default: bearer only. */
    auth?: 'bearer' | 'receive'
  }
}

const REASONS = {
  missing: 'Missing Authorization header',
  empty: 'Authorization header carries no token',
  mismatch: 'Invalid bearer token',
  key: 'Invalid listen key'
} as const

/**
 * Decorates the auth hooks without adding a global hook: each route group adds the one it needs as its
 * own onRequest hook (so the body of an unauthenticated request is never read).
 */
const auth: FastifyPluginAsync = async (app) => {
  const verifier = new BearerVerifier(app.config.bearerToken)
  const listenKeys = new ListenKeys(app.config.listenKeySecret)
  app.decorate('listenKeys', listenKeys)
  app.decorateRequest('credential', null)

  const reject = (request: FastifyRequest, reason: keyof typeof REASONS): never => {
    // The route template, never the URL: a listen key in the query string must not reach the log.
    request.log.warn({ ip: request.ip, route: request.routeOptions.url, method: request.method, reason },
      'authentication failed')
    throw new CredentialError(REASONS[reason], reason === 'key' ? 'listen-key' : 'bearer')
  }

  const verifyBearer = async (request: FastifyRequest) => {
    const result = verifier.check(request.headers.authorization)
    if (result !== 'ok') reject(request, result)
    request.credential = 'bearer'
  }
  app.decorate('verifyBearer', verifyBearer)

  const statsToken = app.config.stats.token
  const statsVerifier = statsToken === undefined ? undefined : new BearerVerifier(statsToken)
  app.decorate('verifyStatsAccess', async (request: FastifyRequest) => {
    if (statsVerifier?.check(request.headers.authorization) === 'ok') {
      request.credential = 'stats-token'
      return
    }
    await verifyBearer(request)
  })

  app.decorate('verifyCredentials', async (request: FastifyRequest) => {
    const key = (request.query as Record<string, unknown> | undefined)?.key
    if (request.routeOptions.config.auth === 'receive' && key !== undefined) {
      const sessionId = (request.params as Record<string, unknown> | undefined)?.sessionId
      if (typeof key !== 'string' || typeof sessionId !== 'string' || !listenKeys.verify(sessionId, key)) {
        reject(request, 'key')
      }
      request.credential = 'listen-key'
      return
    }
    await verifyBearer(request)
  })
}

export default fp(auth, { name: 'auth', fastify: '5.x', dependencies: ['config'] })
