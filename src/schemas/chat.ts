import { Type } from '@sinclair/typebox'
import { SessionId, UnixMs } from './common.js'
import { ListenKey } from './share.js'
import { MAX_NAME, MAX_TEXT } from '../chat/chat-text.js'

/** A chat body is small: a name and at most 500 characters (up to 4 bytes each in UTF-8, or 12 as JSON escapes). */
export const CHAT_BODY_LIMIT = 16 * 1024
/** Messages one GET answers at most. */
export const MAX_CHAT_PAGE = 100

/** Id of a chat message: per session, from 1, increasing. */
const MessageId = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'the message\'s id in its session' })

// The exact limits (MAX_NAME, MAX_TEXT) count characters of the cleaned text: checked by the chat itself.
// These bounds only keep what reaches it small.
export const ChatBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 8 * MAX_NAME, description: `display name: at most ${MAX_NAME} characters once cleaned`, examples: ['Ann'] }),
  text: Type.String({ minLength: 1, maxLength: 8 * MAX_TEXT, description: `at most ${MAX_TEXT} characters once cleaned (NFC; controls and bidi overrides removed)`, examples: ['This one is great'] })
})

export const ChatMessage = Type.Object({
  id: MessageId,
  name: Type.String(),
  text: Type.String(),
  sentAt: UnixMs,
  fromSharer: Type.Boolean({ description: 'sent with the session\'s X-Sharer-Key' })
})

export const ChatPosted = Type.Object({
  success: Type.Literal(true),
  message: ChatMessage
})

export const ChatQuery = Type.Object({
  since: Type.Integer({ minimum: -1, maximum: Number.MAX_SAFE_INTEGER, default: -1, description: 'the highest message id already held; -1: the newest page' }),
  limit: Type.Integer({ minimum: 1, maximum: MAX_CHAT_PAGE, default: 50, description: 'messages at most' }),
  key: Type.Optional(ListenKey)
})

export const ChatPage = Type.Object({
  messages: Type.Array(ChatMessage, { description: 'oldest first' }),
  more: Type.Boolean({ description: 'more messages follow the last one: ask again with its id as since' })
})

export const MessageParams = Type.Object({ sessionId: SessionId, messageId: MessageId })

export const MuteBody = Type.Object({ messageId: MessageId })

export const ChatRemoved = Type.Object({
  success: Type.Literal(true),
  messageIds: Type.Array(MessageId, { description: 'the messages taken out of the history, oldest first' })
})
