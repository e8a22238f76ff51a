import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { LATE_JOIN_PRE_ROLL_SAMPLES, OggOpusMuxer } from '../../src/ogg/ogg-opus.js'
import { OpusStreamEncoder, type EncodedChunk } from '../../src/codec/opus-encoder.js'
import { ffmpegDecodeF32, ffmpegMissingReason, ffmpegVersion, ffprobeStreams, isCI } from '../codec/helpers/ffmpeg.js'
import { packetsOf, parseOggPages } from '../codec/helpers/ogg-reader.js'
import { alignAndSnr, channel, dominantFrequency, sineChunk, TONE_AMPLITUDE, TONE_HZ, worstWindowSnr } from '../codec/helpers/signal.js'

/**
 * End to end with real ffprobe/ffmpeg: a 440 Hz tone posted as 44.1 kHz stereo chunks of 44100
 * floats (3 s), then as 48 kHz mono chunks (3 s, a format change inside ONE logical stream).
 * The tone is phase-continuous in time across the change, so the decoded file must match one
 * ideal sine everywhere except the deliberate 2.5 ms fade-out/fade-in at the change.
 */

const missing = ffmpegMissingReason()
if (missing !== null) {
  if (isCI) t.fail(`CI=true requires ffmpeg: ${missing}`)
  else t.plan(0, missing)
} else {
  const dir = mkdtempSync(join(tmpdir(), 'ogg-opus-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  t.comment(ffmpegVersion())

  const SECONDS_A = 3
  const SECONDS_B = 3
  const enc = await OpusStreamEncoder.create({ bitrateKbps: 128 })
  const chunks: EncodedChunk[] = []
  for (let i = 0; i < 2 * (SECONDS_A + SECONDS_B); i++) {
    const [rate, ch] = i < 2 * SECONDS_A ? [44100, 2] : [48000, 1]
    const samples = sineChunk(rate, ch, rate / 2, i * 0.5)
    if (rate === 44100) t.equal(samples.length, 44100, 'a 44.1 kHz stereo chunk is 44100 floats')
    chunks.push(enc.feed({ samples, sampleRate: rate, channels: ch, sequenceNumber: i, timestamp: 1_700_000_000_000 + i * 500 }))
  }
  t.equal(chunks[2 * SECONDS_A]?.discontinuity, 'format-change')
  enc.close()

  const ref = (n: number): number => TONE_AMPLITUDE * Math.sin((2 * Math.PI * TONE_HZ * n) / 48000)
  const ms = (x: number): number => Math.round((x * 48000) / 1000)

  t.test('whole session: valid Ogg, ffprobe sees opus 48 kHz stereo, ffmpeg decodes the tone', async (t) => {
    const mux = new OggOpusMuxer({ channels: 2, preSkip: enc.preSkip })
    const file = Buffer.concat(chunks.map((c, i) => mux.write([c], { endOfStream: i === chunks.length - 1 })))
    const path = join(dir, 'session.opus')
    writeFileSync(path, file)

    const pages = parseOggPages(file)
    t.ok(pages.every((p) => p.crcOk), 'every page CRC verifies')
    t.same(pages.map((p) => p.sequenceNumber), pages.map((_, i) => i), 'page sequence 0..n without gaps')
    t.equal(new Set(pages.map((p) => p.serialNumber)).size, 1, 'one logical stream (one serial) across the format change')
    t.equal(pages.filter((p) => p.flags & 0x02).length, 1, 'exactly one BOS page')
    t.equal(packetsOf(pages.slice(2)).length, chunks.reduce((n, c) => n + c.packets.length, 0))

    const probe = ffprobeStreams(path)
    t.equal(probe.stderr.trim(), '', 'ffprobe prints no warnings')
    t.equal(probe.streams.length, 1)
    t.equal(probe.streams[0]?.codec_name, 'opus')
    t.equal(probe.streams[0]?.sample_rate, '48000')
    t.equal(probe.streams[0]?.channels, 2)

    const { samples, warnings } = ffmpegDecodeF32(path, 2)
    t.equal(warnings, '', 'ffmpeg decodes without warnings')
    const totalGranule = chunks[chunks.length - 1]?.endGranule ?? 0
    t.equal(samples.length / 2, totalGranule - enc.preSkip, 'decoded length = last granule - pre-skip')

    const left = channel(samples, 2, 0)
    const right = channel(samples, 2, 1)
    const change = SECONDS_A * 48000
    const segments = [
      { name: '44.1 kHz stereo part', from: ms(20), to: change - ms(20) },
      { name: '48 kHz mono part', from: change + ms(20), to: left.length - ms(20) },
    ]
    for (const seg of segments) {
      const hz = dominantFrequency(left.subarray(seg.from, seg.to), 48000)
      t.ok(Math.abs(hz - TONE_HZ) <= 2, `${seg.name}: dominant frequency ${hz.toFixed(2)} Hz`)
      // Lag search window +-60 samples: pre-skip is removed by ffmpeg, the resampler is delay-compensated.
      for (const [name, ch] of [['L', left], ['R', right]] as const) {
        const fit = alignAndSnr(ch, ref, seg.from, seg.to, -60, 60)
        t.ok(fit.snrDb >= 30, `${seg.name} ${name}: SNR ${fit.snrDb.toFixed(1)} dB, lag ${fit.lag.toFixed(2)}, gain ${fit.gain.toFixed(3)}`)
        t.ok(Math.abs(fit.lag) < 2, `${seg.name} ${name}: timeline preserved (lag ${fit.lag.toFixed(2)} samples)`)
        // 10 ms windows: a click at any 0.5 s chunk boundary would show up as one bad window.
        const worst = worstWindowSnr(ch, ref, fit, seg.from, seg.to, ms(10))
        t.ok(worst.snrDb >= 20, `${seg.name} ${name}: worst 10 ms window SNR ${worst.snrDb.toFixed(1)} dB at ${(worst.at / 48000).toFixed(3)} s`)
      }
    }
    let peak = 0
    for (let n = change - ms(20); n < change + ms(20); n++) peak = Math.max(peak, Math.abs(left[n] as number))
    t.ok(peak <= TONE_AMPLITUDE * 1.15, `no click at the format change: peak ${peak.toFixed(3)} within +-20 ms`)
  })

  t.test('late joiner (rebased granules): headers + 2 s join burst + live pages decode from 0:00', async (t) => {
    const joinAt = 8 // the listener connects after chunk 7 was encoded
    const burst = chunks.slice(joinAt - 4, joinAt) // last 2 s from the relay's ring buffer
    const burstPackets = burst.reduce((n, c) => n + c.packets.length, 0)
    const live = chunks.slice(joinAt)

    const decodeJoiner = (lateJoin: boolean): { left: Float32Array; pages: ReturnType<typeof parseOggPages>; start: number } => {
      const mux = new OggOpusMuxer({ channels: 2, preSkip: enc.preSkip, lateJoin })
      const parts = [mux.headerPages(), mux.write(burst)]
      live.forEach((c, i) => parts.push(mux.write([c], { endOfStream: i === live.length - 1 })))
      const file = Buffer.concat(parts)
      const path = join(dir, `joiner-${lateJoin}.opus`)
      writeFileSync(path, file)
      const probe = ffprobeStreams(path)
      t.equal(probe.stderr.trim(), '', 'ffprobe: no warnings')
      const { samples, warnings } = ffmpegDecodeF32(path, 2)
      t.equal(warnings, '', 'ffmpeg: no warnings')
      t.equal(samples.length / 2, (burstPackets + live.reduce((n, c) => n + c.packets.length, 0)) * 960 - mux.preSkip)
      return { left: channel(samples, 2, 0), pages: parseOggPages(file), start: Number(probe.streams[0]?.start_time) }
    }

    const { left, pages, start } = decodeJoiner(true)
    t.same(pages.map((p) => p.sequenceNumber), pages.map((_, i) => i), "joiner's own page sequence starts at 0")
    t.same(pages.slice(2, 4).map((p) => p.granulePosition), [50n * 960n, BigInt(burstPackets * 960)], 'burst granules rebased to 0')
    t.equal(start, 0, 'ffprobe start_time 0')
    t.equal(pages[0]?.body.readUInt16LE(10), enc.preSkip + LATE_JOIN_PRE_ROLL_SAMPLES, 'OpusHead pre-skip includes the pre-roll')

    // Joiner sample m is session sample G0 + preRoll + m (both streams drop the encoder lookahead).
    const g0 = (burst[0]?.startGranule ?? 0) + LATE_JOIN_PRE_ROLL_SAMPLES
    const joinerRef = (m: number): number => ref(g0 + m)
    const change = SECONDS_A * 48000 - g0
    for (const [from, to] of [[0, change - ms(20)], [change + ms(20), left.length - ms(20)]] as const) {
      const fit = alignAndSnr(left, joinerRef, from, to, -60, 60)
      t.ok(fit.snrDb >= 30, `joiner ${(from / 48000).toFixed(2)}..${(to / 48000).toFixed(2)} s: SNR ${fit.snrDb.toFixed(1)} dB, lag ${fit.lag.toFixed(2)}`)
      const worst = worstWindowSnr(left, joinerRef, fit, from, to, ms(10))
      t.ok(worst.snrDb >= 20, `joiner: worst 10 ms window ${worst.snrDb.toFixed(1)} dB at ${(worst.at / 48000).toFixed(3)} s`)
    }

    // Without the pre-roll the decoder's cold start is audible: first 50 ms are far off.
    const raw = decodeJoiner(false).left
    const rawRef = (m: number): number => ref((burst[0]?.startGranule ?? 0) + m)
    const rawFit = alignAndSnr(raw, rawRef, ms(200), ms(1000), -60, 60)
    const firstWindow = worstWindowSnr(raw, rawRef, rawFit, 0, ms(50), ms(50))
    t.comment(`without pre-roll: first 50 ms SNR ${firstWindow.snrDb.toFixed(1)} dB (steady ${rawFit.snrDb.toFixed(1)} dB)`)
    t.ok(firstWindow.snrDb < 20, 'cold-start transient exists, so the pre-roll is needed')
  })

  t.test('late joiner with session granules: ffmpeg accepts a non-zero first granule (documented quirk)', async (t) => {
    const mux = new OggOpusMuxer({ channels: 2, preSkip: enc.preSkip, granuleMode: 'session', lateJoin: true })
    const file = Buffer.concat([mux.write(chunks.slice(4, 8)), mux.write(chunks.slice(8), { endOfStream: true })])
    const path = join(dir, 'joiner-session.opus')
    writeFileSync(path, file)
    const probe = ffprobeStreams(path)
    const start = Number(probe.streams[0]?.start_time)
    const duration = Number(probe.streams[0]?.duration)
    t.comment(`session-granule joiner: ffprobe start_time=${start} duration=${duration} (real length 4 s)`)
    t.equal(start, (chunks[4]?.startGranule ?? 0) / 48000, 'start_time = first granule / 48 kHz, not 0')
    const { samples, warnings } = ffmpegDecodeF32(path, 2)
    t.equal(warnings, '')
    const sent = chunks.slice(4).reduce((n, c) => n + c.packets.length, 0) * 960
    t.equal(samples.length / 2, sent - mux.preSkip, 'still decodes exactly the sent audio')
  })
}
