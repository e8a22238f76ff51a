import t from 'tap'
import { SessionRegistry, type SessionSnapshot } from '../../src/session/session-registry.js'
import type { ShareSession } from '../../src/session/session.js'
import { CLIENT_FRAMES, MAX_AUDIO_BYTES, MONO_48K, REGISTRY_OPTIONS, RecordingLog, metadata, upload } from '../fixtures/audio.js'

const joined = (answer: Buffer | undefined) => answer?.toString()

const T0 = 1_700_000_000_000

/** What the snapshot plugin reads back from Redis for a live session: its counters, metadata and samples. */
function snapshotOf (session: ShareSession, now: number): SessionSnapshot {
  const stored = session.metadata(now)
  return {
    id: session.id,
    startTime: session.startTime,
    lastActivity: session.lastActivity,
    lastSequence: session.lastSequence,
    bytesReceived: session.bytesReceived,
    chunksReceived: session.chunksReceived,
    metadata: stored === undefined ? undefined : { value: stored.value, receivedAt: stored.receivedAt },
    chunks: session.audio.chunksAfter(-1, Infinity, Infinity).map((c) => ({
      samples: session.audio.samplesOf(c),
      format: c.format,
      timestamp: c.timestamp,
      sequenceNumber: c.sequenceNumber
    }))
  }
}

function liveRegistry () {
  const registry = new SessionRegistry(REGISTRY_OPTIONS, new RecordingLog())
  registry.start('123456', T0)
  for (let seq = 0; seq < 14; seq++) registry.receiveAudio('123456', upload(seq), MAX_AUDIO_BYTES, T0 + 500 * seq)
  registry.receiveMetadata('123456', metadata({ thumbnailData: 'AAAA', lyrics: null }), T0 + 6_000)
  return registry
}

t.test('a restored session answers polls, status and metadata exactly as before the restart', async (t) => {
  const before = liveRegistry()
  const now = T0 + 7_000
  const original = before.lookup('123456')
  if (original.state !== 'active') throw new Error('not active')
  const snapshot = snapshotOf(original.session, now)
  t.equal(snapshot.chunks.length, 10, 'the 5 s window holds the last ten 0.5 s chunks')

  const after = new SessionRegistry(REGISTRY_OPTIONS, new RecordingLog())
  const restoredEvents: string[] = []
  after.events.on('restored', (s) => restoredEvents.push(s.id))
  after.events.on('started', () => t.fail('a restore is not a start'))
  const outcome = after.restore(snapshot, now)
  t.equal(outcome.state, 'restored')
  t.same(restoredEvents, ['123456'])
  const s = after.requireActive('123456')
  t.equal(s.startTime, T0)
  t.equal(s.lastActivity, original.session.lastActivity)
  t.equal(s.lastSequence, 13)
  t.equal(s.bytesReceived, 14 * CLIENT_FRAMES * 2 * 4)
  t.equal(s.chunksReceived, 14)
  t.equal(after.currentMetadata('123456', 'r', now).json.toString(), before.currentMetadata('123456', 'r', now).json.toString(), 'metadata JSON identical')

  for (const since of [-1, 3, 7, 12, 13]) {
    const a = joined(before.pollAudioJson('123456', since, 'r', now))
    const b = joined(after.pollAudioJson('123456', since, 'r', now))
    t.equal(a === undefined, since === 13, `since=${since}: ${since === 13 ? 'nothing newer' : 'chunks'} before the restart`)
    t.equal(b, a, `since=${since}: the same chunks, byte for byte`)
  }

  t.same(after.receiveAudio('123456', upload(13), MAX_AUDIO_BYTES, now), { buffered: false }, 'a resent chunk is still a duplicate')
  t.same(after.receiveAudio('123456', upload(14), MAX_AUDIO_BYTES, now), { buffered: true }, 'the sharer\'s next chunk is accepted')
  t.same(after.pollAudio('123456', 13, 'r', now).map((c) => c.sequenceNumber), [14])
})

t.test('metadata keeps its original arrival time, so its TTL runs on', async (t) => {
  const before = liveRegistry()
  const original = before.requireActive('123456')
  const after = new SessionRegistry(REGISTRY_OPTIONS, new RecordingLog())
  after.restore(snapshotOf(original, T0 + 7_000), T0 + 7_000)
  t.ok(after.requireActive('123456').metadata(T0 + 6_000 + 30_000), 'fresh until the TTL')
  t.equal(after.requireActive('123456').metadata(T0 + 6_000 + 30_001), undefined, 'gone after it')
})

