import type { FrameStamps, PlayerStats, SyncSettings } from './player-core.js'

/** Page → player. */
export type PlayerMessage =
  | { type: 'audio', samples: Float32Array, channels: number, sampleRate: number, stamps?: FrameStamps }
  /** The clock to play against (sync mode), or undefined to play by the buffer alone. */
  | { type: 'sync', settings: SyncSettings | undefined }

/** Player → page: stats about ten times a second, the trace of what was rendered more often. */
export type WorkletMessage =
  | { type: 'stats', stats: PlayerStats }
  | { type: 'trace', trace: Float64Array }
