import { randomInt } from 'node:crypto'
import { CodecError } from '../codec/codec-error.js'
import { OGG_FLAG_BOS, paginate, type PacketWithGranule } from './ogg-page.js'
import { OPUS_FRAME_SAMPLES, OPUS_SAMPLE_RATE, type OpusChannels } from '../codec/opus-format.js'

/**
 * Ogg/Opus stream writer (RFC 7845 on RFC 3533), one instance per listener connection.
 *
 * The session encodes once; each listener gets its own muxer because Ogg pages carry a per-stream
 * page sequence number and CRC, and a late joiner's stream must start with the two header pages
 * (sequence 0 and 1) and continue without a sequence gap. Paging ~8 KB per 0.5 s is cheap
 * (a few µs of CRC), so per-listener muxing costs far less than per-listener encoding would.
 *
 * Granule modes:
 * - 'rebase' (default): the listener's stream counts its own samples from 0, so every stream
 *   looks like a fresh file to the player (ffmpeg, VLC, browsers show time from 0:00), and chunks
 *   the relay skipped for a slow listener do not create granule jumps.
 * - 'session': pages carry the session's granule positions. A late joiner's stream then starts
 *   at a non-zero granule; RFC 7845 allows this, but players differ in how they show the offset.
 *
 * One logical stream for the whole session: song or input-format changes never start a new
 * chained stream (metadata such as titles must travel on a side channel, not in OpusTags).
 */

export type GranuleMode = 'rebase' | 'session'

export interface OggOpusMuxerOptions {
  readonly channels: OpusChannels
  /** Encoder lookahead in 48 kHz samples (OpusStreamEncoder.preSkip). */
  readonly preSkip: number
  /** Ogg logical stream serial number. Default: random 32-bit. */
  readonly serialNumber?: number
  /** OpusTags vendor string. Default: the encoder library. */
  readonly vendor?: string
  /** OpusTags user comments, each "KEY=value". */
  readonly comments?: readonly string[]
  /** Default 'rebase'. */
  readonly granuleMode?: GranuleMode
  /** Packets per page at most (default 50 = 1 s): bounds page size for join bursts. */
  readonly maxPacketsPerPage?: number
  /**
   * Set for a listener whose stream starts mid-session. A libopus decoder that starts on a
   * packet from the middle of a stream needs ~150 ms to converge (CELT energy prediction; a test
   * measured 5 dB SNR in the first 50 ms, 16 dB at 50-100 ms, 30 dB at 100-150 ms), and RFC 7845
   * section 4.6 asks for >= 80 ms of pre-roll when starting mid-stream. The muxer therefore adds
   * LATE_JOIN_PRE_ROLL_SAMPLES to the OpusHead pre-skip, so players decode and discard that
   * transient instead of playing it. Default false.
   */
  readonly lateJoin?: boolean
}

/** 160 ms (8 frames) of extra pre-skip for late joiners. */
export const LATE_JOIN_PRE_ROLL_SAMPLES = 8 * OPUS_FRAME_SAMPLES

/** What the muxer needs from an encoded chunk (matches EncodedChunk). */
export interface OpusPacketRun {
  readonly packets: readonly Uint8Array[]
  /** Session granule at the start of packets[0]; each packet is one 20 ms frame. */
  readonly startGranule: number
}

export const DEFAULT_OPUS_VENDOR = 'libopus 1.3.1 (Music Share)'

/** RFC 7845 section 5.1 identification header, channel mapping family 0. */
export function buildOpusHead(channels: OpusChannels, preSkip: number, inputSampleRate = OPUS_SAMPLE_RATE): Buffer {
  if (!Number.isInteger(preSkip) || preSkip < 0 || preSkip > 0xffff) {
    throw new CodecError('INVALID_OGG_OPTIONS', 'preSkip must be an integer in 0..65535', { preSkip })
  }
  const head = Buffer.alloc(19)
  head.write('OpusHead', 0, 'latin1')
  head.writeUInt8(1, 8) // version
  head.writeUInt8(channels, 9)
  head.writeUInt16LE(preSkip, 10)
  head.writeUInt32LE(inputSampleRate, 12)
  head.writeInt16LE(0, 16) // output gain (Q7.8 dB)
  head.writeUInt8(0, 18) // mapping family 0: mono/stereo, no mapping table
  return head
}

