/**
 * Opus in the page: WebCodecs `AudioDecoder` where the browser has it and says it can decode Opus at
 * 48 kHz stereo (secure contexts only), otherwise the wasm libopus decoder, loaded on demand.
 * Both hand back interleaved float32 per 20 ms packet, with the packet's stamps.
 */
import { OPUS_PACKET_FRAMES, type OpusChunk } from './frames.js'
import type { FrameStamps } from './player-core.js'
import type { ChunkTiming } from './timeline.js'

export type DecoderKind = 'webcodecs' | 'wasm'

export interface DecodedPacket {
  samples: Float32Array
  channels: number
  sampleRate: number
  stamps: FrameStamps
}

export interface PageDecoder {
  readonly kind: DecoderKind
  decode (chunk: OpusChunk, timing: ChunkTiming): void
  close (): void
}

export interface DecoderEvents {
  output (packet: DecodedPacket): void
  /** The decoder broke; the page may try the other one. */
  failed (reason: string): void
  /** Main-thread milliseconds spent decoding (the wasm decoder; WebCodecs decodes off the main thread). */
  busy (ms: number): void
}

const RATE = 48000
const PACKET_MS = (OPUS_PACKET_FRAMES * 1000) / RATE
const PACKET_US = PACKET_MS * 1000
/** Safari refuses Opus declared at 44.1 kHz: always 48 kHz, as the server encodes it. */
const CONFIG = { codec: 'opus', sampleRate: RATE, numberOfChannels: 2 } as const

const stampsOf = (timing: ChunkTiming, packet: number): FrameStamps =>
  ({ raw: timing.raw + packet * PACKET_MS, smooth: timing.smooth + packet * PACKET_MS, settled: timing.settled })

/** Whether WebCodecs can decode the stream here (false outside secure contexts, where it does not exist). */
export async function webCodecsCanDecode (): Promise<boolean> {
  if (typeof AudioDecoder !== 'function') return false
  try {
    return (await AudioDecoder.isConfigSupported(CONFIG)).supported === true
  } catch {
    return false
  }
}

export function createWebCodecsDecoder (events: DecoderEvents): PageDecoder {
  /**
   * Each packet's stamps by its number; its timestamp is that number times 20 ms. Chrome recomputes
   * output timestamps from sample counts and may be off by a microsecond: the nearest number is the one.
   */
  const pending = new Map<number, FrameStamps>()
  let count = 0
  const decoder = new AudioDecoder({
    output: (data) => {
      const packet = Math.round(data.timestamp / PACKET_US)
      const stamps = pending.get(packet)
      pending.delete(packet)
      try {
        if (stamps !== undefined) events.output({ samples: interleaved(data), channels: data.numberOfChannels, sampleRate: data.sampleRate, stamps })
      } finally {
        data.close()
      }
    },
    error: (err) => events.failed(err.message)
  })
  decoder.configure(CONFIG)
  return {
    kind: 'webcodecs',
    decode (chunk, timing) {
      if (decoder.state !== 'configured') return
      chunk.packets.forEach((packet, i) => {
        const number = count++
        pending.set(number, stampsOf(timing, i))
        decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: number * PACKET_US, data: packet }))
      })
    },
    close () {
      if (decoder.state !== 'closed') decoder.close()
      pending.clear()
    }
  }
}

function interleaved (data: AudioData): Float32Array {
  const channels = data.numberOfChannels
  const frames = data.numberOfFrames
  const out = new Float32Array(frames * channels)
  if (data.format === 'f32') {
    data.copyTo(out, { planeIndex: 0 })
    return out
  }
  const plane = new Float32Array(frames)
  for (let c = 0; c < channels; c++) {
    data.copyTo(plane, { planeIndex: c, format: 'f32-planar' })
    for (let f = 0; f < frames; f++) out[f * channels + c] = plane[f] as number
  }
  return out
}

/** The wasm decoder: its chunk is imported on first use; chunks that arrive meanwhile wait. */
export function createWasmDecoder (events: DecoderEvents): PageDecoder {
  let waiting: Array<[OpusChunk, ChunkTiming]> | undefined = []
  let closed = false
  let opus: import('./wasm-opus.js').WasmOpus | undefined
  const run = (chunk: OpusChunk, timing: ChunkTiming): void => {
    if (opus === undefined) return
    const started = performance.now()
    chunk.packets.forEach((packet, i) => {
      const { samples, frames } = (opus as import('./wasm-opus.js').WasmOpus).decode(packet)
      if (frames > 0) events.output({ samples, channels: 2, sampleRate: RATE, stamps: stampsOf(timing, i) })
    })
    events.busy(performance.now() - started)
  }
  import('./wasm-opus.js')
    .then(({ createWasmOpus }) => createWasmOpus(2))
    .then((decoder) => {
      if (closed) return decoder.free()
      opus = decoder
      for (const [chunk, timing] of waiting ?? []) run(chunk, timing)
      waiting = undefined
    }, (err: unknown) => {
      waiting = undefined
      events.failed(`the wasm Opus decoder did not load: ${err instanceof Error ? err.message : String(err)}`)
    })
  return {
    kind: 'wasm',
    decode (chunk, timing) {
      if (waiting !== undefined) waiting.push([chunk, timing])
      else run(chunk, timing)
    },
    close () {
      closed = true
      opus?.free()
      opus = undefined
    }
  }
}
