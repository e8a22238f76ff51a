/**
 * The AudioWorklet side: a PlayerCore fed by messages from the page, rendering on the audio thread,
 * reporting its stats about ten times a second.
 */
import { PlayerCore } from './player-core.js'
import type { PlayerMessage } from './messages.js'

// The AudioWorkletGlobalScope, which TypeScript's DOM library does not describe.
declare const sampleRate: number
declare const currentTime: number
declare class AudioWorkletProcessor {
  readonly port: MessagePort
}
declare function registerProcessor (name: string, processor: new (options?: unknown) => AudioWorkletProcessor): void

class PlayerProcessor extends AudioWorkletProcessor {
  readonly #core = new PlayerCore({ deviceRate: sampleRate })
  #lastReport = 0

  constructor () {
    super()
    this.port.onmessage = (event: MessageEvent<PlayerMessage>) => {
      const m = event.data
      if (m.type === 'audio') this.#core.push(m.samples, m.channels, m.sampleRate)
    }
  }

  process (_inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    const out = outputs[0]
    const left = out?.[0]
    if (left !== undefined) this.#core.render(left, out?.[1] ?? left)
    if (currentTime - this.#lastReport >= 0.1) {
      this.#lastReport = currentTime
      this.port.postMessage({ type: 'stats', stats: this.#core.stats() })
    }
    return true
  }
}

registerProcessor('music-share-player', PlayerProcessor)
