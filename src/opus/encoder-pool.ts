import { Worker } from 'node:worker_threads'
import type { EncoderSettings, FromWorker, ToWorker } from './encoder-protocol.js'

/** What a session's encoder hands back: its stream's shape once, then each chunk's packets. */
export interface EncoderClient {
  opened (preSkip: number, channels: 1 | 2): void
  encoded (chunk: { sequenceNumber: number, timestamp: number, receivedAt: number, startGranule: number, packets: Uint8Array[] }, encodeSeconds: number): void
  failed (reason: string): void
}

export interface EncoderLog {
  warn (obj: object, msg: string): void
  error (obj: object, msg: string): void
}

/** The worker's module, next to this one: the .ts source when run from source (tests), the .js when built. */
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './encoder-worker.ts' : './encoder-worker.js', import.meta.url)

/**
 * The main thread's side of the encoder thread. Encoders are opened and closed per session; audio is
 * copied to the worker (the ring keeps its own) and packets come back as messages, so a slow encode
 * delays no request. The worker starts with the first encoder and idles (no CPU) between them. If it
 * dies, every open encoder is told it failed: their sessions lose Opus, never PCM.
 */
export class EncoderPool {
  #worker: Worker | undefined
  #clients = new Map<number, EncoderClient>()
  #nextEpoch = 1

  constructor (readonly log: EncoderLog) {}

  get open (): number { return this.#clients.size }

  /** Opens an encoder; the returned epoch names it in feed() and close(). */
  start (settings: EncoderSettings, client: EncoderClient): number {
    const epoch = this.#nextEpoch++
    this.#clients.set(epoch, client)
    this.#post({ op: 'open', epoch, settings })
    return epoch
  }

  feed (epoch: number, chunk: { sequenceNumber: number, timestamp: number, receivedAt: number, sampleRate: number, channels: number, samples: Float32Array }): void {
    if (!this.#clients.has(epoch)) return
    // A copy of its own for the worker, moved rather than cloned.
    const samples = chunk.samples.slice()
    this.#post({ op: 'feed', epoch, ...chunk, samples }, [samples.buffer])
  }

  stop (epoch: number): void {
    if (!this.#clients.delete(epoch)) return
    this.#post({ op: 'close', epoch })
  }

  /** Stops the worker; open encoders are dropped without being told (the owner is closing). */
  async close (): Promise<void> {
    this.#clients.clear()
    await this.#terminate()
  }

  #post (message: ToWorker, transfer: ArrayBuffer[] = []): void {
    this.#workerOrStart().postMessage(message, transfer)
  }

  #workerOrStart (): Worker {
    if (this.#worker !== undefined) return this.#worker
    const worker = new Worker(WORKER_URL)
    worker.unref()
    worker.on('message', (message: FromWorker) => this.#receive(message))
    worker.on('error', (err) => this.log.error({ err }, 'the Opus encoder thread failed'))
    worker.on('exit', (code) => {
      if (this.#worker !== worker) return
      this.#worker = undefined
      const orphans = [...this.#clients.values()]
      this.#clients.clear()
      if (orphans.length > 0) this.log.warn({ code, encoders: orphans.length }, 'the Opus encoder thread stopped: its encoders fail')
      for (const client of orphans) client.failed('the encoder thread stopped')
    })
    this.#worker = worker
    return worker
  }

  #receive (message: FromWorker): void {
    const client = this.#clients.get(message.epoch)
    if (client === undefined) return
    switch (message.op) {
      case 'opened':
        client.opened(message.preSkip, message.channels)
        return
      case 'encoded':
        client.encoded(message, message.encodeSeconds)
        return
      case 'failed':
        this.#clients.delete(message.epoch)
        client.failed(message.message)
    }
  }

  async #terminate (): Promise<void> {
    const worker = this.#worker
    this.#worker = undefined
    await worker?.terminate()
  }
}
