import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses } from '../../src/schemas/common.js'
import { StartBody, StartResponse } from '../../src/schemas/share.js'
import { rateLimitFor } from '../../plugins/rate-limit.js'

const start: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/start', {
    config: { rateLimit: rateLimitFor(app.config.rateLimit, 'start') },
    schema: {
      summary: 'Start a sharing session',
      body: StartBody,
      response: { 200: StartResponse, ...errorResponses }
    }
  }, async (request) => {
    const now = Date.now()
    const session = app.sessions.start(request.body.sessionId, now)
    const listenKey = app.listenKeys.keyFor(session.id)
    // Extra fields: the desktop client reads only the first three (CLIENT.md). The link opens the listener page.
    const listenUrl = `${request.protocol}://${request.host}${app.config.basePath}/listen/${session.id}?key=${listenKey}`
    return { success: true as const, sessionId: session.id, timestamp: now, listenKey, listenUrl }
  })
}

export default start
