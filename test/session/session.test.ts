import t from 'tap'
import { MAX_CHUNKS_PER_POLL, ShareSession, type AppendOutcome } from '../../src/session/session.js'
import { CLIENT_FRAMES, LIMITS, MONO_48K, incomingChunk, metadata } from '../fixtures/audio.js'

const seqs = (chunks: ReadonlyArray<{ sequenceNumber: number }>): number[] => chunks.map((c) => c.sequenceNumber)

/** The overflow count of an outcome that must have been buffered (-1 flags a duplicate, failing the assertion). */
const overflowedOf = (o: AppendOutcome): number => o.buffered ? o.overflowed : -1

t.test('a new session', async (t) => {
  const s = new ShareSession('123456', 1000, LIMITS)
  t.equal(s.id, '123456')
  t.equal(s.startTime, 1000)
  t.equal(s.lastActivity, 1000)
  t.equal(s.lastSequence, -1)
  t.equal(s.audio.windowSeconds, 5)
  t.equal(s.audio.jsonSeconds, 2, 'JSON kept for the join burst')
  t.equal(new ShareSession('1', 0, { ...LIMITS, joinBurstSeconds: 0 }).audio.jsonSeconds, 1, 'and at least a second')
  t.equal(s.listeners.windowMs, 5000)
  t.equal(s.listeners.maxListeners, 1000)
  t.equal(s.metadata(1000), undefined)
  t.equal(MAX_CHUNKS_PER_POLL, 10)
})

t.test('touch only moves lastActivity forward', async (t) => {
  const s = new ShareSession('123456', 1000, LIMITS)
  s.touch(5000)
  t.equal(s.lastActivity, 5000)
  s.touch(3000)
  t.equal(s.lastActivity, 5000, 'an older timestamp does not rewind it')
})

t.test('metadata: stored once serialised, served for metadataTtlMs, then gone', async (t) => {
  const s = new ShareSession('123456', 0, LIMITS)
  const value = metadata({ title: 'Ünïcødé "quoted"', lyrics: null })
  t.equal(s.setMetadata(value, 1000), 0, 'nobody listening yet')
  t.equal(s.lastActivity, 1000, 'posting metadata is sharer activity')
  const m = s.metadata(1000)
  t.ok(m)
  t.equal(m!.json.toString(), JSON.stringify(value))
  t.same(JSON.parse(m!.json.toString()), value)
  t.equal(m!.receivedAt, 1000)
  t.equal(s.metadata(31_000), m, 'the same object (serialised once), exactly at the TTL')
  t.equal(s.metadata(31_001), undefined, 'gone after the TTL')
  t.equal(s.metadata(1000), undefined, 'and it stays gone')

  s.listeners.touch('receiver', 40_000)
  t.equal(s.setMetadata(metadata({ title: 'Next' }), 40_000), 1, 'setMetadata answers the listener count')
  t.equal(JSON.parse(s.metadata(40_000)!.json.toString()).title, 'Next', 'a new post replaces and refreshes it')
})

