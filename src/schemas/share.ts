import { Type, type Static } from '@sinclair/typebox'
import { Nullable, SessionId, UnixMs } from './common.js'
import { RecordingStatus } from './recording.js'
import { StringOrTextBytes } from './text-bytes.js'

/** Decoded audio bytes one chunk may carry (the client sends 176 400). */
export const MAX_AUDIO_CHUNK_BYTES = 1024 * 1024
/** Base64 characters of the largest chunk: the audio body limit is this plus room for the other fields. */
export const MAX_AUDIO_BASE64_CHARS = Math.ceil(MAX_AUDIO_CHUNK_BYTES / 3) * 4
export const AUDIO_BODY_LIMIT = MAX_AUDIO_BASE64_CHARS + 4096
export const METADATA_BODY_LIMIT = 5 * 1024 * 1024
/** Longest an audio long-poll is held. */
export const MAX_WAIT_MS = 10_000

export const StartBody = Type.Object({ sessionId: SessionId })
export const StartResponse = Type.Object({
  success: Type.Literal(true),
  sessionId: SessionId,
  timestamp: UnixMs,
  listenKey: Type.String({ description: 'lets anyone holding it receive this session (not send): `?key=` on receiving endpoints' }),
  sharerKey: Type.String({ description: 'send it as X-Sharer-Key on metadata, audio and stop: it proves a write comes from this sharer (SESSION_WRITE_GUARD)' }),
  listenUrl: Type.String({ description: 'the listener page of this session with its listen key: opens in any browser' })
})

/** `?key=`: a session's listen key, accepted by receiving endpoints instead of the bearer token. */
export const ListenKey = Type.String({ maxLength: 128, description: 'the session\'s listen key (from /start)' })

const Seconds = Type.Number({ minimum: 0, maximum: 1e9 })

export const MetadataBody = Type.Object({
  title: Type.String({ maxLength: 2048, examples: ['Song Title'] }),
  artist: Type.String({ maxLength: 2048, examples: ['Artist Name'] }),
  lyrics: Nullable(Type.String({ maxLength: 1_000_000, description: 'LRC text when hasSyncedLyrics' })),
  hasSyncedLyrics: Type.Boolean(),
  elapsedSeconds: Seconds,
  totalSeconds: Seconds,
  thumbnailData: Nullable(Type.String({ maxLength: METADATA_BODY_LIMIT, description: 'base64 JPEG' })),
  timestamp: Type.Optional(UnixMs)
})
export type MetadataBody = Static<typeof MetadataBody>

export const MetadataAck = Type.Object({
  success: Type.Literal(true),
  listenersNotified: Type.Integer({ minimum: 0 })
})

export const MetadataResponse = Type.Object({
  title: Nullable(Type.String()),
  artist: Nullable(Type.String()),
  lyrics: Nullable(Type.String()),
  hasSyncedLyrics: Type.Boolean(),
  elapsedSeconds: Type.Number(),
  totalSeconds: Type.Number(),
  thumbnailData: Nullable(Type.String()),
  timestamp: UnixMs
})

const Int32 = { maximum: 2147483647 }

export const AudioChunk = Type.Object({
  // Bounded by the body limit here; the exact limit (MAX_AUDIO_CHUNK_BYTES decoded, else 413) is checked on decode.
  data: Type.String({ minLength: 1, maxLength: AUDIO_BODY_LIMIT, description: 'base64 of little-endian float32 samples, interleaved (at most 1 MiB decoded)' }),
  sampleRate: Type.Integer({ minimum: 8000, maximum: 192000, examples: [44100] }),
  channels: Type.Integer({ minimum: 1, maximum: 8, examples: [2] }),
  timestamp: UnixMs,
  sequenceNumber: Type.Integer({ minimum: 0, ...Int32 })
})
/** A chunk as a poll answers it: with codec=opus, `data` is base64 of the chunk's Opus packets. */
export const AudioChunkAnswer = Type.Composite([AudioChunk, Type.Object({
  codec: Type.Optional(Type.Literal('opus', { description: 'codec=opus only; data is base64 of: uint16 N, N x uint16 length, the packets (little-endian)' })),
  granule: Type.Optional(Type.Integer({ minimum: 0, description: 'codec=opus only: 48 kHz samples since the stream began (pre-skip included) at the first packet' })),
  receivedAt: Type.Optional(Type.Integer({ description: 'codec=opus only: when the chunk reached the server (server clock, Unix ms)' }))
})])
// The audio route's parser hands `data` over as TextBytes when it can (src/session/audio-body.ts).
export const AudioBody = Type.Composite([
  Type.Omit(AudioChunk, ['timestamp', 'data']),
  Type.Object({ data: StringOrTextBytes(AudioChunk.properties.data), timestamp: Type.Optional(UnixMs) })
])
export type AudioBody = Static<typeof AudioBody>

export const AudioAck = Type.Object({
  success: Type.Literal(true),
  buffered: Type.Boolean({ description: 'false when the chunk was a duplicate and was not stored again' })
})

/** How a receiver takes the audio: the sharer's float32 PCM as it came, or the session's Opus. */
export const AudioCodec = Type.Union([Type.Literal('pcm'), Type.Literal('opus')], {
  default: 'pcm',
  description: 'pcm: the float32 the sharer sent (lossless, ~470 KB/s as JSON); opus: 48 kHz Opus packets (~16 KB/s at 128 kbit/s)'
})

export const AudioQuery = Type.Object({
  since: Type.Integer({ minimum: -1, ...Int32, default: -1, description: 'highest sequence number already received; -1 to join' }),
  codec: AudioCodec,
  waitMs: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_WAIT_MS, description: 'long-poll: when nothing is newer than since, wait up to this long for it (then 204)' })),
  key: Type.Optional(ListenKey)
})

export const AudioChunks = Type.Array(AudioChunkAnswer, { maxItems: 10 })

export const StopResponse = Type.Object({
  success: Type.Literal(true),
  sessionDuration: Type.Number({ description: 'seconds' }),
  bytesTransferred: Type.Integer({ minimum: 0, description: 'decoded audio bytes received' })
})

export const StatusResponse = Type.Object({
  isActive: Type.Boolean(),
  sessionId: SessionId,
  startTime: UnixMs,
  listenerCount: Type.Integer({ minimum: 0 }),
  currentMetadata: Nullable(Type.Object({ title: Nullable(Type.String()), artist: Nullable(Type.String()) })),
  lastActivity: UnixMs,
  endedAt: Nullable(UnixMs),
  endReason: Nullable(Type.Union([Type.Literal('stopped'), Type.Literal('expired')])),
  // An extra field: the desktop client ignores properties it does not know (CLIENT.md).
  recording: Type.Optional(RecordingStatus)
})
