import t from 'tap'
import { DomainError } from '../../src/errors.js'
import { HTTP_STATUS, errorHeaders } from '../../plugins/error-handler.js'
import { SESSION_LIMIT_RETRY_AFTER_SECONDS, SessionRegistry, type RegistryOptions, type SessionStore } from '../../src/session/session-registry.js'
import type { ShareSession } from '../../src/session/session.js'
import { CLIENT_FRAMES, MAX_AUDIO_BYTES, MONO_48K, REGISTRY_OPTIONS, RecordingLog, metadata, upload, type TapTest } from '../fixtures/audio.js'

type T = TapTest

function registry (over: Partial<RegistryOptions> = {}): { reg: SessionRegistry, log: RecordingLog } {
  const log = new RecordingLog()
  return { reg: new SessionRegistry({ ...REGISTRY_OPTIONS, ...over }, log), log }
}

function throwsCode (t: T, fn: () => unknown, code: string, status: number, message?: string): DomainError | undefined {
  try {
    fn()
    t.fail(`expected ${code}, nothing was thrown${message === undefined ? '' : ` (${message})`}`)
    return undefined
  } catch (err) {
    t.ok(err instanceof DomainError, 'a DomainError')
    t.match(err, { code }, message ?? code)
    t.equal(HTTP_STATUS[(err as DomainError).code], status, `${code} answers HTTP ${status}`)
    return err as DomainError
  }
}

const seqs = (chunks: ReadonlyArray<{ sequenceNumber: number }>): number[] => chunks.map((c) => c.sequenceNumber)
const MIN = 60_000

t.test('start', async (t) => {
  t.test('creates an active session and logs it', async (t) => {
    const { reg, log } = registry()
    const s = reg.start('123456', 1000)
    t.equal(s.id, '123456')
    t.equal(s.startTime, 1000)
    t.equal(reg.activeCount, 1)
    t.equal(reg.requireActive('123456'), s)
    t.same(reg.lookup('123456'), { state: 'active', session: s })
    t.same(reg.lookup('654321'), { state: 'unknown' })
    t.same([...reg.activeSessions()], [s])
    t.match(log.calls, [{ level: 'info', msg: 'session started', obj: { sessionId: '123456', activeSessions: 1 } }])
  })

  t.test('409 SESSION_EXISTS for an active id', async (t) => {
    const { reg } = registry()
    const s = reg.start('123456', 0)
    const err = throwsCode(t, () => reg.start('123456', 10), 'SESSION_EXISTS', 409)
    t.equal(err?.message, 'Session ID already in use')
    t.equal(reg.requireActive('123456'), s, 'the running session is untouched')
    t.equal(reg.activeCount, 1)
  })

  t.test('503 SESSION_LIMIT with retry-after at maxSessions', async (t) => {
    const { reg } = registry({ maxSessions: 3 })
    reg.start('100001', 0)
    reg.start('100002', 0)
    reg.start('100003', 0)
    const err = throwsCode(t, () => reg.start('100004', 0), 'SESSION_LIMIT', 503)
    t.equal(err?.retryAfterSeconds, SESSION_LIMIT_RETRY_AFTER_SECONDS)
    t.ok(Number(err?.retryAfterSeconds) > 0)
    t.same(errorHeaders(err!), { 'retry-after': String(SESSION_LIMIT_RETRY_AFTER_SECONDS) })
    t.equal(reg.activeCount, 3)
    t.equal(reg.lookup('100004').state, 'unknown', 'nothing was created')
    throwsCode(t, () => reg.start('100001', 0), 'SESSION_EXISTS', 409, 'an active id is still a 409 at the limit')
    reg.stop('100002', 5000)
    t.equal(reg.start('100004', 6000).id, '100004', 'a slot freed by stop can be used')
    throwsCode(t, () => reg.start('100002', 7000), 'SESSION_LIMIT', 503, 'an ended id does not bypass the limit')
  })

  t.test('restarting an ended id creates a fresh session', async (t) => {
    const { reg } = registry()
    const old = reg.start('123456', 0)
    reg.receiveAudio('123456', upload(0), MAX_AUDIO_BYTES, 100)
    reg.receiveAudio('123456', upload(1), MAX_AUDIO_BYTES, 600)
    reg.receiveMetadata('123456', metadata(), 700)
    reg.stop('123456', 1000)
    t.equal(reg.lookup('123456').state, 'ended')

    const fresh = reg.start('123456', 2000)
    t.not(fresh, old)
    t.equal(fresh.startTime, 2000)
    t.equal(fresh.lastSequence, -1)
    t.equal(fresh.bytesReceived, 0)
    t.equal(fresh.audio.chunkCount, 0)
    t.equal(reg.endedCount, 0, 'the ended marker is gone')
    t.equal(reg.lookup('123456').state, 'active')
    throwsCode(t, () => reg.currentMetadata('123456', 'r', 2000), 'METADATA_NOT_FOUND', 404, 'no metadata carried over')
    t.same(reg.receiveAudio('123456', upload(0), MAX_AUDIO_BYTES, 2100), { buffered: true }, 'sequence numbers start over')
    t.equal(reg.stop('123456', 3000).bytesTransferred, 176_400, 'and so do the totals')
  })
})

