import t from 'tap'
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { OpusStreamEncoder } from '../../src/codec/opus-encoder.js'
import { OggOpusMuxer } from '../../src/ogg/ogg-opus.js'
import { inspectSegment, joinSegments, type JoinedRecording } from '../../src/recording/recording-reader.js'
import { parseOggPages } from '../codec/helpers/ogg-reader.js'
import { ffmpegDecodeF32, ffmpegMissingReason, ffprobeStreams, isCI } from '../codec/helpers/ffmpeg.js'
import { alignAndSnr, channel, sineChunk, TONE_AMPLITUDE, TONE_HZ } from '../codec/helpers/signal.js'

/** A segment as a recorder writes one: `chunks` 0.5 s chunks of the tone from chunk `first` on, its own encoder and serial. */
async function segment (first: number, chunks: number, endOfStream: boolean): Promise<Buffer> {
  const encoder = await OpusStreamEncoder.create({ bitrateKbps: 64 })
  const muxer = new OggOpusMuxer({ channels: 2, preSkip: encoder.preSkip, lateJoin: first > 0 })
  const parts: Buffer[] = []
  for (let i = first; i < first + chunks; i++) {
    const out = encoder.feed({ sequenceNumber: i, timestamp: 0, sampleRate: 44100, channels: 2, samples: sineChunk(44100, 2, 22050, i * 0.5) })
    parts.push(muxer.write([{ packets: out.packets, startGranule: out.startGranule }]))
  }
  if (endOfStream) parts.push(muxer.write([], { endOfStream: true }))
  encoder.close()
  return Buffer.concat(parts)
}

async function readAll (joined: JoinedRecording, start = 0, end = joined.size - 1): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const part of joined.read(start, end)) parts.push(part)
  return Buffer.concat(parts)
}

