import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Tag } from '../../src/schemas/tags.js'
import { errorResponses, SessionParams } from '../../src/schemas/common.js'
import { KeyQuery } from '../../src/schemas/push.js'
import { SongHistoryResponse } from '../../src/schemas/history.js'
import { rateLimitFor } from '../../plugins/rate-limit.js'
import { DomainError } from '../../src/errors.js'

const notFound = (): never => { throw new DomainError('SESSION_NOT_FOUND', 'Session not found') }

const history: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/:sessionId/history', {
    config: { auth: 'receive', rateLimit: rateLimitFor(app.config.rateLimit, 'poll') },
    schema: {
      tags: [Tag.recordings],
      summary: 'The songs played so far, oldest first; after the end while the session or its recording is kept',
      params: SessionParams,
      querystring: KeyQuery,
      response: { 200: SongHistoryResponse, ...errorResponses }
    }
  }, async (request) => {
    const { sessionId } = request.params
    // Live or remembered here; else kept with the session's recording for as long as that is.
    const found = app.sessions.songHistory(sessionId) ??
      { isActive: false, songs: await app.recordings?.songHistory(sessionId) ?? notFound() }
    return { sessionId, isActive: found.isActive, songs: [...found.songs] }
  })
}

export default history
