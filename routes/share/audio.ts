import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { errorResponses, SessionParams } from '../../src/schemas/common.js'
import {
  AUDIO_BODY_LIMIT, AudioAck, AudioBody, AudioChunks, AudioQuery, MAX_AUDIO_CHUNK_BYTES
} from '../../src/schemas/share.js'
import { rateLimitFor } from '../../plugins/rate-limit.js'
import { receiverKey } from '../../src/lib/client-identity.js'
import { sendNoContent, sendSerialisedJson } from '../../src/lib/reply.js'

const audio: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/:sessionId/audio', {
    bodyLimit: AUDIO_BODY_LIMIT,
    config: { rateLimit: rateLimitFor(app.config.rateLimit, 'audio-write') },
    schema: {
      summary: 'Send one chunk of float32 PCM (sharer)',
      params: SessionParams,
      body: AudioBody,
      response: { 200: AudioAck, ...errorResponses }
    }
  }, async (request) => {
    const { buffered } = app.sessions.receiveAudio(request.params.sessionId, request.body, MAX_AUDIO_CHUNK_BYTES, Date.now())
    return { success: true as const, buffered }
  })

  app.get('/:sessionId/audio', {
    config: { rateLimit: rateLimitFor(app.config.rateLimit, 'poll') },
    schema: {
      summary: 'Chunks newer than `since`, oldest first, at most 10 (receiver)',
      params: SessionParams,
      querystring: AudioQuery,
      response: { 200: AudioChunks, 204: Type.Null({ description: 'nothing newer than since' }), ...errorResponses }
    }
  }, async (request, reply) => {
    const body = app.sessions.pollAudioJson(request.params.sessionId, request.query.since, receiverKey(request), Date.now())
    // Each chunk's JSON was built once when it arrived; a poll only concatenates bytes.
    return body === undefined ? sendNoContent(reply) : sendSerialisedJson(reply, body)
  })
}

export default audio