/** A store whose commits the test settles by hand, and which records the ids it was asked to adopt. */
class HeldStore implements SessionStore {
  readonly commits: Array<{ session: ShareSession, settle: (err?: Error) => void }> = []
  readonly adopted: string[] = []

  commitStart (session: ShareSession): Promise<void> {
    return new Promise((resolve, reject) => {
      this.commits.push({ session, settle: (err) => (err === undefined ? resolve() : reject(err)) })
    })
  }

  async adopt (id: string): Promise<void> {
    this.adopted.push(id)
  }
}

t.test('startCommitted: a session exists once its store committed the start', async (t) => {
  t.test('until then its id and place are taken, nothing serves it and nothing is announced', async (t) => {
    const { reg } = registry({ maxSessions: 2 })
    const store = new HeldStore()
    reg.useStore(store)
    const started: string[] = []
    reg.events.on('started', (s) => started.push(s.id))
    const pending = reg.startCommitted('123456', 1000)
    t.equal(store.commits.length, 1, 'the store is asked')
    t.equal(reg.lookup('123456').state, 'unknown', 'not served while it commits')
    t.same([...reg.activeSessions()], [], 'nor written by anyone following the registry')
    await t.rejects(reg.startCommitted('123456', 1001), { code: 'SESSION_EXISTS' }, 'a second start of the id is 409')
    reg.start('100001', 0)
    await t.rejects(reg.startCommitted('100002', 0), { code: 'SESSION_LIMIT' }, 'it counts toward the session limit')
    t.same(reg.restore({ id: '123456', startTime: 1, lastActivity: 1000, lastSequence: 5, bytesReceived: 0, chunksReceived: 0, chunks: [] }, 1000),
      { state: 'skipped', reason: 'active' }, 'a takeover does not race it')
    const located = reg.locate('123456')
    t.same(started, ['100001'])

    store.commits[0]!.settle()
    const session = await pending
    t.equal(session.startTime, 1000)
    t.same((await located).state, 'active', 'locate waited for the commit')
    t.same(started, ['100001', '123456'], 'announced once committed')
    t.same(store.adopted, [], 'an id being started is never looked for in the store')
  })

  t.test('a store that refuses leaves nothing behind', async (t) => {
    const { reg } = registry()
    const store = new HeldStore()
    reg.useStore(store)
    const started: string[] = []
    reg.events.on('started', (s) => started.push(s.id))
    const pending = reg.startCommitted('123456', 1000)
    store.commits[0]!.settle(new DomainError('SESSION_EXISTS', 'Session ID already in use'))
    await t.rejects(pending, { code: 'SESSION_EXISTS' })
    t.equal(reg.lookup('123456').state, 'unknown')
    t.equal(reg.activeCount, 0)
    t.same(started, [])
    const again = reg.startCommitted('123456', 2000)
    store.commits[1]!.settle()
    t.equal((await again).startTime, 2000, 'the id can be started again')
  })

  t.test('without a store it starts at once, as start does', async (t) => {
    const { reg } = registry()
    const started: string[] = []
    reg.events.on('started', (s) => started.push(s.id))
    t.equal((await reg.startCommitted('123456', 1000)).id, '123456')
    t.same(started, ['123456'])
    t.equal(reg.lookup('123456').state, 'active')
  })
})

t.test('locate asks the store only for ids this process does not know', async (t) => {
  const { reg } = registry()
  const adopted: string[] = []
  const store: SessionStore = { commitStart: async () => {}, adopt: async (id) => { adopted.push(id); if (id === '222222') reg.start(id, 0) } }
  reg.start('123456', 1000)
  t.equal((await reg.locate('654321')).state, 'unknown', 'without a store, as lookup')
  reg.useStore(store)
  t.equal((await reg.locate('123456')).state, 'active')
  reg.stop('123456', 2000)
  t.equal((await reg.locate('123456')).state, 'ended')
  t.equal((await reg.locate('654321')).state, 'unknown')
  t.equal((await reg.locate('222222')).state, 'active', 'what the store brings is found')
  t.same(adopted, ['654321', '222222'], 'held and ended sessions cost no lookup')
})

