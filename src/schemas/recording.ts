import { Type } from '@sinclair/typebox'

/** A session's recording as `status` and `POST /:id/recording` report it (src/recording/recordings.ts). */
export const RecordingStatus = Type.Object({
  state: Type.Union([Type.Literal('off'), Type.Literal('recording'), Type.Literal('stopped'), Type.Literal('finished')], {
    description: 'off: not recorded; recording; stopped: stopped early while the session goes on (see reason); finished: the session ended'
  }),
  reason: Type.Union([Type.String(), Type.Null()], {
    description: 'why it is off or stopped: opted-out, max-length, size-cap, disk-full, write-error, too-slow, encoder-failed; null otherwise'
  }),
  seconds: Type.Number({ minimum: 0, description: 'seconds of audio recorded' }),
  bytes: Type.Integer({ minimum: 0, description: 'bytes of the recording' })
}, { description: 'only when the server records (RECORDINGS_DIR)' })

export const RecordingBody = Type.Object({
  enabled: Type.Boolean({ description: 'false: stop recording this session and delete what was recorded; true: record it from now' })
})

export const RecordingAck = Type.Object({
  success: Type.Literal(true),
  recording: RecordingStatus
})