t.test('appendAudio: stores new chunks, counts decoded bytes, refuses duplicates', async (t) => {
  const s = new ShareSession('123456', 0, LIMITS)
  const c0 = incomingChunk(0, CLIENT_FRAMES)
  const o0 = s.appendAudio(c0, 100)
  t.match(o0, { buffered: true, overflowed: 0, formatChanged: false, chunk: { sequenceNumber: 0, length: 44100 } })
  t.equal(o0.buffered && o0.chunk, s.audio.chunksAfter(-1, 1, 0)[0], 'the outcome carries the chunk as buffered')
  t.equal(s.lastSequence, 0)
  t.equal(s.bytesReceived, 176_400)
  t.equal(s.chunksReceived, 1)
  t.equal(s.lastActivity, 100)
  t.match(s.appendAudio(incomingChunk(1, CLIENT_FRAMES), 600), { buffered: true, overflowed: 0, formatChanged: false })

  t.same(s.appendAudio(incomingChunk(1, CLIENT_FRAMES), 1100), { buffered: false }, 'same sequence: duplicate')
  t.same(s.appendAudio(incomingChunk(0, CLIENT_FRAMES), 1200), { buffered: false }, 'lower sequence: duplicate')
  t.equal(s.audio.chunkCount, 2, 'duplicates are not stored twice')
  t.equal(s.bytesReceived, 352_800, 'nor counted')
  t.equal(s.chunksReceived, 2)
  t.equal(s.lastSequence, 1)
  t.equal(s.lastActivity, 1200, 'but a duplicate still shows the sharer is alive')

  t.equal(s.appendAudio(incomingChunk(7, CLIENT_FRAMES), 1300).buffered, true, 'gaps are fine')
  t.same(seqs(s.audio.chunksAfter(-1, 10, 60)), [0, 1, 7])
})

t.test('pollAudio: at most 10 chunks, oldest first, and the receiver is counted', async (t) => {
  const s = new ShareSession('123456', 0, LIMITS)
  t.same(s.pollAudio(-1, 'early', 0), [], 'nothing yet')
  t.equal(s.listeners.count(0), 1, 'a receiver polling an empty session is listening')

  // 4096-frame chunks: 53 fit in 5 s.
  for (let seq = 0; seq < 40; seq++) s.appendAudio(incomingChunk(seq, 4096), 10)
  t.same(seqs(s.pollAudio(5, 'r1', 20)), [6, 7, 8, 9, 10, 11, 12, 13, 14, 15], `capped at ${MAX_CHUNKS_PER_POLL}`)
  t.same(seqs(s.pollAudio(15, 'r1', 30)), [16, 17, 18, 19, 20, 21, 22, 23, 24, 25], 'the next poll continues')
  t.same(seqs(s.pollAudio(35, 'r1', 40)), [36, 37, 38, 39])
  t.same(s.pollAudio(39, 'r1', 50), [], 'caught up')
  const join = s.pollAudio(-1, 'r2', 60)
  t.equal(join.length, 10, 'a joiner gets a capped burst')
  t.equal(join[0]!.sequenceNumber, 19, 'starting ~2 s back (21 chunks) from the newest')
  t.equal(s.listeners.count(60), 3, 'early, r1 and r2')
  t.equal(s.lastActivity, 10, 'receivers polling do not keep the session alive')
})

t.test('buffer overflow: only chunks evicted before a current listener fetched them', async (t) => {
  const s = new ShareSession('123456', 0, LIMITS)
  // 0.5 s chunks, 10 fit in the window. One every 500 ms.
  let now = 0
  const send = (seq: number): number => overflowedOf(s.appendAudio(incomingChunk(seq, CLIENT_FRAMES), now))
  for (let seq = 0; seq < 4; seq++) { now = seq * 500; send(seq) }
  t.same(seqs(s.pollAudio(-1, 'r', now)), [0, 1, 2, 3], 'the receiver joins holding 0..3')

  let overflowed = 0
  for (let seq = 4; seq < 14; seq++) {
    now = seq * 500
    overflowed += send(seq)
    if (seq % 2 === 0) s.listeners.touch('meta-only', now)
  }
  t.equal(s.audio.oldestSequence, 4, '0..3 were evicted')
  t.equal(overflowed, 0, 'the listener had fetched them: no overflow')
  t.equal(s.overflows, 0)

  // The receiver stays current (a metadata poll, which carries no sequence) but has fetched no audio after 3.
  s.listeners.touch('r', now)
  now = 14 * 500
  t.equal(send(14), 1, 'chunk 4 is evicted unfetched')
  now = 15 * 500
  t.equal(send(15), 1, 'and chunk 5')
  t.equal(s.overflows, 2)

  // It catches up: since=3 is behind the window, so it gets the oldest ten held (6..15). Later evictions are of
  // fetched chunks again.
  const got = s.pollAudio(3, 'r', now)
  t.same(seqs(got), [6, 7, 8, 9, 10, 11, 12, 13, 14, 15])
  now = 16 * 500
  t.equal(send(16), 0)
  t.equal(s.overflows, 2)

  // It stops polling. 16..25 evict 6..15, which it holds; by the time 16 (never fetched) is evicted at
  // 13 s it last polled 5.5 s ago, so it is no longer a current listener and nothing counts.
  for (let seq = 17; seq < 60; seq++) { now = seq * 500; send(seq) }
  t.equal(s.audio.oldestSequence, 50)
  t.equal(s.overflows, 2, 'neither fetched chunks nor a stale listener cause overflows')
  t.equal(s.listeners.count(now), 0)
})