t.test('a snapshot without metadata or audio restores an idle session', async (t) => {
  const after = new SessionRegistry(REGISTRY_OPTIONS, new RecordingLog())
  const snapshot: SessionSnapshot = {
    id: '654321', startTime: T0, lastActivity: T0 - 5, lastSequence: -1, bytesReceived: 0, chunksReceived: 0, chunks: []
  }
  t.equal(after.restore(snapshot, T0 + 1000).state, 'restored')
  const s = after.requireActive('654321')
  t.equal(s.lastActivity, T0, 'activity is never before the start')
  t.equal(s.metadata(T0 + 1000), undefined)
  t.same(after.pollAudio('654321', -1, 'r', T0 + 1000), [])
  t.same(after.receiveAudio('654321', upload(0), MAX_AUDIO_BYTES, T0 + 1000), { buffered: true })
})

t.test('chunks out of order or of another format are handled like live ones', async (t) => {
  const after = new SessionRegistry(REGISTRY_OPTIONS, new RecordingLog())
  const chunk = (sequenceNumber: number, format = MONO_48K) =>
    ({ samples: new Float32Array(480 * format.channels).fill(0.25), format, timestamp: T0, sequenceNumber })
  after.restore({
    id: '111111', startTime: T0, lastActivity: T0, lastSequence: 2, bytesReceived: 0, chunksReceived: 0,
    chunks: [chunk(4), chunk(3), chunk(5, { sampleRate: 44100, channels: 2 }), chunk(6, { sampleRate: 44100, channels: 2 })]
  }, T0)
  const s = after.requireActive('111111')
  t.same(after.pollAudio('111111', -1, 'r', T0).map((c) => c.sequenceNumber), [5, 6], 'a format change drops the older format, as live')
  t.equal(s.lastSequence, 6, 'the last sequence is at least the newest chunk held')
})

t.test('a live session wins, an expired one stays gone, and the session limit holds', async (t) => {
  const registry = new SessionRegistry({ ...REGISTRY_OPTIONS, maxSessions: 2 }, new RecordingLog())
  const base = { startTime: T0, lastActivity: T0, lastSequence: -1, bytesReceived: 0, chunksReceived: 0, chunks: [] }
  registry.start('123456', T0)
  t.same(registry.restore({ ...base, id: '123456' }, T0), { state: 'skipped', reason: 'active' })
  t.same(registry.restore({ ...base, id: '222222' }, T0 + REGISTRY_OPTIONS.sessionTimeoutMs), { state: 'skipped', reason: 'expired' })
  t.equal(registry.restore({ ...base, id: '222222' }, T0 + REGISTRY_OPTIONS.sessionTimeoutMs - 1).state, 'restored', 'one ms before its timeout it is still live')
  t.same(registry.restore({ ...base, id: '333333' }, T0), { state: 'skipped', reason: 'limit' })
  t.equal(registry.activeCount, 2)
})

t.test('ended markers come back within their retention and a restore replaces one', async (t) => {
  const registry = new SessionRegistry(REGISTRY_OPTIONS, new RecordingLog())
  const ended = { id: '123456', startTime: T0, endedAt: T0 + 1000, reason: 'stopped' as const, durationSeconds: 1, bytesTransferred: 8, bytesSent: 16 }
  t.equal(registry.restoreEnded(ended, T0 + 1000 + REGISTRY_OPTIONS.endedRetentionMs), false, 'past retention: forgotten')
  t.equal(registry.lookup('123456').state, 'unknown')
  t.equal(registry.restoreEnded(ended, T0 + 2000), true)
  t.same(registry.lookup('123456'), { state: 'ended', ended })
  registry.sweep(T0 + 1000 + REGISTRY_OPTIONS.endedRetentionMs)
  t.equal(registry.lookup('123456').state, 'unknown', 'the sweep forgets it on time')

  registry.restoreEnded(ended, T0 + 2000)
  registry.restore({ id: '123456', startTime: T0 + 3000, lastActivity: T0 + 3000, lastSequence: -1, bytesReceived: 0, chunksReceived: 0, chunks: [] }, T0 + 3000)
  t.equal(registry.lookup('123456').state, 'active')
  t.equal(registry.restoreEnded(ended, T0 + 3000), false, 'never over an active session')
  t.equal(registry.endedCount, 0)
})
