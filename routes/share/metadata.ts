import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses, SessionParams } from '../../src/schemas/common.js'
import { METADATA_BODY_LIMIT, MetadataAck, MetadataBody, MetadataResponse } from '../../src/schemas/share.js'
import { rateLimitFor } from '../../plugins/rate-limit.js'
import { receiverKey } from '../../plugins/client-identity.js'
import { sendSerialisedJson } from '../reply.js'
import { Tag } from '../../src/schemas/tags.js'

const metadata: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/:sessionId/metadata', {
    bodyLimit: METADATA_BODY_LIMIT,
    config: { sharerOnly: true, rateLimit: rateLimitFor(app.config.rateLimit, 'metadata-write') },
    schema: {
      tags: [Tag.sharer],
      summary: 'Send the current song, progress, lyrics and cover',
      params: SessionParams,
      body: MetadataBody,
      response: { 200: MetadataAck, ...errorResponses }
    }
  }, async (request) => {
    const listenersNotified = app.sessions.receiveMetadata(request.params.sessionId, request.body, Date.now())
    return { success: true as const, listenersNotified }
  })

  app.get('/:sessionId/metadata', {
    config: { auth: 'receive', rateLimit: rateLimitFor(app.config.rateLimit, 'poll') },
    schema: {
      tags: [Tag.receiver],
      summary: 'Latest metadata',
      params: SessionParams,
      response: { 200: MetadataResponse, ...errorResponses }
    }
  }, async (request, reply) => {
    const stored = app.sessions.currentMetadata(request.params.sessionId, receiverKey(request), Date.now())
    // Serialised once per update: every poll sends the same string.
    return sendSerialisedJson(reply, stored.json)
  })
}

export default metadata
