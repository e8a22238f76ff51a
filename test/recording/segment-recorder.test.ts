import t, { type Test } from 'tap'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SegmentRecorder, type SegmentRecorderOptions } from '../../src/recording/segment-recorder.js'
import { SegmentWriter, type SegmentFile } from '../../src/recording/segment-writer.js'
import type { OpusChunk } from '../../src/opus/opus-chunk.js'
import type { SongEntry } from '../../src/history/song-history.js'
import { parseOggPages, packetsOf } from '../codec/helpers/ogg-reader.js'

/** A file in memory. */
function memoryFile () {
  const file = { bytes: Buffer.alloc(0) }
  const sink: SegmentFile = {
    append: async (data) => { file.bytes = Buffer.concat([file.bytes, data]); return data.length },
    sync: async () => {},
    truncate: async (n) => { file.bytes = file.bytes.subarray(0, n) },
    close: async () => {}
  }
  return { file, sink }
}

/** A chunk of 25 one-byte "packets" (the muxer does not look inside them). */
const chunk = (sequenceNumber: number, startGranule = sequenceNumber * 25 * 960): OpusChunk =>
  ({ sequenceNumber, timestamp: 0, receivedAt: 0, startGranule, channels: 2, packets: Array.from({ length: 25 }, (_, i) => new Uint8Array([sequenceNumber, i])) })

const entry = (n: number, title: string): SongEntry =>
  ({ n, title, artist: 'A', coverHash: null, startedAt: n, endedAt: null, startPosition: 0, durationSeconds: 0 })

function setUp (t: Test, over: Partial<SegmentRecorderOptions> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'segment-recorder-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const { file, sink } = memoryFile()
  const stops: string[] = []
  const writer = new SegmentWriter(sink, { maxQueuedBytes: 1 << 20, reserve: () => true, failed: () => {} })
  const recorder = new SegmentRecorder(writer, {
    sessionId: '123456', sessionStartedAt: 1, segmentStartedAt: 2, instanceId: 'test', metaPath: join(dir, 'meta.json'),
    since: -1, priorSeconds: 0, maxSeconds: 3600, preSkip: () => 312, history: () => [], stopped: (reason) => { stops.push(reason) },
    ...over
  })
  return { recorder, file, stops, metaPath: join(dir, 'meta.json') }
}

t.test('pages the chunks after `since`, marks each play where its first chunk starts, ends with end-of-stream', async (t) => {
  const { recorder, file, metaPath } = setUp(t, { since: 1 })
  recorder.mark(entry(1, 'Before'), 1)
  recorder.opus(chunk(0))
  recorder.opus(chunk(1))
  t.equal(recorder.seconds, 0, 'chunks up to `since` belong to an earlier segment')
  recorder.opus(chunk(2))
  recorder.mark(entry(2, 'Next'), 2)
  recorder.mark(entry(2, 'Next'), 3)
  recorder.opus(chunk(3))
  t.same(recorder.chapters.map((c) => [c.n, c.granule]), [[1, 0], [2, 25 * 960]], 'a play starts with the chunk after it was seen; once each')
  t.ok(Math.abs(recorder.seconds - (50 * 960 - 312 - 7680) / 48000) < 1e-9, 'seconds without the pre-skip (late-join pre-roll included)')
  await recorder.finish('ended')
  t.equal(recorder.closed, true)
  const pages = parseOggPages(file.bytes)
  t.equal(pages.at(-1)!.flags & 0x04, 0x04, 'end-of-stream')
  t.equal(packetsOf(pages).length, 2 + 50, 'headers and the 50 packets of chunks 2 and 3')
  t.match(JSON.parse(readFileSync(metaPath, 'utf8')), { state: 'closed', reason: 'ended', chapters: [{ n: 1, title: 'Before' }, { n: 2, title: 'Next' }] })
  recorder.opus(chunk(4))
  t.equal(packetsOf(parseOggPages(file.bytes)).length, 52, 'nothing after the end')
})

t.test('stops at the length limit (counting earlier segments) with an end-of-stream page', async (t) => {
  const { recorder, file, stops } = setUp(t, { priorSeconds: 9, maxSeconds: 10 })
  for (let i = 0; i < 4; i++) recorder.opus(chunk(i))
  t.same(stops, ['max-length'], 'told once')
  await recorder.finish('ended')
  t.equal(recorder.reason, 'max-length', 'the first reason stays')
  t.ok(recorder.seconds >= 1 && recorder.seconds < 1.5, `${recorder.seconds} s`)
  t.equal(parseOggPages(file.bytes).at(-1)!.flags & 0x04, 0x04)
})

t.test('whatever goes wrong while paging a chunk stays the recording\'s: it stops, nothing is thrown to the hub', async (t) => {
  const { recorder, stops } = setUp(t, { preSkip: () => 70_000 })
  t.doesNotThrow(() => recorder.opus(chunk(0)))
  t.same(stops, ['write-error'])
})
