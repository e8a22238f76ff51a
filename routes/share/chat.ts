import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Tag } from '../../src/schemas/tags.js'
import type { FastifyRequest } from 'fastify'
import { errorResponses, SessionParams } from '../../src/schemas/common.js'
import { KeyQuery } from '../../src/schemas/push.js'
import { CHAT_BODY_LIMIT, ChatBody, ChatPage, ChatPosted, ChatQuery, ChatRemoved, MessageParams, MuteBody } from '../../src/schemas/chat.js'
import { rateLimitFor } from '../../plugins/rate-limit.js'
import { receiverKey } from '../../plugins/client-identity.js'
import { SenderTags } from '../../src/chat/sender-tags.js'

/**
 * The session's chat: listeners (listen key or bearer token) read and post; a request carrying the
 * sharer's X-Sharer-Key posts as the sharer and may delete messages and mute their senders. Every route
 * also has the receivers' coarse per-client budget; the chat's own budgets are finer (see ChatLog).
 */
const chat: FastifyPluginAsyncTypebox = async (app) => {
  const tags = new SenderTags(app.config.listenKeySecret)
  // Who is talking, as the server knows it: the receiver key and address, never the name in the body.
  const senderOf = (request: FastifyRequest, sessionId: string) =>
    tags.of(sessionId, receiverKey(request), request.ip, request.sharerKey)
  const config = (sharerKey: 'optional' | 'required') =>
    ({ auth: 'receive' as const, sharerKey, rateLimit: rateLimitFor(app.config.rateLimit, 'poll') })

  app.post('/:sessionId/chat', {
    bodyLimit: CHAT_BODY_LIMIT,
    config: config('optional'),
    schema: {
      tags: [Tag.chat],
      summary: 'Post a chat message (listener; with X-Sharer-Key, as the sharer)',
      params: SessionParams,
      querystring: KeyQuery,
      body: ChatBody,
      response: { 200: ChatPosted, ...errorResponses }
    }
  }, async (request) => {
    const { sessionId } = request.params
    const message = app.sessions.postChat(sessionId, request.body, senderOf(request, sessionId), Date.now())
    return { success: true as const, message }
  })

  app.get('/:sessionId/chat', {
    config: { auth: 'receive', rateLimit: rateLimitFor(app.config.rateLimit, 'poll') },
    schema: {
      tags: [Tag.chat],
      summary: 'Chat history: the newest page, or the messages after `since` (receiver)',
      params: SessionParams,
      querystring: ChatQuery,
      response: { 200: ChatPage, ...errorResponses }
    }
  }, async (request) => app.sessions.chatPage(request.params.sessionId, request.query.since, request.query.limit))

  app.delete('/:sessionId/chat/:messageId', {
    config: config('required'),
    schema: {
      tags: [Tag.chat],
      summary: 'Delete a chat message (the sharer, with X-Sharer-Key)',
      params: MessageParams,
      querystring: KeyQuery,
      response: { 200: ChatRemoved, ...errorResponses }
    }
  }, async (request) => {
    const messageIds = app.sessions.deleteChat(request.params.sessionId, request.params.messageId)
    return { success: true as const, messageIds }
  })

  app.post('/:sessionId/chat/mute', {
    bodyLimit: CHAT_BODY_LIMIT,
    config: config('required'),
    schema: {
      tags: [Tag.chat],
      summary: 'Mute whoever sent a message: their messages go, later ones are refused (the sharer, with X-Sharer-Key)',
      params: SessionParams,
      querystring: KeyQuery,
      body: MuteBody,
      response: { 200: ChatRemoved, ...errorResponses }
    }
  }, async (request) => {
    const messageIds = app.sessions.muteChat(request.params.sessionId, request.body.messageId)
    return { success: true as const, messageIds }
  })
}

export default chat
