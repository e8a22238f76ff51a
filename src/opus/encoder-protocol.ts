/**
 * Messages between the main thread and the encoder worker. Every session's encoder lives in the worker,
 * so encoding never runs on the thread that answers requests. `epoch` tells one life of a session's
 * encoder from the next: answers for an encoder that was closed meanwhile are ignored.
 */
export interface EncoderSettings {
  readonly bitrateKbps: number
  readonly complexity: number
}

export type ToWorker =
  | { readonly op: 'open', readonly epoch: number, readonly settings: EncoderSettings }
  | {
    readonly op: 'feed'
    readonly epoch: number
    readonly sequenceNumber: number
    readonly timestamp: number
    /** When the chunk reached the server (ms), handed back with its packets. */
    readonly receivedAt: number
    readonly sampleRate: number
    readonly channels: number
    readonly samples: Float32Array
  }
  | { readonly op: 'close', readonly epoch: number }

export type FromWorker =
  | {
    readonly op: 'encoded'
    readonly epoch: number
    readonly sequenceNumber: number
    readonly timestamp: number
    readonly receivedAt: number
    readonly startGranule: number
    readonly packets: Uint8Array[]
    /** How long the encode took on the encoder thread, in seconds (CPU-bound, so close to its CPU time). */
    readonly encodeSeconds: number
  }
  | { readonly op: 'opened', readonly epoch: number, readonly preSkip: number, readonly channels: 1 | 2 }
  | { readonly op: 'failed', readonly epoch: number, readonly message: string }
