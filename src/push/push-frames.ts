import type { AudioFormat } from '../session/audio-format.js'
import type { AudioRing, BufferedChunk } from '../session/audio-ring.js'
import { encodePacketFrame } from '../codec/packet-framing.js'
import { OPUS_RATE, type OpusChunk } from '../opus/opus-chunk.js'

/**
 * Binary audio frame of the WebSocket protocol (both directions), little-endian:
 *
 *   offset 0   uint32   sequenceNumber
 *   offset 4   float64  timestamp (Unix ms)
 *   offset 12  uint32   sampleRate
 *   offset 16  uint8    channels
 *   offset 17  uint8    codec: 0 PCM, 1 Opus
 *   offset 18  2 bytes  reserved, zero
 *   offset 20  PCM:  float32[] interleaved PCM (frames x channels)
 *              Opus: float64 granule position of the first packet (48 kHz samples since the stream
 *                    began, pre-skip included); offset 28 float64 when the chunk reached the server
 *                    (server clock, Unix ms); offset 36 the packets: uint16 N, N x uint16 length, the bytes
 *
 * The PCM starts 4-byte aligned so a receiver can view it as a Float32Array without copying.
 * An Opus frame carries 48000 and the stream's channels (1 or 2) whatever the sharer sends.
 */
export const AUDIO_FRAME_HEADER_BYTES = 20
export const Codec = { PCM: 0, OPUS: 1 } as const
/** Where an Opus frame's packets start. */
export const OPUS_FRAME_HEADER_BYTES = AUDIO_FRAME_HEADER_BYTES + 16

export interface AudioFrame {
  readonly sequenceNumber: number
  readonly timestamp: number
  readonly format: AudioFormat
  /** The PCM bytes (little-endian float32), a view into the frame. */
  readonly pcm: Buffer
}

/** Frames are built once per chunk and shared by every listener (the WeakMap lets evicted chunks go). */
const frames = new WeakMap<BufferedChunk, Buffer>()
const pcm16 = new WeakMap<BufferedChunk, Buffer>()
const opusFrames = new WeakMap<OpusChunk, Buffer>()

function writeHeader (out: Buffer, sequenceNumber: number, timestamp: number, format: AudioFormat, codec: number = Codec.PCM): void {
  out.writeUInt32LE(sequenceNumber, 0)
  out.writeDoubleLE(timestamp, 4)
  out.writeUInt32LE(format.sampleRate, 12)
  out.writeUInt8(format.channels, 16)
  out.writeUInt8(codec, 17)
  out.fill(0, 18, AUDIO_FRAME_HEADER_BYTES)
}

/** Header, granule and packets of one Opus chunk (built once, shared by every listener). */
export function opusFrameOf (chunk: OpusChunk): Buffer {
  let frame = opusFrames.get(chunk)
  if (frame === undefined) {
    const packets = encodePacketFrame(chunk.packets)
    frame = Buffer.allocUnsafe(OPUS_FRAME_HEADER_BYTES + packets.length)
    writeHeader(frame, chunk.sequenceNumber, chunk.timestamp, { sampleRate: OPUS_RATE, channels: chunk.channels }, Codec.OPUS)
    frame.writeDoubleLE(chunk.startGranule, AUDIO_FRAME_HEADER_BYTES)
    frame.writeDoubleLE(chunk.receivedAt, AUDIO_FRAME_HEADER_BYTES + 8)
    packets.copy(frame, OPUS_FRAME_HEADER_BYTES)
    opusFrames.set(chunk, frame)
  }
  return frame
}

/** Header + float32 PCM of one buffered chunk (call while the chunk is still in the ring). */
export function audioFrameOf (ring: AudioRing, chunk: BufferedChunk): Buffer {
  let frame = frames.get(chunk)
  if (frame === undefined) {
    const samples = ring.samplesOf(chunk)
    frame = Buffer.allocUnsafe(AUDIO_FRAME_HEADER_BYTES + samples.byteLength)
    writeHeader(frame, chunk.sequenceNumber, chunk.timestamp, chunk.format)
    Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength).copy(frame, AUDIO_FRAME_HEADER_BYTES)
    frames.set(chunk, frame)
  }
  return frame
}

/** Builds a frame from parts (sharers and tests). */
export function encodeAudioFrame (sequenceNumber: number, timestamp: number, format: AudioFormat, samples: Float32Array): Buffer {
  const frame = Buffer.allocUnsafe(AUDIO_FRAME_HEADER_BYTES + samples.byteLength)
  writeHeader(frame, sequenceNumber, timestamp, format)
  Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength).copy(frame, AUDIO_FRAME_HEADER_BYTES)
  return frame
}

/** Reads a frame's header; `undefined` when it is shorter than the header. Values are checked by the caller. */
export function decodeAudioFrame (frame: Buffer): AudioFrame | undefined {
  if (frame.length < AUDIO_FRAME_HEADER_BYTES) return undefined
  return {
    sequenceNumber: frame.readUInt32LE(0),
    timestamp: frame.readDoubleLE(4),
    format: { sampleRate: frame.readUInt32LE(12), channels: frame.readUInt8(16) },
    pcm: frame.subarray(AUDIO_FRAME_HEADER_BYTES)
  }
}

/** 16-bit little-endian PCM of one buffered chunk, for stream.wav (built once per chunk). */
export function pcm16Of (ring: AudioRing, chunk: BufferedChunk): Buffer {
  let out = pcm16.get(chunk)
  if (out === undefined) {
    const samples = ring.samplesOf(chunk)
    out = Buffer.allocUnsafe(samples.length * 2)
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i]!
      const clamped = s >= 1 ? 1 : s <= -1 ? -1 : s
      out.writeInt16LE(Math.round(clamped * 32767), i * 2)
    }
    pcm16.set(chunk, out)
  }
  return out
}

/** Declared size of a WAV stream with no end: the largest a RIFF header can say. */
const UNKNOWN_SIZE = 0xffffffff

/**
 * A 44-byte canonical WAV header for 16-bit PCM whose length is not known. RIFF and data sizes are
 * 0xFFFFFFFF, which ffmpeg, mpv, VLC and browsers read as "until the stream ends".
 */
export function wavHeader (format: AudioFormat): Buffer {
  const h = Buffer.alloc(44)
  const blockAlign = format.channels * 2
  h.write('RIFF', 0, 'latin1')
  h.writeUInt32LE(UNKNOWN_SIZE, 4)
  h.write('WAVE', 8, 'latin1')
  h.write('fmt ', 12, 'latin1')
  h.writeUInt32LE(16, 16)
  h.writeUInt16LE(1, 20)
  h.writeUInt16LE(format.channels, 22)
  h.writeUInt32LE(format.sampleRate, 24)
  h.writeUInt32LE(format.sampleRate * blockAlign, 28)
  h.writeUInt16LE(blockAlign, 32)
  h.writeUInt16LE(16, 34)
  h.write('data', 36, 'latin1')
  h.writeUInt32LE(UNKNOWN_SIZE, 40)
  return h
}
