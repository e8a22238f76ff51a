import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses } from '../../src/schemas/common.js'
import { StartBody, StartResponse } from '../../src/schemas/share.js'
import { rateLimitFor } from '../../plugins/rate-limit.js'
import { newSharerKey } from '../../src/session/sharer-binding.js'
import { Tag } from '../../src/schemas/tags.js'

const start: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/start', {
    config: { rateLimit: rateLimitFor(app.config.rateLimit, 'start') },
    schema: {
      tags: [Tag.sharer],
      summary: 'Start a sharing session',
      body: StartBody,
      response: { 200: StartResponse, ...errorResponses }
    }
  }, async (request) => {
    const now = Date.now()
    const sharer = newSharerKey(request.ip)
    // With the Redis snapshot on, the start is answered only once its claim and snapshot are in Redis.
    const session = await app.sessions.startCommitted(request.body.sessionId, now, sharer.binding)
    const listenKey = app.listenKeys.keyFor(session.id)
    // Extra fields: the desktop client reads only the first three (CLIENT.md). The link opens the listener page.
    const listenUrl = `${request.protocol}://${request.host}${app.config.basePath}/listen/${session.id}?key=${listenKey}`
    return { success: true as const, sessionId: session.id, timestamp: now, listenKey, listenUrl, sharerKey: sharer.key }
  })
}

export default start
