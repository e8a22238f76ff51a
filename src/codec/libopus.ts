import opusBinding from '@discordjs/opus'
import type { OpusEncoder as NativeOpus } from '@discordjs/opus'
import { CodecError } from './codec-error.js'
import { OPUS_FRAME_SAMPLES, OPUS_SAMPLE_RATE, type OpusChannels } from './opus-format.js'

/**
 * Thin, defensive wrapper around libopus as bundled by @discordjs/opus (libopus 1.3.1, built from
 * the package's own sources by node-gyp when no prebuilt binary can be downloaded).
 *
 * This is the only module that touches the binding, so switching packages is a one-file change.
 *
 * Binding caveats this wrapper guards against:
 * - encode() with a buffer that is not a valid Opus frame size ABORTS the whole Node process
 *   (napi fatal error instead of a JS exception), so the frame length is checked here first.
 * - There is no explicit free: the native OpusEncoder/OpusDecoder are destroyed by the object's
 *   GC finalizer. close() drops the reference; RSS stays bounded (see the 500-encoder test).
 * - OPUS_GET_* CTLs are not exposed (applyEncoderCTL only sets), hence LIBOPUS_LOOKAHEAD_48K.
 */

const { OpusEncoder: NativeOpusClass } = opusBinding

/** libopus CTL request numbers (opus_defines.h). */
const OPUS_SET_COMPLEXITY = 4010
const OPUS_SET_SIGNAL = 4024
const OPUS_SET_VBR = 4006
const OPUS_SIGNAL_MUSIC = 3002

export interface LibopusEncoderOptions {
  channels: OpusChannels
  /** Target bitrate in bits per second, 6000..510000. */
  bitrate: number
  /** 0..10 (10 = best quality, most CPU). */
  complexity: number
}

export class LibopusEncoder {
  private native: NativeOpus | null
  private readonly frameBytes: number

  constructor(readonly options: LibopusEncoderOptions) {
    const { channels, bitrate, complexity } = options
    if (channels !== 1 && channels !== 2) {
      throw new CodecError('INVALID_ENCODER_OPTIONS', 'channels must be 1 or 2', { channels })
    }
    if (!Number.isInteger(bitrate) || bitrate < 6000 || bitrate > 510_000) {
      throw new CodecError('INVALID_ENCODER_OPTIONS', 'bitrate must be an integer in 6000..510000 bit/s', { bitrate })
    }
    if (!Number.isInteger(complexity) || complexity < 0 || complexity > 10) {
      throw new CodecError('INVALID_ENCODER_OPTIONS', 'complexity must be an integer in 0..10', { complexity })
    }
    this.native = new NativeOpusClass(OPUS_SAMPLE_RATE, channels)
    this.native.setBitrate(bitrate)
    this.native.applyEncoderCTL(OPUS_SET_COMPLEXITY, complexity)
    this.native.applyEncoderCTL(OPUS_SET_SIGNAL, OPUS_SIGNAL_MUSIC)
    this.native.applyEncoderCTL(OPUS_SET_VBR, 1)
    this.frameBytes = OPUS_FRAME_SAMPLES * channels * 2
  }

  /** Encodes exactly one 20 ms frame of interleaved s16 PCM into one Opus packet. */
  encodeFrame(pcm: Int16Array): Buffer {
    const native = this.live()
    if (pcm.byteLength !== this.frameBytes) {
      throw new CodecError('INVALID_FRAME', 'PCM frame must hold exactly 960 samples per channel', {
        byteLength: pcm.byteLength,
        expected: this.frameBytes,
      })
    }
    return native.encode(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength))
  }

  close(): void {
    this.native = null
  }

  get closed(): boolean {
    return this.native === null
  }

  private live(): NativeOpus {
    if (this.native === null) throw new CodecError('ENCODER_CLOSED', 'Opus encoder used after close()')
    return this.native
  }
}

/** libopus decoder at 48 kHz (used by tests and for server-side checks). */
export class LibopusDecoder {
  private native: NativeOpus | null

  constructor(readonly channels: OpusChannels) {
    this.native = new NativeOpusClass(OPUS_SAMPLE_RATE, channels)
  }

  /** Decodes one packet to interleaved s16 PCM. Throws CodecError('INVALID_OPUS_PACKET'). */
  decode(packet: Uint8Array): Int16Array {
    if (this.native === null) throw new CodecError('DECODER_CLOSED', 'Opus decoder used after close()')
    if (packet.length === 0) throw new CodecError('INVALID_OPUS_PACKET', 'empty Opus packet')
    let pcm: Buffer
    try {
      pcm = this.native.decode(Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength))
    } catch (err) {
      throw new CodecError('INVALID_OPUS_PACKET', 'libopus could not decode the packet', { cause: String(err) })
    }
    // Copy into an aligned Int16Array (the Buffer may start at an odd byte offset).
    const out = new Int16Array(pcm.length / 2)
    new Uint8Array(out.buffer).set(pcm)
    return out
  }

  close(): void {
    this.native = null
  }
}