t.test('stop: duration in seconds and bytesTransferred in decoded bytes', async (t) => {
  const { reg, log } = registry()
  reg.start('123456', 10_000)
  for (let seq = 0; seq < 3; seq++) reg.receiveAudio('123456', upload(seq), MAX_AUDIO_BYTES, 10_000 + seq * 500)
  reg.receiveAudio('123456', upload(1), MAX_AUDIO_BYTES, 12_000) // a duplicate adds nothing
  reg.receiveAudio('123456', upload(3, 1000, MONO_48K), MAX_AUDIO_BYTES, 12_100)
  const session = reg.requireActive('123456')
  const ended = reg.stop('123456', 22_345)
  t.same(ended, {
    id: '123456',
    startTime: 10_000,
    endedAt: 22_345,
    reason: 'stopped',
    durationSeconds: 12.345,
    bytesTransferred: 3 * 176_400 + 4000,
    bytesSent: 0,
    history: []
  })
  t.not(ended.bytesTransferred, 3 * upload(0).data.length + upload(3, 1000, MONO_48K).data.length, 'not the base64 length')
  t.equal(session.audio.chunkCount, 0, 'the audio is freed at once')
  t.equal(session.audio.bytesHeld, 0)
  t.equal(reg.activeCount, 0)
  t.equal(reg.endedCount, 1)
  t.same(reg.lookup('123456'), { state: 'ended', ended })
  t.match(log.calls.at(-1), {
    level: 'info',
    msg: 'session stopped',
    obj: { sessionId: '123456', reason: 'stopped', durationSeconds: 12.345, bytesTransferred: 533_200, chunks: 4 }
  })
})

t.test('an ended session answers SESSION_ENDED, an unknown one SESSION_NOT_FOUND', async (t) => {
  const { reg } = registry()
  reg.start('123456', 0)
  reg.stop('123456', 1000)
  const calls: Array<[string, (id: string) => unknown]> = [
    ['requireActive', (id) => reg.requireActive(id)],
    ['stop', (id) => reg.stop(id, 2000)],
    ['receiveMetadata', (id) => reg.receiveMetadata(id, metadata(), 2000)],
    ['currentMetadata', (id) => reg.currentMetadata(id, 'r', 2000)],
    ['receiveAudio', (id) => reg.receiveAudio(id, upload(0), MAX_AUDIO_BYTES, 2000)],
    ['pollAudio', (id) => reg.pollAudio(id, -1, 'r', 2000)]
  ]
  for (const [name, call] of calls) {
    throwsCode(t, () => call('123456'), 'SESSION_ENDED', 404, `${name} on an ended session`)
    throwsCode(t, () => call('999999'), 'SESSION_NOT_FOUND', 404, `${name} on an unknown session`)
  }
  t.equal(reg.lookup('123456').state, 'ended', 'none of that revived it')
  t.equal(reg.lookup('999999').state, 'unknown', 'nor created the unknown one')
})

t.test('sweep: idle expiry is measured from the sharer\'s last activity only', async (t) => {
  const timeout = REGISTRY_OPTIONS.sessionTimeoutMs
  const { reg, log } = registry()
  reg.start('111111', 0)
  reg.start('222222', 0)
  reg.receiveAudio('111111', upload(0), MAX_AUDIO_BYTES, MIN)
  reg.receiveMetadata('111111', metadata(), MIN)

  // Receivers poll 111111 (and the never-fed 222222) every 400 ms for the whole time.
  for (let now = MIN; now <= MIN + timeout + 1000; now += 400) {
    reg.pollAudio('111111', 0, 'receiver', now)
    try {
      reg.currentMetadata('111111', 'receiver', now)
    } catch (err) {
      if (!(err instanceof DomainError) || err.code !== 'METADATA_NOT_FOUND') throw err // stale after 30 s: 404, as for the client
    }
    if (reg.lookup('222222').state === 'active') reg.pollAudio('222222', -1, 'receiver', now)
    if (now < MIN + timeout) {
      reg.sweep(now)
    }
  }
  t.equal(reg.requireActive('111111').lastActivity, MIN, 'polling did not refresh it')
  t.equal(reg.lookup('222222').state, 'ended', '222222 (no sharer activity since start) expired at the timeout')

  reg.sweep(MIN + timeout - 1)
  t.equal(reg.lookup('111111').state, 'active', 'one ms before the timeout it is alive')
  reg.sweep(MIN + timeout)
  const found = reg.lookup('111111')
  t.equal(found.state, 'ended', 'at the timeout it expires although receivers kept polling')
  if (found.state === 'ended') {
    t.match(found.ended, { reason: 'expired', endedAt: MIN + timeout, bytesTransferred: 176_400, durationSeconds: (MIN + timeout) / 1000 })
  }
  t.ok(log.calls.some((c) => c.msg === 'session expired' && c.obj.sessionId === '111111' && c.obj.bytesTransferred === 176_400),
    'the expiry is logged with the bytes')
  throwsCode(t, () => reg.pollAudio('111111', 0, 'receiver', MIN + timeout + 1), 'SESSION_ENDED', 404)
})