t.test('segments join into ONE logical stream: one serial, pages numbered on, granules shifted, BOS first and EOS last only', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'recording-reader-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const paths = [join(dir, 'a.ogg'), join(dir, 'b.ogg'), join(dir, 'c.ogg')]
  writeFileSync(paths[0]!, await segment(0, 6, true))
  writeFileSync(paths[1]!, await segment(6, 4, true))
  writeFileSync(paths[2]!, await segment(10, 4, false))
  const layouts = await Promise.all(paths.map(inspectSegment))
  t.match(layouts[0], { headerPages: 2, channels: 2, preSkip: 312, endsStream: true, size: readFileSync(paths[0]!).length })
  t.match(layouts[1], { preSkip: 312 + 7680, endsStream: true }, 'a segment that starts mid-stream has the late-join pre-roll')
  t.match(layouts[2], { endsStream: false })

  const joined = joinSegments(layouts.map((l) => l!))
  const sizes = paths.map((p) => readFileSync(p).length)
  t.equal(joined.size, sizes[0]! + sizes[1]! - layouts[1]!.headerBytes + sizes[2]! - layouts[2]!.headerBytes)
  const whole = await readAll(joined)
  t.equal(whole.length, joined.size)
  const pages = parseOggPages(whole)
  t.ok(pages.every((p) => p.crcOk), 'every page\'s CRC holds')
  t.equal(new Set(pages.map((p) => p.serialNumber)).size, 1, 'one serial number')
  t.same(pages.map((p) => p.sequenceNumber), pages.map((_, i) => i), 'page numbers 0, 1, 2, … with no gap')
  t.same(pages.map((p, i) => [i, p.flags & 0x02]).filter(([, bos]) => bos !== 0), [[0, 2]], 'BOS on the first page only')
  t.same(pages.map((p, i) => [i, p.flags & 0x04]).filter(([, eos]) => eos !== 0), [], 'no EOS: the last segment has none')
  const granules = pages.map((p) => p.granulePosition).filter((g) => g >= 0n)
  t.ok(granules.every((g, i) => i === 0 || g >= granules[i - 1]!), 'granules never go back')
  t.equal(granules.at(-1), layouts.reduce((n, l) => n + l!.endGranule, 0n), 'the last granule adds up every segment')
  t.equal(pages.filter((p) => p.body.subarray(0, 8).toString('latin1') === 'OpusHead').length, 1, 'one OpusHead')
  // Each segment's encoder still holds its last few ms (under one 20 ms frame) when the segment ends.
  t.ok(joined.seconds > 6.9 && joined.seconds <= 7, `${joined.seconds.toFixed(3)} s: 14 chunks of 0.5 s, less under 20 ms a segment`)
  t.ok(Math.abs(joined.secondsAt(1, 0) - (Number(layouts[0]!.endGranule) - 312) / 48000) < 1e-9, 'a later segment\'s 0 is where the earlier ones end')

  for (const [start, end] of [[0, 99], [joined.size - 100, joined.size - 1], [sizes[0]! - 10, sizes[0]! + 10], [12_345, 45_678], [5, 5]] as const) {
    t.same(await readAll(joined, start, end), whole.subarray(start, end + 1), `bytes ${start}-${end} are those of the whole`)
  }

  const missing = ffmpegMissingReason()
  if (missing !== null) {
    if (isCI) t.fail(missing)
    return
  }
  const file = join(dir, 'joined.ogg')
  writeFileSync(file, whole)
  const probe = ffprobeStreams(file)
  t.equal(probe.streams.length, 1)
  t.ok(Math.abs(Number(probe.streams[0]!.duration) - joined.seconds) < 0.02, `ffprobe: ${probe.streams[0]!.duration} s, the whole length`)
  const left = channel(ffmpegDecodeF32(file, 2).samples, 2, 0)
  t.ok(Math.abs(left.length / 48000 - joined.seconds) < 0.02, `ffmpeg decodes ${(left.length / 48000).toFixed(3)} s`)
  const ref = (n: number) => TONE_AMPLITUDE * Math.sin(2 * Math.PI * TONE_HZ * n / 48000)
  const fit = alignAndSnr(left, ref, 4800, 2 * 48000, -60, 60)
  t.ok(fit.snrDb > 25, `the first segment carries the tone: ${fit.snrDb.toFixed(1)} dB`)
  const later = alignAndSnr(left, ref, 6 * 48000, 7 * 48000 - 4800, -60, 60)
  t.ok(later.snrDb > 25, `the last one too: ${later.snrDb.toFixed(1)} dB`)
})

t.test('a segment cut off mid-page (a crash) counts up to its last whole page; a segment of headers only holds no audio', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'recording-reader-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const bytes = await segment(0, 4, false)
  const pages = parseOggPages(bytes)
  const cut = join(dir, 'cut.ogg')
  writeFileSync(cut, bytes)
  truncateSync(cut, bytes.length - 10)
  const layout = (await inspectSegment(cut))!
  const lastWhole = bytes.length - pages.at(-1)!.body.length - 27 - pages.at(-1)!.segments.length
  t.equal(layout.size, lastWhole, 'the torn last page is left out')
  t.equal(layout.endGranule, pages.at(-2)!.granulePosition)
  const joined = joinSegments([layout])
  t.same(await readAll(joined), bytes.subarray(0, lastWhole))

  const headersOnly = join(dir, 'headers.ogg')
  writeFileSync(headersOnly, new OggOpusMuxer({ channels: 2, preSkip: 312 }).headerPages())
  t.equal(await inspectSegment(headersOnly), undefined)
  writeFileSync(join(dir, 'empty.ogg'), '')
  t.equal(await inspectSegment(join(dir, 'empty.ogg')), undefined)
  writeFileSync(join(dir, 'junk.ogg'), 'not an ogg file at all, not at all')
  t.equal(await inspectSegment(join(dir, 'junk.ogg')), undefined)
  t.equal(await inspectSegment(join(dir, 'missing.ogg')), undefined)
})
