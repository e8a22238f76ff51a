import { Type } from '@sinclair/typebox'
import { Nullable, SessionId, UnixMs } from './common.js'

/** One play of a session's song history (src/history/song-history.ts SongEntry). */
export const SongEntry = Type.Object({
  n: Type.Integer({ minimum: 1, description: 'the play\'s number in its session, from 1 (push `song` events carry it: upsert by it)' }),
  title: Type.String(),
  artist: Type.String(),
  coverHash: Nullable(Type.String({ description: 'the cover as `GET /:id/art/:hash` names it (served while the session is live and the cover recent)' })),
  startedAt: UnixMs,
  endedAt: Nullable(UnixMs),
  startPosition: Type.Number({ minimum: 0, description: 'seconds into the song when the play was first seen: about 0 from the top, more when joined mid-song' }),
  durationSeconds: Type.Number({ minimum: 0, description: 'the song\'s length as the player reported it (0: unknown)' })
})

export const SongHistoryResponse = Type.Object({
  sessionId: SessionId,
  isActive: Type.Boolean(),
  songs: Type.Array(SongEntry, { description: 'oldest first; at most the last 500 plays' })
})
