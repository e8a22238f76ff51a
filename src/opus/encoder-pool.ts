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

/** One encoder thread and the encoders it runs. */
interface EncoderThread {
  worker: Worker | undefined
  readonly clients: Map<number, EncoderClient>
}

/**
 * The main thread's side of the encoder threads. Encoders are opened and closed per session, each on the
 * thread running the fewest; audio is copied to the thread (the ring keeps its own) and packets come back
 * as messages, so a slow encode delays no request. More than one thread lets encoding use more than one
 * core and keeps one session's chunk from waiting behind many others'. A thread starts with its first
 * encoder and idles (no CPU) between them. If one dies, each of its open encoders is told it failed: their
 * sessions lose Opus, never PCM, and the other threads' encoders go on.
 */
export class EncoderPool {
  readonly #threads: EncoderThread[]
  /** Which thread runs each open encoder. */
  readonly #threadOf = new Map<number, EncoderThread>()
  #nextEpoch = 1

  constructor (readonly log: EncoderLog, threads = 1) {
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError('an encoder pool needs at least one thread')
    this.#threads = Array.from({ length: threads }, () => ({ worker: undefined, clients: new Map() }))
  }

  get open (): number { return this.#threadOf.size }

  /** Threads running now (each starts with its first encoder). */
  get runningThreads (): number { return this.#threads.filter((t) => t.worker !== undefined).length }

  /** Opens an encoder; the returned epoch names it in feed() and close(). */
  start (settings: EncoderSettings, client: EncoderClient): number {
    const epoch = this.#nextEpoch++
    const thread = this.#threads.reduce((least, t) => t.clients.size < least.clients.size ? t : least)
    thread.clients.set(epoch, client)
    this.#threadOf.set(epoch, thread)
    this.#post(thread, { op: 'open', epoch, settings })
    return epoch
  }

  feed (epoch: number, chunk: { sequenceNumber: number, timestamp: number, receivedAt: number, sampleRate: number, channels: number, samples: Float32Array }): void {
    const thread = this.#threadOf.get(epoch)
    if (thread === undefined) return
    // A copy of its own for the worker, moved rather than cloned.
    const samples = chunk.samples.slice()
    this.#post(thread, { op: 'feed', epoch, ...chunk, samples }, [samples.buffer])
  }

  stop (epoch: number): void {
    const thread = this.#threadOf.get(epoch)
    if (thread === undefined) return
    this.#forget(thread, epoch)
    this.#post(thread, { op: 'close', epoch })
  }

  /** Stops the threads; open encoders are dropped without being told (the owner is closing). */
  async close (): Promise<void> {
    this.#threadOf.clear()
    await Promise.all(this.#threads.map(async (thread) => {
      thread.clients.clear()
      const worker = thread.worker
      thread.worker = undefined
      await worker?.terminate()
    }))
  }

  #forget (thread: EncoderThread, epoch: number): void {
    thread.clients.delete(epoch)
    this.#threadOf.delete(epoch)
  }

  #post (thread: EncoderThread, message: ToWorker, transfer: ArrayBuffer[] = []): void {
    this.#workerOf(thread).postMessage(message, transfer)
  }

  #workerOf (thread: EncoderThread): Worker {
    if (thread.worker !== undefined) return thread.worker
    const worker = new Worker(WORKER_URL)
    worker.unref()
    worker.on('message', (message: FromWorker) => this.#receive(thread, message))
    worker.on('error', (err) => this.log.error({ err }, 'an Opus encoder thread failed'))
    worker.on('exit', (code) => {
      if (thread.worker !== worker) return
      thread.worker = undefined
      const orphans = [...thread.clients]
      for (const [epoch] of orphans) this.#forget(thread, epoch)
      if (orphans.length > 0) this.log.warn({ code, encoders: orphans.length }, 'an Opus encoder thread stopped: its encoders fail')
      for (const [, client] of orphans) client.failed('the encoder thread stopped')
    })
    thread.worker = worker
    return worker
  }

  #receive (thread: EncoderThread, message: FromWorker): void {
    const client = thread.clients.get(message.epoch)
    if (client === undefined) return
    switch (message.op) {
      case 'opened':
        client.opened(message.preSkip, message.channels)
        return
      case 'encoded':
        client.encoded(message, message.encodeSeconds)
        return
      case 'failed':
        this.#forget(thread, message.epoch)
        client.failed(message.message)
    }
  }
}
