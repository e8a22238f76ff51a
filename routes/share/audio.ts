import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { errorResponses, SessionParams } from '../../src/schemas/common.js'
import {
  AUDIO_BODY_LIMIT, AudioAck, AudioBody, AudioChunks, AudioQuery, MAX_AUDIO_CHUNK_BYTES
} from '../../src/schemas/share.js'
import { rateLimitFor } from '../../plugins/rate-limit.js'
import { receiverKey } from '../../plugins/client-identity.js'
import { sendNoContent, sendSerialisedJson } from '../reply.js'
import { DomainError } from '../../src/errors.js'
import { useJsonBodies } from '../../plugins/json-body.js'
import { parseAudioBodyFast } from '../../src/session/audio-body.js'
import { pollOpusJson } from '../../src/opus/opus-rest.js'
import { opusWaitKey } from '../../plugins/opus.js'
import { Tag } from '../../src/schemas/tags.js'

const audio: FastifyPluginAsyncTypebox = async (app) => {
  // In this plugin's context only: the audio body's `data` is read straight from the bytes when it can be.
  useJsonBodies(app, parseAudioBodyFast)

  app.post('/:sessionId/audio', {
    bodyLimit: AUDIO_BODY_LIMIT,
    config: { sharerOnly: true, rateLimit: rateLimitFor(app.config.rateLimit, 'audio-write') },
    schema: {
      tags: [Tag.sharer],
      summary: 'Send one chunk of float32 PCM',
      params: SessionParams,
      body: AudioBody,
      response: { 200: AudioAck, ...errorResponses }
    }
  }, async (request) => {
    const { buffered } = app.sessions.receiveAudio(request.params.sessionId, request.body, MAX_AUDIO_CHUNK_BYTES, Date.now())
    return { success: true as const, buffered }
  })

  app.get('/:sessionId/audio', {
    config: { auth: 'receive', rateLimit: rateLimitFor(app.config.rateLimit, 'poll') },
    schema: {
      tags: [Tag.receiver],
      summary: 'Chunks newer than `since`, oldest first, at most 10, as PCM or (codec=opus) Opus; with waitMs a long-poll',
      params: SessionParams,
      querystring: AudioQuery,
      response: { 200: AudioChunks, 204: Type.Null({ description: 'nothing newer than since' }), ...errorResponses }
    }
  }, async (request, reply) => {
    const { sessionId } = request.params
    const { since, waitMs, codec } = request.query
    const listener = receiverKey(request)
    const poll = codec === 'opus'
      ? () => pollOpusJson(app.sessions, app.opus, sessionId, since, listener, Date.now())
      : () => app.sessions.pollAudioJson(sessionId, since, listener, Date.now())
    let body = poll()
    if (body === undefined && waitMs !== undefined && waitMs > 0) {
      // Long-poll: held until a chunk arrives, the session ends, waitMs passes, the client leaves or the server closes.
      const held = app.push.waiters.hold(codec === 'opus' ? opusWaitKey(sessionId) : sessionId, waitMs)
      if (held === undefined) {
        throw new DomainError('SERVICE_UNAVAILABLE', 'Too many long-polls are held; retry, or poll without waitMs', { retryAfterSeconds: 1 })
      }
      request.longPollHeld = true
      const hungUp = () => held.cancel()
      reply.raw.once('close', hungUp)
      const reason = await held.done
      reply.raw.off('close', hungUp)
      // Moved to another instance (cluster): an empty answer, and the next poll reaches the new owner.
      if (reason === 'moved') return sendNoContent(reply)
      body = poll()
    }
    // Each chunk's JSON was built once when it arrived; a poll only concatenates bytes.
    return body === undefined ? sendNoContent(reply) : sendSerialisedJson(reply, body)
  })
}

export default audio
