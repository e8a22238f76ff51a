/** What the page's query string asks for (besides `key`): codec, decoder, target latency, a pinned bitrate. */

export type Codec = 'opus' | 'pcm'

export interface PageSettings {
  codec: Codec
  /** `?decoder=wasm` forces the wasm decoder (tests, or a browser whose WebCodecs misbehaves). */
  forceWasm: boolean
  /** The shared target latency (ms): every page of a session with the same value hears the same sample. */
  latencyMs: number
  /** `?bitrate=64` pins an Opus tier (the server takes the nearest at or below); undefined: adaptive. */
  bitrateKbps: number | undefined
}

export const DEFAULT_LATENCY_MS = 1500
export const MIN_LATENCY_MS = 300
export const MAX_LATENCY_MS = 10_000

export function readSettings (query: string): PageSettings {
  const params = new URLSearchParams(query)
  const latencyText = params.get('latency')?.trim() ?? ''
  const latency = latencyText === '' ? NaN : Number(latencyText)
  const bitrate = params.get('bitrate')
  return {
    codec: params.get('codec') === 'pcm' ? 'pcm' : 'opus',
    forceWasm: params.get('decoder') === 'wasm',
    latencyMs: Number.isFinite(latency)
      ? Math.round(Math.min(MAX_LATENCY_MS, Math.max(MIN_LATENCY_MS, latency)))
      : DEFAULT_LATENCY_MS,
    bitrateKbps: bitrate !== null && /^[0-9]{1,4}$/.test(bitrate) && Number(bitrate) > 0 ? Number(bitrate) : undefined
  }
}