/** RFC 7845 section 5.2 comment header. */
export function buildOpusTags(vendor: string, comments: readonly string[] = []): Buffer {
  const vendorBytes = Buffer.from(vendor, 'utf8')
  const commentBytes = comments.map((c) => {
    if (!c.includes('=')) throw new CodecError('INVALID_OGG_OPTIONS', 'Opus comments must look like KEY=value', { comment: c })
    return Buffer.from(c, 'utf8')
  })
  const size = 8 + 4 + vendorBytes.length + 4 + commentBytes.reduce((n, b) => n + 4 + b.length, 0)
  const tags = Buffer.alloc(size)
  tags.write('OpusTags', 0, 'latin1')
  let at = tags.writeUInt32LE(vendorBytes.length, 8)
  at += vendorBytes.copy(tags, at)
  at = tags.writeUInt32LE(commentBytes.length, at)
  for (const c of commentBytes) {
    at = tags.writeUInt32LE(c.length, at)
    at += c.copy(tags, at)
  }
  return tags
}

export class OggOpusMuxer {
  readonly serialNumber: number
  readonly granuleMode: GranuleMode
  /** Pre-skip written into OpusHead (encoder lookahead, plus pre-roll for late joiners). */
  readonly preSkip: number
  private readonly maxPacketsPerPage: number
  private nextSequence = 0
  private listenerGranule = 0
  private headersWritten = false
  private ended = false

  constructor(private readonly options: OggOpusMuxerOptions) {
    if (options.channels !== 1 && options.channels !== 2) {
      throw new CodecError('INVALID_OGG_OPTIONS', 'channels must be 1 or 2', { channels: options.channels })
    }
    this.serialNumber = options.serialNumber ?? randomInt(0, 2 ** 32)
    if (!Number.isInteger(this.serialNumber) || this.serialNumber < 0 || this.serialNumber >= 2 ** 32) {
      throw new CodecError('INVALID_OGG_OPTIONS', 'serialNumber must be an unsigned 32-bit integer', { serialNumber: this.serialNumber })
    }
    this.granuleMode = options.granuleMode ?? 'rebase'
    this.preSkip = options.preSkip + (options.lateJoin === true ? LATE_JOIN_PRE_ROLL_SAMPLES : 0)
    buildOpusHead(options.channels, this.preSkip) // validates the pre-skip range early
    this.maxPacketsPerPage = options.maxPacketsPerPage ?? 50
    if (!Number.isInteger(this.maxPacketsPerPage) || this.maxPacketsPerPage < 1) {
      throw new CodecError('INVALID_OGG_OPTIONS', 'maxPacketsPerPage must be a positive integer', { maxPacketsPerPage: this.maxPacketsPerPage })
    }
  }

  /**
   * The two header pages (OpusHead with BOS, then OpusTags). A listener's stream must start with
   * them; write() prepends them automatically if this was not called first.
   */
  headerPages(): Buffer {
    if (this.headersWritten) throw new CodecError('OGG_HEADERS_ALREADY_WRITTEN', 'header pages were already produced')
    this.headersWritten = true
    const { channels, vendor, comments } = this.options
    const head = paginate([{ data: buildOpusHead(channels, this.preSkip), granulePosition: 0n }], {
      serialNumber: this.serialNumber,
      firstSequence: this.nextSequence++,
      firstPageFlags: OGG_FLAG_BOS,
    })
    const tags = paginate([{ data: buildOpusTags(vendor ?? DEFAULT_OPUS_VENDOR, comments), granulePosition: 0n }], {
      serialNumber: this.serialNumber,
      firstSequence: this.nextSequence,
    })
    this.nextSequence += tags.length // huge comment sets may span pages
    return Buffer.concat([...head, ...tags])
  }

  /**
   * Pages for the given runs of packets (one live chunk, or several for a join burst).
   * Returns an empty buffer if there is nothing to write. endOfStream marks the last page EOS.
   */
  write(runs: readonly OpusPacketRun[], options: { endOfStream?: boolean } = {}): Buffer {
    if (this.ended) throw new CodecError('OGG_STREAM_ENDED', 'write() after the end-of-stream page')
    const prefix = this.headersWritten ? [] : [this.headerPages()]
    const packets: PacketWithGranule[] = []
    for (const run of runs) {
      run.packets.forEach((data, i) => {
        let granule: number
        if (this.granuleMode === 'rebase') {
          this.listenerGranule += OPUS_FRAME_SAMPLES
          granule = this.listenerGranule
        } else {
          granule = run.startGranule + (i + 1) * OPUS_FRAME_SAMPLES
        }
        packets.push({ data, granulePosition: BigInt(granule) })
      })
    }
    const endOfStream = options.endOfStream === true
    if (packets.length === 0 && !endOfStream) return prefix.length === 0 ? Buffer.alloc(0) : Buffer.concat(prefix)
    const pages = paginate(packets, {
      serialNumber: this.serialNumber,
      firstSequence: this.nextSequence,
      endOfStream,
      maxPacketsPerPage: this.maxPacketsPerPage,
    })
    this.nextSequence += pages.length
    if (endOfStream) this.ended = true
    return Buffer.concat([...prefix, ...pages])
  }
}
