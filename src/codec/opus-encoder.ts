import { CodecError } from './codec-error.js'
import { mixChannels } from './channel-mixer.js'
import { FrameAccumulator } from './frame-accumulator.js'
import { LibopusEncoder } from './libopus.js'
import {
  LIBOPUS_LOOKAHEAD_48K,
  OPUS_FRAME_SAMPLES,
  OPUS_SAMPLE_RATE,
  type OpusChannels,
} from './opus-format.js'
import { type PcmChunk, validatePcmChunk } from './pcm-chunk.js'
import {
  DEFAULT_SPEEX_QUALITY,
  loadSpeexRuntime,
  SpeexResampler,
  type SpeexQuality,
  type SpeexRuntime,
} from './speex-resampler.js'

/**
 * Per-session streaming Opus encoder: PCM chunks in, 20 ms Opus packets out.
 *
 * Pipeline per chunk: validate -> mix to the output channel count (sanitising NaN/Inf) ->
 * resample to 48 kHz (SpeexDSP, filter state kept across chunks) -> accumulate -> cut 960-sample
 * frames -> libopus. The output format (48 kHz, `channels`) never changes for the life of the
 * encoder, so one continuous Ogg logical stream can carry the whole session.
 *
 * Discontinuities (sequence gap, sample-rate or channel change, resuming after encodeSilence())
 * are handled without breaking the stream: the old segment's resampler tail is flushed, the last
 * few ms still pending are faded out, the resampler is reset (or rebuilt for a new rate) and the
 * new segment fades in. No samples are inserted or dropped, so granule positions stay continuous.
 * The Opus encoder itself is never reset: its state only adapts, the decoder side is never reset.
 */

export interface OpusStreamEncoderOptions {
  /** Output channels, 1 or 2. Default 2. Input with more channels is downmixed. */
  channels?: OpusChannels
  /** Target bitrate in kbit/s, 6..510. Default 128. */
  bitrateKbps?: number
  /**
   * libopus complexity 0..10. Default 7: keeps libopus' signal analysis (enabled from 7 up) and
   * skips the stereo theta RDO and second MDCT of 8..10, which cost ~25 % more CPU
   * (whole path 0.95 % vs 1.2 % of a core per 44.1 kHz stereo session, see bench-encode.ts).
   */
  complexity?: number
  /** Speex resampler quality 0..10. Default 4 (see DEFAULT_SPEEX_QUALITY). */
  resamplerQuality?: SpeexQuality
}

export type DiscontinuityReason = 'sequence-gap' | 'format-change' | 'after-silence'

export interface EncodedChunk {
  /** From the chunk that produced these packets (or null for encodeSilence()). */
  readonly sequenceNumber: number | null
  readonly timestamp: number | null
  /** 20 ms Opus packets in order. May be empty (not enough audio for a frame yet). */
  readonly packets: readonly Buffer[]
  /**
   * Granule position (48 kHz samples since the start of the session's stream, counting the
   * pre-skip samples as Ogg/Opus does) at the START of packets[0]. Packet i ends at
   * startGranule + (i + 1) * 960.
   */
  readonly startGranule: number
  /** Granule at the end of the last packet (= startGranule when there are no packets). */
  readonly endGranule: number
  /** Set when this chunk started a new segment and the pipeline was reset. */
  readonly discontinuity: DiscontinuityReason | null
}

/** Frames faded at a discontinuity on each side: 2.5 ms at 48 kHz. */
const FADE_FRAMES = 120

const DEFAULTS = { channels: 2, bitrateKbps: 128, complexity: 7, resamplerQuality: DEFAULT_SPEEX_QUALITY } as const

export class OpusStreamEncoder {
  readonly channels: OpusChannels
  readonly bitrateKbps: number
  readonly complexity: number
  /** Samples (48 kHz) the decoder must discard at the start: goes into OpusHead. */
  readonly preSkip = LIBOPUS_LOOKAHEAD_48K

  private readonly resamplerQuality: SpeexQuality
  private readonly opus: LibopusEncoder
  private readonly frames: FrameAccumulator
  private resampler: SpeexResampler | null = null
  private format: { sampleRate: number; channels: number } | null = null
  private lastSequence: number | null = null
  private granule = 0
  private fadeInNext = false
  private silent = false
  private closed = false

  /** Use create(); the constructor needs the already loaded wasm runtime. */
  constructor(
    private readonly runtime: SpeexRuntime,
    options: OpusStreamEncoderOptions = {},
  ) {
    this.channels = options.channels ?? DEFAULTS.channels
    this.bitrateKbps = options.bitrateKbps ?? DEFAULTS.bitrateKbps
    this.complexity = options.complexity ?? DEFAULTS.complexity
    this.resamplerQuality = options.resamplerQuality ?? DEFAULTS.resamplerQuality
    this.opus = new LibopusEncoder({
      channels: this.channels,
      bitrate: Math.round(this.bitrateKbps * 1000),
      complexity: this.complexity,
    })
    this.frames = new FrameAccumulator(this.channels, OPUS_FRAME_SAMPLES, FADE_FRAMES)
  }

  static async create(options: OpusStreamEncoderOptions = {}): Promise<OpusStreamEncoder> {
    return new OpusStreamEncoder(await loadSpeexRuntime(), options)
  }

