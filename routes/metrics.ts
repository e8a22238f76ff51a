import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { errorResponses } from '../src/schemas/common.js'
import { CredentialError, DomainError } from '../src/errors.js'
import { isPrivateAddress } from '../src/auth/private-address.js'
import { BearerVerifier } from '../src/auth/bearer.js'
import { Tag } from '../src/schemas/tags.js'

/** Prometheus text exposition of the app's registry; registered only when metrics are enabled. */
const metricsRoute: FastifyPluginAsyncTypebox = async (app) => {
  const metrics = app.metrics
  if (metrics === null) return
  const token = app.config.metrics.token
  const verifier = token === undefined ? undefined : new BearerVerifier(token)

  app.get('/metrics', {
    // Scraped even while the server sheds load: that is when the figures matter most.
    config: { pressureHandler: () => undefined },
    schema: {
      tags: [Tag.operators],
      summary: 'Prometheus metrics (text exposition format)',
      description: 'Without METRICS_TOKEN, open to loopback and private addresses only; with it, it needs `Authorization: Bearer <METRICS_TOKEN>` from any address.',
      ...(verifier === undefined ? {} : { security: [{ metricsToken: [] }] }),
      response: {
        200: {
          description: 'Prometheus text format 0.0.4',
          content: { 'text/plain': { schema: Type.String({ examples: ['musicshare_active_sessions 3\n'] }) } }
        },
        ...errorResponses
      }
    },
    onRequest: async (request) => {
      if (verifier === undefined) {
        // request.ip is the entry a trusted proxy appended (TRUST_PROXY), never one the client wrote itself.
        if (isPrivateAddress(request.ip)) return
        throw new DomainError('FORBIDDEN', '/metrics answers loopback and private addresses only; set METRICS_TOKEN to scrape from elsewhere')
      }
      if (verifier.check(request.headers.authorization) === 'ok') return
      throw new CredentialError('Invalid or missing metrics token', 'bearer')
    }
  }, async (_request, reply) => {
    const text = await metrics.registry.metrics()
    return reply.type(metrics.registry.contentType).send(text)
  })
}

export default metricsRoute
