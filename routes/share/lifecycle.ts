import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses, InactiveErrorResponse, SessionParams } from '../../src/schemas/common.js'
import { StatusResponse, StopResponse } from '../../src/schemas/share.js'
import { rateLimitFor } from '../../plugins/rate-limit.js'
import { DomainError } from '../../src/errors.js'
import { receiverKey } from '../../plugins/client-identity.js'
import { Tag } from '../../src/schemas/tags.js'

const lifecycle: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/:sessionId/stop', {
    config: { sharerOnly: true, rateLimit: rateLimitFor(app.config.rateLimit, 'stop') },
    schema: {
      tags: [Tag.sharer],
      summary: 'Stop a sharing session',
      params: SessionParams,
      response: { 200: StopResponse, ...errorResponses }
    }
  }, async (request) => {
    const ended = app.sessions.stop(request.params.sessionId, Date.now())
    return { success: true as const, sessionDuration: ended.durationSeconds, bytesTransferred: ended.bytesTransferred }
  })

  app.get('/:sessionId/status', {
    config: { auth: 'receive', rateLimit: rateLimitFor(app.config.rateLimit, 'poll') },
    schema: {
      tags: [Tag.receiver],
      summary: 'Check whether a session is live',
      params: SessionParams,
      response: { 200: StatusResponse, 404: InactiveErrorResponse, ...errorResponses }
    }
  }, async (request) => {
    const now = Date.now()
    const { recordings } = app
    const found = app.sessions.lookup(request.params.sessionId)
    if (found.state === 'unknown') throw new DomainError('SESSION_NOT_FOUND', 'Session not found', { details: { isActive: false } })
    if (found.state === 'ended') {
      const { ended } = found
      return {
        isActive: false,
        sessionId: ended.id,
        startTime: ended.startTime,
        listenerCount: 0,
        currentMetadata: null,
        lastActivity: ended.endedAt,
        endedAt: ended.endedAt,
        endReason: ended.reason,
        recording: await recordings?.endedStatus(ended.id, ended.startTime, now)
      }
    }
    const { session } = found
    session.listeners.touch(receiverKey(request), now)
    const metadata = session.metadata(now)?.value
    return {
      isActive: true,
      sessionId: session.id,
      startTime: session.startTime,
      listenerCount: session.listeners.count(now),
      currentMetadata: metadata === undefined ? null : { title: metadata.title, artist: metadata.artist },
      lastActivity: session.lastActivity,
      endedAt: null,
      endReason: null,
      recording: recordings?.liveStatus(session.id)
    }
  })
}

export default lifecycle