  /** Granule position after the last packet produced so far. */
  get granulePosition(): number {
    return this.granule
  }

  /** Encodes one chunk; returns the packets for every 20 ms frame it completed. */
  feed(chunk: PcmChunk): EncodedChunk {
    this.assertOpen()
    validatePcmChunk(chunk)

    const reason = this.detectDiscontinuity(chunk)
    if (reason !== null) this.beginSegment(chunk.sampleRate)
    else if (this.format === null) this.resampler = this.makeResampler(chunk.sampleRate)
    this.format = { sampleRate: chunk.sampleRate, channels: chunk.channels }
    this.lastSequence = chunk.sequenceNumber

    const mixed = mixChannels(chunk.samples, chunk.channels, this.channels)
    const audio = this.resampler === null ? mixed : this.resampler.process(mixed)
    if (this.fadeInNext && audio.length > 0) {
      fadeIn(audio, this.channels, FADE_FRAMES)
      this.fadeInNext = false
    }
    this.frames.push(audio)
    return this.encodePending(chunk.sequenceNumber, chunk.timestamp, reason)
  }

  /**
   * Encodes `frameCount` 20 ms frames of silence, e.g. when the sharer stopped sending and
   * listeners must keep receiving a live stream. The audio still pending is faded out first;
   * the next feed() fades in and reports discontinuity 'after-silence'.
   */
  encodeSilence(frameCount: number): EncodedChunk {
    this.assertOpen()
    if (!Number.isInteger(frameCount) || frameCount < 0) {
      throw new CodecError('INVALID_ARGUMENT', 'frameCount must be a non-negative integer', { frameCount })
    }
    if (!this.silent) {
      this.endSegment()
      this.silent = true
    }
    // Pad the pending remainder to a frame boundary, then add whole frames of silence.
    const pending = this.frames.pendingFrames
    const toBoundary = (OPUS_FRAME_SAMPLES - (pending % OPUS_FRAME_SAMPLES)) % OPUS_FRAME_SAMPLES
    this.frames.pushSilence(toBoundary + frameCount * OPUS_FRAME_SAMPLES)
    const startGranule = this.granule
    const packets = this.frames.takeFrames(true).map((frame) => this.encodeFrame(frame))
    return { sequenceNumber: null, timestamp: null, packets, startGranule, endGranule: this.granule, discontinuity: null }
  }

  /**
   * Forces a segment boundary (flush + fade-out now, fade-in on the next chunk) without changing
   * the output format. feed() calls this itself on sequence gaps and format changes.
   */
  reset(): void {
    this.assertOpen()
    this.endSegment()
    this.resampler?.reset()
    this.fadeInNext = true
  }

  /** Releases the wasm resampler state and the native encoder. Idempotent. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.resampler?.destroy()
    this.resampler = null
    this.opus.close()
    this.frames.clear()
  }

  private detectDiscontinuity(chunk: PcmChunk): DiscontinuityReason | null {
    if (this.format === null && !this.silent) return null
    if (this.format !== null && (chunk.sampleRate !== this.format.sampleRate || chunk.channels !== this.format.channels)) {
      return 'format-change'
    }
    if (this.silent) return 'after-silence'
    if (this.lastSequence !== null && chunk.sequenceNumber !== this.lastSequence + 1) return 'sequence-gap'
    return null
  }

  private beginSegment(sampleRate: number): void {
    if (!this.silent) this.endSegment()
    this.silent = false
    this.fadeInNext = true
    if (this.resampler !== null && this.resampler.inRate === sampleRate) {
      this.resampler.reset()
    } else {
      this.resampler?.destroy()
      this.resampler = this.makeResampler(sampleRate)
    }
  }

  /** Emits the resampler's held-back tail and fades out the audio still pending. */
  private endSegment(): void {
    if (this.resampler !== null) this.frames.push(this.resampler.flush())
    this.frames.fadeOutTail(FADE_FRAMES)
  }

  private makeResampler(sampleRate: number): SpeexResampler | null {
    if (sampleRate === OPUS_SAMPLE_RATE) return null
    return new SpeexResampler(this.runtime, this.channels, sampleRate, OPUS_SAMPLE_RATE, this.resamplerQuality)
  }

  private encodePending(sequenceNumber: number, timestamp: number, reason: DiscontinuityReason | null): EncodedChunk {
    const startGranule = this.granule
    const packets = this.frames.takeFrames().map((frame) => this.encodeFrame(frame))
    return { sequenceNumber, timestamp, packets, startGranule, endGranule: this.granule, discontinuity: reason }
  }

  private encodeFrame(frame: Int16Array): Buffer {
    const packet = this.opus.encodeFrame(frame)
    this.granule += OPUS_FRAME_SAMPLES
    return packet
  }

  private assertOpen(): void {
    if (this.closed) throw new CodecError('ENCODER_CLOSED', 'OpusStreamEncoder used after close()')
  }
}

function fadeIn(audio: Float32Array, channels: number, fadeFrames: number): void {
  const n = Math.min(fadeFrames, audio.length / channels)
  for (let f = 0; f < n; f++) {
    const gain = (f + 1) / (n + 1)
    for (let c = 0; c < channels; c++) {
      const i = f * channels + c
      audio[i] = (audio[i] as number) * gain
    }
  }
}
