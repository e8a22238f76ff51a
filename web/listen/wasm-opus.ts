/**
 * The wasm libopus decoder (opus-decoder, of wasm-audio-decoders), for browsers without WebCodecs: a
 * page on a plain-http LAN address is not a secure context, and WebCodecs exists only in those. This
 * module is its own lazily loaded chunk: pages that decode with WebCodecs never download it.
 * It decodes on the main thread, synchronously (about 1 % of a core at 128 kbit/s); the web-worker
 * variant would need a blob: worker, which the page's CSP does not allow.
 */
import { OpusDecoder } from 'opus-decoder'

export interface WasmOpus {
  /** Decodes one packet to interleaved float32 (960 frames per 20 ms packet). */
  decode (packet: Uint8Array): { samples: Float32Array, frames: number }
  free (): void
}

export async function createWasmOpus (channels: number): Promise<WasmOpus> {
  const decoder = new OpusDecoder({ channels, sampleRate: 48000, preSkip: 0 })
  await decoder.ready
  return {
    decode (packet) {
      const { channelData, samplesDecoded } = decoder.decodeFrame(packet)
      const samples = new Float32Array(samplesDecoded * channels)
      for (let c = 0; c < channels; c++) {
        const plane = channelData[c] ?? channelData[0]
        if (plane === undefined) continue
        for (let f = 0; f < samplesDecoded; f++) samples[f * channels + c] = plane[f] as number
      }
      return { samples, frames: samplesDecoded }
    },
    free () { decoder.free() }
  }
}
