import t from 'tap'
import { oggCrc32 } from '../../src/ogg/ogg-crc.js'
import { OGG_FLAG_BOS, OGG_FLAG_CONTINUED, OGG_FLAG_EOS, lacingFor, paginate } from '../../src/ogg/ogg-page.js'
import { packetsOf, parseOggPages } from '../codec/helpers/ogg-reader.js'

t.test('CRC-32 with polynomial 0x04c11db7, init 0, no reflection, no final xor', async (t) => {
  // Catalogue check value of CRC-32/CKSUM is 0x765e7680 with xorout 0xffffffff; Ogg has no xorout.
  t.equal(oggCrc32(Buffer.from('123456789', 'latin1')), (0x765e7680 ^ 0xffffffff) >>> 0)
  t.equal(oggCrc32(new Uint8Array(0)), 0)
  const whole = oggCrc32(Buffer.from('hello world'))
  t.equal(oggCrc32(Buffer.from(' world'), oggCrc32(Buffer.from('hello'))), whole, 'incremental == one-shot')
})

t.test('lacing values', async (t) => {
  t.same(lacingFor(0), [0])
  t.same(lacingFor(254), [254])
  t.same(lacingFor(255), [255, 0])
  t.same(lacingFor(256), [255, 1])
  t.same(lacingFor(510), [255, 255, 0])
})

t.test('paginate: header fields, CRC, granule per page, sequence numbers', async (t) => {
  const packets = [0, 1, 254, 255, 256, 600].map((len, i) => ({
    data: Buffer.alloc(len, i + 1),
    granulePosition: BigInt((i + 1) * 960),
  }))
  const pages = paginate(packets, { serialNumber: 0xdeadbeef, firstSequence: 7, firstPageFlags: OGG_FLAG_BOS, endOfStream: true })
  const parsed = parseOggPages(Buffer.concat(pages))
  t.equal(parsed.length, 1, 'fits one page')
  const page = parsed[0]!
  t.ok(page.crcOk)
  t.equal(page.serialNumber, 0xdeadbeef)
  t.equal(page.sequenceNumber, 7)
  t.equal(page.flags, OGG_FLAG_BOS | OGG_FLAG_EOS)
  t.equal(page.granulePosition, 6n * 960n)
  t.same(packetsOf(parsed).map((p) => p.length), [0, 1, 254, 255, 256, 600])
})

t.test('paginate: packet spanning pages gets continued flag and granule -1 where none ends', async (t) => {
  const big = Buffer.alloc(255 * 300 + 10, 0x5a) // 301 lacing values: needs two pages
  const small = Buffer.alloc(20, 0x11)
  const pages = parseOggPages(
    Buffer.concat(paginate([{ data: big, granulePosition: 960n }, { data: small, granulePosition: 1920n }], { serialNumber: 1, firstSequence: 0 })),
  )
  t.equal(pages.length, 2)
  t.ok(pages.every((p) => p.crcOk))
  t.equal(pages[0]!.granulePosition, -1n, 'no packet ends on page 0')
  t.equal(pages[0]!.flags & OGG_FLAG_CONTINUED, 0)
  t.equal(pages[1]!.flags & OGG_FLAG_CONTINUED, OGG_FLAG_CONTINUED)
  t.equal(pages[1]!.granulePosition, 1920n)
  t.same(pages.map((p) => p.sequenceNumber), [0, 1])
  const packets = packetsOf(pages)
  t.equal(packets.length, 2)
  t.ok(packets[0]!.equals(big))
  t.ok(packets[1]!.equals(small))
})

t.test('paginate: maxPacketsPerPage splits pages', async (t) => {
  const packets = Array.from({ length: 10 }, (_, i) => ({ data: Buffer.alloc(300, i), granulePosition: BigInt((i + 1) * 960) }))
  const pages = parseOggPages(Buffer.concat(paginate(packets, { serialNumber: 5, firstSequence: 2, maxPacketsPerPage: 4 })))
  t.same(pages.map((p) => p.granulePosition), [3840n, 7680n, 9600n])
  t.same(pages.map((p) => p.sequenceNumber), [2, 3, 4])
})
