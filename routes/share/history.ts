import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses, SessionParams } from '../../src/schemas/common.js'
import { KeyQuery } from '../../src/schemas/push.js'
import { SongHistoryResponse } from '../../src/schemas/history.js'
import { rateLimitFor } from '../../plugins/rate-limit.js'
import { DomainError } from '../../src/errors.js'

const history: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/:sessionId/history', {
    config: { auth: 'receive', rateLimit: rateLimitFor(app.config.rateLimit, 'poll') },
    schema: {
      summary: 'The songs played so far, oldest first; after the end while the session is remembered (receiver)',
      params: SessionParams,
      querystring: KeyQuery,
      response: { 200: SongHistoryResponse, ...errorResponses }
    }
  }, async (request) => {
    const { sessionId } = request.params
    const found = app.sessions.songHistory(sessionId)
    if (found === undefined) throw new DomainError('SESSION_NOT_FOUND', 'Session not found')
    return { sessionId, isActive: found.isActive, songs: [...found.songs] }
  })
}

export default history
