/** The page's states, as `window.musicShareStats.state` and `<body data-state>` show them. */
export type PageState = 'connecting' | 'ready' | 'buffering' | 'playing' | 'reconnecting' | 'ended' | 'error'
export type Transport = 'websocket' | 'long-poll'

/** What the page exposes for tests and the curious (`window.musicShareStats`). */
export interface ListenStats {
  state: PageState
  transport: Transport
  framesReceived: number
  framesPlayed: number
  /** Seconds of audio rendered to the output. */
  secondsPlayed: number
  underruns: number
  skips: number
  /** RMS level of the audio rendered over the last stats period (before the volume control). */
  level: number
  /** Audio queued ahead of the speaker: jitter buffer plus the device's output latency. */
  latencyMs: number
  bufferedMs: number
  deviceRate: number
  sourceRate: number
  /** Song position heard now, seconds (interpolated). */
  positionSeconds: number
  lyricIndex: number
  audioEngine: 'worklet' | 'script-processor' | 'none'
}

declare global {
  interface Window { musicShareStats: ListenStats }
}

