import { Type, type Static } from '@sinclair/typebox'
import { Nullable, SessionId, UnixMs } from './common.js'

export const MAX_SESSIONS_PAGE = 200

export const SessionListQuery = Type.Object({
  state: Type.Union([Type.Literal('all'), Type.Literal('active'), Type.Literal('ended')], {
    default: 'all', description: 'which sessions to list'
  }),
  scope: Type.Union([Type.Literal('instance'), Type.Literal('cluster')], {
    default: 'instance', description: 'instance: the sessions this instance holds (from memory); cluster: every instance\'s, read from Redis (the same as instance without REDIS_URL)'
  }),
  limit: Type.Integer({ minimum: 1, maximum: MAX_SESSIONS_PAGE, default: 50, description: 'sessions per page' }),
  offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0, description: 'sessions to skip' })
})
export type SessionListQuery = Static<typeof SessionListQuery>

const Bytes = (description: string) => Type.Integer({ minimum: 0, description })

export const SessionSummary = Type.Object({
  sessionId: SessionId,
  state: Type.Union([Type.Literal('active'), Type.Literal('ended')]),
  startTime: UnixMs,
  lastActivity: Type.Integer({ minimum: 0, description: 'last sharer request (Unix ms); the end time once ended' }),
  endedAt: Nullable(UnixMs),
  endReason: Nullable(Type.Union([Type.Literal('stopped'), Type.Literal('expired')])),
  listenerCount: Type.Integer({ minimum: 0 }),
  title: Nullable(Type.String({ description: 'current song, while its metadata is fresh' })),
  artist: Nullable(Type.String()),
  audioFormat: Nullable(Type.Object({ sampleRate: Type.Integer(), channels: Type.Integer() })),
  bufferedSeconds: Type.Number({ minimum: 0, description: 'audio held in the ring buffer' }),
  bytesReceived: Bytes('decoded audio bytes received from the sharer'),
  bytesSent: Bytes('decoded audio bytes served to receivers'),
  instanceId: Type.Optional(Nullable(Type.String({ description: 'scope=cluster: the instance that owns the session (null: unclaimed)' }))),
  ownerAlive: Type.Optional(Type.Boolean({ description: 'scope=cluster: whether that instance\'s heartbeat is alive (false: the session moves on its next request)' }))
})
export type SessionSummary = Static<typeof SessionSummary>

export const SessionList = Type.Object({
  total: Type.Integer({ minimum: 0, description: 'sessions matching `state`, over all pages' }),
  active: Type.Integer({ minimum: 0, description: 'active sessions' }),
  ended: Type.Integer({ minimum: 0, description: 'ended sessions still remembered (ENDED_RETENTION_MINUTES)' }),
  offset: Type.Integer({ minimum: 0 }),
  limit: Type.Integer({ minimum: 1 }),
  instanceId: Type.String({ description: 'the instance that answered' }),
  scope: Type.Union([Type.Literal('instance'), Type.Literal('cluster')]),
  instances: Type.Optional(Type.Array(Type.String(), { description: 'scope=cluster: instances whose heartbeat is alive' })),
  sessions: Type.Array(SessionSummary, {
    maxItems: MAX_SESSIONS_PAGE, description: 'active sessions newest first, then ended ones most recently ended first'
  })
}, {
  examples: [{
    total: 1,
    active: 1,
    ended: 0,
    offset: 0,
    limit: 50,
    instanceId: 'ms-1',
    scope: 'instance',
    sessions: [{
      sessionId: '123456',
      state: 'active',
      startTime: 1234567890123,
      lastActivity: 1234567950123,
      endedAt: null,
      endReason: null,
      listenerCount: 3,
      title: 'Song Title',
      artist: 'Artist Name',
      audioFormat: { sampleRate: 44100, channels: 2 },
      bufferedSeconds: 5,
      bytesReceived: 21168000,
      bytesSent: 63504000
    }]
  }]
})
