import t from 'tap'
import { LibopusDecoder, LibopusEncoder } from '../../src/codec/libopus.js'
import { OpusStreamEncoder, type EncodedChunk } from '../../src/codec/opus-encoder.js'
import { LIBOPUS_LOOKAHEAD_48K, OPUS_FRAME_SAMPLES } from '../../src/codec/opus-format.js'
import { decodePacketFrame, decodePacketFrameBase64, encodePacketFrame, encodePacketFrameBase64 } from '../../src/codec/packet-framing.js'
import { expectCodecError } from './helpers/expect.js'
import { alignAndSnr, channel, sineChunk, TONE_AMPLITUDE, TONE_HZ } from './helpers/signal.js'

function s16ToFloat(pcm: Int16Array): Float32Array {
  return Float32Array.from(pcm, (v) => v / 32768)
}

/** Feeds `count` 0.5 s sine chunks at the given format; returns the encoded chunks. */
function feedTone(enc: OpusStreamEncoder, rate: number, channels: number, firstSeq: number, count: number, startSec = 0): EncodedChunk[] {
  const frames = rate / 2
  const out: EncodedChunk[] = []
  for (let i = 0; i < count; i++) {
    const samples = sineChunk(rate, channels, frames, startSec + i * 0.5)
    out.push(enc.feed({ samples, sampleRate: rate, channels, sequenceNumber: firstSeq + i, timestamp: 1_700_000_000_000 + i * 500 }))
  }
  return out
}

t.test('44.1 kHz stereo 0.5 s chunks: 25 packets per chunk once steady, continuous granules, all decodable', async (t) => {
  const enc = await OpusStreamEncoder.create({ bitrateKbps: 128 })
  t.equal(enc.preSkip, 312)
  const chunks = feedTone(enc, 44100, 2, 0, 20)
  const counts = chunks.map((c) => c.packets.length)
  t.equal(counts[0], 24, 'first chunk: 24 frames (resampler + 2.5 ms holdback keep the rest pending)')
  t.ok(counts.slice(1).every((n) => n === 25), `steady 25 per chunk: ${counts.join(',')}`)

  const decoder = new LibopusDecoder(2)
  let granule = 0
  let bytes = 0
  for (const chunk of chunks) {
    t.equal(chunk.discontinuity, null)
    t.equal(chunk.startGranule, granule, 'startGranule continues the previous endGranule')
    t.equal(chunk.endGranule, chunk.startGranule + OPUS_FRAME_SAMPLES * chunk.packets.length)
    granule = chunk.endGranule

    // Framing round trip (binary and base64) must return byte-identical packets.
    const framed = decodePacketFrame(encodePacketFrame(chunk.packets))
    const viaJson = decodePacketFrameBase64(encodePacketFrameBase64(chunk.packets))
    t.same(framed.map((p) => Buffer.from(p).toString('base64')), chunk.packets.map((p) => p.toString('base64')))
    t.equal(viaJson.length, chunk.packets.length)

    for (const packet of framed) {
      bytes += packet.length
      t.equal(decoder.decode(packet).length, OPUS_FRAME_SAMPLES * 2, 'each packet decodes to 20 ms of stereo')
    }
  }
  t.equal(enc.granulePosition, granule)
  const kbps = (bytes * 8) / (granule / 48000) / 1000
  t.ok(kbps > 100 && kbps < 160, `average bitrate ${kbps.toFixed(1)} kbit/s`)
  decoder.close()
  enc.close()
})

