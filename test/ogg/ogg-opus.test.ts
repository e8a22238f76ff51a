import t from 'tap'
import { buildOpusHead, buildOpusTags, DEFAULT_OPUS_VENDOR, LATE_JOIN_PRE_ROLL_SAMPLES, OggOpusMuxer } from '../../src/ogg/ogg-opus.js'
import { OGG_FLAG_BOS, OGG_FLAG_EOS } from '../../src/ogg/ogg-page.js'
import { expectCodecError } from '../codec/helpers/expect.js'
import { packetsOf, parseOggPages } from '../codec/helpers/ogg-reader.js'

const packet = (n: number): Buffer => Buffer.alloc(300, n)
const run = (startGranule: number, count: number): { packets: Buffer[]; startGranule: number } => ({
  startGranule,
  packets: Array.from({ length: count }, (_, i) => packet(i)),
})

t.test('OpusHead and OpusTags byte layout (RFC 7845 sections 5.1, 5.2)', async (t) => {
  const head = buildOpusHead(2, 312)
  t.equal(head.toString('latin1', 0, 8), 'OpusHead')
  t.same([...head.subarray(8)], [1, 2, 312 & 0xff, 312 >> 8, 0x80, 0xbb, 0, 0, 0, 0, 0])
  const tags = buildOpusTags('vendor', ['TITLE=Live'])
  t.equal(tags.toString('latin1', 0, 8), 'OpusTags')
  t.equal(tags.readUInt32LE(8), 6)
  t.equal(tags.toString('utf8', 12, 18), 'vendor')
  t.equal(tags.readUInt32LE(18), 1)
  t.equal(tags.readUInt32LE(22), 10)
  t.equal(tags.toString('utf8', 26), 'TITLE=Live')
  expectCodecError(t, () => buildOpusTags('v', ['no-equals-sign']), 'INVALID_OGG_OPTIONS')
  expectCodecError(t, () => buildOpusHead(2, 70000), 'INVALID_OGG_OPTIONS')
})

t.test('stream start: BOS OpusHead page, OpusTags page, then audio from sequence 2', async (t) => {
  const mux = new OggOpusMuxer({ channels: 2, preSkip: 312, serialNumber: 99 })
  const bytes = Buffer.concat([mux.write([run(0, 25)]), mux.write([run(24000, 25)], { endOfStream: true })])
  const pages = parseOggPages(bytes)
  t.same(pages.map((p) => p.sequenceNumber), [0, 1, 2, 3], 'write() prepends the headers when needed')
  t.ok(pages.every((p) => p.crcOk && p.serialNumber === 99))
  t.equal(pages[0]?.flags, OGG_FLAG_BOS)
  t.equal(pages[0]?.granulePosition, 0n)
  t.equal(pages[1]?.granulePosition, 0n)
  t.equal(pages[1]?.body.toString('latin1', 0, 8), 'OpusTags')
  t.ok(pages[1]?.body.includes(Buffer.from(DEFAULT_OPUS_VENDOR)))
  t.same(pages.slice(2).map((p) => p.granulePosition), [24000n, 48000n])
  t.equal(pages[3]?.flags, OGG_FLAG_EOS)
  t.equal(packetsOf(pages.slice(2)).length, 50)
  expectCodecError(t, () => mux.write([run(48000, 1)]), 'OGG_STREAM_ENDED')
})

t.test('header pages only once; empty writes produce nothing', async (t) => {
  const mux = new OggOpusMuxer({ channels: 1, preSkip: 312 })
  t.ok(mux.headerPages().length > 0)
  expectCodecError(t, () => mux.headerPages(), 'OGG_HEADERS_ALREADY_WRITTEN')
  t.equal(mux.write([]).length, 0)
  t.equal(mux.write([run(0, 0)]).length, 0)
})

t.test('granule modes: rebase counts from 0 ignoring gaps, session keeps session granules', async (t) => {
  const runs = [run(960_000, 25), run(1_000_000, 25)] // a gap between the two runs
  const rebased = parseOggPages(new OggOpusMuxer({ channels: 2, preSkip: 312 }).write(runs))
  t.same(rebased.slice(2).map((p) => p.granulePosition), [48000n])
  const session = parseOggPages(new OggOpusMuxer({ channels: 2, preSkip: 312, granuleMode: 'session', maxPacketsPerPage: 25 }).write(runs))
  t.same(session.slice(2).map((p) => p.granulePosition), [984_000n, 1_024_000n])
})

t.test('lateJoin adds the decoder pre-roll to the OpusHead pre-skip', async (t) => {
  const mux = new OggOpusMuxer({ channels: 2, preSkip: 312, lateJoin: true })
  t.equal(mux.preSkip, 312 + LATE_JOIN_PRE_ROLL_SAMPLES)
  const head = parseOggPages(mux.headerPages())[0]
  t.equal(head?.body.readUInt16LE(10), 312 + LATE_JOIN_PRE_ROLL_SAMPLES)
})

t.test('option validation', async (t) => {
  expectCodecError(t, () => new OggOpusMuxer({ channels: 3 as 2, preSkip: 312 }), 'INVALID_OGG_OPTIONS')
  expectCodecError(t, () => new OggOpusMuxer({ channels: 2, preSkip: -1 }), 'INVALID_OGG_OPTIONS')
  expectCodecError(t, () => new OggOpusMuxer({ channels: 2, preSkip: 312, serialNumber: 2 ** 32 }), 'INVALID_OGG_OPTIONS')
  expectCodecError(t, () => new OggOpusMuxer({ channels: 2, preSkip: 312, maxPacketsPerPage: 0 }), 'INVALID_OGG_OPTIONS')
})
