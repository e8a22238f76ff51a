import t from 'tap'
import {
  decodePacketFrame,
  decodePacketFrameBase64,
  encodePacketFrame,
  encodePacketFrameBase64,
} from '../../src/codec/packet-framing.js'
import { expectCodecError } from './helpers/expect.js'

t.test('documented example layout', async (t) => {
  const frame = encodePacketFrame([Uint8Array.of(0xaa), Uint8Array.of(0xbb, 0xcc)])
  t.same([...frame], [0x02, 0x00, 0x01, 0x00, 0x02, 0x00, 0xaa, 0xbb, 0xcc])
})

t.test('round trip, including empty list, empty packet and max-size packet', async (t) => {
  const cases: Uint8Array[][] = [
    [],
    [new Uint8Array(0)],
    Array.from({ length: 25 }, (_, i) => Buffer.alloc(300 + i, i)),
    [Buffer.alloc(0xffff, 7), Buffer.alloc(3, 1)],
  ]
  for (const packets of cases) {
    const decoded = decodePacketFrame(encodePacketFrame(packets))
    t.same(decoded.map((p) => Buffer.from(p).toString('hex')), packets.map((p) => Buffer.from(p).toString('hex')))
    const viaBase64 = decodePacketFrameBase64(encodePacketFrameBase64(packets))
    t.equal(viaBase64.length, packets.length)
  }
})

t.test('decoding works on a view with a non-zero byteOffset', async (t) => {
  const frame = encodePacketFrame([Uint8Array.of(1, 2, 3)])
  const host = Buffer.concat([Buffer.from([9, 9, 9]), frame])
  t.same([...decodePacketFrame(host.subarray(3))[0]!], [1, 2, 3])
})

t.test('malformed input is rejected with INVALID_PACKET_FRAMING', async (t) => {
  const good = encodePacketFrame([Uint8Array.of(1, 2, 3), Uint8Array.of(4)])
  const bad: Uint8Array[] = [
    new Uint8Array(0),
    Uint8Array.of(1),
    good.subarray(0, good.length - 1), // truncated payload
    Buffer.concat([good, Buffer.of(0)]), // trailing byte
    Uint8Array.of(2, 0, 1, 0), // truncated length table
  ]
  for (const b of bad) {
    expectCodecError(t, () => decodePacketFrame(b), 'INVALID_PACKET_FRAMING')
  }
  expectCodecError(t, () => decodePacketFrameBase64('AQ=$'), 'INVALID_PACKET_FRAMING')
  expectCodecError(t, () => decodePacketFrameBase64('AQ'), 'INVALID_PACKET_FRAMING', 'unpadded base64 rejected')
  expectCodecError(t, () => encodePacketFrame([new Uint8Array(0x10000)]), 'INVALID_PACKET_FRAMING')
})