t.test('sweep: every kind of sharer activity keeps a session alive', async (t) => {
  const timeout = REGISTRY_OPTIONS.sessionTimeoutMs
  const { reg } = registry()
  for (const id of ['100001', '100002', '100003']) {
    reg.start(id, 0)
    reg.receiveAudio(id, upload(0), MAX_AUDIO_BYTES, 0)
  }
  const at = timeout - 1000
  reg.receiveAudio('100001', upload(1), MAX_AUDIO_BYTES, at)
  reg.receiveMetadata('100002', metadata(), at)
  t.same(reg.receiveAudio('100003', upload(0), MAX_AUDIO_BYTES, at), { buffered: false }, 'a duplicate')
  reg.sweep(timeout)
  t.same(['100001', '100002', '100003'].map((id) => reg.lookup(id).state), ['active', 'active', 'active'])
  reg.sweep(at + timeout - 1)
  t.equal(reg.activeCount, 3)
  reg.sweep(at + timeout)
  t.equal(reg.activeCount, 0)
})

t.test('sweep: ended markers are dropped after endedRetentionMs', async (t) => {
  const retention = REGISTRY_OPTIONS.endedRetentionMs
  const { reg } = registry()
  reg.start('100001', 0)
  reg.start('100002', 0)
  reg.stop('100001', 1000)
  reg.stop('100002', 2000)
  reg.sweep(1000 + retention - 1)
  t.equal(reg.endedCount, 2, 'still answering that it ended just before the retention is over')
  reg.sweep(1000 + retention)
  t.equal(reg.lookup('100001').state, 'unknown', 'then forgotten')
  t.equal(reg.lookup('100002').state, 'ended')
  throwsCode(t, () => reg.requireActive('100001'), 'SESSION_NOT_FOUND', 404)
  reg.sweep(2000 + retention)
  t.equal(reg.endedCount, 0)

  // An expired session is kept for the retention too, measured from its expiry.
  reg.start('100003', 0)
  const timeout = REGISTRY_OPTIONS.sessionTimeoutMs
  reg.sweep(timeout)
  t.equal(reg.lookup('100003').state, 'ended')
  reg.sweep(timeout + retention - 1)
  t.equal(reg.lookup('100003').state, 'ended')
  reg.sweep(timeout + retention)
  t.equal(reg.lookup('100003').state, 'unknown')
})

t.test('maxEndedSessions bounds the ended markers, oldest dropped first', async (t) => {
  const { reg } = registry({ maxSessions: 1000, maxEndedSessions: 3 })
  for (let i = 0; i < 10; i++) {
    const id = String(100000 + i)
    reg.start(id, i)
    reg.stop(id, 100 + i)
  }
  t.equal(reg.endedCount, 3)
  t.same(Array.from({ length: 10 }, (_, i) => reg.lookup(String(100000 + i)).state),
    ['unknown', 'unknown', 'unknown', 'unknown', 'unknown', 'unknown', 'unknown', 'ended', 'ended', 'ended'])

  // Ending an id again (restart, stop) moves it to the newest end.
  reg.start('100007', 200)
  reg.stop('100007', 300)
  reg.start('100010', 400)
  reg.stop('100010', 500)
  t.same(['100007', '100008', '100009', '100010'].map((id) => reg.lookup(id).state), ['ended', 'unknown', 'ended', 'ended'])

  // A flood of short sessions stays bounded.
  for (let i = 0; i < 5000; i++) {
    const id = String(200000 + i)
    reg.start(id, 1000 + i)
    reg.stop(id, 1000 + i)
  }
  t.equal(reg.endedCount, 3)
  t.equal(reg.activeCount, 0)
})

