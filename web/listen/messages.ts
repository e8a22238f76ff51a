import type { PlayerStats } from './player-core.js'

/** Page → player. */
export interface PlayerMessage {
  type: 'audio'
  samples: Float32Array
  channels: number
  sampleRate: number
}

/** Player → page. */
export interface StatsMessage {
  type: 'stats'
  stats: PlayerStats
}
