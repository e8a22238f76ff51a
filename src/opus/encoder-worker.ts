import { parentPort } from 'node:worker_threads'
import { OpusStreamEncoder } from '../codec/opus-encoder.js'
import type { FromWorker, ToWorker } from './encoder-protocol.js'

/**
 * The encoder thread: one OpusStreamEncoder per open epoch. Work for one epoch runs in order (each
 * message waits for the one before it, since creating an encoder is asynchronous); a failure is reported
 * once and the epoch's encoder is dropped, so the other sessions carry on.
 */
const port = parentPort
if (port === null) throw new Error('encoder-worker.ts runs as a worker thread')

const encoders = new Map<number, Promise<OpusStreamEncoder | undefined>>()
const post = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer)
/** Reports a failed epoch and forgets it: the main thread forgets it too, and sends nothing more for it. */
const failed = (epoch: number, err: unknown) => {
  encoders.delete(epoch)
  post({ op: 'failed', epoch, message: err instanceof Error ? err.message : String(err) })
  return undefined
}

function handle (message: ToWorker): void {
  const { epoch } = message
  if (message.op === 'open') {
    encoders.set(epoch, OpusStreamEncoder.create(message.settings).then((encoder) => {
      post({ op: 'opened', epoch, preSkip: encoder.preSkip, channels: encoder.channels })
      return encoder
    }, (err: unknown) => failed(epoch, err)))
    return
  }
  const pending = encoders.get(epoch)
  if (pending === undefined) return
  if (message.op === 'close') {
    encoders.delete(epoch)
    void pending.then((encoder) => encoder?.close())
    return
  }
  encoders.set(epoch, pending.then((encoder) => {
    if (encoder === undefined) return undefined
    try {
      // Wall time of a synchronous, CPU-bound call on this thread (process.cpuUsage would count every thread).
      const before = process.hrtime.bigint()
      const out = encoder.feed(message)
      const seconds = Number(process.hrtime.bigint() - before) / 1e9
      const packets = out.packets.map((p) => new Uint8Array(p))
      post({
        op: 'encoded',
        epoch,
        sequenceNumber: message.sequenceNumber,
        timestamp: message.timestamp,
        receivedAt: message.receivedAt,
        startGranule: out.startGranule,
        packets,
        encodeSeconds: seconds
      })
      return encoder
    } catch (err) {
      encoder.close()
      return failed(epoch, err)
    }
  }))
}

port.on('message', handle)