t.test('metadata: stored with server time when absent, served for metadataTtlMs', async (t) => {
  const { reg } = registry()
  reg.start('123456', 0)
  throwsCode(t, () => reg.currentMetadata('123456', 'r', 100), 'METADATA_NOT_FOUND', 404, 'none posted yet')

  const { timestamp: _omit, ...withoutTimestamp } = metadata({ thumbnailData: '/9j/4AAQSkZJRg==', lyrics: null })
  t.equal(reg.receiveMetadata('123456', withoutTimestamp, 1000), 1, 'the receiver that just polled is notified')
  const m = reg.currentMetadata('123456', 'r', 1000)
  t.equal(m.value.timestamp, 1000, 'timestamp filled with server time')
  t.equal(m.value.lyrics, null)
  t.equal(m.value.thumbnailData, '/9j/4AAQSkZJRg==')
  t.same(JSON.parse(m.json.toString()), m.value)
  t.same(Object.keys(m.value).sort(), ['artist', 'elapsedSeconds', 'hasSyncedLyrics', 'lyrics', 'thumbnailData', 'timestamp', 'title', 'totalSeconds'])

  reg.receiveMetadata('123456', { ...metadata(), timestamp: 1_700_000_000_999 }, 2000)
  t.equal(reg.currentMetadata('123456', 'r', 2000).value.timestamp, 1_700_000_000_999, 'a given timestamp is kept')
  t.equal(reg.currentMetadata('123456', 'r', 2000 + 30_000).receivedAt, 2000, 'served until the TTL')
  throwsCode(t, () => reg.currentMetadata('123456', 'r', 2000 + 30_001), 'METADATA_NOT_FOUND', 404, 'gone after the TTL')

  reg.receiveMetadata('123456', metadata(), 40_000)
  reg.sweep(40_000 + 30_001)
  throwsCode(t, () => reg.currentMetadata('123456', 'r', 40_000), 'METADATA_NOT_FOUND', 404, 'sweep drops stale metadata too')
})

t.test('listenersNotified counts distinct receivers of either kind, never the sharer', async (t) => {
  const { reg } = registry()
  reg.start('123456', 0)
  reg.receiveAudio('123456', upload(0), MAX_AUDIO_BYTES, 0)
  t.equal(reg.receiveMetadata('123456', metadata(), 0), 0, 'the sharer\'s own posts do not count')
  reg.pollAudio('123456', -1, 'a', 100)
  reg.pollAudio('123456', 0, 'a', 500)
  reg.currentMetadata('123456', 'a', 600)
  reg.currentMetadata('123456', 'b', 600)
  reg.pollAudio('123456', -1, 'c', 700)
  t.equal(reg.receiveMetadata('123456', metadata(), 1000), 3)
  t.equal(reg.receiveMetadata('123456', metadata(), 5601), 1, 'a and b went quiet more than 5 s ago')
})

