import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses } from '../../src/schemas/common.js'
import { SessionList, SessionListQuery } from '../../src/schemas/sessions-list.js'
import { rateLimitFor } from '../../plugins/rate-limit.js'
import { listInstanceSessions } from '../../src/session/session-list.js'
import { listClusterSessions } from '../../src/cluster/cluster-sessions.js'
import { Tag } from '../../src/schemas/tags.js'

/** For operators: every active and recently ended session, a page at a time. */
const sessions: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/sessions', {
    config: { rateLimit: rateLimitFor(app.config.rateLimit, 'poll') },
    schema: {
      tags: [Tag.operators],
      summary: 'List active and recently ended sessions',
      querystring: SessionListQuery,
      response: { 200: SessionList, ...errorResponses }
    }
  }, async (request) => {
    const { scope } = request.query
    const { instanceId } = app.config
    const snapshot = app.redisSnapshot
    if (scope === 'cluster' && snapshot !== undefined) {
      return { ...await listClusterSessions(snapshot.directory, snapshot.degradedReason, request.query), instanceId, scope }
    }
    return { ...listInstanceSessions(app.sessions, request.query, Date.now()), instanceId, scope }
  })
}

export default sessions