t.test('pre-skip equals the measured codec delay (LIBOPUS_LOOKAHEAD_48K)', async (t) => {
  const enc = await OpusStreamEncoder.create()
  const chunks = feedTone(enc, 48000, 2, 0, 4) // 48 kHz input: no resampler in the path
  const decoder = new LibopusDecoder(2)
  const decoded: number[] = []
  for (const c of chunks) for (const p of c.packets) decoded.push(...s16ToFloat(decoder.decode(p)))
  const left = channel(Float32Array.from(decoded), 2, 0)
  const ref = (n: number): number => TONE_AMPLITUDE * Math.sin((2 * Math.PI * TONE_HZ * n) / 48000)
  // Search lags within one period around the expected delay: a pure tone is periodic.
  const fit = alignAndSnr(left, ref, 4800, left.length - 4800, LIBOPUS_LOOKAHEAD_48K - 50, LIBOPUS_LOOKAHEAD_48K + 50)
  t.ok(Math.abs(fit.lag - LIBOPUS_LOOKAHEAD_48K) < 1, `measured delay ${fit.lag.toFixed(2)} samples`)
  t.ok(fit.snrDb >= 30, `SNR ${fit.snrDb.toFixed(1)} dB`)
  decoder.close()
  enc.close()
})

t.test('discontinuities: sequence gap, format change, silence; granules never jump', async (t) => {
  const enc = await OpusStreamEncoder.create()
  const all: EncodedChunk[] = []
  all.push(...feedTone(enc, 44100, 2, 10, 3))
  const gap = feedTone(enc, 44100, 2, 20, 2, 1.5) // seq 12..19 missing
  t.equal(gap[0]?.discontinuity, 'sequence-gap')
  t.equal(gap[1]?.discontinuity, null)
  all.push(...gap)
  const change = feedTone(enc, 48000, 1, 22, 2, 2.5) // 48 kHz mono
  t.equal(change[0]?.discontinuity, 'format-change')
  all.push(...change)
  const silence = enc.encodeSilence(25)
  t.ok(silence.packets.length >= 25 && silence.packets.length <= 26, `silence packets: ${silence.packets.length}`)
  all.push(silence)
  const resumed = feedTone(enc, 96000, 6, 24, 2, 4)
  t.equal(resumed[0]?.discontinuity, 'format-change', 'format change wins over after-silence')
  all.push(...resumed)
  all.push(enc.encodeSilence(5))
  const sameFormat = feedTone(enc, 96000, 6, 26, 1, 4.5)
  t.equal(sameFormat[0]?.discontinuity, 'after-silence')
  all.push(...sameFormat)
  // Restart of the sharer from sequence 0 is just another gap.
  const restart = feedTone(enc, 96000, 6, 0, 1, 5)
  t.equal(restart[0]?.discontinuity, 'sequence-gap')
  all.push(...restart)

  let granule = 0
  for (const c of all) {
    t.equal(c.startGranule, granule)
    granule = c.endGranule
  }
  const decoder = new LibopusDecoder(2)
  let maxAbs = 0
  for (const c of all) for (const p of c.packets) for (const v of decoder.decode(p)) maxAbs = Math.max(maxAbs, Math.abs(v))
  t.ok(maxAbs / 32768 < TONE_AMPLITUDE * 1.2, `no overshoot/click beyond the tone level: peak ${(maxAbs / 32768).toFixed(3)}`)
  decoder.close()
  enc.close()
})

t.test('NaN/Infinity in a chunk do not poison the resampler', async (t) => {
  const enc = await OpusStreamEncoder.create()
  feedTone(enc, 44100, 2, 0, 2)
  const bad = sineChunk(44100, 2, 22050, 1)
  bad[100] = Number.NaN
  bad[201] = Number.POSITIVE_INFINITY
  enc.feed({ samples: bad, sampleRate: 44100, channels: 2, sequenceNumber: 2, timestamp: 0 })
  const after = feedTone(enc, 44100, 2, 3, 2, 1.5)
  const decoder = new LibopusDecoder(2)
  let energy = 0
  for (const c of after) for (const p of c.packets) for (const v of decoder.decode(p)) energy += (v / 32768) ** 2
  t.ok(energy > 1000, 'audio continues after the bad samples')
  decoder.close()
  enc.close()
})

