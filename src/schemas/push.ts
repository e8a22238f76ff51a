import { Type } from '@sinclair/typebox'
import { SessionId } from './common.js'
import { AudioBody, AudioCodec, ListenKey } from './share.js'

export const WsQuery = Type.Object({
  role: Type.Union([Type.Literal('receiver'), Type.Literal('sharer')], { default: 'receiver', description: 'sharer needs the bearer token' }),
  since: Type.Integer({ minimum: -1, maximum: 2147483647, default: -1, description: 'receiver: highest sequence number already held; -1 starts near live' }),
  codec: AudioCodec,
  bitrate: Type.Optional(Type.Integer({ minimum: 6, maximum: 510, description: 'codec=opus: pin this tier (kbit/s; the nearest tier at or below it) instead of adapting to the network' })),
  key: Type.Optional(ListenKey)
})

export const KeyQuery = Type.Object({ key: Type.Optional(ListenKey) })

export const ArtParams = Type.Object({
  sessionId: SessionId,
  hash: Type.String({ pattern: '^[A-Za-z0-9_-]{32}$', description: 'content hash from a metadata event\'s thumbnailUrl' })
})

/** The header fields of a sharer's binary audio frame, checked like the REST audio body. */
export const AudioFrameFields = Type.Omit(AudioBody, ['data'])