t.test('receiveAudio', async (t) => {
  t.test('buffers a chunk whose wire JSON carries the sharer\'s data byte-identical', async (t) => {
    const { reg } = registry()
    reg.start('123456', 0)
    const up = upload(0)
    t.same(reg.receiveAudio('123456', up, MAX_AUDIO_BYTES, 50), { buffered: true })
    const body = reg.pollAudioJson('123456', -1, 'r', 60)
    t.same(JSON.parse(body!.toString()), [{ data: up.data, sampleRate: 44100, channels: 2, timestamp: up.timestamp, sequenceNumber: 0 }])
    t.equal(body!.toString(), `[{"data":"${up.data}","sampleRate":44100,"channels":2,"timestamp":${up.timestamp},"sequenceNumber":0}]`,
      'exactly the client\'s fields, in its order')
    t.equal(reg.pollAudio('123456', -1, 'r', 60)[0]!.length, 44100)
  })

  t.test('timestamp defaults to server time', async (t) => {
    const { reg } = registry()
    reg.start('123456', 0)
    reg.receiveAudio('123456', { ...upload(0, 100, MONO_48K), timestamp: undefined }, MAX_AUDIO_BYTES, 4242)
    const [c] = reg.pollAudio('123456', -1, 'r', 4300)
    t.equal(c!.timestamp, 4242)
    t.match(JSON.parse(reg.pollAudioJson('123456', -1, 'r', 4300)!.toString()), [{ timestamp: 4242 }])
  })

  t.test('a duplicate returns buffered:false and is not stored twice', async (t) => {
    const { reg } = registry()
    const s = reg.start('123456', 0)
    reg.receiveAudio('123456', upload(0), MAX_AUDIO_BYTES, 0)
    reg.receiveAudio('123456', upload(1), MAX_AUDIO_BYTES, 500)
    t.same(reg.receiveAudio('123456', upload(1), MAX_AUDIO_BYTES, 600), { buffered: false })
    t.same(reg.receiveAudio('123456', upload(0), MAX_AUDIO_BYTES, 700), { buffered: false })
    t.equal(s.audio.chunkCount, 2)
    t.equal(s.bytesReceived, 2 * 176_400)
    t.same(seqs(reg.pollAudio('123456', -1, 'r', 800)), [0, 1])
  })

  t.test('a duplicate with garbage data is not even decoded', async (t) => {
    const { reg } = registry()
    const s = reg.start('123456', 0)
    reg.receiveAudio('123456', upload(5), MAX_AUDIO_BYTES, 0)
    for (const data of ['', '!!!!', 'not base64 at all', 'A'.repeat(8 * 1024 * 1024)]) {
      t.same(reg.receiveAudio('123456', { ...upload(5), data }, MAX_AUDIO_BYTES, 100), { buffered: false }, `data ${JSON.stringify(data.slice(0, 20))}`)
    }
    t.same(reg.receiveAudio('123456', { ...upload(3), data: '!', channels: 3 }, MAX_AUDIO_BYTES, 200), { buffered: false })
    t.equal(s.audio.chunkCount, 1)
    t.equal(s.lastActivity, 200, 'but it still counts as sharer activity')
  })

  t.test('an invalid new chunk is refused and leaves nothing behind', async (t) => {
    const { reg } = registry()
    const s = reg.start('123456', 0)
    reg.receiveAudio('123456', upload(0), MAX_AUDIO_BYTES, 0)
    throwsCode(t, () => reg.receiveAudio('123456', { ...upload(1), data: '!!!!' }, MAX_AUDIO_BYTES, 10), 'INVALID_AUDIO', 400)
    throwsCode(t, () => reg.receiveAudio('123456', upload(1, 3, { sampleRate: 44100, channels: 2 }), 20, 10), 'PAYLOAD_TOO_LARGE', 413)
    const nan = upload(1)
    nan.data = Buffer.from(new Float32Array([Number.NaN, 0]).buffer).toString('base64')
    throwsCode(t, () => reg.receiveAudio('123456', nan, MAX_AUDIO_BYTES, 10), 'INVALID_AUDIO', 400)
    throwsCode(t, () => reg.receiveAudio('123456', { ...upload(1, 1, { sampleRate: 44100, channels: 1 }), channels: 2 }, MAX_AUDIO_BYTES, 10), 'INVALID_AUDIO', 400, 'half a frame')
    t.equal(s.lastSequence, 0, 'the sequence number was not used up')
    t.equal(s.bytesReceived, 176_400)
    t.equal(s.audio.chunkCount, 1)
    t.same(reg.receiveAudio('123456', upload(1), MAX_AUDIO_BYTES, 20), { buffered: true }, 'so a valid retry of it is accepted')
  })

  t.test('a format change is logged and the new format is served', async (t) => {
    const { reg, log } = registry()
    reg.start('123456', 0)
    reg.receiveAudio('123456', upload(0), MAX_AUDIO_BYTES, 0)
    reg.receiveAudio('123456', upload(1), MAX_AUDIO_BYTES, 500)
    reg.receiveAudio('123456', upload(2, 24000, MONO_48K), MAX_AUDIO_BYTES, 1000)
    t.match(log.calls.at(-1), { level: 'info', msg: /format changed/, obj: { sessionId: '123456', sampleRate: 48000, channels: 1 } })
    const chunks = reg.pollAudio('123456', -1, 'r', 1100)
    t.same(seqs(chunks), [2])
    t.match(JSON.parse(reg.pollAudioJson('123456', -1, 'r', 1100)!.toString()), [{ sampleRate: 48000, channels: 1, sequenceNumber: 2 }])
  })
})