t.test('digital silence still yields one packet per 20 ms (no DTX gaps)', async (t) => {
  const enc = await OpusStreamEncoder.create()
  const counts = [0, 1, 2].map((seq) =>
    enc.feed({ samples: new Float32Array(48000), sampleRate: 48000, channels: 2, sequenceNumber: seq, timestamp: 0 }).packets.length,
  )
  t.same(counts, [24, 25, 25])
  enc.close()
})

t.test('validation and lifecycle errors are DomainErrors', async (t) => {
  const enc = await OpusStreamEncoder.create({ channels: 1, bitrateKbps: 64, complexity: 5 })
  const ok = { samples: new Float32Array(4), sampleRate: 44100, channels: 2, sequenceNumber: 0, timestamp: 0 }
  expectCodecError(t, () => enc.feed({ ...ok, sampleRate: 7999 }), 'INVALID_PCM_CHUNK')
  expectCodecError(t, () => enc.feed({ ...ok, sampleRate: 44100.5 }), 'INVALID_PCM_CHUNK')
  expectCodecError(t, () => enc.feed({ ...ok, channels: 9 }), 'INVALID_PCM_CHUNK')
  expectCodecError(t, () => enc.feed({ ...ok, samples: new Float32Array(5) }), 'INVALID_PCM_CHUNK')
  expectCodecError(t, () => enc.feed({ ...ok, sequenceNumber: 1.5 }), 'INVALID_PCM_CHUNK')
  expectCodecError(t, () => enc.feed({ ...ok, timestamp: Number.NaN }), 'INVALID_PCM_CHUNK')
  t.equal(enc.feed(ok).packets.length, 0, 'tiny chunk: nothing to emit yet')
  expectCodecError(t, () => enc.encodeSilence(-1), 'INVALID_ARGUMENT')
  enc.close()
  enc.close()
  expectCodecError(t, () => enc.feed(ok), 'ENCODER_CLOSED')
  await t.rejects(OpusStreamEncoder.create({ bitrateKbps: 1 }), { code: 'INVALID_ENCODER_OPTIONS' })
  await t.rejects(OpusStreamEncoder.create({ complexity: 11 }), { code: 'INVALID_ENCODER_OPTIONS' })
})

t.test('reset() forces a faded segment boundary without touching granules or format', async (t) => {
  const enc = await OpusStreamEncoder.create()
  const before = feedTone(enc, 44100, 2, 0, 2)
  enc.reset()
  const after = feedTone(enc, 44100, 2, 2, 2, 1)
  t.equal(after[0]?.discontinuity, null, 'sequence continues, so no discontinuity is reported')
  t.equal(after[0]?.startGranule, before[1]?.endGranule)
  t.equal(enc.channels, 2)
  enc.close()
  expectCodecError(t, () => enc.reset(), 'ENCODER_CLOSED')
})

t.test('libopus wrapper: wrong frame size is a CodecError, not a process abort', async (t) => {
  const enc = new LibopusEncoder({ channels: 2, bitrate: 128000, complexity: 5 })
  expectCodecError(t, () => enc.encodeFrame(new Int16Array(100)), 'INVALID_FRAME')
  t.ok(enc.encodeFrame(new Int16Array(1920)).length > 0)
  enc.close()
  t.ok(enc.closed)
  expectCodecError(t, () => enc.encodeFrame(new Int16Array(1920)), 'ENCODER_CLOSED')
  expectCodecError(t, () => new LibopusEncoder({ channels: 3 as 2, bitrate: 128000, complexity: 5 }), 'INVALID_ENCODER_OPTIONS')

  const dec = new LibopusDecoder(2)
  expectCodecError(t, () => dec.decode(Uint8Array.of(0xff, 0xff, 0xff)), 'INVALID_OPUS_PACKET')
  expectCodecError(t, () => dec.decode(new Uint8Array(0)), 'INVALID_OPUS_PACKET')
  dec.close()
  expectCodecError(t, () => dec.decode(Uint8Array.of(0xfc)), 'DECODER_CLOSED')
})
