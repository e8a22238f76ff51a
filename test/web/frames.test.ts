import t from 'tap'
import { decodeFrame, decodeJsonChunk, splitPackets } from '../../web/listen/frames.js'

/** An Opus frame as README "WebSocket" lays it out, built here by hand (not with the server's code). */
function opusFrame (packets: number[][], { seq = 7, granule = 96_000, receivedAt = 1_732_470_000_123.5 } = {}): ArrayBuffer {
  const payload = packets.reduce((n, p) => n + p.length, 0)
  const buffer = new ArrayBuffer(36 + 2 + 2 * packets.length + payload)
  const view = new DataView(buffer)
  view.setUint32(0, seq, true)
  view.setFloat64(4, 1_732_470_000_000, true)
  view.setUint32(12, 48000, true)
  view.setUint8(16, 2)
  view.setUint8(17, 1)
  view.setFloat64(20, granule, true)
  view.setFloat64(28, receivedAt, true)
  view.setUint16(36, packets.length, true)
  let at = 38 + 2 * packets.length
  packets.forEach((p, i) => {
    view.setUint16(38 + 2 * i, p.length, true)
    new Uint8Array(buffer, at, p.length).set(p)
    at += p.length
  })
  return buffer
}

t.test('an Opus frame: header, granule, arrival time and the packets', async (t) => {
  const frame = decodeFrame(opusFrame([[0xaa], [0xbb, 0xcc], []]))
  if (frame?.codec !== 'opus') throw new Error('not opus')
  const { chunk } = frame
  t.equal(chunk.sequenceNumber, 7)
  t.equal(chunk.sampleRate, 48000)
  t.equal(chunk.channels, 2)
  t.equal(chunk.granule, 96_000)
  t.equal(chunk.receivedAt, 1_732_470_000_123.5)
  t.same(chunk.packets.map((p) => [...p]), [[0xaa], [0xbb, 0xcc], []])
})

t.test('a PCM frame: float32 after the 20-byte header', async (t) => {
  const buffer = new ArrayBuffer(20 + 8)
  const view = new DataView(buffer)
  view.setUint32(0, 3, true)
  view.setUint32(12, 44100, true)
  view.setUint8(16, 1)
  view.setFloat32(20, 0.5, true)
  view.setFloat32(24, -0.25, true)
  const frame = decodeFrame(buffer)
  if (frame?.codec !== 'pcm') throw new Error('not pcm')
  t.same([...frame.chunk.samples], [0.5, -0.25])
  t.equal(frame.chunk.sampleRate, 44100)
})

t.test('malformed frames are refused, never misread', async (t) => {
  t.equal(decodeFrame(new ArrayBuffer(10)), undefined, 'shorter than a header')
  const good = opusFrame([[1, 2, 3]])
  t.equal(decodeFrame(good.slice(0, good.byteLength - 1)), undefined, 'a truncated packet')
  const trailing = new Uint8Array(good.byteLength + 1)
  trailing.set(new Uint8Array(good))
  t.equal(decodeFrame(trailing.buffer), undefined, 'bytes after the last packet')
  t.equal(decodeFrame(good.slice(0, 30)), undefined, 'an Opus header cut short')
  const unknown = good.slice(0)
  new DataView(unknown).setUint8(17, 9)
  t.equal(decodeFrame(unknown), undefined, 'an unknown codec')
  const noChannels = good.slice(0)
  new DataView(noChannels).setUint8(16, 0)
  t.equal(decodeFrame(noChannels), undefined)
  const oddPcm = new ArrayBuffer(23)
  new DataView(oddPcm).setUint32(12, 48000, true)
  new DataView(oddPcm).setUint8(16, 2)
  t.equal(decodeFrame(oddPcm), undefined, 'PCM that is not whole float32s')
  t.equal(splitPackets(new Uint8Array([5])), undefined)
  t.equal(splitPackets(new Uint8Array([2, 0, 1, 0])), undefined, 'a length table cut short')
  t.same(splitPackets(new Uint8Array([0, 0])), [], 'no packets')
})

t.test('long-poll chunks: base64 PCM, or with codec=opus the packet framing', async (t) => {
  const pcm = decodeJsonChunk({ data: Buffer.from(new Float32Array([0.25, 0.5]).buffer).toString('base64'), sampleRate: 48000, channels: 2, timestamp: 1, sequenceNumber: 4 })
  if (pcm?.codec !== 'pcm') throw new Error('not pcm')
  t.same([...pcm.chunk.samples], [0.25, 0.5])
  const framing = Buffer.from(new Uint8Array(opusFrame([[9, 8], [7]])).subarray(36)).toString('base64')
  const opus = decodeJsonChunk({ data: framing, sampleRate: 48000, channels: 2, timestamp: 1, sequenceNumber: 5, codec: 'opus', granule: 960, receivedAt: 1234 })
  if (opus?.codec !== 'opus') throw new Error('not opus')
  t.same(opus.chunk.packets.map((p) => [...p]), [[9, 8], [7]])
  t.equal(opus.chunk.receivedAt, 1234)
  t.equal(opus.chunk.granule, 960)
  t.equal(decodeJsonChunk({ data: framing, sampleRate: 48000, channels: 2, timestamp: 1, sequenceNumber: 5, codec: 'opus' }), undefined, 'Opus without its arrival time')
  t.equal(decodeJsonChunk({ data: 'AAA=', sampleRate: 48000, channels: 2, timestamp: 1, sequenceNumber: 5 }), undefined, 'not whole float32s')
})
