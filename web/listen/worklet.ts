/**
 * The AudioWorklet side: a PlayerCore fed by messages from the page, rendering on the audio thread,
 * reporting its stats about ten times a second and the trace of what it rendered every 20 ms.
 */
import { PlayerCore } from './player-core.js'
import type { PlayerMessage, WorkletMessage } from './messages.js'

// The AudioWorkletGlobalScope, which TypeScript's DOM library does not describe.
declare const sampleRate: number
declare const currentTime: number
declare class AudioWorkletProcessor {
  readonly port: MessagePort
}
declare function registerProcessor (name: string, processor: new (options?: { processorOptions?: unknown }) => AudioWorkletProcessor): void

export interface PlayerProcessorOptions { capacitySeconds: number }

class PlayerProcessor extends AudioWorkletProcessor {
  readonly #core: PlayerCore
  #lastStats = 0
  #lastTrace = 0

  constructor (options?: { processorOptions?: unknown }) {
    super()
    const settings = options?.processorOptions as PlayerProcessorOptions | undefined
    this.#core = new PlayerCore({ deviceRate: sampleRate, capacitySeconds: settings?.capacitySeconds })
    this.port.onmessage = (event: MessageEvent<PlayerMessage>) => {
      const m = event.data
      if (m.type === 'audio') this.#core.push(m.samples, m.channels, m.sampleRate, m.stamps)
      else if (m.type === 'sync') this.#core.setSync(m.settings)
    }
  }

  process (_inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    const out = outputs[0]
    const left = out?.[0]
    if (left !== undefined) this.#core.render(left, out?.[1] ?? left, currentTime)
    if (currentTime - this.#lastTrace >= 0.02) {
      this.#lastTrace = currentTime
      const trace = this.#core.takeTrace()
      this.#post({ type: 'trace', trace }, [trace.buffer])
    }
    if (currentTime - this.#lastStats >= 0.1) {
      this.#lastStats = currentTime
      this.#post({ type: 'stats', stats: this.#core.stats() })
    }
    return true
  }

  #post (message: WorkletMessage, transfer: Transferable[] = []): void {
    this.port.postMessage(message, transfer)
  }
}

registerProcessor('music-share-player', PlayerProcessor)