t.test('pollAudio: at most 10 chunks, and the receiver counts as a listener', async (t) => {
  const { reg } = registry()
  const s = reg.start('123456', 0)
  for (let seq = 0; seq < 30; seq++) reg.receiveAudio('123456', upload(seq, 2048), MAX_AUDIO_BYTES, seq * 46)
  t.same(seqs(reg.pollAudio('123456', 0, 'r', 2000)), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
  t.same(seqs(reg.pollAudio('123456', 25, 'r', 2100)), [26, 27, 28, 29])
  t.same(reg.pollAudio('123456', 29, 'r', 2200), [])
  t.equal(s.listeners.count(2200), 1)
  reg.pollAudio('123456', 29, 'r2', 2300)
  t.equal(s.listeners.count(2300), 2)
  t.equal(s.lastActivity, 29 * 46, 'polls are not sharer activity')
})

t.test('pollAudioJson: the REST body, byte-identical data for receivers near live and behind', async (t) => {
  const { reg } = registry()
  const s = reg.start('123456', 0)
  t.equal(reg.pollAudioJson('123456', -1, 'r', 0), undefined, 'nothing buffered: no body (204)')
  const sent = new Map<number, string>()
  for (let seq = 0; seq < 25; seq++) {
    const up = upload(seq)
    sent.set(seq, String(up.data))
    reg.receiveAudio('123456', up, MAX_AUDIO_BYTES, seq * 500)
  }
  t.equal(reg.pollAudioJson('123456', 24, 'r', 13_000), undefined, 'caught up: no body')
  const check = (since: number, expected: number[], note = ''): void => {
    const body = reg.pollAudioJson('123456', since, 'r', 13_000)
    const parsed = JSON.parse(body!.toString()) as Array<{ data: string, sequenceNumber: number }>
    t.same(parsed.map((c) => c.sequenceNumber), expected, `since=${since} ${note}`)
    t.ok(parsed.every((c) => c.data === sent.get(c.sequenceNumber)), `since=${since}: every data string is the one the sharer sent`)
  }
  check(-1, [21, 22, 23, 24])
  check(20, [21, 22, 23, 24])
  check(3, [15, 16, 17, 18, 19, 20, 21, 22, 23, 24], 'behind the window: the oldest held, whose JSON is rebuilt')
  check(14, [15, 16, 17, 18, 19, 20, 21, 22, 23, 24])
  t.equal(s.listeners.count(13_000), 1)
  throwsCode(t, () => reg.pollAudioJson('999999', -1, 'r', 0), 'SESSION_NOT_FOUND', 404)
})

t.test('events: started, metadata, audio, overflow, ended', async (t) => {
  const { reg } = registry()
  const seen: string[] = []
  reg.events.on('started', (s) => seen.push(`started ${s.id}`))
  reg.events.on('metadata', (s, m) => seen.push(`metadata ${s.id} ${m.value.title} ${m.receivedAt}`))
  reg.events.on('audio', (s, c) => seen.push(`audio ${s.id} ${c.sequenceNumber}`))
  reg.events.on('overflow', (s, n) => seen.push(`overflow ${s.id} ${n}`))
  reg.events.on('ended', (e) => seen.push(`ended ${e.id} ${e.reason} ${e.bytesTransferred}`))

  reg.start('123456', 0)
  reg.receiveMetadata('123456', metadata({ title: 'One' }), 10)
  reg.receiveAudio('123456', upload(0), MAX_AUDIO_BYTES, 20)
  reg.pollAudio('123456', -1, 'r', 20)
  reg.receiveAudio('123456', upload(0), MAX_AUDIO_BYTES, 30)
  throwsCode(t, () => reg.receiveAudio('123456', { ...upload(1), data: '!!!!' }, MAX_AUDIO_BYTES, 40), 'INVALID_AUDIO', 400)
  for (let seq = 1; seq <= 11; seq++) {
    reg.currentMetadata('123456', 'r', 40 + seq)
    reg.receiveAudio('123456', upload(seq), MAX_AUDIO_BYTES, 40 + seq)
  }
  reg.stop('123456', 100)
  reg.start('654321', 200)
  reg.sweep(200 + REGISTRY_OPTIONS.sessionTimeoutMs)
  t.same(seen, [
    'started 123456',
    'metadata 123456 One 10',
    'audio 123456 0',
    ...Array.from({ length: 10 }, (_, i) => `audio 123456 ${i + 1}`),
    'overflow 123456 1',
    'audio 123456 11',
    'ended 123456 stopped 2116800',
    'started 654321',
    'ended 654321 expired 0'
  ], 'no event for a duplicate or a refused chunk; overflow before the chunk that caused it')
})

t.test('buffer overflows are counted and their warning is rate-limited', async (t) => {
  const { reg, log } = registry()
  const s = reg.start('123456', 0)
  let now = 0
  const warnTimes: number[] = []
  const warn = log.warn.bind(log)
  log.warn = (obj, msg) => { warnTimes.push(now); warn(obj, msg) }

  reg.receiveMetadata('123456', metadata(), 0)
  reg.receiveAudio('123456', upload(0), MAX_AUDIO_BYTES, 0)
  t.same(seqs(reg.pollAudio('123456', -1, 'r', 0)), [0], 'r joins holding 0')
  // The sharer sends a 0.5 s chunk every 500 ms for 30 s; r keeps polling metadata (so it stays a current
  // listener) but never fetches audio again. Ten chunks fit: chunk 10 evicts 0 (fetched), 11 evicts 1 (not), ...
  for (let seq = 1; seq <= 60; seq++) {
    now = seq * 500
    reg.currentMetadata('123456', 'r', now)
    reg.receiveMetadata('123456', metadata(), now)
    reg.receiveAudio('123456', upload(seq), MAX_AUDIO_BYTES, now)
  }
  t.equal(s.overflows, 50, 'chunks 1..50 were evicted unfetched; chunk 0 had been fetched')
  t.same(warnTimes, [5500, 15_500, 25_500], 'at most one warning per 10 s')
  t.match(log.warnings.map((w) => w.obj), [
    { sessionId: '123456', overflowedChunks: 1, totalOverflows: 1 },
    { sessionId: '123456', overflowedChunks: 20, totalOverflows: 21 },
    { sessionId: '123456', overflowedChunks: 20, totalOverflows: 41 }
  ], 'each warning sums what happened since the previous one')
  t.ok(log.warnings.every((w) => /overflow/.test(w.msg)))

  // Another session's overflows are logged on their own schedule.
  reg.start('654321', now)
  reg.receiveAudio('654321', upload(0), MAX_AUDIO_BYTES, now)
  reg.pollAudio('654321', -1, 'r', now)
  for (let seq = 1; seq <= 11; seq++) {
    reg.currentMetadata('123456', 'r', now)
    reg.pollAudio('654321', 1_000_000, 'x', now) // a current listener far ahead holds everything: no overflow
    reg.receiveAudio('654321', upload(seq), MAX_AUDIO_BYTES, now)
  }
  t.equal(reg.requireActive('654321').overflows, 1, 'only chunk 1 (r held 0) was unfetched')
  t.match(log.warnings.at(-1)?.obj, { sessionId: '654321', overflowedChunks: 1 }, 'logged at once although 123456 logged recently')

  const ended = reg.stop('123456', now + 1)
  t.equal(ended.reason, 'stopped')
  t.match(log.calls.at(-1), { msg: 'session stopped', obj: { overflows: 50 } }, 'the total is in the stop log')
})

t.test('a listener that keeps up causes no overflow warnings', async (t) => {
  const { reg, log } = registry()
  const s = reg.start('123456', 0)
  let since = -1
  for (let seq = 0; seq < 100; seq++) {
    const now = seq * 500
    reg.receiveAudio('123456', upload(seq), MAX_AUDIO_BYTES, now)
    const got = reg.pollAudio('123456', since, 'r', now + 100)
    if (got.length > 0) since = got.at(-1)!.sequenceNumber
  }
  t.equal(since, 99, 'it got everything')
  t.equal(s.overflows, 0)
  t.same(log.warnings, [])
})

t.test('clear() drops every session and marker', async (t) => {
  const { reg } = registry()
  const a = reg.start('100001', 0)
  reg.receiveAudio('100001', upload(0), MAX_AUDIO_BYTES, 0)
  reg.start('100002', 0)
  reg.stop('100002', 10)
  reg.clear()
  t.equal(reg.activeCount, 0)
  t.equal(reg.endedCount, 0)
  t.equal(a.audio.chunkCount, 0, 'audio freed')
  t.equal(a.audio.bytesHeld, 0)
  t.equal(reg.lookup('100001').state, 'unknown')
  t.equal(reg.lookup('100002').state, 'unknown')
  t.equal(reg.start('100001', 20).lastSequence, -1)
})

t.test('CLIENT_FRAMES matches the desktop client (44100 interleaved samples)', async (t) => {
  t.equal(CLIENT_FRAMES * 2, 44100)
})

t.test('polls that return audio emit sent with its decoded bytes; ended sessions keep the total', async (t) => {
  const { reg } = registry()
  reg.start('123456', 0)
  const sent: number[] = []
  reg.events.on('sent', (session, bytes) => { t.equal(session.id, '123456'); sent.push(bytes) })
  for (let seq = 0; seq < 3; seq++) reg.receiveAudio('123456', upload(seq), MAX_AUDIO_BYTES, seq * 500)
  t.equal(reg.pollAudio('123456', 0, 'a', 1000).length, 2)
  t.ok(reg.pollAudioJson('123456', 1, 'b', 1000) !== undefined)
  t.equal(reg.pollAudio('123456', 2, 'a', 1000).length, 0, 'nothing new: no event')
  t.same(sent, [2 * 176_400, 176_400])
  t.equal(reg.requireActive('123456').bytesSent, 3 * 176_400)
  reg.start('654321', 0)
  reg.stop('123456', 2000)
  reg.stop('654321', 3000)
  t.same([...reg.endedSessions()].map((e) => [e.id, e.bytesSent]), [['123456', 3 * 176_400], ['654321', 0]],
    'ended sessions, the longest-ended first')
})

t.test('listener joins and leaves are events, and a stop makes everyone leave by its time', async (t) => {
  const { reg } = registry()
  const seen: string[] = []
  reg.events.on('listenerJoined', (s, key, at) => seen.push(`${s.id} +${key}@${at}`))
  reg.events.on('listenerLeft', (s, key, at) => seen.push(`${s.id} -${key}@${at}`))
  reg.start('123456', 1000)
  reg.receiveMetadata('123456', metadata(), 1000)
  reg.currentMetadata('123456', 'r1', 1100)
  reg.pollAudio('123456', -1, 'r2', 1200)
  reg.currentMetadata('123456', 'r1', 1300)
  reg.stop('123456', 1500)
  t.same(seen, ['123456 +r1@1100', '123456 +r2@1200', '123456 -r2@1500', '123456 -r1@1500'], 'in last-seen order')
})
