/** The page's states, as `window.musicShareStats.state` and `<body data-state>` show them. */
export type PageState = 'connecting' | 'ready' | 'buffering' | 'playing' | 'reconnecting' | 'ended' | 'error'
export type Transport = 'websocket' | 'long-poll'

/** What the page exposes for tests and the curious (`window.musicShareStats`). */
export interface ListenStats {
  state: PageState
  transport: Transport
  /** What the page asked the server for (`?codec=pcm` for PCM; Opus otherwise). */
  codec: 'opus' | 'pcm'
  /** Who decodes: WebCodecs, the wasm libopus decoder, or nobody (PCM); 'none' until chosen. */
  decoder: 'webcodecs' | 'wasm' | 'pcm' | 'none'
  /** The Opus tier the server sends (from its `quality` events); null for PCM and long-polling. */
  bitrateKbps: number | null
  /** Whether the server adapts the tier (false when `?bitrate=` pinned it). */
  adaptive: boolean | null
  /** `quality` events received (the first one, then one per tier change). */
  qualityChanges: number
  /** The shared target latency (ms) synchronized Opus plays at; null for PCM. */
  targetLatencyMs: number | null
  /**
   * The server time (ms) at which the sample heard right now reached the server: the chunk's
   * `receivedAt` plus the sample's offset in it. Read when asked. Null for PCM (which carries no arrival
   * time), before playback and in silence. Two pages in sync report the same value at the same moment.
   */
  playheadServerMs: number | null
  /** Playing against the server's clock (Opus over the WebSocket, clock known) rather than by buffer depth. */
  synced: boolean
  /** Stamp played minus stamp due at the player's last render (ms); null when not syncing. */
  syncErrorMs: number | null
  /** The player's speed (1 ± 0.005 while correcting drift). */
  playbackRate: number
  /** Server clock minus performance.now() (ms), and the quickest ping round trip. */
  clockOffsetMs: number | null
  clockRttMs: number | null
  /** Bytes of WebSocket messages (or long-poll bodies and events) received: audio, events, clock. */
  bytesReceived: number
  /** Of those, the audio: binary WebSocket frames, or long-poll audio bodies. */
  audioBytesReceived: number
  /** Main-thread milliseconds spent decoding (the wasm decoder; WebCodecs decodes on its own thread). */
  decodeMs: number
  framesReceived: number
  framesPlayed: number
  /** Seconds of audio rendered to the output. */
  secondsPlayed: number
  underruns: number
  /** Skips ahead: buffer far too deep, or (sync) far behind the due sample. */
  skips: number
  /** Sync: waits because playback was far ahead of the due sample. */
  waits: number
  /** RMS level of the audio rendered over the last stats period (before the volume control). */
  level: number
  /** How far behind live the sound is (ms): for Opus the server time now minus `playheadServerMs`. */
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