t.test('buffer overflow: exact count for a receiver that stalls', async (t) => {
  const s = new ShareSession('123456', 0, LIMITS)
  for (let seq = 0; seq < 10; seq++) s.appendAudio(incomingChunk(seq, CLIENT_FRAMES), seq * 500)
  t.same(seqs(s.pollAudio(-1, 'r', 4500)), [6, 7, 8, 9])
  // From now on r only polls metadata (stays current, holds 9). Chunks 10..29 evict 0..19.
  const perChunk: number[] = []
  for (let seq = 10; seq < 30; seq++) {
    s.listeners.touch('r', seq * 500)
    perChunk.push(overflowedOf(s.appendAudio(incomingChunk(seq, CLIENT_FRAMES), seq * 500)))
  }
  t.same(perChunk, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    '0..9 were fetched (a joiner skips what is before its burst), 10..19 were not')
  t.equal(s.overflows, 10)
})

t.test('a metadata-only receiver never causes overflows', async (t) => {
  const s = new ShareSession('123456', 0, LIMITS)
  for (let seq = 0; seq < 40; seq++) {
    s.listeners.touch('meta', seq * 500)
    s.appendAudio(incomingChunk(seq, CLIENT_FRAMES), seq * 500)
  }
  t.equal(s.listeners.count(20_000), 1)
  t.equal(s.overflows, 0)
  t.equal(s.audio.chunkCount, 10)
})

t.test('a format change drops the old audio; what a listener had not fetched counts as overflowed', async (t) => {
  const s = new ShareSession('123456', 0, LIMITS)
  for (let seq = 0; seq < 6; seq++) s.appendAudio(incomingChunk(seq, CLIENT_FRAMES), seq)
  t.same(seqs(s.pollAudio(2, 'r', 10)), [3, 4, 5])
  t.same(seqs(s.pollAudio(-1, 'joiner', 10)), [2, 3, 4, 5])
  s.appendAudio(incomingChunk(6, CLIENT_FRAMES), 20)
  const out = s.appendAudio(incomingChunk(7, 12000, MONO_48K), 30)
  t.match(out, { buffered: true, formatChanged: true, overflowed: 1 }, 'only chunk 6 was unfetched by a current listener')
  t.same(seqs(s.pollAudio(5, 'r', 40)), [7])
  t.same(s.audio.format, MONO_48K)
})

t.test('release frees the audio, the listeners and the metadata', async (t) => {
  const s = new ShareSession('123456', 0, LIMITS)
  s.setMetadata(metadata(), 0)
  for (let seq = 0; seq < 5; seq++) s.appendAudio(incomingChunk(seq, CLIENT_FRAMES), 0)
  s.pollAudio(-1, 'r', 0)
  t.ok(s.audio.bytesHeld > 0)
  s.release()
  t.equal(s.audio.chunkCount, 0)
  t.equal(s.audio.bytesHeld, 0)
  t.equal(s.listeners.count(0), 0)
  t.equal(s.metadata(0), undefined)
  t.equal(s.bytesReceived, 5 * 176_400, 'the totals stay for the stop/expiry report')
})
